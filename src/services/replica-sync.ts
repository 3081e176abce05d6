// The pull side of a fleet's shared journal: several nodes write one journal in turn, each pushing to the
// same S3 replica. Before a node writes, it takes what the others pushed since its own last push or pull —
// the newer bundles of the replica's chain, then its refs — so its next push continues that chain instead
// of hiding it. A pull never drops anything of this node's: with a snapshot of its own that the replica
// does not have yet, it refuses; and a manifest that does not continue what this node pushed is refused.
import { parseKey, sameRefs, shortId, type Manifest, type RemoteBundle, type ReplicaState } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { newestManifest } from './replica-recovery.ts'
import type { ReplicaSite } from './replicator.ts'

export interface PullResult {
  /** false: the replica had nothing this node lacks; nothing changed */
  moved: boolean
  /** the manifest now continued from (null: the replica holds none) */
  seq: number | null
  head: string | null
  /** bundles downloaded and imported */
  bundles: number
  /** their plain bytes */
  bytes: number
}

/** How long a pull waits for a push of the same site on this host (the daemon's, or a CLI's) to finish. */
const LOCK_WAIT_MS = 60_000

/**
 * The newest manifest was written by this node's own push whose confirmation never reached replica.json
 * (the manifest landed, then the process died or the answer was lost): nothing to pull, the push resumes.
 */
function ownPrepared(st: ReplicaState, m: Manifest): boolean {
  const p = st.prepared?.manifest
  return !!p && p.seq === m.seq && sameRefs(p.refs, m.refs) && p.chain.at(-1)?.sha256 === m.chain.at(-1)?.sha256
}

/**
 * Whether the replica holds a push newer than this node's last push or pull, by its keys alone (one list
 * of manifests/, nothing downloaded): the seq of the newest such manifest, else null. A node that never
 * pushed nor pulled: with an empty journal everything on the replica is new to it; with snapshots of its
 * own the push's own check decides (a first push must continue the replica's history).
 */
export async function remoteMovedOn(r: ReplicaSite, st: ReplicaState): Promise<number | null> {
  if (!st.pushed && (await unpushed(r, st))) return null
  const newest = (await r.store.list('manifests/'))
    .map((o) => parseKey(o.key))
    .filter((k) => k?.kind === 'manifest')
    .reduce((n, k) => Math.max(n, k!.seq), -1)
  if (newest < 0 || newest <= (st.pushed?.seq ?? -1)) return null
  if (st.prepared && st.prepared.manifest.seq === newest) return null // ours, its confirmation lost
  return newest
}

/** Whether this node holds something the replica does not: a prepared push, or refs moved since the last push. */
export async function unpushed(r: ReplicaSite, st: ReplicaState): Promise<boolean> {
  return st.prepared !== null || !sameRefs(st.pushed?.refs ?? {}, await r.journal.refs())
}

/**
 * The bundles of `m`'s chain this journal lacks: those pushed after `pushed`, when the chain still starts
 * from what this node has; the whole chain when it does not (it was compacted into a fresh full bundle
 * since, or this node never pushed nor pulled). Importing objects the journal has already is harmless.
 */
function missingBundles(m: Manifest, pushed: Manifest | null): RemoteBundle[] {
  if (!pushed) return m.chain
  const known = new Set(pushed.chain.map((b) => b.key))
  const older = m.chain.filter((b) => b.seq <= pushed.seq)
  if (older.length === 0 || !older.every((b) => known.has(b.key))) return m.chain
  return m.chain.filter((b) => b.seq > pushed.seq)
}

/**
 * Takes into this node's journal what other nodes pushed to the replica since this node's last push or
 * pull: the newer bundles, then the newest manifest's refs (snapshots, marks, the audit log's ref), and the
 * audit folder refreshed from that ref. Afterwards replica.json names that manifest, so this node's next
 * push continues its chain. Throws BUSY when this node has a snapshot (or mark) of its own that is not on
 * the replica yet and the replica moved on: it must be pushed first, or the two would diverge.
 */
export async function pullFromRemote(r: ReplicaSite): Promise<PullResult> {
  const release = await r.local.lockReplica(LOCK_WAIT_MS)
  try {
    const st = await r.local.readReplica()
    const newest = await newestManifest(r.store, r.id)
    const m = newest?.manifest
    if (!newest || !m || m.seq <= (st.pushed?.seq ?? 0) || ownPrepared(st, m)) return { moved: false, seq: st.pushed?.seq ?? null, head: st.pushed?.head ?? null, bundles: 0, bytes: 0 }
    const where = `${r.store.location}${newest.key}`
    const local = await r.journal.refs()
    // the journal holds the manifest's refs already: a pull cut short after it set them (or this node took
    // the same snapshots another way) only has replica.json and the audit folder left to bring up to date
    const resumed = st.prepared === null && sameRefs(local, m.refs)
    if (!resumed && (st.prepared !== null || !sameRefs(st.pushed?.refs ?? {}, local)))
      throw new PeakguardError(
        'BUSY',
        `this node's own snapshot of site ${r.id} is not on the replica yet (${st.prepared ? 'a push was prepared and not confirmed' : 'its journal moved since its last push'}), and ${where} (seq ${m.seq}) was pushed since: push this node's snapshot first, then pull`,
      )
    // a manifest that names refs/heads/main one way and its head another cannot be trusted for either
    if ((m.refs['refs/heads/main'] ?? null) !== m.head)
      throw new PeakguardError('REPLICA_INVALID', `${where} cannot be used: its head ${shortId(m.head) ?? 'none'} is not its refs/heads/main ${shortId(m.refs['refs/heads/main']) ?? 'none'}`)

    const bundles = resumed ? [] : missingBundles(m, st.pushed)
    let bytes = 0
    if (bundles.length) {
      const scratch = await r.local.scratch()
      try {
        for (const b of bundles) {
          const file = `${scratch.path}/${b.seq}.bundle`
          await r.store.getFile(b.key, file)
          await r.journal.importBundle(file, b.sha256).catch((e: unknown) => {
            if (e instanceof PeakguardError && e.code === 'REPLICA_INVALID') throw e
            throw new PeakguardError('REPLICA_INVALID', `${r.store.location}${b.key} (named by ${newest.key}) cannot be imported: ${(e as Error).message}`, { cause: e })
          })
          bytes += b.size
        }
      } finally {
        await scratch.remove()
      }
    }

    // what this node pushed (or pulled) before must still be in the history it is asked to take: a manifest
    // that leaves it out (planted, or pushed over an outdated chain) would drop snapshots from this journal
    const mine = st.pushed?.head ?? null
    if (mine && (!m.head || !(await r.journal.isAncestor(mine, m.head))))
      throw new PeakguardError(
        'REPLICA_INVALID',
        `${where} does not continue this node's history (its newest snapshot ${shortId(m.head) ?? 'none'} does not descend from ${shortId(mine)}, which this node pushed or pulled as seq ${st.pushed!.seq}): refusing to pull it; nothing was changed here`,
      )

    try {
      await r.journal.setRefs(m.refs).catch((e: unknown) => {
        throw new PeakguardError('REPLICA_INVALID', `${where} cannot be used: its refs name objects its bundles do not hold (${(e as Error).message})`, { cause: e })
      })
      const head = await r.journal.head()
      if (head !== m.head) throw new PeakguardError('REPLICA_INVALID', `after pulling ${where} the journal's newest snapshot is ${shortId(head) ?? 'none'}, the manifest says ${shortId(m.head) ?? 'none'}`)
      // the audit log's segments as the ref now holds them, before replica.json says the pull is done: the
      // next push stores the folder onto that ref, and must find it a continuation
      await r.extras?.refresh?.()
    } catch (e) {
      // the journal as it was: replica.json still names this node's last push, which must match its refs
      if (!resumed) await r.journal.setRefs(local).catch(() => undefined)
      throw e
    }
    await r.local.writeReplica({ pushed: m, prepared: null, pendingSince: null, lastError: null })
    return { moved: true, seq: m.seq, head: m.head, bundles: bundles.length, bytes }
  } finally {
    await release()
  }
}
