// The composition of a fleet's node (a site with a `fleet:` block): the fleet table and locks in the site's
// database, the shared journal on the S3 replica, and the node's view of its own files. Every process of the
// node builds these — the daemon (which also heartbeats, leads and compares: services/fleet.ts) and each CLI
// command that writes the journal, so a `peakguard snapshot` on one node never forks the fleet's history.
import { MysqlFleet } from '../adapters/mysql-fleet.ts'
import { toEvent } from '../adapters/wp-events.ts'
import { SiteDir } from '../adapters/site-dir.ts'
import type { LoadedConfig, ResolvedSite } from '../config.ts'
import { PeakguardError } from '../errors.ts'
import type { DocStorePort, FleetPort, LogPort, WpEvent, WpEventsPort } from '../core/index.ts'
import { NodeView } from '../services/node-view.ts'
import { FleetRestorer } from '../services/fleet-restore.ts'
import { restore } from '../services/writer.ts'
import { SharedJournal } from '../services/shared-journal.ts'
import type { ReplicaSite, Site } from '../services/index.ts'

export interface NodeParts {
  fleet: MysqlFleet
  shared: SharedJournal
  view: NodeView
  restorer: FleetRestorer
  replica: ReplicaSite & { close(): Promise<void> }
  close(): Promise<void>
}

/** A log for the CLI: what the shared journal says goes to stderr, as the CLI's other warnings do. */
export const stderrLog: LogPort = {
  debug: () => undefined,
  info: () => undefined,
  warn: (_f, msg) => void process.stderr.write(`peakguard: ${msg}\n`),
  error: (_f, msg) => void process.stderr.write(`peakguard: ${msg}\n`),
}

/**
 * Makes `site` a node of its fleet (null when the site is not a fleet): its journal writes go through the fleet's
 * lock and the replica, its snapshots record what changed on this node. `leads` says whether it records the
 * settings (the daemon's settings leader; a CLI command never does); `daemon`, whether this process is the daemon.
 */
export async function joinFleet(cfg: LoadedConfig, s: ResolvedSite, site: Site, open: OpenReplica, log: LogPort, leads: () => boolean = () => false, daemon = false): Promise<NodeParts | null> {
  if (!s.fleet) return null
  const { fleet, shared, replica } = await fleetWriter(cfg, s, open, log)
  // the writer may have been made first for the audit log (with a CLI's log): the daemon's log from now on
  shared.log = log
  const view = new NodeView(cfg.node, new SiteDir(s.dataDir), leads)
  site.shared = shared
  // one shared wp-content is one copy: recorded as it is (by the leader), with no node's own reading to lay over
  site.node = s.fleet.sharedFiles ? null : view
  // a restore on any node restores every node (services/fleet-restore.ts): the leader writes the settings once
  const restorer = new FleetRestorer(
    { fleet, site, log, leads, restoreHere: (o) => restore(site, { ...o, here: true }) },
    // an op under way is looked at every 25 ms: a restore waits on each node at each phase
    { readyWaitMs: s.fleet.readyWait, nodeTimeoutMs: s.fleet.nodeTimeout, pollMs: 25, sharedFiles: s.fleet.sharedFiles, takeSnapshot: daemon },
  )
  site.fleetRestore = (o) => restorer.restore(o)
  return { fleet, shared, view, restorer, replica, close: () => closeFleet(cfg, s) }
}

interface FleetWriter {
  fleet: MysqlFleet
  shared: SharedJournal
  replica: ReplicaSite & { close(): Promise<void> }
}

/**
 * One fleet connection and shared journal per site and process: the journal lock is re-entrant only on one
 * connection (a restore that appends to the audit log takes it once), so every part of a process uses the same.
 */
const writers = new Map<string, Promise<FleetWriter>>()

const writerKey = (cfg: LoadedConfig, s: ResolvedSite) => `${cfg.file}\0${s.id}`

/** compose/sites.ts's openReplica, handed in (sites.ts loads this module for the audit log's lock) */
export type OpenReplica = (s: ResolvedSite) => Promise<(ReplicaSite & { close(): Promise<void> }) | null>

export function fleetWriter(cfg: LoadedConfig, s: ResolvedSite, open: OpenReplica, log: LogPort = stderrLog): Promise<FleetWriter> {
  const key = writerKey(cfg, s)
  let w = writers.get(key)
  if (!w) {
    w = (async () => {
      const fleetCfg = s.fleet
      const replica = await open(s)
      // refused by the config already: a fleet needs its s3 block
      if (!replica || !fleetCfg) throw new PeakguardError('CONFIG_INVALID', `site ${s.id} is a fleet without an s3 block`)
      const fleet = new MysqlFleet({ ...s.db }, s.id, cfg.node)
      // made by init; made here too (a node set up before, or a database restored without them)
      await fleet.ensure().catch(async (e: unknown) => {
        await Promise.all([fleet.close(), replica.close()])
        throw e
      })
      const shared = new SharedJournal(fleet, replica, log, { lockWaitMs: cfg.config.lockWaitSeconds * 1000, nodeTimeoutMs: fleetCfg.nodeTimeout })
      // the replicator's own pushes (a retry, the audit log) hold the fleet's journal lock too
      replica.guard = (fn) => shared.guard(fn)
      return { fleet, shared, replica }
    })()
    writers.set(key, w)
    w.catch(() => writers.delete(key))
  }
  return w
}

async function closeFleet(cfg: LoadedConfig, s: ResolvedSite): Promise<void> {
  const key = writerKey(cfg, s)
  const w = writers.get(key)
  writers.delete(key)
  const parts = await w?.catch(() => null)
  if (parts) await closeWriter(parts)
}

/** A writer's connections closed once the pushes it still runs are done (a restore's, see SharedJournal.write). */
async function closeWriter(parts: FleetWriter): Promise<void> {
  await parts.shared.idle()
  await Promise.all([parts.fleet.close(), parts.replica.close()])
}

/** Closes every fleet connection this process opened (a CLI command, when it is done). */
export async function closeFleets(): Promise<void> {
  const all = [...writers.values()]
  writers.clear()
  await Promise.all(all.map(async (w) => {
    const parts = await w.catch(() => null)
    if (parts) await closeWriter(parts)
  }))
}

/**
 * The audit log's lock on a node of a fleet: the fleet's journal lock (caught up with the other nodes' entries
 * first, pushed at once after), then this host's.
 */
export async function sharedLock(cfg: LoadedConfig, s: ResolvedSite, open: OpenReplica, local: () => Promise<() => Promise<void>>): Promise<() => Promise<void>> {
  const { shared } = await fleetWriter(cfg, s, open)
  return new Promise((resolve, reject) => {
    let free: () => void = () => undefined
    const held = new Promise<void>((r) => (free = r))
    const done = shared.write(async () => {
      const release = await local()
      resolve(async () => {
        await release()
        free()
        await done.catch(() => undefined)
      })
      await held
    })
    done.catch(reject)
  })
}

/**
 * The WordPress events a node attributes changes with: its own bridge's, and — shared through the fleet's
 * table — every other node's. A setting changed in node B's wp-admin is recorded by the settings leader, which
 * names who did it from B's event. This node's new events are shared as they are read.
 */
export class FleetEvents implements WpEventsPort {
  private readonly own: WpEventsPort
  private readonly fleet: FleetPort
  private lastId: number | null = null

  constructor(own: WpEventsPort, fleet: FleetPort) {
    this.own = own
    this.fleet = fleet
  }

  end(): Promise<number> {
    return this.own.end ? this.own.end() : Promise.resolve(0)
  }

  async read(offset: number): Promise<{ events: WpEvent[]; offset: number }> {
    const own = await this.own.read(offset)
    // the fleet's part is best effort: a database that cannot be reached costs the attribution, not the snapshot
    try {
      if (own.events.length) await this.fleet.shareEvents(own.events.map((e) => JSON.stringify(e)))
      if (this.lastId === null) this.lastId = Math.max(0, (await this.fleet.lastEventId()) - 500)
      const shared = await this.fleet.sharedEvents(this.lastId, 500)
      if (shared.length) this.lastId = shared[shared.length - 1]!.id
      return { events: [...own.events, ...shared.flatMap((s) => eventOf(s.line))], offset: own.offset }
    } catch {
      return own
    }
  }
}

/** A shared event line, checked as the bridge's file lines are (toEvent): a line that is not one is left out. */
function eventOf(line: string): WpEvent[] {
  try {
    const e = toEvent(JSON.parse(line))
    return e ? [e] : []
  } catch {
    return []
  }
}

/** The governance documents every node shares (the freeze, change requests, the gate's mark); the rest stay per node. */
const sharedDoc = (name: string) => name === 'freeze' || name === 'gate' || name.startsWith('requests/')

/**
 * A fleet's governance documents: one freeze and one change-request list for the site, in its database, whichever
 * node's CLI or UI changes them; a node's own documents (the config it last ran with) stay in its data directory.
 * Writes take this host's lock, then the fleet's.
 */
export class FleetDocs implements DocStorePort {
  private readonly local: DocStorePort
  private readonly fleet: () => Promise<MysqlFleet>

  constructor(local: DocStorePort, fleet: () => Promise<MysqlFleet>) {
    this.local = local
    this.fleet = fleet
  }

  async readDoc<T>(name: string): Promise<T | null> {
    return sharedDoc(name) ? (await this.fleet()).readDoc<T>(name) : this.local.readDoc<T>(name)
  }

  async writeDoc(name: string, value: unknown): Promise<void> {
    return sharedDoc(name) ? (await this.fleet()).writeDoc(name, value) : this.local.writeDoc(name, value)
  }

  async listDocs(prefix: string): Promise<string[]> {
    return sharedDoc(`${prefix}/`) ? (await this.fleet()).listDocs(prefix) : this.local.listDocs(prefix)
  }

  async lockDocs(): Promise<() => Promise<void>> {
    const local = await this.local.lockDocs()
    try {
      const shared = await (await this.fleet()).lockDocs()
      return async () => {
        await shared()
        await local()
      }
    } catch (e) {
      await local()
      throw e
    }
  }
}

/** A node's governance documents: the fleet's shared ones through its database (see FleetDocs). */
export function fleetDocs(cfg: LoadedConfig, s: ResolvedSite, local: DocStorePort, open: OpenReplica): DocStorePort {
  return s.fleet ? new FleetDocs(local, async () => (await fleetWriter(cfg, s, open)).fleet) : local
}
