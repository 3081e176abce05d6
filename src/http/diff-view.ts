// The diff between two sides (states or the live site) as the state page shows it: unified text diffs of
// files and option values (the `diff` package), binary or huge files named with their sizes, and option
// values in PHP's serialize() format shown unserialized, as an indented structure, so that one changed
// key of a 4 kB array reads as one changed line. Display only: a restore always writes the stored bytes.
// Secrets never reach the page (core/secrets.ts): option values are masked by key name and by shape
// whatever their form (serialized, JSON, unreadable, plain text); files by shape. A Site Editor entity or a
// settings-table row is shown field by field (core/record-fields.ts): each changed post column, meta value,
// the terms, or each changed column, with the same rules as an option value — and a field whose column or
// meta key names a secret (a webhook's `secret`, `post_password`) is hidden whole.
import { createHash } from 'node:crypto'
import { structuredPatch } from 'diff'
import { isSerialized, unserialize } from 'php-serialize'
import { isRecordName, schemaChangeText, isSecretName, recordLabel, redactShapesIn, redactText, redactValue, visible, type OptionChange, type StateDiff } from '../core/index.ts'
import { contentAsText } from '../core/content.ts'
import { recordFieldChanges, type FieldBytes, type FieldChange } from '../core/record-fields.ts'
import type { DiffSide } from '../services/index.ts'

/** A diff with more lines than this is collapsed until opened. */
const COLLAPSE_LINES = 120
/**
 * The diff runs on the daemon's one thread: a whole 10k-line file rewritten takes seconds, so each diff gets
 * a time and edit budget, and a page at most this many items and lines (the CLI's `peakguard diff` has all).
 */
const DIFF_BUDGET = { timeout: 200, maxEditLength: 5000 }
export const MAX_ITEMS = 200
const MAX_LINES = 20_000
/**
 * A secret as shown: hidden, with 16 bits of its hash, enough to see that it changed and far too few to
 * confirm a guess. Secrets (API keys live in options) are never sent to a browser, only that they changed
 * (core/secrets.ts says what counts as one). Restores are unaffected.
 */
const mask = (v: string) => `•••••• (secret, hidden; #${createHash('sha256').update(v).digest('hex').slice(0, 4)})`

export interface DiffLine {
  kind: 'add' | 'del' | 'ctx' | 'hunk'
  text: string
}

/** One changed field of an entity or a settings-table row. */
export interface DiffField {
  /** a column, `meta KEY` or `terms`, made visible (a meta key is data: it may hold anything) */
  name: string
  change: 'added' | 'removed' | 'modified'
  kind: 'text' | 'binary'
  masked: boolean
  unserialized: boolean
  tooLarge: boolean
  /** SQL NULL on a side, said in words (a diff of '' against NULL has no lines) */
  note: string | null
  lines: DiffLine[]
  sizes: { before: number; after: number }
}

export interface DiffItem {
  /** plugins/x/y.php, option:wp_options.blogname, or an entity's or row's own name (entity:…, table:NAME#KEY) */
  name: string
  /** an entity or row as people say it ('template part “header” (twentytwentythree)'); null for files and options */
  title: string | null
  /** the plugin, theme, option, entity or row a "restore just this" acts on (restore --only) */
  unit: string
  /** how "restore just this" names it */
  unitLabel: string
  change: 'added' | 'removed' | 'modified'
  /** text: `lines`; binary: sizes only; meta: only mode, owner or autoload changed */
  kind: 'text' | 'binary' | 'meta'
  /** the option value is PHP-serialized and shown unserialized */
  unserialized: boolean
  /** a secret's value (by its option or key name) is hidden: only that it changed is shown */
  masked: boolean
  /** too large or too different to diff as text within the budget */
  tooLarge: boolean
  lines: DiffLine[]
  /** an entity or row: its changed fields (`lines` stays empty); null for files and options */
  fields: DiffField[] | null
  sizes: { before: number; after: number }
  collapsed: boolean
}

/** A PHP-serialized value as indented JSON, secrets masked; null when it is not one (or cannot be read). PHP classes become plain objects named by their class (`__class`): enough to read, never to run. */
export function phpUnserialized(text: string): string | null {
  const t = text.trim()
  if (!/^(a|O|s|i|d|b|N|C):/.test(t) || !isSerialized(t)) return null
  try {
    return JSON.stringify(redactValue(unserialize(t, {}, { strict: false }), mask), null, 2)
  } catch {
    return null
  }
}

/**
 * A JSON object or array, secrets masked, written as it was (indented when it spanned lines, or always with
 * `pretty`: global styles are one line of JSON); null when it is not one.
 */
function jsonShown(text: string, pretty = false): string | null {
  const t = text.trim()
  if (!/^[[{]/.test(t)) return null
  try {
    return JSON.stringify(redactValue(JSON.parse(t), mask), null, pretty || t.includes('\n') ? 2 : undefined)
  } catch {
    return null
  }
}

/**
 * Both sides of an option value as shown, secrets masked: unserialized when both sides are PHP-serialized,
 * parsed when both are JSON, else the raw text with secrets found in it masked (a broken serialized
 * value, one side changed to plain text, plain text) — never a side in clear.
 */
function optionSides(x: string, y: string, pretty = false): { x: string; y: string; unserialized: boolean } {
  const ux = x ? phpUnserialized(x) : ''
  const uy = y ? phpUnserialized(y) : ''
  if (ux !== null && uy !== null && (ux || uy)) return { x: ux, y: uy, unserialized: true }
  const jx = x ? jsonShown(x, pretty) : ''
  const jy = y ? jsonShown(y, pretty) : ''
  if (jx !== null && jy !== null && (jx || jy)) return { x: jx, y: jy, unserialized: false }
  return { x: redactText(x, mask), y: redactText(y, mask), unserialized: false }
}

function lines(before: string, after: string): DiffLine[] | null {
  const p = structuredPatch('a', 'b', before, after, '', '', { context: 3, ...DIFF_BUDGET })
  if (!p) return null
  const out: DiffLine[] = []
  for (const h of p.hunks) {
    out.push({ kind: 'hunk', text: `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@` })
    for (const l of h.lines) {
      if (l.startsWith('\\')) continue // "\ No newline at end of file"
      out.push({ kind: l[0] === '+' ? 'add' : l[0] === '-' ? 'del' : 'ctx', text: l.slice(1) })
    }
  }
  return out
}

function item(name: string, unit: string, change: DiffItem['change'], contentChanged: boolean, before: Uint8Array | undefined, after: Uint8Array | undefined, isOption: boolean): DiffItem {
  const sizes = { before: before?.length ?? 0, after: after?.length ?? 0 }
  const base = { name, title: null, unit, unitLabel: unit, change, sizes, unserialized: false, collapsed: false, masked: false, tooLarge: false, fields: null }
  if (!contentChanged) return { ...base, kind: 'meta', lines: [] }
  if (isOption && isSecretName(unit.replace(/^option:/, ''))) return { ...base, kind: 'text', masked: true, lines: [] }
  const rawX = contentAsText(before)
  const rawY = contentAsText(after)
  if (rawX === null || rawY === null) return { ...base, kind: 'binary', lines: [] }
  const { x, y, unserialized } = isOption ? optionSides(rawX, rawY) : { x: redactShapesIn(rawX, mask), y: redactShapesIn(rawY, mask), unserialized: false }
  const l = lines(x, y)
  if (!l) return { ...base, kind: 'binary', unserialized, tooLarge: true, lines: [] }
  return { ...base, kind: 'text', unserialized, lines: l, collapsed: l.length > COLLAPSE_LINES }
}

/** Bytes of a field as text: '' for NULL or absent, null when binary or too large. */
const fieldText = (v: FieldBytes) => (v ? contentAsText(v) : '')

/**
 * A changed field as shown: hidden whole when its column or meta key names a secret; a post's content as
 * block markup (secrets by shape, as in code) or as indented JSON; any other value as an option value is
 * (unserialized, JSON indented, secrets masked by name and shape).
 */
function fieldItem(f: FieldChange): DiffField {
  const sizes = { before: f.before?.length ?? 0, after: f.after?.length ?? 0 }
  const nulls = [f.before === null ? 'was NULL' : '', f.after === null ? 'now NULL' : ''].filter(Boolean).join(', ')
  const base = { name: visible(f.field).slice(0, 300), change: f.change, sizes, note: nulls || null, masked: false, unserialized: false, tooLarge: false }
  if (isSecretName(f.secretName)) return { ...base, kind: 'text', masked: true, lines: [] }
  const rawX = fieldText(f.before)
  const rawY = fieldText(f.after)
  if (rawX === null || rawY === null) return { ...base, kind: 'binary', lines: [] }
  let shown: { x: string; y: string; unserialized: boolean }
  if (f.content) {
    const jx = rawX ? jsonShown(rawX, true) : ''
    const jy = rawY ? jsonShown(rawY, true) : ''
    shown = jx !== null && jy !== null && (jx || jy) ? { x: jx, y: jy, unserialized: false } : { x: redactShapesIn(rawX, mask), y: redactShapesIn(rawY, mask), unserialized: false }
  } else shown = optionSides(rawX, rawY, true)
  const l = lines(shown.x, shown.y)
  if (!l) return { ...base, kind: 'binary', unserialized: shown.unserialized, tooLarge: true, lines: [] }
  return { ...base, kind: 'text', unserialized: shown.unserialized, lines: l }
}

/**
 * An entity or settings-table row, field by field, titled as people say it, restored by its own selector.
 * A side that is no readable record (a damaged journal) is diffed as an option value is, secrets masked.
 */
function recordItem(x: OptionChange, before: Uint8Array | undefined, after: Uint8Array | undefined): DiffItem {
  const title = recordLabel(x.name)
  const own = { title, unit: x.name, unitLabel: `this ${title}` }
  let changes: FieldChange[] | null
  try {
    changes = recordFieldChanges(x.name, before, after)
  } catch {
    changes = null
  }
  if (!changes) return { ...item(x.name, x.name, x.change, x.value, before, after, true), ...own }
  const fields = changes.map(fieldItem)
  const n = fields.reduce((k, f) => k + f.lines.length, 0)
  const sizes = { before: before?.length ?? 0, after: after?.length ?? 0 }
  return { name: x.name, ...own, change: x.change, kind: 'text', unserialized: false, masked: false, tooLarge: false, lines: [], fields, sizes, collapsed: n > COLLAPSE_LINES }
}

/** How many diff lines an item shows (an entity's or row's are in its fields). */
const lineCount = (i: DiffItem) => i.lines.length + (i.fields ?? []).reduce((k, f) => k + f.lines.length, 0)

/** The restore --only item of a file: its plugin or theme directory, a single-file plugin, or the file. */
export function unitOf(p: string): string {
  const parts = p.split('/')
  if ((parts[0] === 'plugins' || parts[0] === 'themes' || parts[0] === 'mu-plugins') && parts.length > 2) return parts.slice(0, 2).join('/')
  return p
}

/** The first MAX_ITEMS changes as display items, within MAX_LINES lines in all; `more` counts the rest. */
export async function diffItems(whole: StateDiff, from: DiffSide, to: DiffSide): Promise<{ items: DiffItem[]; more: number; schema: string[] }> {
  const total = whole.files.length + whole.options.length
  const files = whole.files.slice(0, MAX_ITEMS)
  const d = { ...whole, files, options: whole.options.slice(0, MAX_ITEMS - files.length) }
  const oldBlobs = [...d.files.map((f) => f.from?.blob), ...d.options.map((x) => x.from?.blob)].filter((b): b is string => !!b)
  const newBlobs = [...d.files.map((f) => f.to?.blob), ...d.options.map((x) => x.to?.blob)].filter((b): b is string => !!b)
  const [a, b] = await Promise.all([from.load(oldBlobs), to.load(newBlobs)])
  const items: DiffItem[] = []
  let budget = MAX_LINES
  const add = (i: DiffItem) => {
    // past the page's line budget the rest are named, not diffed
    const cut = (f: DiffField): DiffField => ({ ...f, kind: f.kind === 'text' && !f.masked ? 'binary' : f.kind, lines: [], tooLarge: f.kind === 'text' && !f.masked })
    if (budget > 0) items.push(i)
    else if (i.fields) items.push({ ...i, fields: i.fields.map(cut), tooLarge: true, collapsed: false })
    else items.push({ ...i, kind: i.kind === 'text' && !i.masked ? 'binary' : i.kind, lines: [], tooLarge: i.kind === 'text' && !i.masked })
    budget -= lineCount(i)
  }
  for (const f of d.files) add(item(f.path, unitOf(f.path), f.change, !!f.content, f.from && a.get(f.from.blob), f.to && b.get(f.to.blob), false))
  for (const x of d.options) {
    const before = x.from && a.get(x.from.blob)
    const after = x.to && b.get(x.to.blob)
    // an entity's or row's autoload never changes (it has none): a modified one always changed its value
    if (isRecordName(x.name) && x.value) add(recordItem(x, before, after))
    else add(item(`option:${x.table}.${x.name}`, `option:${x.name}`, x.change, !!x.value, before, after, true))
  }
  // the database schema in words: a migration is no file or row, and a restore never writes it
  return { items, more: total - items.length, schema: (whole.schema ?? []).map(schemaChangeText) }
}
