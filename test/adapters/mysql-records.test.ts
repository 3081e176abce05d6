// MysqlSettings' entities and settings-table rows on a real MariaDB, where the database's own rules bite:
// two Site Editor posts of one key and a partial restore of one of them, a latin1 key column holding
// UTF-8 bytes, FLOAT columns, TIMESTAMPs, expression defaults, and option ignore globs that must not hide a
// table row. Each case is one a review found (issue 17) and the restore path takes: read → values → apply.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type mysql from 'mysql2/promise'
import { MysqlSettings } from '../../src/adapters/mysql-settings.ts'
import { DEFAULT_IGNORED_OPTIONS, diffStates, filterDiff, optionKey, parseOnly, stateOf, type OptionEntry, type OptionValue } from '../../src/core/index.ts'
import { mariadb, rootConnection } from '../harness/mariadb.ts'
import { optionsTableSql } from '../harness/site.ts'
import { insertEntityPost, installWordPressContentTables } from '../harness/woocommerce.ts'

describe('MysqlSettings: entities and settings tables on MariaDB', function () {
  this.timeout(60_000)
  let root: mysql.Connection
  let db: mysql.Connection
  let name: string
  const open = async (tables: { table: string; ignoreColumns: string[] }[] = []) => {
    const server = await mariadb()
    return new MysqlSettings(
      { host: server.host, port: server.port, socket: null, user: server.user, password: server.password, name, tablePrefix: 'wp_', multisite: false },
      { ignoredOptions: DEFAULT_IGNORED_OPTIONS, settingsTables: tables },
    )
  }
  /** the rows a state would hold, with their values, as the recorder reads them */
  const snapshot = async (s: MysqlSettings) => {
    const rows = await s.read()
    const values = await s.values(rows)
    return { rows, values, state: stateOf([], [], rows) }
  }
  const valuesOf = (rows: OptionEntry[], values: Map<string, { value: Uint8Array }>): OptionValue[] =>
    rows.map((r) => ({ ...r, value: values.get(optionKey(r.table, r.name))?.value ?? new Uint8Array() }))

  beforeEach(async () => {
    await mariadb()
    name = `pg_records_${randomBytes(4).toString('hex')}`
    root = await rootConnection()
    await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`)
    db = await rootConnection(name)
    await db.query(optionsTableSql('wp_options'))
    await installWordPressContentTables(db, 'wp_')
  })
  afterEach(async () => {
    await db?.end()
    await root?.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await root?.end()
  })

  it('a partial restore of one of two posts sharing a key puts both back with their ids; it never deletes the other', async () => {
    const first = await insertEntityPost(db, 'wp_', { type: 'wp_global_styles', slug: 'wp-global-styles-tt3', theme: 'tt3', content: '{"first":1}' })
    const second = await insertEntityPost(db, 'wp_', { type: 'wp_global_styles', slug: 'wp-global-styles-tt3', theme: 'tt3', content: '{"second":2}' })
    const s = await open()
    try {
      const recorded = await snapshot(s)
      assert.deepEqual(recorded.rows.map((r) => r.name).sort(), ['entity:wp_global_styles/tt3/wp-global-styles-tt3', `entity:wp_global_styles/tt3/wp-global-styles-tt3#${second}`])
      // the first post is deleted: the second now holds the plain name
      await db.query('DELETE FROM wp_posts WHERE ID = ?', [first])
      const live = await snapshot(s)
      const plan = filterDiff(diffStates(live.state, recorded.state), parseOnly(['entity:wp_global_styles/tt3/wp-global-styles-tt3']))
      const write = plan.options.filter((o) => o.to).map((o) => o.to as OptionEntry)
      await s.apply(valuesOf(write, recorded.values), plan.options.filter((o) => o.change === 'removed').map((o) => ({ table: o.table, name: o.name })))
      const [posts] = await db.query<mysql.RowDataPacket[]>("SELECT ID, post_content FROM wp_posts WHERE post_type = 'wp_global_styles' ORDER BY ID")
      assert.deepEqual(posts.map((p) => [Number(p.ID), String(p.post_content)]), [[first, '{"first":1}'], [second, '{"second":2}']])
    } finally {
      await s.close()
    }
  })

  it('a latin1 key column holding UTF-8 bytes, FLOAT, TIMESTAMP and an expression default: read, written and deleted exactly', async () => {
    await db.query(
      `CREATE TABLE wp_acme_rules (k varchar(20) CHARACTER SET latin1 NOT NULL PRIMARY KEY, f float NULL, ts timestamp NULL, updated datetime NOT NULL DEFAULT CURRENT_TIMESTAMP, note varchar(20) NULL) DEFAULT CHARSET utf8mb4`,
    )
    // the bytes C3 A9 (é in UTF-8) stored in a latin1 column, as old WordPress databases hold them
    await db.query(`INSERT INTO wp_acme_rules (k, f, ts, updated, note) VALUES (X'C3A9', 123456789, '2026-03-29 01:30:00', '2026-01-01 10:00:00', 'café'), ('plain', 0.1, NULL, '2026-01-01 10:00:00', NULL)`)
    const s = await open([{ table: 'acme_rules', ignoreColumns: [] }])
    try {
      const recorded = await snapshot(s)
      assert.deepEqual(recorded.rows.map((r) => r.name).sort(), ['table:acme_rules#%C3%A9', 'table:acme_rules#plain'])
      assert.equal(recorded.values.size, 2, 'the value of every row is found by its key')
      const before = await dump(db)
      // everything changes: a float by a little, the timestamp, a row goes
      await db.query("UPDATE wp_acme_rules SET f = 123456700, ts = '2026-03-29 03:30:00', updated = '2026-02-02 00:00:00' WHERE k = X'C3A9'")
      await db.query("UPDATE wp_acme_rules SET f = 0.2 WHERE k = 'plain'")
      const changed = await s.read()
      assert.deepEqual(changed.map((r) => r.blob).sort() === recorded.rows.map((r) => r.blob).sort(), false)
      await db.query("DELETE FROM wp_acme_rules WHERE k = 'plain'")
      await s.apply(valuesOf(recorded.rows, recorded.values), [])
      assert.deepEqual(await dump(db), before, 'byte for byte as recorded')
      assert.deepEqual((await s.read()).map((r) => r.blob).sort(), recorded.rows.map((r) => r.blob).sort())
      // and a removal by key deletes exactly that row
      await s.apply([], [{ table: 'wp_acme_rules', name: 'table:acme_rules#%C3%A9' }])
      const [left] = await db.query<mysql.RowDataPacket[]>('SELECT HEX(k) AS k FROM wp_acme_rules')
      assert.deepEqual(left.map((r) => String(r.k)), [Buffer.from('plain').toString('hex').toUpperCase()])
    } finally {
      await s.close()
    }
  })

  it('the poll notices a FLOAT changed below six digits, and nothing when nothing changed', async () => {
    await db.query('CREATE TABLE wp_acme_rates (id int NOT NULL PRIMARY KEY, f float NOT NULL)')
    await db.query('INSERT INTO wp_acme_rates VALUES (1, 123456789)')
    const s = await open([{ table: 'acme_rates', ignoreColumns: [] }])
    try {
      const a = await s.fingerprint()
      assert.equal(await s.fingerprint(), a)
      await db.query('UPDATE wp_acme_rates SET f = 123456700 WHERE id = 1')
      assert.notEqual(await s.fingerprint(), a)
    } finally {
      await s.close()
    }
  })
})

/** Every row of wp_acme_rules as hex, so bytes are compared, not what a driver makes of them. */
async function dump(db: mysql.Connection): Promise<string[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(
    'SELECT HEX(k) AS k, HEX(CAST(f + 0E0 AS CHAR)) AS f, HEX(CAST(ts AS CHAR)) AS ts, HEX(CAST(updated AS CHAR)) AS u, HEX(note) AS n FROM wp_acme_rules ORDER BY k',
  )
  return rows.map((r) => JSON.stringify(r))
}
