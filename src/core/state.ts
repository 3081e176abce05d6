// The state of a site as a snapshot holds it. Content is referred to by its git blob id; the bytes
// themselves live in the journal (or on disk) and are fetched only when something is written.
import { inUnits } from './scope.ts'
import { isRecordName } from './records.ts'
import type { SchemaInfo } from './schema-model.ts'

/** A file or symlink below wp-content; `path` is relative to wp-content with '/' separators. */
export interface FileEntry {
  path: string
  kind: 'file' | 'symlink'
  /** git blob id of the content (for a symlink: of the link text) */
  blob: string
  /** permission bits (mode & 0o7777) */
  mode: number
  uid: number
  gid: number
}

/** A theme/plugin directory (or scope root) that is a symlink; its content is recorded as if it were a directory. */
export interface LinkedDir {
  path: string
  target: string
}

/** One settings row: an option (`{prefix}options`, `{prefix}N_options`) or a network option (`{prefix}sitemeta`). */
export interface OptionEntry {
  table: string
  /** option_name; for sitemeta `site_id:meta_key` */
  name: string
  /** git blob id of the value's exact bytes */
  blob: string
  /** the autoload column as stored ('yes', 'no', 'on', 'auto', …); null where the table has none */
  autoload: string | null
  /** the value is SQL NULL (a network option stored as NULL), not the empty string its blob holds */
  nullValue?: true
}

/** A directory in a theme/plugin directory (the unit's own included): the mode and owner a restore puts back. */
export interface DirEntry {
  path: string
  /** permission bits (e.g. 0o750) */
  mode: number
  uid: number
  gid: number
}

export interface SiteState {
  files: Map<string, FileEntry>
  links: Map<string, LinkedDir>
  /** keyed by optionKey(table, name) */
  options: Map<string, OptionEntry>
  /**
   * Directories by path. Absent in states recorded before directories were: restoring one of those leaves
   * directories' modes and owners as they are.
   */
  dirs?: Map<string, DirEntry>
  /** only on a reading of the live site: files in scope that could not be recorded, each with why (LiveScan) */
  skipped?: string[]
  /**
   * The settings tables this state reads or recorded (options, `{prefix}posts` for Site Editor entities,
   * settings tables). Absent in states recorded before entities and settings tables were: those cover
   * options only. A restore touches a table's rows only where both live and target cover it.
   */
  sources?: ReadonlySet<string>
  /**
   * The database schema of the site's tables (columns, indexes, engine, collation; never rows). Absent in states
   * recorded before schemas were, and where it could not be read: a restore to one of those cannot say whether it
   * crosses a migration.
   */
  schema?: SchemaInfo
}

/** Whether `state` records the table of `row` at all (a row it lacks is then really absent). */
export function coversRow(state: Pick<SiteState, 'sources'>, row: { table: string; name: string }): boolean {
  return state.sources ? state.sources.has(row.table) : !isRecordName(row.name)
}

export function emptyState(): SiteState {
  return { files: new Map(), links: new Map(), options: new Map() }
}

export function optionKey(table: string, name: string): string {
  return `${table}\u0000${name}`
}

export function stateOf(files: FileEntry[], links: LinkedDir[], options: OptionEntry[], dirs?: DirEntry[]): SiteState {
  return {
    files: new Map(files.map((f) => [f.path, f])),
    links: new Map(links.map((l) => [l.path, l])),
    options: new Map(options.map((o) => [optionKey(o.table, o.name), o])),
    ...(dirs ? { dirs: new Map(dirs.map((d) => [d.path, d])) } : {}),
  }
}

/** A commit in the journal, as `list` shows it. */
export interface StateInfo {
  id: string
  time: string
  trigger: string
  message: string
  summary: string
  knownGood: boolean
  site: string
  /** who caused it, as attribution found it ('wp:alice (#2) from 10.0.0.5', 'file owner deploy (outside WordPress)'); null when unknown */
  causedBy: string | null
  /** what changed, as WordPress people say it ('plugin Demo Upsell activated'); null for a state recorded before words were (or the first one) */
  words: string[] | null
}

/** Why a snapshot was taken. */
export type Trigger = 'manual' | 'pre-restore' | 'restore' | 'recovery' | 'watch' | 'scan' | 'poll' | 'baseline' | 'pre-update'

/**
 * `base` with everything inside `units` replaced by a fresh reading of those units (files and links found
 * there): how the daemon records a change it was told about without walking the whole tree again.
 */
export function replaceUnits(
  base: SiteState,
  scanned: { files: FileEntry[]; links: LinkedDir[]; dirs?: DirEntry[]; skipped?: string[] },
  units: ReadonlySet<string>,
  options: OptionEntry[],
  sources?: ReadonlySet<string>,
  schema?: SchemaInfo,
): SiteState {
  const files = new Map<string, FileEntry>()
  for (const [p, f] of base.files) if (!inUnits(p, units)) files.set(p, f)
  for (const f of scanned.files) files.set(f.path, f)
  const links = new Map<string, LinkedDir>()
  for (const [p, l] of base.links) if (!inUnits(p, units)) links.set(p, l)
  for (const l of scanned.links) links.set(l.path, l)
  let dirs: Map<string, DirEntry> | undefined
  if (scanned.dirs) {
    // a state from before directories were recorded has none: only the units read now have theirs
    dirs = new Map()
    for (const [p, d] of base.dirs ?? []) if (!inUnits(p, units)) dirs.set(p, d)
    for (const d of scanned.dirs) dirs.set(d.path, d)
  }
  return {
    files,
    links,
    options: new Map(options.map((o) => [optionKey(o.table, o.name), o])),
    ...(dirs ? { dirs } : {}),
    ...(scanned.skipped?.length ? { skipped: scanned.skipped } : {}),
    ...(sources ? { sources } : {}),
    ...(schema ? { schema } : {}),
  }
}
