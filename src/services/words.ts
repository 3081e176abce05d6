// A change in words (core/words.ts) with the bytes it needs fetched: option rows and the beginnings of
// plugins' main files and themes' style.css, from the journal, or from the live site for what the
// recorder has not stored yet. Words are a courtesy: a read that fails gives plainer words, never an error.
import { changeInWords, HEADER_BYTES, wordsNeeds, type Phrase, type SiteState, type StateDiff } from '../core/index.ts'
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
    const rows = wordsNeeds(diff, before, after).options
    const values = await fetchSides(site, before, after, sides.after, rows, 'option')
    const paths = wordsNeeds(diff, before, after, values).files
    const heads = await fetchSides(site, before, after, sides.after, paths, 'file')
    return changeInWords(diff, before, after, { before: new Map([...values.before, ...heads.before]), after: new Map([...values.after, ...heads.after]) })
  } catch {
    return []
  }
}

/**
 * The text of `keys` (option keys or file paths) on both sides. Whatever the journal holds — every blob of
 * `before`, and of `after` when it is recorded or unchanged — is read there, each blob once; the rest of the
 * live side comes from the recorder's row values and from the files on disk (their first 8 KiB).
 */
async function fetchSides(site: Site, before: SiteState, after: SiteState, source: WordsAfter, keys: string[], what: 'option' | 'file'): Promise<{ before: Map<string, string>; after: Map<string, string> }> {
  const max = what === 'file' ? HEADER_BYTES : OPTION_BYTES
  const blobOf = (s: SiteState, k: string) => (what === 'file' ? s.files.get(k)?.blob : s.options.get(k)?.blob)
  const out = { before: new Map<string, string>(), after: new Map<string, string>() }
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
    for (const { side, key } of fromJournal.get(blob) ?? []) out[side].set(key, text(bytes, max))
  })
  if (source !== 'journal')
    for (const k of live) {
      const bytes = what === 'option' ? source.liveValues.get(k) : await site.files.read(k, max).catch(() => undefined)
      if (bytes) out.after.set(k, text(bytes, max))
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
