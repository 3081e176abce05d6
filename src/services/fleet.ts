// One node's part in a fleet: every heartbeat it takes (or keeps, or loses) the settings leadership, writes its
// row in the fleet table, brings its copy of the journal up to what the other nodes pushed, and compares its
// files with the fleet's desired state (drift). `status` is what `peakguard status`, the UI, /metrics and
// /healthz show of the fleet.
import { driftPaths, driftingUnits, shortId, stateOf, type Drift, type FleetNode, type FleetPort, type FleetRole, type JournalMark, type LogPort, type MetricsPort, type NodeReport } from '../core/index.ts'
import { part, type FleetRestorer } from './fleet-restore.ts'
import type { NodeView } from './node-view.ts'
import type { SharedJournal } from './shared-journal.ts'
import type { SiteRecording } from './site-daemon.ts'
import type { Site } from './site.ts'

export interface FleetSettings {
  heartbeatMs: number
  nodeTimeoutMs: number
  /** this node's ui.listen, shown to people */
  listen: string
}

export interface FleetStatus {
  node: string
  role: FleetRole
  /** the node holding the settings leadership, as the fleet table says (null: none alive) */
  leader: string | null
  /** since when this node has its role (ISO) */
  since: string
  nodes: (FleetNode & { up: boolean })[]
  /** this node's files against the fleet's desired state; null: the same (see `compared`) */
  drift: Drift | null
  compared: boolean
  journal: JournalMark | null
  /** the fleet's database cannot be reached: this node cannot take part (and answers 503) */
  dbError: string | null
  /** this node's copy of the journal has lacked the fleet's newest state for longer than nodeTimeout (it answers 503) */
  behind: { since: string; head: string } | null
}

/** How often a node looks at the fleet restores under way (when its heartbeat is slower). */
const OPS_POLL_MS = 100

/** How many differing paths a drift names (the count says how many there are). */
const DRIFT_PATHS = 20

export class FleetMember {
  private readonly fleet: FleetPort
  private readonly shared: SharedJournal
  private readonly recording: SiteRecording
  private readonly site: Site
  private readonly view: NodeView
  private readonly log: LogPort
  private readonly metrics: MetricsPort | null
  private readonly cfg: FleetSettings
  private role: FleetRole = 'follower'
  private since = new Date().toISOString()
  private readonly startedAt = new Date().toISOString()
  private timer: NodeJS.Timeout | null = null
  private opsTimer: NodeJS.Timeout | null = null
  private ticking = false
  private stopping = false
  private nodes: FleetNode[] = []
  private journal: JournalMark | null = null
  private drift: Drift | null = null
  private compared = false
  /** since when this node's copy of the journal has not had the fleet's newest state */
  private behindSince: number | null = null
  /** the newest state the last comparison was made with */
  private comparedWith: string | null = null
  private dbError: string | null = null
  /** after each heartbeat (the composition root: this node's WordPress events, shared with the others) */
  onBeat: (() => Promise<unknown>) | null = null
  /** this node's part in fleet restores (set by the composition root) */
  restorer: FleetRestorer | null = null
  /** told when this node became (true) or stopped being (false) the settings leader */
  onRole: ((leads: boolean) => void) | null = null

  constructor(d: { fleet: FleetPort; shared: SharedJournal; recording: SiteRecording; site: Site; view: NodeView; log: LogPort; metrics?: MetricsPort }, cfg: FleetSettings) {
    this.fleet = d.fleet
    this.shared = d.shared
    this.recording = d.recording
    this.site = d.site
    this.view = d.view
    this.log = d.log
    this.metrics = d.metrics ?? null
    this.cfg = cfg
    // another node's push brought a new state: this node's files are compared with it
    this.shared.onPulled = () => void this.recording.exclusive(() => this.compare()).catch(() => undefined)
  }

  get node(): string {
    return this.fleet.node
  }

  leads(): boolean {
    return this.role === 'leader'
  }

  /** Joins the fleet: the tables, a first heartbeat (taking the leadership if nobody holds it), the loop. */
  async start(): Promise<void> {
    await this.fleet.ensure()
    // when this node was last heard of, before this start's heartbeat says now
    const row = (await this.fleet.nodes()).find((n) => n.node === this.node)
    // the database's clock, as the ops' times are
    const lastSeen = row ? Date.parse(row.heartbeatAt) : null
    await this.tick()
    await this.catchUpRestores(lastSeen).catch((e: Error) => this.log.error({ site: this.site.id, node: this.node }, `could not take the fleet's restored state: ${e.message}`))
    this.timer = setInterval(() => void this.tick(), this.cfg.heartbeatMs)
    this.timer.unref()
    // a fleet restore waits for every node at each phase: they look at the ops table more often than they beat
    // (one small query every tenth of a second), so a restore across nodes is not a heartbeat or two slower
    if (this.restorer && this.cfg.heartbeatMs > OPS_POLL_MS) {
      const restorer = this.restorer
      this.opsTimer = setInterval(() => {
        if (!this.dbError) this.background('restore', () => this.restoreTick(restorer))
      }, OPS_POLL_MS)
      this.opsTimer.unref()
    }
  }

  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    if (this.opsTimer) clearInterval(this.opsTimer)
    // a restore this node is part of: finished (or, still staging, called off) while it leads, before anything closes
    await this.restorer?.stop()
    // and what the heartbeat began (a follow, a compare, a restore tick), then any part such a tick began late
    await Promise.allSettled([...this.running.values()])
    await this.restorer?.stop()
    // the lock goes with the connection anyway; giving it up now lets another node lead at its next heartbeat
    await this.fleet.resign().catch(() => undefined)
    this.role = 'follower'
    await this.fleet.heartbeat(this.report()).catch(() => undefined)
  }

  private setRole(role: FleetRole): void {
    if (role === this.role) return
    this.role = role
    this.since = new Date().toISOString()
    if (role === 'leader') this.log.info({ site: this.site.id, node: this.node }, 'this node is now the settings leader: polling settings, gating and deciding rollbacks')
    else this.log.warn({ site: this.site.id, node: this.node }, 'this node is no longer the settings leader')
    this.onRole?.(role === 'leader')
  }

  /** One heartbeat: leadership, this node's row, the fleet's rows, the journal. Never rejects. */
  async tick(): Promise<void> {
    if (this.ticking || this.stopping) return
    this.ticking = true
    try {
      const holds = this.role === 'leader' ? (await this.fleet.leading()) || (await this.fleet.tryLead()) : await this.fleet.tryLead()
      this.setRole(holds ? 'leader' : 'follower')
      await this.fleet.heartbeat(this.report())
      this.nodes = await this.fleet.nodes()
      this.journal = await this.fleet.journal()
      // a copy of the journal that stays behind the fleet's (S3 unreachable, a replica it cannot read) compares
      // this node's files with an old state: said, and /healthz says it
      const local = await this.site.journal.head().catch(() => null)
      // (a push still pending on another node names a head nobody can pull yet: not this node's lag)
      const behind = !!this.journal?.head && !this.journal.pending && this.journal.head !== local && this.journal.node !== this.node
      this.behindSince = behind ? (this.behindSince ?? Date.now()) : null
      if (this.dbError) this.log.info({ site: this.site.id, node: this.node }, 'the fleet database is reachable again')
      this.dbError = null
      this.count()
    } catch (e) {
      const message = (e as Error).message
      if (!this.dbError) this.log.error({ site: this.site.id, node: this.node }, `the fleet database cannot be reached: ${message}; this node stops leading and answers 503 until it can`)
      this.dbError = message
      this.setRole('follower')
      this.count()
      this.ticking = false
      return
    }
    this.ticking = false
    // the rest never holds up the heartbeat: a fleet restore may keep the recording's queue for a while
    this.follow()
    const beat = this.onBeat
    if (beat) this.background('beat', beat)
    if (this.restorer) {
      const restorer = this.restorer
      this.background('restore', () => this.restoreTick(restorer))
    }
  }

  /** What other nodes pushed, pulled in the recording's queue (never in the middle of this node's snapshot). */
  private follow(): void {
    this.background('follow', async () => {
      if (!this.recording.settled()) return
      await this.recording.exclusive(() => this.shared.follow())
      // a restore or a snapshot made here changed the newest state outside a recording: compare again
      const head = await this.site.journal.head()
      if (!this.compared || head !== this.comparedWith) await this.recording.exclusive(() => this.compare())
    })
  }

  /** This node's part in the fleet's restores; a restore it took part in done: its snapshot pulled at once. */
  private async restoreTick(restorer: FleetRestorer): Promise<void> {
    await restorer.tick()
    if (restorer.takePull()) this.follow()
  }

  private readonly running = new Map<string, Promise<unknown>>()

  /** Runs `fn` unless the previous one of that name is still running; a failure is logged. */
  private background(name: string, fn: () => Promise<unknown>): void {
    if (this.running.has(name) || this.stopping) return
    const job = fn()
      .catch((e: Error) => this.log.warn({ site: this.site.id, node: this.node }, `fleet ${name}: ${e.message}`))
      .finally(() => this.running.delete(name))
    this.running.set(name, job)
  }

  /**
   * At start: a fleet restore that ran while this node was down (after its last heartbeat) is this node's to
   * catch up with — its files become the fleet's newest state before it reports healthy.
   */
  private async catchUpRestores(lastSeen: number | null): Promise<void> {
    if (!this.restorer || lastSeen === null) return
    // the newest finished restore: one that ran while this node was away, or one it took part in and did not
    // finish (killed while it swapped, or it failed): its files are the fleet's state first
    const missed = (await this.fleet.ops(5)).find((op) => op.phase === 'done')
    if (!missed) return
    const mine = (await this.fleet.opReports(missed.id)).find((r) => r.node === this.node)
    const created = Date.parse(missed.createdAt)
    const away = Number.isFinite(lastSeen) && created > lastSeen
    // a part this node left unfinished counts only for an op of its last run (not an old one at every start)
    const bound = 2 * missed.readyWaitMs + 120_000
    const unfinished = missed.participants.includes(this.node) && Number.isFinite(lastSeen) && created > lastSeen - bound
    if (mine?.status === 'done' || mine?.status === 'reverted' || (!away && !unfinished)) return
    await this.shared.follow()
    const head = await this.site.journal.head()
    if (!head) return
    this.log.warn({ site: this.site.id, node: this.node, op: missed.id, head }, `a fleet restore ran while this node was down: its files become the fleet's state ${shortId(head)} now`)
    const r = await this.restorer.converge(head)
    // an op called off (its leader's part failed) is put back, not done: its revert must not run again here
    const status = r.error ? 'failed' : missed.result?.revertTo ? 'reverted' : 'done'
    await this.fleet.reportOp(missed.id, part(this.node, status, r))
  }

  /**
   * Compares this node's files (its newest reading, per unit) with the fleet's desired state — the newest
   * state of the journal — and names the files that differ. Runs in the recording's queue.
   */
  async compare(): Promise<Drift | null> {
    const base = await this.view.lastReading()
    const head = await this.site.journal.head()
    if (!base || !head) return this.drift
    const desired = await this.site.journal.readState(head)
    const units = driftingUnits(base, desired)
    let drift: Drift | null = null
    if (units.length) {
      const set = new Set(units)
      const scan = await this.site.files.scan(set)
      const paths = driftPaths(stateOf(scan.files, scan.links, []), desired, set)
      // a unit whose digest moved but whose files are the desired ones again (read since): no drift
      if (paths.length) drift = { desired: head, count: paths.length, paths: paths.slice(0, DRIFT_PATHS), units, at: new Date().toISOString() }
    }
    const was = this.drift
    this.drift = drift
    this.compared = true
    this.comparedWith = head
    if (drift && (!was || was.count !== drift.count || was.desired !== drift.desired))
      this.log.warn(
        { site: this.site.id, node: this.node, desired: head, files: drift.count, units: drift.units.slice(0, 10), paths: drift.paths.slice(0, 5) },
        `this node's files differ from the fleet's state ${shortId(head)} in ${drift.count} place(s): ${drift.units.slice(0, 5).join(', ')}${drift.units.length > 5 ? ', …' : ''}`,
      )
    if (!drift && was) this.log.info({ site: this.site.id, node: this.node, desired: head }, `this node's files are the fleet's state ${shortId(head)} again`)
    this.count()
    await this.fleet.heartbeat(this.report()).catch(() => undefined)
    return drift
  }

  /** /metrics: this node's role, drift and database, and how many nodes are up, down and drifting. */
  private count(): void {
    if (!this.metrics?.fleet) return
    const s = this.status()
    const up = s.nodes.filter((n) => n.up)
    this.metrics.fleet(this.site.id, this.node, {
      leader: s.role === 'leader',
      driftFiles: s.drift?.count ?? 0,
      dbConnected: s.dbError === null,
      up: up.length,
      down: s.nodes.length - up.length,
      drifting: up.filter((n) => n.drift).length,
    })
  }

  private report(): NodeReport {
    return {
      role: this.role,
      pid: process.pid,
      startedAt: this.startedAt,
      head: this.drift?.desired ?? this.journal?.head ?? null,
      drift: this.drift,
      compared: this.compared,
      listen: this.cfg.listen,
    }
  }

  status(): FleetStatus {
    const nodes = this.nodes.map((n) => ({ ...n, up: n.ageSeconds * 1000 < this.cfg.nodeTimeoutMs }))
    const leader = nodes.find((n) => n.up && n.role === 'leader')?.node ?? null
    return {
      node: this.node,
      role: this.role,
      leader: this.role === 'leader' ? this.node : leader,
      since: this.since,
      nodes,
      drift: this.drift,
      compared: this.compared,
      journal: this.journal,
      dbError: this.dbError,
      behind:
        this.behindSince !== null && Date.now() - this.behindSince > this.cfg.nodeTimeoutMs && this.journal?.head
          ? { since: new Date(this.behindSince).toISOString(), head: this.journal.head }
          : null,
    }
  }
}
