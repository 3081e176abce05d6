// Differences between two states, and the restore plan derived from them. A plan lists only what
// differs, so a rollback of one plugin touches only that plugin's files and the options that changed.
import { coversRow, type DirEntry, type FileEntry, type LinkedDir, type OptionEntry, type SiteState } from './state.ts'
import { recordLabel, isRecordName } from './records.ts'
import { diffSchema, type SchemaChange } from './schema.ts'
import { componentOf, onlyIncludesOption, onlyIncludesPath, type OnlyFilter } from './scope.ts'
import { visible } from './text.ts'

export type ChangeKind = 'added' | 'removed' | 'modified'

export interface FileChange {
  path: string
  change: ChangeKind
  /** for 'modified': whether the content (or link text / kind) differs, or only mode/owner/group */
  content: boolean
  from?: FileEntry
  to?: FileEntry
}

export interface OptionChange {
  table: string
  name: string
  change: ChangeKind
  /** for 'modified': whether the value differs, or only the autoload flag */
  value: boolean
  from?: OptionEntry
  to?: OptionEntry
}

export interface LinkChange {
  path: string
  change: ChangeKind
  from?: LinkedDir
  to?: LinkedDir
}

/** A directory's mode or owner changed, or a directory came or went (its files are FileChanges). */
export interface DirChange {
  path: string
  change: ChangeKind
  from?: DirEntry
  to?: DirEntry
}

export interface StateDiff {
  files: FileChange[]
  options: OptionChange[]
  links: LinkChange[]
  dirs: DirChange[]
  /**
   * How the database schema changed, where both states record one. Only the record flow has these: a restore never
   * changes the schema (its plan has none), and `--only` never selects it.
   */
  schema?: SchemaChange[]
}

export function isEmptyDiff(d: StateDiff): boolean {
  return d.files.length === 0 && d.options.length === 0 && d.links.length === 0 && d.dirs.length === 0 && !d.schema?.length
}

function sameContent(a: FileEntry, b: FileEntry): boolean {
  return a.kind === b.kind && a.blob === b.blob
}

function sameMeta(a: FileEntry, b: FileEntry): boolean {
  // a symlink's own mode is meaningless on Linux; only its text and owner count
  return (a.kind === 'symlink' || a.mode === b.mode) && a.uid === b.uid && a.gid === b.gid
}

/** What changed going from `from` to `to`, sorted by path/name. */
export function diffStates(from: SiteState, to: SiteState): StateDiff {
  const files: FileChange[] = []
  for (const [path, a] of from.files) {
    const b = to.files.get(path)
    if (!b) files.push({ path, change: 'removed', content: true, from: a })
    else if (!sameContent(a, b)) files.push({ path, change: 'modified', content: true, from: a, to: b })
    else if (!sameMeta(a, b)) files.push({ path, change: 'modified', content: false, from: a, to: b })
  }
  for (const [path, b] of to.files) if (!from.files.has(path)) files.push({ path, change: 'added', content: true, to: b })

  const options: OptionChange[] = []
  for (const [key, a] of from.options) {
    const b = to.options.get(key)
    if (!b) options.push({ table: a.table, name: a.name, change: 'removed', value: true, from: a })
    else if (a.blob !== b.blob || !a.nullValue !== !b.nullValue) options.push({ table: a.table, name: a.name, change: 'modified', value: true, from: a, to: b })
    else if (a.autoload !== b.autoload)
      options.push({ table: a.table, name: a.name, change: 'modified', value: false, from: a, to: b })
  }
  for (const [key, b] of to.options)
    if (!from.options.has(key)) options.push({ table: b.table, name: b.name, change: 'added', value: true, to: b })

  const links: LinkChange[] = []
  for (const [path, a] of from.links) {
    const b = to.links.get(path)
    if (!b) links.push({ path, change: 'removed', from: a })
    else if (a.target !== b.target) links.push({ path, change: 'modified', from: a, to: b })
  }
  for (const [path, b] of to.links) if (!from.links.has(path)) links.push({ path, change: 'added', to: b })

  // directories only where `to` records them (older states do not: going to one leaves them alone)
  const dirs: DirChange[] = []
  if (to.dirs) {
    const before = from.dirs ?? new Map<string, DirEntry>()
    for (const [path, a] of before) {
      const b = to.dirs.get(path)
      if (!b) dirs.push({ path, change: 'removed', from: a })
      else if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid) dirs.push({ path, change: 'modified', from: a, to: b })
    }
    for (const [path, b] of to.dirs) if (!before.has(path)) dirs.push({ path, change: 'added', to: b })
  }

  const byPath = (x: { path: string }, y: { path: string }) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0)
  files.sort(byPath)
  links.sort(byPath)
  dirs.sort(byPath)
  options.sort((x, y) => (x.table + '\u0000' + x.name < y.table + '\u0000' + y.name ? -1 : 1))
  const schema = from.schema && to.schema ? diffSchema(from.schema, to.schema) : []
  return { files, options, links, dirs, ...(schema.length ? { schema } : {}) }
}

/** Keeps only the changes inside an `--only` selection. */
export function filterDiff(d: StateDiff, only: OnlyFilter | null): StateDiff {
  if (!only) return d
  return {
    files: d.files.filter((f) => onlyIncludesPath(only, f.path)),
    links: d.links.filter((l) => onlyIncludesPath(only, l.path)),
    options: d.options.filter((o) => onlyIncludesOption(only, o.name)),
    dirs: d.dirs.filter((x) => onlyIncludesPath(only, x.path)),
  }
}

/**
 * `state` with the part selected by `only` taken from `target` (what live should be after a partial restore). The
 * schema stays `state`'s: a restore never changes it.
 */
export function overlayState(state: SiteState, recorded: SiteState, only: OnlyFilter | null): SiteState {
  const goal = restoreTarget(state, recorded)
  const { schema: _theirs, ...rest } = goal
  const target: SiteState = goal.schema === state.schema ? goal : { ...rest, ...(state.schema ? { schema: state.schema } : {}) }
  if (!only) return target
  const out: SiteState = { files: new Map(), links: new Map(), options: new Map(), ...(state.schema ? { schema: state.schema } : {}) }
  for (const [p, f] of state.files) if (!onlyIncludesPath(only, p)) out.files.set(p, f)
  for (const [p, f] of target.files) if (onlyIncludesPath(only, p)) out.files.set(p, f)
  for (const [p, l] of state.links) if (!onlyIncludesPath(only, p)) out.links.set(p, l)
  for (const [p, l] of target.links) if (onlyIncludesPath(only, p)) out.links.set(p, l)
  for (const [k, o] of state.options) if (!onlyIncludesOption(only, o.name)) out.options.set(k, o)
  for (const [k, o] of target.options) if (onlyIncludesOption(only, o.name)) out.options.set(k, o)
  if (target.dirs) {
    out.dirs = new Map()
    for (const [p, d] of state.dirs ?? []) if (!onlyIncludesPath(only, p)) out.dirs.set(p, d)
    for (const [p, d] of target.dirs) if (onlyIncludesPath(only, p)) out.dirs.set(p, d)
  }
  return out
}

/**
 * What a restore to `target` should leave live: `target`, except the rows of tables that only one side
 * covers (a state recorded before Site Editor entities or a settings table were, or a table the config no
 * longer names), which stay as they are live. Restoring an old state never deletes what it never saw.
 */
export function restoreTarget(live: SiteState, target: SiteState): SiteState {
  let touched = false
  const options = new Map<string, OptionEntry>()
  for (const [k, o] of target.options) {
    if (coversRow(live, o)) options.set(k, o)
    else touched = true
  }
  for (const [k, o] of live.options) {
    if (!coversRow(target, o) && coversRow(live, o)) {
      options.set(k, o)
      touched = true
    }
  }
  return touched ? { ...target, options } : target
}

/**
 * What changed from `from` to `to`, leaving out the rows of tables only one of them records: the first
 * state that records Site Editor entities or a newly named settings table did not "add" them, and the
 * freeze gate must not treat them as a change someone made.
 */
export function changesBetween(from: SiteState, to: SiteState): StateDiff {
  return diffStates(restoreTarget(to, from), to)
}

/**
 * The `--only` selectors that select nothing in any of `states`: a typo at 3 a.m. should be told, not
 * answered with a restore that did nothing. Paths as typed, options, entities and rows as selectors.
 */
export function selectorsMatchingNothing(only: OnlyFilter, states: readonly SiteState[]): string[] {
  const out: string[] = []
  for (const p of only.paths) {
    const one: OnlyFilter = { paths: [p], options: [] }
    const hit = states.some((s) => [...s.files.keys(), ...s.links.keys(), ...(s.dirs?.keys() ?? [])].some((x) => onlyIncludesPath(one, x)))
    if (!hit) out.push(p)
  }
  for (const o of only.options) {
    const one: OnlyFilter = { paths: [], options: [o] }
    if (!states.some((s) => [...s.options.values()].some((x) => onlyIncludesOption(one, x.name)))) out.push(isRecordName(o) ? o : `option:${o}`)
  }
  return out
}

/** One line for `list`: which units changed, which tables' schema, and how many settings rows. */
export function summarize(d: StateDiff): string {
  const units = new Map<string, number>()
  for (const f of d.files) units.set(componentOf(f.path), (units.get(componentOf(f.path)) ?? 0) + 1)
  for (const l of d.links) units.set(componentOf(l.path + '/x'), (units.get(componentOf(l.path + '/x')) ?? 0) + 1)
  // a unit where only directories changed (a chmod, an emptied folder) is named too
  for (const x of d.dirs) if (!units.has(componentOf(x.path + '/x'))) units.set(componentOf(x.path + '/x'), 0)
  const parts: string[] = []
  const names = [...units.keys()].sort()
  for (const u of names.slice(0, 4)) parts.push(units.get(u) ? `${u} (${units.get(u)} file${units.get(u) === 1 ? '' : 's'})` : `${u} (directories)`)
  if (names.length > 4) parts.push(`${names.length - 4} more units`)
  // the schema, next to the plugin that migrated it: `schema: wp_wc_orders created, wp_edd_orders altered`
  const schema = d.schema ?? []
  if (schema.length) {
    const shown = schema.slice(0, 3).map((c) => (c.change === 'renamed' ? `${visible(c.from ?? '')} renamed to ${visible(c.table)}` : `${visible(c.table)} ${c.change}`))
    parts.push(`schema: ${shown.join(', ')}${schema.length > 3 ? ` +${schema.length - 3}` : ''}`)
  }
  // options, then Site Editor entities and settings-table rows, each named as people say them
  const opts = d.options.filter((o) => !isRecordName(o.name))
  const records = d.options.filter((o) => isRecordName(o.name))
  for (const [label, list] of [['options', opts], ['settings', records]] as const) {
    if (list.length === 0) continue
    const shown = list.slice(0, 3).map((o) => (label === 'options' ? o.name : recordLabel(o.name)))
    const more = list.length - shown.length
    parts.push(`${label}: ${shown.join(', ')}${more > 0 ? ` +${more}` : ''}`)
  }
  return parts.length ? parts.join('; ') : 'no change'
}

/** Counts for reports. */
export interface ChangeCounts {
  written: number
  removed: number
}

export function countFiles(d: StateDiff): ChangeCounts {
  let written = 0
  let removed = 0
  for (const f of d.files) {
    if (f.change === 'removed') removed++
    else written++
  }
  return { written, removed }
}

export function countOptions(d: StateDiff): ChangeCounts {
  let written = 0
  let removed = 0
  for (const o of d.options) {
    if (o.change === 'removed') removed++
    else written++
  }
  return { written, removed }
}
