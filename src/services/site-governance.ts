// The daemon's governance of one site, beside its recording loop: it names who caused each snapshot
// (WordPress events from the bridge, file owners), audits it, runs the gate while a freeze is on, keeps
// the bridge's state file current (so WordPress enforces the freeze even while the daemon is down) and
// records the state at each freeze's start as its baseline.
import { visible, type AllowWindow, type AuditInput, type BridgePort, type BridgeState, type DocStorePort, type FreezePolicy, type FreezeSpan, type LogPort, type NotifyPort, type StateDiff, type UserNamesPort, type WpEventsPort } from '../core/index.ts'
import { allowCovers } from '../core/freeze.ts'
import { attribute, attributionTrailers, RecentEvents } from './attribution.ts'
import { Gate } from './gate.ts'
import type { SnapshotResult } from './recorder.ts'
import type { Site } from './site.ts'

/** The freeze as the daemon needs it; composed from the freeze service by compose/daemon.ts. */
export interface FreezeSource {
  /** the freeze governing `now`, or null */
  at(now: number): Promise<FreezeSpan | null>
  allows(now: number): Promise<AllowWindow[]>
  bridgeState(now: number): Promise<BridgeState>
  /** records `head` as the baseline of `span` unless one is recorded; true when it recorded one */
  recordBaseline(span: FreezeSpan, head: string | null): Promise<boolean>
}

export interface SiteGovernanceDeps {
  site: Site
  docs: DocStorePort
  audit: { append(input: AuditInput): Promise<unknown> }
  notify: NotifyPort
  log: LogPort
  policy: FreezePolicy
  freeze: FreezeSource
  /** the bridge's event file; null when the bridge is not installed */
  events: WpEventsPort | null
  /** the bridge (state file, cache flush); null when not installed */
  bridge: BridgePort | null
  names: UserNamesPort
  /** every name a peakguard user acts under (users file: their OS users and WordPress logins) */
  identities(): Promise<(user: string) => readonly string[]>
  /** how often the bridge state and baselines are brought up to date */
  tickMs: number
}

export class SiteGovernance {
  readonly gate: Gate
  private readonly d: SiteGovernanceDeps
  private readonly recent: RecentEvents | null
  private timer: NodeJS.Timeout | null = null
  private lastBridgeState = ''
  private lastBridgeWrite = 0
  private lastCausedBy: Record<string, string> = {}
  private ticking = false
  /** the head the gate last looked at without failing (a CLI snapshot or a failed check makes it look again) */
  private gateSaw: string | null = null
  /** whether this daemon runs the gate: on a fleet, only the settings leader (for every node's changes) */
  leads: () => boolean = () => true
  /** runs the gate inside the recording loop's one-at-a-time queue (set by the daemon) */
  exclusive: (<T>(fn: () => Promise<T>) => Promise<T>) | null = null

  constructor(deps: SiteGovernanceDeps) {
    this.d = deps
    this.recent = deps.events ? new RecentEvents(deps.events) : null
    this.gate = new Gate({
      site: deps.site,
      docs: deps.docs,
      audit: deps.audit,
      notify: deps.notify,
      log: deps.log,
      policy: deps.policy,
      freezeAt: (now) => deps.freeze.at(now),
      coverage: async (now) => {
        const allows = await deps.freeze.allows(now)
        return (item) => allowCovers(allows, item, now)
      },
      identities: () => deps.identities(),
    })
  }

  async start(): Promise<void> {
    await this.recent?.refresh().catch((e: Error) => this.d.log.warn({ site: this.d.site.id }, `bridge events unreadable: ${e.message}`))
    await this.tick()
    this.timer = setInterval(() => void this.tick(), this.d.tickMs)
    this.timer.unref()
  }

  /** Reads the bridge's new events now (a fleet's node shares them with the others as it reads). */
  async readEvents(): Promise<void> {
    await this.recent?.refresh()
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }

  /** The trailers of a snapshot about to be written: who caused `diff` (seen since `sinceMs`), and the freeze. */
  async describe(diff: StateDiff, sinceMs: number): Promise<Record<string, string>> {
    await this.recent?.refresh().catch(() => undefined)
    const now = Date.now()
    const events = this.recent?.all() ?? []
    const a = attribute(diff, events, sinceMs, now, this.d.names)
    const freeze = await this.d.freeze.at(now).catch(() => null)
    this.lastCausedBy = attributionTrailers(a)
    // an update WordPress ran without the snapshot before it (the daemon down, too slow, unreachable): said in the
    // journal and the log, so a setup that never works (a wrong ui.listen) does not stay silent
    const missed = events.filter((e) => e.event === 'pre_update_missed' && e.time * 1000 >= sinceMs && e.time * 1000 <= now + 1000).map((e) => visible(e.subject).slice(0, 300))
    if (missed.length) this.d.log.warn({ site: this.d.site.id, missed }, 'WordPress updated without a pre-update snapshot (the bridge says why)')
    return {
      ...this.lastCausedBy,
      ...(freeze ? { 'Peakguard-Freeze': `${freeze.source} until ${new Date(freeze.end).toISOString()}` } : {}),
      ...(missed.length ? { 'Peakguard-Pre-Update-Missed': missed.slice(0, 5).join('; ') } : {}),
    }
  }

  /** After each snapshot of the daemon: audit it, then let the gate look at it. */
  async afterRecord(r: SnapshotResult, trigger: string): Promise<void> {
    if (r.created) {
      const by = this.lastCausedBy
      await this.d.audit
        .append({
          type: 'snapshot',
          actor: by['Peakguard-Caused-By-Who'] ?? by['Peakguard-Caused-By'] ?? 'unknown',
          site: this.d.site.id,
          summary: `${r.words?.length ? r.words.join('; ') : r.summary} — by ${by['Peakguard-Caused-By'] ?? 'unknown'}`,
          details: { state: r.id, trigger, causedBy: by['Peakguard-Caused-By'] ?? null, kind: by['Peakguard-Caused-By-Kind'] ?? null, ip: by['Peakguard-Caused-By-IP'] ?? null, events: by['Peakguard-Events'] ?? null },
        })
        .catch((e: Error) => this.d.log.error({ site: this.d.site.id }, `audit log: ${e.message}`))
      this.lastCausedBy = {}
    }
    await this.runGate()
  }

  /** The gate's check; a failure is logged and the check is tried again at the next tick. */
  private async runGate(): Promise<void> {
    // a follower's snapshots reach the leader through the shared journal: its gate looks at them there
    if (!this.leads()) return
    try {
      const head = await this.d.site.journal.head()
      await this.gate.check()
      this.gateSaw = head
    } catch (e) {
      this.gateSaw = null
      this.d.log.error({ site: this.d.site.id }, `freeze gate failed (tried again in a few seconds): ${(e as Error).message}`)
    }
  }

  /** Keeps the bridge's state file current and records the baseline of a freeze that has begun. */
  async tick(now = Date.now()): Promise<void> {
    if (this.ticking) return
    this.ticking = true
    try {
      // a snapshot from the CLI, or a check that failed: the gate looks (again)
      const head = await this.d.site.journal.head()
      if (this.exclusive && head !== this.gateSaw && this.leads()) await this.exclusive(() => this.runGate())
      const freeze = await this.d.freeze.at(now)
      // the gate may have reverted something just now: the baseline is the state after that
      if (freeze && (await this.d.freeze.recordBaseline(freeze, await this.d.site.journal.head())))
        this.d.log.info({ site: this.d.site.id, freeze: freeze.source }, 'freeze began: baseline recorded')
      if (this.d.bridge && (await this.d.bridge.installed())) {
        const state = await this.d.freeze.bridgeState(now)
        const text = JSON.stringify({ ...state, writtenAt: 0 })
        // rewritten when it changes, and every minute so its age shows the daemon is alive
        if (text !== this.lastBridgeState || now - this.lastBridgeWrite > 60_000) {
          await this.d.bridge.writeState(state)
          this.lastBridgeState = text
          this.lastBridgeWrite = now
        }
      }
    } catch (e) {
      this.d.log.warn({ site: this.d.site.id }, `freeze upkeep failed: ${(e as Error).message}`)
    } finally {
      this.ticking = false
    }
  }
}
