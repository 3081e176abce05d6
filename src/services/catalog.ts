// The catalog: browsing the journal — resolving state ids, listing and showing states, diffs between
// states or against the live site, known-good marks and the site's status.
import { cleanText, diffStates, optionKey, wordsOfTrailer, type CommitRecord, type StateHealth, type StateDiff, type StateInfo, type SiteState } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { readLive } from './live.ts'
import { shortId as short } from '../core/text.ts'
import { settleIfIdle } from './writer.ts'
import type { Site } from './site.ts'

export const LIVE = 'live'

/** Resolves a full id, an unambiguous prefix, `latest` or `last-good` to a full commit id. */
export async function resolveState(site: Site, text: string): Promise<string> {
  const t = text.trim()
  if (t === 'latest' || t === 'HEAD') {
    const head = await site.journal.head()
    if (!head) throw new PeakguardError('STATE_NOT_FOUND', `site ${site.id} has no snapshot yet: run 'peakguard snapshot' first`)
    return head
  }
  if (t === 'last-good') {
    const good = await lastGood(site)
    if (!good) throw new PeakguardError('STATE_NOT_FOUND', `site ${site.id} has no known-good state: mark one with 'peakguard mark-good ID'`)
    return good
  }
  if (t === LIVE) throw new PeakguardError('USAGE', `'live' is the site as it is now, not a recorded state; it can only be compared against`)
  if (!/^[0-9a-f]{4,40}$/i.test(t))
    throw new PeakguardError('USAGE', `${JSON.stringify(text)} is not a state id: give a full id, a prefix of at least 4 hex digits, 'latest', 'last-good' or 'live'`)
  let matches = await site.journal.resolvePrefix(t.toLowerCase())
  // a node of a fleet: a state recorded on another node a moment ago may not be in this copy yet (its daemon
  // takes it at its next heartbeat): taken from the S3 replica now
  if (matches.length === 0 && site.shared) {
    await site.shared.fetch().catch(() => undefined)
    matches = await site.journal.resolvePrefix(t.toLowerCase())
  }
  if (matches.length === 1) return matches[0] as string
  if (matches.length > 1)
    throw new PeakguardError('STATE_AMBIGUOUS', `state id ${t} matches ${matches.length} states (${matches.slice(0, 5).map(short).join(', ')}): give more digits`)
  const other = await site.siteOwning(t.toLowerCase())
  if (other) throw new PeakguardError('STATE_OTHER_SITE', `state ${t} belongs to site ${other}, not ${site.id}: pass --site ${other}`)
  throw new PeakguardError('STATE_NOT_FOUND', `no state of site ${site.id} matches ${t}: 'peakguard list' shows them`)
}

export async function lastGood(site: Site): Promise<string | null> {
  const marks = new Set((await site.journal.marks()).map((m) => m.id))
  if (marks.size === 0) return null
  for (const c of await site.journal.log()) if (marks.has(c.id)) return c.id
  return null
}

function info(site: Site, c: CommitRecord, good: Set<string>): StateInfo {
  return {
    id: c.id,
    time: c.time,
    trigger: c.trailers['Peakguard-Trigger'] ?? 'unknown',
    message: c.subject,
    summary: c.trailers['Peakguard-Summary'] ?? '',
    knownGood: good.has(c.id),
    site: c.trailers['Peakguard-Site'] ?? site.id,
    causedBy: c.trailers['Peakguard-Caused-By'] ?? c.trailers['Peakguard-Actor'] ?? null,
    words: wordsOfTrailer(c.trailers['Peakguard-Words']),
  }
}

/** Every state, newest first. */
export async function listStates(site: Site): Promise<StateInfo[]> {
  const [log, marks] = await Promise.all([site.journal.log(), site.journal.marks()])
  const good = new Set(marks.map((m) => m.id))
  return log.map((c) => info(site, c, good))
}

export interface StateDetail extends StateInfo {
  parent: string | null
  trailers: Record<string, string>
  note: string | null
  counts: { files: number; options: number }
  changes: StateDiff
  /** what the daemon's health probes saw while this state was live (null: never probed) */
  health: StateHealth | null
}

export async function showState(site: Site, id: string): Promise<StateDetail> {
  const [log, marks] = await Promise.all([site.journal.log(), site.journal.marks()])
  const idx = log.findIndex((c) => c.id === id)
  const c = log[idx]
  if (!c) throw new PeakguardError('STATE_NOT_FOUND', `no state ${id} in site ${site.id}`)
  const parent = log[idx + 1]?.id ?? null
  const state = await site.journal.readState(id)
  const before: SiteState = parent ? await site.journal.readState(parent) : { files: new Map(), links: new Map(), options: new Map() }
  const good = new Set(marks.map((m) => m.id))
  return {
    ...info(site, c, good),
    parent,
    trailers: c.trailers,
    note: marks.find((m) => m.id === id)?.note ?? null,
    counts: { files: state.files.size, options: state.options.size },
    changes: diffStates(before, state),
    health: (await site.health.readHealth()).states.find((h) => h.state === id) ?? null,
  }
}

/** A side of a diff: a recorded state or the live site. */
export interface DiffSide {
  label: string
  state: SiteState
  /** the bytes of a file or option blob on this side */
  load(blobs: string[]): Promise<Map<string, Uint8Array>>
}

export async function diffSide(site: Site, text: string): Promise<DiffSide> {
  if (text === LIVE) {
    const state = await readLive(site)
    const fileOf = new Map<string, string>()
    for (const f of state.files.values()) fileOf.set(f.blob, f.path)
    return {
      label: LIVE,
      state,
      load: async (blobs) => {
        const wanted = new Set(blobs)
        const out = new Map<string, Uint8Array>()
        const rows = [...state.options.values()].filter((o) => wanted.has(o.blob))
        const values = await site.settings.values(rows)
        for (const o of rows) {
          const v = values.get(optionKey(o.table, o.name))
          if (v) out.set(o.blob, v.value)
        }
        for (const b of blobs) {
          const p = fileOf.get(b)
          if (!out.has(b) && p) out.set(b, await site.files.read(p))
        }
        return out
      },
    }
  }
  const id = await resolveState(site, text)
  return {
    label: short(id),
    state: await site.journal.readState(id),
    load: async (blobs) => {
      const out = new Map<string, Uint8Array>()
      await site.journal.readBlobs(blobs, (b, bytes) => void out.set(b, bytes))
      return out
    },
  }
}

export async function diffStatesOf(site: Site, from: string, to: string): Promise<{ from: DiffSide; to: DiffSide; diff: StateDiff }> {
  const a = await diffSide(site, from)
  const b = await diffSide(site, to)
  return { from: a, to: b, diff: diffStates(a.state, b.state) }
}

/** Runs a write of the journal's refs as the fleet's one writer when the site is a fleet's node. */
export function sharedWrite<T>(site: Site, fn: () => Promise<T>): Promise<T> {
  return site.shared ? site.shared.write(fn) : fn()
}

export async function markGood(site: Site, id: string, note: string): Promise<void> {
  const text = cleanText(note, 'the note')
  await sharedWrite(site, () => site.journal.mark(id, text))
}

export async function unmarkGood(site: Site, id: string): Promise<void> {
  if (!(await sharedWrite(site, () => site.journal.unmark(id)))) throw new PeakguardError('STATE_NOT_FOUND', `state ${short(id)} is not marked known-good`)
}

export interface SiteStatus {
  site: string
  states: number
  latest: StateInfo | null
  lastGood: StateInfo | null
  /** does the live site differ from the latest snapshot? */
  liveChanged: boolean | null
  pendingChanges: { files: number; options: number } | null
  /** why the live site could not be compared (the database is down, say) */
  liveError: string | null
  lastRecovery: { at: string; what: string } | null
  /** a snapshot or restore running right now, if any */
  busy: string | null
  /** an interrupted restore that could not be finished: `restore <safetySnapshot>` goes back */
  pendingRestore: { target: string; safetySnapshot: string; error: string } | null
  journalProblems: string[]
  /** what the operator should know about the live site (settings names held by several rows, files that cannot be recorded) */
  warnings: string[]
}

/** The site's state; finishes an interrupted restore first, so `status` always reports a settled site. */
export async function siteStatus(site: Site): Promise<SiteStatus> {
  // never waits behind a running restore: reports it instead
  const { busy, pendingRestore } = await settleIfIdle(site)
  // what is independent is read at once: a status at 3 a.m. waits for the slowest part, not for their sum
  const journalProblems = site.journal.check()
  const lastRecovery = site.dir.lastRecovery()
  lastRecovery.catch(() => undefined) // handled where it is awaited, below; never an unhandled rejection meanwhile
  // a database that cannot be read shows in liveError already
  const duplicates = site.settings.duplicates().catch(() => [] as string[])
  // the walk of wp-content is the long part: it starts now, beside the listing of the journal
  const reading = readLive(site)
  reading.catch(() => undefined) // awaited below only when there is a state to compare with
  const states = await listStates(site)
  const latest = states[0] ?? null
  const good = states.find((s) => s.knownGood) ?? null
  let pending: SiteStatus['pendingChanges'] = null
  let liveError: string | null = null
  const warnings: string[] = await duplicates
  if (latest) {
    try {
      const [live, head] = await Promise.all([reading, site.journal.readState(latest.id)])
      for (const s of live.skipped ?? []) warnings.push(`not recorded: ${s}`)
      const d = diffStates(head, live)
      pending = { files: d.files.length + d.links.length + d.dirs.length, options: d.options.length }
    } catch (e) {
      liveError = (e as Error).message
    }
  }
  return {
    site: site.id,
    states: states.length,
    latest,
    lastGood: good,
    liveChanged: pending ? pending.files + pending.options > 0 : null,
    pendingChanges: pending,
    liveError,
    lastRecovery: await lastRecovery,
    busy,
    pendingRestore,
    journalProblems: await journalProblems,
    warnings,
  }
}
