// The fleet's coordination (FleetPort) in the site's own MariaDB/MySQL: small tables beside WordPress's
// (`{prefix}peakguard_nodes`, `_journal`, `_events`, and `_ops`, `_op_nodes` for fleet restores) and two server locks (GET_LOCK), each held on a connection
// of its own so the server frees it when that connection dies — a daemon killed with -9 leads nothing for long.
// A third connection runs everything else. Every statement is a prepared one (ids travel as parameters, never in
// the SQL text) and has a timeout. The tables are peakguard's, not the shop's state: mysql-schema.ts leaves them out.
import { AsyncLocalStorage } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import mysql from 'mysql2/promise'
import type { Drift, FleetNode, FleetOp, FleetOpResult, FleetPort, FleetRestoreRequest, FleetRole, JournalMark, NodeReport, OpNodeReport, OpPhase, SharedEvent } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'

/**
 * How to reach the site's database: the fields of mysql-settings.ts' DbConfig this adapter uses (adapters do not
 * import each other, so the shape is repeated here; a DbConfig is one).
 */
export interface FleetDb {
  host: string
  port: number
  socket: string | null
  user: string
  password: string
  name: string
  tablePrefix: string
}

export interface FleetOptions {
  /** the start of both lock names (default `pg:`): lock names are server-wide, not per database */
  lockPrefix?: string
}

/** a statement's answer must come within this; a GET_LOCK that waits gets its wait on top */
const TIMEOUT_MS = 10_000
/** a shared event longer than this (bytes) is dropped: a bridge line is a few hundred bytes */
export const MAX_EVENT_BYTES = 64 * 1024
/** shared events older than this are deleted (at the first shareEvents of a process, then every PURGE_EVERY) */
const EVENT_DAYS = 1
const PURGE_EVERY = 100
/** one INSERT holds at most this many events and bytes: well under any server's max_allowed_packet (4 MB on MySQL 5.7) */
const BATCH_ROWS = 100
const BATCH_BYTES = 1024 * 1024
/** MariaDB and MySQL refuse lock names longer than this */
const MAX_LOCK_NAME = 64
/** the VARCHAR(64) of the site and node columns, in characters */
const MAX_ID = 64

type Slot = 'lead' | 'journal' | 'docs' | 'data'
type Row = mysql.RowDataPacket
/** a statement's parameters: ids, lines and numbers (big ones as strings) */
type Param = string | number | null

/** The lock held by one call chain of withJournal; `active` turns false when it is released. */
interface JournalHold {
  active: boolean
}

export class MysqlFleet implements FleetPort {
  readonly node: string
  /** the two server lock names (≤ 64 characters whatever the database, prefix and site) */
  readonly locks: { readonly lead: string; readonly journal: string; readonly docs: string }
  /** the fleet tables' names, as ensure() makes them */
  readonly tables: readonly string[]
  private readonly db: FleetDb
  private readonly site: string
  private readonly t: Record<'nodes' | 'journal' | 'events' | 'ops' | 'opNodes' | 'docs', string>
  private readonly conns: Record<Slot, mysql.Connection | null> = { lead: null, journal: null, docs: null, data: null }
  private readonly connecting: Partial<Record<Slot, Promise<mysql.Connection>>> = {}
  /** the journal connection's CONNECTION_ID(), written to this node's row so a waiting node can name the holder */
  private journalConn: number | null = null
  private closed = false
  private readonly hold = new AsyncLocalStorage<JournalHold>()
  private readonly queue = new Mutex()
  private shared = 0

  constructor(db: FleetDb, site: string, node: string, opts: FleetOptions = {}) {
    checkId(site, 'site id')
    checkId(node, 'node id')
    const prefix = db.tablePrefix
    // the prefix becomes part of table names in the SQL text (identifiers cannot be parameters): only these bytes
    if (!/^[A-Za-z0-9_]+$/.test(prefix) || prefix.length > 48)
      throw new PeakguardError('CONFIG_INVALID', `the table prefix ${JSON.stringify(prefix)} cannot name the fleet tables: letters, digits and _ only, at most 48 of them`)
    const lockPrefix = opts.lockPrefix ?? 'pg:'
    if (lockPrefix.length > MAX_LOCK_NAME - 24 - ':jrnl'.length)
      throw new PeakguardError('CONFIG_INVALID', `the fleet lock prefix is too long (${lockPrefix.length} characters)`)
    this.db = db
    this.site = site
    this.node = node
    // always `{prefix}peakguard_…`: mysql-schema.ts leaves exactly those out of the site's schema
    const names = { nodes: 'nodes', journal: 'journal', events: 'events', ops: 'ops', opNodes: 'op_nodes', docs: 'docs' } as const
    this.tables = Object.values(names).map((n) => `${prefix}peakguard_${n}`)
    this.t = Object.fromEntries(Object.entries(names).map(([k, n]) => [k, `\`${prefix}peakguard_${n}\``])) as MysqlFleet['t']
    // one database server may hold many sites (databases, prefixes): the lock is this site's alone. A hash keeps the
    // name short (64 characters at most) whatever the names are.
    const id = createHash('sha256').update(`${db.name}\0${prefix}\0${site}`).digest('hex').slice(0, 24)
    this.locks = { lead: `${lockPrefix}${id}:lead`, journal: `${lockPrefix}${id}:jrnl`, docs: `${lockPrefix}${id}:docs` }
  }

  async ensure(): Promise<void> {
    // only what is missing is created: CREATE TABLE IF NOT EXISTS needs the CREATE grant even when the table is
    // there, and a hardened database user has it only while init runs
    const rows = await this.run('data', 'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (?, ?, ?, ?, ?, ?)', [...this.tables], 'looking for the fleet tables', true)
    const have = new Set(rows.map((r) => String(r.t)))
    // (old shared events are purged as new ones are shared, not here: every CLI command on a node comes by)
    if (this.tables.every((t) => have.has(t))) return
    const id = 'VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL'
    const table = (name: string, body: string) => `CREATE TABLE IF NOT EXISTS ${name} (${body}) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`
    // journal_conn: the CONNECTION_ID() holding this node's journal lock, to name the holder in a BUSY message
    await this.run('data', table(this.t.nodes, `site ${id}, node ${id}, role VARCHAR(16) NOT NULL, pid INT NOT NULL, started_at VARCHAR(40) NOT NULL, head VARCHAR(64) NULL, report LONGTEXT NOT NULL, heartbeat_at DATETIME(3) NOT NULL, journal_conn BIGINT UNSIGNED NULL, PRIMARY KEY (site, node)`), [], 'creating the fleet tables')
    await this.run('data', table(this.t.journal, `site ${id}, seq BIGINT NOT NULL, head VARCHAR(64) NULL, node ${id}, pending TINYINT NOT NULL, at DATETIME(3) NOT NULL, PRIMARY KEY (site)`), [], 'creating the fleet tables')
    await this.run('data', table(this.t.events, `id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, site ${id}, node ${id}, line LONGTEXT NOT NULL, at DATETIME(3) NOT NULL, PRIMARY KEY (id), KEY site_id (site, id)`), [], 'creating the fleet tables')
    // fleet restores: the op (body: participants, request, readyWaitMs as JSON) and each node's report on it
    await this.run('data', table(this.t.ops, `site ${id}, id ${id}, node ${id}, phase VARCHAR(16) NOT NULL, body LONGTEXT NOT NULL, result LONGTEXT NULL, created_at DATETIME(3) NOT NULL, PRIMARY KEY (site, id), KEY site_created (site, created_at)`), [], 'creating the fleet tables')
    await this.run('data', table(this.t.opNodes, `site ${id}, op ${id}, node ${id}, report LONGTEXT NOT NULL, at DATETIME(3) NOT NULL, PRIMARY KEY (site, op, node)`), [], 'creating the fleet tables')
    // the site's governance documents (freeze, change requests, the gate's mark): one set for every node
    await this.run('data', table(this.t.docs, `site ${id}, name VARCHAR(191) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, body LONGTEXT NOT NULL, updated_at DATETIME(3) NOT NULL, PRIMARY KEY (site, name)`), [], 'creating the fleet tables')
  }

  // ── the site's governance documents, shared by the nodes (DocStorePort, through compose/fleet.ts) ────────────

  async readDoc<T>(name: string): Promise<T | null> {
    const [row] = await this.run('data', `SELECT body FROM ${this.t.docs} WHERE site = ? AND name = ?`, [this.site, name], 'reading a governance document of the fleet', true)
    if (!row) return null
    try {
      return JSON.parse(String(row.body)) as T
    } catch {
      throw new PeakguardError('DB_FAILED', `the fleet's governance document ${JSON.stringify(name)} is not JSON: fix or delete its row in ${this.t.docs}`)
    }
  }

  async writeDoc(name: string, value: unknown): Promise<void> {
    await this.write(
      `INSERT INTO ${this.t.docs} (site, name, body, updated_at) VALUES (?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE body = VALUES(body), updated_at = VALUES(updated_at)`,
      [this.site, name, JSON.stringify(value, null, 2)],
      'writing a governance document of the fleet',
    )
  }

  async listDocs(prefix: string): Promise<string[]> {
    const like = `${prefix.replace(/[!%_]/g, (c) => `!${c}`)}/%`
    const rows = await this.run('data', `SELECT name FROM ${this.t.docs} WHERE site = ? AND name LIKE ? ESCAPE '!' ORDER BY name`, [this.site, like], 'listing the governance documents of the fleet', true)
    return rows.map((r) => String(r.name))
  }

  /** The fleet-wide lock for a read-modify-write of the documents (a freeze started on two nodes at once). */
  async lockDocs(waitMs = 30_000): Promise<() => Promise<void>> {
    const secs = Math.ceil(waitMs / 1000)
    const [got] = await this.run('docs', 'SELECT GET_LOCK(?, ?) AS got', [this.locks.docs, secs], 'taking the fleet documents lock', true, secs * 1000 + TIMEOUT_MS)
    if (Number(got?.got) !== 1) throw new PeakguardError('BUSY', `another node of site ${quote(this.site)} is changing the freeze state or a change request (waited ${secs}s): try again`)
    const conn = this.conns.docs
    return async () => {
      if (!conn) return
      await conn.execute({ sql: 'SELECT RELEASE_LOCK(?)', timeout: TIMEOUT_MS }, [this.locks.docs]).catch(() => this.drop('docs', conn))
    }
  }

  async tryLead(): Promise<boolean> {
    const doing = 'taking the fleet leader lock'
    // the check doubles as a ping: a connection that died since fails here and run() tries once on a new one (the
    // lock died with the old). Already ours: GET_LOCK again would nest it (MariaDB counts), needing two releases.
    const [mine] = await this.run('lead', 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', [this.locks.lead], doing, true)
    if (Number(mine?.mine) === 1) return true
    const [got] = await this.run('lead', 'SELECT GET_LOCK(?, 0) AS got', [this.locks.lead], doing, true)
    // 0: another connection holds it; NULL: an error (the connection killed meanwhile)
    return Number(got?.got) === 1
  }

  async leading(): Promise<boolean> {
    const conn = this.conns.lead
    if (!conn) return false
    try {
      const [rows] = await conn.execute<Row[]>({ sql: 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', timeout: TIMEOUT_MS }, [this.locks.lead])
      return Number(rows[0]?.mine) === 1
    } catch {
      // whatever failed, this node cannot be sure it leads; a new connection is made by the next tryLead
      this.drop('lead', conn)
      return false
    }
  }

  async resign(): Promise<void> {
    await this.connecting.lead?.catch(() => undefined)
    const conn = this.conns.lead
    if (!conn) return
    this.conns.lead = null
    // closing the connection frees the lock too; releasing first frees it at once, also if the close hangs
    await conn.execute({ sql: 'SELECT RELEASE_LOCK(?)', timeout: TIMEOUT_MS }, [this.locks.lead]).catch(() => undefined)
    await closeConn(conn)
  }

  async heartbeat(report: NodeReport): Promise<void> {
    checkReport(report)
    await this.run(
      'data',
      `INSERT INTO ${this.t.nodes} (site, node, role, pid, started_at, head, report, heartbeat_at, journal_conn) VALUES (?, ?, ?, ?, ?, ?, ?, NOW(3), ?)
       ON DUPLICATE KEY UPDATE role = VALUES(role), pid = VALUES(pid), started_at = VALUES(started_at), head = VALUES(head), report = VALUES(report),
       heartbeat_at = VALUES(heartbeat_at), journal_conn = COALESCE(VALUES(journal_conn), journal_conn)`,
      [this.site, this.node, report.role, report.pid, report.startedAt, report.head, JSON.stringify(report), this.journalConn],
      'writing the fleet heartbeat',
      true,
    )
  }

  async nodes(): Promise<FleetNode[]> {
    const rows = await this.run(
      'data',
      // the age by the server's clock alone: the nodes' clocks may disagree, the database is the one they share
      `SELECT node, role, pid, started_at, head, report, heartbeat_at, TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(3)) / 1000000 AS age
       FROM ${this.t.nodes} WHERE site = ? ORDER BY heartbeat_at DESC, node`,
      [this.site],
      'reading the fleet nodes',
      true,
    )
    return rows.map(nodeOf)
  }

  async forget(node: string): Promise<boolean> {
    checkId(node, 'node id')
    const res = await this.write(`DELETE FROM ${this.t.nodes} WHERE site = ? AND node = ?`, [this.site, node], 'removing a fleet node', true)
    return res.affectedRows > 0
  }

  async withJournal<T>(waitMs: number, fn: (nested: boolean) => Promise<T>): Promise<T> {
    if (!Number.isFinite(waitMs) || waitMs < 0) throw new PeakguardError('INTERNAL', `withJournal: a wait of ${waitMs} ms`)
    // a call inside fn (a restore appending to the audit log) already holds it: nesting GET_LOCK would only count up
    if (this.hold.getStore()?.active) return fn(true)
    const start = Date.now()
    // this process's own callers queue here first: one connection holds the lock for all of them
    if (!(await this.queue.acquire(waitMs))) throw this.busy(`node ${quote(this.node)} (this node, another task)`, waitMs)
    const hold: JournalHold = { active: false }
    try {
      await this.lockJournal(Math.max(0, waitMs - (Date.now() - start)), waitMs)
      hold.active = true
      try {
        return await this.hold.run(hold, () => fn(false))
      } finally {
        hold.active = false
        await this.unlockJournal()
      }
    } finally {
      this.queue.release()
    }
  }

  async holdsJournal(): Promise<boolean> {
    const conn = this.conns.journal
    if (!conn) return false
    try {
      const [rows] = await conn.execute<Row[]>({ sql: 'SELECT IS_USED_LOCK(?) = CONNECTION_ID() AS mine', timeout: TIMEOUT_MS }, [this.locks.journal])
      return Number(rows[0]?.mine) === 1
    } catch {
      this.drop('journal', conn)
      return false
    }
  }

  /** GET_LOCK on the journal connection, waiting whole seconds (the server's unit); BUSY naming the holder on timeout. */
  private async lockJournal(leftMs: number, waitMs: number): Promise<void> {
    const secs = Math.ceil(leftMs / 1000)
    const [got] = await this.run('journal', 'SELECT GET_LOCK(?, ?) AS got', [this.locks.journal, secs], 'taking the fleet journal lock', true, secs * 1000 + TIMEOUT_MS)
    if (Number(got?.got) === 1) return
    throw this.busy(await this.journalHolder(), waitMs)
  }

  private async unlockJournal(): Promise<void> {
    const conn = this.conns.journal
    if (!conn) return
    try {
      await conn.execute({ sql: 'SELECT RELEASE_LOCK(?)', timeout: TIMEOUT_MS }, [this.locks.journal])
    } catch {
      // the connection died (the lock went with it) or did not answer: closing it is what frees the lock now
      this.drop('journal', conn)
    }
  }

  /** Who holds the journal lock, in words: the node whose row names the holding connection, else "another node". */
  private async journalHolder(): Promise<string> {
    try {
      const [row] = await this.run('data', `SELECT node FROM ${this.t.nodes} WHERE site = ? AND journal_conn = IS_USED_LOCK(?) LIMIT 1`, [this.site, this.locks.journal], 'naming the journal holder')
      return row ? `node ${quote(String(row.node))}` : 'another node'
    } catch {
      return 'another node'
    }
  }

  private busy(holder: string, waitMs: number): PeakguardError {
    return new PeakguardError(
      'BUSY',
      `the fleet journal of site ${quote(this.site)} is being written by ${holder} (waited ${Math.ceil(waitMs / 1000)}s): try again when it is done`,
    )
  }

  async journal(): Promise<JournalMark | null> {
    const [row] = await this.run('data', `SELECT seq, head, node, pending, at FROM ${this.t.journal} WHERE site = ?`, [this.site], 'reading the fleet journal mark', true)
    if (!row) return null
    return { seq: Number(row.seq), head: row.head === null ? null : String(row.head), node: String(row.node), at: isoOf(row.at), pending: Number(row.pending) !== 0 }
  }

  async announce(mark: Omit<JournalMark, 'at' | 'node'>): Promise<void> {
    if (!Number.isSafeInteger(mark.seq) || mark.seq < 0) throw new PeakguardError('INTERNAL', `announce: the journal seq ${mark.seq} is no whole number ≥ 0`)
    checkHead(mark.head)
    await this.write(
      `INSERT INTO ${this.t.journal} (site, seq, head, node, pending, at) VALUES (?, ?, ?, ?, ?, NOW(3))
       ON DUPLICATE KEY UPDATE seq = VALUES(seq), head = VALUES(head), node = VALUES(node), pending = VALUES(pending), at = VALUES(at)`,
      [this.site, String(mark.seq), mark.head, this.node, mark.pending ? 1 : 0],
      'announcing the fleet journal mark',
      true,
    )
  }

  async shareEvents(lines: string[]): Promise<void> {
    // a line over the limit is no event the bridge writes; cut short it would be broken JSON
    const keep = lines.filter((l) => Buffer.byteLength(l, 'utf8') <= MAX_EVENT_BYTES)
    if (keep.length === 0) return
    for (const batch of batches(keep)) {
      // not retried: an INSERT the server may have committed before the connection broke would be shared twice
      await this.write(
        `INSERT INTO ${this.t.events} (site, node, line, at) VALUES ${batch.map(() => '(?, ?, ?, NOW(3))').join(', ')}`,
        batch.flatMap((l) => [this.site, this.node, l]),
        'sharing WordPress events',
      )
    }
    // the first share of each process, then every PURGE_EVERY: a daemon restarted often still purges
    if (this.shared++ % PURGE_EVERY === 0) await this.purgeEvents()
  }

  async sharedEvents(afterId: number, limit: number): Promise<SharedEvent[]> {
    if (!Number.isSafeInteger(afterId) || afterId < 0 || !Number.isSafeInteger(limit) || limit < 1)
      throw new PeakguardError('INTERNAL', `sharedEvents: after ${afterId}, limit ${limit}`)
    const rows = await this.run(
      'data',
      // numbers as strings: MySQL 8 refuses a LIMIT bound as a number by the binary protocol
      `SELECT id, node, line FROM ${this.t.events} WHERE site = ? AND id > ? AND node <> ? ORDER BY id LIMIT ?`,
      [this.site, String(afterId), this.node, String(limit)],
      'reading shared WordPress events',
      true,
    )
    return rows.map((r) => ({ id: Number(r.id), node: String(r.node), line: String(r.line) }))
  }

  async lastEventId(): Promise<number> {
    const [row] = await this.run('data', `SELECT COALESCE(MAX(id), 0) AS m FROM ${this.t.events} WHERE site = ?`, [this.site], 'reading shared WordPress events', true)
    return Number(row?.m ?? 0)
  }

  async createOp(op: Omit<FleetOp, 'createdAt' | 'ageSeconds' | 'result' | 'phase'>): Promise<boolean> {
    checkId(op.id, 'restore id')
    checkId(op.node, 'node id')
    op.participants.forEach((n) => checkId(n, 'node id'))
    if (typeof op.request?.target !== 'string' || !Number.isSafeInteger(op.readyWaitMs) || op.readyWaitMs < 0) throw new PeakguardError('INTERNAL', 'createOp: no target or no wait')
    const body = JSON.stringify({ participants: op.participants, request: op.request, readyWaitMs: op.readyWaitMs })
    try {
      // one statement: of two restores asked at once on two nodes, one finds the other under way and is not made
      const res = await this.write(
        `INSERT INTO ${this.t.ops} (site, id, node, phase, body, result, created_at) SELECT ?, ?, ?, 'staging', ?, NULL, NOW(3) FROM DUAL
         WHERE NOT EXISTS (SELECT 1 FROM ${this.t.ops} WHERE site = ? AND phase IN ('staging', 'swapping') AND created_at > NOW(3) - INTERVAL ? MICROSECOND)`,
        [this.site, op.id, op.node, body, this.site, String((2 * op.readyWaitMs + 120_000) * 1000)],
        'starting a fleet restore',
      )
      return res.affectedRows === 1
    } catch (e) {
      if (((e as PeakguardError).cause as { code?: string } | undefined)?.code === 'ER_DUP_ENTRY') throw new PeakguardError('INTERNAL', `a fleet restore ${quote(op.id)} exists already`, { cause: e })
      throw e
    }
  }

  async ops(limit: number): Promise<FleetOp[]> {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new PeakguardError('INTERNAL', `ops: limit ${limit}`)
    const rows = await this.run(
      'data',
      `SELECT id, node, phase, body, result, created_at, TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) / 1000000 AS age FROM ${this.t.ops} WHERE site = ? ORDER BY created_at DESC, id DESC LIMIT ?`,
      [this.site, String(limit)],
      'reading the fleet restores',
      true,
    )
    return rows.map(opOf)
  }

  async op(id: string): Promise<FleetOp | null> {
    const [row] = await this.run('data', `SELECT id, node, phase, body, result, created_at, TIMESTAMPDIFF(MICROSECOND, created_at, NOW(3)) / 1000000 AS age FROM ${this.t.ops} WHERE site = ? AND id = ?`, [this.site, id], 'reading a fleet restore', true)
    return row ? opOf(row) : null
  }

  async setOpPhase(id: string, from: OpPhase, to: OpPhase, result: FleetOpResult | null): Promise<boolean> {
    if (!PHASES.includes(from) || !PHASES.includes(to)) throw new PeakguardError('INTERNAL', `setOpPhase: ${String(from)} → ${String(to)}`)
    // one statement: of two nodes moving the op from the same phase, exactly one finds it there. A null result keeps
    // the one an earlier move wrote.
    const res = await this.write(
      `UPDATE ${this.t.ops} SET phase = ?, result = COALESCE(?, result) WHERE site = ? AND id = ? AND phase = ?`,
      [to, result === null ? null : JSON.stringify(result), this.site, id, from],
      'moving a fleet restore on',
    )
    return res.affectedRows > 0
  }

  async reportOp(id: string, report: OpNodeReport): Promise<void> {
    checkId(report.node, 'node id')
    await this.write(
      `INSERT INTO ${this.t.opNodes} (site, op, node, report, at) VALUES (?, ?, ?, ?, NOW(3)) ON DUPLICATE KEY UPDATE report = VALUES(report), at = VALUES(at)`,
      [this.site, id, report.node, JSON.stringify(report)],
      "writing a node's part in a fleet restore",
      true,
    )
  }

  async opReports(id: string): Promise<OpNodeReport[]> {
    const rows = await this.run('data', `SELECT node, report, at FROM ${this.t.opNodes} WHERE site = ? AND op = ? ORDER BY node`, [this.site, id], "reading the nodes' parts in a fleet restore", true)
    return rows.map(opReportOf)
  }

  async close(): Promise<void> {
    // a task still running in this process (a heartbeat's follow, a restore tick) must not open them again: an
    // open connection would keep a stopping daemon alive
    this.closed = true
    await Promise.all(Object.values(this.connecting).map((p) => p?.catch(() => undefined)))
    const all = (['lead', 'journal', 'docs', 'data'] as const).map((slot) => {
      const c = this.conns[slot]
      this.conns[slot] = null
      return c
    })
    this.journalConn = null
    // a closed connection's locks are freed by the server
    await Promise.all(all.map((c) => (c ? closeConn(c) : undefined)))
  }

  private async purgeEvents(): Promise<void> {
    await this.write(`DELETE FROM ${this.t.events} WHERE at < NOW(3) - INTERVAL ${EVENT_DAYS} DAY`, [], 'deleting old shared events', true)
  }

  private async write(sql: string, params: Param[], doing: string, retry = false): Promise<mysql.ResultSetHeader> {
    return (await this.run('data', sql, params, doing, retry)) as unknown as mysql.ResultSetHeader
  }

  /**
   * One statement on a slot's connection. A lost connection (killed, timed out, the server gone) is dropped, so the
   * next call connects afresh; with `retry` a statement that found an old connection dead runs once more on a new one.
   */
  private async run(slot: Slot, sql: string, params: Param[], doing: string, retry = false, timeout = TIMEOUT_MS): Promise<Row[]> {
    for (let attempt = 0; ; attempt++) {
      const { conn, fresh } = await this.open(slot)
      try {
        const [rows] = await conn.execute<Row[]>({ sql, timeout }, params)
        return rows
      } catch (e) {
        const lost = isLost(e)
        if (lost) this.drop(slot, conn)
        if (lost && retry && !fresh && attempt === 0) continue
        throw dbError(e, doing)
      }
    }
  }

  private async open(slot: Slot): Promise<{ conn: mysql.Connection; fresh: boolean }> {
    if (this.closed) throw new PeakguardError('DB_UNREACHABLE', "the fleet's database connections are closed: this process is stopping")
    const have = this.conns[slot]
    if (have) return { conn: have, fresh: false }
    // one connection attempt per slot at a time, and close() waits for it
    this.connecting[slot] ??= this.connect(slot).finally(() => delete this.connecting[slot])
    return { conn: await this.connecting[slot], fresh: true }
  }

  private async connect(slot: Slot): Promise<mysql.Connection> {
    let conn: mysql.Connection
    try {
      conn = await mysql.createConnection({
        ...(this.db.socket ? { socketPath: this.db.socket } : { host: this.db.host, port: this.db.port }),
        user: this.db.user,
        password: this.db.password,
        database: this.db.name,
        charset: 'utf8mb4_general_ci',
        connectTimeout: 5000,
        supportBigNumbers: true,
        bigNumberStrings: true,
        // DATETIME as the server's text: it is UTC (below), made ISO here
        dateStrings: true,
      })
    } catch (e) {
      throw connectError(e, this.db)
    }
    // a connection the server closes while idle (KILL, wait_timeout) says so by an event: without a listener it
    // would be an uncaught error; with it, the next call connects afresh
    conn.on('error', () => {
      if (this.conns[slot] === conn) this.drop(slot, conn)
    })
    try {
      // NOW(3) stored and read in UTC: every node agrees on the times whatever the server's zone
      await conn.query({ sql: "SET SESSION time_zone = '+00:00'", timeout: TIMEOUT_MS })
      if (slot === 'journal') {
        const [rows] = await conn.query<Row[]>({ sql: 'SELECT CONNECTION_ID() AS id', timeout: TIMEOUT_MS })
        this.journalConn = Number(rows[0]?.id)
        // a waiting node names this node as the holder by it (no row yet: the first heartbeat writes it)
        await conn.execute({ sql: `UPDATE ${this.t.nodes} SET journal_conn = ? WHERE site = ? AND node = ?`, timeout: TIMEOUT_MS }, [String(this.journalConn), this.site, this.node]).catch((e: unknown) => {
          // the tables not made yet (ensure not run): only the BUSY message of another node is poorer
          if ((e as { code?: string }).code !== 'ER_NO_SUCH_TABLE') throw e
        })
      }
    } catch (e) {
      conn.destroy()
      throw dbError(e, 'preparing a fleet connection')
    }
    this.conns[slot] = conn
    return conn
  }

  private drop(slot: Slot, conn: mysql.Connection): void {
    if (this.conns[slot] === conn) this.conns[slot] = null
    if (slot === 'journal' && !this.conns.journal) this.journalConn = null
    conn.destroy()
  }
}

/** A queue of this process's callers for the journal lock: one at a time, in order; a waiter gives up at its deadline. */
class Mutex {
  private held = false
  private readonly waiters: Array<() => void> = []

  /** true once it is this caller's; false when waitMs passed first */
  acquire(waitMs: number): Promise<boolean> {
    if (!this.held) {
      this.held = true
      return Promise.resolve(true)
    }
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer)
        resolve(true)
      }
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(wake)
        if (i >= 0) this.waiters.splice(i, 1)
        resolve(false)
      }, waitMs)
      this.waiters.push(wake)
    })
  }

  release(): void {
    const next = this.waiters.shift()
    // handed over: it stays held
    if (next) next()
    else this.held = false
  }
}

/** Events in INSERTs of at most BATCH_ROWS rows and about BATCH_BYTES. */
function batches(lines: string[]): string[][] {
  const out: string[][] = []
  let cur: string[] = []
  let bytes = 0
  for (const l of lines) {
    const n = Buffer.byteLength(l, 'utf8')
    if (cur.length && (cur.length >= BATCH_ROWS || bytes + n > BATCH_BYTES)) {
      out.push(cur)
      cur = []
      bytes = 0
    }
    cur.push(l)
    bytes += n
  }
  if (cur.length) out.push(cur)
  return out
}

/**
 * A site or node id as the tables keep it: 1–64 characters of well-formed Unicode (a lone surrogate has no UTF-8),
 * no space at the end (utf8mb4_bin pads with spaces when it compares: `a` and `a ` would be one row).
 */
function checkId(id: string, what: string): void {
  if (typeof id !== 'string' || id.length === 0 || [...id].length > MAX_ID || /\p{Cs}/u.test(id) || id.endsWith(' '))
    throw new PeakguardError('CONFIG_INVALID', `the fleet ${what} ${JSON.stringify(String(id))} cannot be used: 1 to ${MAX_ID} characters, not ending in a space`)
}

function checkHead(head: string | null): void {
  if (head !== null && (typeof head !== 'string' || [...head].length > 64)) throw new PeakguardError('INTERNAL', `a fleet head of more than 64 characters`)
}

function checkReport(r: NodeReport): void {
  if (r.role !== 'leader' && r.role !== 'follower') throw new PeakguardError('INTERNAL', `heartbeat: role ${JSON.stringify(r.role)}`)
  if (!Number.isSafeInteger(r.pid) || r.pid < 0 || r.pid > 2147483647) throw new PeakguardError('INTERNAL', `heartbeat: pid ${r.pid}`)
  if (typeof r.startedAt !== 'string' || r.startedAt.length > 40) throw new PeakguardError('INTERNAL', 'heartbeat: startedAt is no ISO time')
  checkHead(r.head)
}

/**
 * A nodes row as a FleetNode. The report is JSON another node (perhaps another version) wrote: every field is
 * checked, and a row whose report cannot be read keeps the columns' values and safe defaults — never an error
 * that would hide every other node.
 */
function nodeOf(r: Row): FleetNode {
  let rep: Record<string, unknown> = {}
  let readable = false
  try {
    const v: unknown = JSON.parse(String(r.report))
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      rep = v as Record<string, unknown>
      readable = true
    }
  } catch {
    // left at the defaults below
  }
  const str = (v: unknown, d: string) => (typeof v === 'string' ? v : d)
  const colRole = String(r.role)
  const role: FleetRole = rep.role === 'leader' || rep.role === 'follower' ? rep.role : colRole === 'leader' ? 'leader' : 'follower'
  const age = Number(r.age)
  return {
    node: String(r.node),
    role,
    pid: Number.isSafeInteger(rep.pid) ? (rep.pid as number) : Number(r.pid),
    startedAt: str(rep.startedAt, String(r.started_at)),
    head: rep.head === null || typeof rep.head === 'string' ? (rep.head as string | null) : r.head === null ? null : String(r.head),
    drift: driftOf(rep.drift),
    // a report that cannot be read says nothing about the node's files
    compared: readable && rep.compared === true,
    listen: str(rep.listen, ''),
    heartbeatAt: isoOf(r.heartbeat_at),
    // the server's own clock on both sides; a step back of that clock would make it negative
    ageSeconds: Number.isFinite(age) ? Math.max(0, age) : 0,
  }
}

const PHASES: readonly OpPhase[] = ['staging', 'swapping', 'done', 'aborted']

function parseObject(text: unknown): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(String(text))
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null
  } catch {
    return null
  }
}

/**
 * An ops row as a FleetOp. Read defensively like a nodes row, and on the safe side: an op whose phase or request
 * cannot be read is `aborted` — no node writes anything for it.
 */
function opOf(r: Row): FleetOp {
  const body = parseObject(r.body)
  const request = body?.request && typeof body.request === 'object' && typeof (body.request as { target?: unknown }).target === 'string' ? (body.request as FleetRestoreRequest) : null
  const phase = PHASES.find((p) => p === String(r.phase))
  const participants = Array.isArray(body?.participants) && body.participants.every((n) => typeof n === 'string') ? (body.participants as string[]) : []
  const result = r.result === null ? null : (parseObject(r.result) as FleetOpResult | null) ?? { error: 'the result cannot be read' }
  return {
    id: String(r.id),
    node: String(r.node),
    phase: phase && request ? phase : 'aborted',
    participants,
    request: request ?? { target: '' },
    readyWaitMs: Number.isSafeInteger(body?.readyWaitMs) ? (body?.readyWaitMs as number) : 0,
    createdAt: isoOf(r.created_at),
    ageSeconds: Math.max(0, Number(r.age) || 0),
    result,
  }
}

/** A node's report on an op; one that cannot be read is a failure (the leader aborts rather than guess). */
function opReportOf(r: Row): OpNodeReport {
  const v = parseObject(r.report)
  const status = v?.status === 'staged' || v?.status === 'failed' || v?.status === 'done' || v?.status === 'reverted' ? v.status : null
  const strOrNull = (x: unknown) => (typeof x === 'string' ? x : null)
  if (!v || !status) return { node: String(r.node), status: 'failed', at: isoOf(r.at), files: 0, verified: null, caches: null, error: "this node's report cannot be read" }
  return {
    node: String(r.node),
    status,
    at: typeof v.at === 'string' ? v.at : isoOf(r.at),
    files: typeof v.files === 'number' ? v.files : 0,
    verified: typeof v.verified === 'boolean' ? v.verified : null,
    caches: strOrNull(v.caches),
    error: strOrNull(v.error),
  }
}

function driftOf(v: unknown): Drift | null {
  if (!v || typeof v !== 'object') return null
  const d = v as Record<string, unknown>
  const strings = (x: unknown) => Array.isArray(x) && x.every((s) => typeof s === 'string')
  if (typeof d.desired !== 'string' || typeof d.count !== 'number' || !strings(d.paths) || !strings(d.units) || typeof d.at !== 'string') return null
  return { desired: d.desired, count: d.count, paths: d.paths as string[], units: d.units as string[], at: d.at }
}

/** A DATETIME(3) as the server gives it (UTC, `2025-01-02 03:04:05.678`) in ISO. */
function isoOf(v: unknown): string {
  return `${String(v).replace(' ', 'T')}Z`
}

/** An id in a message: as it is when plain, quoted when it holds anything that could confuse a reader or a log. */
function quote(s: string): string {
  return /^[\w.:@-]+$/.test(s) ? s : JSON.stringify(s)
}

async function closeConn(conn: mysql.Connection): Promise<void> {
  // end() waits for the server's goodbye; a server that does not answer gets the socket closed
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))
  await Promise.race([conn.end().catch(() => undefined), late])
  clearTimeout(timer)
  conn.destroy()
}

// The error mapping of mysql-settings.ts (the same codes and words; adapters do not import each other).
const CONNECTION_LOST = new Set(['ECONNRESET', 'PROTOCOL_CONNECTION_LOST', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'PROTOCOL_SEQUENCE_TIMEOUT'])

/** A connection that can take no more statements: lost, killed, or timed out (its answer would still arrive, out of turn). */
function isLost(e: unknown): boolean {
  const err = e as { code?: string; fatal?: boolean }
  return CONNECTION_LOST.has(err.code ?? '') || err.fatal === true
}

function dbError(e: unknown, doing: string): PeakguardError {
  if (e instanceof PeakguardError) return e
  const err = e as { code?: string }
  if (err.code === 'PROTOCOL_SEQUENCE_TIMEOUT') return new PeakguardError('DB_UNREACHABLE', `the database did not answer within ${TIMEOUT_MS / 1000} s while ${doing}`, { cause: e })
  if (isLost(e)) return new PeakguardError('DB_UNREACHABLE', `lost the database connection while ${doing}: ${err.code ?? 'the connection was closed'}`, { cause: e })
  // the server's message may quote a value; report only its code
  return new PeakguardError('DB_FAILED', `database error while ${doing}: ${err.code ?? 'unknown'}`, { cause: e })
}

function connectError(e: unknown, db: FleetDb): PeakguardError {
  const err = e as { code?: string; errno?: number; message?: string }
  const where = db.socket ? `socket ${db.socket}` : `${db.host}:${db.port}`
  // 1698: MariaDB's answer for a user it does not know, at times, when no password was sent
  if (err.code === 'ER_ACCESS_DENIED_ERROR' || err.errno === 1045 || err.code === 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR' || err.errno === 1698)
    return new PeakguardError('DB_AUTH', `the database at ${where} refused user ${db.user}: check DB_USER/DB_PASSWORD (${err.code})`, { cause: e })
  if (err.code === 'ER_BAD_DB_ERROR' || err.errno === 1049) return new PeakguardError('DB_UNREACHABLE', `database ${db.name} does not exist at ${where}`, { cause: e })
  if (err.code === 'ER_DBACCESS_DENIED_ERROR' || err.errno === 1044)
    return new PeakguardError('DB_AUTH', `user ${db.user} may not use database ${db.name} at ${where}`, { cause: e })
  return new PeakguardError('DB_UNREACHABLE', `cannot reach the database at ${where}: ${err.code ?? err.message} — is MariaDB/MySQL running there?`, { cause: e })
}
