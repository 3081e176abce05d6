// Prometheus metrics (MetricsPort) with prom-client, in a registry of their own: snapshot latency,
// snapshots, restores, probe results, watcher mode, DB connection and pending changes per site, plus
// the process's CPU and memory. `render` is what GET /metrics answers.
import client from 'prom-client'
import type { FleetGauges, MetricsPort } from '../core/index.ts'

export class PromMetrics implements MetricsPort {
  readonly registry = new client.Registry()
  private readonly snapshotSeconds = new client.Histogram({
    name: 'peakguard_snapshot_duration_seconds',
    help: 'Time to compare the live site with the journal and record a snapshot',
    labelNames: ['site'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  })
  private readonly snapshots = new client.Counter({
    name: 'peakguard_snapshots_total',
    help: 'Snapshot attempts by trigger; created="false" when nothing in scope had changed',
    labelNames: ['site', 'trigger', 'created'],
    registers: [this.registry],
  })
  private readonly restores = new client.Counter({
    name: 'peakguard_restores_total',
    help: 'Restores by trigger (manual, auto-rollback) and result',
    labelNames: ['site', 'trigger', 'result'],
    registers: [this.registry],
  })
  private readonly probes = new client.Counter({
    name: 'peakguard_probes_total',
    help: 'Health probe rounds by result',
    labelNames: ['site', 'result'],
    registers: [this.registry],
  })
  private readonly mode = new client.Gauge({
    name: 'peakguard_watcher_mode',
    help: '1 for the mode the site is in: watch (inotify) or scan (periodic scans)',
    labelNames: ['site', 'mode'],
    registers: [this.registry],
  })
  private readonly db = new client.Gauge({
    name: 'peakguard_db_connected',
    help: '1 when the settings database answered the last poll',
    labelNames: ['site'],
    registers: [this.registry],
  })
  private readonly pending = new client.Gauge({
    name: 'peakguard_pending_changes',
    help: 'Changes seen and not yet recorded (waiting for the quiet period)',
    labelNames: ['site'],
    registers: [this.registry],
  })

  private readonly lag = new client.Gauge({
    name: 'peakguard_replication_lag_seconds',
    help: 'Age of the oldest snapshot or mark not yet on the S3 replica (0 when it is up to date)',
    labelNames: ['site'],
    registers: [this.registry],
  })
  private readonly lagAlert = new client.Gauge({
    name: 'peakguard_replication_lag_alert',
    help: '1 while the replication lag is above s3.lagAlert',
    labelNames: ['site'],
    registers: [this.registry],
  })
  private readonly pushes = new client.Counter({
    name: 'peakguard_replication_pushes_total',
    help: 'Pushes to the S3 replica by result',
    labelNames: ['site', 'result'],
    registers: [this.registry],
  })
  private readonly pushedBytes = new client.Counter({
    name: 'peakguard_replication_bytes_total',
    help: 'Bytes written to the S3 replica (after encryption)',
    labelNames: ['site'],
    registers: [this.registry],
  })
  private readonly notifications = new client.Counter({
    name: 'peakguard_notifications_total',
    help: 'Notifications (webhooks, PagerDuty, e-mail) by result: delivered, failed (given up after retries, or refused) or dropped (queue full, or undelivered at shutdown)',
    labelNames: ['site', 'result'],
    registers: [this.registry],
  })
  private readonly pushSeconds = new client.Histogram({
    name: 'peakguard_replication_push_duration_seconds',
    help: 'Time to write one push (bundle and manifest) to the S3 replica',
    labelNames: ['site'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    registers: [this.registry],
  })

  private readonly fleetLeader = new client.Gauge({
    name: 'peakguard_fleet_leader',
    help: "1 while this node is its fleet's settings leader",
    labelNames: ['site', 'node'],
    registers: [this.registry],
  })
  private readonly fleetDrift = new client.Gauge({
    name: 'peakguard_fleet_drift_files',
    help: "Files (and links) of this node that differ from the fleet's desired state; 0 when none",
    labelNames: ['site', 'node'],
    registers: [this.registry],
  })
  private readonly fleetNodes = new client.Gauge({
    name: 'peakguard_fleet_nodes',
    help: 'Nodes of the fleet by state: up (a recent heartbeat), down, drifting (up, files differ)',
    labelNames: ['site', 'state'],
    registers: [this.registry],
  })
  private readonly fleetDb = new client.Gauge({
    name: 'peakguard_fleet_db_connected',
    help: "1 when this node's last heartbeat reached the fleet's database",
    labelNames: ['site', 'node'],
    registers: [this.registry],
  })

  constructor() {
    // the event-loop-lag monitor samples every 10 ms by default: ~0.8% of a core on an idle daemon alone
    client.collectDefaultMetrics({ register: this.registry, prefix: 'peakguard_', eventLoopMonitoringPrecision: 100 })
  }

  snapshot(site: string, seconds: number, created: boolean, trigger: string): void {
    this.snapshotSeconds.observe({ site }, seconds)
    this.snapshots.inc({ site, trigger, created: String(created) })
  }
  restore(site: string, trigger: string, ok: boolean): void {
    this.restores.inc({ site, trigger, result: ok ? 'ok' : 'failed' })
  }
  probe(site: string, ok: boolean): void {
    this.probes.inc({ site, result: ok ? 'pass' : 'fail' })
  }
  watcherMode(site: string, mode: 'watch' | 'scan'): void {
    this.mode.set({ site, mode: 'watch' }, mode === 'watch' ? 1 : 0)
    this.mode.set({ site, mode: 'scan' }, mode === 'scan' ? 1 : 0)
  }
  dbConnected(site: string, up: boolean): void {
    this.db.set({ site }, up ? 1 : 0)
  }
  pendingChanges(site: string, pending: number): void {
    this.pending.set({ site }, pending)
  }

  replicaLag(site: string, seconds: number, alert: boolean): void {
    this.lag.set({ site }, seconds)
    this.lagAlert.set({ site }, alert ? 1 : 0)
  }
  replicaPush(site: string, ok: boolean, bytes: number, seconds: number): void {
    this.pushes.inc({ site, result: ok ? 'ok' : 'failed' })
    if (ok) {
      this.pushedBytes.inc({ site }, bytes)
      this.pushSeconds.observe({ site }, seconds)
    }
  }

  fleet(site: string, node: string, f: FleetGauges): void {
    this.fleetLeader.set({ site, node }, f.leader ? 1 : 0)
    this.fleetDrift.set({ site, node }, f.driftFiles)
    this.fleetDb.set({ site, node }, f.dbConnected ? 1 : 0)
    this.fleetNodes.set({ site, state: 'up' }, f.up)
    this.fleetNodes.set({ site, state: 'down' }, f.down)
    this.fleetNodes.set({ site, state: 'drifting' }, f.drifting)
  }

  notification(site: string, result: 'delivered' | 'failed' | 'dropped'): void {
    this.notifications.inc({ site, result })
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}
