// Health probes and what follows from them, per site: every round fetches the configured URLs (default:
// the site's home URL) and judges each answer (status, WordPress's or PHP's error page, latency). The
// result is kept per state. A state that stayed live with every round passing for `goodAfter` is marked
// known-good. With automatic rollback on, `afterFailures` failed rounds in a row after a change restore
// the last known-good state — at most once per `minInterval`, never while another restore runs, and
// never in a loop: if the state rolled back to fails too, it stops and alerts. Never across a database
// migration either: when the schema or a migration marker differs between the live site and the known-good
// state (or the known-good state is too old to say), putting the old code back over the new tables could
// lose orders, so it alerts once (auto-rollback-blocked) and leaves the decision to a person.
import { isMaintenancePage, judgeProbe, schemaChangeText, visible, type HealthRecord, type LayoutCrossing, type LogPort, type MetricsPort, type NotifyPort, type ProbePort, type ProbeSpec, type ProbeVerdict, type StateHealth } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { lastGood, listStates, sharedWrite } from './catalog.ts'
import { crosses, crossingTables, crossingTo } from './layout.ts'
import type { RestoreReport } from './restorer.ts'
import { shortId as short } from '../core/text.ts'
import { restore } from './writer.ts'
import type { SiteRecording } from './site-daemon.ts'
import type { Site } from './site.ts'

export interface ProbeSettings {
  intervalMs: number
  /** a state the daemon just recorded is probed at once, then this often until it passed `fastRounds` rounds or failed */
  fastIntervalMs: number
  fastRounds: number
  goodAfterMs: number
  /** at least one; a null url is the site's home URL */
  probes: (Omit<ProbeSpec, 'url'> & { url: string | null })[]
  autoRollback: { enabled: boolean; afterFailures: number; minIntervalMs: number }
}

/** The health of what is live now — never of a state that was live before. */
export interface LiveHealth {
  /** the state live now, as far as the daemon knows; null while changes wait to be recorded */
  state: string | null
  /** when what is live now became live (its first change); null when unknown (live since before the daemon started) */
  since: string | null
  /** healthy / unhealthy: a round saw what is live now; not-probed: none has since it became live */
  verdict: 'healthy' | 'unhealthy' | 'not-probed'
  /** the newest round that saw what is live now */
  round: { at: string; ok: boolean; probes: ProbeVerdict[] } | null
  /** fast: a new state, probed every fastInterval until proven; slow: every interval */
  cadence: 'fast' | 'slow'
}

export interface HealthStatus {
  /** the state the last round was counted for (null when the live site had unrecorded changes) */
  state: string | null
  /** the last round, whatever it saw (it may have probed a state that is no longer live: see `live`) */
  lastRound: { at: string; ok: boolean; probes: ProbeVerdict[]; state: string | null } | null
  live: LiveHealth
  consecutiveFailures: number
  current: StateHealth | null
  autoRollback: {
    enabled: boolean
    last: HealthRecord['lastAutoRollback']
    halted: HealthRecord['autoRollbackHalted']
    /** the newest rollback refused because it would cross a database migration; null when none since the last known-good */
    blocked: NonNullable<HealthRecord['autoRollbackBlocked']> | null
  }
  lastAlert: { at: string; message: string } | null
}

/** How many states' health is kept. */
const KEEP_STATES = 1000

/** How long an update may keep WordPress in maintenance mode before the rounds count again (WordPress's own limit). */
const MAINTENANCE_MAX_MS = 10 * 60_000

export class Prober {
  private readonly site: Site
  private readonly recording: SiteRecording
  private readonly http: ProbePort
  private readonly log: LogPort
  private readonly metrics: MetricsPort
  private readonly cfg: ProbeSettings
  private readonly notifier: NotifyPort | null
  private timer: NodeJS.Timeout | null = null
  private running: Promise<void> | null = null
  /** whether this daemon marks known-good states and rolls back: on a fleet, only the settings leader */
  leads: () => boolean = () => true
  /** a new state became live while a round ran: another round right after it */
  private again = false
  /** the newest round that saw one state from start to end, and the change counter it saw */
  private seen: { state: string; changes: number; round: { at: string; ok: boolean; probes: ProbeVerdict[] } } | null = null
  /** the rounds passed since the live state became live (a state that comes back starts again) */
  private stint: { state: string | null; passes: number } = { state: null, passes: 0 }
  private stopped = false
  private homeUrl: string | null = null
  private lastState: string | null = null
  private consecutiveFailures = 0
  private lastRound: HealthStatus['lastRound'] = null
  private record: HealthRecord | null = null
  private alerted: string | null = null
  /** since when the probes have met WordPress's maintenance mode (an update running), null when they do not */
  private maintenanceSince: number | null = null
  private lastAlert: { at: string; message: string } | null = null
  /** whether people were told the site fails: a notification goes out when that changes, not every round */
  private failing = false
  /** failed rounds in a row that saw no one state (the site kept changing) */
  private uncountedFailures = 0

  constructor(site: Site, recording: SiteRecording, http: ProbePort, log: LogPort, metrics: MetricsPort, cfg: ProbeSettings, opts: { notify?: NotifyPort } = {}) {
    this.site = site
    this.recording = recording
    this.http = http
    this.log = log
    this.metrics = metrics
    this.cfg = cfg
    this.notifier = opts.notify ?? null
  }

  start(): void {
    // a new live state is probed at once, not at the next tick: the sooner a broken change is seen, the
    // sooner it is rolled back
    this.recording.onNewState = () => this.run()
    this.run()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.recording.onNewState = null
    if (this.timer) clearTimeout(this.timer)
    await this.running
  }

  /** A round now, or right after the one under way. */
  private run(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    if (this.timer) clearTimeout(this.timer)
    this.running = this.round()
      .catch((e: unknown) => this.log.error({ site: this.site.id }, `health round failed: ${(e as Error).message}`))
      .finally(() => {
        this.running = null
        if (this.stopped) return
        const wait = this.again ? 0 : this.fast() ? Math.min(this.cfg.fastIntervalMs, this.cfg.intervalMs) : this.cfg.intervalMs
        this.again = false
        this.timer = setTimeout(() => this.run(), wait)
      })
  }

  /**
   * Whether the live site is probed at the fast cadence: changes wait to be recorded, or the live state has
   * passed fewer than `fastRounds` rounds since it became live and not yet failed `afterFailures` in a row.
   */
  private fast(): boolean {
    const live = this.recording.live()
    if (live.state === null) return live.since !== null
    return live.state !== this.stint.state || (this.stint.passes < this.cfg.fastRounds && this.consecutiveFailures < this.cfg.autoRollback.afterFailures)
  }

  async status(): Promise<HealthStatus> {
    const rec = await this.health()
    const live = this.recording.live()
    const saw = this.seen !== null && live.state !== null && this.seen.state === live.state && this.seen.changes === live.changes ? this.seen.round : null
    return {
      state: this.lastState,
      lastRound: this.lastRound,
      live: { state: live.state, since: live.since, verdict: saw ? (saw.ok ? 'healthy' : 'unhealthy') : 'not-probed', round: saw, cadence: this.fast() ? 'fast' : 'slow' },
      consecutiveFailures: this.consecutiveFailures,
      current: rec.states.find((s) => s.state === this.lastState) ?? null,
      autoRollback: { enabled: this.cfg.autoRollback.enabled, last: rec.lastAutoRollback, halted: rec.autoRollbackHalted, blocked: rec.autoRollbackBlocked ?? null },
      lastAlert: this.lastAlert,
    }
  }

  private async health(): Promise<HealthRecord> {
    this.record ??= await this.site.health.readHealth()
    return this.record
  }

  private async urls(): Promise<ProbeSpec[]> {
    const out: ProbeSpec[] = []
    for (const p of this.cfg.probes) {
      let url = p.url
      if (!url) {
        // the home URL rarely changes; keep the last one read for when the database is down
        this.homeUrl = (await this.site.settings.homeUrl().catch(() => null)) ?? this.homeUrl
        url = this.homeUrl
      }
      if (url) out.push({ ...p, url })
    }
    return out
  }

  /** One round: probe, record the result for the live state, then mark known-good or roll back as due. */
  async round(): Promise<void> {
    // what is live before and after the probes: a round counts only for a state that was live throughout
    const before = this.recording.live()
    const head = before.state === null ? null : await this.site.journal.head()
    const now = Date.now()
    const urls = await this.urls()
    const answers = await Promise.all(urls.map(async (p) => ({ p, r: await this.http.fetch(p) })))
    // an update under way — WordPress's maintenance page, or any 503 within minutes of a pre-update request (the page
    // is translated, or a maintenance.php drop-in's): neither a pass nor a failure, and never a reason for an automatic
    // rollback in the middle of WordPress's upgrader. For at most MAINTENANCE_MAX_MS, as WordPress itself ignores a
    // .maintenance file older than that: a site stuck there is broken, and counted so.
    const updating = (this.recording.preUpdateAt ?? -Infinity) > now - MAINTENANCE_MAX_MS
    if (answers.some((a) => isMaintenancePage(a.r) || (updating && a.r.status === 503))) {
      this.maintenanceSince ??= now
      if (now - this.maintenanceSince < MAINTENANCE_MAX_MS) {
        this.log.info({ site: this.site.id, state: before.state }, 'WordPress is in maintenance mode (an update is running): this probe round is not counted')
        return
      }
    } else this.maintenanceSince = null
    const verdicts: ProbeVerdict[] = urls.length
      ? answers.map((a) => judgeProbe(a.r, a.p))
      : [{ name: null, url: '(home URL)', ok: false, status: null, latencyMs: 0, reason: "no probe URL: the site's home option cannot be read and no health.probes are configured" }]
    const ok = verdicts.every((v) => v.ok)
    const after = this.recording.live()
    const state = before.state !== null && before.state === head && after.state === before.state && after.changes === before.changes ? before.state : null
    const round = { at: new Date(now).toISOString(), ok, probes: verdicts }
    this.lastRound = { ...round, state }
    // (a state that became live while probing is probed right after: recording's onNewState asked for it)
    if (state) this.seen = { state, changes: after.changes, round }
    this.metrics.probe(this.site.id, ok)
    if (ok) this.alerted = null
    const failures = verdicts.filter((v) => !v.ok).map((v) => ({ url: v.url, reason: v.reason }))
    if (!ok) this.log.warn({ site: this.site.id, failures }, 'health probe failed')
    // people are told when the health changes, not every round; a failure names the change that made the
    // state live, so it waits for a round that saw one state throughout — unless the site keeps changing
    // and failing for afterFailures rounds, which is told without a change
    this.uncountedFailures = ok || state ? 0 : this.uncountedFailures + 1
    if (!ok && !this.failing && (state || this.uncountedFailures >= this.cfg.autoRollback.afterFailures)) {
      const change = await this.changeOf(state)
      this.notifier?.notify({
        event: 'health-failure',
        site: this.site.id,
        summary: `health probes failing: ${failures.map((f) => `${f.url}: ${f.reason}`).join('; ')}${change ? ` — after: ${change.change}${change.causedBy ? ` by ${change.causedBy}` : ''}` : ''}`,
        details: { failures, ...change },
      })
      this.failing = true
    }
    if (ok && this.failing) {
      this.notifier?.notify({ event: 'health-recovered', site: this.site.id, summary: 'health probes pass again', details: { probes: verdicts.length } })
      this.failing = false
    }

    // a round that saw no one state counts for none, and leaves the counts of the last state alone (a
    // periodic full comparison or a scan must not restart its failures or its healthy time)
    if (!state) return
    if (state !== this.lastState) this.consecutiveFailures = 0
    if (state !== this.stint.state) this.stint = { state, passes: 0 }
    if (ok) this.stint.passes++
    const rec = await this.health()
    let h = rec.states.find((s) => s.state === state)
    if (!h) {
      h = { state, firstProbe: this.lastRound.at, lastProbe: this.lastRound.at, passes: 0, failures: 0, healthySince: null, lastFailure: null, markedGoodAt: null }
      rec.states.push(h)
      if (rec.states.length > KEEP_STATES) rec.states.splice(0, rec.states.length - KEEP_STATES)
    }
    // healthy "since" only counts while it stayed live: a state that comes back starts again
    if (state !== this.lastState) h.healthySince = null
    this.lastState = state
    h.lastProbe = this.lastRound.at
    if (ok) {
      h.passes++
      h.healthySince ??= this.lastRound.at
      this.consecutiveFailures = 0
    } else {
      h.failures++
      h.healthySince = null
      h.lastFailure = { at: this.lastRound.at, reason: verdicts.filter((v) => !v.ok).map((v) => `${v.url}: ${v.reason}`).join('; ') }
      this.consecutiveFailures++
    }
    // on a fleet, the settings leader decides (known-good, rollback) for all: the other nodes probe and report
    const decides = this.leads()
    if (decides && ok && h.healthySince && !h.markedGoodAt && now - Date.parse(h.healthySince) >= this.cfg.goodAfterMs) await this.markGood(h, rec)
    await this.site.health.writeHealth(rec)
    if (decides && !ok && this.cfg.autoRollback.enabled && this.consecutiveFailures >= this.cfg.autoRollback.afterFailures) await this.maybeRollBack(state, h, rec)
  }

  private async markGood(h: StateHealth, rec: HealthRecord): Promise<void> {
    const minutes = Math.round((Date.now() - Date.parse(h.healthySince!)) / 60_000)
    const already = (await this.site.journal.marks()).some((m) => m.id === h.state)
    if (!already) {
      const note = `known-good: every health probe passed for ${minutes} min (${h.passes} rounds)`
      await this.recording.exclusive(() => sharedWrite(this.site, () => this.site.journal.mark(h.state, note)))
      this.log.info({ site: this.site.id, state: h.state, minutes }, 'state marked known-good')
    }
    h.markedGoodAt = new Date().toISOString()
    // a new known-good state is a new target: a refusal to cross a migration is judged afresh against it
    if (rec.autoRollbackBlocked) rec.autoRollbackBlocked = null
    if (rec.autoRollbackHalted) {
      this.log.info({ site: this.site.id, state: h.state }, 'a state is known-good again: automatic rollback re-armed')
      rec.autoRollbackHalted = null
    }
  }

  private async maybeRollBack(state: string, h: StateHealth, rec: HealthRecord): Promise<void> {
    const site = this.site.id
    const why = h.lastFailure?.reason ?? 'health probes failed'
    if (rec.autoRollbackHalted) return // alerted already; a person decides now
    const good = await lastGood(this.site)
    if (!good) {
      this.alert(state, `health probes failed ${this.consecutiveFailures} times but there is no known-good state to roll back to (${why})`)
      return
    }
    if ((await this.site.journal.marks()).some((m) => m.id === state)) {
      this.alert(state, `health probes of known-good state ${short(state)} failed ${this.consecutiveFailures} times: nothing changed since it was good, so rolling back would not help (${why})`)
      return
    }
    const last = rec.lastAutoRollback
    if (last && last.to === state) {
      // the loop breaker: stop until a person acts or a state proves good again
      rec.autoRollbackHalted = { at: new Date().toISOString(), reason: `the state an automatic rollback restored (${short(state)}) is unhealthy too: ${why}` }
      await this.site.health.writeHealth(rec)
      this.alert(state, `${rec.autoRollbackHalted.reason}; automatic rollback is stopped until a state is known-good again`)
      return
    }
    if (last && Date.now() - Date.parse(last.at) < this.cfg.autoRollback.minIntervalMs) {
      this.alert(state, `health probes failed ${this.consecutiveFailures} times, but the last automatic rollback was at ${last.at}, within autoRollback.minInterval: not rolling back again yet (${why})`)
      return
    }
    // never across a database migration: asked of the database alone, before anything is recorded or written
    let crossing: LayoutCrossing
    try {
      crossing = await crossingTo(this.site, await this.site.journal.readState(good))
    } catch (e) {
      this.alert(state, `automatic rollback not started: whether the database schema changed since known-good ${short(good)} cannot be told (${(e as Error).message}); not rolling back blind (${why})`)
      return
    }
    if (crosses(crossing) || crossing.unknown) {
      await this.blocked(state, good, crossing, why, rec)
      return
    }
    this.log.error({ site, from: state, to: good, reason: why }, `automatic rollback: health probes failed ${this.consecutiveFailures} times after a change; restoring the last known-good state`)
    let report: RestoreReport
    try {
      // never while another restore runs: a restore from the CLI holds the lock, and we do not wait for it
      report = await this.recording.exclusive((release) =>
        restore(
          { ...this.site, lockWaitMs: 0 },
          { target: good, trigger: 'auto-rollback', actor: 'peakguard-daemon', reason: `health probes failed ${this.consecutiveFailures} times: ${why}`, unlocked: release },
        ),
      )
    } catch (e) {
      // the schema changed between the check above and the restore's own check: the restore wrote nothing
      if (e instanceof PeakguardError && e.code === 'SCHEMA_CHANGE') {
        const again = await crossingTo(this.site, await this.site.journal.readState(good)).catch(() => null)
        await this.blocked(state, good, again && (crosses(again) || again.unknown) ? again : null, why, rec, e.message)
        return
      }
      const busy = e instanceof PeakguardError && e.code === 'BUSY'
      this.metrics.restore(site, 'auto-rollback', false)
      const message = busy ? `automatic rollback not started: ${(e as Error).message}` : `automatic rollback failed: ${(e as Error).message}`
      this.log.error({ site, to: good }, message)
      this.notifier?.notify({ event: 'auto-rollback', site, summary: message, details: { rolledBack: false, from: state, to: good } })
      return
    }
    this.metrics.restore(site, 'auto-rollback', report.verified === true)
    // the state rolled back to is recorded as a new snapshot: that is the one whose health decides about a loop
    rec.lastAutoRollback = { at: new Date().toISOString(), from: state, to: report.snapshot ?? good }
    rec.autoRollbackBlocked = null
    await this.site.health.writeHealth(rec)
    this.consecutiveFailures = 0
    this.log.error(
      { site, from: state, to: good, snapshot: report.snapshot, safetySnapshot: report.safetySnapshot, verified: report.verified, hooks: report.hooks.map((x) => ({ command: x.command, exitCode: x.exitCode, error: x.error })) },
      `automatic rollback done: the site is back on ${short(good)}; undo with 'peakguard restore ${short(report.safetySnapshot ?? '')}'`,
    )
    const change = await this.changeOf(state)
    this.notifier?.notify({
      event: 'auto-rollback',
      site,
      summary: `automatic rollback: health probes failed after a change${change ? ` (${change.change}${change.causedBy ? ` by ${change.causedBy}` : ''})` : ''}: ${why}; the site is back on known-good ${short(good)}${report.verified === true ? '' : ' (NOT verified)'}; undo with 'peakguard restore ${short(report.safetySnapshot ?? '')}'`,
      details: { rolledBack: true, from: state, to: good, snapshot: report.snapshot, safetySnapshot: report.safetySnapshot, verified: report.verified, reason: why, ...(change ? { change: change.change, causedBy: change.causedBy } : {}) },
    })
  }

  /**
   * An automatic rollback from `state` to `good` refused because it would cross a database migration: an ALERT
   * and an auto-rollback-blocked notification naming the tables and markers, once per target and migration
   * (remembered in the health record, so neither the next round nor a restarted daemon says it again).
   */
  private async blocked(state: string, good: string, c: LayoutCrossing | null, why: string, rec: HealthRecord, refusal?: string): Promise<void> {
    const site = this.site.id
    const g = short(good)
    // said once per target and migration: a broken site that keeps making new states (a plugin writing an
    // option on every page) must not page someone every few rounds with the same news
    const message = `automatic rollback blocked: ${blockedWhy(c, g, refusal)}`
    const prior = rec.autoRollbackBlocked
    if (prior && prior.to === good && (prior.from === state || prior.reason === message)) return
    const tables = c ? crossingTables(c) : []
    const markers = c ? c.markers.map((m) => visible(m.name)) : []
    const unknown = !!c && c.unknown && !crosses(c)
    const at = new Date().toISOString()
    rec.autoRollbackBlocked = { at, from: state, to: good, reason: message }
    await this.site.health.writeHealth(rec)
    this.lastAlert = { at, message }
    this.log.error({ site, state, to: good, tables, markers, alert: true }, `ALERT: ${message}`)
    const change = await this.changeOf(state)
    this.notifier?.notify({
      event: 'auto-rollback-blocked',
      site,
      summary: `${message} (health probes failed ${this.consecutiveFailures} times${change ? ` after ${change.change}${change.causedBy ? ` by ${change.causedBy}` : ''}` : ''}: ${why})`,
      details: {
        rolledBack: false,
        from: state,
        to: good,
        tables,
        markers,
        schema: c ? c.schema.map(schemaChangeText) : [],
        unknownSchema: unknown,
        reason: why,
        ...(change ? { change: change.change, causedBy: change.causedBy } : {}),
      },
    })
  }

  /** The change that made `state` live, in words, and who made it: what a person woken at 3 a.m. reads first. */
  private async changeOf(state: string | null): Promise<{ state: string; change: string; causedBy: string | null } | null> {
    if (!state) return null
    const info = (await listStates(this.site).catch(() => [])).find((x) => x.id === state)
    if (!info) return null
    return { state, change: info.words?.length ? info.words.join('; ') : info.summary || info.message, causedBy: info.causedBy }
  }

  /** An alert a person must act on, logged once per state and reason (not every round). */
  private alert(state: string, message: string): void {
    const key = `${state} ${message.slice(0, 40)}`
    if (this.alerted === key) return
    this.alerted = key
    this.lastAlert = { at: new Date().toISOString(), message }
    this.log.error({ site: this.site.id, state, alert: true }, `ALERT: ${message}`)
    // every alert is about an automatic rollback that did not happen: a person must act
    this.notifier?.notify({ event: 'auto-rollback', site: this.site.id, summary: `ALERT: ${message}`, details: { rolledBack: false, state } })
  }
}

/** Why an automatic rollback to known-good `g` was refused, and what a person can do: tables and marker names, never values. */
function blockedWhy(c: LayoutCrossing | null, g: string, refusal?: string): string {
  const decide = `decide by hand: peakguard restore ${g} --across-schema-change`
  if (!c) return `${refusal ?? 'the restore would cross a database migration'} — ${decide}`
  const parts: string[] = []
  if (c.schema.length) parts.push(`the database schema changed since known-good ${g} (${c.schema.map(schemaChangeText).join('; ')})`)
  if (c.markers.length) parts.push(`migration markers differ from known-good ${g} (${c.markers.map((m) => visible(m.name)).join(', ')})`)
  if (parts.length)
    return `${parts.join(', and ')}; restoring the old code over ${c.schema.length ? 'the new tables' : 'data a newer version migrated'} could lose orders — ${decide}`
  // recorded before peakguard kept schemas: nothing says the tables are the ones its code expects
  return `known-good ${g} was recorded before peakguard kept the database schema, so whether the schema changed since cannot be told; restoring its code blind could lose orders — decide by hand: 'peakguard diff ${g} live' shows the change, 'peakguard restore ${g}' restores it`
}
