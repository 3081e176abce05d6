// FleetPort in memory: the fleet's tables as one shared object (MemoryFleetTable, the "database") and one port
// per node on it (MemoryFleet). It keeps the rules MysqlFleet keeps where services rely on them: one leader lock
// (a node that holds it is told so again), one journal lock, re-entrant within one chain of calls and BUSY after
// the wait naming the holder; an op moves from one phase to the next only from the phase asked (the first of two
// nodes wins) and a null result keeps the earlier one; rows go through JSON as they do through the database, so
// no node ever shares an object with another. Ages are by this process's clock, or pinned by a test (a node gone
// silent); `faults` lets a test make a call fail as with the database down.
import { AsyncLocalStorage } from 'node:async_hooks'
import type { FleetNode, FleetOp, FleetOpResult, FleetPort, JournalMark, NodeReport, OpNodeReport, OpPhase, SharedEvent } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

interface NodeRow {
  report: NodeReport
  at: number
}

interface OpRow {
  op: Omit<FleetOp, 'phase' | 'result' | 'ageSeconds'>
  phase: OpPhase
  result: FleetOpResult | null
  seq: number
}

/** The fleet's tables and locks, shared by every node's MemoryFleet (one database server). */
export class MemoryFleetTable {
  readonly rows = new Map<string, NodeRow>()
  /** a test's pin of a node's heartbeat age (seconds), whatever its heartbeats say; delete to unpin */
  readonly ages = new Map<string, number>()
  mark: JournalMark | null = null
  readonly events: (SharedEvent & { at: number })[] = []
  readonly ops = new Map<string, OpRow>()
  readonly reports = new Map<string, Map<string, OpNodeReport>>()
  leader: string | null = null
  journalHolder: string | null = null
  private readonly waiters: (() => void)[] = []
  private opSeq = 0
  private eventId = 0
  /** every call made, `node method`, in order (for a test that checks what a service asked) */
  readonly calls: string[] = []
  /** a test's fault: a call for which it returns an error fails with it (the database down) */
  faults: ((node: string, method: string) => Error | null) | null = null
  /** called after an op is created (a test making a node go silent mid-restore, say) */
  onCreateOp: ((op: FleetOp) => void) | null = null

  port(node: string): MemoryFleet {
    return new MemoryFleet(this, node)
  }

  /** A node's heartbeat age now, in seconds. */
  ageOf(node: string): number {
    const pinned = this.ages.get(node)
    if (pinned !== undefined) return pinned
    const row = this.rows.get(node)
    return row ? Math.max(0, (Date.now() - row.at) / 1000) : Infinity
  }

  nextOpSeq(): number {
    return ++this.opSeq
  }

  nextEventId(): number {
    return ++this.eventId
  }

  /** Takes the journal lock for `node`, waiting up to `waitMs`; false when another still holds it then. */
  async lockJournal(node: string, waitMs: number): Promise<boolean> {
    const until = Date.now() + waitMs
    while (this.journalHolder !== null) {
      const left = until - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          const i = this.waiters.indexOf(wake)
          if (i >= 0) this.waiters.splice(i, 1)
          resolve()
        }, left)
        const wake = () => {
          clearTimeout(timer)
          resolve()
        }
        this.waiters.push(wake)
      })
    }
    this.journalHolder = node
    return true
  }

  unlockJournal(): void {
    this.journalHolder = null
    this.waiters.shift()?.()
  }
}

export class MemoryFleet implements FleetPort {
  readonly node: string
  private readonly t: MemoryFleetTable
  private readonly hold = new AsyncLocalStorage<{ active: boolean }>()

  constructor(table: MemoryFleetTable, node: string) {
    this.t = table
    this.node = node
  }

  private call(method: string): void {
    this.t.calls.push(`${this.node} ${method}`)
    const e = this.t.faults?.(this.node, method)
    if (e) throw e
  }

  async ensure(): Promise<void> {
    this.call('ensure')
  }

  async tryLead(): Promise<boolean> {
    this.call('tryLead')
    if (this.t.leader === null) this.t.leader = this.node
    return this.t.leader === this.node
  }

  async leading(): Promise<boolean> {
    this.call('leading')
    return this.t.leader === this.node
  }

  async resign(): Promise<void> {
    this.call('resign')
    if (this.t.leader === this.node) this.t.leader = null
  }

  async heartbeat(report: NodeReport): Promise<void> {
    this.call('heartbeat')
    this.t.rows.set(this.node, { report: clone(report), at: Date.now() })
  }

  async nodes(): Promise<FleetNode[]> {
    this.call('nodes')
    const out = [...this.t.rows].map(([node, r]) => ({ ...clone(r.report), node, heartbeatAt: new Date(r.at).toISOString(), ageSeconds: this.t.ageOf(node) }))
    return out.sort((a, b) => a.ageSeconds - b.ageSeconds || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
  }

  async forget(node: string): Promise<boolean> {
    this.call('forget')
    return this.t.rows.delete(node)
  }

  async withJournal<T>(waitMs: number, fn: (nested: boolean) => Promise<T>): Promise<T> {
    this.call('withJournal')
    if (this.hold.getStore()?.active) return fn(true)
    if (!(await this.t.lockJournal(this.node, waitMs)))
      throw new PeakguardError('BUSY', `the fleet journal is being written by node ${this.t.journalHolder ?? 'another node'} (waited ${Math.ceil(waitMs / 1000)}s): try again when it is done`)
    const hold = { active: true }
    try {
      return await this.hold.run(hold, () => fn(false))
    } finally {
      hold.active = false
      this.t.unlockJournal()
    }
  }

  async holdsJournal(): Promise<boolean> {
    this.call('holdsJournal')
    return this.hold.getStore()?.active === true
  }

  async journal(): Promise<JournalMark | null> {
    this.call('journal')
    return this.t.mark ? clone(this.t.mark) : null
  }

  async announce(mark: Omit<JournalMark, 'at' | 'node'>): Promise<void> {
    this.call('announce')
    this.t.mark = { ...clone(mark), node: this.node, at: new Date().toISOString() }
  }

  async shareEvents(lines: string[]): Promise<void> {
    this.call('shareEvents')
    for (const line of lines) this.t.events.push({ id: this.t.nextEventId(), node: this.node, line, at: Date.now() })
  }

  async sharedEvents(afterId: number, limit: number): Promise<SharedEvent[]> {
    this.call('sharedEvents')
    return this.t.events.filter((e) => e.id > afterId && e.node !== this.node).slice(0, limit).map(({ id, node, line }) => ({ id, node, line }))
  }

  async lastEventId(): Promise<number> {
    this.call('lastEventId')
    return this.t.events.at(-1)?.id ?? 0
  }

  async createOp(op: Omit<FleetOp, 'createdAt' | 'ageSeconds' | 'result' | 'phase'>): Promise<boolean> {
    this.call('createOp')
    if (this.t.ops.has(op.id)) throw new PeakguardError('INTERNAL', `a fleet restore ${op.id} exists already`)
    // as MysqlFleet: not made while another one is under way (younger than its bound)
    const bound = 2 * op.readyWaitMs + 120_000
    if ([...this.t.ops.values()].some((r) => (r.phase === 'staging' || r.phase === 'swapping') && Date.now() - Date.parse(r.op.createdAt) < bound)) return false
    this.t.ops.set(op.id, { op: { ...clone(op), createdAt: new Date().toISOString() }, phase: 'staging', result: null, seq: this.t.nextOpSeq() })
    this.t.onCreateOp?.(this.opOf(this.t.ops.get(op.id) as OpRow))
    return true
  }

  private opOf(r: OpRow): FleetOp {
    return clone({ ...r.op, ageSeconds: Math.max(0, (Date.now() - Date.parse(r.op.createdAt)) / 1000), phase: r.phase, result: r.result })
  }

  async ops(limit: number): Promise<FleetOp[]> {
    this.call('ops')
    return [...this.t.ops.values()].sort((a, b) => b.seq - a.seq).slice(0, limit).map((r) => this.opOf(r))
  }

  async op(id: string): Promise<FleetOp | null> {
    this.call('op')
    const r = this.t.ops.get(id)
    return r ? this.opOf(r) : null
  }

  async setOpPhase(id: string, from: OpPhase, to: OpPhase, result: FleetOpResult | null): Promise<boolean> {
    this.call('setOpPhase')
    const r = this.t.ops.get(id)
    if (!r || r.phase !== from) return false
    r.phase = to
    if (result !== null) r.result = clone(result)
    return true
  }

  async reportOp(id: string, report: OpNodeReport): Promise<void> {
    this.call('reportOp')
    const m = this.t.reports.get(id) ?? new Map<string, OpNodeReport>()
    m.set(report.node, clone(report))
    this.t.reports.set(id, m)
  }

  async opReports(id: string): Promise<OpNodeReport[]> {
    this.call('opReports')
    return [...(this.t.reports.get(id) ?? new Map<string, OpNodeReport>()).values()].sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0)).map(clone)
  }

  async close(): Promise<void> {
    this.call('close')
  }
}
