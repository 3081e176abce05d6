// Everything a service needs for one site, handed over by the composition root.
import type { NodeView } from './node-view.ts'
import type { RestoreOptions, RestoreReport } from './restorer.ts'
import type { AuditInput, BridgePort, HealthStorePort, HooksPort, IgnoreRules, JournalPort, LiveFilesPort, MarkerRule, PurgePort, SettingsPort, SiteDirPort } from '../core/index.ts'

export interface Site {
  id: string
  journal: JournalPort
  files: LiveFilesPort
  settings: SettingsPort
  dir: SiteDirPort
  ignore: IgnoreRules
  /** the options that describe a data layout (migration markers); absent: peakguard's defaults (markerRule()) */
  markers?: MarkerRule
  /** How long a snapshot or restore waits for another one to finish before it gives up. */
  lockWaitMs: number
  /** the commands configured to run after every restore */
  hooks: HooksPort
  /** the daemon's health history per state */
  health: HealthStorePort
  /** the WordPress bridge, when its mu-plugin is installed: restores flush caches through it */
  bridge?: BridgePort | null
  /**
   * what caches whole pages, purged after every restore in this order: inner caches first (the page-cache
   * plugins through the bridge), then the ones in front (Varnish/nginx, then the CDN). Empty or absent: none.
   */
  purgers?: readonly PurgePort[]
  /** after a restore's purges: fetches the site's pages past every cache and says whether they are healthy; never rejects */
  confirm?: (() => Promise<{ ok: boolean; detail: string }>) | null
  /** the site's audit log: the writer appends a person's restore to it (and a restore finished after a crash) */
  audit?: { append(input: AuditInput): Promise<unknown>; query(q: { type?: string }): Promise<{ details?: unknown }[]> } | null
  /**
   * A node of a fleet: its snapshots record what changed on it, laid over the fleet's newest state, and its
   * settings only while it leads (see node-view.ts). Absent: a site on one host.
   */
  node?: NodeView | null
  /**
   * A fleet's one journal: every write (snapshot, restore, mark) runs inside `write`, which takes the fleet's
   * journal lock and brings this node's copy up to date first (see shared-journal.ts). Absent: a site on one host.
   */
  shared?: { write<T>(fn: () => Promise<T>, opts?: { pushAfter?: boolean }): Promise<T>; fetch(): Promise<void> } | null
  /** A node of a fleet: a restore (not a dry run) goes to every node, through the fleet (fleet-restore.ts). */
  fleetRestore?: ((opts: RestoreOptions) => Promise<RestoreReport>) | null
  /** Finds which other configured site has a state with this id prefix (for a clear error). */
  siteOwning(idPrefix: string): Promise<string | null>
}
