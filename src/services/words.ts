// A change in words (core/words.ts) with the bytes it needs fetched: option rows, the records of the
// entities and settings-table rows named by what they hold (menus, fonts, WooCommerce's rows and the
// zones they belong to), and the beginnings of plugins' main files and themes' style.css — from the
// journal, or from the live site for what the recorder has not stored yet. Words are a courtesy: a read
// that fails gives plainer words, never an error.
import { changeInWords, HEADER_BYTES, isRecordName, wordsNeeds, type Phrase, type SiteState, type StateDiff, type WordsBytes } from '../core/index.ts'
import type { Site } from './site.ts'

/**
 * Where the `after` side's bytes are: 'journal' (a recorded state), or the live site the recorder is
 * about to commit — files on disk, and the values of the rows it read (by optionKey).
 */
export type WordsAfter = 'journal' | { liveValues: ReadonlyMap<string, Uint8Array> }

/** Option values longer than this are no list of plugins nor a theme's name: not read for words. */
const OPTION_BYTES = 1 << 20

const text = (bytes: Uint8Array, max: number) => new TextDecoder().decode(bytes.subarray(0, max))

export async function describeInWords(site: Site, diff: StateDiff, before: SiteState, after: SiteState, sides: { after: WordsAfter }): Promise<Phrase[]> {
  try {
    const first = wordsNeeds(diff, before, after).options
    const rows = await fetchSides(site, before, after, sides.after, first, 'option')
    // the second pass adds the zones that changed shipping locations and methods belong to, which only those rows name
    const second = wordsNeeds(diff, before, after, split(rows))
    const more = await fetchSides(site, before, after, sides.after, second.options.filter((k) => !first.includes(k)), 'option')
    for (const side of ['before', 'after'] as const) for (const [k, v] of more[side]) rows[side].set(k, v)
    const { records, ...values } = split(rows)
    const heads = decoded(await fetchSides(site, before, after, sides.after, second.files, 'file'), HEADER_BYTES)
    return changeInWords(diff, before, after, { before: new Map([...values.before, ...heads.before]), after: new Map([...values.after, ...heads.after]), records })
  } catch {
    return []
  }
}

type Sides<T> = { before: Map<string, T>; after: Map<string, T> }

/** Rows read: options as text (their first OPTION_BYTES), entities and settings-table rows as their record's bytes. */
function split(rows: Sides<Uint8Array>): WordsBytes & { records: Sides<Uint8Array> } {
  const isRecord = (key: string) => isRecordName(key.slice(key.indexOf('\u0000') + 1))
  const part = (m: Map<string, Uint8Array>, rec: boolean) => new Map([...m].filter(([k]) => isRecord(k) === rec))
  const options = decoded({ before: part(rows.before, false), after: part(rows.after, false) }, OPTION_BYTES)
  return { ...options, records: { before: part(rows.before, true), after: part(rows.after, true) } }
}

/** Both sides as text, each value cut to its first `max` bytes. */
function decoded(sides: Sides<Uint8Array>, max: number): Sides<string> {
  const one = (m: Map<string, Uint8Array>) => new Map([...m].map(([k, v]) => [k, text(v, max)]))
  return { before: one(sides.before), after: one(sides.after) }
}

/**
 * The bytes of `keys` (option keys or file paths) on both sides. Whatever the journal holds — every blob of
 * `before`, and of `after` when it is recorded or unchanged — is read there, each blob once; the rest of the
 * live side comes from the recorder's row values and from the files on disk (their first 8 KiB).
 */
async function fetchSides(site: Site, before: SiteState, after: SiteState, source: WordsAfter, keys: string[], what: 'option' | 'file'): Promise<Sides<Uint8Array>> {
  const blobOf = (s: SiteState, k: string) => (what === 'file' ? s.files.get(k)?.blob : s.options.get(k)?.blob)
  const out: Sides<Uint8Array> = { before: new Map(), after: new Map() }
  const fromJournal = new Map<string, { side: 'before' | 'after'; key: string }[]>()
  const wantBlob = (blob: string, side: 'before' | 'after', key: string) => fromJournal.set(blob, [...(fromJournal.get(blob) ?? []), { side, key }])
  const live: string[] = []
  for (const k of keys) {
    const b = blobOf(before, k)
    const a = blobOf(after, k)
    if (b) wantBlob(b, 'before', k)
    if (!a) continue
    if (source === 'journal' || a === b) wantBlob(a, 'after', k)
    else live.push(k)
  }
  await readJournal(site, [...fromJournal.keys()], (blob, bytes) => {
    for (const { side, key } of fromJournal.get(blob) ?? []) out[side].set(key, bytes)
  })
  if (source !== 'journal')
    for (const k of live) {
      const bytes = what === 'option' ? source.liveValues.get(k) : await site.files.read(k, HEADER_BYTES).catch(() => undefined)
      if (bytes) out.after.set(k, bytes)
    }
  return out
}

/** The blobs the journal has: one missing or unreadable blob costs only its own words. */
async function readJournal(site: Site, blobs: string[], each: (blob: string, bytes: Uint8Array) => void): Promise<void> {
  if (blobs.length === 0) return
  try {
    await site.journal.readBlobs(blobs, each)
  } catch {
    for (const b of blobs) await site.journal.readBlobs([b], each).catch(() => undefined)
  }
}

/**
 * The words of a recorded state: those its snapshot stored, or — for a state recorded before words were —
 * said now from the journal. Null for the first state (nothing before it to compare with).
 */
export async function stateWords(site: Site, d: { id: string; parent: string | null; words: string[] | null; changes: StateDiff }): Promise<string[] | null> {
  if (d.words) return d.words
  if (!d.parent) return null
  try {
    const [before, after] = await Promise.all([site.journal.readState(d.parent), site.journal.readState(d.id)])
    return (await describeInWords(site, d.changes, before, after, { after: 'journal' })).map((p) => p.text)
  } catch {
    return null
  }
}
