// The settings tables of one WordPress site (SettingsPort) over mysql2: `{prefix}options`, and on
// multisite `{prefix}N_options` for every blog in `{prefix}blogs` plus `{prefix}sitemeta`. Values are
// read and written as exact bytes (CAST … AS BINARY out, binary parameters in), so serialized PHP,
// 4-byte UTF-8, NUL bytes and legacy latin1 bytes survive unchanged. No value is ever logged.
import { createHash } from 'node:crypto'
import mysql from 'mysql2/promise'
import { POST_COLUMNS, kindOfName, optionKey, schemaOf, type OptionEntry, type OptionValue, type SchemaInfo, type SettingsPort, type TableSpec } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import {
  applyEntities,
  applyRows,
  entityFingerprintParts,
  entitySource,
  entityValues,
  readEntities,
  readRows,
  rowFingerprintPart,
  rowSources,
  rowValues,
  type EntitySource,
  type FingerprintPart,
  type RowSource,
} from './mysql-records.ts'
import { SCHEMA_KEY, readSchema, schemaDue, schemaFingerprintPart, schemaGate, type SchemaGate } from './mysql-schema.ts'

export interface DbConfig {
  host: string
  port: number
  socket: string | null
  user: string
  password: string
  name: string
  tablePrefix: string
  multisite: boolean
}

interface OptionTable {
  name: string
  kind: 'options' | 'sitemeta'
}

/** A table whose rows are state: options, network options, Site Editor entities (posts), a settings table. */
type Table = OptionTable | EntitySource | RowSource

export interface SettingsScope {
  /** option-name globs left out of the fingerprint: rows that change on their own (transients, cron) */
  ignoredOptions?: readonly string[]
  /** the settings tables beyond options (presets expanded), checked against the database at the first read */
  settingsTables?: readonly TableSpec[]
}

export class MysqlSettings implements SettingsPort {
  private conn: mysql.Connection | null = null
  private connecting: Promise<mysql.Connection> | null = null
  private tableList: Table[] | null = null
  /** connections whose session prepare() has set up */
  private readonly prepared = new WeakSet<mysql.Connection>()
  /** the poll's parts for the table list they were built from: built once per list, not on every poll */
  private parts: { tables: Table[]; parts: FingerprintPart[] } | null = null
  /** each gated part of the poll's checksum as last computed, with when (server seconds) and its tables' change times */
  private readonly lastParts = new Map<string, { value: string; at: number; times: Map<string, number | null> }>()
  /** the schema gate when the schema part was last computed, and when (server seconds): see schemaDue */
  private schemaSeen: { gate: string; at: number } | null = null

  private readonly db: DbConfig
  /** option-name globs left out of the fingerprint: rows that change on their own (transients, cron) */
  private readonly ignored: readonly string[]
  private readonly settingsTables: readonly TableSpec[]

  constructor(db: DbConfig, scope: SettingsScope = {}) {
    this.db = db
    this.ignored = scope.ignoredOptions ?? []
    this.settingsTables = scope.settingsTables ?? []
  }

  private where(): string {
    return this.db.socket ? `socket ${this.db.socket}` : `${this.db.host}:${this.db.port}`
  }

  async connection(): Promise<mysql.Connection> {
    if (this.conn) return this.conn
    // one connection attempt at a time, and close() waits for it: a command that fails while the first
    // query is still connecting (a file walk failing first) must not leave a socket that holds the process
    this.connecting ??= this.connect().finally(() => (this.connecting = null))
    return this.connecting
  }

  private async connect(): Promise<mysql.Connection> {
    try {
      const conn = await mysql.createConnection({
        ...(this.db.socket ? { socketPath: this.db.socket } : { host: this.db.host, port: this.db.port }),
        user: this.db.user,
        password: this.db.password,
        database: this.db.name,
        charset: 'utf8mb4_general_ci',
        connectTimeout: 5000,
        supportBigNumbers: true,
        bigNumberStrings: true,
      })
      conn.on('error', () => {
        if (this.conn === conn) this.conn = null
      })
      this.conn = conn
      return conn
    } catch (e) {
      throw this.connectError(e)
    }
  }

  private connectError(e: unknown): PeakguardError {
    const err = e as { code?: string; errno?: number; message?: string }
    if (err.code === 'ER_ACCESS_DENIED_ERROR' || err.errno === 1045)
      return new PeakguardError('DB_AUTH', `the database at ${this.where()} refused user ${this.db.user}: check DB_USER/DB_PASSWORD (${err.code})`, { cause: e })
    if (err.code === 'ER_BAD_DB_ERROR' || err.errno === 1049)
      return new PeakguardError('DB_UNREACHABLE', `database ${this.db.name} does not exist at ${this.where()}`, { cause: e })
    if (err.code === 'ER_DBACCESS_DENIED_ERROR' || err.errno === 1044)
      return new PeakguardError('DB_AUTH', `user ${this.db.user} may not use database ${this.db.name} at ${this.where()}`, { cause: e })
    return new PeakguardError('DB_UNREACHABLE', `cannot reach the database at ${this.where()}: ${err.code ?? err.message} — is MariaDB/MySQL running there?`, { cause: e })
  }

  /**
   * The tables whose rows are state: the options table(s), the posts table of each blog for Site Editor
   * entities, and the configured settings tables (checked: an error names a table that is missing, has no
   * primary key or is too large). An error when the prefix matches no options table.
   */
  async tables(): Promise<Table[]> {
    if (this.tableList) return this.tableList
    const conn = await this.connection()
    const [rows] = await conn.query<mysql.RowDataPacket[]>(
      'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
    )
    const existing = new Set(rows.map((r) => String(r.t)))
    const p = this.db.tablePrefix
    if (!existing.has(`${p}options`)) {
      const prefixes = [...new Set([...existing].filter((t) => t.endsWith('options')).map((t) => t.slice(0, -'options'.length)))]
      throw new PeakguardError(
        'DB_NO_TABLES',
        `no table ${p}options in database ${this.db.name}: the table prefix ${JSON.stringify(p)} matches no WordPress settings table` +
          (prefixes.length ? ` (prefixes found: ${prefixes.map((x) => JSON.stringify(x)).join(', ')})` : ''),
      )
    }
    const tables: Table[] = [{ name: `${p}options`, kind: 'options' }]
    // a posts table without WordPress's columns (not a WordPress schema) holds no entities peakguard can record
    const [postTables] = await conn.query<mysql.RowDataPacket[]>(
      `SELECT TABLE_NAME AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN (?) GROUP BY TABLE_NAME HAVING COUNT(*) = ?`,
      [POST_COLUMNS, POST_COLUMNS.length],
    )
    const wpPosts = new Set(postTables.map((r) => String(r.t)))
    const withPosts = new Set([...existing].filter((t) => !t.endsWith('posts') || wpPosts.has(t)))
    const entities: EntitySource[] = []
    const main = entitySource(p, withPosts)
    if (main) entities.push(main)
    if (this.db.multisite) {
      if (existing.has(`${p}blogs`)) {
        const [blogs] = await conn.query<mysql.RowDataPacket[]>(`SELECT blog_id FROM \`${p}blogs\` ORDER BY blog_id`)
        for (const b of blogs) {
          const id = Number(b.blog_id)
          if (id > 1 && existing.has(`${p}${id}_options`)) {
            tables.push({ name: `${p}${id}_options`, kind: 'options' })
            const blog = entitySource(`${p}${id}_`, withPosts)
            if (blog) entities.push(blog)
          }
        }
      }
      if (existing.has(`${p}sitemeta`)) tables.push({ name: `${p}sitemeta`, kind: 'sitemeta' })
    }
    try {
      tables.push(...entities, ...(await rowSources(conn, p, this.settingsTables, existing, this.db.name)))
    } catch (e) {
      throw this.failed(e, 'checking the settings tables')
    }
    this.tableList = tables
    return tables
  }

  /** Which of these tables (named without the prefix) the site's database holds: what `init` offers presets by. */
  async existingTables(names: readonly string[]): Promise<string[]> {
    if (names.length === 0) return []
    const conn = await this.connection()
    try {
      const p = this.db.tablePrefix
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)', [names.map((n) => `${p}${n}`)])
      const there = new Set(rows.map((r) => String(r.t)))
      return names.filter((n) => there.has(`${p}${n}`))
    } catch (e) {
      throw this.failed(e, "looking for plugins' settings tables")
    }
  }

  /** The names of the tables whose rows `read` returns: what a state recorded now covers. */
  async sources(): Promise<string[]> {
    return (await this.tables()).map((t) => t.name)
  }

  /**
   * Every row with the git blob id of its value, computed by the server over the stored bytes:
   * SHA1("blob <byte length>\0" + value). Values themselves cross the wire only when asked for.
   * A name held by several rows (a table without its UNIQUE key) is read as WordPress reads it: see
   * `effective`.
   */
  async read(): Promise<OptionEntry[]> {
    const conn = await this.connection()
    const out: OptionEntry[] = []
    const blobOf = (col: string) => `SHA1(CONCAT('blob ', LENGTH(${col}), CHAR(0), CAST(${col} AS BINARY)))`
    try {
      await this.prepare(conn)
      for (const t of await this.tables()) {
        if (t.kind === 'entities') {
          out.push(...(await readEntities(conn, t)))
          continue
        }
        if (t.kind === 'rows') {
          out.push(...(await readRows(conn, t)))
          continue
        }
        const [rows] = await conn.query<mysql.RowDataPacket[]>(
          t.kind === 'options'
            ? `SELECT option_name AS n, ${blobOf("COALESCE(option_value, '')")} AS b, autoload AS a, option_value IS NULL AS z FROM \`${t.name}\` ORDER BY option_id`
            : // a row without a meta_key (add_network_option(null, …) writes one) is no option WordPress can read
              `SELECT CONCAT(site_id, ':', meta_key) AS n, ${blobOf("COALESCE(meta_value, '')")} AS b, NULL AS a, meta_value IS NULL AS z FROM \`${t.name}\` WHERE meta_key IS NOT NULL ORDER BY meta_id`,
        )
        for (const group of byName(rows)) {
          const r = effective(t.kind, group)
          // CONCAT gives NULL (with a warning) when the result would pass max_allowed_packet
          if (r.b === null) throw new PeakguardError('DB_FAILED', `${t.name}.${String(r.n)} is too large to fingerprint within the server's max_allowed_packet: ${PACKET_FIX}`)
          out.push({ table: t.name, name: String(r.n), blob: String(r.b), autoload: r.a === null ? null : String(r.a), ...(Number(r.z) ? { nullValue: true as const } : {}) })
        }
      }
    } catch (e) {
      throw this.failed(e, 'reading the settings tables')
    }
    return out
  }

  /** Every table of the prefix (every blog's on multisite) with its columns, indexes, engine and collation: see mysql-schema.ts. */
  async schema(): Promise<SchemaInfo> {
    const conn = await this.connection()
    try {
      return schemaOf(await readSchema(conn, this.db.tablePrefix, this.db.multisite))
    } catch (e) {
      throw this.failed(e, 'reading the database schema')
    }
  }

  /**
   * The tables whose names are not unique (no UNIQUE key on option_name, several rows of one name): what
   * an operator should be told, since WordPress then reads one copy and ignores the others.
   */
  async duplicates(): Promise<string[]> {
    const conn = await this.connection()
    const out: string[] = []
    try {
      for (const t of await this.tables()) {
        if (t.kind === 'entities' || t.kind === 'rows') continue
        const [name, where] = t.kind === 'options' ? ['option_name', ''] : ["CONCAT(site_id, ':', meta_key)", 'WHERE meta_key IS NOT NULL']
        const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT ${name} AS n, COUNT(*) AS c FROM \`${t.name}\` ${where} GROUP BY ${name} HAVING c > 1 ORDER BY c DESC LIMIT 6`)
        if (rows.length === 0) continue
        const names = rows.slice(0, 5).map((r) => `${JSON.stringify(String(r.n))} ×${r.c}`)
        out.push(
          `${t.name} holds several rows of one name (${names.join(', ')}${rows.length > 5 ? ', …' : ''})` +
            (t.kind === 'options' ? ': its UNIQUE key on option_name is missing' : '') +
            ' — peakguard records each name as WordPress reads it and a restore writes every copy',
        )
      }
    } catch (e) {
      throw this.failed(e, 'checking the settings tables for duplicate names')
    }
    return out
  }

  async values(rows: OptionEntry[]): Promise<Map<string, { value: Uint8Array; blob: string }>> {
    const out = new Map<string, { value: Uint8Array; blob: string }>()
    if (rows.length === 0) return out
    const conn = await this.connection()
    const sources = new Map((await this.tables()).map((t) => [t.name, t]))
    const kinds = new Map([...sources].map(([n, t]) => [n, t.kind]))
    const byTable = new Map<string, OptionEntry[]>()
    for (const r of rows) byTable.set(r.table, [...(byTable.get(r.table) ?? []), r])
    try {
      await this.prepare(conn)
      for (const [table, list] of byTable) {
        const src = sources.get(table)
        if (src?.kind === 'entities' || src?.kind === 'rows') {
          const names = new Set(list.map((r) => r.name))
          const got = src.kind === 'entities' ? await entityValues(conn, src, names) : await rowValues(conn, src, names)
          for (const [name, value] of got) out.set(optionKey(table, name), { value, blob: blobId(value) })
          continue
        }
        const kind = kinds.get(table) ?? 'options'
        for (let i = 0; i < list.length; i += 500) {
          const chunk = list.slice(i, i + 500)
          const [res] = await conn.query<mysql.RowDataPacket[]>(
            kind === 'options'
              ? `SELECT option_name AS n, CAST(COALESCE(option_value, '') AS BINARY) AS v, autoload AS a FROM \`${table}\` WHERE option_name IN (?) ORDER BY option_id`
              : `SELECT CONCAT(site_id, ':', meta_key) AS n, CAST(COALESCE(meta_value, '') AS BINARY) AS v, NULL AS a FROM \`${table}\` WHERE (site_id, meta_key) IN (?) ORDER BY meta_id`,
            [kind === 'options' ? chunk.map((r) => r.name) : chunk.map((r) => splitMeta(r.name))],
          )
          for (const group of byName(res)) {
            const r = effective(kind, group)
            out.set(optionKey(table, String(r.n)), { value: r.v as Buffer, blob: blobId(r.v as Buffer) })
          }
        }
      }
    } catch (e) {
      throw this.failed(e, 'reading settings values')
    }
    return out
  }

  /**
   * Writes by name, never through a unique key: every row of the name is updated (a table without its
   * UNIQUE key may hold several, and WordPress may read any of them), and a row is added only where the
   * name has none. A value that cannot pass the server's max_allowed_packet is refused before anything
   * is written.
   */
  async apply(write: OptionValue[], remove: { table: string; name: string }[]): Promise<void> {
    const conn = await this.connection()
    const sources = new Map((await this.tables()).map((t) => [t.name, t]))
    const kindOf = (table: string) => {
      const k = sources.get(table)?.kind
      if (!k) throw new PeakguardError('DB_NO_TABLES', `settings table ${table} is not in the database any more (or no longer configured); nothing was written`)
      return k
    }
    for (const r of [...write, ...remove]) kindOf(r.table)
    const largest = write.reduce<OptionValue | null>((m, r) => (!m || r.value.byteLength > m.value.byteLength ? r : m), null)
    if (largest) {
      const limit = await this.maxPacket(conn)
      // the statement carries the value, the name and about a hundred bytes of SQL
      if (largest.value.byteLength + Buffer.byteLength(largest.name) + 1024 > limit)
        throw new PeakguardError(
          'DB_FAILED',
          `${largest.table}.${largest.name} is ${largest.value.byteLength} bytes, more than the database server takes in one statement (max_allowed_packet ${limit}): ${PACKET_FIX}; nothing was written`,
        )
    }
    for (const r of [...write, ...remove]) {
      const k = kindOf(r.table)
      const record = kindOfName(r.name)
      // an option may be named anything (even entity:…); an entity or a table row must be one
      if ((k === 'entities' && record !== 'entity') || (k === 'rows' && record !== 'row'))
        throw new PeakguardError('GIT_FAILED', `the recorded row ${JSON.stringify(r.name)} does not belong in ${r.table}; nothing was written`)
    }
    try {
      await this.prepare(conn)
      await conn.beginTransaction()
      // entities and settings-table rows first: their checks (a post id taken by another post) stop everything
      for (const src of sources.values()) {
        if (src.kind !== 'entities' && src.kind !== 'rows') continue
        const w = write.filter((r) => r.table === src.name)
        const d = remove.filter((r) => r.table === src.name)
        if (w.length === 0 && d.length === 0) continue
        if (src.kind === 'entities') await applyEntities(conn, src, w, d)
        else await applyRows(conn, src, w, d)
      }
      for (const r of remove) {
        const kind = kindOf(r.table)
        if (kind === 'entities' || kind === 'rows') continue
        if (kind === 'options') await conn.execute(`DELETE FROM \`${r.table}\` WHERE option_name = ?`, [r.name])
        else {
          const [site, key] = splitMeta(r.name)
          await conn.execute(`DELETE FROM \`${r.table}\` WHERE site_id = ? AND meta_key = ?`, [site, key])
        }
      }
      for (const r of write) {
        const kind = kindOf(r.table)
        if (kind === 'entities' || kind === 'rows') continue
        const value = r.nullValue ? null : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength)
        // mysql2 connects with FOUND_ROWS: affectedRows counts the rows matched, also those left as they were
        if (kindOf(r.table) === 'options') {
          const [res] = await conn.execute<mysql.ResultSetHeader>(`UPDATE \`${r.table}\` SET option_value = ?, autoload = ? WHERE option_name = ?`, [value, r.autoload, r.name])
          if (res.affectedRows === 0)
            await conn.execute(`INSERT INTO \`${r.table}\` (option_name, option_value, autoload) VALUES (?, ?, ?)`, [r.name, value, r.autoload])
        } else {
          const [site, key] = splitMeta(r.name)
          const [res] = await conn.execute<mysql.ResultSetHeader>(`UPDATE \`${r.table}\` SET meta_value = ? WHERE site_id = ? AND meta_key = ?`, [value, site, key])
          if (res.affectedRows === 0)
            await conn.execute(`INSERT INTO \`${r.table}\` (site_id, meta_key, meta_value) VALUES (?, ?, ?)`, [site, key, value])
        }
      }
      await conn.commit()
    } catch (e) {
      await conn.rollback().catch(() => undefined)
      throw this.failed(e, 'writing the settings (rolled back, nothing changed)')
    }
  }

  private async maxPacket(conn: mysql.Connection): Promise<number> {
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT @@max_allowed_packet AS m')
      return Number(rows[0]?.m)
    } catch (e) {
      throw this.failed(e, 'reading max_allowed_packet')
    }
  }

  /**
   * A checksum of every settings row, computed by the server in one statement; about 200 bytes cross the
   * wire. Options: per table the row count and an MD5 over every row's name, autoload flag and CRC32 of its
   * value, leaving out ignored rows (transients change all the time and are not state) — computed on every
   * poll (~1.3 ms for 2,000 rows and 5 MB of values). Site Editor entities and settings tables: each part is
   * computed again only when one of its tables may have changed (see partsToCompute), which keeps the poll of
   * a quiet shop with 300 entities and 5,000 table rows near the options' own cost (docs/benchmarks.md).
   * The schema of the prefix's tables is one more part, computed when its gate (one more short statement on every
   * poll) says a table's definition may have changed (mysql-schema.ts): a table created, dropped, renamed or altered
   * moves the fingerprint, so the daemon records it like a changed row.
   * Unlike an XOR of row checksums, two rows changed alike cannot cancel out. CRC32 hashes the stored bytes,
   * whatever the column's charset.
   */
  async fingerprint(): Promise<string> {
    const conn = await this.connection()
    try {
      await this.prepare(conn)
      const tables = await this.tables()
      if (this.parts?.tables !== tables) this.parts = { tables, parts: this.fingerprintParts(tables) }
      const { parts } = this.parts
      const { need, times, now, gate } = await this.partsToCompute(conn, parts)
      if (need.length) {
        const [rows] = await conn.query<mysql.RowDataPacket[]>({ sql: `SELECT ${need.map((p, i) => `(${p.sql}) AS p${i}`).join(', ')}`, rowsAsArray: true }, need.flatMap((p) => p.params))
        const row = (rows[0] ?? []) as unknown as unknown[]
        need.forEach((p, i) => {
          // a part's first computation spreads the FULL_S deadlines over the period: one part at a time, not all at once
          const at = this.lastParts.has(p.key) ? now : now - Math.floor((parts.indexOf(p) * FULL_S) / parts.length)
          this.lastParts.set(p.key, { value: String(row[i]), at, times: new Map(p.tables.map((t) => [t, times.get(t) ?? null])) })
        })
      }
      // the gate as it was when the schema part was last computed: only once that succeeded
      if (need.some((p) => p.key === SCHEMA_KEY)) this.schemaSeen = { gate: gate.g, at: now }
      return parts.map((p) => `${p.key}=${this.lastParts.get(p.key)?.value}`).join(' ')
    } catch (e) {
      if ((e as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
        // a table gone since it was checked: checking again names it (a settings table), or the prefix's tables
        this.tableList = null
        await this.tables().catch((again: unknown) => {
          throw this.failed(again, 'checking the settings tables for changes')
        })
      }
      throw this.failed(e, 'checking the settings tables for changes')
    }
  }

  /** The parts of the poll's checksum: options tables (every poll), entity and settings-table parts (gated), the schema (gated its own way). */
  private fingerprintParts(tables: Table[]): FingerprintPart[] {
    const likes = this.ignored.map(globToLike)
    const rows = tables.flatMap((t): FingerprintPart[] => {
      if (t.kind === 'entities') return entityFingerprintParts(t)
      if (t.kind === 'rows') return [rowFingerprintPart(t)]
      const [name, row] =
        t.kind === 'options'
          ? ['option_name', 'option_name, 0x00, autoload, 0x00, CRC32(option_value)']
          : ['meta_key', "site_id, 0x00, meta_key, 0x00, CRC32(COALESCE(meta_value, ''))"]
      const where = likes.length ? `WHERE NOT (${likes.map(() => `${name} LIKE ?`).join(' OR ')})` : ''
      return [{ key: t.name, sql: `SELECT CONCAT_WS(':', COUNT(*), MD5(GROUP_CONCAT(${row} SEPARATOR 0x01))) FROM \`${t.name}\` ${where}`, params: likes, tables: [t.name], always: true }]
    })
    return [...rows, schemaFingerprintPart(this.db.tablePrefix)]
  }

  /**
   * The parts to compute now. InnoDB keeps the time of each table's last committed change in memory
   * (information_schema.TABLES.UPDATE_TIME; NULL after a restart until the table is written): a part is
   * computed when one of its tables' time moved, or turned NULL (a restart: what happened before is unknown). The time is the committing transaction's start, in seconds, so a part is also
   * computed while a table of it changed within RECENT_S (a transaction begun in the second of one already
   * seen, committed later), and at least every FULL_S whatever the times say. A part that went stale shows as
   * a change at its next computation: a snapshot that finds nothing to record, never a change missed. The schema
   * part has its own gate, the tables' definitions' CREATE_TIMEs (schemaDue), read first: its clock is `now` when
   * no part is gated by tables.
   */
  private async partsToCompute(
    conn: mysql.Connection,
    parts: FingerprintPart[],
  ): Promise<{ need: FingerprintPart[]; times: Map<string, number | null>; now: number; gate: SchemaGate }> {
    const g = schemaGate(this.db.tablePrefix)
    const [gateRows] = await conn.query<mysql.RowDataPacket[]>(g.sql, g.params)
    const r = gateRows[0]
    const gate: SchemaGate = { g: r?.g == null ? '' : String(r.g), c: r?.c == null ? null : Number(r.c), n: Number(r?.n ?? 0) }
    const schemaNeeded = schemaDue(gate, this.schemaSeen ?? undefined, RECENT_S, FULL_S)
    const gated = [...new Set(parts.filter((p) => !p.always).flatMap((p) => p.tables))]
    let times = new Map<string, number | null>()
    let now = gate.n
    if (gated.length) {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        'SELECT TABLE_NAME AS t, UNIX_TIMESTAMP(UPDATE_TIME) AS u, UNIX_TIMESTAMP() AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?)',
        [gated],
      )
      times = new Map(rows.map((x) => [String(x.t), x.u === null ? null : Number(x.u)]))
      now = Number(rows[0]?.n ?? now)
    }
    const need = parts.filter((p) => {
      if (p.key === SCHEMA_KEY) return schemaNeeded
      const prev = this.lastParts.get(p.key)
      if (p.always || !prev || now - prev.at >= FULL_S) return true
      return p.tables.some((t) => {
        const u = times.get(t) ?? null
        // NULL (no write since the server started) that was NULL before too: unchanged, left to the FULL_S refresh
        if (u === null) return prev.times.get(t) !== null
        return u !== (prev.times.get(t) ?? null) || now - u < RECENT_S
      })
    })
    return { need, times, now, gate }
  }

  /**
   * Once per connection: GROUP_CONCAT truncates silently at 1 KB by default (records and fingerprints
   * concatenate), and writes run without the modes WordPress itself turns off (zero dates in drafts).
   */
  private async prepare(conn: mysql.Connection): Promise<void> {
    if (this.prepared.has(conn)) return
    await conn.query('SET SESSION group_concat_max_len = 67108864')
    // filtered here, not with REGEXP_REPLACE, which MySQL 5.7 lacks
    const [modes] = await conn.query<mysql.RowDataPacket[]>('SELECT @@SESSION.sql_mode AS m')
    const keep = String(modes[0]?.m ?? '')
      .split(',')
      .filter((m) => m && !['NO_ZERO_DATE', 'NO_ZERO_IN_DATE', 'ONLY_FULL_GROUP_BY', 'TRADITIONAL', 'ANSI'].includes(m.toUpperCase()))
    await conn.query('SET SESSION sql_mode = ?', [keep.join(',')])
    // TIMESTAMP columns of settings tables are read and written in UTC: no hour is ambiguous, and a change of
    // the server's time zone changes no recorded row
    await conn.query("SET SESSION time_zone = '+00:00'")
    // MySQL 8 caches information_schema's UPDATE_TIME for a day by default; MariaDB has no such variable
    await conn.query('SET SESSION information_schema_stats_expiry = 0').catch(() => undefined)
    this.prepared.add(conn)
  }

  async homeUrl(): Promise<string | null> {
    const conn = await this.connection()
    try {
      const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT option_value AS v FROM \`${this.db.tablePrefix}options\` WHERE option_name = 'home'`)
      return rows[0] ? String(rows[0].v) : null
    } catch (e) {
      throw this.failed(e, 'reading the home URL')
    }
  }

  /** The error to report; a lost connection is dropped so that the next call reconnects. */
  private failed(e: unknown, doing: string): PeakguardError {
    const err = dbError(e, doing)
    // a table gone since the list was made: the next call lists and checks them again
    if (err.code === 'DB_NO_TABLES') this.tableList = null
    // after a fatal error (the server closed the connection: lost, killed, a packet over its limit) mysql2
    // refuses every later command on it; the next call must connect afresh
    if (err.code === 'DB_UNREACHABLE' || (e as { fatal?: boolean }).fatal) {
      const c = this.conn
      this.conn = null
      c?.destroy()
    }
    return err
  }

  forgetTables(): void {
    // only the list: the connection may be in use by a poll or a snapshot right now
    this.tableList = null
  }

  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined)
    const c = this.conn
    this.conn = null
    await c?.end().catch(() => undefined)
  }
}

/** a part whose table changed this recently (seconds) is computed again: UPDATE_TIME is a transaction's start */
const RECENT_S = 10
/** and every part at least this often (seconds), whatever the change times say */
const FULL_S = 60

const PACKET_FIX = 'raise max_allowed_packet on the database server (e.g. max_allowed_packet = 256M under [mysqld] in its configuration, or SET GLOBAL max_allowed_packet = 268435456) and run the command again'

type Row = mysql.RowDataPacket

/** Rows grouped by name (`n`), in the order read (by id); most groups hold one row. */
function byName(rows: Row[]): Row[][] {
  const groups = new Map<string, Row[]>()
  for (const r of rows) {
    const n = String(r.n)
    const g = groups.get(n)
    if (g) g.push(r)
    else groups.set(n, [r])
  }
  return [...groups.values()]
}

/** the autoload values wp_load_alloptions() loads (WordPress 6.6 added on/auto-on/auto beside yes) */
const AUTOLOADED = new Set(['yes', 'on', 'auto-on', 'auto'])

/**
 * The row WordPress reads when one name has several (ordered by id): get_option() answers from the
 * autoloaded options, where the last autoloaded row overwrote the others, and otherwise from the first
 * row of `SELECT … WHERE option_name = … LIMIT 1`; get_network_option() reads the first row.
 */
function effective(kind: Table['kind'], rows: Row[]): Row {
  const first = rows[0] as Row
  if (rows.length === 1 || kind === 'sitemeta') return first
  // as MariaDB's `autoload IN ('yes', …)` compares under the table's collation: any case, trailing spaces ignored
  const loaded = rows.filter((r) => r.a !== null && AUTOLOADED.has(String(r.a).toLowerCase().replace(/ +$/, '')))
  return loaded.length ? (loaded[loaded.length - 1] as Row) : first
}

function blobId(value: Uint8Array): string {
  return createHash('sha1').update(`blob ${value.length}\0`).update(value).digest('hex')
}

/** An option-name glob (`*`, `?`) as a LIKE pattern with `\\` escapes. */
function globToLike(glob: string): string {
  return glob.replace(/[\\%_]/g, '\\$&').replace(/\*/g, '%').replace(/\?/g, '_')
}

function splitMeta(name: string): [number, string] {
  const i = name.indexOf(':')
  return [Number(name.slice(0, i)), name.slice(i + 1)]
}

const CONNECTION_LOST = new Set(['ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED'])

function dbError(e: unknown, doing: string): PeakguardError {
  if (e instanceof PeakguardError) return e
  const err = e as { code?: string; sqlMessage?: string; message?: string }
  if (err.code === 'ER_NET_PACKET_TOO_LARGE')
    return new PeakguardError('DB_FAILED', `a statement while ${doing} was larger than the database server's max_allowed_packet: ${PACKET_FIX}`, { cause: e })
  if (CONNECTION_LOST.has(err.code ?? '') || (e as { fatal?: boolean }).fatal)
    return new PeakguardError('DB_UNREACHABLE', `lost the database connection while ${doing}: ${err.code ?? 'the connection was closed'}`, { cause: e })
  // the server's message may quote a value; report only its code
  return new PeakguardError('DB_FAILED', `database error while ${doing}: ${err.code ?? 'unknown'}`, { cause: e })
}
