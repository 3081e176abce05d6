// Reading the replica back: the newest manifest, a journal rebuilt from its bundle chain (recover onto a
// new host, and the trial rebuild behind `verify --read-data` and `prune`), the remote checks, and
// pruning superseded objects. Nothing here writes to the remote except `prune`, and prune deletes only
// what a verified newer full bundle supersedes.
import { checkManifest, parseKey, planPrune, sameRefs, shortId, type BundlePort, type JournalPort, type Manifest, type ObjectStorePort, type PrunePlan, type RemoteObject } from '../core/index.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { PeakguardError } from '../errors.ts'
import type { ReplicaSite } from './replicator.ts'

/**
 * The newest manifest on the remote (or the one named by `key`), checked; null when the remote holds
 * none. A newest manifest that cannot be used (damaged, or planted by whoever held the host's
 * credentials) is an error that names the one before it, for `recover --manifest`.
 */
export async function newestManifest(store: ObjectStorePort, site: string, key?: string): Promise<{ key: string; manifest: Manifest; objects: RemoteObject[] } | null> {
  const objects = await store.list('')
  const manifests = objects.filter((o) => parseKey(o.key)?.kind === 'manifest')
  const i = key ? manifests.findIndex((o) => o.key === key) : manifests.length - 1
  if (key && i < 0) throw new PeakguardError('USAGE', `no manifest ${key} at ${store.location} (its manifests: ${manifests.slice(-3).map((o) => o.key).join(', ') || 'none'}${manifests.length > 3 ? ', …' : ''})`)
  const chosen = manifests[i]
  if (!chosen) return null
  const before = manifests[i - 1]?.key
  const hint = before ? `; the one before it is ${before} (peakguard recover --from-s3 --manifest ${before})` : ''
  let manifest: unknown
  try {
    manifest = JSON.parse(new TextDecoder().decode(await store.getBytes(chosen.key)))
  } catch (e) {
    // S3 unreachable, a wrong or missing key: the same for every manifest, so no hint
    if (e instanceof PeakguardError && (e.code === 'S3_FAILED' || /wrong replica key|is encrypted: configure/.test(e.message))) throw e
    throw new PeakguardError('REPLICA_INVALID', `${store.location}${chosen.key} cannot be used: ${e instanceof SyntaxError ? 'not JSON' : (e as Error).message}${hint}`, { cause: e })
  }
  const problem = checkManifest(manifest, site)
  if (problem) throw new PeakguardError('REPLICA_INVALID', `${store.location}${chosen.key} cannot be used: ${problem}${hint}`)
  return { key: chosen.key, manifest: manifest as Manifest, objects }
}

export interface RebuildReport {
  bundles: number
  bytes: number
  commits: number
  head: string | null
  marks: number
}

/**
 * Downloads the manifest's bundle chain into `journal` (an empty one), sets its refs, and checks it:
 * every object present and sound (git fsck), the newest state readable.
 */
export async function rebuild(journal: JournalPort & BundlePort, store: ObjectStorePort, manifest: Manifest, scratch: string): Promise<RebuildReport> {
  let bytes = 0
  for (const b of manifest.chain) {
    const file = `${scratch}/${b.seq}.bundle`
    await store.getFile(b.key, file)
    await journal.importBundle(file, b.sha256)
    bytes += b.size
  }
  await journal.setRefs(manifest.refs)
  const problems = await journal.check()
  if (problems.length) throw new PeakguardError('REPLICA_INVALID', `the journal rebuilt from ${store.location} is not sound: ${problems.slice(0, 5).join('; ')}`)
  const head = await journal.head()
  if (head !== manifest.head) throw new PeakguardError('REPLICA_INVALID', `the rebuilt journal's newest snapshot is ${head}, the manifest says ${manifest.head}`)
  if (head) await journal.readState(head)
  return { bundles: manifest.chain.length, bytes, commits: (await journal.log()).length, head, marks: (await journal.marks()).length }
}

export interface RecoverReport extends RebuildReport {
  location: string
  manifest: string
  seq: number
  pushedAt: string
}

/**
 * Rebuilds a site's journal on a new host from the replica alone. `r.journal` must be empty; afterwards
 * replica.json says the remote has everything, so the daemon on this host continues the chain.
 */
export async function recoverFromRemote(r: ReplicaSite, manifestKey?: string): Promise<RecoverReport> {
  if (await r.journal.head()) throw new PeakguardError('USAGE', `the journal of site ${r.id} is not empty: recover only rebuilds into an empty data directory`)
  const newest = await newestManifest(r.store, r.id, manifestKey)
  if (!newest) throw new PeakguardError('REPLICA_INVALID', `${r.store.location} holds no manifest: nothing was ever replicated for site ${r.id} there (check bucket, prefix and site id)`)
  const scratch = await r.local.scratch()
  try {
    const report = await rebuild(r.journal, r.store, newest.manifest, scratch.path).catch((e: Error) => {
      const before = newest.objects.filter((o) => parseKey(o.key)?.kind === 'manifest' && o.key < newest.key).at(-1)?.key
      if (!before || !(e instanceof PeakguardError) || e.code !== 'REPLICA_INVALID') throw e
      throw new PeakguardError('REPLICA_INVALID', `${e.message}; the manifest before ${newest.key} is ${before} (peakguard recover --from-s3 --manifest ${before})`, { cause: e })
    })
    await r.local.writeReplica({ pushed: newest.manifest, prepared: null, pendingSince: null, lastError: null })
    checkpoint('recover:replica-state')
    return { ...report, location: r.store.location, manifest: newest.key, seq: newest.manifest.seq, pushedAt: newest.manifest.time }
  } finally {
    await scratch.remove()
  }
}

export interface VerifyReport {
  local: { problems: string[]; snapshots: number; pending: boolean; lastError: string | null }
  remote: {
    location: string
    manifest: string | null
    seq: number | null
    pushedAt: string | null
    objects: number
    bytes: number
    /** snapshots on this host that the remote does not have yet */
    behind: number
    problems: string[]
    /** set with --read-data: the chain was downloaded, decrypted and rebuilt into a scratch journal */
    readData: { bundles: number; bytes: number; commits: number } | null
  } | null
  ok: boolean
}

/** Local journal integrity; with `remote`, that every object the newest manifest needs is there; with `readData`, that it decrypts and rebuilds into exactly the local history. */
export async function verifyReplica(journal: JournalPort, r: ReplicaSite | null, remote: boolean, readData: boolean): Promise<VerifyReport> {
  const problems = await journal.check()
  const history = await journal.log()
  const st = r ? await r.local.readReplica() : null
  const pending = st && r ? st.prepared !== null || !sameRefs(st.pushed?.refs ?? {}, await r.journal.refs()) : false
  const report: VerifyReport = { local: { problems, snapshots: history.length, pending, lastError: st?.lastError?.message ?? null }, remote: null, ok: problems.length === 0 }
  if (!r || !remote) return report
  const rp: NonNullable<VerifyReport['remote']> = { location: r.store.location, manifest: null, seq: null, pushedAt: null, objects: 0, bytes: 0, behind: 0, problems: [], readData: null }
  report.remote = rp
  const newest = await newestManifest(r.store, r.id)
  if (!newest) {
    rp.problems.push(history.length ? `no manifest at ${r.store.location}: nothing has been replicated yet` : `no manifest at ${r.store.location} (the journal is empty too)`)
    report.ok = false
    return report
  }
  const m = newest.manifest
  Object.assign(rp, { manifest: newest.key, seq: m.seq, pushedAt: m.time, objects: newest.objects.length, bytes: newest.objects.reduce((n, o) => n + o.size, 0) })
  const byKey = new Map(newest.objects.map((o) => [o.key, o]))
  if (m.encrypted !== r.store.encrypted) rp.problems.push(m.encrypted ? 'the remote is encrypted but no key is configured here' : 'the remote is not encrypted but a key is configured here')
  for (const b of m.chain) {
    const o = byKey.get(b.key)
    if (!o) rp.problems.push(`${b.key} is missing (manifest ${newest.key} needs it)`)
    else if (m.encrypted === r.store.encrypted && o.size !== r.store.storedSize(b.size)) rp.problems.push(`${b.key} is ${o.size} bytes, expected ${r.store.storedSize(b.size)}`)
  }
  // the remote's history must be this host's history (or a prefix of it)
  const pos = m.head ? history.findIndex((c) => c.id === m.head) : history.length
  if (pos < 0) rp.problems.push(`the remote's newest snapshot ${m.head} is not in this journal: the remote belongs to another history`)
  else rp.behind = pos
  if (readData && rp.problems.length === 0) {
    const scratch = await r.local.scratch()
    try {
      const trial = await r.openJournal(`${scratch.path}/journal`)
      const rebuilt = await rebuild(trial, r.store, m, scratch.path)
      const theirs = (await trial.log()).map((c) => c.id)
      const ours = history.slice(pos).map((c) => c.id)
      if (theirs.join() !== ours.join()) rp.problems.push(`the rebuilt history (${theirs.length} snapshots) differs from this journal's (${ours.length} up to ${shortId(m.head)})`)
      const localRefs = await r.journal.refs()
      const missing = Object.entries(m.refs).filter(([name, id]) => name.startsWith('refs/tags/') && localRefs[name] !== undefined && localRefs[name] !== id)
      if (missing.length) rp.problems.push(`marks differ from this journal's: ${missing.map(([n]) => n).join(', ')}`)
      rp.readData = { bundles: rebuilt.bundles, bytes: rebuilt.bytes, commits: rebuilt.commits }
    } catch (e) {
      rp.problems.push((e as Error).message)
    } finally {
      await scratch.remove()
    }
  }
  report.ok = report.ok && rp.problems.length === 0
  return report
}

export interface PruneReport extends PrunePlan {
  location: string
  removedBytes: number
  dryRun: boolean
}

/**
 * What `prune` would delete: superseded objects older than `keepMs`. The newest manifest's chain is first
 * rebuilt in a scratch journal (downloaded, decrypted, fsck'd): only a verified newer full bundle
 * supersedes anything. Deletes nothing; `applyPrune` deletes exactly this plan.
 */
export async function planReplicaPrune(r: ReplicaSite, keepMs: number): Promise<PruneReport> {
  const newest = await newestManifest(r.store, r.id)
  if (newest) {
    const scratch = await r.local.scratch()
    try {
      await rebuild(await r.openJournal(`${scratch.path}/journal`), r.store, newest.manifest, scratch.path)
    } catch (e) {
      throw new PeakguardError('REPLICA_INVALID', `prune deletes nothing: the newest manifest ${newest.key} did not verify: ${(e as Error).message}`, { cause: e })
    } finally {
      await scratch.remove()
    }
  }
  const plan = planPrune(newest?.objects ?? (await r.store.list('')), newest?.manifest ?? null, newest?.key ?? null, Date.now(), keepMs)
  return { ...plan, location: r.store.location, removedBytes: plan.remove.reduce((n, o) => n + o.size, 0), dryRun: true }
}

/** Deletes what a plan lists (the only place peakguard deletes anything on S3). */
export async function applyPrune(r: ReplicaSite, plan: PruneReport): Promise<PruneReport> {
  if (plan.remove.length) await r.store.remove(plan.remove.map((o) => o.key))
  return { ...plan, dryRun: false }
}
