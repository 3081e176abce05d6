// bench/settings.ts — the settings poll and settings snapshots once Site Editor entities and settings tables are
// state (issue 17), on a database of its own beside the bench's options-only one (bench/run.ts calls
// benchSettings() after the daemon part, or alone with --settings-only):
//   1. the settings poll: MysqlSettings.fingerprint() as the daemon calls it (one kept connection, its ignore
//      list, the configured tables) on the bench's 2,000 options + 300 entities + 5 WooCommerce tables of
//      1,000 rows (bench/settings-data.ts), taking turns call by call with today's options-only poll (a
//      MysqlSettings on the bench's own database: the same 2,000 options, nothing else). The adapter computes a
//      part of its checksum only when the part's tables' UPDATE_TIME moved (within 10 s of a change, every 60 s
//      regardless), so it is measured as a shop lives: quiet (nothing changed for over 10 s), with every part
//      computed (its first poll; the 60 s refresh spreads the same work over a minute), and on two busy shops
//      (stock written in wp_postmeta before each poll, as an order does with HPOS; a shop_order post and its
//      meta, as with the legacy order storage). Wall time of the call and the server's own time (SHOW
//      PROFILES: the sum of the poll's statements; performance_schema is off on Debian's MariaDB), p50/p95.
//      First checked: that the poll notices every change the record hashes noticed (and not an ignored
//      column), and a change it can know only from UPDATE_TIME (a transaction committed long after it began).
//   2. settings.read() (every row with its blob id; every snapshot pays it), options-only against full.
//   3. a snapshot of one changed entity against one changed option, on the same site: in-process the way
//      the daemon records after its poll noticed a change (snapshot(site, { trigger: 'poll', units: ∅ }):
//      no file walk, the settings read in full, the changed values read), and as the CLI (`peakguard
//      snapshot`, a new process that walks the tree too). Medians over many runs, alternating.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import { entityFingerprintParts, entitySource, rowFingerprintPart, rowSources, type FingerprintPart } from '../src/adapters/mysql-records.ts'
import { MysqlSettings } from '../src/adapters/mysql-settings.ts'
import { DEFAULT_IGNORED_OPTIONS, recordLabel } from '../src/core/index.ts'
import type * as SitesModule from '../src/compose/sites.ts'
import type * as ConfigModule from '../src/config.ts'
import type * as ServicesModule from '../src/services/index.ts'
import { rootConnection } from '../test/harness/mariadb.ts'
import { pct, verdict, type BenchInput } from './common.ts'
import { ACTIVE_THEME, BENCH_TABLES, CHANGED_ENTITY, fillSettingsDatabase, ROWS_PER_TABLE, type SettingsData } from './settings-data.ts'

const POLL_TARGET_MS = 5
const SNAPSHOT_RATIO_TARGET = 1.2
const PREFIX = 'wp_'
/** the adapter's gate (src/adapters/mysql-settings.ts, RECENT_S and FULL_S): a part whose tables changed this recently is computed again… */
const RECENT_S = 10
/** …and every part at least this often, whatever the change times say */
const FULL_S = 60
/** the daemon's default poll interval: FULL_S / POLL_S polls share one computation of each part */
const POLL_S = 2

function plan(quick: boolean) {
  return quick ? { polls: 40, profiled: 20, reads: 5, snapshots: 3, cli: 2 } : { polls: 200, profiled: 100, reads: 30, snapshots: 30, cli: 10 }
}

const med = (xs: number[]) => pct(xs, 0.5)
const ms2 = (x: number) => `${x.toFixed(2)} ms`
const id = (s: string) => mysql.escapeId(s)

// ── a poll, timed ────────────────────────────────────────────────────────────────────────────────

interface PollTimes {
  wall: number[]
  /** server time per poll (sum of its statements), and per statement in order */
  server: number[]
  statements: number[][]
  /** parts of the checksum the poll computed (the options included), per poll of the full adapter */
  parts: number[]
}

/**
 * What the full adapter's connection is asked: the statements of each poll, as sent. The adapter computes
 * its parts as scalar subqueries `(…) AS p0, (…) AS p1` of one SELECT: how many it computed is read from
 * that statement (untimed, after the call).
 */
class Spy {
  private seen: { sql: string; params: unknown[] }[] = []
  private readonly conn: mysql.Connection
  private readonly original: mysql.Connection['query']

  constructor(conn: mysql.Connection) {
    this.conn = conn
    this.original = conn.query.bind(conn) as mysql.Connection['query']
    const spy = (q: string | { sql: string }, params?: unknown) => {
      this.seen.push({ sql: typeof q === 'string' ? q : q.sql, params: Array.isArray(params) ? params : [] })
      return (this.original as (q: unknown, p?: unknown) => unknown)(q, params)
    }
    ;(conn as unknown as { query: unknown }).query = spy
  }

  /** The statements sent since the last take. */
  take(): { sql: string; params: unknown[] }[] {
    const out = this.seen
    this.seen = []
    return out
  }

  /** The checksum statement among `statements`, and how many parts it computed. */
  static partsOf(statements: { sql: string; params: unknown[] }[]): { sql: string; params: unknown[]; parts: number } | null {
    const s = statements.find((x) => x.sql.startsWith('SELECT ('))
    return s ? { ...s, parts: (s.sql.match(/\) AS p\d+(?=, \(|$)/g) ?? []).length } : null
  }

  remove(): void {
    ;(this.conn as unknown as { query: unknown }).query = this.original
  }
}

/**
 * The adapter keeps each gated part's last value in a private map; emptied, its next poll computes every part,
 * as the first poll after a start does (and as the 60 s refresh does part by part over a minute).
 */
function forgetParts(s: MysqlSettings): void {
  const parts = (s as unknown as { lastParts?: Map<string, unknown> }).lastParts
  if (!(parts instanceof Map)) throw new Error('settings bench: MysqlSettings keeps no lastParts map any more: the “every part computed” phase needs another way in')
  parts.clear()
}

/**
 * Today's poll and the full one take turns call by call, so that the machine's ups and downs fall on both
 * alike: first `calls` rounds timed from the bench (wall), then `profiled` rounds with the server's profiler
 * on, where SHOW PROFILES after each call gives the statements the poll ran by the server's own clock.
 * `before` runs (untimed, on another connection) before each call of the full adapter.
 */
async function measure(baseline: MysqlSettings, full: MysqlSettings, spy: Spy, calls: number, profiledCalls: number, before?: () => Promise<void>): Promise<[PollTimes, PollTimes]> {
  const pollers = [baseline, full]
  const out: [PollTimes, PollTimes] = [
    { wall: [], server: [], statements: [], parts: [] },
    { wall: [], server: [], statements: [], parts: [] },
  ]
  const poll = async (k: number) => {
    if (k === 1) {
      await before?.()
      spy.take()
    }
    const t0 = performance.now()
    await (pollers[k] as MysqlSettings).fingerprint()
    const ms = performance.now() - t0
    if (k === 1) out[1].parts.push(Spy.partsOf(spy.take())?.parts ?? 0)
    return ms
  }
  for (let i = 0; i < calls; i++) for (const k of [0, 1]) out[k]?.wall.push(await poll(k))
  const conns = await Promise.all(pollers.map((p) => p.connection()))
  const seen = conns.map(() => 0)
  const newer = async (k: number) => {
    const [rows] = await (conns[k] as mysql.Connection).query<mysql.RowDataPacket[]>('SHOW PROFILES')
    const fresh = rows.filter((r) => Number(r.Query_ID) > (seen[k] as number) && !/^\s*(SHOW PROFILES|SET SESSION profiling)/i.test(String(r.Query)))
    seen[k] = Math.max(seen[k] as number, ...rows.map((r) => Number(r.Query_ID)))
    return fresh.map((r) => Number(r.Duration) * 1000)
  }
  for (const c of conns) await c.query('SET SESSION profiling = 1, SESSION profiling_history_size = 100')
  try {
    for (const k of conns.keys()) await newer(k)
    for (let i = 0; i < profiledCalls; i++)
      for (const k of [0, 1]) {
        await poll(k)
        const d = await newer(k)
        out[k]?.statements.push(d)
        out[k]?.server.push(d.reduce((a, b) => a + b, 0))
      }
  } finally {
    for (const c of conns) await c.query('SET SESSION profiling = 0')
    spy.take()
  }
  return out
}

/** Statements run alone on the adapter's own (prepared) connection, by the server's clock: the median of `n` each. */
async function alone(conn: mysql.Connection, statements: { key: string; sql: string; params: unknown[] }[], n: number): Promise<{ key: string; ms: number }[]> {
  await conn.query('SET SESSION profiling = 1, SESSION profiling_history_size = 100')
  try {
    const out: { key: string; ms: number }[] = []
    for (const s of statements) {
      const ms: number[] = []
      for (let i = 0; i < n; i++) {
        await conn.query(s.sql, s.params)
        const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW PROFILES')
        ms.push(Number(rows.filter((r) => !/^\s*SHOW PROFILES/i.test(String(r.Query))).at(-1)?.Duration) * 1000)
      }
      out.push({ key: s.key, ms: med(ms) })
    }
    return out
  } finally {
    await conn.query('SET SESSION profiling = 0')
  }
}

/**
 * `settings.read()` `n` times on each adapter, taking turns: wall, and server time per statement (one per
 * table: options, entities, each settings table).
 */
async function measureReads(pair: { base: MysqlSettings; full: MysqlSettings }, n: number): Promise<{ base: number[]; full: number[]; fullServer: number[]; perStatement: number[][] }> {
  const out = { base: [] as number[], full: [] as number[], fullServer: [] as number[], perStatement: [] as number[][] }
  for (let i = 0; i < n + 1; i++)
    for (const k of ['base', 'full'] as const) {
      const t = performance.now()
      await pair[k].read()
      if (i > 0) out[k].push(performance.now() - t)
    }
  const conn = await pair.full.connection()
  await conn.query('SET SESSION profiling = 1, SESSION profiling_history_size = 100')
  try {
    let seen = 0
    const newer = async () => {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SHOW PROFILES')
      const fresh = rows.filter((r) => Number(r.Query_ID) > seen && !/^\s*(SHOW PROFILES|SET SESSION profiling)/i.test(String(r.Query)))
      seen = Math.max(seen, ...rows.map((r) => Number(r.Query_ID)))
      return fresh.map((r) => Number(r.Duration) * 1000)
    }
    await newer()
    for (let i = 0; i < n; i++) {
      await pair.full.read()
      const d = await newer()
      out.perStatement.push(d)
      out.fullServer.push(d.reduce((a, b) => a + b, 0))
    }
  } finally {
    await conn.query('SET SESSION profiling = 0')
  }
  return out
}

// ── the database ─────────────────────────────────────────────────────────────────────────────────

/** Its own database: the bench's 2,000 options copied, then posts, terms and the WooCommerce tables. */
async function createDatabase(input: BenchInput, name: string): Promise<SettingsData> {
  const root = await rootConnection()
  try {
    await root.query(`CREATE DATABASE ${id(name)} CHARACTER SET utf8mb4`)
    await root.query(`CREATE TABLE ${id(name)}.${id(`${PREFIX}options`)} LIKE ${id(input.db.name)}.${id(`${input.db.prefix}options`)}`)
    await root.query(`INSERT INTO ${id(name)}.${id(`${PREFIX}options`)} SELECT * FROM ${id(input.db.name)}.${id(`${input.db.prefix}options`)}`)
  } finally {
    await root.end()
  }
  const db = await rootConnection(name)
  try {
    return await fillSettingsDatabase(db, PREFIX)
  } finally {
    await db.end()
  }
}

interface PlanRow {
  id: string
  select_type: string
  table: string
  type: string
  key: string
  rows: string
  extra: string
}

async function explain(conn: mysql.Connection, sql: string, params: unknown[]): Promise<PlanRow[]> {
  const [rows] = await conn.query<mysql.RowDataPacket[]>(`EXPLAIN ${sql}`, params)
  return rows.map((r) => ({ id: String(r.id), select_type: String(r.select_type), table: String(r.table), type: String(r.type), key: String(r.key ?? ''), rows: String(r.rows ?? ''), extra: String(r.Extra ?? '') }))
}

// ── the UPDATE_TIME gate, and the shops' own writes ──────────────────────────────────────────────

/** Seconds since the last committed change of any table the adapter's gate watches (every table here but the options). */
async function quietFor(db: mysql.Connection): Promise<number> {
  const [r] = await db.query<mysql.RowDataPacket[]>(
    'SELECT UNIX_TIMESTAMP() - MAX(UNIX_TIMESTAMP(UPDATE_TIME)) AS age FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> ?',
    [`${PREFIX}options`],
  )
  return Number(r[0]?.age ?? 0)
}

/** Waits until nothing the gate watches changed for more than RECENT_S: a shop at night. */
async function waitQuiet(db: mysql.Connection): Promise<void> {
  const age = await quietFor(db)
  if (age <= RECENT_S) await sleep((RECENT_S + 1 - age) * 1000)
}

/**
 * The one change the adapter can know only from UPDATE_TIME: a transaction that changes a tax rate, begins
 * while the daemon polls and commits after the recency window (InnoDB stamps the table with a time already
 * older than the window). Polled every POLL_S seconds meanwhile, the poll must not change before the commit,
 * and must at the first poll after it. Expects nothing changed in the gated tables for the window before.
 */
async function gateCheck(s: MysqlSettings, admin: mysql.Connection, dbName: string): Promise<string> {
  const trx = await rootConnection(dbName)
  const table = `${PREFIX}woocommerce_tax_rates`
  try {
    const before = await s.fingerprint()
    await trx.query('START TRANSACTION')
    const [old] = await trx.query<mysql.RowDataPacket[]>(`SELECT tax_rate AS v FROM ${id(table)} WHERE tax_rate_id = 7 FOR UPDATE`)
    await trx.query(`UPDATE ${id(table)} SET tax_rate = '42.0000' WHERE tax_rate_id = 7`)
    const waitS = RECENT_S + 2
    const began = performance.now()
    let polls = 0
    while (performance.now() - began < waitS * 1000) {
      await sleep(POLL_S * 1000)
      if ((await s.fingerprint()) !== before) throw new Error('settings bench: MysqlSettings.fingerprint() changed before the tax rate’s transaction committed')
      polls++
    }
    await trx.query('COMMIT')
    const after = await s.fingerprint()
    const [age] = await admin.query<mysql.RowDataPacket[]>('SELECT UNIX_TIMESTAMP() - UNIX_TIMESTAMP(UPDATE_TIME) AS a FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?', [table])
    await trx.query(`UPDATE ${id(table)} SET tax_rate = ? WHERE tax_rate_id = 7`, [old[0]?.v])
    if (after === before) throw new Error(`settings bench: MysqlSettings.fingerprint() missed a tax rate changed by a transaction committed ${waitS} s after it began`)
    if ((await s.fingerprint()) !== before) throw new Error('settings bench: MysqlSettings.fingerprint() did not come back to its value when the tax rate was put back')
    return (
      `a tax rate changed in a transaction committed ${waitS} s after it began (the table's UPDATE_TIME was ${String(age[0]?.a)} s old right after the commit, outside the ${RECENT_S} s window): ` +
      `${polls} polls ${POLL_S} s apart during the transaction saw nothing, the first poll after the commit saw the change, and the poll after putting it back came back to the value before`
    )
  } finally {
    await trx.end()
  }
}

/** Lowers one product's stock, as each order does with WooCommerce's own order tables (HPOS). */
async function stockWriter(db: mysql.Connection): Promise<() => Promise<void>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT m.meta_id AS id FROM ${id(`${PREFIX}postmeta`)} m JOIN ${id(`${PREFIX}posts`)} p ON p.ID = m.post_id WHERE p.post_type = 'product' AND m.meta_key = '_stock' ORDER BY m.meta_id LIMIT 100`)
  const ids = rows.map((r) => Number(r.id))
  let n = 0
  return async () => {
    n++
    await db.query(`UPDATE ${id(`${PREFIX}postmeta`)} SET meta_value = ? WHERE meta_id = ?`, [String(1000 - n), ids[n % ids.length]])
  }
}

/** Writes one order the way WooCommerce's legacy (posts) storage does: a shop_order post and ten postmeta rows. */
async function orderWriter(db: mysql.Connection): Promise<() => Promise<void>> {
  let n = 0
  return async () => {
    n++
    const when = new Date(Date.UTC(2026, 11, 1, 3, 0, n)).toISOString().slice(0, 19).replace('T', ' ')
    const [res] = await db.query<mysql.ResultSetHeader>(
      `INSERT INTO ${id(`${PREFIX}posts`)} (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count) ` +
        `VALUES (1, ?, ?, '', ?, '', 'wc-processing', 'closed', 'closed', ?, ?, '', '', ?, ?, '', 0, '', 0, 'shop_order', '', 0)`,
      [when, when, `Order &ndash; ${when}`, `wc_order_${n}`, `order-${n}`, when, when],
    )
    const meta = ['_order_key', '_customer_user', '_payment_method', '_order_currency', '_order_total', '_order_tax', '_billing_email', '_billing_country', '_shipping_country', '_paid_date']
    await db.query(`INSERT INTO ${id(`${PREFIX}postmeta`)} (post_id, meta_key, meta_value) VALUES ?`, [meta.map((k, i) => [res.insertId, k, `${k}-${n}-${i}`])])
  }
}

// ── changes the poll must notice ─────────────────────────────────────────────────────────────────

interface Change {
  what: string
  /** makes the change; returns what undoes it */
  apply(db: mysql.Connection): Promise<() => Promise<void>>
  /** false: a change the poll must not notice (an ignored column) */
  noticed: boolean
}

async function one(db: mysql.Connection, sql: string, params: unknown[] = []): Promise<mysql.RowDataPacket> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(sql, params)
  if (!rows[0]) throw new Error(`settings bench: no row for ${sql}`)
  return rows[0]
}

/** Sets one column of one row (by key) and gives back the old bytes after. */
function setColumn(what: string, table: string, col: string, where: string, params: unknown[], value: (old: Buffer | null) => unknown, noticed = true): Change {
  return {
    what,
    noticed,
    apply: async (db) => {
      const r = await one(db, `SELECT CAST(${id(col)} AS BINARY) AS v FROM ${id(table)} WHERE ${where}`, params)
      const old = r.v as Buffer | null
      await db.query(`UPDATE ${id(table)} SET ${id(col)} = ? WHERE ${where}`, [value(old), ...params])
      return async () => {
        await db.query(`UPDATE ${id(table)} SET ${id(col)} = ? WHERE ${where}`, [old, ...params])
      }
    },
  }
}


async function changesToNotice(db: mysql.Connection, optionName: string): Promise<Change[]> {
  const header = Number((await one(db, `SELECT p.ID AS id FROM ${id(`${PREFIX}posts`)} p WHERE p.post_type = 'wp_template_part' AND p.post_name = 'header' ORDER BY p.ID LIMIT 1`)).id)
  const areas = await db.query<mysql.RowDataPacket[]>(`SELECT tt.term_taxonomy_id AS id, t.slug AS s FROM ${id(`${PREFIX}term_taxonomy`)} tt JOIN ${id(`${PREFIX}terms`)} t ON t.term_id = tt.term_id WHERE tt.taxonomy = 'wp_template_part_area'`)
  const area = new Map(areas[0].map((r) => [String(r.s), Number(r.id)]))
  const posts = `${PREFIX}posts`
  const out: Change[] = [
    setColumn('an option’s value', `${PREFIX}options`, 'option_value', 'option_name = ?', [optionName], (v) => Buffer.concat([v ?? Buffer.alloc(0), Buffer.from(' ')])),
    setColumn('the header part’s block markup (one byte more)', posts, 'post_content', 'ID = ?', [header], (v) => Buffer.concat([v ?? Buffer.alloc(0), Buffer.from(' ')])),
    setColumn('the header part’s title', posts, 'post_title', 'ID = ?', [header], () => 'Header (edited)'),
    setColumn('the header part’s post_modified', posts, 'post_modified', 'ID = ?', [header], () => '2026-12-01 03:00:00'),
    setColumn('a postmeta value of the header part', `${PREFIX}postmeta`, 'meta_value', "post_id = ? AND meta_key = 'origin'", [header], () => 'custom'),
    {
      what: 'the header part moved to the footer area (term relationship)',
      noticed: true,
      apply: async (db) => {
        const rel = `${PREFIX}term_relationships`
        await db.query(`UPDATE ${id(rel)} SET term_taxonomy_id = ? WHERE object_id = ? AND term_taxonomy_id = ?`, [area.get('footer'), header, area.get('header')])
        return async () => {
          await db.query(`UPDATE ${id(rel)} SET term_taxonomy_id = ? WHERE object_id = ? AND term_taxonomy_id = ?`, [area.get('header'), header, area.get('footer')])
        }
      },
    },
    setColumn('a tax rate', `${PREFIX}woocommerce_tax_rates`, 'tax_rate', 'tax_rate_id = 500', [], () => '99.0000'),
    setColumn('a tax rate location', `${PREFIX}woocommerce_tax_rate_locations`, 'location_code', 'location_id = 500', [], () => '99999'),
    setColumn('a shipping zone’s name', `${PREFIX}woocommerce_shipping_zones`, 'zone_name', 'zone_id = 500', [], () => 'Zone edited'),
    setColumn('a zone method switched off', `${PREFIX}woocommerce_shipping_zone_methods`, 'is_enabled', 'instance_id = 500', [], (v) => (String(v) === '1' ? 0 : 1)),
    setColumn('a webhook’s secret', `${PREFIX}wc_webhooks`, 'secret', 'webhook_id = 500', [], () => 'f'.repeat(40)),
  ]
  // the columns the woocommerce preset ignores (WooCommerce writes them by itself): the poll must not move
  const ignored: Record<string, () => unknown> = { failure_count: () => 3, pending_delivery: () => 1, date_modified: () => '2026-12-01 03:00:00', date_modified_gmt: () => '2026-12-01 03:00:00' }
  const webhooks = BENCH_TABLES.find((t) => t.table === 'wc_webhooks')?.ignoreColumns ?? []
  for (const col of webhooks) {
    const value = ignored[col]
    if (!value) throw new Error(`settings bench: no test value for the ignored webhook column ${col}`)
    out.push(setColumn(`a webhook’s ${col} (ignored column)`, `${PREFIX}wc_webhooks`, col, 'webhook_id = 500', [], value, false))
  }
  return out
}

/** Each change made, the adapter asked, the change undone: whether it noticed (and came back to its value before). */
async function detection(db: mysql.Connection, s: MysqlSettings, changes: Change[]): Promise<{ what: string; noticed: boolean; by: boolean }[]> {
  const out: { what: string; noticed: boolean; by: boolean }[] = []
  for (const c of changes) {
    const before = await s.fingerprint()
    const undo = await c.apply(db)
    const during = await s.fingerprint()
    await undo()
    const after = await s.fingerprint()
    if (after !== before) throw new Error(`settings bench: after undoing “${c.what}” the fingerprint did not come back to its value before`)
    out.push({ what: c.what, noticed: c.noticed, by: during !== before })
  }
  const wrong = out.filter((d) => d.by !== d.noticed)
  if (wrong.length) throw new Error(`settings bench: MysqlSettings.fingerprint() ${wrong.map((d) => `${d.by ? 'noticed' : 'missed'} ${d.what}`).join('; ')}`)
  return out
}

// ── snapshots of one changed row ─────────────────────────────────────────────────────────────────

/** A 7-character colour that occurs exactly once in `s`, and one that does not occur at all. */
function colourPair(s: string): [string, string] | null {
  const counts = new Map<string, number>()
  for (const m of s.matchAll(/#[0-9a-f]{6}/g)) counts.set(m[0], (counts.get(m[0]) ?? 0) + 1)
  const once = [...counts].find(([, n]) => n === 1)?.[0]
  if (!once) return null
  for (let i = 0; i < 4096; i++) {
    const other = `#${(0x0b0b0b + i * 0x010101).toString(16).padStart(6, '0').slice(-6)}`
    if (!s.includes(other)) return [once, other]
  }
  return null
}

/** The option the option side changes: the first (by name) with 6–12 KB, not ignored, holding a colour once. */
async function pickOption(db: mysql.Connection): Promise<{ name: string; bytes: number; colours: [string, string] }> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    `SELECT option_name AS n, option_value AS v FROM ${id(`${PREFIX}options`)} WHERE LENGTH(option_value) BETWEEN 6000 AND 12000 AND option_name NOT LIKE '\\_%' ORDER BY option_name`,
  )
  for (const r of rows) {
    const c = colourPair(String(r.v))
    if (c && !DEFAULT_IGNORED_OPTIONS.some((g) => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`).test(String(r.n))))
      return { name: String(r.n), bytes: Buffer.byteLength(String(r.v)), colours: c }
  }
  throw new Error('settings bench: no option of 6–12 KB holding a colour to change')
}

interface SnapshotTimes {
  inproc: { option: number[]; entity: number[] }
  cli: { option: number[]; entity: number[] }
  /** the adapter's calls inside a snapshot, in-process: read(), and values() of the one changed row */
  read: number[]
  values: { option: number[]; entity: number[] }
  option: { name: string; bytes: number }
  entityRecordBytes: number
}

function runCli(distMain: string, config: string, args: string[]): Promise<{ s: number; json: any }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const p = spawn(process.execPath, [distMain, '--config', config, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d: Buffer) => err.push(d))
    p.on('error', reject)
    p.on('close', (code) => {
      const s = (performance.now() - t0) / 1000
      if (code !== 0) return reject(new Error(`peakguard ${args.join(' ')} failed (exit ${code}): ${Buffer.concat(err).toString().trim()}`))
      try {
        resolve({ s, json: JSON.parse(Buffer.concat(out).toString()) })
      } catch {
        reject(new Error(`peakguard ${args.join(' ')} printed no JSON: ${Buffer.concat(out).toString().slice(0, 500)}`))
      }
    })
  })
}

function siteConfig(input: BenchInput, dbName: string, dataDir: string): string {
  const { db } = input
  const tables = BENCH_TABLES.map((t) => (t.ignoreColumns.length ? `      - { table: ${t.table}, ignoreColumns: [${t.ignoreColumns.join(', ')}] }` : `      - ${t.table}`))
  return (
    `dataDir: ${dataDir}\nsites:\n  - id: shop\n    wpRoot: ${input.wpRoot}\n    db:\n      host: ${db.host}\n      port: ${db.port}\n` +
    `      user: ${db.user}\n      password: "${db.password}"\n      name: ${dbName}\n      tablePrefix: ${PREFIX}\n    settingsTables:\n${tables.join('\n')}\n`
  )
}

async function benchSnapshots(input: BenchInput, dbName: string, P: ReturnType<typeof plan>): Promise<SnapshotTimes> {
  const { log } = input
  const dist = new URL('../dist/', import.meta.url)
  const { openSite, pickSite } = (await import(new URL('compose/sites.js', dist).href)) as typeof SitesModule
  const { loadConfig } = (await import(new URL('config.js', dist).href)) as typeof ConfigModule
  const { snapshot } = (await import(new URL('services/index.js', dist).href)) as typeof ServicesModule
  // in-process and CLI each keep their own journal: the in-process site is its journal's only writer, as a daemon is
  const cfgIn = path.join(input.T, 'settings-inproc.yaml')
  const cfgCli = path.join(input.T, 'settings-cli.yaml')
  fs.writeFileSync(cfgIn, siteConfig(input, dbName, path.join(input.T, 'data-settings-inproc')))
  fs.writeFileSync(cfgCli, siteConfig(input, dbName, path.join(input.T, 'data-settings-cli')))
  const db = await rootConnection(dbName)
  const loaded = loadConfig(cfgIn)
  const site = await openSite(loaded, pickSite(loaded, 'shop'))
  try {
    log('settings bench: initial snapshots (in-process and CLI; untimed)')
    const first = await snapshot(site, { trigger: 'manual' })
    if (!first.created) throw new Error('settings bench: the initial in-process snapshot recorded nothing')
    const firstCli = await runCli(input.distMain, cfgCli, ['snapshot'])
    if (!firstCli.json?.created) throw new Error(`settings bench: the initial CLI snapshot recorded nothing: ${JSON.stringify(firstCli.json)}`)

    const opt = await pickOption(db)
    const header = await one(db, `SELECT ID AS id, post_content AS c FROM ${id(`${PREFIX}posts`)} WHERE post_type = 'wp_template_part' AND post_name = 'header' ORDER BY ID LIMIT 1`)
    const headerId = Number(header.id)
    const entityColours = colourPair(String(header.c))
    if (!entityColours) throw new Error('settings bench: the header part holds no colour to change')
    let optOn = false
    let entOn = false
    let tick = 0
    // a colour changed, as at night in the Customizer or the Site Editor; the post's modified time moves too, as a save moves it
    const change = {
      option: async () => {
        const [a, b] = optOn ? [opt.colours[1], opt.colours[0]] : opt.colours
        optOn = !optOn
        await db.query(`UPDATE ${id(`${PREFIX}options`)} SET option_value = REPLACE(option_value, ?, ?) WHERE option_name = ?`, [a, b, opt.name])
      },
      entity: async () => {
        const [a, b] = entOn ? [entityColours[1], entityColours[0]] : entityColours
        entOn = !entOn
        tick++
        const when = new Date(Date.UTC(2026, 11, 1, 3, 0, tick)).toISOString().slice(0, 19).replace('T', ' ')
        await db.query(`UPDATE ${id(`${PREFIX}posts`)} SET post_content = REPLACE(post_content, ?, ?), post_modified = ?, post_modified_gmt = ? WHERE ID = ?`, [a, b, when, when, headerId])
      },
    }
    const expected = { option: `options: ${opt.name}`, entity: `settings: ${recordLabel(CHANGED_ENTITY)}` }
    const inproc = async (kind: 'option' | 'entity') => {
      const t0 = performance.now()
      const r = await snapshot(site, { trigger: 'poll', whenDbDown: 'carry', units: new Set() })
      const ms = performance.now() - t0
      if (!r.created || r.summary !== expected[kind]) throw new Error(`settings bench: the in-process snapshot of one changed ${kind} recorded “${r.summary}” (created ${r.created}), not “${expected[kind]}”`)
      return ms
    }
    const cli = async (kind: 'option' | 'entity') => {
      const r = await runCli(input.distMain, cfgCli, ['snapshot'])
      if (!r.json?.created || r.json.summary !== expected[kind]) throw new Error(`settings bench: \`peakguard snapshot\` of one changed ${kind} recorded “${r.json?.summary}”, not “${expected[kind]}”`)
      return r.s * 1000
    }

    const times: SnapshotTimes = {
      inproc: { option: [], entity: [] },
      cli: { option: [], entity: [] },
      read: [],
      values: { option: [], entity: [] },
      option: { name: opt.name, bytes: opt.bytes },
      entityRecordBytes: 0,
    }
    // one untimed round of each first: the first snapshot of a kind loads what it needs once
    for (const kind of ['option', 'entity'] as const) {
      await change[kind]()
      await inproc(kind)
      await cli(kind)
    }
    log(`settings bench: ${P.snapshots} snapshots of one changed option and of one changed entity, in-process (${P.cli} of each with the CLI)`)
    for (let round = 1; round <= P.snapshots; round++) {
      const order: ('option' | 'entity')[] = round % 2 ? ['option', 'entity'] : ['entity', 'option']
      for (const kind of order) {
        await change[kind]()
        // the CLI first in every other round: neither always finds the database's caches warmed by the other
        const withCli = round <= P.cli
        if (withCli && round % 2 === 0) times.cli[kind].push(await cli(kind))
        times.inproc[kind].push(await inproc(kind))
        if (withCli && round % 2 === 1) times.cli[kind].push(await cli(kind))
      }
    }
    // where the in-process time goes: the adapter's calls inside it, on the same site
    const rows = await site.settings.read()
    const entry = (table: string, name: string) => {
      const e = rows.find((r) => r.table === table && r.name === name)
      if (!e) throw new Error(`settings bench: ${table} ${name} is not among the settings read`)
      return e
    }
    const optEntry = entry(`${PREFIX}options`, opt.name)
    const entEntry = entry(`${PREFIX}posts`, CHANGED_ENTITY)
    for (let i = 0; i < P.snapshots; i++) {
      let t0 = performance.now()
      await site.settings.read()
      times.read.push(performance.now() - t0)
      t0 = performance.now()
      await site.settings.values([optEntry])
      times.values.option.push(performance.now() - t0)
      t0 = performance.now()
      const v = await site.settings.values([entEntry])
      times.values.entity.push(performance.now() - t0)
      times.entityRecordBytes = [...v.values()][0]?.value.byteLength ?? 0
    }
    return times
  } finally {
    await site.close()
    await db.end()
  }
}


// ── the whole part ───────────────────────────────────────────────────────────────────────────────

type Phase = 'quiet' | 'every' | 'hpos' | 'legacy'

export async function benchSettings(input: BenchInput): Promise<string[]> {
  const { log, db } = input
  const P = plan(input.quick)
  const dbName = `${input.db.name}_ed`.slice(0, 64)
  log(`settings bench: database ${dbName}: the bench's options, 300 Site Editor entities among a shop's posts, 5 WooCommerce tables of ${ROWS_PER_TABLE} rows`)
  const t0 = performance.now()
  const data = await createDatabase(input, dbName).catch(async (e: unknown) => {
    // half made: nothing below would drop it
    const root = await rootConnection()
    await root.query(`DROP DATABASE IF EXISTS ${id(dbName)}`).finally(() => root.end())
    throw e
  })
  log(`settings bench: filled in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${data.posts} posts (${data.entities} entities, ${(data.entityBytes / 1e6).toFixed(1)} MB of content), ${data.postmeta} postmeta, ${data.relationships} term relationships`)
  const conn = { host: db.host, port: db.port, user: db.user, password: db.password }
  const adapter = (name: string, prefix: string, tables: typeof BENCH_TABLES) =>
    new MysqlSettings({ ...conn, socket: null, name, tablePrefix: prefix, multisite: false }, { ignoredOptions: [...DEFAULT_IGNORED_OPTIONS], settingsTables: tables })
  // today's poll: the bench's own database holds the same 2,000 options and nothing else
  const base = adapter(db.name, db.prefix, [])
  const full = adapter(dbName, PREFIX, BENCH_TABLES)
  const admin = await rootConnection(dbName)
  let spy: Spy | null = null
  try {
    // untimed, once per daemon: the connection, the table checks, the session settings, the first computation
    for (const s of [base, full]) for (let i = 0; i < 3; i++) await s.fingerprint()
    const baseSources = await base.sources()
    if (baseSources.length !== 1 || baseSources[0] !== `${db.prefix}options`) throw new Error(`settings bench: the options-only database has more state than its options (${baseSources.join(', ')}): its poll is not today's`)
    const sources = await full.sources()
    spy = new Spy(await full.connection())

    // the adapter's gated parts built again from mysql-records.ts (to time each alone; checked below to be those it sends)
    const [tableRows] = await admin.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()')
    const existing = new Set(tableRows.map((r) => String(r.t)))
    const ent = entitySource(PREFIX, existing)
    if (!ent) throw new Error('settings bench: no posts tables found for the entities')
    const gatedParts: FingerprintPart[] = [...entityFingerprintParts(ent), ...(await rowSources(admin, PREFIX, BENCH_TABLES, existing, dbName)).map(rowFingerprintPart)]

    log('settings bench: checking that the poll notices each change the record hashes noticed')
    const opt = await pickOption(admin)
    const detected = await detection(admin, full, await changesToNotice(admin, opt.name))
    log(`settings bench: checking the UPDATE_TIME gate with a long transaction (~${2 * RECENT_S + 5} s)`)
    await waitQuiet(admin)
    const gateNote = await gateCheck(full, admin, dbName)

    const phases = {} as Record<Phase, [PollTimes, PollTimes]>
    log(`settings bench: quiet, ${P.polls} + ${P.profiled} polls of each, taking turns`)
    await waitQuiet(admin)
    await full.fingerprint()
    const quietAge = await quietFor(admin)
    phases.quiet = await measure(base, full, spy, P.polls, P.profiled)
    log('settings bench: every part computed')
    phases.every = await measure(base, full, spy, P.polls, P.profiled, async () => forgetParts(full))

    // the statement that computes every part, as sent: it must hold each part as mysql-records.ts builds it
    forgetParts(full)
    spy.take()
    await full.fingerprint()
    const sent = spy.take()
    const all = Spy.partsOf(sent)
    const gate = sent.find((s) => s.sql.includes('information_schema.TABLES'))
    if (!all || !gate) throw new Error('settings bench: the poll sent no checksum statement or no UPDATE_TIME query')
    if (all.parts !== gatedParts.length + 1) throw new Error(`settings bench: the poll computed ${all.parts} parts, not the options + ${gatedParts.length} gated ones`)
    for (const [i, p] of gatedParts.entries())
      if (!all.sql.includes(`(${p.sql}) AS p${i + 1}`)) throw new Error(`settings bench: the poll's statement does not hold the part ${p.key} as mysql-records.ts builds it`)
    const optionsSql = all.sql.slice('SELECT ('.length, all.sql.indexOf(') AS p0, ('))
    const partTimes = await alone(
      await full.connection(),
      [
        { key: 'UPDATE_TIME query (every poll)', sql: gate.sql, params: gate.params },
        { key: `${PREFIX}options (every poll)`, sql: `SELECT (${optionsSql}) AS p0`, params: all.params },
        ...gatedParts.map((p) => ({ key: p.key, sql: `SELECT (${p.sql}) AS p0`, params: p.params })),
      ],
      Math.max(10, P.profiled / 5),
    )
    const checksumPlan = await explain(admin, all.sql, all.params)

    // as on a busy shop. With WooCommerce's own order tables (HPOS, its default since 8.2) an order changes a
    // product's stock in wp_postmeta; with the legacy storage it also writes a shop_order post and its meta:
    // either before each poll, so those tables always changed since the last one
    log('settings bench: busy shops (HPOS stock, legacy orders)')
    phases.hpos = await measure(base, full, spy, P.polls, P.profiled, await stockWriter(admin))
    phases.legacy = await measure(base, full, spy, P.polls, P.profiled, await orderWriter(admin))

    // every snapshot (of files too: the daemon reads the settings in full each time) pays read(): both sides
    log(`settings bench: settings.read(), ${P.reads} of each`)
    const reads = await measureReads({ base, full }, P.reads)
    spy.remove()
    spy = null
    for (const s of [base, full]) await s.close()

    const snaps = await benchSnapshots(input, dbName, P)
    return report({ input, P, data, sources, phases, quietAge, gatedParts: gatedParts.length, partTimes, plan: checksumPlan, gateNote, detected, reads, snaps })
  } finally {
    spy?.remove()
    for (const s of [base, full]) await s.close().catch(() => undefined)
    if (!input.keep) await admin.query(`DROP DATABASE IF EXISTS ${id(dbName)}`).catch(() => undefined)
    else log(`settings bench: kept database ${dbName}`)
    await admin.end()
  }
}

// ── the report ───────────────────────────────────────────────────────────────────────────────────

interface Results {
  input: BenchInput
  P: ReturnType<typeof plan>
  data: SettingsData
  sources: string[]
  /** per phase: today's poll, and the full one beside it */
  phases: Record<Phase, [PollTimes, PollTimes]>
  /** seconds since the last change of a gated table when the quiet phase began */
  quietAge: number
  gatedParts: number
  partTimes: { key: string; ms: number }[]
  plan: PlanRow[]
  gateNote: string
  detected: { what: string; noticed: boolean; by: boolean }[]
  reads: Awaited<ReturnType<typeof measureReads>>
  snaps: SnapshotTimes
}

function report(r: Results): string[] {
  const { data, phases, snaps, P } = r
  const out: string[] = []
  const types = Object.entries(data.byType).map(([t, n]) => `${n} ${t}`).join(', ')
  const webhooks = BENCH_TABLES.find((t) => t.table === 'wc_webhooks')?.ignoreColumns ?? []
  out.push('## Settings poll with Site Editor entities and settings tables', '')
  out.push(
    `Database: the bench's options table copied (the same rows as the options-only database beside it) + WordPress's posts, postmeta, terms, term_taxonomy and ` +
      `term_relationships (Debian's schema.php DDL) holding ${data.posts} posts, of which ${data.entities} Site Editor entities (${types}; ${(data.entityBytes / 1e6).toFixed(2)} MB of content, ` +
      `templates and parts 2–20 KB of block markup, for ${ACTIVE_THEME} and three more block themes) among products, variations, attachments, posts, pages and revisions; ${data.postmeta} postmeta, ` +
      `${data.terms} terms, ${data.relationships} term relationships; and ${BENCH_TABLES.length} WooCommerce settings tables (its installer's DDL) of ${ROWS_PER_TABLE} rows each ` +
      `(${BENCH_TABLES.map((t) => t.table).join(', ')}; wc_webhooks without ${webhooks.join(', ')}, as the woocommerce preset). ` +
      `${r.input.quick ? 'QUICK mode' : 'Full mode'}: per phase ${P.polls} timed polls of each (taking turns), ${P.profiled} profiled; ${P.snapshots} snapshots of each kind in-process, ${P.cli} with the CLI. ` +
      'Server time = the sum of the poll\'s statements in SHOW PROFILES (performance_schema is off on this server); wall = the call, from the bench, on one kept connection. ' +
      'In each phase today\'s options-only poll (a MysqlSettings on the bench\'s options-only database) takes turns call by call with `MysqlSettings.fingerprint()` on this one; ' +
      'its server p50 in the same phase is the ratio\'s base. p95 is nearest-rank.',
    '',
  )
  out.push(`| settings poll | parts computed (median) | statements | server p50 | server p95 | wall p50 | wall p95 | today's poll beside it (server p50) | ÷ today (server p50) | goal | result |`)
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |')
  const nStatements = (t: PollTimes) => med(t.statements.map((s) => s.length))
  const row = (label: string, t: PollTimes, beside: PollTimes, judged: boolean) => {
    const s95 = pct(t.server, 0.95)
    const parts = t.parts.length ? `${med(t.parts)} of ${r.gatedParts + 1} (max ${Math.max(...t.parts)})` : '1 of 1'
    out.push(
      `| ${label} | ${parts} | ${nStatements(t)} | ${ms2(med(t.server))} | ${ms2(s95)} | ${ms2(med(t.wall))} | ${ms2(pct(t.wall, 0.95))} | ${ms2(med(beside.server))} | ${(med(t.server) / med(beside.server)).toFixed(2)}× | ` +
        `${judged ? `server p95 ≤ ${POLL_TARGET_MS} ms` : ''} | ${judged ? verdict(s95 <= POLL_TARGET_MS, ms2(s95)) : ''} |`,
    )
  }
  row('today: options only (quiet phase)', phases.quiet[0], phases.quiet[0], false)
  row(`\`fingerprint()\`, quiet: nothing changed for over ${RECENT_S} s (the last ${r.quietAge} s before it began)`, phases.quiet[1], phases.quiet[0], true)
  row('`fingerprint()`, every part computed (its first poll; the 60 s refresh spreads this over a minute)', phases.every[1], phases.every[0], true)
  row('`fingerprint()`, busy shop with HPOS orders: a product\'s stock changed in wp_postmeta before each poll', phases.hpos[1], phases.hpos[0], true)
  row('`fingerprint()`, busy shop with legacy order storage: a shop_order post + 10 postmeta written before each poll', phases.legacy[1], phases.legacy[0], true)
  out.push('')
  const refresh = (med(phases.every[1].server) - med(phases.quiet[1].server)) / (FULL_S / POLL_S)
  out.push(
    `The 60 s refresh on a quiet shop: every gated part once a minute = the "every part" poll's extra server time (p50 ${ms2(med(phases.every[1].server) - med(phases.quiet[1].server))}) ` +
      `over ${FULL_S / POLL_S} polls at the daemon's ${POLL_S} s interval ≈ ${ms2(refresh)} per poll on average, one part at a time (the adapter staggers their deadlines).`,
    '',
  )
  // the adapter sends, in this order: the schema check (information_schema.TABLES of the prefix; the full schema hash
  // joins the checksum statement only when it moved), the UPDATE_TIME query of the gated tables, the checksum statement
  out.push('Server time per statement of the full poll (medians; the schema check, the UPDATE_TIME query, then the one checksum statement):', '')
  out.push('| phase | schema check | UPDATE_TIME query | checksum statement | the options-only poll beside it (schema check + checksum) |')
  out.push('| --- | ---: | ---: | ---: | ---: |')
  for (const [label, k] of [['quiet', 'quiet'], ['every part computed', 'every'], ['busy, HPOS', 'hpos'], ['busy, legacy orders', 'legacy']] as const) {
    const [b, f] = phases[k]
    const at = (i: number) => ms2(med(f.statements.map((s) => s[i] ?? 0)))
    out.push(`| ${label} | ${at(0)} | ${at(1)} | ${at(2)} | ${ms2(med(b.statements.map((s) => s.reduce((x, y) => x + y, 0))))} |`)
  }
  out.push('')
  out.push(`Each part alone, by the server's clock (median of ${Math.max(10, P.profiled / 5)}; \`SELECT (part) AS p0\` on the adapter's connection): ${r.partTimes.map((x) => `${x.key} ${ms2(x.ms)}`).join(', ')}.`, '')
  out.push('Plan (EXPLAIN) of the checksum statement with every part:', '')
  out.push('| id | select_type | table | type | key | rows | Extra |')
  out.push('| ---: | --- | --- | --- | --- | ---: | --- |')
  for (const x of r.plan) out.push(`| ${x.id} | ${x.select_type} | ${x.table} | ${x.type} | ${x.key} | ${x.rows} | ${x.extra} |`)
  out.push('')
  out.push(`The gate: ${r.gateNote}.`, '')
  out.push('Changes (each made with SQL, polled, undone, polled back to the value before):', '')
  out.push('| change | must be noticed | `fingerprint()` |')
  out.push('| --- | --- | --- |')
  for (const d of r.detected) out.push(`| ${d.what} | ${d.noticed ? 'yes' : 'no'} | ${d.by ? 'noticed' : '—'} |`)
  out.push('')
  const rd = r.reads
  out.push(
    `\`settings.read()\` (every row with its blob id; every snapshot pays it, those of file changes too), wall, medians of ${rd.full.length}: options only ${ms2(med(rd.base))}, ` +
      `options + entities + tables ${ms2(med(rd.full))} (${(med(rd.full) / med(rd.base)).toFixed(1)}×); server time of the full read ${ms2(med(rd.fullServer))}, ` +
      `per statement: ${r.sources.map((s, i) => `${s} ${ms2(med(rd.perStatement.map((x) => x[i] ?? 0)))}`).join(', ')}.`,
    '',
  )

  const ratio = (s: { option: number[]; entity: number[] }) => med(s.entity) / med(s.option)
  const ri = ratio(snaps.inproc)
  const rc = ratio(snaps.cli)
  out.push(
    `Snapshot of one changed row: the option \`${snaps.option.name}\` (${snaps.option.bytes} B, a colour in it replaced) against \`${CHANGED_ENTITY}\` (post_content ${data.changedEntityContent} B, ` +
      `its record ${snaps.entityRecordBytes} B; a colour replaced and post_modified moved). In-process = \`snapshot(site, { trigger: 'poll', whenDbDown: 'carry', units: new Set() })\` on a Site ` +
      'opened as the CLI opens it (dist/), what the daemon runs when its poll saw a change; CLI = `node dist/bin/peakguard.js snapshot` (walks the tree too). Each run was checked to record exactly that one row.',
    '',
  )
  out.push('| snapshot | one changed option (median) | one changed entity (median) | entity ÷ option | runs | target | result |')
  out.push('| --- | ---: | ---: | ---: | ---: | --- | --- |')
  out.push(`| in-process, the daemon's path | ${ms2(med(snaps.inproc.option))} | ${ms2(med(snaps.inproc.entity))} | ${ri.toFixed(2)}× | ${snaps.inproc.option.length} each | ≤ ${SNAPSHOT_RATIO_TARGET}× | ${verdict(ri <= SNAPSHOT_RATIO_TARGET, `${ri.toFixed(2)}×`)} |`)
  out.push(`| CLI \`peakguard snapshot\` | ${ms2(med(snaps.cli.option))} | ${ms2(med(snaps.cli.entity))} | ${rc.toFixed(2)}× | ${snaps.cli.option.length} each | ≤ ${SNAPSHOT_RATIO_TARGET}× | ${verdict(rc <= SNAPSHOT_RATIO_TARGET, `${rc.toFixed(2)}×`)} |`)
  out.push('')
  out.push(
    `Inside the in-process snapshot (medians of ${snaps.read.length}): \`settings.read()\` of every row with its blob id ${ms2(med(snaps.read))}; ` +
      `\`settings.values()\` of the changed option ${ms2(med(snaps.values.option))}, of the changed entity ${ms2(med(snaps.values.entity))}.`,
  )
  out.push('')
  out.push('Per run (ms):', '')
  const n = Math.max(snaps.inproc.option.length, 1)
  out.push('| | ' + Array.from({ length: n }, (_, i) => `r${i + 1}`).join(' | ') + ' |')
  out.push('| --- | ' + Array.from({ length: n }, () => '---:').join(' | ') + ' |')
  for (const [label, xs] of [
    ['in-process, option', snaps.inproc.option],
    ['in-process, entity', snaps.inproc.entity],
    ['CLI, option', snaps.cli.option],
    ['CLI, entity', snaps.cli.entity],
  ] as const)
    out.push(`| ${label} | ${xs.map((x) => x.toFixed(1)).join(' | ')} |`)
  return out
}
