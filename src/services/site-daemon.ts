// The daemon's recording loop for one site: file-watcher events and settings polls are coalesced into
// snapshots — taken after a quiet period, never later than a maximum wait from the first change — so a
// plugin update writing 2,000 files is one snapshot and a stream of edits still gets recorded. A full
// comparison runs at start-up (what changed while the daemon was down) and periodically (what inotify
// missed). Without inotify (watch limit reached) the site is scanned periodically instead. With the
// database down, files are still recorded; the first poll after it is back records what changed meanwhile.
import { unitOf, type FileWatchPort, type HeapPort, type LogPort, type MetricsPort, type Trigger, type WatchFailure } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import type { SnapshotResult } from './recorder.ts'
import { snapshot } from './writer.ts'
import type { SiteGovernance } from './site-governance.ts'
import type { Site } from './site.ts'

export interface RecordingSettings {
  /** set (with why): never watch with inotify, scan every fallbackScanMs (a fleet's shared wp-content) */
  scanOnly?: string | null
  quietMs: number
  maxWaitMs: number
  reconcileMs: number
  fallbackScanMs: number
  pollMs: number
}

export interface RecordingStatus {
  site: string
  /** watch: inotify events; scan: periodic scans (watching failed); starting; stopped */
  mode: 'starting' | 'watch' | 'scan' | 'stopped'
  modeReason: string | null
  /** changes seen and not yet recorded */
  pendingChanges: number
  pendingSince: string | null
  recording: boolean
  lastSnapshot: { id: string; at: string; summary: string; trigger: string; created: boolean; seconds: number; skipped: string[] } | null
  lastError: { at: string; message: string } | null
  /** the newest snapshot attempt failed (not merely postponed): the site's changes are not being recorded */
  failing: boolean
  db: { connected: boolean; since: string; error: string | null }
}

/** More units than this in one window (a mass update): read everything instead. */
const MAX_UNITS = 200

/** How long the site must stay quiet after a full reading before the heap is given back. */
const HEAP_RELEASE_QUIET_MS = 3000

/** The most a DB reconnect waits between attempts. */
const MAX_DB_BACKOFF_MS = 30_000

export class SiteRecording {
  readonly site: Site
  /** called after each snapshot that created a state (the replicator pushes it) */
  afterSnapshot: (() => void) | null = null
  /** when WordPress's upgrader last asked for a pre-update snapshot (an update is under way): the prober's clue */
  preUpdateAt: number | null = null
  /** attribution, audit and the freeze gate (set by the composition root) */
  governance: SiteGovernance | null = null
  /**
   * Whether this daemon polls the settings: on a fleet, only the settings leader does (the others would read the
   * same rows again); a site on one host always.
   */
  leads: () => boolean = () => true
  /**
   * Whether this daemon records at all: on a fleet sharing one wp-content (fleet.sharedFiles), only the leader
   * records (and writes) the files; the others would read the same files again.
   */
  recordsFiles: () => boolean = () => true
  /** after every snapshot attempt that read the site (created or not), inside the queue: a fleet's node compares its files */
  onRecorded: ((r: SnapshotResult) => Promise<unknown>) | null = null
  /** told when a new state became live (a snapshot of a change, a restore, a revert): the prober probes it at once */
  onNewState: ((state: string) => void) | null = null
  private readonly watcher: FileWatchPort
  private readonly log: LogPort
  private readonly metrics: MetricsPort
  private readonly cfg: RecordingSettings

  private mode: RecordingStatus['mode'] = 'starting'
  private modeReason: string | null = null
  private pending = 0
  private firstAt = 0
  private triggers = new Set<Trigger>()
  /** the theme/plugin directories and drop-ins the watcher reported; null: read everything */
  private units: Set<string> | null = new Set()
  private flushTimer: NodeJS.Timeout | null = null
  private pollTimer: NodeJS.Timeout | null = null
  private reconcileTimer: NodeJS.Timeout | null = null
  private scanTimer: NodeJS.Timeout | null = null
  private stopping = false
  private recording = false
  /** when the newest snapshot began reading: WordPress events before it belong to that snapshot */
  private lastRecordStart = 0
  private maintaining = false
  /** snapshots, restores and marks by this daemon for this site, one at a time */
  private queue: Promise<unknown> = Promise.resolve()
  private fingerprint: string | null = null
  private dbBackoffMs = 0
  private db: RecordingStatus['db'] = { connected: true, since: new Date().toISOString(), error: null }
  private lastSnapshot: RecordingStatus['lastSnapshot'] = null
  private lastError: RecordingStatus['lastError'] = null
  private failing = false
  /** changes seen so far: a health round counts only if none was seen while it ran */
  private changes = 0
  /** the live state as last seen after a queued job, and when it became live */
  private liveHead: string | null = null
  private liveSince = 0
  private recordingFirstAt = 0
  /** whether a head was seen yet: the first one was live before the daemon started */
  private seenHead = false

  private readonly heap: HeapPort | null
  private heapReleasedAt = 0
  private fullReadingAt = 0
  private heapTimer: NodeJS.Timeout | null = null

  constructor(site: Site, watcher: FileWatchPort, log: LogPort, metrics: MetricsPort, cfg: RecordingSettings, heap: HeapPort | null = null) {
    this.site = site
    this.watcher = watcher
    this.log = log
    this.metrics = metrics
    this.cfg = cfg
    this.heap = heap
  }

  async start(): Promise<void> {
    this.metrics.pendingChanges(this.site.id, 0)
    // a settings table the config names but the database refuses (missing, no primary key, too large) stops
    // this site now, by name, as a config error does; a database that is down is waited for instead
    await this.site.settings.sources().catch((e: unknown) => {
      if (e instanceof PeakguardError && e.code === 'CONFIG_INVALID') throw e
    })
    await this.startWatching()
    // the fingerprint first, then the snapshot: a row changed in between is both recorded and noticed
    await this.poll(false)
    // what WordPress did while the daemon was down (an update, who did it, a pre-update snapshot it could not get)
    // explains what changed since the newest snapshot: its events count from that snapshot's time
    const newest = (await this.site.journal.log().catch(() => []))[0]
    const since = newest ? Date.parse(newest.time) : Date.now()
    await this.record('scan', 'start-up: what changed while the daemon was not running', null, Number.isFinite(since) ? since : Date.now())
    if (this.stopping) return
    this.schedulePoll(this.cfg.pollMs)
    this.reconcileTimer = setInterval(() => void this.reconcile(), this.cfg.reconcileMs)
    this.reconcileTimer.unref()
  }

  /** Stops watching and polling; a change still waiting for its quiet period is recorded first. */
  async stop(): Promise<void> {
    this.stopping = true
    for (const t of [this.pollTimer, this.flushTimer, this.heapTimer]) if (t) clearTimeout(t)
    for (const t of [this.reconcileTimer, this.scanTimer]) if (t) clearInterval(t)
    await this.watcher.close().catch(() => undefined)
    if (this.pending > 0) {
      this.log.info({ site: this.site.id, pending: this.pending }, 'stopping: recording the pending change first')
      await this.flush()
    }
    await this.queue.catch(() => undefined)
    this.mode = 'stopped'
  }

  /** Runs `fn` when no snapshot of this daemon is running, and holds the next ones until it is done. */
  exclusive<T>(fn: (release: () => void) => Promise<T>): Promise<T> {
    // every write to the live site runs here: afterwards, a new head is a new live state. `release` lets
    // the queue go on before `fn` is done (a restore's cache purges run after its lock is released)
    let freed: () => void = () => undefined
    const free = new Promise<void>((r) => (freed = r))
    let released = false
    const release = () => {
      if (released) return
      released = true
      void this.noticeHead().finally(freed)
    }
    const job = async () => {
      try {
        return await fn(release)
      } finally {
        if (!released) {
          released = true
          await this.noticeHead()
        }
        freed()
      }
    }
    const run = this.queue.then(job, job)
    // the queue keeps no result: a snapshot's result holds a whole 30k-entry state
    this.queue = Promise.race([free, run.then(() => undefined, () => undefined)])
    return run
  }

  status(): RecordingStatus {
    return {
      site: this.site.id,
      mode: this.mode,
      modeReason: this.modeReason,
      pendingChanges: this.pending,
      pendingSince: this.pending ? new Date(this.firstAt).toISOString() : null,
      recording: this.recording,
      lastSnapshot: this.lastSnapshot,
      lastError: this.lastError,
      failing: this.failing,
      db: { ...this.db },
    }
  }

  /**
   * What is live, as far as the daemon knows: the newest state (null while changes wait to be recorded),
   * since when, and a counter of the changes seen — a health round that saw the counter move saw no one state.
   */
  live(): { state: string | null; since: string | null; changes: number } {
    if (!this.settled()) return { state: null, since: this.pending ? new Date(this.firstAt).toISOString() : null, changes: this.changes }
    return { state: this.liveHead, since: this.liveSince ? new Date(this.liveSince).toISOString() : null, changes: this.changes }
  }

  private async noticeHead(): Promise<void> {
    // set by the snapshot job that just ran: its state became live when its first change was made
    const firstChangeAt = this.recordingFirstAt
    this.recordingFirstAt = 0
    const head = await this.site.journal.head().catch(() => this.liveHead)
    if (head === this.liveHead) return
    // else it became live now (a restore, a revert) — or, at start-up, at a time nobody knows
    this.liveSince = firstChangeAt || (this.liveHead === null && !this.seenHead ? 0 : Date.now())
    this.seenHead = true
    this.liveHead = head
    if (head) this.onNewState?.(head)
  }

  /** True when the live site is what the newest snapshot holds, as far as the daemon knows. */
  settled(): boolean {
    return this.pending === 0 && !this.recording && this.mode !== 'starting'
  }

  private async startWatching(): Promise<void> {
    if (this.cfg.scanOnly) {
      // a wp-content shared over NFS/EFS: inotify does not see what other clients write there, so it is scanned
      if (!this.scanTimer) this.watchFailed({ code: 'SHARED_FILES', message: this.cfg.scanOnly })
      return
    }
    try {
      await this.watcher.start({
        changed: (path) => this.changed('watch', path),
        failed: (f) => this.watchFailed(f),
        warned: (f) => this.log.warn({ site: this.site.id, code: f.code }, `watcher: ${f.message}`),
      })
      if (!this.scanTimer) this.setMode('watch', null)
    } catch (e) {
      this.watchFailed({ code: (e as NodeJS.ErrnoException).code ?? 'UNKNOWN', message: `cannot watch the files: ${(e as Error).message}` })
    }
  }

  private watchFailed(f: WatchFailure): void {
    if (this.stopping || this.scanTimer) return
    this.log.error({ site: this.site.id, code: f.code, scanEveryMs: this.cfg.fallbackScanMs }, f.message)
    this.setMode('scan', f.message)
    // what happened between the last event and now may have been missed
    this.changed('scan')
    this.scanTimer = setInterval(() => this.changed('scan'), this.cfg.fallbackScanMs)
  }

  private setMode(mode: 'watch' | 'scan', reason: string | null): void {
    this.mode = mode
    this.modeReason = reason
    this.metrics.watcherMode(this.site.id, mode)
  }

  /** A change was seen: (re)arm the snapshot for after the quiet period, but no later than the maximum wait. */
  private changed(trigger: Trigger, path?: string): void {
    if (this.stopping) return
    const now = Date.now()
    if (this.pending === 0) this.firstAt = now
    this.pending++
    this.changes++
    this.triggers.add(trigger)
    this.metrics.pendingChanges(this.site.id, this.pending)
    if (path) this.log.debug({ site: this.site.id, path }, 'change seen')
    // a watcher event names what to read again; a scan reads everything; a settings change no file at all
    if (trigger === 'watch' && path !== undefined) {
      const unit = unitOf(path)
      if (unit === null || (this.units && this.units.size >= MAX_UNITS)) this.units = null
      else this.units?.add(unit)
    } else if (trigger === 'scan') this.units = null
    // a periodic scan has nothing to wait for: it is the reading
    const due = trigger === 'scan' && this.pending === 1 ? now : Math.min(now + this.cfg.quietMs, this.firstAt + this.cfg.maxWaitMs)
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = setTimeout(() => void this.flush(), Math.max(0, due - now))
  }

  private async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer)
    this.flushTimer = null
    if (this.pending === 0) return
    const trigger: Trigger = this.triggers.has('watch') ? 'watch' : this.triggers.has('poll') ? 'poll' : 'scan'
    const count = this.pending
    const units = this.units
    // changes from now on open a new window
    this.pending = 0
    this.triggers = new Set()
    this.units = new Set()
    this.metrics.pendingChanges(this.site.id, 0)
    // the change happened at most a poll interval (or a watcher's delay) before it was seen
    const since = Math.max(this.lastRecordStart, this.firstAt - Math.max(this.cfg.pollMs, 1000) - 1000)
    await this.record(trigger, `${count} change${count === 1 ? '' : 's'} seen`, units, since, this.firstAt)
  }

  /** A snapshot that could not be taken now is tried again later, reading at least what it would have. */
  private rearm(trigger: Trigger, units: ReadonlySet<string> | null, delayMs: number): void {
    if (this.stopping) return
    setTimeout(() => {
      if (units === null) this.units = null
      else for (const u of units) this.units?.add(u)
      this.changed(trigger)
    }, delayMs).unref()
  }

  private record(trigger: Trigger, why: string, units: ReadonlySet<string> | null = null, sinceMs = Date.now(), firstChangeAt = 0): Promise<SnapshotResult | null> {
    return this.exclusive(async () => {
      if (!this.recordsFiles()) return null
      this.recording = true
      this.recordingFirstAt = firstChangeAt
      this.lastRecordStart = Date.now()
      const started = performance.now()
      const gov = this.governance
      try {
        const r = await snapshot(this.site, { trigger, whenDbDown: 'carry', units, describe: gov ? (d) => gov.describe(d, sinceMs) : undefined })
        const seconds = (performance.now() - started) / 1000
        this.metrics.snapshot(this.site.id, seconds, r.created, trigger)
        this.lastSnapshot = { id: r.id, at: new Date().toISOString(), summary: r.summary, trigger, created: r.created, seconds, skipped: r.skipped ?? [] }
        this.failing = false
        if (r.created) {
          this.log.info({ site: this.site.id, state: r.id, trigger, why, summary: r.summary, ...(r.words?.length ? { words: r.words } : {}), ms: Math.round(seconds * 1000) }, 'snapshot')
        }
        else this.log.debug({ site: this.site.id, trigger, why }, 'nothing in scope changed')
        if (r.settingsError) this.dbDown(r.settingsError)
        if (r.finishedRestore) this.log.warn({ site: this.site.id }, r.finishedRestore)
        // inside the queue: a revert by the freeze gate runs before the next snapshot
        await gov?.afterRecord(r, trigger)
        await this.onRecorded?.(r).catch((e: Error) => this.log.warn({ site: this.site.id }, `after the snapshot: ${e.message}`))
        // then one push carries the snapshot, its audit entry and a revert of it, if any
        if (r.created) this.afterSnapshot?.()
        return r
      } catch (e) {
        const err = e as Error
        this.lastError = { at: new Date().toISOString(), message: err.message }
        if (e instanceof PeakguardError && e.code === 'BUSY') {
          // a restore or snapshot from the CLI holds the site: try again once it is done
          this.log.info({ site: this.site.id, trigger }, `snapshot postponed: ${err.message}`)
          this.rearm(trigger, units, this.cfg.quietMs)
        } else {
          this.failing = true
          this.log.error({ site: this.site.id, trigger, code: (e as PeakguardError).code }, `snapshot failed: ${err.message}`)
          this.rearm(trigger, units, Math.max(this.cfg.quietMs, 5000))
        }
        return null
      } finally {
        this.recording = false
        if (units === null) this.fullReadingAt = Date.now()
        this.scheduleHeapRelease()
      }
    })
  }

  /**
   * A full reading (start-up, reconciliation, scan mode) leaves tens of MB of V8 heap committed for good:
   * once the site is quiet after one, give it back (~0.6 s of CPU on the 30k-file bench tree, so every
   * 5 min ≈ 0.2 % of a core). The snapshots from watcher events read little and release nothing; the
   * first one or two after a release are ~50 ms slower while the heap grows again.
   */
  private scheduleHeapRelease(): void {
    if (!this.heap) return
    if (this.heapTimer) clearTimeout(this.heapTimer)
    this.heapTimer = setTimeout(() => {
      if (this.stopping || !this.settled() || this.fullReadingAt <= this.heapReleasedAt) return
      this.heapReleasedAt = Date.now()
      this.heap?.release()
    }, HEAP_RELEASE_QUIET_MS)
    this.heapTimer.unref()
  }

  private schedulePoll(ms: number): void {
    if (this.stopping) return
    this.pollTimer = setTimeout(() => void this.poll(true).then(() => this.schedulePoll(this.dbBackoffMs || this.cfg.pollMs)), ms)
  }

  /**
   * The settings may have changed unseen (this node just became the fleet's settings leader): the next snapshot
   * reads them, and the polls go on from there.
   */
  noticeSettings(files = false): void {
    this.fingerprint = null
    this.changed(files ? 'scan' : 'poll')
  }

  /** One settings poll: a changed fingerprint counts as a change; a failure backs off and marks the DB down. */
  private async poll(notice: boolean): Promise<void> {
    if (!this.leads()) {
      // not this node's to poll; when it leads, it reads them once first (noticeSettings)
      this.fingerprint = null
      return
    }
    let fp: string
    try {
      fp = await this.site.settings.fingerprint()
    } catch (e) {
      this.dbDown((e as Error).message)
      this.dbBackoffMs = Math.min(MAX_DB_BACKOFF_MS, Math.max(this.cfg.pollMs, this.dbBackoffMs * 2))
      return
    }
    const wasDown = !this.db.connected
    this.metrics.dbConnected(this.site.id, true)
    if (wasDown) {
      this.db = { connected: true, since: new Date().toISOString(), error: null }
      this.log.info({ site: this.site.id }, 'database reachable again: recording what changed meanwhile')
    }
    this.dbBackoffMs = 0
    const changed = this.fingerprint !== null && fp !== this.fingerprint
    this.fingerprint = fp
    if (notice && (changed || wasDown)) this.changed('poll')
  }

  private dbDown(message: string): void {
    if (this.db.connected) {
      this.log.error({ site: this.site.id }, `database unreachable: ${message}; files are still recorded, settings once it is back`)
      this.db = { connected: false, since: new Date().toISOString(), error: message }
      this.metrics.dbConnected(this.site.id, false)
    } else this.db.error = message
  }

  /** The periodic full comparison; also retries watching after a fallback (the limit may have been raised). */
  private async reconcile(): Promise<void> {
    if (this.stopping) return
    this.site.settings.forgetTables() // a blog added on multisite brings a new table
    this.fingerprint = null
    if (this.mode === 'scan' && this.scanTimer) {
      // watching again if it works now; if not, watchFailed goes back to scanning (and says so again)
      clearInterval(this.scanTimer)
      this.scanTimer = null
      await this.startWatching()
    }
    await this.poll(false)
    const watching = this.mode === 'watch' && this.pending === 0
    const r = await this.record('scan', 'periodic reconciliation')
    // inotify drops events when its queue overflows, and Node does not tell: this comparison is how we know
    if (watching && r?.created)
      this.log.warn(
        { site: this.site.id, state: r.id, summary: r.summary },
        "the periodic comparison found changes nobody reported (an overflowed inotify event queue, a path that is not watched, or a change of the last moment): recorded now; if this repeats, raise 'sysctl fs.inotify.max_queued_events=65536'",
      )
    await this.maintain()
  }

  /** Packs the journal when the site is quiet; outside the snapshot queue, so recording goes on meanwhile. */
  private async maintain(): Promise<void> {
    if (this.maintaining || this.stopping || !this.settled()) return
    this.maintaining = true
    try {
      const r = await this.site.journal.maintain()
      if (r) this.log.info({ site: this.site.id, ...r }, 'journal packed (git gc)')
    } catch (e) {
      this.log.warn({ site: this.site.id }, `journal maintenance failed: ${(e as Error).message}`)
    } finally {
      this.maintaining = false
    }
  }
}
