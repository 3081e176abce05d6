// `peakguard daemon`, composed: every site's recording loop, prober, replicator and freeze gate, one
// Prometheus registry, and the web UI on ui.listen, until SIGTERM/SIGINT.
import { createHash } from 'node:crypto'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import { V8Heap } from '../adapters/heap.ts'
import { HttpProbe } from '../adapters/http-probe.ts'
import { createLog } from '../adapters/log.ts'
import type { PromMetrics } from '../adapters/metrics.ts'
import { OsUsers } from '../adapters/os-users.ts'
import { SiteDir } from '../adapters/site-dir.ts'
import { Notifiers } from './notifiers.ts'
import { WpEventsFile } from '../adapters/wp-events.ts'
import { readBridgeSecret } from '../adapters/wp-bridge.ts'
import type { GlobalOptions } from '../cli/runtime.ts'
import { redact, settingsTablesOf, type LoadedConfig, type ResolvedSite } from '../config.ts'
import { DEFAULT_IGNORED_FILES, DEFAULT_IGNORED_OPTIONS, type DocStorePort, type FleetPort } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import type { UiSite } from '../http/app.ts'
import { aliasesOf } from '../services/access.ts'
import type { AuditLog } from '../services/audit.ts'
import { auditConfigChange } from '../services/config-audit.ts'
import { activeFreeze, bridgeState, readFreezeDoc, recordBaseline } from '../services/freeze.ts'
import { siteZone } from '../services/freeze-calendar.ts'
import { SiteGovernance } from '../services/site-governance.ts'
import { preUpdateSnapshot } from '../services/pre-update.ts'
import { FleetMember } from '../services/fleet.ts'
import { FleetEvents, fleetDocs, joinFleet } from './fleet.ts'
import { Daemon, Prober, Replicator, SiteRecording, type DaemonSite, type Site } from '../services/index.ts'
import { hostPort } from './daemon-client.ts'
import { accessFor, auditAll, auditLogFor, bridgeControl, bridgeDaemon, openReplica, openSite, pickSite, probeSpecs } from './sites.ts'

/** web/ (templates and static files): beside src/ and dist/ in the repository and in the package */
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web')

/** How long a stopping daemon or a finished command waits for its notifications to go out. */
const NOTIFY_CLOSE_MS = 5000

/** The recording loop and prober of one site, with the settings from its config. */
async function daemonSite(cfg: LoadedConfig, s: ResolvedSite, log: ReturnType<typeof createLog>, metrics: PromMetrics): Promise<{ daemon: DaemonSite; ui: UiSite }> {
  const site = await openSite(cfg, s)
  // a node of a fleet: one journal for all nodes, the settings for the leader (compose/fleet.ts, services/fleet.ts)
  let member: FleetMember | null = null
  const node = await joinFleet(cfg, s, site, openReplica, log, () => member?.leads() ?? false, true)
  const { FsWatcher } = await import('../adapters/fs-watcher.ts')
  const recording = new SiteRecording(site, new FsWatcher(s.wpContent, [...DEFAULT_IGNORED_FILES, ...s.ignore.files]), log, metrics, {
    quietMs: s.watch.quiet,
    maxWaitMs: s.watch.maxWait,
    reconcileMs: s.watch.reconcile,
    fallbackScanMs: s.watch.fallbackScan,
    scanOnly: s.fleet?.sharedFiles ? "wp-content is shared by the fleet's nodes (fleet.sharedFiles): inotify does not see other clients' writes, so it is scanned" : null,
    pollMs: s.poll.interval,
  }, new V8Heap())
  // one queue and sender per webhook, PagerDuty integration and mail server: a dead one delays neither the
  // daemon nor the others; a secret's variable that is not set stops the start here, naming it
  const notifier = new Notifiers(s, cfg.config.ui, log, { metrics })
  const prober = new Prober(site, recording, new HttpProbe(), log, metrics, {
    intervalMs: s.health.interval,
    fastIntervalMs: s.health.fastInterval,
    fastRounds: s.health.fastRounds,
    goodAfterMs: s.health.goodAfter,
    probes: probeSpecs(s),
    autoRollback: { enabled: s.autoRollback.enabled, afterFailures: s.autoRollback.afterFailures, minIntervalMs: s.autoRollback.minInterval },
  }, { notify: notifier })
  const replica = node?.replica ?? (await openReplica(s))
  const replicator = replica
    ? new Replicator(replica, log, metrics, { checkMs: 1000, lagAlertMs: s.s3!.lagAlert, retryMinMs: 1000, retryMaxMs: s.s3!.retryMax }, { notify: notifier })
    : null
  // the gate and the UI share the site's governance documents and audit log
  // on a fleet, one freeze and one change-request list for every node (compose/fleet.ts FleetDocs)
  const docs = fleetDocs(cfg, s, new SiteDir(s.dataDir), openReplica)
  const audit = auditLogFor(s, undefined, cfg)
  const governance = siteGovernance(cfg, s, site, docs, audit, notifier, log, node?.fleet ?? null)
  if (node && s.fleet) {
    const m = new FleetMember({ fleet: node.fleet, shared: node.shared, recording, site, view: node.view, log, metrics }, { heartbeatMs: s.fleet.heartbeat, nodeTimeoutMs: s.fleet.nodeTimeout, listen: cfg.config.ui.listen })
    member = m
    m.restorer = node.restorer
    const leads = () => m.leads()
    recording.leads = leads
    prober.leads = leads
    governance.leads = leads
    // a new leader reads the settings at once: a change the old one had not recorded yet is not lost
    // one shared wp-content (NFS/EFS): only the leader records and writes the files
    if (s.fleet.sharedFiles) recording.recordsFiles = leads
    m.onRole = (isLeader) => {
      // the files too, when they are shared: what the old leader had not recorded yet is read now
      if (isLeader) recording.noticeSettings(s.fleet?.sharedFiles === true)
    }
    recording.onRecorded = () => m.compare()
    m.onBeat = () => governance.readEvents()
  }
  const daemon: DaemonSite = {
    id: s.id,
    recording,
    prober,
    replicator,
    governance,
    fleet: member,
    close: async () => {
      // what the stopping services reported last still goes out, for at most a few seconds
      const flushed = notifier.close(NOTIFY_CLOSE_MS)
      await site.close()
      await (node ? node.close() : replica?.close())
      await flushed
    },
  }
  const bridge = bridgeControl(s, cfg.config.ui.listen)
  const ui: UiSite = {
    id: s.id,
    zone: siteZone(s.freeze),
    freeze: s.freeze,
    site,
    docs,
    audit,
    notify: notifier,
    operate: { site, docs, audit, notify: notifier, windows: s.freeze.windows },
    freezing: { site: s.id, docs, audit, now: () => Date.now() },
    syncBridge: () => bridge.syncState(),
    // restores and decisions from the UI wait for the snapshot in progress, and the gate waits for them
    exclusive: (fn) => recording.exclusive(fn),
    bridge: {
      secret: async () => readBridgeSecret(s.bridgeDir),
      preUpdate: (what, req) => preUpdateSnapshot(recording, { metrics, log, waitMs: s.bridge.preUpdateWait }, what, req),
    },
  }
  return { daemon, ui }
}

/** The freeze of a site as its services read it (from the config and the site's freeze document). */
function freezeSource(s: ResolvedSite, docs: DocStorePort, audit: AuditLog, listen: string) {
  const settings = { policy: s.freeze.policy, windows: s.freeze.windows, approvalUrl: s.freeze.approvalUrl, zone: s.freeze.zone }
  return {
    at: async (now: number) => activeFreeze(s.freeze.windows, await readFreezeDoc(docs), now),
    allows: async () => (await readFreezeDoc(docs)).allows,
    bridgeState: (now: number) =>
      bridgeState(
        docs,
        { id: s.id, freeze: settings, protectedOptions: [], ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options], settingsTables: settingsTablesOf(s), daemon: bridgeDaemon(s, listen) },
        now,
      ),
    recordBaseline: async (span: { source: string; start: number }, head: string | null) =>
      (await recordBaseline({ site: s.id, docs, audit, now: Date.now }, { source: span.source, start: span.start, state: head, actor: 'peakguard' })).recorded,
  }
}

/** Attribution, audit and the freeze gate of one site, for the daemon. */
function siteGovernance(cfg: LoadedConfig, s: ResolvedSite, site: Site, docs: DocStorePort, audit: AuditLog, notify: Notifiers, log: ReturnType<typeof createLog>, fleet: FleetPort | null): SiteGovernance {
  const events = new WpEventsFile(path.join(s.bridgeDir, 'events.jsonl'))
  return new SiteGovernance({
    site,
    docs,
    audit,
    notify,
    log,
    policy: s.freeze.policy,
    freeze: freezeSource(s, docs, audit, cfg.config.ui.listen),
    // a fleet's node shares its WordPress events: the node that records a change may not be the one it was made on
    events: fleet ? new FleetEvents(events, fleet) : events,
    bridge: site.bridge ?? null,
    names: new OsUsers(),
    identities: async () => {
      const users = await accessFor(cfg).listUsers()
      return (name) => [name, ...(aliasesOf(users.find((u) => u.name === name)).aliases ?? [])]
    },
    tickMs: 2000,
  })
}

/** The config the daemon runs with, as understood and with secrets redacted (see services/config-audit.ts). */
function configDigest(cfg: LoadedConfig): string {
  // of the config as understood, secrets redacted: a digest of the file would let whoever reads the
  // (replicated) audit log test guesses of the database password against it
  return createHash('sha256').update(JSON.stringify(redact({ ...cfg.config, sites: [...cfg.sites] }))).digest('hex')
}

/** `peakguard daemon`: every site of the config (or the one given with --site) until SIGTERM/SIGINT. */
export async function runDaemon(cfg: LoadedConfig, o: GlobalOptions): Promise<void> {
  const log = createLog(cfg.config.log.level)
  const { PromMetrics } = await import('../adapters/metrics.ts')
  const metrics = new PromMetrics()
  const stop = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  const chosen = o.site ? [pickSite(cfg, o.site)] : cfg.sites
  const digest = configDigest(cfg)
  for (const s of chosen) {
    const docs = new SiteDir(s.dataDir)
    docs.ensure()
    await auditConfigChange({ site: s.id, docs, audit: auditLogFor(s, undefined, cfg) }, { file: cfg.file, sha256: digest })
  }
  const sites = await Promise.all(chosen.map((s) => daemonSite(cfg, s, log, metrics)))
  const daemon = new Daemon(
    sites.map((x) => x.daemon),
    log,
  )
  // loaded here, not at the top: Express, sessions, templates and the rest cost every CLI command ~0.7 s of
  // start-up, and only the daemon serves HTTP
  const { buildApp } = await import('../http/app.ts')
  const app = buildApp({
    status: () => daemon.status(),
    metrics: () => metrics.render(),
    sites: sites.map((x) => x.ui),
    access: accessFor(cfg),
    auditAll: (input) => auditAll(cfg, input),
    trustProxy: cfg.config.ui.trustProxy,
    hosts: { listen: hostPort(cfg.config.ui.listen).host, names: cfg.config.ui.hosts },
    webDir: WEB_DIR,
    log,
  })
  const { host, port } = hostPort(cfg.config.ui.listen)
  const server = await new Promise<Server>((resolve, reject) => {
    const srv = app.listen(port, host, () => resolve(srv))
    srv.once('error', (e: NodeJS.ErrnoException) =>
      reject(new PeakguardError('USAGE', `cannot listen on ${cfg.config.ui.listen} (ui.listen in ${cfg.file}): ${e.code} — is another peakguard daemon running?`, { cause: e })),
    )
  }).catch(async (e: unknown) => {
    await daemon.stop()
    throw e
  })
  log.info({ listen: cfg.config.ui.listen, sites: chosen.map((s) => s.id), config: cfg.file }, 'peakguard daemon starting')
  await Promise.race([daemon.start(), stop])
  log.info({ sites: chosen.map((s) => s.id) }, 'peakguard daemon running')
  const signal = await stop
  log.info({ signal }, 'stopping: recording pending changes first')
  await daemon.stop()
  await new Promise((r) => server.close(r))
  server.closeAllConnections()
  // what was refused and not written one by one is counted in the audit log before the process ends
  await app.flush()
  log.info({}, 'peakguard daemon stopped')
  log.flush()
}
