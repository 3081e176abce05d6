// Which fields of a Site Editor entity or a settings-table row changed, for `peakguard diff` and the state
// page: a record is read apart and shown field by field — a post column, one meta value, the terms; a row's
// column — never as its raw record bytes, whose length prefixes would make every edit read as noise. One
// rule for the CLI and the web UI (as core/content.ts is for text). Display only: a restore writes the
// recorded bytes. Plain TypeScript: no I/O.
import { POST_COLUMNS, entityRecord, kindOfName, recordLabel, rowRecord, utf8, type EntityRecord } from './records.ts'

/** A field's bytes on one side: null is SQL NULL, undefined is absent (a record or a meta value not there). */
export type FieldBytes = Uint8Array | null | undefined

export interface FieldChange {
  /** as shown: a column (`post_content`, `tax_rate`), `meta KEY` (`meta KEY #2` for a key's second value), or `terms` */
  field: string
  /** the name a secret is kept under: the column, or the meta key */
  secretName: string
  /** a post's content: block markup, or the JSON of global styles and fonts */
  content: boolean
  change: 'added' | 'removed' | 'modified'
  before: FieldBytes
  after: FieldBytes
}

const UTF8 = new TextEncoder()

function same(a: FieldBytes, b: FieldBytes): boolean {
  if (a === undefined || b === undefined || a === null || b === null) return a === b
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

const blank = (v: FieldBytes) => v === undefined || v === null || v.byteLength === 0

/**
 * The fields of `name`'s record that differ from `before` to `after` (either side absent for an added or
 * removed record), in the record's order. A whole record added or removed lists its fields that hold
 * something: twenty empty post columns say nothing. Throws (GIT_FAILED, naming the record) when a side is
 * not a readable record; null when `name` is an option.
 */
export function recordFieldChanges(name: string, before: Uint8Array | undefined, after: Uint8Array | undefined): FieldChange[] | null {
  const kind = kindOfName(name)
  if (kind === 'option') return null
  const what = recordLabel(name)
  const pairs: [string, string, boolean, FieldBytes, FieldBytes][] = []
  if (kind === 'entity') {
    const b = before ? entityRecord(before, what) : undefined
    const a = after ? entityRecord(after, what) : undefined
    const cols = [...POST_COLUMNS, ...new Set([...(b?.post.keys() ?? []), ...(a?.post.keys() ?? [])])]
    for (const c of new Set(cols)) pairs.push([c, c, c === 'post_content', b && (b.post.has(c) ? b.post.get(c) : undefined), a && (a.post.has(c) ? a.post.get(c) : undefined)])
    const mb = metaByKey(b)
    const ma = metaByKey(a)
    for (const key of new Set([...mb.keys(), ...ma.keys()])) {
      const xs = mb.get(key) ?? []
      const ys = ma.get(key) ?? []
      for (let i = 0; i < Math.max(xs.length, ys.length); i++) pairs.push([`meta ${key}${i > 0 ? ` #${i + 1}` : ''}`, key, false, xs[i], ys[i]])
    }
    pairs.push(['terms', 'terms', false, termsText(b), termsText(a)])
  } else {
    const b = before ? rowRecord(before, what) : undefined
    const a = after ? rowRecord(after, what) : undefined
    for (const c of new Set([...(b?.keys() ?? []), ...(a?.keys() ?? [])])) pairs.push([c, c, false, b?.get(c), a?.get(c)])
  }
  const whole = !before || !after
  const out: FieldChange[] = []
  for (const [field, secretName, content, x, y] of pairs) {
    if (same(x, y) || (whole && blank(x) && blank(y))) continue
    out.push({ field, secretName, content, change: x === undefined ? 'added' : y === undefined ? 'removed' : 'modified', before: x, after: y })
  }
  return out
}

/** Meta values by key, in recorded (meta_id) order; a NULL key is shown as such. */
function metaByKey(r: EntityRecord | undefined): Map<string, (Uint8Array | null)[]> {
  const out = new Map<string, (Uint8Array | null)[]>()
  for (const m of r?.meta ?? []) {
    const key = m.key === null ? '(NULL key)' : utf8(m.key)
    out.set(key, [...(out.get(key) ?? []), m.value])
  }
  return out
}

/** An entity's terms as lines `taxonomy: slug` (with the name when it differs), sorted; undefined without a record. */
function termsText(r: EntityRecord | undefined): Uint8Array | undefined {
  if (!r) return undefined
  const lines = r.terms.map((t) => {
    const slug = utf8(t.slug)
    const name = utf8(t.name)
    return `${t.taxonomy}: ${slug}${name !== slug ? ` (${name})` : ''}\n`
  })
  return UTF8.encode(lines.sort().join(''))
}
