// The off-host replica's rules, as plain values: the object layout (keys), the manifest, which refs a push
// carries, when to compact, how long to wait before a retry, and which objects `prune` may delete.
// Normal operation only ever creates objects: every push writes a new bundle (when there are new git
// objects) and a new manifest, each under a key never used before, so put-only credentials and S3
// Object Lock work. snapshots/README.md documents the layout.

export const REPLICA_FORMAT = 1

/** One git bundle on the remote: a full one (no prerequisites) or an increment on the ones before it. */
export interface RemoteBundle {
  key: string
  seq: number
  full: boolean
  /** SHA-256 of the bundle's plain bytes */
  sha256: string
  size: number
}

/**
 * A manifest says what the journal looked like after one push: every ref (snapshots, known-good marks,
 * and whatever else the journal keeps as refs) and the bundles that, applied in order, hold every object
 * those refs reach. The newest manifest is enough to rebuild the journal.
 */
export interface Manifest {
  format: typeof REPLICA_FORMAT
  site: string
  seq: number
  time: string
  head: string | null
  refs: Record<string, string>
  /** from the newest full bundle on: apply in this order */
  chain: RemoteBundle[]
  encrypted: boolean
}

const SEQ_DIGITS = 10

function pad(seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0')
}

/** Keys are relative to the site's remote folder (`<prefix>/<site>/`); sorted, they are in push order. */
export function manifestKey(seq: number, contentId: string): string {
  return `manifests/${pad(seq)}-${contentId}.json`
}

export function bundleKey(seq: number, contentId: string, full: boolean): string {
  return `bundles/${pad(seq)}-${contentId}.${full ? 'full' : 'incr'}.bundle`
}

export interface ParsedKey {
  kind: 'manifest' | 'bundle'
  seq: number
  full: boolean
}

/** What a key in the site's folder is, or null for a key peakguard did not write. */
export function parseKey(key: string): ParsedKey | null {
  const m = /^manifests\/(\d{10})-[0-9a-f]{8,64}\.json$/.exec(key)
  if (m) return { kind: 'manifest', seq: Number(m[1]), full: false }
  const b = /^bundles\/(\d{10})-[0-9a-f]{8,64}\.(full|incr)\.bundle$/.exec(key)
  if (b) return { kind: 'bundle', seq: Number(b[1]), full: b[2] === 'full' }
  return null
}

export function sameRefs(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a)
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k])
}

/** Refs that are new or point elsewhere since the last push: the tips an incremental bundle must carry. */
export function movedRefs(pushed: Record<string, string>, now: Record<string, string>): string[] {
  return Object.keys(now)
    .filter((r) => pushed[r] !== now[r])
    .sort()
}

/**
 * A fresh full bundle replaces the chain once the increments together weigh twice as much as the full
 * bundle they build on (a recovery then downloads at most about three times the journal), or the chain is
 * very long. Compaction stores the whole history again until `prune` removes the old chain, so it should
 * be rare: at 2×, a shop with a plugin update a day compacts about once a year.
 */
export function shouldCompact(chain: readonly RemoteBundle[], maxChain: number): boolean {
  if (chain.length === 0 || !chain[0]!.full) return true
  if (chain.length >= maxChain) return true
  const increments = chain.slice(1).reduce((n, b) => n + b.size, 0)
  return increments >= 2 * chain[0]!.size
}

/** Exponential backoff with full jitter: a random wait in [min, min·2^attempt], capped at max. */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number, random: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30))
  return Math.round(minMs + (ceiling - minMs) * random)
}

/** Checks a manifest read from the remote before anything trusts it. */
export function checkManifest(m: unknown, site: string): string | null {
  const x = m as Partial<Manifest> | null
  if (!x || typeof x !== 'object') return 'not a JSON object'
  if (x.format !== REPLICA_FORMAT) return `format ${String(x.format)}, this peakguard reads format ${REPLICA_FORMAT}`
  if (x.site !== site) return `it belongs to site ${String(x.site)}, not ${site}`
  if (!Number.isInteger(x.seq) || typeof x.refs !== 'object' || !x.refs || !Array.isArray(x.chain)) return 'fields are missing'
  for (const [name, id] of Object.entries(x.refs))
    if (!/^refs\/[A-Za-z0-9/_.-]+$/.test(name) || name.includes('..') || !/^[0-9a-f]{40}$/.test(String(id))) return `bad ref ${name}`
  if (x.chain.length && !x.chain[0]!.full) return 'its bundle chain does not start with a full bundle'
  for (const b of x.chain) if (!parseKey(b.key) || parseKey(b.key)!.kind !== 'bundle' || !/^[0-9a-f]{64}$/.test(b.sha256)) return `bad bundle entry ${b.key}`
  return null
}

export interface RemoteObject {
  key: string
  size: number
  lastModified: string
}

export interface PrunePlan {
  /** the manifest whose chain every kept state relies on */
  anchor: string | null
  remove: RemoteObject[]
  keep: RemoteObject[]
  /** why nothing or less could be removed */
  notes: string[]
}

/**
 * What `prune` may delete. `newest` is the newest manifest, already verified (its chain downloaded,
 * decrypted and checked). Removable: objects older than `keepMs` that are superseded by the newest
 * manifest's full bundle — manifests and bundles from before it, and never-referenced leftovers of
 * failed uploads. The full bundle carries every ref, so every snapshot and every known-good mark the
 * older objects held is in it: pruning never loses a state.
 */
export function planPrune(objects: readonly RemoteObject[], newest: Manifest | null, newestKey: string | null, now: number, keepMs: number): PrunePlan {
  const keep: RemoteObject[] = []
  const remove: RemoteObject[] = []
  const notes: string[] = []
  if (!newest || !newestKey) return { anchor: null, remove, keep: [...objects], notes: ['no manifest on the remote: nothing is superseded'] }
  const base = newest.chain[0]
  const needed = new Set([newestKey, ...newest.chain.map((b) => b.key)])
  // only what came before the full bundle the newest chain starts from is superseded by it
  const supersededBelow = base ? base.seq : newest.seq
  // an object's age by the store's own clock: counted back from the newest write it recorded, so a host clock
  // that runs ahead (or is set wrong) can never make a young object look old, nor one behind hide an old one;
  // `now` only when the store shows no time at all. Since the last push is usually recent, this can only
  // understate an age: it keeps more, never less
  const times = objects.map((o) => Date.parse(o.lastModified)).filter((t) => !Number.isNaN(t))
  const ref = times.length ? Math.max(...times) : now
  let young = 0
  for (const o of objects) {
    const k = parseKey(o.key)
    const superseded = k !== null && !needed.has(o.key) && k.seq < supersededBelow
    if (!superseded) keep.push(o)
    else if (!(ref - Date.parse(o.lastModified) >= keepMs)) {
      young++
      keep.push(o)
    } else remove.push(o)
  }
  if (young) notes.push(`${young} superseded object(s) are younger than the retention period and were kept`)
  if (base && base.seq === 1 && remove.length === 0 && young === 0) notes.push('the chain has not been compacted yet: nothing is superseded')
  return { anchor: newestKey, remove, keep, notes }
}
