// The composition root, per site: one site's adapters wired into what the services need — the site
// (journal, live files, settings, lock), its replica, its WordPress bridge, its audit log and the users
// file. Every process builds these from the config it loaded once (runtime.ts, daemon.ts).
import fs from 'node:fs'
import path from 'node:path'
import { AuditFile } from '../adapters/audit-file.ts'
import { syncDir, writeFileDurably } from '../adapters/durable-file.ts'
import { GitJournal } from '../adapters/git-journal.ts'
import { HttpProbe } from '../adapters/http-probe.ts'
import { HttpPurge, shownUrl } from '../adapters/http-purge.ts'
import { ShellHooks } from '../adapters/hooks.ts'
import { MysqlSettings, type DbConfig } from '../adapters/mysql-settings.ts'
import { SiteDir } from '../adapters/site-dir.ts'
import { UsersFile } from '../adapters/users-file.ts'
import { WpBridge } from '../adapters/wp-bridge.ts'
import { WpFiles } from '../adapters/wp-files.ts'
import { DEFAULT_PROBE, settingsTablesOf, type LoadedConfig, type ResolvedSite } from '../config.ts'
import { DEFAULT_IGNORED_FILES, DEFAULT_IGNORED_OPTIONS, ignoreRules, markerRule, judgeProbe, type AuditInput, type ProbeSpec, type PurgePort } from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import type { BridgeControl } from '../cli/runtime.ts'
import { Access } from '../services/access.ts'
import { AuditLog } from '../services/audit.ts'
import { bridgeState, daemonForBridge } from '../services/freeze.ts'
import { hostPort } from './daemon-client.ts'
import type { ReplicaSite, Site } from '../services/index.ts'

// The AWS SDK is loaded only by the commands that reach the replica: at the top it costs every other
// command its start-up.
export const s3Adapter = () => import('../adapters/s3-store.ts')

export function pickSite(cfg: LoadedConfig, id: string | undefined): ResolvedSite {
  if (id) {
    const s = cfg.sites.find((x) => x.id === id)
    if (!s) throw new PeakguardError('SITE_UNKNOWN', `no site ${id} in ${cfg.file} (sites: ${cfg.sites.map((x) => x.id).join(', ')})`)
    return s
  }
  if (cfg.sites.length > 1) throw new PeakguardError('USAGE', `${cfg.file} has ${cfg.sites.length} sites (${cfg.sites.map((x) => x.id).join(', ')}): choose one with --site`)
  return cfg.sites[0] as ResolvedSite
}

export function dbConfig(s: ResolvedSite): DbConfig {
  return { ...s.db }
}

/** Where the site's bridge asks the daemon (ui.listen, on loopback) for a pre-update snapshot, and how long it waits. */
export function bridgeDaemon(s: ResolvedSite, listen: string): { url: string; waitSeconds: number } | null {
  return daemonForBridge(hostPort(listen), s.bridge.preUpdateWait)
}

/** The WordPress bridge of a site for `peakguard wp …`, with the freeze state it should hold now (`listen`: ui.listen). */
export function bridgeControl(s: ResolvedSite, listen: string): BridgeControl {
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
    bridgeState(
      new SiteDir(s.dataDir),
      { id: s.id, freeze: s.freeze, protectedOptions: [], ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options], settingsTables: settingsTablesOf(s), daemon: bridgeDaemon(s, listen) },
      Date.now(),
    )
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
  const settings = new MysqlSettings(dbConfig(s), { ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options], settingsTables: settingsTablesOf(s) })
  const bridge = new WpBridge({
    site: s.id,
    wpContent: s.wpContent,
    bridgeDir: s.bridgeDir,
    url: s.bridge.url,
    timeoutMs: s.bridge.timeout,
    homeUrl: () => settings.homeUrl(),
    ignoredOptions: [...DEFAULT_IGNORED_OPTIONS, ...s.ignore.options],
  })
  return {
    id: s.id,
    hooks: new ShellHooks(s.hooks.postRestore, s.hooks.timeout),
    health: dir,
    journal,
    files: new WpFiles(s.wpContent, dir.cacheFile, [...DEFAULT_IGNORED_FILES, ...s.ignore.files], s.followLinksInto),
    settings,
    dir,
    ignore,
    markers: markerRule(s.migrationMarkers),
    lockWaitMs: cfg.config.lockWaitSeconds * 1000,
    bridge,
    purgers: sitePurgers(s, bridge),
    confirm: () => confirmPages(s, () => settings.homeUrl()),
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
    audit: auditLogFor(s, undefined, cfg),
    close: () => settings.close(),
  }
}

/** What caches the site's pages, purged after a restore in this order: the page-cache plugins (through the bridge), then HTTP and Cloudflare. */
function sitePurgers(s: ResolvedSite, bridge: WpBridge): PurgePort[] {
  const out: PurgePort[] = []
  if (s.purge.plugins) out.push({ label: 'page-cache plugins', kind: 'plugin', purge: () => bridge.purgePlugins(s.purge.timeout) })
  if (s.purge.http.length || s.purge.cloudflare) out.push(new HttpPurge({ http: s.purge.http, cloudflare: s.purge.cloudflare, timeoutMs: s.purge.timeout }))
  return out
}

/**
 * The check after a restore's purges: every probe of the site (probeSpecs) fetched past the page caches
 * (bypassCache) and judged as the prober judges. The probes' secrets are read here, when it runs: a CLI
 * command that never restores does not need the daemon's environment. Never rejects.
 */
async function confirmPages(s: ResolvedSite, homeUrl: () => Promise<string | null>): Promise<{ ok: boolean; detail: string }> {
  let specs: ReturnType<typeof probeSpecs>
  try {
    specs = probeSpecs(s)
  } catch (e) {
    return { ok: false, detail: `not checked: ${(e as Error).message}` }
  }
  let home: string | null = null
  if (specs.some((p) => p.url === null)) home = await homeUrl().catch(() => null)
  const probe = new HttpProbe()
  const verdicts = await Promise.all(
    specs.map(async (spec) => {
      const url = spec.url ?? home
      const name = spec.name ?? (url ? shownUrl(url) : 'the home page')
      if (!url) return { ok: false, text: `${name}: not checked: the site's home option cannot be read` }
      const v = judgeProbe(await probe.fetch({ ...spec, url, bypassCache: true }), spec)
      return { ok: v.ok, text: `${name}: ${v.ok ? `HTTP ${v.status} in ${v.latencyMs} ms` : v.reason}` }
    }),
  )
  return { ok: verdicts.every((v) => v.ok), detail: verdicts.map((v) => v.text).join('; ') }
}

/** The replica key: the site's keyFile, else $PEAKGUARD_S3_KEY, else none (unencrypted). */
async function replicaKey(s: ResolvedSite): Promise<Buffer | null> {
  const { readKeyFile, parseKey } = await s3Adapter()
  if (s.s3?.keyFile) return readKeyFile(s.s3.keyFile)
  const env = process.env.PEAKGUARD_S3_KEY
  return env ? parseKey(Buffer.from(env), 'PEAKGUARD_S3_KEY') : null
}

/** The ref the audit log's segments are kept on inside the journal (so the replica carries them). */
export const AUDIT_REF = 'refs/peakguard/audit'

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

/** A segment name as the audit log writes them (audit.jsonl, audit-<seq>.jsonl): nothing that could leave the folder. */
const SEGMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$/

/** What storeFolder stores of a folder: plain files, neither temporary nor hidden. */
function storedNames(dir: string): string[] {
  if (!fs.existsSync(dir)) return []
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('.tmp') && !e.name.startsWith('.'))
    .map((e) => e.name)
}

/**
 * Makes the audit folder exactly the files on AUDIT_REF, under the audit log's lock: each written
 * atomically (temporary file, rename) with mode 0600, and segments the ref no longer has removed. Nothing
 * happens while the ref is absent (no node has stored an audit log yet). A local file whose entries the ref
 * does not hold (appended here after this node's last push) is not lost without a trace: it is kept beside
 * the log as a hidden `.NAME.unreplicated-<ms>` file, which neither the log nor the replica reads.
 */
async function refreshFolder(journal: GitJournal, dir: SiteDir): Promise<void> {
  const audit = await journal.readFolder(AUDIT_REF)
  if (!audit) return
  const bad = [...audit.keys()].find((n) => !SEGMENT_NAME.test(n) || n.endsWith('.tmp'))
  if (bad !== undefined) throw new PeakguardError('REPLICA_INVALID', `the audit log on the journal's ${AUDIT_REF} holds a file named ${JSON.stringify(bad)}, which is no audit segment: not written into ${dir.auditDir}`)
  fs.mkdirSync(dir.auditDir, { recursive: true, mode: 0o700 })
  const release = await dir.lock(30_000, 'audit.lock', 'is writing the audit log')
  try {
    const held = [...audit.values()]
    const setAside = (name: string, bytes: Buffer) => {
      // its entries are somewhere in the ref (the same file, or the segment a rotation renamed it to)
      if (held.some((h) => h.length >= bytes.length && h.subarray(0, bytes.length).equals(bytes))) return
      writeFileDurably(path.join(dir.auditDir, `.${name}.unreplicated-${Date.now()}`), bytes, { mode: 0o600 })
    }
    for (const [name, bytes] of audit) {
      const file = path.join(dir.auditDir, name)
      const st = fs.statSync(file, { throwIfNoEntry: false })
      if (st?.isFile()) {
        const mine = fs.readFileSync(file)
        if (mine.equals(bytes) && (st.mode & 0o777) === 0o600) continue
        setAside(name, mine)
      }
      writeFileDurably(file, bytes, { mode: 0o600, tmp: path.join(dir.auditDir, `.${name}.pull.tmp`) })
    }
    let removed = false
    for (const name of storedNames(dir.auditDir))
      if (!audit.has(name)) {
        setAside(name, fs.readFileSync(path.join(dir.auditDir, name)))
        fs.rmSync(path.join(dir.auditDir, name), { force: true })
        removed = true
      }
    if (removed) syncDir(dir.auditDir)
  } catch (e) {
    throw fsFailure(e, { doing: 'writing', what: `the audit log in ${dir.auditDir}` })
  } finally {
    await release()
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
      // after a rebuild from the replica: the audit log's segments back where the site keeps them
      restore: async () => {
        const audit = await journal.readFolder(AUDIT_REF)
        if (!audit || fs.existsSync(dir.auditDir)) return
        fs.mkdirSync(dir.auditDir, { recursive: true, mode: 0o700 })
        for (const [name, bytes] of audit) fs.writeFileSync(path.join(dir.auditDir, name), bytes, { mode: 0o600 })
      },
      // after a pull (a fleet's shared journal): the audit folder made exactly what the ref now holds
      refresh: () => refreshFolder(journal, dir),
    },
    openJournal: (d) => GitJournal.open(d, s.id),
    close: async () => store.close(),
  }
}

export function requireReplica<T>(r: T | null, s: ResolvedSite, file: string): T {
  if (!r)
    throw new PeakguardError('REPLICA_NOT_CONFIGURED', `site ${s.id} has no S3 replica: add an s3 block (bucket, region, …) to it in ${file}, or run 'peakguard init' with --s3-bucket`)
  return r
}

/** A site's audit log: <siteDataDir>/audit/, serialised across processes by <siteDataDir>/audit.lock. */
export function auditLogFor(s: ResolvedSite, rotateBytes?: number, cfg?: LoadedConfig): AuditLog {
  const dir = new SiteDir(s.dataDir)
  dir.ensure()
  const local = () => dir.lock(30_000, 'audit.lock', 'is writing the audit log')
  // a fleet's audit log is one chain for all nodes: an entry is appended as the fleet's one journal writer, after
  // this node's copy caught up with the others' entries, and pushed at once (compose/fleet.ts)
  const lock = s.fleet && cfg ? async () => (await import('./fleet.ts')).sharedLock(cfg, s, openReplica, local) : local
  return new AuditLog(new AuditFile(dir.auditDir, lock, { rotateBytes }))
}

export function accessFor(cfg: LoadedConfig): Access {
  const folder = new SiteDir(path.dirname(cfg.usersFile))
  return new Access(new UsersFile(cfg.usersFile, () => folder.lock(30_000, `${path.basename(cfg.usersFile)}.lock`, 'is changing the peakguard users')))
}

export async function auditAll(cfg: LoadedConfig, input: Omit<AuditInput, 'site'>): Promise<void> {
  for (const s of cfg.sites) await auditLogFor(s, undefined, cfg).append({ ...input, site: s.id })
}

/** A site's data directory, made if missing: its governance documents (freeze, requests, allow windows). */
export function siteDocs(s: ResolvedSite): SiteDir {
  const dir = new SiteDir(s.dataDir)
  dir.ensure()
  return dir
}

/**
 * A site's probes as the prober and the post-restore check use them: the defaults when none is configured,
 * secrets read from the environment now (a missing variable is an error naming it, at start, not a probe
 * failing at 3 a.m.).
 */
export function probeSpecs(s: ResolvedSite): (Omit<ProbeSpec, 'url'> & { url: string | null })[] {
  return (s.health.probes.length ? s.health.probes : [DEFAULT_PROBE]).map((p, i) => {
    let basicAuth: ProbeSpec['basicAuth'] = null
    if (p.basicAuth) {
      const env = p.basicAuth.passwordEnv
      const password = env ? process.env[env] : p.basicAuth.password
      if (password === undefined || password === null)
        throw new PeakguardError('CONFIG_INVALID', `sites.${s.id}.health.probes.${i}.basicAuth.passwordEnv: the environment variable ${env} is not set (set it for the daemon, e.g. in the systemd unit's EnvironmentFile)`)
      basicAuth = { user: p.basicAuth.user, password }
    }
    return {
      name: p.name,
      url: p.url,
      method: p.method,
      headers: { ...p.headers },
      basicAuth,
      tls: { caFile: p.tls.caFile, selfSignedOnLoopback: p.tls.selfSignedOnLoopback },
      followRedirects: p.followRedirects,
      status: [...p.status],
      mustContain: p.mustContain.map((m) => (typeof m === 'string' ? m : { ...m })),
      mustNotContain: p.mustNotContain.map((m) => (typeof m === 'string' ? m : { ...m })),
      maxLatencyMs: p.maxLatency,
      timeoutMs: p.timeout,
    }
  })
}
