// The daemon: for every configured site, the recording loop (watcher + settings polls + reconciliation)
// the prober (health, known-good, automatic rollback) and, with an s3 block, the replicator. A site that cannot start is reported (status,
// /healthz answers 503) without holding up the others. `status` is what `peakguard status` and
// GET /api/status show.
import type { LogPort } from '../core/index.ts'
import { lastGood } from './catalog.ts'
import type { Prober, HealthStatus } from './prober.ts'
import type { ReplicaStatus, Replicator } from './replicator.ts'
import type { RecordingStatus, SiteRecording } from './site-daemon.ts'
import type { SiteGovernance } from './site-governance.ts'
import type { FleetMember, FleetStatus } from './fleet.ts'

export interface DaemonSite {
  id: string
  recording: SiteRecording
  prober: Prober
  /** null: the site has no S3 replica */
  replicator: Replicator | null
  /** attribution, audit and the freeze (gate, bridge state, baselines) */
  governance: SiteGovernance | null
  /** this node's part in the site's fleet; null: the site runs on this host alone */
  fleet?: FleetMember | null
  close(): Promise<void>
}

export interface DaemonSiteStatus extends RecordingStatus {
  started: boolean
  startError: string | null
  lastGood: string | null
  health: HealthStatus
  replica: ReplicaStatus | null
  /** null: the site runs on this host alone */
  fleet: FleetStatus | null
}

export interface DaemonStatus {
  pid: number
  startedAt: string
  sites: DaemonSiteStatus[]
}

export class Daemon {
  private readonly sites: DaemonSite[]
  private readonly log: LogPort
  private readonly startedAt = new Date().toISOString()
  private readonly started = new Map<string, true | string>()

  constructor(sites: DaemonSite[], log: LogPort) {
    this.sites = sites
    this.log = log
  }

  /** Starts every site; resolves when each has either started or failed its first attempt. */
  async start(): Promise<void> {
    await Promise.all(this.sites.map((s) => this.startSite(s)))
  }

  private async startSite(s: DaemonSite): Promise<void> {
    try {
      if (s.replicator) {
        const replicator = s.replicator
        // started before recording: the start-up snapshot of a large site may take a while, and what is
        // already in the journal should not wait for it
        const started = await replicator.start().then(
          () => true,
          (e: Error) => {
            // the replica must never keep the site from being recorded
            this.log.error({ site: s.id }, `replication could not start: ${e.message}; snapshots stay on this host only`)
            return false
          },
        )
        // replicate right after each snapshot rather than at the next look at the journal's refs
        if (started) s.recording.afterSnapshot = () => replicator.kick()
        else s.replicator = null
      }
      if (s.fleet) {
        // before anything records: who leads (who reads the settings), and the journal brought up to the fleet's
        await s.fleet.start()
      }
      if (s.governance) {
        // before recording: the first snapshots are already attributed, audited and gated
        s.governance.exclusive = (fn) => s.recording.exclusive(fn)
        await s.governance.start()
        s.recording.governance = s.governance
      }
      await s.recording.start()
      s.prober.start()
      this.started.set(s.id, true)
      this.log.info({ site: s.id, mode: s.recording.status().mode }, 'site started')
    } catch (e) {
      // the recording loop handles its own failures (watch limit, database, journal) and retries; what
      // reaches here is unexpected: say so where the operator looks, and let the other sites run
      const message = (e as Error).message
      this.started.set(s.id, message)
      this.log.error({ site: s.id }, `site could not start: ${message}; restart the daemon once it is fixed`)
      await s.recording.stop().catch(() => undefined)
    }
  }

  /** Stops probing, records pending changes, closes everything. */
  async stop(): Promise<void> {
    await Promise.all(
      this.sites.map(async (s) => {
        await s.prober.stop()
        await s.recording.stop()
        s.governance?.stop()
        await s.replicator?.stop()
        await s.fleet?.stop()
        await s.close()
      }),
    )
  }

  async status(): Promise<DaemonStatus> {
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      sites: await Promise.all(
        this.sites.map(async (s) => {
          const started = this.started.get(s.id)
          return {
            ...s.recording.status(),
            started: started === true,
            startError: typeof started === 'string' ? started : null,
            lastGood: await lastGood(s.recording.site).catch(() => null),
            health: await s.prober.status(),
            replica: s.replicator?.status() ?? null,
            fleet: s.fleet?.status() ?? null,
          }
        }),
      ),
    }
  }
}
