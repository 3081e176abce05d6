#!/usr/bin/env node
// The composition root: config → adapters → services → CLI. The only file that knows every layer.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline/promises'
import { fileURLToPath } from 'node:url'
import type { Server } from 'node:http'
import { GitJournal } from './adapters/git-journal.ts'
import { V8Heap } from './adapters/heap.ts'
import { ShellHooks } from './adapters/hooks.ts'
import { HttpProbe } from './adapters/http-probe.ts'
import { createLog } from './adapters/log.ts'
import type { PromMetrics } from './adapters/metrics.ts'
import { MysqlSettings, type DbConfig } from './adapters/mysql-settings.ts'
import { SiteDir } from './adapters/site-dir.ts'
import { WebhookNotifier } from './adapters/webhook.ts'
import { AuditFile } from './adapters/audit-file.ts'
import { UsersFile } from './adapters/users-file.ts'
import { Access, aliasesOf, authorize } from './services/access.ts'
import { AuditLog, deniedAudit } from './services/audit.ts'
import { activeFreeze, bridgeState, readFreezeDoc, recordBaseline } from './services/freeze.ts'
import { SiteGovernance } from './services/site-governance.ts'
import { OsUsers } from './adapters/os-users.ts'
import { WpBridge } from './adapters/wp-bridge.ts'
import { WpEventsFile } from './adapters/wp-events.ts'
import type { Action, Actor, AuditInput } from './core/index.ts'
import { readWpConfig } from './adapters/wp-config.ts'
import { WpFiles } from './adapters/wp-files.ts'
import { runCli } from './cli/program.ts'
import type { GlobalOptions, InitOptions, InitResult, RecoverOptions, RecoverResult, Runtime } from './cli/runtime.ts'
import { report } from './cli/runtime.ts'
import { addSite, configPath, DEFAULT_PROBE, loadConfig, redact, type LoadedConfig, type ResolvedSite } from './config.ts'
import { DEFAULT_IGNORED_FILES, DEFAULT_IGNORED_OPTIONS, ignoreRules, type Checkpoint } from './core/index.ts'
import { PeakguardError } from './errors.ts'
import type { UiSite } from './http/app.ts'
import { siteZone } from './services/freeze-calendar.ts'
import { Daemon, Prober, recoverFromRemote, Replicator, SiteRecording, type DaemonSite, type DaemonStatus, type ReplicaSite, type Site } from './services/index.ts'

/**
 * PEAKGUARD_FAULT=name[#n] kills the process (SIGKILL) the n-th time it passes checkpoint `name`: the crash
 * tests use it to prove that a restore interrupted at any step is finished by the next command. With
 * PEAKGUARD_FAULT_SIGNAL=SIGSTOP the process stops there instead, so a test can break something under it
 * (the database) and let it go on (SIGCONT).
 */
function faultHook(spec: string | undefined, signal = 'SIGKILL'): Checkpoint {
  if (!spec) return () => undefined
  const [name, nth] = spec.split('#')
  let hits = 0
  return (at) => {
    if (at === name && ++hits === Number(nth ?? 1)) process.kill(process.pid, signal === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL')
  }
}

// What only the daemon (chokidar, prom-client, Express and the UI) or only the replica commands (the AWS
// SDK) need is loaded when they run: at the top it cost every other command ~1 s of start-up, which the
// night shift feels at each `peakguard list` and the test suite at each of its hundreds of CLI runs.
const s3Adapter = () => import('./adapters/s3-store.ts')

/** web/ (templates and static files): beside src/ and dist/ in the repository and in the package */
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../web')

function pickSite(cfg: LoadedConfig, id: string | undefined): ResolvedSite {
  if (id) {
    const s = cfg.sites.find((x) => x.id === id)
    if (!s) throw new PeakguardError('SITE_UNKNOWN', `no site ${id} in ${cfg.file} (sites: ${cfg.sites.map((x) => x.id).join(', ')})`)
    return s
  }
  if (cfg.sites.length > 1) throw new PeakguardError('USAGE', `${cfg.file} has ${cfg.sites.length} sites (${cfg.sites.map((x) => x.id).join(', ')}): choose one with --site`)
  return cfg.sites[0] as ResolvedSite
}

function dbConfig(s: ResolvedSite): DbConfig {
  return { ...s.db }
}

/** The WordPress bridge of a site for `peakguard wp …`, with the freeze state it should hold now. */
function bridgeControl(s: ResolvedSite): Awaited<ReturnType<Runtime['bridge']>> {
  const b = new WpBridge({
    site: s.id,
    wpContent: s.wpContent,
    bridgeDir: s.bridgeDir,
    url: s.bridge.url,
    timeoutMs: s.bridge.timeout,
    homeUrl: async () => {
      const db = new MysqlSettings(dbConfig(s))
      try {
        return await db.homeUrl()
      } finally {
        await db.close()
      }
    },
    ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options],
  })
  const current = () =>
    bridgeState(new SiteDir(s.dataDir), { id: s.id, freeze: s.freeze, protectedOptions: [], ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options] }, Date.now())
  return {
    site: s.id,
    file: b.file,
    dir: b.dir,
    installed: () => b.installed(),
    writeState: (st) => b.writeState(st),
    flushCaches: () => b.flushCaches(),
    install: async () => b.install(await current()),
    uninstall: () => b.uninstall(),
    status: () => b.status(),
    currentState: current,
    syncState: async () => {
      if (!(await b.installed())) return false
      await b.writeState(await current())
      return true
    },
  }
}

export async function openSite(cfg: LoadedConfig, s: ResolvedSite): Promise<Site & { close(): Promise<void> }> {
  const dir = new SiteDir(s.dataDir)
  dir.ensure()
  const journal = await GitJournal.open(dir.journalDir, s.id)
  const ignore = ignoreRules([...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options], [...DEFAULT_IGNORED_FILES, ...s.ignore.files])
  const settings = new MysqlSettings(dbConfig(s), [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options])
  return {
    id: s.id,
    hooks: new ShellHooks(s.hooks.postRestore, s.hooks.timeout),
    health: dir,
    journal,
    files: new WpFiles(s.wpContent, dir.cacheFile, [...DEFAULT_IGNORED_FILES, ...s.ignore.files], s.followLinksInto),
    settings,
    dir,
    ignore,
    lockWaitMs: cfg.config.lockWaitSeconds * 1000,
    checkpoint: faultHook(process.env.PEAKGUARD_FAULT, process.env.PEAKGUARD_FAULT_SIGNAL),
    bridge: new WpBridge({
      site: s.id,
      wpContent: s.wpContent,
      bridgeDir: s.bridgeDir,
      url: s.bridge.url,
      timeoutMs: s.bridge.timeout,
      homeUrl: () => settings.homeUrl(),
      ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options],
    }),
    siteOwning: async (prefix) => {
      for (const other of cfg.sites) {
        if (other.id === s.id) continue
        const jd = new SiteDir(other.dataDir).journalDir
        if (!fs.existsSync(path.join(jd, 'HEAD'))) continue
        const j = await GitJournal.open(jd, other.id).catch(() => null)
        if (j && (await j.resolvePrefix(prefix)).length > 0) return other.id
      }
      return null
    },
    close: () => settings.close(),
  }
}

/** The replica key: the site's keyFile, else $PEAKGUARD_S3_KEY, else none (unencrypted). */
async function replicaKey(s: ResolvedSite): Promise<Buffer | null> {
  const { readKeyFile, parseKey } = await s3Adapter()
  if (s.s3?.keyFile) return readKeyFile(s.s3.keyFile)
  const env = process.env.PEAKGUARD_S3_KEY
  return env ? parseKey(Buffer.from(env), 'PEAKGUARD_S3_KEY') : null
}

/** The ref the audit log's segments are kept on inside the journal (so the replica carries them). */
const AUDIT_REF = 'refs/peakguard/audit'

/** Names, sizes and mtimes of a folder's files: changes whenever one is appended to or added. */
function folderStamp(dir: string): string {
  try {
    return fs
      .readdirSync(dir)
      .sort()
      .map((n) => {
        const st = fs.statSync(path.join(dir, n), { throwIfNoEntry: false })
        return st ? `${n}:${st.size}:${st.mtimeMs}` : n
      })
      .join(',')
  } catch {
    return ''
  }
}

/** The site's replica: its S3 folder, its journal and its data directory; null when it has no s3 block. */
export async function openReplica(s: ResolvedSite, dataDir = s.dataDir): Promise<(ReplicaSite & { close(): Promise<void> }) | null> {
  if (!s.s3) return null
  const { S3Store } = await s3Adapter()
  const store = new S3Store(
    { bucket: s.s3.bucket, prefix: s.s3.prefix, region: s.s3.region, endpoint: s.s3.endpoint, forcePathStyle: s.s3.forcePathStyle, sse: s.s3.sse, kmsKeyId: s.s3.kmsKeyId, timeoutMs: s.s3.timeout },
    s.id,
    await replicaKey(s),
  )
  const dir = new SiteDir(dataDir)
  dir.ensure()
  const journal = await GitJournal.open(dir.journalDir, s.id)
  return {
    id: s.id,
    journal,
    store,
    local: dir,
    maxChain: s.s3.compactAfter,
    // the audit log travels in the journal, on a ref of its own
    extras: {
      stamp: () => folderStamp(dir.auditDir),
      store: async () => void (await journal.storeFolder(AUDIT_REF, dir.auditDir, 'audit log')),
    },
    openJournal: (d) => GitJournal.open(d, s.id),
    close: async () => store.close(),
  }
}

function requireReplica<T>(r: T | null, s: ResolvedSite, file: string): T {
  if (!r)
    throw new PeakguardError('REPLICA_NOT_CONFIGURED', `site ${s.id} has no S3 replica: add an s3 block (bucket, region, …) to it in ${file}, or run 'peakguard init' with --s3-bucket`)
  return r
}

/** `peakguard recover --from-s3`: rebuilds a site's journal on a new host into an empty data directory. */
async function recover(o: RecoverOptions): Promise<RecoverResult> {
  const cfg = loadConfig(configPath(o.config))
  const s = pickSite(cfg, o.site)
  const dataDir = o.dataDir ? path.join(path.resolve(o.dataDir), s.id) : s.dataDir
  const journalDir = new SiteDir(dataDir).journalDir
  if (fs.existsSync(journalDir) && fs.readdirSync(journalDir).length > 0)
    throw new PeakguardError('USAGE', `${journalDir} is not empty: recover rebuilds only into an empty data directory, never over a journal (choose another --data-dir)`)
  const r = requireReplica(await openReplica(s, dataDir), s, cfg.file)
  try {
    const report = await recoverFromRemote(r, o.manifest)
    // the audit log came with the journal: put its segments back where the site keeps them
    const audit = await (r.journal as GitJournal).readFolder(AUDIT_REF)
    const auditDir = new SiteDir(dataDir).auditDir
    if (audit && !fs.existsSync(auditDir)) {
      fs.mkdirSync(auditDir, { recursive: true, mode: 0o700 })
      for (const [name, bytes] of audit) fs.writeFileSync(path.join(auditDir, name), bytes, { mode: 0o600 })
    }
    return { ...report, site: s.id, dataDir, journal: journalDir, configDataDir: s.dataDir, config: cfg.file }
  } catch (e) {
    // a failed rebuild leaves nothing half-made behind: the directory was empty before
    fs.rmSync(journalDir, { recursive: true, force: true })
    fs.rmSync(path.join(dataDir, 'replica.json'), { force: true })
    throw e
  } finally {
    await r.close()
  }
}

async function init(opts: InitOptions): Promise<InitResult> {
  const file = configPath(opts.config)
  const wp = readWpConfig(opts.wpRoot)
  const siteId = opts.siteId ?? 'default'
  const existing = fs.existsSync(file) ? loadConfig(file) : null
  if (existing?.sites.some((s) => s.id === siteId))
    throw new PeakguardError('USAGE', `${file} already has a site ${siteId}: choose another --site-id`)
  const db: DbConfig = {
    host: wp.host,
    port: wp.port,
    socket: wp.socket,
    user: wp.dbUser,
    password: wp.dbPassword,
    name: wp.dbName,
    tablePrefix: wp.tablePrefix,
    multisite: wp.multisite,
  }
  const settings = new MysqlSettings(db)
  let tables: string[]
  let warnings: string[]
  try {
    tables = (await settings.tables()).map((t) => t.name)
    warnings = await settings.duplicates()
  } finally {
    await settings.close()
  }
  const dataRoot = opts.dataDir ? path.resolve(opts.dataDir) : (existing?.config.dataDir ?? undefined)
  const siteConfig = {
    id: siteId,
    wpRoot: path.resolve(opts.wpRoot),
    ...(path.resolve(wp.wpContent) !== path.join(path.resolve(opts.wpRoot), 'wp-content') ? { wpContent: path.resolve(wp.wpContent) } : {}),
    db: { host: db.host, port: db.port, socket: db.socket, user: db.user, password: db.password, name: db.name, tablePrefix: db.tablePrefix, multisite: db.multisite },
  }
  const s3 = opts.s3
    ? Object.fromEntries(
        Object.entries({ ...opts.s3, keyFile: opts.s3.keyFile && path.resolve(opts.s3.keyFile) }).filter(([, v]) => v !== undefined),
      )
    : undefined
  if (s3?.keyFile) (await s3Adapter()).readKeyFile(String(s3.keyFile)) // a missing, open or malformed key file stops init before the config is written
  addSite(file, s3 ? { ...siteConfig, s3 } : siteConfig, existing ? undefined : dataRoot, opts.uiListen)
  const loaded = loadConfig(file)
  const s = pickSite(loaded, siteId)
  const dir = new SiteDir(s.dataDir)
  dir.ensure()
  await GitJournal.open(dir.journalDir, s.id)
  let replica: InitResult['s3'] = null
  const r = await openReplica(s)
  if (r) {
    // a listing tells whether bucket, endpoint and credentials work; put-only credentials cannot list, so it only warns
    const check = await r.store.list('manifests/').then(
      (l) => (l.length ? `reachable; it already holds ${l.length} manifest(s) of this site (see 'peakguard recover --from-s3')` : 'reachable'),
      (e: Error) => `WARNING: cannot list it: ${e.message}`,
    )
    replica = { location: r.store.location, encrypted: r.store.encrypted, check }
    await r.close()
  }
  return { config: file, site: siteId, wpContent: s.wpContent, dataDir: s.dataDir, tables, warnings, multisite: db.multisite, s3: replica, uiListen: loaded.config.ui.listen }
}

/** How long a stopping daemon or a finished command waits for its notifications to go out. */
const NOTIFY_CLOSE_MS = 5000

/** The recording loop and prober of one site, with the settings from its config. */
async function daemonSite(cfg: LoadedConfig, s: ResolvedSite, log: ReturnType<typeof createLog>, metrics: PromMetrics): Promise<{ daemon: DaemonSite; ui: UiSite }> {
  const site = await openSite(cfg, s)
  const { FsWatcher } = await import('./adapters/fs-watcher.ts')
  const recording = new SiteRecording(site, new FsWatcher(s.wpContent, [...DEFAULT_IGNORED_FILES, ...s.ignore.files]), log, metrics, {
    quietMs: s.watch.quiet,
    maxWaitMs: s.watch.maxWait,
    reconcileMs: s.watch.reconcile,
    fallbackScanMs: s.watch.fallbackScan,
    pollMs: s.poll.interval,
  }, new V8Heap())
  // one queue and sender per webhook: a dead one delays neither the daemon nor the other webhooks
  const notifier = new WebhookNotifier(s.id, s.notify.webhooks, log, {}, metrics)
  const prober = new Prober(site, recording, new HttpProbe(), log, metrics, {
    intervalMs: s.health.interval,
    goodAfterMs: s.health.goodAfter,
    probes: (s.health.probes.length ? s.health.probes : [DEFAULT_PROBE]).map((p) => ({ url: p.url, status: [...p.status], maxLatencyMs: p.maxLatency, timeoutMs: p.timeout })),
    autoRollback: { enabled: s.autoRollback.enabled, afterFailures: s.autoRollback.afterFailures, minIntervalMs: s.autoRollback.minInterval },
  }, { notify: notifier })
  const replica = await openReplica(s)
  const replicator = replica
    ? new Replicator(replica, log, metrics, { checkMs: 1000, lagAlertMs: s.s3!.lagAlert, retryMinMs: 1000, retryMaxMs: s.s3!.retryMax }, { notify: notifier })
    : null
  // the gate and the UI share the site's governance documents and audit log
  const docs = new SiteDir(s.dataDir)
  const audit = auditLogFor(s)
  const governance = siteGovernance(cfg, s, site, docs, audit, notifier, log)
  const daemon: DaemonSite = {
    id: s.id,
    recording,
    prober,
    replicator,
    governance,
    close: async () => {
      // what the stopping services reported last still goes out, for at most a few seconds
      const flushed = notifier.close(NOTIFY_CLOSE_MS)
      await site.close()
      await replica?.close()
      await flushed
    },
  }
  const bridge = bridgeControl(s)
  const ui: UiSite = {
    id: s.id,
    zone: siteZone(s.freeze),
    freeze: s.freeze,
    site,
    docs,
    audit,
    notify: notifier,
    syncBridge: () => bridge.syncState(),
    // restores and decisions from the UI wait for the snapshot in progress, and the gate waits for them
    exclusive: (fn) => recording.exclusive(fn),
  }
  return { daemon, ui }
}

/** The freeze of a site as its services read it (from the config and the site's freeze document). */
function freezeSource(s: ResolvedSite, docs: SiteDir, audit: AuditLog) {
  const settings = { policy: s.freeze.policy, windows: s.freeze.windows, approvalUrl: s.freeze.approvalUrl, zone: s.freeze.zone }
  return {
    at: async (now: number) => activeFreeze(s.freeze.windows, await readFreezeDoc(docs), now),
    allows: async () => (await readFreezeDoc(docs)).allows,
    bridgeState: (now: number) =>
      bridgeState(docs, { id: s.id, freeze: settings, protectedOptions: [], ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options] }, now),
    recordBaseline: async (span: { source: string; start: number }, head: string | null) =>
      (await recordBaseline({ site: s.id, docs, audit, now: Date.now }, { source: span.source, start: span.start, state: head, actor: 'peakguard' })).recorded,
  }
}

/** Attribution, audit and the freeze gate of one site, for the daemon. */
function siteGovernance(cfg: LoadedConfig, s: ResolvedSite, site: Site, docs: SiteDir, audit: AuditLog, notify: WebhookNotifier, log: ReturnType<typeof createLog>): SiteGovernance {
  return new SiteGovernance({
    site,
    docs,
    audit,
    notify,
    log,
    policy: s.freeze.policy,
    freeze: freezeSource(s, docs, audit),
    events: new WpEventsFile(path.join(s.bridgeDir, 'events.jsonl')),
    bridge: site.bridge ?? null,
    names: new OsUsers(),
    identities: async () => {
      const users = await accessFor(cfg).listUsers()
      return (name) => [name, ...(aliasesOf(users.find((u) => u.name === name)).aliases ?? [])]
    },
    tickMs: 2000,
  })
}

function hostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':')
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) }
}

/**
 * The config the daemon runs with, in each site's audit log when it differs from the last one the daemon
 * ran with (a digest only). The daemon reads its config once, at
 * start, so a start with a changed file is when a config change takes effect.
 */
async function auditConfig(cfg: LoadedConfig, s: ResolvedSite): Promise<void> {
  // of the config as understood, secrets redacted: a digest of the file would let whoever reads the
  // (replicated) audit log test guesses of the database password against it
  const sha256 = createHash('sha256').update(JSON.stringify(redact({ ...cfg.config, sites: [...cfg.sites] }))).digest('hex')
  const docs = new SiteDir(s.dataDir)
  docs.ensure()
  const last = await docs.readDoc<{ sha256: string; file: string }>('config')
  if (last?.sha256 === sha256) return
  await auditLogFor(s).append({
    type: 'config-reload',
    actor: 'peakguard',
    site: s.id,
    summary: last ? `the daemon started with a changed config ${cfg.file} (sha256 ${sha256.slice(0, 12)}, was ${last.sha256.slice(0, 12)})` : `the daemon started with config ${cfg.file} (sha256 ${sha256.slice(0, 12)})`,
    details: { file: cfg.file, sha256, previous: last?.sha256 ?? null },
  })
  await docs.writeDoc('config', { sha256, file: cfg.file })
}

/** `peakguard daemon`: every site of the config (or the one given with --site) until SIGTERM/SIGINT. */
async function runDaemon(o: GlobalOptions): Promise<void> {
  const cfg = loadConfig(configPath(o.config))
  const log = createLog(cfg.config.log.level)
  const { PromMetrics } = await import('./adapters/metrics.ts')
  const metrics = new PromMetrics()
  const stop = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'))
    process.once('SIGINT', () => resolve('SIGINT'))
  })
  const chosen = o.site ? [pickSite(cfg, o.site)] : cfg.sites
  for (const s of chosen) await auditConfig(cfg, s)
  const sites = await Promise.all(chosen.map((s) => daemonSite(cfg, s, log, metrics)))
  const daemon = new Daemon(
    sites.map((x) => x.daemon),
    log,
  )
  // loaded here, not at the top: Express, sessions, templates and the rest cost every CLI command ~0.7 s of
  // start-up, and only the daemon serves HTTP
  const { buildApp } = await import('./http/app.ts')
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
  log.info({}, 'peakguard daemon stopped')
  log.flush()
}

async function daemonStatus(o: GlobalOptions, siteId: string): ReturnType<Runtime['daemonStatus']> {
  const cfg = loadConfig(configPath(o.config))
  const { port } = hostPort(cfg.config.ui.listen)
  let { host } = hostPort(cfg.config.ui.listen)
  if (host === '0.0.0.0') host = '127.0.0.1'
  if (host === '::') host = '::1'
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  try {
    const token = process.env.PEAKGUARD_TOKEN
    const res = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(3000), headers: token ? { authorization: `Bearer ${token}` } : {} })
    if (res.status === 401) return { running: false, url, reason: `the daemon at ${url} answers, but its API needs a token: set PEAKGUARD_TOKEN (peakguard token create)` }
    if (!res.ok) return { running: false, url, reason: `${url} answered HTTP ${res.status}` }
    const body = (await res.json()) as DaemonStatus
    return { running: true, url, site: body.sites.find((x) => x.site === siteId) ?? null }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    return { running: false, url, reason: `nothing answers at ${url}: ${err.cause?.code ?? err.message}` }
  }
}

// ── users, actors and the audit log ────────────────────────────────────────────────────────────────

/** A site's audit log: <siteDataDir>/audit/, serialised across processes by <siteDataDir>/audit.lock. */
export function auditLogFor(s: ResolvedSite, rotateBytes?: number): AuditLog {
  const dir = new SiteDir(s.dataDir)
  dir.ensure()
  return new AuditLog(new AuditFile(dir.auditDir, () => dir.lock(30_000, 'audit.lock', 'is writing the audit log'), { rotateBytes }))
}

export function accessFor(cfg: LoadedConfig): Access {
  const folder = new SiteDir(path.dirname(cfg.usersFile))
  return new Access(new UsersFile(cfg.usersFile, () => folder.lock(30_000, `${path.basename(cfg.usersFile)}.lock`, 'is changing the peakguard users')))
}

async function auditAll(cfg: LoadedConfig, input: Omit<AuditInput, 'site'>): Promise<void> {
  for (const s of cfg.sites) await auditLogFor(s).append({ ...input, site: s.id })
}

function osUser(): string {
  return process.env.SUDO_USER || process.env.USER || os.userInfo().username
}

/**
 * Who acts. Name: --as, else the user mapped from SUDO_USER, else from USER (etckeeper's order). Proof:
 * $PEAKGUARD_TOKEN (with no --as the actor is the token's user) or the password on stdin (--password-stdin).
 * With no users at all: the OS user as an unmanaged admin, so a single-operator install works as before.
 */
async function actor(o: GlobalOptions, action: Action): Promise<Actor> {
  const cfg = loadConfig(configPath(o.config))
  const access = accessFor(cfg)
  const me = osUser()
  if (!(await access.hasUsers())) return { name: me, role: 'admin', via: 'unmanaged', osUser: me }
  const failed = async (claimed: string, via: 'password' | 'token', e: unknown): Promise<never> => {
    // no secret in it: who was claimed, how, and from which OS user (the entry the daemon writes for a wrong
    // password or API token, but with the OS user for the address)
    await auditAll(cfg, deniedAudit.loginFailed({ via, as: claimed, osUser: me }))
    throw e
  }
  let who: Actor
  const token = process.env.PEAKGUARD_TOKEN
  if (token) {
    who = await access.authenticateToken(token).catch((e: unknown) => failed(o.as ?? 'unknown', 'token', e))
    if (o.as && o.as !== who.name)
      await failed(o.as, 'token', new PeakguardError('AUTH_FAILED', `PEAKGUARD_TOKEN belongs to ${who.name}, not to ${o.as} (--as)`))
  } else {
    const name = o.as ?? (process.env.SUDO_USER ? (await access.userForOs(process.env.SUDO_USER))?.name : undefined) ?? (process.env.USER ? (await access.userForOs(process.env.USER))?.name : undefined)
    const how = `pipe ${name ?? 'the user'}'s password into --password-stdin (printf '%s\\n' "$PW" | peakguard${name && name !== o.as ? '' : ` --as ${name ?? 'NAME'}`} --password-stdin …), or set PEAKGUARD_TOKEN to a token from 'peakguard token create'`
    if (!o.passwordStdin) throw new PeakguardError('AUTH_REQUIRED', `peakguard has users (${access.where}): prove who you are: ${how}`)
    if (!name) throw new PeakguardError('AUTH_REQUIRED', `no peakguard user maps to the OS user ${me}: name yourself with --as NAME (and ${how})`)
    const password = await readStdinLine()
    if (!password) throw new PeakguardError('AUTH_REQUIRED', `--password-stdin: stdin held no password: ${how}`)
    who = await access.authenticatePassword(name, password).catch((e: unknown) => failed(name, 'password', e))
  }
  authorize(who, action)
  // the OS users and WordPress logins mapped to this person count as them for the two-person rule
  // (a file they own, a change made in wp-admin as their login, is theirs)
  const rec = await access.getUser(who.name)
  return { ...who, osUser: me, ...aliasesOf(rec) }
}

let stdinLine: Promise<string> | null = null

/** stdin's first line; on a terminal it is read without echo. */
function readStdinLine(): Promise<string> {
  stdinLine ??= new Promise<string>((resolve, reject) => {
    const input = process.stdin
    const tty = input.isTTY
    let buf = ''
    const finish = (line: string) => {
      input.off('data', onData)
      input.off('end', onEnd)
      input.off('error', reject)
      if (tty) {
        input.setRawMode(false)
        process.stderr.write('\n')
      }
      input.pause()
      resolve(line.replace(/\r$/, ''))
    }
    const onData = (d: Buffer) => {
      const text = d.toString('utf8')
      if (tty && text.includes('\u0003')) {
        input.setRawMode(false)
        reject(new PeakguardError('USAGE', 'cancelled'))
        return
      }
      buf += tty ? text.replace(/\r/g, '\n') : text
      const i = buf.indexOf('\n')
      if (i >= 0) finish(buf.slice(0, i))
    }
    const onEnd = () => finish(buf)
    if (tty) {
      process.stderr.write('password: ')
      input.setRawMode(true)
    }
    input.on('data', onData)
    input.on('end', onEnd)
    input.on('error', reject)
    input.resume()
  })
  return stdinLine
}

export function runtime(): Runtime {
  return {
    runDaemon,
    daemonStatus,
    openSite: async (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      return openSite(cfg, pickSite(cfg, o.site))
    },
    init,
    recover,
    openReplica: async (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      const s = pickSite(cfg, o.site)
      return requireReplica(await openReplica(s), s, cfg.file)
    },
    docs: (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      const dir = new SiteDir(pickSite(cfg, o.site).dataDir)
      dir.ensure()
      return dir
    },
    freezeSettings: (o: GlobalOptions) => {
      const s = pickSite(loadConfig(configPath(o.config)), o.site)
      return { site: s.id, freeze: s.freeze }
    },
    hasReplica: (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      return pickSite(cfg, o.site).s3 !== null
    },
    notifier: (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      const s = pickSite(cfg, o.site)
      // a command's delivery problems go to stderr (stdout may be --json); warnings only
      return new WebhookNotifier(s.id, s.notify.webhooks, createLog('warn', process.stderr))
    },
    showConfig: (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      return { file: cfg.file, config: redact({ ...cfg.config, sites: [...cfg.sites] }) }
    },
    actor,
    audit: async (o: GlobalOptions) => {
      const cfg = loadConfig(configPath(o.config))
      return auditLogFor(pickSite(cfg, o.site))
    },
    access: async (o: GlobalOptions) => accessFor(loadConfig(configPath(o.config))),
    auditAll: async (o: GlobalOptions, input) => auditAll(loadConfig(configPath(o.config)), input),
    bridge: async (o: GlobalOptions) => bridgeControl(pickSite(loadConfig(configPath(o.config)), o.site)),
    readStdinLine,
    isInteractive: () => !!process.stdin.isTTY && !!process.stderr.isTTY,
    confirm: async (q) => {
      const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
      try {
        return /^y(es)?$/i.test((await rl.question(q)).trim())
      } finally {
        rl.close()
      }
    },
    out: (t) => void process.stdout.write(t.endsWith('\n') ? t : `${t}\n`),
    err: (t) => void process.stderr.write(t.endsWith('\n') ? t : `${t}\n`),
  }
}

export { loadConfig, pickSite }

// run the CLI when this file is the program (not when a test imports the composition)
const entry = process.argv[1] ? fs.realpathSync(process.argv[1]) : ''
if (entry === fs.realpathSync(fileURLToPath(import.meta.url))) {
  const rt = runtime()
  // the last guard: a failure nobody awaited still goes through the error table (message, exit code, JSON),
  // never a bare stack trace; the daemon exits with it and systemd starts it again
  process.on('unhandledRejection', (e) => {
    process.exit(report(rt, { json: process.argv.includes('--json') } as GlobalOptions, e))
  })
  process.exitCode = await runCli(process.argv.slice(2), rt)
}
