// The fleet's one journal, written by every node in turn. Each node keeps a full copy; a write (a snapshot, a
// restore, a mark, an audit entry) takes the fleet's journal lock in the site's database, brings the copy up to
// what the other nodes pushed to the S3 replica, writes, pushes at once and says so in the fleet table. So the
// history stays one line, whichever node recorded what, and any node (or `recover --from-s3`) can read all of it.
//
// If a push fails (S3 unreachable), the fleet table says this node holds a snapshot the replica lacks: the
// other nodes wait (their changes stay pending, `status` says why) until it is pushed — the history never
// forks. A node that died holding one is passed over once its heartbeat is older than `nodeTimeoutMs`; its
// snapshot is then not in the fleet's history, and the node says so (naming it) when it comes back.
import { sameRefs, shortId, type FleetPort, type LogPort } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { pushOnce, type ReplicaSite } from './replicator.ts'
import { pullFromRemote, unpushed } from './replica-sync.ts'

export interface SharedJournalSettings {
  /** how long a write waits for the journal lock */
  lockWaitMs: number
  /** a node silent this long is down: a snapshot it never pushed no longer holds up the others */
  nodeTimeoutMs: number
}

export class SharedJournal {
  private readonly fleet: FleetPort
  private readonly replica: ReplicaSite
  /** where it says what it did: the daemon's log (a CLI command's writer says warnings on stderr) */
  log: LogPort
  private readonly cfg: SharedJournalSettings
  /** the first write of this process always looks at the replica (it may hold what the table does not say) */
  private looked = false
  /** called after this node's copy moved to what another node pushed (the daemon compares its files again) */
  onPulled: ((head: string | null) => void) | null = null

  constructor(fleet: FleetPort, replica: ReplicaSite, log: LogPort, cfg: SharedJournalSettings) {
    this.fleet = fleet
    this.replica = replica
    this.log = log
    this.cfg = cfg
  }

  /** pushes still running after their write returned (`pushAfter`), with the journal lock held */
  private pushing = new Set<Promise<unknown>>()

  /**
   * Runs `fn` (which writes the journal) as the fleet's one writer: caught up before, pushed after. With
   * `pushAfter`, the result comes back as soon as `fn` is done and the push goes on meanwhile, still holding
   * the journal lock (and this process's queue for it): no node — nor another task here — writes or pulls
   * before it is pushed, so nothing changes for them but the wait. A fleet restore's leader uses it: its caches
   * are flushed and the op reported done while the restore's snapshot goes up to S3.
   */
  write<T>(fn: () => Promise<T>, opts: { pushAfter?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let answered = false
      this.fleet
        .withJournal(this.cfg.lockWaitMs, async (nested) => {
          if (nested) return fn()
          await this.catchUp()
          const result = await this.run(fn)
          if (!opts.pushAfter) {
            await this.publish()
            return result
          }
          // said before the answer: should this process die before its push, the other nodes wait for it (a
          // restarted node pushes it first) as for a failed push, rather than go on without the restore
          await this.announcePending().catch(() => undefined)
          answered = true
          resolve(result)
          // only the push is waited for when the process closes (idle), not the write before it
          const pushed = this.publish()
          this.pushing.add(pushed)
          await pushed.finally(() => this.pushing.delete(pushed))
          return result
        })
        .then(
          (r) => void (answered || resolve(r)),
          (e: unknown) => {
            if (!answered) return reject(e)
            // publish never rejects; the lock's release may: the write itself is done and pushed
            this.log.warn({}, `the fleet's journal lock could not be given back after a push: ${(e as Error).message}`)
          },
        )
    })
  }

  /**
   * `fn`, holding the lock; should it fail after committing something (a restore's safety snapshot, then a node
   * not ready), what it committed is pushed all the same: the lock is not given back over a write the replica lacks.
   */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    const before = await this.replica.journal.refs()
    try {
      return await fn()
    } catch (e) {
      // only what fn itself committed: a push that failed (the replicator's, through guard) is not tried again here
      const after = await this.replica.journal.refs().catch(() => before)
      if (!sameRefs(before, after)) await this.publish()
      throw e
    }
  }

  /** Waits for the pushes still running after their write returned (before the process closes the fleet). */
  async idle(): Promise<void> {
    while (this.pushing.size) await Promise.all([...this.pushing])
  }

  /** For the replicator: its pushes (a mark, the audit log, a retry) hold the journal lock too. */
  guard<T>(fn: () => Promise<T>): Promise<T> {
    return this.write(fn)
  }

  /**
   * What the other nodes pushed, taken into this copy without the fleet's journal lock: a follower staging a
   * restore to a state it lacks, while the leader holds the lock through its own part. A pull only adds what
   * the replica holds (the host's replica lock keeps it apart from this host's own pushes); with a write of
   * this node's own not on the replica yet it refuses (BUSY), since only a writer holding the lock may push it.
   */
  async fetch(): Promise<void> {
    const st = await this.replica.local.readReplica()
    // nothing was announced beyond what this copy has: nothing to take (and no S3 request for it)
    const mark = await this.fleet.journal()
    if (!mark || mark.seq <= (st.pushed?.seq ?? -1)) return
    if (await unpushed(this.replica, st))
      throw new PeakguardError('BUSY', "this node holds a write of its own that is not on the S3 replica yet: it takes the fleet's journal only after pushing it, at its next write")
    const before = await this.replica.journal.head()
    const pulled = await pullFromRemote(this.replica)
    if (pulled.moved) this.log.info({ head: pulled.head, seq: pulled.seq, bundles: pulled.bundles, bytes: pulled.bytes }, 'journal brought up to the fleet (S3 replica)')
    if (pulled.moved && pulled.head !== before) this.onPulled?.(pulled.head)
  }

  /** Brings this node's copy up to the replica when another node pushed since; true when it moved. */
  async follow(): Promise<boolean> {
    const mark = await this.fleet.journal()
    const st = await this.replica.local.readReplica()
    if (this.looked && (!mark || mark.seq <= (st.pushed?.seq ?? -1))) return false
    return this.fleet.withJournal(this.cfg.lockWaitMs, async () => this.catchUp())
  }

  /** Holding the lock: this node's copy becomes the replica's newest (pushing its own unpushed write first). */
  private async catchUp(): Promise<boolean> {
    const mark = await this.fleet.journal()
    if (mark?.pending && mark.node !== this.fleet.node) {
      const holder = (await this.fleet.nodes()).find((n) => n.node === mark.node)
      if (holder && holder.ageSeconds * 1000 < this.cfg.nodeTimeoutMs)
        throw new PeakguardError(
          'BUSY',
          `node ${mark.node} recorded a snapshot that is not on the S3 replica yet (its push failed): the fleet's journal waits for it so the history does not fork; it is retried, and this change is recorded once it is there`,
        )
      this.log.warn({ node: mark.node }, `node ${mark.node} holds a snapshot it never pushed and has been silent for more than ${Math.round(this.cfg.nodeTimeoutMs / 1000)} s: the fleet goes on without it`)
    }
    const st = await this.replica.local.readReplica()
    const refs = await this.replica.journal.refs()
    const ahead = st.prepared !== null || !sameRefs(st.pushed?.refs ?? {}, refs)
    // another node pushed since this copy's last push (a pending mark of this node's own says nothing of the sort)
    const others = !!mark && mark.seq > (st.pushed?.seq ?? -1) && !(mark.pending && mark.node === this.fleet.node)
    if (ahead && !others) {
      // this node's own write never reached the replica: push it now, before anything else
      await this.publish(true)
    } else if (ahead && others) {
      // the fleet went on without this node's unpushed writes (it was down, or wrote before it joined): they stay
      // in this copy's objects (a snapshot is named here; audit entries are kept aside beside the log by the
      // refresh), and the copy follows the fleet
      const head = await this.replica.journal.head()
      if (head)
        this.log.error(
          { head },
          `this node's snapshot ${shortId(head)} never reached the S3 replica and the fleet's journal went on without it: it is left out of the history (its objects stay in this node's journal: git -C <dataDir>/journal show ${head})`,
        )
      else this.log.warn({}, "this node wrote audit entries before it joined the fleet's journal: they are kept aside beside the audit log (.unreplicated files), the fleet's chain goes on")
      if (st.pushed) await this.replica.local.writeReplica({ ...st, prepared: null, pushed: { ...st.pushed, refs } })
      else if (!mark || mark.pending || mark.seq < 1) {
        // nothing on the replica to follow: this copy's writes are pushed, not dropped
        await this.publish(true)
      } else {
        // never pushed: nothing of this copy is the fleet's yet; it takes the fleet's journal whole
        await this.replica.local.writeReplica({ ...st, prepared: null })
        await this.replica.journal.setRefs({})
      }
    }
    const before = await this.replica.journal.head()
    const pulled = await pullFromRemote(this.replica)
    this.looked = true
    if (pulled.moved) {
      this.log.info({ head: pulled.head, seq: pulled.seq, bundles: pulled.bundles, bytes: pulled.bytes }, 'journal brought up to the fleet (S3 replica)')
      if (pulled.head !== before) this.onPulled?.(pulled.head)
    }
    return pulled.moved
  }

  /** Says in the fleet table that this node holds a write the replica does not have yet. */
  private async announcePending(): Promise<void> {
    const mark = await this.fleet.journal().catch(() => null)
    await this.fleet.announce({ seq: mark?.seq ?? 0, head: await this.replica.journal.head(), pending: true })
  }

  /** Pushes this node's writes and says where the journal stands; a failed push is announced as pending. */
  private async publish(strict = false): Promise<void> {
    try {
      // a journal lock lost meanwhile (its connection cut) may be another node's now: pushing would fork the chain
      if (!(await this.fleet.holdsJournal()))
        throw new PeakguardError('BUSY', "this node lost the fleet's journal lock while writing (its database connection was cut): its write stays on this host and is pushed at the next write")
      await pushOnce(this.replica)
      const st = await this.replica.local.readReplica()
      await this.fleet.announce({ seq: st.pushed?.seq ?? 0, head: st.pushed?.head ?? null, pending: false })
    } catch (e) {
      await this.announcePending().catch(() => undefined)
      if (strict) throw e
      // the write itself is done on this host: it goes out with the replicator's next attempt
      this.log.warn({ code: (e as PeakguardError).code }, `the fleet's journal could not be pushed to S3 (${(e as Error).message}): the other nodes wait for it; retrying`)
    }
  }
}
