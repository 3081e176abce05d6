// A restore of a fleet: one rollback, every node. Any node may ask (its CLI, its UI, the leader's automatic
// rollback or freeze gate); the settings leader runs it in two phases through the op table in the database:
//   staging:  every follower that is up (the participants) brings the target into its journal copy, works out
//             the units it would write, reads every blob it needs and checks it can write there; says staged (or
//             failed, and why). Meanwhile the leader begins its own restore: its locks, the migration rule, its
//             safety snapshot and its plan. Nothing is written.
//   swapping: once all have staged, the leader turns the op to swapping and, while every follower writes its
//             files (files only, a file at a time, each atomically), writes its own files and the settings, once,
//             and records the fleet's restored state. Each node re-reads what it wrote, flushes its PHP caches and
//             says so.
// A participant that failed, or did not stage within `readyWait`, or the leader's own part failing before the
// swap, aborts the op: nothing is written on any node, and the error names the node. A node that was down
// converges when it comes back (FleetMember).
import { inUnits, replaceUnits, shortId, stateOf, unitDigests, unitOf, type FleetOp, type FleetOpResult, type FleetPort, type FleetRestoreRequest, type LogPort, type OpNodeReport, type OnlyFilter, type SiteState, type StateDiff } from '../core/index.ts'
import { ERRORS, PeakguardError, type ErrorCode } from '../errors.ts'
import { readLiveFiles } from './live.ts'
import { applyPlan, planRestore, type RestoreOptions, type RestoreReport } from './restorer.ts'
import type { Site } from './site.ts'

export interface FleetRestoreSettings {
  /** how long the leader waits for every participant to stage, then for every one to swap */
  readyWaitMs: number
  /** a node whose heartbeat is older is down: not asked to take part */
  nodeTimeoutMs: number
  /** how often the op table is looked at while waiting */
  pollMs: number
  /** the nodes share one wp-content (fleet.sharedFiles): the leader writes the files for all */
  sharedFiles?: boolean
  /**
   * a restore asked here answers once this node's copy of the journal has the restore's snapshot: the daemon,
   * whose UI pages show it next. A CLI command answers as soon as every node is done: its node's daemon takes
   * the snapshot right after the leader's push (takePull), and a command naming a state this copy lacks yet
   * takes it from S3 first (catalog.ts resolveState).
   */
  takeSnapshot?: boolean
}

/** The fleet's part of a RestoreReport: the op and what each node did. */
export interface FleetRestoreReport {
  op: string
  nodes: OpNodeReport[]
}

/** What the restore would write to this node's files alone (the settings are the leader's to write). */
export async function planFiles(site: Site, target: SiteState, only: OnlyFilter | null = null, units: ReadonlySet<string> | null = null): Promise<{ plan: StateDiff; goal: SiteState }> {
  const goal: SiteState = { files: target.files, links: target.links, options: new Map(), ...(target.dirs ? { dirs: target.dirs } : {}) }
  // with `units`, only these are read from disk: every other path is taken to be the goal's already
  const live = units ? replaceUnits(goal, await site.files.scan(units), units, []) : await readLiveFiles(site)
  // a partial restore (--only) selects paths; its settings selectors are the leader's
  return { plan: await planRestore(site, live, goal, only ? { paths: only.paths, options: [] } : null), goal }
}

function count(plan: StateDiff): number {
  return plan.files.length + plan.links.length
}

/** The units (theme/plugin directories, drop-ins) a plan touches. */
function unitsOf(plan: StateDiff): Set<string> {
  const out = new Set<string>()
  for (const p of [...plan.files.map((f) => f.path), ...plan.links.map((l) => l.path)]) {
    const u = unitOf(p)
    if (u !== null) out.add(u)
  }
  return out
}

const emptyPlan = (): StateDiff => ({ files: [], options: [], links: [], dirs: [] })

/** A node's report on an op, now: nothing written, checked or flushed unless `more` says so. */
export function part(node: string, status: OpNodeReport['status'], more: Partial<Pick<OpNodeReport, 'files' | 'verified' | 'caches' | 'error'>> = {}): OpNodeReport {
  return { node, status, at: new Date().toISOString(), files: more.files ?? 0, verified: more.verified ?? null, caches: more.caches ?? null, error: more.error ?? null }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class FleetRestorer {
  private readonly fleet: FleetPort
  private readonly site: Site
  private readonly log: LogPort
  private readonly cfg: FleetRestoreSettings
  /** whether this process is the settings leader (a CLI command never is) */
  private readonly leads: () => boolean
  /** the restore as one node does it (writer.ts's restore, told not to go through the fleet) */
  private readonly restoreHere: (opts: RestoreOptions) => Promise<RestoreReport>
  private readonly busy = new Set<string>()
  /**
   * What this node's staging found for the op under way (one at a time): the units it would write. The swap
   * reads and writes only those — not the whole tree, which would take the leader's CPU on a shared host.
   */
  private staged: { op: string; units: ReadonlySet<string> } | null = null
  /** this node's parts in restores, running: a daemon that stops waits for them (stop) */
  private readonly inflight = new Set<Promise<unknown>>()
  private stopping = false
  /** a restore this node took part in is done and its snapshot is not in this copy yet */
  private pullWanted = false

  constructor(d: { fleet: FleetPort; site: Site; log: LogPort; leads: () => boolean; restoreHere: (opts: RestoreOptions) => Promise<RestoreReport> }, cfg: FleetRestoreSettings) {
    this.fleet = d.fleet
    this.site = d.site
    this.log = d.log
    this.leads = d.leads
    this.restoreHere = d.restoreHere
    this.cfg = cfg
  }

  /** The fleet restore as writer.restore runs it on a node of a fleet. */
  async restore(opts: RestoreOptions): Promise<RestoreReport> {
    if (this.stopping) throw new PeakguardError('FLEET_NOT_READY', "this node's daemon is stopping: ask for the restore on another node, or once it is back; nothing was written")
    // a state of this node's copy of the journal (its history, cached): the nodes read the state itself as they stage
    if (!(await this.hasState(opts.target)))
      throw new PeakguardError('STATE_NOT_FOUND', `no state ${shortId(opts.target)} in this node's copy of the site's journal: 'peakguard list' shows them`)
    const nodes = await this.fleet.nodes()
    const up = nodes.filter((n) => n.ageSeconds * 1000 < this.cfg.nodeTimeoutMs)
    const leader = up.find((n) => n.role === 'leader')
    if (!leader && !this.leads())
      throw new PeakguardError('FLEET_NOT_READY', `no node of the fleet leads now (none with a heartbeat in the last ${Math.round(this.cfg.nodeTimeoutMs / 1000)} s): a fleet restore needs the daemon running on at least one node; nothing was written`)
    const participants = [...new Set([...up.map((n) => n.node), ...(this.leads() ? [this.fleet.node] : [])])].sort()
    const request: FleetRestoreRequest = {
      target: opts.target,
      ...(opts.only ? { only: opts.only } : {}),
      ...(opts.trigger ? { trigger: opts.trigger } : {}),
      ...(opts.actor ? { actor: opts.actor } : {}),
      ...(opts.reason ? { reason: opts.reason } : {}),
      ...(opts.request ? { request: opts.request } : {}),
      ...(opts.audit ? { audit: opts.audit } : {}),
      ...(opts.acrossSchemaChange ? { acrossSchemaChange: true } : {}),
      ...(opts.restoreMarkers ? { restoreMarkers: true } : {}),
    }
    const running = (await this.fleet.ops(5)).find((o) => (o.phase === 'staging' || o.phase === 'swapping') && (!this.stale(o) || this.busy.has(o.id)))
    if (running)
      throw new PeakguardError('BUSY', `another fleet restore (to ${shortId(running.request.target)}, asked on node ${running.node}) is under way: wait until it is done, then try again`)
    const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`
    if (!(await this.fleet.createOp({ id, node: this.fleet.node, participants, request, readyWaitMs: this.cfg.readyWaitMs })))
      throw new PeakguardError('BUSY', 'another fleet restore was asked on another node at the same moment and is under way: wait until it is done, then try again')
    this.log.info({ site: this.site.id, op: id, target: opts.target, participants }, `fleet restore to ${shortId(opts.target)} begun: ${participants.length} node(s) stage it`)
    // the daemon's queue goes on: this node stages and swaps like the others, from its heartbeat (or here, leading)
    opts.unlocked?.()
    const local = this.leads() ? this.track(this.coordinate(id)).catch((e: unknown) => e) : null
    // (a daemon told to stop: a follower's wait ends at once; the leader's ends with its coordination, which calls the op off)
    const op = await this.waitFor(id, (o) => o.phase === 'done' || o.phase === 'aborted' || (this.stopping && !local), 2 * this.cfg.readyWaitMs + 120_000)
    const coordinated = await local
    if (coordinated instanceof Error && op?.phase !== 'done') throw coordinated
    const reports = await this.fleet.opReports(id)
    if (!op || op.phase !== 'done') throw notReady(op, reports, opts.target)
    if (op.result?.error && !op.result.report) {
      // the nodes that swapped put their files back (their heartbeat does it): waited for, within readyWait
      let now = reports
      for (const until = Date.now() + op.readyWaitMs; now.some((r) => r.status === 'done') && Date.now() < until; now = await this.fleet.opReports(id)) await sleep(this.cfg.pollMs)
      throw leaderFailed(op, now)
    }
    // this node's copy of the journal takes the restore's snapshot (the leader wrote it): its pages show it at once
    const written = op.result?.snapshot
    if (this.cfg.takeSnapshot && written && !(await this.hasState(written).catch(() => false)))
      await this.site.shared?.write(async () => undefined).catch(() => undefined)
    return this.report(op, reports)
  }

  /** The restore's report for whoever asked, from the op the leader finished. */
  private report(op: FleetOp, reports: OpNodeReport[]): RestoreReport {
    const r = op.result ?? {}
    const full = r.report as RestoreReport | undefined
    const base: RestoreReport = full ?? {
      safetySnapshot: r.safetySnapshot ?? null,
      target: op.request.target,
      snapshot: r.snapshot ?? null,
      dryRun: false,
      files: { written: 0, removed: 0 },
      options: { written: 0, removed: 0 },
      verified: r.verified ?? null,
      mismatches: null,
      plan: emptyPlan(),
      recovered: null,
      hooks: [],
      audited: false,
      caches: null,
      purges: [],
      probe: null,
      layout: null,
    }
    const allVerified = reports.every((n) => n.status === 'done' && n.verified !== false) && op.participants.every((p) => reports.some((n) => n.node === p && n.status === 'done'))
    return { ...base, verified: base.verified === false ? false : allVerified, fleet: { op: op.id, nodes: reports } }
  }

  private async waitFor(id: string, done: (op: FleetOp) => boolean, timeoutMs: number, everyMs = this.cfg.pollMs): Promise<FleetOp | null> {
    const until = Date.now() + timeoutMs
    for (;;) {
      const op = await this.fleet.op(id)
      if (!op || done(op) || Date.now() > until) return op
      await sleep(everyMs)
    }
  }

  /** Whether `id` is a state of this node's copy of the journal (its history, cached per head). */
  private async hasState(id: string): Promise<boolean> {
    return (await this.site.journal.resolvePrefix(id)).includes(id)
  }

  /** Runs `p` as one of this node's parts in a restore: `stop` waits for it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p)
    void p.then(
      () => this.inflight.delete(p),
      () => this.inflight.delete(p),
    )
    return p
  }

  /**
   * The daemon stops: no new part is taken; a leader still waiting for the others to stage calls its restore off
   * (nothing written anywhere); a part already writing is finished, then this returns — before the site's
   * connections are closed and before the leadership is given up (another leader would call the op off).
   */
  async stop(): Promise<void> {
    this.stopping = true
    while (this.inflight.size) await Promise.allSettled([...this.inflight])
  }

  /** Whether this node's copy of the journal should take what was pushed now (a restore it took part in is done). */
  takePull(): boolean {
    const wanted = this.pullWanted
    this.pullWanted = false
    return wanted
  }

  /** Every heartbeat, on every node: its part in the ops under way; the leader runs them. */
  async tick(): Promise<void> {
    if (this.stopping) return
    // oldest first: of two ops, the newer one is what the fleet ends with
    for (const op of (await this.fleet.ops(5)).reverse()) {
      if (this.stopping) return
      const snapshot = op.phase === 'done' ? op.result?.snapshot : null
      // (a snapshot that never comes — the leader's push failed — is looked for while the op is young only)
      if (snapshot && op.participants.includes(this.fleet.node) && op.ageSeconds * 1000 < op.readyWaitMs && !(await this.hasState(snapshot).catch(() => true)))
        this.pullWanted = true
      if (op.phase === 'done' && op.result?.revertTo && !this.leads() && op.participants.includes(this.fleet.node) && !this.stale(op)) await this.track(this.revert(op))
      if (op.phase === 'done' || op.phase === 'aborted') continue
      if (this.busy.has(op.id)) continue
      if (this.stale(op)) {
        // an op nobody finished (its leader killed, the leadership moved in the middle): never acted on late
        if (this.leads()) await this.callOff(op)
        continue
      }
      if (this.leads()) {
        if (op.phase === 'swapping' && !this.busy.has(op.id)) await this.callOff(op)
        else void this.track(this.coordinate(op.id)).catch((e: Error) => this.log.error({ site: this.site.id, op: op.id }, `fleet restore failed: ${e.message}`))
      } else if (op.participants.includes(this.fleet.node)) await this.track(this.participate(op))
    }
  }

  /** Whether an op is older than any op can take: staging and swapping each bounded by readyWait, and a margin. */
  private stale(op: FleetOp): boolean {
    // by the database's clock: the nodes' clocks may differ
    return op.ageSeconds * 1000 > 2 * op.readyWaitMs + 120_000
  }

  /**
   * The leader finds an op swapping that it does not run (the leader that ran it stopped): the settings were
   * not written by it, so the nodes that swapped put their files back to the fleet's newest state.
   */
  private async callOff(op: FleetOp): Promise<void> {
    await this.site.shared?.write(async () => undefined).catch(() => undefined)
    const head = await this.site.journal.head().catch(() => null)
    const result: FleetOpResult = { error: `FLEET_NOT_READY: the leader that ran it stopped before it finished`, revertTo: head }
    if (await this.fleet.setOpPhase(op.id, op.phase, op.phase === 'staging' ? 'aborted' : 'done', op.phase === 'staging' ? { notReady: [{ node: op.node, reason: 'the restore was left unfinished' }] } : result))
      this.log.warn({ site: this.site.id, op: op.id, phase: op.phase }, `a fleet restore left unfinished (${op.phase}) is called off${op.phase === 'swapping' ? ": the nodes that swapped put their files back" : ''}`)
  }

  /**
   * The leader: stages here, then runs its own part at once — its lock, its safety snapshot and its plan while
   * the others stage — and, before writing anything, waits for every participant to stage and tells them to
   * swap (or calls the op off: nothing is written on any node). Then the settings, its files and the fleet's
   * restored state, while the others swap.
   */
  private async coordinate(id: string): Promise<void> {
    if (this.busy.has(id)) return
    this.busy.add(id)
    try {
      let op = await this.fleet.op(id)
      if (!op || op.phase !== 'staging' || this.stopping) return
      const me = this.fleet.node
      const deadline = Date.now() + op.readyWaitMs
      if (!(await this.stage(op, true))) {
        // its own report could not be written (the database): called off like any node's failure
        await this.allStaged(op, deadline, () => undefined).catch(() => undefined)
        return
      }
      // once the others swap, a failure of the leader's part is undone on them too; before, nothing was written
      let swapping = false
      let result: FleetOpResult
      try {
        const report = await this.restoreHere({
          ...op.request,
          here: true,
          ready: async () => {
            op = await this.allStaged(op!, deadline, () => void (swapping = true))
          },
        })
        result = { snapshot: report.snapshot, safetySnapshot: report.safetySnapshot, verified: report.verified, report: { ...report, plan: emptyPlan(), mismatches: null } }
        await this.fleet.reportOp(id, part(me, 'done', { files: report.files.written + report.files.removed, verified: report.verified, caches: report.caches ? (report.caches.ok ? 'flushed' : `not flushed: ${report.caches.detail}`) : null }))
      } catch (e) {
        const err = e as PeakguardError
        if (!swapping) {
          // before any node wrote anything: the op is called off (allStaged did it already when a node was not ready)
          const failed: FleetOpResult = { error: `${err.code ?? 'FAILED'}: ${err.message}`, notReady: [{ node: me, reason: err.message }] }
          if (await this.fleet.setOpPhase(id, 'staging', 'aborted', failed))
            this.log.error({ site: this.site.id, op: id }, `fleet restore aborted before anything was written: the leader's part could not begin: ${err.message}`)
          return
        }
        // the leader's own restore undid itself (or left its intent to be finished); the nodes that swapped
        // meanwhile put their files back to the fleet's newest state, so the fleet is one version again
        result = { error: `${err.code ?? 'FAILED'}: ${err.message}`, revertTo: await this.site.journal.head().catch(() => null) }
        await this.fleet.reportOp(id, part(me, 'failed', { error: err.message }))
      }
      // the others' swaps, bounded: a node that died meanwhile converges when it is back
      const until = Date.now() + op.readyWaitMs
      while (Date.now() < until) {
        const reports = await this.fleet.opReports(id)
        if (op.participants.every((p) => reports.some((r) => r.node === p && r.status !== 'staged'))) break
        await sleep(this.cfg.pollMs)
      }
      await this.fleet.setOpPhase(id, 'swapping', 'done', result)
    } finally {
      this.busy.delete(id)
    }
  }

  /**
   * The leader, its own part planned: waits until every participant staged, then turns the op to swapping and
   * returns it. A node that failed, stopped answering or missed `readyWait` calls the op off (nothing was
   * written anywhere) and throws.
   */
  private async allStaged(op: FleetOp, deadline: number, swapping: () => void): Promise<FleetOp> {
    const id = op.id
    for (;;) {
      const reports = await this.fleet.opReports(id)
      // a daemon stopping: the leader lets nobody swap (its settings connection is about to close)
      if (this.stopping) reports.push(part(this.fleet.node, 'failed', { error: 'the leader is stopping (its daemon was told to stop)' }))
      const failed = reports.filter((r) => r.status === 'failed')
      const missing = op.participants.filter((p) => !reports.some((r) => r.node === p))
      // a participant that stopped answering (killed, cut off) will not stage: no need to wait for the deadline
      const silent = missing.length ? (await this.fleet.nodes()).filter((n) => missing.includes(n.node) && n.ageSeconds * 1000 >= this.cfg.nodeTimeoutMs) : []
      if (failed.length || silent.length || (missing.length && Date.now() > deadline)) {
        const why = (node: string) => {
          const n = silent.find((x) => x.node === node)
          return n ? `stopped answering while staging (no heartbeat for ${Math.round(n.ageSeconds)} s)` : `did not stage within fleet.readyWait (${Math.round(op.readyWaitMs / 1000)} s)`
        }
        const result: FleetOpResult = {
          notReady: [...failed.map((r) => ({ node: r.node, reason: r.error ?? 'failed' })), ...missing.map((node) => ({ node, reason: why(node) }))],
        }
        const text = result.notReady!.map((n) => `${n.node}: ${n.reason}`).join('; ')
        if (await this.fleet.setOpPhase(id, 'staging', 'aborted', result)) this.log.error({ site: this.site.id, op: id, notReady: result.notReady }, `fleet restore aborted before anything was written: ${text}`)
        throw new PeakguardError('FLEET_NOT_READY', `not every node staged the restore (${text}): nothing was written`)
      }
      if (!missing.length) break
      await sleep(this.cfg.pollMs)
    }
    if (!(await this.fleet.setOpPhase(id, 'staging', 'swapping', null))) throw new PeakguardError('FLEET_NOT_READY', 'the fleet restore was called off while it was staged: nothing was written')
    // from here the followers write: a failure of the leader's part is undone on them too
    swapping()
    this.log.info({ site: this.site.id, op: id }, 'every node staged the target: swapping')
    return (await this.fleet.op(id)) ?? op
  }

  /** The leader's part failed after this node swapped: its files go back to the fleet's newest state. */
  private async revert(op: FleetOp): Promise<void> {
    if (this.busy.has(op.id)) return
    const mine = (await this.fleet.opReports(op.id)).find((r) => r.node === this.fleet.node)
    if (mine?.status !== 'done' || !op.result?.revertTo) return
    this.busy.add(op.id)
    try {
      await this.site.shared?.write(async () => undefined)
      const r = await this.converge(op.result.revertTo)
      await this.fleet.reportOp(op.id, part(this.fleet.node, r.error ? 'failed' : 'reverted', { ...r, error: r.error ?? "put back: the leader's part of the restore failed" }))
    } finally {
      this.busy.delete(op.id)
    }
  }

  /** A follower's part in an op: stage it, then swap its files when the leader says so. */
  private async participate(op: FleetOp): Promise<void> {
    if (this.busy.has(op.id)) return
    this.busy.add(op.id)
    try {
      let mine = (await this.fleet.opReports(op.id)).find((r) => r.node === this.fleet.node)
      if (op.phase === 'staging' && !mine) {
        if (this.stopping) return
        await this.stage(op, false)
        // staged: the swap follows as soon as every node is ready, so this node watches the op closely meanwhile
        let next = await this.waitFor(op.id, (o) => o.phase !== 'staging' || this.stopping, op.readyWaitMs + 5000)
        if (next?.phase === 'staging' && this.stopping) {
          // its daemon stops: it will not swap, so the leader is told (and calls the op off) rather than left waiting
          await this.fleet.reportOp(op.id, part(this.fleet.node, 'failed', { error: 'this node is stopping (its daemon was told to stop)' }))
          // unless the leader turned the op just before it read that: then this node does its part as asked
          await sleep(4 * this.cfg.pollMs)
          next = await this.fleet.op(op.id)
          if (next?.phase === 'swapping') await this.swap(next)
          return
        }
        mine = (await this.fleet.opReports(op.id)).find((r) => r.node === this.fleet.node)
        if (next?.phase === 'swapping' && mine?.status === 'staged') await this.swap(next)
      } else if (op.phase === 'swapping' && mine?.status === 'staged') await this.swap(op)
    } finally {
      this.busy.delete(op.id)
    }
  }

  /** Whether every path the plan wrote or removed is now as the goal has it, read again from disk (hashed). */
  private async written(plan: StateDiff, goal: SiteState): Promise<boolean> {
    const now = await this.site.files.inspect(plan.files.map((f) => f.path))
    for (const [p, e] of now) {
      const want = goal.files.get(p)
      if (!want ? e !== null : !e || e.blob !== want.blob || e.kind !== want.kind || e.mode !== want.mode || e.uid !== want.uid || e.gid !== want.gid) return false
    }
    if (plan.links.length && !(await this.site.files.linksAre(plan.links.flatMap((l) => (l.to ? [l.to] : []))))) return false
    return true
  }

  /** This node's reading of `units`, read again and kept: a restore's writes are not changes made on this node. */
  private async rememberUnits(units: ReadonlySet<string>): Promise<void> {
    if (!this.site.node || !units.size) return
    const before = await this.site.node.lastReading()
    if (!before) return
    const scan = await this.site.files.scan(units)
    const base = new Map(before)
    for (const u of units) base.delete(u)
    for (const [u, d] of unitDigests(stateOf(scan.files, scan.links, []), units)) base.set(u, d)
    await this.site.node.remember(base)
  }

  /** PHP's caches on this node (opcache, object cache) through its WordPress bridge: 'flushed', why not, or null without a bridge. */
  private async flush(): Promise<string | null> {
    if (!this.site.bridge || !(await this.site.bridge.installed().catch(() => false))) return null
    const r = await this.site.bridge.flushCaches().catch((e: Error) => ({ ok: false, detail: e.message }))
    return r.ok ? 'flushed' : `not flushed: ${r.detail}`
  }

  /** Staging: the target here, this node's plan, every blob read, the paths checked writable. Writes nothing. */
  private async stage(op: FleetOp, leader: boolean): Promise<boolean> {
    try {
      if (leader) {
        // the leader's part is staged by its restore itself (coordinate): the target caught up, the migration
        // rule checked, its safety snapshot taken and its files planned, all before it lets any node swap
        await this.fleet.reportOp(op.id, part(this.fleet.node, 'staged'))
        return true
      }
      // the target is usually in this node's copy already (a state from the history): taken from the replica
      // only if not — without the fleet's journal lock, which the leader holds while it waits for the others
      const target = await this.site.journal.readState(op.request.target).catch(async () => {
        await this.fetch(op)
        return this.site.journal.readState(op.request.target)
      })
      if (this.cfg.sharedFiles) {
        // one shared wp-content: the leader stages and writes it
        await this.fleet.reportOp(op.id, part(this.fleet.node, 'staged'))
        return true
      }
      const files = await this.prepare(op.id, target, op.request.only ?? null)
      await this.fleet.reportOp(op.id, part(this.fleet.node, 'staged', { files }))
      return true
    } catch (e) {
      this.log.error({ site: this.site.id, op: op.id }, `could not stage the fleet restore: ${(e as Error).message}`)
      // the leader's own failure aborts the op like anyone's: the coordination sees it among the reports
      await this.fleet.reportOp(op.id, part(this.fleet.node, 'failed', { error: (e as Error).message })).catch(() => undefined)
      return false
    }
  }

  /**
   * What the others pushed, into this node's copy (SharedJournal.fetch). While a write of this node's own is
   * still on its way to S3 (BUSY) it is tried again, until `readyWait` is over: that write holds the journal
   * lock, so the leader is not waiting on it.
   */
  private async fetch(op: FleetOp): Promise<void> {
    const until = Date.now() + op.readyWaitMs
    for (;;) {
      try {
        return await this.site.shared?.fetch()
      } catch (e) {
        if (!(e instanceof PeakguardError && e.code === 'BUSY') || Date.now() > until || this.stopping) throw e
      }
      await sleep(10 * this.cfg.pollMs)
    }
  }

  /**
   * Staging's work on a follower, without walking its disk (the swap does, under the lock): the units this node
   * would write — where the target differs from the fleet's newest state, and where this node's own files (its
   * last reading) differ from the target — their blobs read from its journal, their paths checked writable.
   * A partial restore (--only) is planned from the disk. Returns how many files it would write or remove.
   */
  private async prepare(op: string, target: SiteState, only: OnlyFilter | null): Promise<number> {
    const head = await this.site.journal.head()
    const base = (await this.site.node?.lastReading()) ?? null
    this.staged = null
    if (only || !head || !base) {
      const { plan } = await planFiles(this.site, target, only)
      await this.site.journal.readBlobs([...new Set(plan.files.flatMap((f) => (f.content && f.to ? [f.to.blob] : [])))], () => undefined)
      return count(plan)
    }
    const newest = await this.site.journal.readState(head)
    const want = unitDigests(target)
    const have = unitDigests(newest)
    const units = new Set<string>()
    for (const u of new Set([...want.keys(), ...have.keys(), ...base.keys()])) if (want.get(u) !== have.get(u) || want.get(u) !== base.get(u)) units.add(u)
    const writes = [...target.files.values()].filter((f) => inUnits(f.path, units))
    const removes = [...newest.files.keys()].filter((p) => inUnits(p, units) && !target.files.has(p))
    await this.site.files.assertWritable([...writes.map((f) => f.path), ...removes], new Map(target.links), new Set(removes))
    const changed = writes.filter((f) => newest.files.get(f.path)?.blob !== f.blob)
    await this.site.journal.readBlobs([...new Set(changed.map((f) => f.blob))], () => undefined)
    this.staged = { op, units }
    return changed.length + removes.length
  }

  /** Swapping: this node's files become the target's (the settings are the leader's), re-read, caches flushed. */
  private async swap(op: FleetOp): Promise<void> {
    const staged = this.staged?.op === op.id ? this.staged : null
    this.staged = null
    const r = await this.converge(op.request.target, op.request.only ?? null, staged?.units ?? null)
    await this.fleet.reportOp(op.id, part(this.fleet.node, r.error ? 'failed' : 'done', r))
  }

  /**
   * Makes this node's files those of `state` (the settings stay as they are): under the site's lock, so no
   * snapshot reads half of it; re-read afterwards; this node's reading kept (the swap is not a change of its own).
   */
  async converge(
    state: string,
    only: OnlyFilter | null = null,
    /** only these units are read from disk and written (a swap: what staging found); null: the whole tree */
    units: ReadonlySet<string> | null = null,
  ): Promise<{ files: number; verified: boolean | null; caches: string | null; error: string | null }> {
    // one shared wp-content: the leader wrote it; this node only flushes its own PHP caches
    if (this.cfg.sharedFiles && !this.leads()) return { files: 0, verified: true, caches: await this.flush(), error: null }
    const release = await this.site.dir.lock(this.site.lockWaitMs)
    let files = 0
    let touched = new Set<string>()
    try {
      const target = await this.site.journal.readState(state)
      const { plan, goal } = await planFiles(this.site, target, only, units)
      files = count(plan)
      touched = unitsOf(plan)
      await applyPlan(this.site, plan, goal)
      const verified = await this.written(plan, goal)
      await this.rememberUnits(touched)
      await release()
      const caches = await this.flush()
      this.log.info({ site: this.site.id, state, files, verified }, `this node's files are now those of ${shortId(state)}`)
      return { files, verified, caches, error: verified ? null : 'the files re-read after writing still differ' }
    } catch (e) {
      // what was written is this node's reading now: it drifts (and says so) rather than recording half a restore as a change of its own
      await this.rememberUnits(touched).catch(() => undefined)
      await release().catch(() => undefined)
      this.log.error({ site: this.site.id, state }, `could not write this node's files: ${(e as Error).message}`)
      return { files, verified: false, caches: null, error: (e as Error).message }
    }
  }
}

/** The leader's part failed after the nodes began to swap: its error, under its own code, and what the others do. */
function leaderFailed(op: FleetOp, reports: OpNodeReport[]): PeakguardError {
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(op.result?.error ?? '')
  const code = m && m[1]! in ERRORS ? (m[1] as ErrorCode) : 'FLEET_NOT_READY'
  const back = reports.filter((r) => r.status === 'reverted').map((r) => r.node)
  const left = reports.filter((r) => r.status === 'done').map((r) => r.node)
  return new PeakguardError(
    code,
    `the fleet restore to ${shortId(op.request.target)} failed on the leader (${m ? m[2] : op.result?.error}): its own files and the settings are as they were` +
      (back.length ? `; node(s) ${back.join(', ')} had written their files and put them back to the fleet's newest state${op.result?.revertTo ? ` ${shortId(op.result.revertTo)}` : ''}` : '') +
      (left.length ? `; node(s) ${left.join(', ')} wrote their files and have NOT put them back yet: they drift (see 'peakguard status') until a restore succeeds` : ''),
  )
}

function notReady(op: FleetOp | null, reports: OpNodeReport[], target: string): PeakguardError {
  if (!op) return new PeakguardError('FLEET_NOT_READY', `the fleet restore to ${shortId(target)} vanished from the fleet table: nothing was written`)
  if (op.phase === 'swapping' || op.phase === 'staging')
    // the leader stopped in the middle (killed, or its database gone): what each node did is all that can be said
    return new PeakguardError(
      'FLEET_NOT_READY',
      `the fleet restore to ${shortId(target)} did not finish (${op.phase === 'staging' ? 'no node led it through staging' : 'the leader stopped while the nodes swapped'}): ${
        reports.map((r) => `node ${r.node}: ${r.status === 'done' ? `files written (${r.verified ? 'verified' : 'NOT verified'})` : r.status === 'staged' ? 'staged, nothing written' : `failed: ${r.error ?? 'unknown'}`}`).join('; ') || 'no node reported'
      }. 'peakguard status' shows each node; restore again to finish it (a node whose files are already the target's writes nothing)`,
    )
  const error = op.result?.error
  if (error && /^SCHEMA_CHANGE: /.test(error)) return new PeakguardError('SCHEMA_CHANGE', error.replace(/^SCHEMA_CHANGE: /, ''))
  // the leader's own part could not begin (its safety snapshot, a path it cannot write): under its own code
  const m = /^([A-Z_]+): ([\s\S]*)$/.exec(error ?? '')
  if (m && m[1]! in ERRORS)
    return new PeakguardError(m[1] as ErrorCode, `the fleet restore to ${shortId(target)} stopped on the leader (node ${op.result?.notReady?.[0]?.node ?? '?'}) before anything was written on any node: ${m[2]}`)
  const list = op.result?.notReady ?? op.participants.filter((p) => !reports.some((r) => r.node === p && r.status === 'staged')).map((node) => ({ node, reason: 'not ready' }))
  const schema = list.find((n) => /crosses a database migration/.test(n.reason))
  if (schema) return new PeakguardError('SCHEMA_CHANGE', schema.reason)
  return new PeakguardError(
    'FLEET_NOT_READY',
    `the fleet restore to ${shortId(target)} was called off before anything was written on any node: ${list.map((n) => `node ${n.node}: ${n.reason}`).join('; ') || error || 'no leader finished it'}`,
  )
}
