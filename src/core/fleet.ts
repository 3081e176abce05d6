// A fleet: several web nodes of one site (each with its own copy of wp-content) sharing one database and
// one S3 replica. The rules here are plain values: which node leads, what a node's files drift from, and
// how a node's reading joins the fleet's history. The coordination itself runs through the site's MariaDB
// (FleetPort) and the replica; see docs/fleet.md.

import { inUnits, unitOf, type OnlyFilter } from './scope.ts'
import { replaceUnits, type DirEntry, type FileEntry, type LinkedDir, type SiteState } from './state.ts'

/** How a node took part, as it last said in its heartbeat. */
export type FleetRole = 'leader' | 'follower'

/** A node's files compared with the fleet's desired state (the newest recorded one). */
export interface Drift {
  /** the state the node's files were compared with */
  desired: string
  /** how many files (and links) differ */
  count: number
  /** the first few paths that differ, relative to wp-content */
  paths: string[]
  /** the same in words: the units (themes, plugins, drop-ins) that differ */
  units: string[]
  /** when the comparison was made (ISO) */
  at: string
}

/** What a node says about itself every heartbeat. */
export interface NodeReport {
  role: FleetRole
  pid: number
  /** the daemon's start (ISO) */
  startedAt: string
  /** the newest state in this node's copy of the journal */
  head: string | null
  /** null: the node's files are the desired state (or it has not compared yet: see `compared`) */
  drift: Drift | null
  /** whether the node has compared its files with the desired state since it started */
  compared: boolean
  /** the node's UI address (ui.listen), for people */
  listen: string
}

/** A node as the fleet table holds it. */
export interface FleetNode extends NodeReport {
  node: string
  /** the last heartbeat (ISO, the database server's clock) */
  heartbeatAt: string
  /** seconds since the last heartbeat, by the database server's clock */
  ageSeconds: number
}

/** Where the fleet's shared journal stands: the newest push to the replica, by which node. */
export interface JournalMark {
  seq: number
  head: string | null
  node: string
  at: string
  /** a node committed and has not pushed yet (S3 failed): no other node may write until it has */
  pending: boolean
}

/** One WordPress event a node's bridge wrote, shared so the node that records the change can attribute it. */
export interface SharedEvent {
  id: number
  node: string
  /** the event as the bridge wrote it (one JSON line) */
  line: string
}

/**
 * A restore of the whole fleet, in two phases: every node that is up when it begins (the participants) stages
 * the target (brings it into its journal copy, plans its files, checks it can write them) and says so; once all
 * have, the leader sets `swapping`: each node writes its files and the leader the settings, once. A participant
 * that failed to stage, or did not say so within the wait, makes the leader set `aborted`: nothing is written.
 */
export type OpPhase = 'staging' | 'swapping' | 'done' | 'aborted'

/** What the restore was asked with (RestoreOptions without what only the asking process has). */
export interface FleetRestoreRequest {
  target: string
  /** a partial restore (--only): these paths and settings only, on every node */
  only?: OnlyFilter | null
  trigger?: 'manual' | 'auto-rollback'
  actor?: string
  reason?: string
  request?: string
  audit?: { actor: string; onlyText?: string[] }
  acrossSchemaChange?: boolean
  restoreMarkers?: boolean
}

export interface FleetOp {
  id: string
  /** the node that asked for it */
  node: string
  phase: OpPhase
  participants: string[]
  request: FleetRestoreRequest
  /** how long the leader waits for every participant to stage (ms) */
  readyWaitMs: number
  createdAt: string
  /** how old the op is, by the database server's clock (the nodes' clocks may differ) */
  ageSeconds: number
  /** the leader's outcome: its restore's report (in short), or why it was aborted */
  result: FleetOpResult | null
}

export interface FleetOpResult {
  /** the snapshot recording the restored fleet state (written by the leader) */
  snapshot?: string | null
  safetySnapshot?: string | null
  verified?: boolean | null
  /** why nothing was written: the participants that were not ready, each with why */
  notReady?: { node: string; reason: string }[]
  error?: string
  /** the leader's whole restore report (RestoreReport, its plan left out), for whichever node asked */
  report?: unknown
  /** the leader's part failed after the swap began: the nodes that swapped put their files back to this state */
  revertTo?: string | null
}

/** One node's part in a fleet restore. */
export interface OpNodeReport {
  node: string
  /** reverted: it had swapped, and put its files back because the leader's part failed */
  status: 'staged' | 'failed' | 'done' | 'reverted'
  at: string
  /** files (and links) this node's restore writes or removes */
  files: number
  /** after the swap: the node's files re-read equal the target's */
  verified: boolean | null
  /** the WordPress bridge's cache flush on this node (opcache): ok or why not; null when it has no bridge */
  caches: string | null
  error: string | null
}

/**
 * The fleet's coordination in the site's database: one small table for nodes, one for the shared journal,
 * one for WordPress events; MariaDB's GET_LOCK for the settings leader (released by the server when the
 * leader's connection dies) and for the journal (one writer at a time).
 */
export interface FleetPort {
  /** the node this process is */
  readonly node: string
  /** Creates the fleet tables when missing (init and daemon start). */
  ensure(): Promise<void>
  /**
   * Takes the leader lock without waiting, on a connection of its own; true when this node holds it (now or
   * already). A connection that died since is noticed here: the lock is gone with it, and is tried again.
   */
  tryLead(): Promise<boolean>
  /** Whether this node still holds the leader lock (its connection alive, the lock its connection's). */
  leading(): Promise<boolean>
  /** Gives up the leader lock (stopping). */
  resign(): Promise<void>
  /** Writes this node's row (the server stamps the time). */
  heartbeat(report: NodeReport): Promise<void>
  /** Every node that ever joined, newest heartbeat first. */
  nodes(): Promise<FleetNode[]>
  /** Removes a node's row (a node taken out of the fleet for good). */
  forget(node: string): Promise<boolean>
  /**
   * Runs `fn` holding the journal lock (waiting up to `waitMs`, else BUSY naming the holder's node). Re-entrant
   * within one chain of calls: a restore that appends to the audit log takes it once (`fn` is told it is nested).
   */
  withJournal<T>(waitMs: number, fn: (nested: boolean) => Promise<T>): Promise<T>
  /** Whether this process holds the journal lock now (its connection alive): checked before a push. */
  holdsJournal(): Promise<boolean>
  /** Where the shared journal stands (null: never pushed). */
  journal(): Promise<JournalMark | null>
  /** Says where the shared journal stands now (called holding the journal lock). */
  announce(mark: Omit<JournalMark, 'at' | 'node'>): Promise<void>
  /** Shares WordPress events from this node's bridge (one JSON line each). */
  shareEvents(lines: string[]): Promise<void>
  /** Events other nodes shared after `afterId` (at most `limit`), oldest first. */
  sharedEvents(afterId: number, limit: number): Promise<SharedEvent[]>
  /** The newest shared event's id (0 when none): start reading after it. */
  lastEventId(): Promise<number>
  /** Starts a fleet restore (the op table); false, and nothing made, while another one is under way. */
  createOp(op: Omit<FleetOp, 'createdAt' | 'ageSeconds' | 'result' | 'phase'>): Promise<boolean>
  /** The newest ops, newest first. */
  ops(limit: number): Promise<FleetOp[]>
  op(id: string): Promise<FleetOp | null>
  /** Moves an op from one phase to the next; false when it was not in `from` (another node moved it). */
  setOpPhase(id: string, from: OpPhase, to: OpPhase, result: FleetOpResult | null): Promise<boolean>
  /** This node's part in an op (replacing its earlier report). */
  reportOp(id: string, report: OpNodeReport): Promise<void>
  opReports(id: string): Promise<OpNodeReport[]>
  close(): Promise<void>
}

// ---- how a node's reading joins the fleet's history -------------------------------------------------------


/** Per unit (a theme or plugin directory, a drop-in: see unitOf), a digest of its files and links. */
export type UnitDigests = Map<string, string>

/** A 106-bit digest of a string (two 53-bit cyrb53 runs): telling readings apart, not security. */
function digest(s: string): string {
  const run = (seed: number) => {
    let h1 = 0xdeadbeef ^ seed
    let h2 = 0x41c6ce57 ^ seed
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      h1 = Math.imul(h1 ^ c, 2654435761)
      h2 = Math.imul(h2 ^ c, 1597334677)
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
    return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(16).padStart(14, '0')
  }
  return run(0) + run(0x9e3779b9)
}

/**
 * The digest of every unit of a state's files and links (directories' modes are left out: a state recorded
 * before directories were has none). With `only`, just those units.
 */
export function unitDigests(state: Pick<SiteState, 'files' | 'links'>, only: ReadonlySet<string> | null = null): UnitDigests {
  const lines = new Map<string, string[]>()
  const add = (path: string, line: string) => {
    const u = unitOf(path)
    if (u === null || (only && !only.has(u))) return
    const list = lines.get(u)
    if (list) list.push(line)
    else lines.set(u, [line])
  }
  for (const f of state.files.values()) add(f.path, `f\0${f.path}\0${f.kind}\0${f.blob}\0${f.mode}\0${f.uid}\0${f.gid}`)
  for (const l of state.links.values()) add(l.path, `l\0${l.path}\0${l.target}`)
  const out: UnitDigests = new Map()
  for (const [u, list] of lines) out.set(u, digest(list.sort().join('\n')))
  return out
}

/** The units a state has files or links in (their names only: no digest). */
function unitsIn(state: Pick<SiteState, 'files' | 'links'>): Set<string> {
  const out = new Set<string>()
  for (const p of state.files.keys()) {
    const u = unitOf(p)
    if (u !== null) out.add(u)
  }
  for (const p of state.links.keys()) {
    const u = unitOf(p)
    if (u !== null) out.add(u)
  }
  return out
}

export interface NodeReading {
  /** what the node records: the fleet's newest state with the units this node changed taken from its reading */
  state: SiteState
  /** the units this node changed since its previous reading */
  changed: string[]
  /** the node's reading per unit, for next time (null: none yet, the reading was partial) */
  base: UnitDigests | null
}

/**
 * A node's reading as the fleet records it. Each node has its own copy of wp-content, and they may differ (a
 * deploy that reached two nodes of three): what a node records is only what changed on it since its own
 * previous reading (`base`), laid over the fleet's newest state — so a node that was not deployed does not
 * record the old version back, it drifts. A node reading for the first time (`base` null) changes nothing.
 * The settings are the leader's to record: a follower's reading keeps the newest state's.
 *
 * `scanned`: the units `live` read from disk (null: all of them); the rest of `live` is the newest state's.
 */
export function nodeReading(live: SiteState, head: SiteState | null, base: ReadonlyMap<string, string> | null, scanned: ReadonlySet<string> | null, leads: boolean): NodeReading {
  const now = unitDigests(live, scanned)
  const next: UnitDigests = new Map(base ?? [])
  if (scanned) for (const u of scanned) if (!now.has(u)) next.delete(u)
  if (!scanned) for (const u of next.keys()) if (!now.has(u)) next.delete(u)
  for (const [u, d] of now) next.set(u, d)
  if (!head) return { state: live, changed: [...now.keys()].sort(), base: next }
  // a node's first reading that read a few units only: no base yet (the next full reading is its first), so a
  // unit it did not read is never taken for one it changed
  if (!base && scanned) return { state: replaceUnits(head, { files: [], links: [] }, new Set(), [...(leads ? live : head).options.values()], (leads ? live : head).sources, (leads ? live : head).schema), changed: [], base: null }
  const considered = new Set<string>(scanned ?? [...now.keys(), ...(base?.keys() ?? []), ...unitsIn(head)])
  const changed = base ? [...considered].filter((u) => now.get(u) !== base.get(u)).sort() : []
  const units = new Set(changed)
  const pick = <T extends { path: string }>(m: Map<string, T>) => [...m.values()].filter((e) => inUnits(e.path, units))
  const settings = leads ? live : head
  const state = replaceUnits(
    head,
    { files: pick<FileEntry>(live.files), links: pick<LinkedDir>(live.links), ...(live.dirs ? { dirs: pick<DirEntry>(live.dirs) } : {}), ...(live.skipped ? { skipped: live.skipped } : {}) },
    units,
    [...settings.options.values()],
    settings.sources,
    settings.schema,
  )
  // replaceUnits keeps only the scanned units' directories when `dirs` is given: the newest state's others stay
  if (!live.dirs && head.dirs) state.dirs = new Map(head.dirs)
  return { state, changed, base: next }
}

/** The units whose files on this node (its newest reading, `base`) are not the desired state's. */
export function driftingUnits(base: ReadonlyMap<string, string>, desired: Pick<SiteState, 'files' | 'links'>): string[] {
  const want = unitDigests(desired)
  const out = new Set<string>()
  for (const [u, d] of want) if (base.get(u) !== d) out.add(u)
  for (const u of base.keys()) if (!want.has(u)) out.add(u)
  return [...out].sort()
}

/** The paths of `units` where this node's files (`live`, a reading of those units) differ from the desired state's. */
export function driftPaths(live: Pick<SiteState, 'files' | 'links'>, desired: Pick<SiteState, 'files' | 'links'>, units: ReadonlySet<string>): string[] {
  const out = new Set<string>()
  const same = (a: FileEntry | undefined, b: FileEntry | undefined) => !!a && !!b && a.kind === b.kind && a.blob === b.blob && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid
  for (const [p, f] of desired.files) if (inUnits(p, units) && !same(f, live.files.get(p))) out.add(p)
  for (const p of live.files.keys()) if (inUnits(p, units) && !desired.files.has(p)) out.add(p)
  for (const [p, l] of desired.links) if (inUnits(p, units) && live.links.get(p)?.target !== l.target) out.add(p)
  for (const p of live.links.keys()) if (inUnits(p, units) && !desired.links.has(p)) out.add(p)
  return [...out].sort()
}
