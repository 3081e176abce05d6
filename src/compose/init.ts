// `peakguard init`, composed: a WordPress install read (wp-config.php), its database probed, a site
// added to the config file, its data directory and journal created, its replica checked. Composition
// rather than a service: it builds a site from nothing, with the adapters of each part.
import path from 'node:path'
import fs from 'node:fs'
import { GitJournal } from '../adapters/git-journal.ts'
import { MysqlSettings, type DbConfig } from '../adapters/mysql-settings.ts'
import { SiteDir } from '../adapters/site-dir.ts'
import { readWpConfig } from '../adapters/wp-config.ts'
import type { InitOptions, InitResult } from '../cli/runtime.ts'
import { addSite, configPath, loadConfig } from '../config.ts'
import { PeakguardError } from '../errors.ts'
import { openReplica, pickSite, s3Adapter } from './sites.ts'

export async function init(opts: InitOptions): Promise<InitResult> {
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
