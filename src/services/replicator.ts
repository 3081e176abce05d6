// The replicator: carries every snapshot and mark off the host to S3. A push is a git bundle of what is
// new since the last push (or a fresh full bundle when the chain has grown as large as the full bundle
// it builds on) and a manifest listing every ref and the bundle chain — both new objects under keys never
// used before. The push is prepared on disk first (bundle file and keys in replica.json), so a push cut
// short by a crash or a network failure is resumed: what was confirmed stored is kept, the rest goes up
// again under a new key. A key is never written twice, so a request held up in the network that lands
// late (after its retry) can never replace an object a manifest relies on. Pushes take the replicator's own lock, never the snapshot lock: a slow or failing
// upload never holds up or undoes a local snapshot.
import { createHash } from 'node:crypto'
import {
  REPLICA_FORMAT,
  bundleKey,
  manifestKey,
  movedRefs,
  parseKey,
  retryDelayMs,
  sameRefs,
  shouldCompact,
  type BundlePort,
  type JournalPort,
  type LogPort,
  type Manifest,
  type MetricsPort,
  type NotifyPort,
  type ObjectStorePort,
  type RemoteBundle,
  type ReplicaLocalPort,
  type ReplicaState,
} from '../core/index.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { shortId } from '../core/text.ts'
import { PeakguardError } from '../errors.ts'
import { pullFromRemote, remoteMovedOn } from './replica-sync.ts'

/** Everything replication needs for one site, handed over by the composition root. */
export interface ReplicaSite {
  id: string
  journal: JournalPort & BundlePort
  store: ObjectStorePort
  local: ReplicaLocalPort
  /** A journal in a directory of its own (a scratch rebuild for verify and prune). */
  openJournal(dir: string): Promise<JournalPort & BundlePort>
  /** A chain this long is compacted into a fresh full bundle whatever its size. */
  maxChain: number
  /**
   * What else goes off the host inside the journal (the audit log, kept on a ref of its own): `store`
   * commits it before each push; `stamp` changes whenever it does, so the loop notices; `restore` puts it
   * back in place after the journal was rebuilt from the replica.
   */
  extras?: {
    stamp(): string
    store(): Promise<void>
    restore(): Promise<void>
    /** after a pull set the journal's refs: what the journal now holds put back in place (the audit folder) */
    refresh?: () => Promise<void>
  } | null
  /**
   * A fleet's journal lock (several nodes writing one journal in turn): when set, every push the
   * Replicator makes runs inside it, after taking what other nodes pushed since (pullFromRemote), so no
   * node ever pushes on top of an outdated chain. Without it (one host per site) pushes run as they come.
   */
  guard?: <T>(fn: () => Promise<T>) => Promise<T>
}

export interface PushResult {
  /** false: the remote already had every ref */
  pushed: boolean
  seq: number | null
  manifestKey: string | null
  bundle: { key: string; size: number; full: boolean } | null
  /** bytes written (after encryption) */
  bytes: number
  /** PUT requests made */
  puts: number
  /** whether the journal has changed again since (another push is due) */
  more: boolean
}

/** How long a push waits for another push of the same site (the daemon's, or a CLI's) to finish. */
const LOCK_WAIT_MS = 60_000

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

function manifestBytes(m: Manifest): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(m, null, 1))
}

/**
 * One push: finishes a prepared push first (after a crash or a failed attempt), then pushes what changed
 * since. `pendingSince` is kept in replica.json while changes wait, for the lag after a restart.
 */
export async function pushOnce(r: ReplicaSite, pendingSince: string | null = null): Promise<PushResult> {
  const release = await r.local.lockReplica(LOCK_WAIT_MS)
  const result: PushResult = { pushed: false, seq: null, manifestKey: null, bundle: null, bytes: 0, puts: 0, more: false }
  let st = await r.local.readReplica()
  try {
    await r.extras?.store()
    if (st.prepared && !(await bundleIntact(r, st))) {
      // the bundle a prepared push names is gone or not what was prepared (a power cut before it reached
      // the disk): nothing of this push is on the remote yet, so prepare it again from the journal
      st = { ...st, prepared: null }
      await r.local.writeReplica(st)
    }
    if (st.prepared) st = await upload(r, await rekey(r, st), result)
    const refs = await r.journal.refs()
    // a journal without a snapshot has nothing a recovery could use: its audit log goes with the first one
    const snapshots = Object.keys(refs).some((k) => k.startsWith('refs/heads/'))
    if (snapshots && !sameRefs(st.pushed?.refs ?? {}, refs)) {
      st = await prepare(r, st, refs)
      if (st.prepared) st = await upload(r, st, result)
    }
    const now = await r.journal.refs()
    result.more = snapshots && !sameRefs(st.pushed?.refs ?? {}, now)
    st = { ...st, pendingSince: result.more ? (pendingSince ?? st.pendingSince) : null, lastError: null }
    await r.local.writeReplica(st)
    checkpoint('replica:done')
    return result
  } catch (e) {
    // what prepare/rekey/upload last wrote (keys, attempt, what is stored): never an older copy, or the
    // next attempt would reuse this attempt's keys
    const latest = await r.local.readReplica().catch(() => st)
    const attempts = (latest.lastError?.attempts ?? 0) + 1
    await r.local
      .writeReplica({ ...latest, pendingSince: latest.pendingSince ?? pendingSince, lastError: { at: new Date().toISOString(), message: (e as Error).message, attempts } })
      .catch(() => undefined)
    throw e
  } finally {
    await release()
  }
}

/**
 * A push for a node of a fleet, by a caller that holds the fleet's journal lock: when the replica moved on
 * since this node's last push or pull, what the other nodes pushed is pulled first, so the push continues
 * their chain. When this node also has a snapshot of its own that is not on the replica, the two histories
 * diverged (a node wrote without the lock): nothing is pushed — it would hide the other nodes' snapshots —
 * and nothing pulled — it would drop this node's; the error says so, loudly, until someone looks.
 */
export async function pushNow(r: ReplicaSite, pendingSince: string | null = null): Promise<PushResult> {
  const moved = await remoteMovedOn(r, await r.local.readReplica())
  if (moved !== null)
    await pullFromRemote(r).catch((e: unknown) => {
      if (!(e instanceof PeakguardError) || e.code !== 'BUSY') throw e
      throw new PeakguardError(
        'REPLICA_INVALID',
        `the journal of site ${r.id} diverged from ${r.store.location}: this node has a snapshot that is not on the replica, and another node pushed seq ${moved} since this node's last push. Nothing was pushed (it would hide the other node's snapshots) nor pulled (it would drop this node's). Set this node's data directory aside and rebuild its journal with 'peakguard recover --from-s3'; its own snapshots stay in the directory set aside`,
        { cause: e },
      )
    })
  return pushOnce(r, pendingSince)
}

/** Whether the prepared push's bundle (if it still has to go up) is on disk as it was prepared. */
async function bundleIntact(r: ReplicaSite, st: ReplicaState): Promise<boolean> {
  const p = st.prepared!
  const last = p.manifest.chain.at(-1)
  if (!p.bundleFile || p.bundleStored || !last) return true
  const d = await r.journal.bundleDigest(p.bundleFile)
  return d !== null && d.size === last.size && d.sha256 === last.sha256
}

/**
 * Push numbers: one more than the last, and never below the current Unix second, so that a chain started
 * afresh (replica.json lost or restored from an old backup, on a host whose credentials cannot list the
 * bucket) still sorts after everything pushed before it, and its newest manifest is the one recovery reads.
 */
function nextSeq(prev: Manifest | null): number {
  return Math.max((prev?.seq ?? 0) + 1, Math.floor(Date.now() / 1000))
}

/** Writes the bundle file and chooses the keys; nothing is uploaded yet. */
async function prepare(r: ReplicaSite, st: ReplicaState, refs: Record<string, string>): Promise<ReplicaState> {
  const prev = st.pushed
  const remoteSeq = await assertContinues(r, prev, refs)
  const seq = Math.max(nextSeq(prev), remoteSeq + 1)
  // a key added (or removed) since the last push: a fresh full bundle, so one chain is never half sealed
  const full = !prev || prev.encrypted !== r.store.encrypted || shouldCompact(prev.chain, r.maxChain)
  const file = r.local.outgoingFile(seq)
  const include = full ? Object.keys(refs).sort() : movedRefs(prev.refs, refs)
  const exclude = full ? [] : [...new Set(Object.values(prev.refs))]
  const { heads, bundle: b } = await r.journal.createBundle(file, include, exclude)
  if (full && !b) return st // an empty journal: nothing to carry yet
  let chain: RemoteBundle[] = prev?.chain ?? []
  if (b) {
    const bundle: RemoteBundle = { key: bundleKey(seq, r.store.contentId(b.sha256), full), seq, full, sha256: b.sha256, size: b.size }
    chain = full ? [bundle] : [...chain, bundle]
  }
  // the refs carried as createBundle read them (one may have moved, or vanished, since `refs` was read),
  // and the others as they were last pushed: their objects are on the remote
  const carried = new Set(include)
  const finalRefs = full ? heads : { ...Object.fromEntries(Object.entries(refs).filter(([name]) => !carried.has(name))), ...heads }
  const manifest: Manifest = {
    format: REPLICA_FORMAT,
    site: r.id,
    seq,
    time: new Date().toISOString(),
    head: finalRefs['refs/heads/main'] ?? null,
    refs: finalRefs,
    chain,
    encrypted: r.store.encrypted,
  }
  const prepared = { manifest, manifestKey: manifestKey(seq, r.store.contentId(sha256(manifestBytes(manifest)))), bundleFile: b ? file : null, attempt: 1, bundleStored: false }
  const next = { ...st, prepared }
  await r.local.writeReplica(next)
  checkpoint('replica:prepared')
  return next
}

/**
 * A push must continue the replica's history: never an empty or unrelated journal pushed over it (a
 * journal wiped or replaced on a compromised host, or two hosts configured with the same site and
 * prefix), which would make the newest manifest hide everything before it.
 */
async function assertContinues(r: ReplicaSite, prev: Manifest | null, refs: Record<string, string>): Promise<number> {
  const main = refs['refs/heads/main'] ?? null
  if (prev?.head && (!main || !(await r.journal.isAncestor(prev.head, main))))
    throw new PeakguardError(
      'REPLICA_INVALID',
      `this journal does not continue the history on ${r.store.location} (its newest pushed snapshot ${shortId(prev.head)} is ${main ? 'not an ancestor of this journal\'s newest' : 'gone, the journal is empty'}): refusing to push over it. If the journal was replaced, recover it with 'peakguard recover --from-s3' into an empty data directory; to start a new replica, choose another s3.prefix`,
    )
  if (!prev) {
    // a first push from this journal (or replica.json was lost): the remote folder may hold pushes. Ours
    // (their newest snapshot is in this journal's history): a fresh full bundle takes over, numbered after
    // them. Another journal's: refuse to mix two histories.
    const existing = await r.store.list('manifests/').catch((e: PeakguardError) => {
      if (/HTTP 403/.test(e.message)) return [] // put-only credentials cannot list: the push numbers still sort after
      throw e
    })
    const newest = existing.filter((o) => parseKey(o.key)?.kind === 'manifest').at(-1)
    if (!newest) return 0
    let theirs: Manifest
    try {
      theirs = JSON.parse(new TextDecoder().decode(await r.store.getBytes(newest.key))) as Manifest
    } catch (e) {
      if (e instanceof PeakguardError) throw e
      throw new PeakguardError('REPLICA_INVALID', `${r.store.location}${newest.key} is not a manifest: refusing to push beside it`, { cause: e })
    }
    if (theirs.head && (!main || !(await r.journal.isAncestor(theirs.head, main))))
      throw new PeakguardError(
        'REPLICA_INVALID',
        `${r.store.location} already holds ${existing.length} push(es) of another history (its newest snapshot ${shortId(theirs.head)} is not in this journal): refusing to mix two histories. To continue that replica on this host, 'peakguard recover --from-s3' into an empty data directory; to start a new one, choose another s3.prefix`,
      )
    return theirs.seq
  }
  return 0
}

/** A new attempt at a prepared push: new keys for what is not confirmed stored yet. */
async function rekey(r: ReplicaSite, st: ReplicaState): Promise<ReplicaState> {
  const p = st.prepared!
  const attempt = p.attempt + 1
  let manifest = p.manifest
  const last = manifest.chain.at(-1)
  if (p.bundleFile && !p.bundleStored && last) {
    const key = bundleKey(last.seq, r.store.contentId(`${last.sha256}#${attempt}`), last.full)
    manifest = { ...manifest, chain: [...manifest.chain.slice(0, -1), { ...last, key }] }
  }
  const key = manifestKey(manifest.seq, r.store.contentId(`${sha256(manifestBytes(manifest))}#${attempt}`))
  const next: ReplicaState = { ...st, prepared: { ...p, manifest, manifestKey: key, attempt } }
  await r.local.writeReplica(next)
  checkpoint('replica:rekeyed')
  return next
}

/** Uploads a prepared push: the bundle, then the manifest that makes it part of the replica. */
async function upload(r: ReplicaSite, st: ReplicaState, result: PushResult): Promise<ReplicaState> {
  let p = st.prepared!
  const newest = p.manifest.chain.at(-1)
  if (p.bundleFile && newest && !p.bundleStored) {
    const put = await r.store.putFile(newest.key, p.bundleFile)
    checkpoint('replica:upload')
    result.bytes += put.bytes
    result.puts++
    result.bundle = { key: newest.key, size: newest.size, full: newest.full }
    p = { ...p, bundleStored: true }
    st = { ...st, prepared: p }
    await r.local.writeReplica(st)
    checkpoint('replica:bundle-stored')
  }
  const put = await r.store.putBytes(p.manifestKey, manifestBytes(p.manifest))
  checkpoint('replica:manifest')
  result.bytes += put.bytes
  result.puts++
  result.pushed = true
  result.seq = p.manifest.seq
  result.manifestKey = p.manifestKey
  const next: ReplicaState = { ...st, pushed: p.manifest, prepared: null }
  await r.local.writeReplica(next)
  checkpoint('replica:pushed')
  if (p.bundleFile) await r.local.removeFile(p.bundleFile)
  return next
}

export interface ReplicatorSettings {
  /** how often the journal's refs are looked at (a few stat calls) */
  checkMs: number
  lagAlertMs: number
  retryMinMs: number
  retryMaxMs: number
}

export interface ReplicaStatus {
  location: string
  encrypted: boolean
  /** age of the oldest change not on the remote yet; 0 when up to date */
  lagSeconds: number
  pendingSince: string | null
  alert: boolean
  pushing: boolean
  lastPush: { seq: number; at: string; bytes: number; ms: number; lagMs: number } | null
  lastError: { at: string; message: string; attempts: number } | null
  nextRetryAt: string | null
}

/** The daemon's replication loop for one site. */
export class Replicator {
  private readonly r: ReplicaSite
  private readonly log: LogPort
  private readonly metrics: MetricsPort
  private readonly cfg: ReplicatorSettings
  private readonly notifier: NotifyPort | null
  private timer: NodeJS.Timeout | null = null
  private stamp = ''
  private wanted = true
  private busy = false
  private stopping = false
  /** the oldest change seen and not yet in a push under way / in the push under way */
  private dirtySince: number | null = null
  private inflightSince: number | null = null
  private retryAt = 0
  private attempts = 0
  private alerted = false
  private lastPush: ReplicaStatus['lastPush'] = null
  private lastError: ReplicaStatus['lastError'] = null

  constructor(r: ReplicaSite, log: LogPort, metrics: MetricsPort, cfg: ReplicatorSettings, opts: { notify?: NotifyPort } = {}) {
    this.r = r
    this.log = log
    this.metrics = metrics
    this.cfg = cfg
    this.notifier = opts.notify ?? null
  }

  async start(): Promise<void> {
    const st = await this.r.local.readReplica()
    this.lastError = st.lastError
    this.attempts = st.lastError?.attempts ?? 0
    // the lag survives a restart: when the changes waiting were first seen, or the oldest unpushed snapshot
    const refs = await this.r.journal.refs()
    const behind = st.prepared !== null || !sameRefs(st.pushed?.refs ?? {}, refs)
    if (behind) {
      const since = st.pendingSince ?? (await this.r.journal.firstCommitAfter(st.pushed?.head ?? null))
      this.dirtySince = since ? Date.parse(since) : Date.now()
    }
    if (!this.r.store.encrypted) this.log.warn({ site: this.r.id, location: this.r.store.location }, 'the S3 replica is not encrypted: set s3.keyFile (or PEAKGUARD_S3_KEY) to encrypt it on this host')
    this.log.info({ site: this.r.id, location: this.r.store.location, encrypted: this.r.store.encrypted, behind }, 'replication started')
    this.timer = setInterval(() => void this.tick(), this.cfg.checkMs)
    this.timer.unref()
    void this.tick()
  }

  /** A snapshot or mark was just made: look now rather than at the next check. */
  kick(): void {
    if (!this.stopping) setImmediate(() => void this.tick())
  }

  /** Stops the loop; a push under way is left to finish or fail on its own (it resumes at the next start). */
  async stop(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
  }

  private lagMs(now = Date.now()): number {
    const since = Math.min(this.dirtySince ?? Infinity, this.inflightSince ?? Infinity)
    return Number.isFinite(since) ? Math.max(0, now - since) : 0
  }

  private updateLag(): void {
    const lag = this.lagMs()
    const alert = lag > this.cfg.lagAlertMs
    if (alert && !this.alerted) {
      const message = `ALERT: replication lag ${Math.round(lag / 1000)} s is above s3.lagAlert: snapshots are only on this host${this.lastError ? ` (last error: ${this.lastError.message})` : ''}`
      const details = { lagSeconds: Math.round(lag / 1000), lastError: this.lastError?.message ?? null }
      this.log.error({ site: this.r.id, ...details }, message)
      this.notifier?.notify({ event: 'replication-lag', site: this.r.id, summary: message, details })
    }
    if (!alert && this.alerted) {
      this.log.info({ site: this.r.id }, 'replication lag back below s3.lagAlert')
      this.notifier?.notify({ event: 'replication-lag-cleared', site: this.r.id, summary: 'replication lag back below s3.lagAlert: the S3 replica has caught up', details: { lagSeconds: Math.round(lag / 1000) } })
    }
    this.alerted = alert
    this.metrics.replicaLag(this.r.id, lag / 1000, alert)
  }

  private async tick(): Promise<void> {
    if (this.stopping) return
    const now = Date.now()
    const stamp = this.stampNow()
    if (stamp !== this.stamp) {
      // the first look (at start) only learns the stamp: start() worked out what is behind
      if (this.stamp) this.dirtySince ??= now
      this.stamp = stamp
      this.wanted = true
    }
    this.updateLag()
    if (!this.wanted || this.busy || now < this.retryAt) return
    this.busy = true
    this.wanted = false
    // a change seen from here on belongs to the next push
    this.inflightSince = this.dirtySince
    this.dirtySince = null
    const started = performance.now()
    try {
      const res = await this.push(this.inflightSince ? new Date(this.inflightSince).toISOString() : null)
      const ms = Math.round(performance.now() - started)
      if (res.pushed) {
        const lagMs = this.inflightSince ? Date.now() - this.inflightSince : 0
        this.lastPush = { seq: res.seq!, at: new Date().toISOString(), bytes: res.bytes, ms, lagMs }
        this.metrics.replicaPush(this.r.id, true, res.bytes, ms / 1000)
        this.log.info(
          { site: this.r.id, seq: res.seq, manifest: res.manifestKey, bundle: res.bundle?.key ?? null, full: res.bundle?.full ?? false, bytes: res.bytes, puts: res.puts, ms, lagMs },
          this.attempts ? `replicated after ${this.attempts} failed attempt(s)` : 'replicated',
        )
      }
      if (res.more) {
        this.wanted = true
        this.dirtySince ??= Date.now()
      }
      this.attempts = 0
      this.retryAt = 0
      this.lastError = null
      if (res.more) this.kick()
    } catch (e) {
      this.attempts++
      const delay = retryDelayMs(this.attempts, this.cfg.retryMinMs, this.cfg.retryMaxMs, Math.random())
      this.retryAt = Date.now() + delay
      this.wanted = true
      this.dirtySince = Math.min(this.dirtySince ?? Infinity, this.inflightSince ?? Infinity)
      if (!Number.isFinite(this.dirtySince)) this.dirtySince = null
      this.lastError = { at: new Date().toISOString(), message: (e as Error).message, attempts: this.attempts }
      this.metrics.replicaPush(this.r.id, false, 0, 0)
      const level = e instanceof PeakguardError && e.code === 'BUSY' ? 'info' : 'warn'
      this.log[level]({ site: this.r.id, attempt: this.attempts, retryInMs: delay, code: (e as PeakguardError).code }, `replication failed, will retry: ${(e as Error).message}`)
    } finally {
      this.inflightSince = null
      this.busy = false
      this.updateLag()
    }
  }

  /** One push of the loop: inside the fleet's journal lock when the site has one. */
  private push(pendingSince: string | null): Promise<PushResult> {
    const r = this.r
    return r.guard ? r.guard(() => pushNow(r, pendingSince)) : pushOnce(r, pendingSince)
  }

  /**
   * A push at once, outside the loop, by a caller that holds the fleet's journal lock already (it has just
   * committed): the loop's status and metrics see it. A failure is left to the loop to retry, and thrown.
   */
  async pushNow(): Promise<PushResult> {
    const started = performance.now()
    try {
      const res = await pushNow(this.r)
      const ms = Math.round(performance.now() - started)
      if (res.pushed) {
        this.lastPush = { seq: res.seq!, at: new Date().toISOString(), bytes: res.bytes, ms, lagMs: 0 }
        this.metrics.replicaPush(this.r.id, true, res.bytes, ms / 1000)
        this.log.info({ site: this.r.id, seq: res.seq, manifest: res.manifestKey, bundle: res.bundle?.key ?? null, full: res.bundle?.full ?? false, bytes: res.bytes, puts: res.puts, ms }, 'replicated')
      }
      if (!this.busy) {
        this.attempts = 0
        this.retryAt = 0
        this.lastError = null
      }
      if (res.more) this.kick()
      return res
    } catch (e) {
      this.lastError = { at: new Date().toISOString(), message: (e as Error).message, attempts: this.attempts + 1 }
      this.metrics.replicaPush(this.r.id, false, 0, 0)
      this.wanted = true
      this.dirtySince ??= Date.now()
      this.kick()
      throw e
    } finally {
      this.updateLag()
    }
  }

  /** The journal's refs and the extras (the audit log): a change to either is something to push. */
  private stampNow(): string {
    return `${this.r.journal.refsStamp()}\n${this.r.extras?.stamp() ?? ''}`
  }

  status(): ReplicaStatus {
    // a change made since the last look (a restore, a CLI snapshot) is waiting already: say so
    if (this.stamp && this.stampNow() !== this.stamp) {
      this.dirtySince ??= Date.now()
      this.kick()
    }
    const lag = this.lagMs()
    const pending = Math.min(this.dirtySince ?? Infinity, this.inflightSince ?? Infinity)
    return {
      location: this.r.store.location,
      encrypted: this.r.store.encrypted,
      lagSeconds: Math.round(lag / 100) / 10,
      pendingSince: Number.isFinite(pending) ? new Date(pending).toISOString() : null,
      alert: lag > this.cfg.lagAlertMs,
      pushing: this.busy,
      lastPush: this.lastPush,
      lastError: this.lastError,
      nextRetryAt: this.retryAt > Date.now() ? new Date(this.retryAt).toISOString() : null,
    }
  }
}
