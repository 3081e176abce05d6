// MysqlSettings' schema on a real MariaDB: what schema() reads (odd names kept as they are, only the site's
// prefix, views), and the poll: every kind of schema change a plugin's migration makes moves the fingerprint —
// also an ALTER right after its CREATE TABLE, which MariaDB's CREATE_TIME (whole seconds) cannot tell apart — and
// nothing else does: rows, OPTIMIZE/TRUNCATE (which rebuild a table), tables of another prefix.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'
import { normalDefault, normalType, otherInstalls, schemaDue, schemaGate } from '../../src/adapters/mysql-schema.ts'
import { MysqlSettings } from '../../src/adapters/mysql-settings.ts'
import { decodeSchema, diffSchema, encodeSchema, schemaChangeText, type SchemaInfo } from '../../src/core/index.ts'
import { mariadb, rootConnection } from '../harness/mariadb.ts'
import { optionsTableSql } from '../harness/site.ts'

const id = (name: string) => mysql.escapeId(name)
/** the schema part of a fingerprint */
const schemaPart = (fp: string) => fp.split(' ').find((p) => p.startsWith(':schema=')) ?? assert.fail(`no schema part in ${fp}`)
const changesText = (a: SchemaInfo, b: SchemaInfo) => diffSchema(a, b).map(schemaChangeText)

describe('MysqlSettings: the database schema on MariaDB', function () {
  this.timeout(60_000)
  let root: mysql.Connection
  let db: mysql.Connection
  let name: string
  let settings: MysqlSettings

  beforeEach(async () => {
    const server = await mariadb()
    name = `pg_schema_${randomBytes(4).toString('hex')}`
    root = await rootConnection()
    await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci`)
    db = await rootConnection(name)
    await db.query(optionsTableSql('wp_options'))
    await db.query("INSERT INTO wp_options (option_name, option_value) VALUES ('blogname', 'Shop'), ('_transient_x', '1')")
    settings = new MysqlSettings(
      { host: server.host, port: server.port, socket: null, user: server.user, password: server.password, name, tablePrefix: 'wp_', multisite: false },
      { ignoredOptions: ['_transient_*'] },
    )
  })
  afterEach(async () => {
    await settings?.close()
    await db?.end()
    await root?.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await root?.end()
  })

  it("reads every table of the prefix — columns in order with type, NULL and default, indexes with prefix lengths, engine, collation — names with quotes, spaces, a line break and Unicode kept as they are", async () => {
    const odd = "wp_odd ta'ble\n€ ünï"
    const col = 'col "x"\nz`q'
    await db.query(
      `CREATE TABLE ${id(odd)} (${id(col)} varchar(200) DEFAULT 'a''b', k text, n int NOT NULL, PRIMARY KEY (n), KEY \`i x\` (k(10), ${id(col)}(5)), UNIQUE KEY u (${id(col)})) ENGINE=MyISAM DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_unicode_520_ci`,
    )
    // a table named like a blog's options table with no posts beside it is a plugin's (wp_2_options of a plugin
    // called 2): this site's schema (another install is recognised by its posts, postmeta and terms: otherInstalls);
    // a view has no engine
    await db.query(optionsTableSql('wp_2_options'))
    await db.query('CREATE VIEW wp_autoloaded AS SELECT option_name FROM wp_options WHERE autoload = \'yes\'')
    // not the site's: another prefix (`_` is no wildcard), no underscore, another case
    for (const t of ['wpx_options', 'wpmeta', 'WP_upper']) await db.query(`CREATE TABLE ${id(t)} (id int)`)

    const schema = await settings.schema()
    assert.deepEqual([...schema.tables.keys()], ['wp_2_options', 'wp_autoloaded', odd, 'wp_options'].sort())
    const t = schema.tables.get(odd)
    assert.deepEqual(
      { ...t, indexes: [...(t?.indexes ?? [])].sort((a, b) => (a.name < b.name ? -1 : 1)) },
      {
        name: odd,
        engine: 'MyISAM',
        collation: 'utf8mb4_unicode_520_ci',
        columns: [
          { name: col, type: 'varchar(200)', nullable: true, default: "'a''b'" },
          { name: 'k', type: 'text', nullable: true, default: 'NULL' },
          { name: 'n', type: 'int', nullable: false, default: null },
        ],
        indexes: [
          { name: 'PRIMARY', unique: true, columns: ['n'] },
          { name: 'i x', unique: false, columns: ['k(10)', `${col}(5)`] },
          { name: 'u', unique: true, columns: [col] },
        ],
      },
    )
    assert.deepEqual(schema.tables.get('wp_options'), {
      name: 'wp_options',
      engine: 'InnoDB',
      collation: 'utf8mb4_unicode_520_ci',
      columns: [
        { name: 'option_id', type: 'bigint unsigned', nullable: false, default: null },
        { name: 'option_name', type: 'varchar(191)', nullable: false, default: "''" },
        { name: 'option_value', type: 'longtext', nullable: false, default: null },
        { name: 'autoload', type: 'varchar(20)', nullable: false, default: "'yes'" },
      ],
      indexes: [
        { name: 'PRIMARY', unique: true, columns: ['option_id'] },
        { name: 'autoload', unique: false, columns: ['autoload'] },
        { name: 'option_name', unique: true, columns: ['option_name'] },
      ],
    })
    const view = schema.tables.get('wp_autoloaded')
    assert.equal(view?.engine, null)
    assert.equal(view?.collation, null)
    assert.deepEqual(view?.columns.map((c) => c.name), ['option_name'])
    assert.deepEqual(view?.indexes, [])
    // as the journal keeps it, byte for byte back
    assert.equal(encodeSchema(decodeSchema(encodeSchema(schema))), encodeSchema(schema))
    assert.deepEqual(decodeSchema(encodeSchema(schema)).tables.get(odd)?.columns[0]?.name, col)
  })

  it('every kind of schema change moves the fingerprint (an ALTER in the second of its CREATE TABLE too), and schema() says it in words', async () => {
    const steps: [string, RegExp | string][] = [
      ["CREATE TABLE wp_demo (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, status varchar(20) NOT NULL DEFAULT 'pending')", 'table wp_demo created'],
      ['ALTER TABLE wp_demo ADD COLUMN extra int, ALGORITHM=INSTANT', 'wp_demo: column `extra` added (int)'],
      ['ALTER TABLE wp_demo ADD COLUMN note text NOT NULL, ALGORITHM=COPY', 'wp_demo: column `note` added (text NOT NULL)'],
      ['ALTER TABLE wp_demo DROP COLUMN note', 'wp_demo: column `note` dropped'],
      ['ALTER TABLE wp_demo RENAME COLUMN extra TO bonus', 'wp_demo: column `extra` renamed to `bonus`'],
      ['ALTER TABLE wp_demo MODIFY bonus bigint', 'wp_demo: column `bonus` changed: int → bigint'],
      ['ALTER TABLE wp_demo ALTER COLUMN bonus SET DEFAULT 5', 'wp_demo: column `bonus` changed: bigint → bigint DEFAULT 5'],
      ['ALTER TABLE wp_demo MODIFY bonus bigint NOT NULL DEFAULT 5', 'wp_demo: column `bonus` changed: bigint DEFAULT 5 → bigint NOT NULL DEFAULT 5'],
      ['CREATE INDEX st ON wp_demo (status(10))', 'wp_demo: index `st` (status(10)) added'],
      ['CREATE UNIQUE INDEX b ON wp_demo (bonus, status)', 'wp_demo: unique index `b` (bonus, status) added'],
      ['DROP INDEX st ON wp_demo', 'wp_demo: index `st` (status(10)) dropped'],
      ['ALTER TABLE wp_demo ENGINE=MyISAM', 'wp_demo: engine InnoDB → MyISAM'],
      ['ALTER TABLE wp_demo DEFAULT COLLATE utf8mb4_bin', 'wp_demo: collation utf8mb4_general_ci → utf8mb4_bin'],
      ['RENAME TABLE wp_demo TO wp_demo_renamed', 'table wp_demo renamed to wp_demo_renamed'],
      ['CREATE VIEW wp_demo_view AS SELECT id FROM wp_demo_renamed', 'table wp_demo_view created'],
      ['DROP VIEW wp_demo_view', 'table wp_demo_view dropped'],
      ['DROP TABLE wp_demo_renamed', 'table wp_demo_renamed dropped'],
    ]
    let fp = await settings.fingerprint()
    let schema = await settings.schema()
    for (const [sql, words] of steps) {
      await db.query(sql)
      const next = await settings.fingerprint()
      assert.notEqual(schemaPart(next), schemaPart(fp), `${sql} moves the schema part`)
      // the rows did not change: the rest of the fingerprint is as it was
      assert.equal(next.replace(schemaPart(next), ''), fp.replace(schemaPart(fp), ''), `${sql}: only the schema part moved`)
      const now = await settings.schema()
      assert.deepEqual(changesText(schema, now), [words], sql)
      fp = next
      schema = now
    }
  })

  it('nothing but a schema change moves it: rows (a settings row moves only its own part), OPTIMIZE, TRUNCATE, ANALYZE, tables of another prefix', async () => {
    await db.query("CREATE TABLE wp_demo (id int PRIMARY KEY, v varchar(20) DEFAULT 'x', KEY v (v))")
    await db.query('CREATE TABLE wp_demo_myisam (id int PRIMARY KEY) ENGINE=MyISAM')
    const schema = await settings.schema()
    let fp = await settings.fingerprint()
    const same = async (sql: string) => {
      await db.query(sql)
      const next = await settings.fingerprint()
      assert.equal(next, fp, `${sql} leaves the fingerprint as it was`)
    }
    await same("INSERT INTO wp_demo VALUES (1, 'a'), (2, 'b')")
    await same("UPDATE wp_demo SET v = 'c' WHERE id = 1")
    await same('DELETE FROM wp_demo WHERE id = 2')
    await same('OPTIMIZE TABLE wp_demo')
    await same('OPTIMIZE TABLE wp_demo_myisam')
    await same('ANALYZE TABLE wp_demo')
    await same('TRUNCATE TABLE wp_demo')
    await same("INSERT INTO wp_options (option_name, option_value) VALUES ('_transient_y', '2')")
    for (const t of ['wpx_demo', 'wpdemo', 'WP_demo']) {
      await same(`CREATE TABLE ${id(t)} (id int)`)
      await same(`ALTER TABLE ${id(t)} ADD COLUMN c int, ADD INDEX c (c)`)
      await same(`DROP TABLE ${id(t)}`)
    }
    // a settings row moves the options part, never the schema part
    await db.query("UPDATE wp_options SET option_value = 'Shop 2' WHERE option_name = 'blogname'")
    const next = await settings.fingerprint()
    assert.notEqual(next, fp)
    assert.equal(schemaPart(next), schemaPart(fp))
    fp = next
    await same('SELECT 1')
    assert.deepEqual(diffSchema(schema, await settings.schema()), [])
  })

  it("peakguard's own fleet tables (wp_peakguard_*) are not the site's schema: not read, and neither the gate nor the fingerprint moves", async () => {
    await db.query('SET SESSION group_concat_max_len = 67108864')
    const gate = async () => {
      const g = schemaGate('wp_')
      const [rows] = await db.query<mysql.RowDataPacket[]>(g.sql, g.params)
      return String((rows[0] as { g: string }).g)
    }
    const before = { gate: await gate(), fp: await settings.fingerprint(), tables: [...(await settings.schema()).tables.keys()] }
    await db.query('CREATE TABLE wp_peakguard_nodes (site varchar(64), node varchar(64), PRIMARY KEY (site, node))')
    await db.query('CREATE TABLE wp_peakguard_events (id bigint AUTO_INCREMENT PRIMARY KEY, line longtext)')
    await db.query('ALTER TABLE wp_peakguard_nodes ADD COLUMN journal_conn bigint NULL, ADD INDEX j (journal_conn)')
    assert.equal(await gate(), before.gate, 'the gate hash is as it was')
    assert.equal(await settings.fingerprint(), before.fp, 'the fingerprint is as it was')
    assert.deepEqual([...(await settings.schema()).tables.keys()], before.tables)
    // the `_` after peakguard is no wildcard: a plugin's wp_peakguardXnodes or wp_peakguardian is the site's like any other
    await db.query('CREATE TABLE wp_peakguardXnodes (id int)')
    await db.query('CREATE TABLE wp_peakguardian (id int)')
    assert.notEqual(await gate(), before.gate)
    assert.notEqual(schemaPart(await settings.fingerprint()), schemaPart(before.fp))
    assert.deepEqual([...(await settings.schema()).tables.keys()], [...before.tables, 'wp_peakguardXnodes', 'wp_peakguardian'].sort())
  })

  it('a quiet schema costs the poll one short statement: the schema part runs again only when a definition may have changed, and at least every minute', async () => {
    await settings.fingerprint()
    const conn = await settings.connection()
    const [[clock]] = (await conn.query('SELECT UNIX_TIMESTAMP() AS n')) as unknown as [[{ n: number }]]
    // the poll's session clock put well past every table's CREATE_TIME: no definition is recent
    const at = (s: number) => conn.query(`SET SESSION timestamp = ${Number(clock.n) + s}`)
    const ran: string[] = []
    const query = conn.query.bind(conn) as (...a: unknown[]) => unknown
    ;(conn as unknown as { query: (...a: unknown[]) => unknown }).query = (...a: unknown[]) => {
      const sql = typeof a[0] === 'string' ? a[0] : (a[0] as { sql: string }).sql
      if (sql.includes('information_schema.COLUMNS')) ran.push(sql)
      return query(...a)
    }
    await at(1000)
    const fp = await settings.fingerprint()
    assert.equal(ran.length, 1, 'computed: a minute has passed since the first poll')
    assert.equal(await settings.fingerprint(), fp)
    assert.equal(ran.length, 1, 'not computed: nothing changed')
    await db.query('CREATE TABLE wp_new (id int)')
    const created = await settings.fingerprint()
    assert.equal(ran.length, 2, 'computed: the tables changed')
    assert.notEqual(schemaPart(created), schemaPart(fp))
    assert.equal(await settings.fingerprint(), created)
    assert.equal(ran.length, 2)
    await at(1060)
    assert.equal(await settings.fingerprint(), created)
    assert.equal(ran.length, 3, 'computed: a minute since the last time')
  })

  it('schemaDue: computed the first time, when the gate moved, while a definition is recent, and every fullS', () => {
    const gate = { g: 'a', c: 1000, n: 2000 }
    assert.equal(schemaDue(gate, undefined, 10, 60), true)
    assert.equal(schemaDue(gate, { gate: 'a', at: 1990 }, 10, 60), false)
    assert.equal(schemaDue(gate, { gate: 'b', at: 1990 }, 10, 60), true)
    assert.equal(schemaDue({ ...gate, c: 1995 }, { gate: 'a', at: 1998 }, 10, 60), true, 'an ALTER in the second of the one before leaves the gate as it was')
    assert.equal(schemaDue({ ...gate, c: null }, { gate: 'a', at: 1990 }, 10, 60), false)
    assert.equal(schemaDue(gate, { gate: 'a', at: 1940 }, 10, 60), true)
  })

  it("the gate's premise: every ALTER of a column or an index, INSTANT or not, gives its table a new CREATE_TIME (once the second has turned)", async function () {
    this.timeout(120_000)
    await db.query("CREATE TABLE wp_demo (id int PRIMARY KEY, status varchar(20) NOT NULL DEFAULT 'x')")
    await db.query('SET SESSION group_concat_max_len = 67108864')
    const gate = async () => {
      const g = schemaGate('wp_')
      const [rows] = await db.query<mysql.RowDataPacket[]>(g.sql, g.params)
      return rows[0] as { g: string; c: number }
    }
    for (const sql of [
      'ALTER TABLE wp_demo ADD COLUMN a int, ALGORITHM=INSTANT',
      'ALTER TABLE wp_demo ADD COLUMN b int, ALGORITHM=COPY',
      'ALTER TABLE wp_demo DROP COLUMN b',
      'ALTER TABLE wp_demo RENAME COLUMN a TO c',
      'ALTER TABLE wp_demo MODIFY c bigint',
      'ALTER TABLE wp_demo ALTER COLUMN c SET DEFAULT 3',
      'CREATE INDEX st ON wp_demo (status(5))',
      'DROP INDEX st ON wp_demo',
    ]) {
      const before = await gate()
      // a condition, not a duration: the server's clock is a second past the newest definition's. Not just past it:
      // CREATE_TIME is the definition file's time, which the kernel stamps from its coarse clock, a few ms behind
      // the server's — just after the second turns, a file can still get the old second (the adapter's 10 s
      // window of full hashes after any definition covers exactly that)
      for (;;) {
        const [[now]] = (await db.query('SELECT UNIX_TIMESTAMP() AS n')) as unknown as [[{ n: number }]]
        if (Number(now.n) > Number(before.c) + 1) break
        await new Promise((r) => setTimeout(r, 50))
      }
      await db.query(sql)
      assert.notEqual((await gate()).g, before.g, sql)
    }
  })

  it('says a type as every server version agrees on it, and leaves another install of the same database out', () => {
    // MySQL 8.0.19+ drops integer display widths; a server upgrade is no migration of every table
    assert.deepEqual(['bigint(20) unsigned', 'int(11)', 'tinyint(1)', 'tinyint(4)', 'varchar(20)', 'decimal(10,2)', 'BIGINT(20)'].map(normalType), ['bigint unsigned', 'int', 'tinyint(1)', 'tinyint', 'varchar(20)', 'decimal(10,2)', 'BIGINT'])
    assert.deepEqual(['CURRENT_TIMESTAMP', 'current_timestamp()', 'CURRENT_TIMESTAMP(6)', "'x'", null].map(normalDefault), ['current_timestamp()', 'current_timestamp()', 'current_timestamp(6)', "'x'", null])
    assert.equal(normalType('year(4)'), 'year')
    const wpTables = (p: string) => ['options', 'posts', 'postmeta', 'terms'].map((t) => `${p}${t}`)
    const names = [...wpTables('wp_'), ...wpTables('wp_shop_'), ...wpTables('wp_2_'), 'wp_optionsx', 'wp_noptions', 'wp_poll_options', 'wp_poll_votes']
    assert.deepEqual(otherInstalls(names, 'wp_', false), ['wp_shop_', 'wp_2_'])
    assert.deepEqual(otherInstalls(names, 'wp_', true), ['wp_shop_'], "on multisite wp_2_ is this site's blog")
    assert.ok(!otherInstalls(names, 'wp_', false).includes('wp_poll_'), "a plugin's poll_options table is no install: its poll_* tables stay this site's")
  })
})
