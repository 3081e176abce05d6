// The recorder: reads the live site and turns it into a journal commit when, and only when, something in
// scope changed. The caller holds the site's lock (writer.ts takes it).
import { cleanText, diffStates, emptyState, isEmptyDiff, optionKey, replaceUnits, summarize, wordsTrailer, type SiteState, type StateDiff, type Trigger } from '../core/index.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { PeakguardError } from '../errors.ts'
import { readLive, readLiveFiles, readLiveUnits } from './live.ts'
import type { Site } from './site.ts'
import { describeInWords } from './words.ts'

export interface SnapshotOptions {
  trigger: Trigger
  message?: string
  /** extra commit trailers (e.g. which restore a snapshot belongs to) */
  trailers?: Record<string, string>
  /**
   * 'carry' (the daemon): when the database cannot be reached, record the files anyway with the settings
   * of the newest snapshot, and say so in a trailer. 'fail' (default): the snapshot fails.
   */
  whenDbDown?: 'fail' | 'carry'
  /** read only these units again (the daemon, from watcher events); the rest as the newest snapshot holds it */
  units?: ReadonlySet<string> | null
  /** more trailers once the change is known (who caused it: see attribution.ts) */
  describe?: (diff: StateDiff) => Record<string, string> | Promise<Record<string, string>>
}

export interface SnapshotResult {
  id: string
  created: boolean
  summary: string
  /** what changed, as WordPress people say it (see core/words.ts); absent for the first snapshot and when nothing was recorded */
  words?: string[]
  /** the live state that was recorded */
  state: SiteState
  /** set when the settings could not be read and were carried over from the newest snapshot */
  settingsError?: string
  /** set when an interrupted restore was finished first (what was done) */
  finishedRestore?: string
  /** files in scope that could not be recorded (a name that is not UTF-8), each with why; the rest was */
  skipped?: string[]
  /**
   * A node of a fleet: the site as read from this node's disk, when `state` (what was recorded: the fleet's
   * view) differs from it. A restore plans its writes from this.
   */
  read?: SiteState
}

/**
 * Records the live site (the caller holds the lock). A file that changes between the scan and its
 * storage (a plugin update still writing) makes the attempt fail without recording anything; the scan
 * is then repeated, so what is recorded is always one consistent reading.
 */
export async function record(site: Site, opts: SnapshotOptions): Promise<SnapshotResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await recordOnce(site, opts)
    } catch (e) {
      if (!(e instanceof PeakguardError && e.code === 'CHANGED_WHILE_RECORDING')) throw e
      if (attempt >= 3)
        throw new PeakguardError(
          'CHANGED_WHILE_RECORDING',
          `${e.message} — three readings in a row; if this file or row changes all the time it is not state: add it to the site's ignore.files / ignore.options`,
          { cause: e },
        )
    }
  }
}

async function recordOnce(site: Site, opts: SnapshotOptions): Promise<SnapshotResult> {
  const units = opts.units ?? null
  const read = () => (units ? readLiveUnits(site, units) : readLive(site))
  if (opts.whenDbDown !== 'carry') return recordReading(site, await read(), units, opts)
  let live: SiteState
  try {
    live = await read()
  } catch (e) {
    if (!(e instanceof PeakguardError && DB_DOWN.has(e.code))) throw e
    const head = await site.journal.head()
    const previous = head ? await site.journal.readState(head) : emptyState()
    const options = [...previous.options.values()]
    // the schema too comes from the newest snapshot: a reading without one would look like a schema no longer recorded
    const state = units && head
      ? replaceUnits(previous, await site.files.scan(units), units, options, previous.sources, previous.schema)
      : {
          ...(await readLiveFiles(site)),
          options: previous.options,
          ...(previous.sources ? { sources: previous.sources } : {}),
          ...(previous.schema ? { schema: previous.schema } : {}),
        }
    const r = await recordReading(site, state, units, {
      ...opts,
      trailers: { ...opts.trailers, 'Peakguard-Settings': `not read (${e.code}); carried over from the previous snapshot` },
    })
    return { ...r, settingsError: e.message }
  }
  return recordReading(site, live, units, opts)
}

/**
 * Records a reading of the live site. On a node of a fleet, what is recorded is what changed on this node since
 * its own previous reading, laid over the fleet's newest state (see nodeReading): the journal is the fleet's.
 */
async function recordReading(site: Site, live: SiteState, scanned: ReadonlySet<string> | null, opts: SnapshotOptions): Promise<SnapshotResult> {
  if (!site.node) return recordState(site, live, opts)
  const head = await site.journal.head()
  const reading = await site.node.reading(live, head ? await site.journal.readState(head) : null, scanned)
  const r = await recordState(site, reading.state, opts)
  await site.node.remember(reading.base)
  return { ...r, read: live }
}

const DB_DOWN: ReadonlySet<string> = new Set(['DB_UNREACHABLE', 'DB_AUTH', 'DB_FAILED'])

/**
 * Commits `live` (a reading of the live site) if it differs from the newest snapshot. The restorer calls
 * it directly with the state it has just verified, sparing a second walk of the whole tree.
 */
export async function recordState(site: Site, live: SiteState, opts: SnapshotOptions, existingBlobs?: ReadonlySet<string>): Promise<SnapshotResult> {
  const head = await site.journal.head()
  const headState = head ? await site.journal.readState(head) : emptyState()
  let diff = diffStates(headState, live)
  const skipped = live.skipped?.length ? { skipped: live.skipped } : {}
  // a table newly recorded (or no longer) with no row changed still makes a snapshot: restores read coverage;
  // so does the first schema over a newest snapshot without one (recorded before schemas were): a restore needs
  // it to tell whether it crosses a migration
  const sameSources = !live.sources || sameSet(headState.sources, live.sources)
  const newSchema = !!live.schema && !headState.schema
  const same = sameSources && !newSchema
  if (head && isEmptyDiff(diff) && same) return { id: head, created: false, summary: 'no change', state: live, ...skipped }
  // the values of changed rows, read now: a row that changed again since it was listed is recorded as it is now
  const values = await site.settings.values(diff.options.flatMap((o) => (o.value && o.to ? [o.to] : [])))
  let moved = false
  for (const o of diff.options) {
    if (!o.value || !o.to) continue
    const key = optionKey(o.table, o.name)
    const now = values.get(key)
    if (!now) live.options.delete(key)
    else if (now.blob !== o.to.blob) live.options.set(key, { ...o.to, blob: now.blob })
    else continue
    moved = true
  }
  if (moved) diff = diffStates(headState, live)
  if (head && isEmptyDiff(diff) && same) return { id: head, created: false, summary: 'no change', state: live, ...skipped }
  const coverage = [
    ...(sameSources ? [] : [`now recording settings tables: ${[...(live.sources ?? [])].sort().join(', ')}`]),
    ...(newSchema ? ['now recording the database schema'] : []),
  ]
  const summary = !head ? `initial: ${live.files.size} files, ${live.options.size} options` : isEmptyDiff(diff) ? coverage.join('; ') : summarize(diff)
  const described = head && opts.describe ? await opts.describe(diff) : {}
  // said now, while the live bytes are at hand: only the rows that changed and the headers of changed units are read
  const words = head ? (await describeInWords(site, diff, headState, live, { after: { liveValues: new Map([...values].map(([k, v]) => [k, v.value])) } })).map((p) => p.text) : undefined
  const id = await site.journal.commit({
    parent: head,
    state: live,
    diff,
    existingBlobs,
    filePath: (path) => {
      checkpoint('snapshot:file')
      return site.files.locate(path)
    },
    fileContent: (path) => site.files.read(path),
    optionValue: (table, name) => {
      const v = values.get(optionKey(table, name))
      if (!v) throw new PeakguardError('INTERNAL', `option ${table}.${name} vanished while recording`)
      return v.value
    },
    subject: cleanText(opts.message, 'the message') || summary,
    trailers: {
      'Peakguard-Site': site.id,
      'Peakguard-Trigger': opts.trigger,
      'Peakguard-Summary': summary,
      ...(words ? { 'Peakguard-Words': wordsTrailer(words) } : {}),
      ...described,
      ...opts.trailers,
      // JSON: a name may hold any character but NUL and /, and a trailer is one line
      ...(live.skipped?.length ? { 'Peakguard-Not-Recorded': `${live.skipped.length}: ${JSON.stringify(live.skipped.slice(0, 5))}` } : {}),
    },
  })
  return { id, created: true, summary, ...(words ? { words } : {}), state: live, ...skipped }
}

function sameSet(a: ReadonlySet<string> | undefined, b: ReadonlySet<string>): boolean {
  return !!a && a.size === b.size && [...b].every((x) => a.has(x))
}
