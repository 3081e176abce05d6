// The rows beyond options that MysqlSettings records (core/records.ts has the model): Site Editor entities
// in `{prefix}posts` (with their postmeta and wp_theme / wp_template_part_area terms) and the rows of the
// settings tables a site names. The database server builds each row's record and hashes it (git's blob
// id), so a poll moves hashes, not values; values cross the wire only for rows that changed. Writes run
// inside the caller's transaction. Never logs a value; errors name tables, columns and keys only.
import mysql from 'mysql2/promise'
import {
  ENTITY_HEADER,
  ENTITY_TAXONOMIES,
  ENTITY_TYPES,
  POST_COLUMNS,
  ROW_HEADER,
  badTableName,
  decodePart,
  entityName,
  entityRecord,
  recordLabel,
  rowRecord,
  tableRowName,
  type OptionEntry,
  type EntityRecord,
  type OptionValue,
  type TableSpec,
} from '../core/index.ts'
import { PeakguardError } from '../errors.ts'

/** More rows than this is not settings: content, a log or a queue. */
export const MAX_SETTINGS_ROWS = 50_000

/** The Site Editor entities of one blog: its posts table and the tables their meta and terms live in. */
export interface EntitySource {
  kind: 'entities'
  name: string
  posts: string
  postmeta: string
  relationships: string
  taxonomy: string
  terms: string
}

/** A settings table, checked against the database: its columns (ignored and generated ones left out) and primary key. */
export interface RowSource {
  kind: 'rows'
  name: string
  /** as the config names it, without the prefix */
  short: string
  columns: string[]
  key: string[]
  /** per key column: compared as text (numbers, dates) or as the exact bytes (strings: a latin1 column may hold UTF-8 bytes) */
  keyBytes: boolean[]
  /** FLOAT columns, read through DOUBLE: CAST(float AS CHAR) keeps only 6 significant digits */
  floats: string[]
  /** recorded columns that may be NULL: the poll tells NULL from '' for them */
  nullable: string[]
}

type Conn = mysql.Connection
type Row = mysql.RowDataPacket

const id = (name: string) => mysql.escapeId(name)
const text = (s: string) => mysql.escape(s)
const TYPES = ENTITY_TYPES.map(text).join(', ')
const TAXONOMIES = ENTITY_TAXONOMIES.map(text).join(', ')

/** One field of a record, as the server builds it: label, TAB, byte length or '-', LF, bytes, LF. */
function field(label: string, expr: string): string {
  const bin = `CAST(${expr} AS BINARY)`
  return `IF(${expr} IS NULL, CONCAT(${text(label)}, CHAR(9), '-', CHAR(10)), CONCAT(${text(label)}, CHAR(9), LENGTH(${bin}), CHAR(10), ${bin}, CHAR(10)))`
}

function header(h: string): string {
  return `CONCAT(${text(h.trimEnd())}, CHAR(10))`
}

const BLOB = (s: string) => `SHA1(CONCAT('blob ', LENGTH(${s}), CHAR(0), ${s}))`

// ---- which sources ------------------------------------------------------------------------------------

/** The entity source of the blog whose tables start with `prefix`, when it has a posts table. */
export function entitySource(prefix: string, existing: ReadonlySet<string>): EntitySource | null {
  const t = (n: string) => `${prefix}${n}`
  if (!['posts', 'postmeta', 'term_relationships', 'term_taxonomy', 'terms'].every((n) => existing.has(t(n)))) return null
  return { kind: 'entities', name: t('posts'), posts: t('posts'), postmeta: t('postmeta'), relationships: t('term_relationships'), taxonomy: t('term_taxonomy'), terms: t('terms') }
}

/**
 * The settings tables, checked: each exists, has a primary key, holds at most MAX_SETTINGS_ROWS rows, and
 * its ignored columns exist outside the key. Any failure stops with a message naming the table.
 */
export async function rowSources(conn: Conn, prefix: string, specs: readonly TableSpec[], existing: ReadonlySet<string>, dbName: string): Promise<RowSource[]> {
  const out: RowSource[] = []
  const refuse = (spec: TableSpec, why: string): never => {
    throw new PeakguardError('CONFIG_INVALID', `settingsTables: ${spec.table} (${prefix}${spec.table}) ${why}`)
  }
  for (const spec of specs) {
    const bad = badTableName(spec.table)
    if (bad) refuse(spec, `is refused: ${bad}`)
    const name = `${prefix}${spec.table}`
    if (!existing.has(name)) refuse(spec, `does not exist in database ${dbName}: remove it from settingsTables or check the table prefix`)
    const [cols] = await conn.query<Row[]>(
      `SELECT COLUMN_NAME AS c, EXTRA AS e, DATA_TYPE AS t, IS_NULLABLE = 'YES' AS nullable, IS_NULLABLE = 'NO' AND COLUMN_DEFAULT IS NULL AS required, COALESCE(GENERATION_EXPRESSION, '') <> '' AS g FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`,
      [name],
    )
    const [keys] = await conn.query<Row[]>(
      `SELECT COLUMN_NAME AS c FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`,
      [name],
    )
    const key = keys.map((r) => String(r.c))
    if (key.length === 0) refuse(spec, 'has no primary key: peakguard records a settings table row by row, by its primary key')
    const all = cols.map((r) => String(r.c))
    const odd = all.find((c) => !/^[A-Za-z0-9_$]{1,64}$/.test(c))
    if (odd !== undefined) refuse(spec, `has a column named ${JSON.stringify(odd)}: only letters, digits, _ and $ are supported in settings-table column names`)
    for (const c of spec.ignoreColumns) {
      if (!all.includes(c)) refuse(spec, `has no column ${c} to ignore (columns: ${all.join(', ')})`)
      if (key.includes(c)) refuse(spec, `cannot ignore ${c}: it is part of the primary key`)
      // a restore that puts back a deleted row leaves ignored columns to their defaults: one without any cannot be left out
      const col = cols.find((r) => String(r.c) === c)
      if (col && Number(col.required) && !/auto_increment/i.test(String(col.e ?? '')))
        refuse(spec, `cannot ignore ${c}: it is NOT NULL without a default, so a deleted row could not be put back without it`)
    }
    // generated columns are computed by the server: neither recorded nor written
    // (MySQL 8 says DEFAULT_GENERATED in EXTRA for a plain column with an expression default: the expression decides)
    const generated = new Set(cols.filter((r) => Number(r.g)).map((r) => String(r.c)))
    const typeOf = new Map(cols.map((r) => [String(r.c), String(r.t).toLowerCase()]))
    const [count] = await conn.query<Row[]>(`SELECT COUNT(*) AS n FROM (SELECT 1 FROM ${id(name)} LIMIT ${MAX_SETTINGS_ROWS + 1}) x`)
    const n = Number(count[0]?.n)
    if (n > MAX_SETTINGS_ROWS) refuse(spec, `holds more than ${MAX_SETTINGS_ROWS.toLocaleString('en-US')} rows: that is content, a log or a queue, not settings`)
    const text = /^(tinyint|smallint|mediumint|int|integer|bigint|decimal|numeric|float|double|real|bit|bool|boolean|year|date|time|datetime|timestamp)$/
    out.push({
      kind: 'rows',
      name,
      short: spec.table,
      columns: all.filter((c) => !spec.ignoreColumns.includes(c) && !generated.has(c)),
      key,
      keyBytes: key.map((c) => !text.test(typeOf.get(c) ?? '')),
      floats: all.filter((c) => typeOf.get(c) === 'float'),
      nullable: cols.filter((r) => Number(r.nullable)).map((r) => String(r.c)),
    })
  }
  return out
}

// ---- entities --------------------------------------------------------------------------------------------

function themeOf(s: EntitySource, post: string): string {
  return `(SELECT CAST(t.name AS BINARY) FROM ${id(s.relationships)} r JOIN ${id(s.taxonomy)} tt ON tt.term_taxonomy_id = r.term_taxonomy_id JOIN ${id(s.terms)} t ON t.term_id = tt.term_id WHERE r.object_id = ${post} AND tt.taxonomy = 'wp_theme' ORDER BY t.term_id LIMIT 1)`
}

/** The record of post `p` (an alias of the posts table): its columns, then meta rows by meta_id, then terms. */
function entityRecordSql(s: EntitySource): string {
  const meta = `COALESCE((SELECT GROUP_CONCAT(CONCAT(${field('meta', 'm.meta_key')}, ${field('meta_value', 'm.meta_value')}) ORDER BY m.meta_id SEPARATOR '') FROM ${id(s.postmeta)} m WHERE m.post_id = p.ID), '')`
  const terms = `COALESCE((SELECT GROUP_CONCAT(${field('term', "CONCAT(tt.taxonomy, CHAR(0), t.slug, CHAR(0), t.name)")} ORDER BY tt.taxonomy, t.slug, t.term_id SEPARATOR '') FROM ${id(s.relationships)} r JOIN ${id(s.taxonomy)} tt ON tt.term_taxonomy_id = r.term_taxonomy_id JOIN ${id(s.terms)} t ON t.term_id = tt.term_id WHERE r.object_id = p.ID AND tt.taxonomy IN (${TAXONOMIES})), '')`
  return `CONCAT(${header(ENTITY_HEADER)}, ${POST_COLUMNS.map((c) => field(c, `p.${id(c)}`)).join(', ')}, ${meta}, ${terms})`
}

interface EntityRow {
  id: number
  name: string
}

/** Names for the entities listed (id, type, theme, slug; ordered by id): the first post of a key takes it plain. */
function nameEntities(rows: Row[]): (EntityRow & { r: Row })[] {
  const seen = new Set<string>()
  return rows.map((r) => {
    const plain = entityName(r.ty as Buffer, (r.th as Buffer | null) ?? Buffer.alloc(0), r.sl as Buffer)
    const dup = seen.has(plain)
    seen.add(plain)
    const pid = Number(r.id)
    return { id: pid, name: dup ? entityName(r.ty as Buffer, (r.th as Buffer | null) ?? Buffer.alloc(0), r.sl as Buffer, pid) : plain, r }
  })
}

const ENTITY_KEYS = (s: EntitySource) => `p.ID AS id, CAST(p.post_type AS BINARY) AS ty, CAST(p.post_name AS BINARY) AS sl, ${themeOf(s, 'p.ID')} AS th`

export async function readEntities(conn: Conn, s: EntitySource): Promise<OptionEntry[]> {
  const [rows] = await conn.query<Row[]>(
    `SELECT x.id, x.ty, x.sl, x.th, ${BLOB('x.v')} AS b FROM (SELECT ${ENTITY_KEYS(s)}, ${entityRecordSql(s)} AS v FROM ${id(s.posts)} p WHERE p.post_type IN (${TYPES})) x ORDER BY x.id`,
  )
  return nameEntities(rows).map(({ name, r }) => {
    if (r.b === null) throw new PeakguardError('DB_FAILED', `${s.posts}: ${recordLabel(name)} (post ${String(r.id)}) is too large to fingerprint within the server's max_allowed_packet`)
    return { table: s.name, name, blob: String(r.b), autoload: null }
  })
}

/** The entities as they are now: name → post id. */
async function liveEntities(conn: Conn, s: EntitySource): Promise<Map<string, number>> {
  const [rows] = await conn.query<Row[]>(`SELECT ${ENTITY_KEYS(s)} FROM ${id(s.posts)} p WHERE p.post_type IN (${TYPES}) ORDER BY p.ID`)
  return new Map(nameEntities(rows).map((e) => [e.name, e.id]))
}

/**
 * The records of these entities. Names come from every entity's key (a duplicate's name depends on the
 * others), records are built only for the posts asked for: a snapshot of one changed template part reads
 * one record, not every template's markup.
 */
export async function entityValues(conn: Conn, s: EntitySource, names: ReadonlySet<string>): Promise<Map<string, Buffer>> {
  const ids = [...(await liveEntities(conn, s))].filter(([name]) => names.has(name)).map(([, pid]) => pid)
  const out = new Map<string, Buffer>()
  if (ids.length === 0) return out
  const [rows] = await conn.query<Row[]>(
    `SELECT ${ENTITY_KEYS(s)}, IF(p.ID IN (?), ${entityRecordSql(s)}, NULL) AS v FROM ${id(s.posts)} p WHERE p.post_type IN (${TYPES}) ORDER BY p.ID`,
    [ids],
  )
  // named again from this reading: a post changed or renamed between the two queries is not taken for another
  for (const { name, r } of nameEntities(rows)) if (names.has(name) && r.v !== null) out.set(name, r.v as Buffer)
  return out
}

const TERM_TAXONOMIES = new Set<string>(ENTITY_TAXONOMIES)

/**
 * Writes and deletes entities. Every check comes first: a recorded post id that now belongs to another
 * post (one this restore does not also replace) stops the whole write, naming both.
 */
export async function applyEntities(conn: Conn, s: EntitySource, write: OptionValue[], remove: { name: string }[]): Promise<void> {
  if (write.length === 0 && remove.length === 0) return
  const live = await liveEntities(conn, s)
  const records = write.map((w) => ({ w, rec: entityRecord(w.value, recordLabel(w.name)) }))
  const writtenIds = new Set(records.map(({ rec }) => postId(rec)))
  const replaced = new Set([...write.map((w) => w.name), ...remove.map((r) => r.name)])
  // posts that this write deletes: removed entities, and other posts of a written entity's key
  const deleting = new Set<number>()
  for (const r of remove) {
    const pid = live.get(r.name)
    if (pid !== undefined && !writtenIds.has(pid)) deleting.add(pid)
  }
  for (const { w } of records) {
    const pid = live.get(w.name)
    if (pid !== undefined && !writtenIds.has(pid)) deleting.add(pid)
  }
  const liveById = new Map([...live].map(([n, i]) => [i, n]))
  for (const { w, rec } of records) {
    const pid = postId(rec)
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new PeakguardError('GIT_FAILED', `the recorded ${recordLabel(w.name)} has no valid post id; nothing was written`)
    const holder = liveById.get(pid)
    if (holder === w.name || (holder !== undefined && replaced.has(holder))) continue
    const [rows] = await conn.execute<Row[]>(`SELECT post_type AS t, post_title AS ti FROM ${id(s.posts)} WHERE ID = ?`, [pid])
    if (rows.length === 0) continue
    const now = holder ? `${holder} (${recordLabel(holder)})` : `a ${String(rows[0]?.t)} post`
    throw new PeakguardError(
      'RESTORE_CONFLICT',
      `${w.name} (${recordLabel(w.name)}) was recorded as post ${pid}, but post ${pid} is now ${now}: navigation blocks refer to menus by id, so peakguard keeps recorded ids and will not overwrite another post; nothing was written`,
    )
  }
  for (const pid of deleting) await deletePost(conn, s, pid)
  for (const { rec } of records) await writeEntity(conn, s, rec)
  // the counts WordPress keeps on its terms, for the terms entities use
  await conn.query(`UPDATE ${id(s.taxonomy)} tt SET tt.count = (SELECT COUNT(*) FROM ${id(s.relationships)} r WHERE r.term_taxonomy_id = tt.term_taxonomy_id) WHERE tt.taxonomy IN (${TAXONOMIES})`)
}

/** The post id an entity's record holds (entityRecord checked it is there). */
function postId(rec: EntityRecord): number {
  return Number(Buffer.from(rec.post.get('ID') as Uint8Array).toString())
}

async function deletePost(conn: Conn, s: EntitySource, pid: number): Promise<void> {
  await conn.execute(`DELETE FROM ${id(s.postmeta)} WHERE post_id = ?`, [pid])
  await conn.execute(`DELETE r FROM ${id(s.relationships)} r JOIN ${id(s.taxonomy)} tt ON tt.term_taxonomy_id = r.term_taxonomy_id WHERE r.object_id = ? AND tt.taxonomy IN (${TAXONOMIES})`, [pid])
  await conn.execute(`DELETE FROM ${id(s.posts)} WHERE ID = ?`, [pid])
}

async function writeEntity(conn: Conn, s: EntitySource, rec: EntityRecord): Promise<void> {
  const pid = postId(rec)
  const cols = POST_COLUMNS.filter((c) => rec.post.has(c))
  const vals = cols.map((c) => bytes(rec.post.get(c) ?? null))
  const set = cols.filter((c) => c !== 'ID')
  const [res] = await conn.execute<mysql.ResultSetHeader>(
    `UPDATE ${id(s.posts)} SET ${set.map((c) => `${id(c)} = ?`).join(', ')} WHERE ID = ?`,
    [...set.map((c) => bytes(rec.post.get(c) ?? null)), pid],
  )
  if (res.affectedRows === 0) await conn.execute(`INSERT INTO ${id(s.posts)} (${cols.map(id).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, vals)
  await conn.execute(`DELETE FROM ${id(s.postmeta)} WHERE post_id = ?`, [pid])
  // in recorded order: new meta ids keep the order get_post_meta() returns several values in
  for (const m of rec.meta) await conn.execute(`INSERT INTO ${id(s.postmeta)} (post_id, meta_key, meta_value) VALUES (?, ?, ?)`, [pid, bytes(m.key), bytes(m.value)])
  await conn.execute(`DELETE r FROM ${id(s.relationships)} r JOIN ${id(s.taxonomy)} tt ON tt.term_taxonomy_id = r.term_taxonomy_id WHERE r.object_id = ? AND tt.taxonomy IN (${TAXONOMIES})`, [pid])
  for (const t of rec.terms) {
    if (!TERM_TAXONOMIES.has(t.taxonomy)) continue
    const [found] = await conn.execute<Row[]>(
      `SELECT tt.term_taxonomy_id AS id FROM ${id(s.taxonomy)} tt JOIN ${id(s.terms)} t ON t.term_id = tt.term_id WHERE tt.taxonomy = ? AND t.slug = ? ORDER BY tt.term_taxonomy_id LIMIT 1`,
      [t.taxonomy, bytes(t.slug)],
    )
    let ttId = found[0] ? Number(found[0].id) : 0
    if (!ttId) {
      const [term] = await conn.execute<mysql.ResultSetHeader>(`INSERT INTO ${id(s.terms)} (name, slug, term_group) VALUES (?, ?, 0)`, [bytes(t.name), bytes(t.slug)])
      const [tax] = await conn.execute<mysql.ResultSetHeader>(`INSERT INTO ${id(s.taxonomy)} (term_id, taxonomy, description, parent, count) VALUES (?, ?, '', 0, 0)`, [term.insertId, t.taxonomy])
      ttId = tax.insertId
    }
    await conn.execute(`INSERT INTO ${id(s.relationships)} (object_id, term_taxonomy_id, term_order) VALUES (?, ?, 0)`, [pid, ttId])
  }
}

// ---- settings tables ------------------------------------------------------------------------------------

/** A column as recorded: FLOAT through DOUBLE (+ 0E0: MySQL 5.7 has no CAST AS DOUBLE), whose text gives the stored value back exactly. */
function columnSql(t: RowSource, c: string): string {
  return t.floats.includes(c) ? `(${id(c)} + 0E0)` : id(c)
}

function rowRecordSql(t: RowSource): string {
  return `CONCAT(${header(ROW_HEADER)}, ${t.columns.map((c) => field(c, columnSql(t, c))).join(', ')})`
}

const KEYS = (t: RowSource) => t.key.map((c, i) => `CAST(${id(c)} AS BINARY) AS k${i}`).join(', ')
const keyOf = (t: RowSource, r: Row) => t.key.map((_, i) => r[`k${i}`] as Buffer)

/**
 * Runs `fn` on settings table `t`, turning "no such table/column" into an error that names the table and
 * says what to do: a table dropped (or altered) since the daemon checked it at start.
 */
async function onTable<T>(t: RowSource, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === 'ER_NO_SUCH_TABLE')
      throw new PeakguardError('DB_NO_TABLES', `settings table ${t.name} (settingsTables: ${t.short}) is gone from the database: restore the table, or remove it from settingsTables; nothing was written`, { cause: e })
    if (code === 'ER_BAD_FIELD_ERROR')
      throw new PeakguardError('DB_FAILED', `settings table ${t.name} no longer has the columns peakguard checked at start (${t.columns.join(', ')}): restart peakguard to check it again; nothing was written`, { cause: e })
    throw e
  }
}

export async function readRows(conn: Conn, t: RowSource): Promise<OptionEntry[]> {
  return onTable(t, () => readRowsOf(conn, t))
}

async function readRowsOf(conn: Conn, t: RowSource): Promise<OptionEntry[]> {
  const [rows] = await conn.query<Row[]>(`SELECT ${t.key.map((_, i) => `x.k${i}`).join(', ')}, ${BLOB('x.v')} AS b FROM (SELECT ${KEYS(t)}, ${rowRecordSql(t)} AS v FROM ${id(t.name)}) x`)
  return rows.map((r) => {
    const name = tableRowName(t.short, keyOf(t, r))
    if (r.b === null) throw new PeakguardError('DB_FAILED', `${t.name}: ${recordLabel(name)} is too large to fingerprint within the server's max_allowed_packet`)
    return { table: t.name, name, blob: String(r.b), autoload: null }
  })
}

/**
 * A key as the statement's parameters (prepared statements: a Buffer is a string of exactly those bytes, never
 * a hex number): text for numeric and temporal columns, so '7' compares as 7; the exact bytes for string
 * columns, compared byte for byte whatever the column's charset (a latin1 column holding UTF-8 bytes).
 */
function keyParams(t: RowSource, key: readonly Uint8Array[]): (string | Buffer)[] {
  return key.map((k, i) => (t.keyBytes[i] ? Buffer.from(k) : Buffer.from(k).toString('latin1')))
}

export async function rowValues(conn: Conn, t: RowSource, names: ReadonlySet<string>): Promise<Map<string, Buffer>> {
  return onTable(t, () => rowValuesOf(conn, t, names))
}

async function rowValuesOf(conn: Conn, t: RowSource, names: ReadonlySet<string>): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const wanted = [...names]
  for (let i = 0; i < wanted.length; i += 200) {
    const chunk = wanted.slice(i, i + 200).map((n) => parsedKey(t, n))
    const one = `(${t.key.map((c) => `${id(c)} = ?`).join(' AND ')})`
    const [rows] = await conn.execute<Row[]>(
      `SELECT ${KEYS(t)}, ${rowRecordSql(t)} AS v FROM ${id(t.name)} WHERE ${chunk.map(() => one).join(' OR ')}`,
      chunk.flatMap((k) => keyParams(t, k)),
    )
    for (const r of rows) {
      const name = tableRowName(t.short, keyOf(t, r))
      if (names.has(name)) out.set(name, r.v as Buffer)
    }
  }
  return out
}

function parsedKey(t: RowSource, name: string): Uint8Array[] {
  const prefix = `table:${t.short}#`
  if (!name.startsWith(prefix)) throw new PeakguardError('INTERNAL', `${name} is not a row of ${t.name}`)
  const key = name.slice(prefix.length).split(',').map(decodePart)
  if (key.length !== t.key.length) throw new PeakguardError('RESTORE_CONFLICT', `${name}: ${t.name}'s primary key is now (${t.key.join(', ')}), not the ${key.length} column(s) recorded; nothing was written`)
  return key
}

/** Writes rows by primary key (update, else insert) and deletes rows; ignored columns are left as they are. */
export async function applyRows(conn: Conn, t: RowSource, write: OptionValue[], remove: { name: string }[]): Promise<void> {
  return onTable(t, () => applyRowsOf(conn, t, write, remove))
}

async function applyRowsOf(conn: Conn, t: RowSource, write: OptionValue[], remove: { name: string }[]): Promise<void> {
  const where = t.key.map((c) => `${id(c)} = ?`).join(' AND ')
  const parsed = write.map((w) => ({ w, cols: rowRecord(w.value, recordLabel(w.name)), key: parsedKey(t, w.name) }))
  for (const { w, cols } of parsed) {
    const unknown = [...cols.keys()].find((c) => !t.columns.includes(c))
    if (unknown !== undefined) throw new PeakguardError('RESTORE_CONFLICT', `${w.name}: ${t.name} has no column ${unknown} any more (or it is ignored now); nothing was written`)
  }
  for (const r of remove) await conn.execute(`DELETE FROM ${id(t.name)} WHERE ${where}`, keyParams(t, parsedKey(t, r.name)))
  for (const { cols, key } of parsed) {
    const names = [...cols.keys()]
    const set = names.filter((c) => !t.key.includes(c))
    let matched = 0
    if (set.length) {
      const [res] = await conn.execute<mysql.ResultSetHeader>(`UPDATE ${id(t.name)} SET ${set.map((c) => `${id(c)} = ?`).join(', ')} WHERE ${where}`, [...set.map((c) => bytes(cols.get(c) ?? null)), ...keyParams(t, key)])
      matched = res.affectedRows
    } else {
      const [found] = await conn.execute<Row[]>(`SELECT 1 FROM ${id(t.name)} WHERE ${where}`, keyParams(t, key))
      matched = found.length
    }
    if (matched === 0) await conn.execute(`INSERT INTO ${id(t.name)} (${names.map(id).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`, names.map((c) => bytes(cols.get(c) ?? null)))
  }
}

/** Bytes as a statement parameter (a Buffer is sent as a string of exactly those bytes); null stays NULL. */
function bytes(v: Uint8Array | null): Buffer | null {
  return v === null ? null : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
}

// ---- the poll's checksums --------------------------------------------------------------------------------

/**
 * One part of the settings poll's checksum: a scalar subquery, and the tables whose change time
 * (information_schema.TABLES.UPDATE_TIME) says whether it may have changed. `always`: computed on every poll.
 */
export interface FingerprintPart {
  key: string
  sql: string
  params: unknown[]
  tables: string[]
  always: boolean
}

/**
 * An entity source's parts. Each column is hashed where it lies (CRC32 over CONCAT_WS of the columns, no
 * record built), meta and terms are one join each for all entities (no subquery per post): about a third of
 * the cost of hashing whole records (docs/benchmarks.md). The meta and terms parts join the posts table only to
 * know which posts are entities; a post becoming or ceasing to be one changes the posts part, so they are
 * gated on their own tables (a busy shop's orders keep wp_posts and wp_postmeta moving).
 */
export function entityFingerprintParts(s: EntitySource): FingerprintPart[] {
  const cols = POST_COLUMNS.filter((c) => c !== 'ID').map((c) => `p.${id(c)}`)
  return [
    {
      key: `${s.posts}:posts`,
      sql: `SELECT CONCAT_WS(':', COUNT(*), MD5(GROUP_CONCAT(p.ID, ':', CRC32(CONCAT_WS(0x00, ${cols.join(', ')}))))) FROM ${id(s.posts)} p WHERE p.post_type IN (${TYPES})`,
      params: [],
      tables: [s.posts],
      always: false,
    },
    {
      key: `${s.posts}:meta`,
      sql:
        `SELECT CONCAT_WS(':', COUNT(*), MD5(GROUP_CONCAT(m.meta_id, ':', m.post_id, ':', CRC32(CONCAT_WS(0x00, m.meta_key, m.meta_value, ISNULL(m.meta_key), ISNULL(m.meta_value)))))) ` +
        `FROM ${id(s.posts)} p JOIN ${id(s.postmeta)} m ON m.post_id = p.ID WHERE p.post_type IN (${TYPES})`,
      params: [],
      tables: [s.postmeta],
      always: false,
    },
    {
      key: `${s.posts}:terms`,
      sql:
        `SELECT CONCAT_WS(':', COUNT(*), MD5(GROUP_CONCAT(r.object_id, ':', tt.term_taxonomy_id, ':', CRC32(CONCAT_WS(0x00, tt.taxonomy, t.slug, t.name))))) ` +
        `FROM ${id(s.taxonomy)} tt JOIN ${id(s.relationships)} r ON r.term_taxonomy_id = tt.term_taxonomy_id JOIN ${id(s.terms)} t ON t.term_id = tt.term_id ` +
        `JOIN ${id(s.posts)} p ON p.ID = r.object_id WHERE tt.taxonomy IN (${TAXONOMIES}) AND p.post_type IN (${TYPES})`,
      params: [],
      tables: [s.relationships, s.taxonomy, s.terms],
      always: false,
    },
  ]
}

/** A settings table's part: the CRC32 of its recorded columns per row, NULL told apart from '' where a column may be NULL. */
export function rowFingerprintPart(t: RowSource): FingerprintPart {
  const cols = t.columns.map((c) => columnSql(t, c))
  const flags = t.columns.filter((c) => t.nullable.includes(c)).map((c) => `ISNULL(${id(c)})`)
  return {
    key: t.name,
    sql: `SELECT CONCAT_WS(':', COUNT(*), MD5(GROUP_CONCAT(CRC32(CONCAT_WS(0x00, ${[...cols, ...flags].join(', ')}))))) FROM ${id(t.name)}`,
    params: [],
    tables: [t.name],
    always: false,
  }
}
