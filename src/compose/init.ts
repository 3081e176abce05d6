// `peakguard init`, composed: a WordPress install read (wp-config.php), its database probed, a site
// added to the config file, its data directory and journal created, its replica checked, and for a fleet
// the fleet tables made in its database. Composition rather than a service: it builds a site from nothing,
// with the adapters of each part.
import path from 'node:path'
import fs from 'node:fs'
import os from 'node:os'
import readline from 'node:readline'
import { GitJournal } from '../adapters/git-journal.ts'
import { MysqlSettings, type DbConfig } from '../adapters/mysql-settings.ts'
import { SiteDir } from '../adapters/site-dir.ts'
import { readWpConfig } from '../adapters/wp-config.ts'
import type { InitOptions, InitResult } from '../cli/runtime.ts'
import { configPath, configWithSite, loadConfig, nodeIdOf, settingsTablesOf, writeConfigFile } from '../config.ts'
import { TABLE_PRESETS } from '../core/index.ts'
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
  const chosen = opts.settingsTables ? settingsTablesFlag(opts.settingsTables) : null
  const settings = new MysqlSettings(db)
  let tables: string[]
  let warnings: string[]
  let found: string[]
  try {
    tables = (await settings.tables()).map((t) => t.name)
    warnings = await settings.duplicates()
    found = await presetsIn(settings)
  } finally {
    await settings.close()
  }
  // a plugin whose settings tables are here: offered (asked on a terminal, default yes), never added unasked
  let settingsTables = chosen ?? []
  const offered: string[] = []
  for (const preset of found) {
    if (settingsTables.includes(preset)) continue
    const problem = await checkTables(db, [preset]).then(
      () => null,
      (e: Error) => e.message,
    )
    if (problem) {
      warnings.push(`the database holds ${preset}'s tables, but the ${preset} preset cannot record them: ${problem}`)
      continue
    }
    if (!chosen && opts.ask && (await askYes(`This database holds ${PRESET_WHAT[preset] ?? `${preset}'s settings tables`}. Record them too (settingsTables: [${preset}])? [Y/n] `)))
      settingsTables = [...settingsTables, preset]
    else offered.push(preset)
  }
  // every named table exists, has a primary key and is small enough to be settings: refused by name before the config is written
  if (settingsTables.length) tables = await checkTables(db, settingsTables)
  // a fleet shares its history through the replica: without one there is nothing to join (the config check says so too)
  if (opts.fleet && !opts.s3) throw new PeakguardError('USAGE', '--fleet needs --s3-bucket: the nodes of a fleet share their history through the S3 replica')
  const dataRoot = opts.dataDir ? path.resolve(opts.dataDir) : (existing?.config.dataDir ?? undefined)
  const siteConfig = {
    id: siteId,
    wpRoot: path.resolve(opts.wpRoot),
    ...(path.resolve(wp.wpContent) !== path.join(path.resolve(opts.wpRoot), 'wp-content') ? { wpContent: path.resolve(wp.wpContent) } : {}),
    db: { host: db.host, port: db.port, socket: db.socket, user: db.user, password: db.password, name: db.name, tablePrefix: db.tablePrefix, multisite: db.multisite },
    ...(settingsTables.length ? { settingsTables } : {}),
    ...(opts.fleet ? { fleet: {} } : {}),
  }
  const s3 = opts.s3
    ? Object.fromEntries(
        Object.entries({ ...opts.s3, keyFile: opts.s3.keyFile && path.resolve(opts.s3.keyFile) }).filter(([, v]) => v !== undefined),
      )
    : undefined
  if (s3?.keyFile) (await s3Adapter()).readKeyFile(String(s3.keyFile)) // a missing, open or malformed key file stops init before the config is written
  const planned = configWithSite(file, s3 ? { ...siteConfig, s3 } : siteConfig, existing ? undefined : dataRoot, opts.uiListen)
  // the fleet tables before the config: a database user that may not create them stops init with nothing written
  const fleet = opts.fleet ? await fleetTables(db, siteId, nodeIdOf(planned.config, os.hostname(), file)) : null
  writeConfigFile(file, planned.text)
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
  return {
    config: file,
    site: siteId,
    wpContent: s.wpContent,
    dataDir: s.dataDir,
    tables,
    warnings,
    multisite: db.multisite,
    s3: replica,
    uiListen: loaded.config.ui.listen,
    settingsTables,
    fleet,
    presetsFound: found,
    offer: offered.length
      ? { presets: offered, line: `settingsTables: [${[...settingsTables, ...offered].join(', ')}]`, flag: `--settings-tables ${[...settingsTables, ...offered].join(',')}` }
      : null,
  }
}

/** The fleet's tables in the site's database (made if missing, kept if there: every node's init runs this). */
async function fleetTables(db: DbConfig, siteId: string, node: string): Promise<NonNullable<InitResult['fleet']>> {
  // loaded only for a fleet, as the replica's SDK is
  const { MysqlFleet } = await import('../adapters/mysql-fleet.ts')
  const fleet = new MysqlFleet(db, siteId, node)
  const tables = [...fleet.tables]
  try {
    await fleet.ensure()
  } catch (e) {
    // most often a WordPress database user without CREATE: say which grant makes init work
    if (e instanceof PeakguardError && e.code === 'DB_FAILED')
      throw new PeakguardError('DB_FAILED', `${e.message}: init --fleet makes the tables ${tables.join(', ')}, which needs CREATE on database ${db.name} for user ${db.user}`, { cause: e })
    throw e
  } finally {
    await fleet.close()
  }
  return { node, tables }
}

/** What a preset records, in the question init asks. */
const PRESET_WHAT: Record<string, string> = {
  woocommerce: "WooCommerce's settings tables (tax rates and their locations, shipping zones, zone locations and methods, attribute taxonomies, webhooks; never orders or customers)",
}

/** `--settings-tables a,b`: presets and table names (without the prefix), each once. */
function settingsTablesFlag(items: readonly string[]): string[] {
  const out: string[] = []
  for (const item of items.flatMap((i) => i.split(',')).map((i) => i.trim())) {
    if (!item) throw new PeakguardError('USAGE', `--settings-tables: an empty name in ${JSON.stringify(items.join(','))}: give presets (${Object.keys(TABLE_PRESETS).join(', ')}) or table names without the prefix, separated by commas`)
    if (!out.includes(item)) out.push(item)
  }
  return out
}

/** The presets whose first table (the one a plugin always creates: woocommerce_tax_rates) is in the database. */
async function presetsIn(settings: MysqlSettings): Promise<string[]> {
  const firsts = Object.entries(TABLE_PRESETS).map(([preset, specs]) => [preset, specs[0]?.table ?? ''] as const)
  const existing = new Set(await settings.existingTables(firsts.map(([, t]) => t)))
  return firsts.filter(([, t]) => existing.has(t)).map(([preset]) => preset)
}

/** The tables a site with these settingsTables records, as the config load checks them (CONFIG_INVALID naming a table). */
async function checkTables(db: DbConfig, settingsTables: string[]): Promise<string[]> {
  const settings = new MysqlSettings(db, { settingsTables: settingsTablesOf({ settingsTables }) })
  try {
    return (await settings.tables()).map((t) => t.name)
  } finally {
    await settings.close()
  }
}

/** A yes/no question on the terminal where Enter means yes; end of input means no. */
async function askYes(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  try {
    const answer = await new Promise<string | null>((resolve) => {
      rl.once('close', () => resolve(null))
      rl.question(question, resolve)
    })
    return answer !== null && /^(y(es)?)?$/i.test(answer.trim())
  } finally {
    rl.close()
  }
}
