// The database schema MysqlSettings reads (core/schema.ts has the model): every table whose name starts with the
// site's prefix — every blog's on multisite, whose tables share it — with its columns, indexes, engine and
// collation, from information_schema; never a row. Also the poll's schema part: a hash the server computes over
// exactly what the model holds, so the fingerprint moves when the schema does and only then. Names are kept as
// the server gives them: a table or column may be named with spaces, quotes, newlines or any Unicode.
import type mysql from 'mysql2/promise'
import type { ColumnDef, IndexDef, TableDef } from '../core/index.ts'
import type { FingerprintPart } from './mysql-records.ts'

type Conn = mysql.Connection
type Row = mysql.RowDataPacket

/**
 * The tables of the prefix. information_schema compares names case-insensitively (utf8_general_ci), and a
 * table `WP_x` is not `wp_`'s on a server that keeps case (Linux): the bytes decide. `_` and `%` in the prefix
 * are escaped (with `!`, not a backslash, which NO_BACKSLASH_ESCAPES would change). A session's temporary tables
 * (which MariaDB 11.2+ lists) are not the site's schema. Nor are peakguard's own fleet tables,
 * `{prefix}peakguard_*` (mysql-fleet.ts): they are coordination, not the shop's state — created when a site joins a
 * fleet, they would move the schema part and be recorded like a migration, and a restore across their creation
 * would warn of a schema change no plugin made. Two parameters: scopeParams.
 */
function scope(): string {
  return "TABLE_SCHEMA = DATABASE() AND CAST(TABLE_NAME AS BINARY) LIKE CAST(? AS BINARY) ESCAPE '!' AND CAST(TABLE_NAME AS BINARY) NOT LIKE CAST(? AS BINARY) ESCAPE '!'"
}

/** The parameters of scope(): the prefix's tables, less peakguard's own. */
function scopeParams(prefix: string): [string, string] {
  return [likePrefix(prefix), likePrefix(`${prefix}peakguard_`)]
}

function likePrefix(prefix: string): string {
  return `${prefix.replace(/[!%_]/g, '!$&')}%`
}

/**
 * A column type as every server version agrees on it: MySQL 8.0.19+ says `bigint unsigned` where MariaDB and older
 * MySQL say `bigint(20) unsigned` (a display width, meaningless but for tinyint(1)), and servers disagree on
 * `CURRENT_TIMESTAMP` against `current_timestamp()`. A server upgrade is no migration of every table.
 */
export function normalType(type: string): string {
  return type
    .replace(/^(tinyint|smallint|mediumint|int|integer|bigint)\((\d+)\)/i, (all, t: string, w: string) => (t.toLowerCase() === 'tinyint' && w === '1' ? all : t))
    .replace(/^year\(4\)$/i, 'year')
}

export function normalDefault(d: string | null): string | null {
  return d === null ? null : d.replace(/^current_timestamp(?:\((\d*)\))?$/i, (_all, p: string | undefined) => `current_timestamp(${p ?? ''})`)
}

/**
 * Prefixes of other WordPress installs in the same database whose prefix starts with this site's (`wp_shop_` beside
 * `wp_`): a table `{p}options` names one. On multisite `{prefix}N_` is a blog of this site, not another install.
 */
export function otherInstalls(names: readonly string[], prefix: string, multisite: boolean): string[] {
  const out: string[] = []
  const have = new Set(names)
  for (const n of names) {
    if (!n.endsWith('options') || n === `${prefix}options`) continue
    const p = n.slice(0, -'options'.length)
    if (!p.startsWith(prefix) || !p.endsWith('_')) continue
    // WordPress's own tables beside it, not a plugin's `{prefix}poll_options` among its `{prefix}poll_*` tables
    if (!['posts', 'postmeta', 'terms'].every((t) => have.has(`${p}${t}`))) continue
    if (multisite && /^\d+_$/.test(p.slice(prefix.length))) continue
    out.push(p)
  }
  return out
}

/** The tables of the prefix with their columns and indexes: three statements, whatever the number of tables. */
export async function readSchema(conn: Conn, prefix: string, multisite = false): Promise<TableDef[]> {
  const like = scopeParams(prefix)
  const [tables] = await conn.query<Row[]>(
    `SELECT TABLE_NAME AS t, ENGINE AS e, TABLE_COLLATION AS c FROM information_schema.TABLES WHERE ${scope()} AND TABLE_TYPE <> 'TEMPORARY'`,
    like,
  )
  const [columns] = await conn.query<Row[]>(
    `SELECT TABLE_NAME AS t, COLUMN_NAME AS n, COLUMN_TYPE AS y, IS_NULLABLE AS z, COLUMN_DEFAULT AS d FROM information_schema.COLUMNS WHERE ${scope()} ORDER BY TABLE_NAME, ORDINAL_POSITION`,
    like,
  )
  const [stats] = await conn.query<Row[]>(
    `SELECT TABLE_NAME AS t, INDEX_NAME AS i, NON_UNIQUE AS u, COLUMN_NAME AS n, SUB_PART AS s FROM information_schema.STATISTICS WHERE ${scope()} ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    like,
  )
  const defs = new Map<string, TableDef>()
  for (const r of tables) {
    const name = String(r.t)
    // a view has no engine and no collation of its own
    defs.set(name, { name, engine: r.e === null ? null : String(r.e), collation: r.c === null ? null : String(r.c), columns: [], indexes: [] })
  }
  for (const r of columns) {
    const col: ColumnDef = { name: String(r.n), type: normalType(String(r.y)), nullable: String(r.z) === 'YES', default: normalDefault(r.d === null ? null : String(r.d)) }
    defs.get(String(r.t))?.columns.push(col)
  }
  const indexes = new Map<string, IndexDef>()
  for (const r of stats) {
    const table = defs.get(String(r.t))
    if (!table) continue
    const key = `${table.name}\u0000${String(r.i)}`
    let idx = indexes.get(key)
    if (!idx) {
      idx = { name: String(r.i), unique: Number(r.u) === 0, columns: [] }
      indexes.set(key, idx)
      table.indexes.push(idx)
    }
    // a prefix index (KEY meta_key (meta_key(191))) as WordPress writes it; MySQL 8's functional index has no column
    const col = r.n === null ? '(expression)' : String(r.n)
    idx.columns.push(r.s === null ? col : `${col}(${String(r.s)})`)
  }
  // by name as the journal keeps them (encodeSchema), not in the server's case-blind order
  for (const t of defs.values()) t.indexes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  // another install's tables are its own schema, not this site's
  const others = otherInstalls([...defs.keys()], prefix, multisite)
  return [...defs.values()].filter((t) => !others.some((p) => t.name.startsWith(p)))
}

/** by the name's bytes: `wp_A` and `wp_a` are two tables, and equal under information_schema's collation (an order that could flap) */
const BY_NAME = 'CAST(TABLE_NAME AS BINARY)'
const z = (col: string) => `IFNULL(${col}, 0x02)`
const TABLES = " AND TABLE_TYPE <> 'TEMPORARY'"

/** The key of the schema part in the fingerprint (no option, entity or settings-table key holds a colon first). */
export const SCHEMA_KEY = ':schema'

/**
 * The poll's schema part: one MD5 over the three listings, each holding exactly the model's fields — table
 * names, engines and collations; columns in order with type, nullability and default; indexes with uniqueness,
 * columns and prefix lengths — and nothing that moves on its own (row counts, update or create times, the next
 * AUTO_INCREMENT), so the fingerprint moves when the schema does and only then. It opens every table's definition
 * (COLUMNS above all): ~2 ms for a shop's 60 tables, ~10 ms for 300, so the poll computes it only when the gate
 * says a table may have changed (see `schemaDue`).
 */
export function schemaFingerprintPart(prefix: string): FingerprintPart {
  const like = scopeParams(prefix)
  const listing = (view: string, fields: string[], order: string, extra = '') =>
    `COALESCE((SELECT MD5(GROUP_CONCAT(${fields.join(', 0x00, ')} ORDER BY ${order} SEPARATOR 0x01)) FROM information_schema.${view} WHERE ${scope()}${extra}), '-')`
  return {
    key: SCHEMA_KEY,
    sql: `SELECT MD5(CONCAT_WS(':', ${[
      listing('TABLES', ['TABLE_NAME', z('ENGINE'), z('TABLE_COLLATION')], BY_NAME, TABLES),
      listing('COLUMNS', ['TABLE_NAME', 'COLUMN_NAME', 'COLUMN_TYPE', 'IS_NULLABLE', z('COLUMN_DEFAULT')], `${BY_NAME}, ORDINAL_POSITION`),
      listing('STATISTICS', ['TABLE_NAME', 'INDEX_NAME', 'NON_UNIQUE', z('COLUMN_NAME'), z('SUB_PART')], `${BY_NAME}, INDEX_NAME, SEQ_IN_INDEX`),
    ].join(', ')}))`,
    params: [...like, ...like, ...like],
    tables: [],
    always: false,
  }
}

/** What the schema part's gate reads (schemaGate). */
export interface SchemaGate {
  /** the hash of the TABLES listing ('' when the prefix has no table) */
  g: string
  /** the newest CREATE_TIME, server seconds (null: no table has one) */
  c: number | null
  /** the server's clock, seconds */
  n: number
}

/**
 * The schema part's gate, read on every poll (~0.4 ms for 60 tables, ~1.6 ms for 300): a hash of the tables'
 * names, engines, collations and CREATE_TIMEs, the newest CREATE_TIME, and the server's clock (`g`, `c`, `n`).
 * MariaDB rewrites a table's definition on every ALTER — ADD/DROP/RENAME/MODIFY COLUMN, INSTANT or not, CREATE
 * and DROP INDEX — which sets its CREATE_TIME to that second.
 */
export function schemaGate(prefix: string): { sql: string; params: unknown[] } {
  const t = 'UNIX_TIMESTAMP(CREATE_TIME)'
  return {
    sql: `SELECT MD5(GROUP_CONCAT(TABLE_NAME, 0x00, ${z('ENGINE')}, 0x00, ${z('TABLE_COLLATION')}, 0x00, ${z(t)} ORDER BY ${BY_NAME} SEPARATOR 0x01)) AS g, MAX(${t}) AS c, UNIX_TIMESTAMP() AS n FROM information_schema.TABLES WHERE ${scope()}${TABLES}`,
    params: scopeParams(prefix),
  }
}

/**
 * Whether the schema part must be computed now. Seconds are all CREATE_TIME has: an ALTER in the second of the
 * one before it (an installer's CREATE TABLE then ALTER) leaves the gate as it was, so the part is also computed
 * while any table's definition is younger than `recentS`, and at least every `fullS` (a view redefined in place
 * keeps its CREATE_TIME, NULL; MySQL's data dictionary may not move it on every ALTER).
 */
export function schemaDue(
  gate: SchemaGate,
  last: { gate: string; at: number } | undefined,
  recentS: number,
  fullS: number,
): boolean {
  if (!last || last.gate !== gate.g || gate.n - last.at >= fullS) return true
  return gate.c !== null && gate.n - gate.c < recentS
}
