// Plugin settings tables beyond options (issue 17): WooCommerce's settings tables, created with its
// installer's real DDL (test/harness/woocommerce.ts), recorded row by row by the `woocommerce` preset,
// restored outside a freeze and reverted inside one, while the orders that keep coming in are never
// touched. Then hostile rows: NUL bytes and 16 MB values, a composite primary key, a table dropped
// between two snapshots, tables that are no settings, and a Site Editor entity whose slug is a path or
// HTML. Real MariaDB, the real CLI and daemon.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { fastDaemonConfig, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { PrivateMariadb, rootConnection } from './harness/mariadb.ts'
import { createSite, randomBytesSeeded, type CliResult, type TestSite } from './harness/site.ts'
import { ok } from './harness/users.ts'
import {
  addOrders,
  insertEntityPost,
  installWooCommerce,
  installWordPressContentTables,
  ORDER_TABLES,
  tableDigest,
  WEBHOOK_SECRET,
} from './harness/woocommerce.ts'

/** the preset's tables and their primary key, as WooCommerce's installer makes them */
const PRESET: Record<string, string> = {
  woocommerce_tax_rates: 'tax_rate_id',
  woocommerce_tax_rate_locations: 'location_id',
  woocommerce_shipping_zones: 'zone_id',
  woocommerce_shipping_zone_locations: 'location_id',
  woocommerce_shipping_zone_methods: 'instance_id',
  woocommerce_attribute_taxonomies: 'attribute_id',
  wc_webhooks: 'webhook_id',
}

async function rows(db: mysql.Connection, sql: string, args: unknown[] = []): Promise<mysql.RowDataPacket[]> {
  const [r] = await db.query<mysql.RowDataPacket[]>(sql, args)
  return r
}

/** Every preset table's digest: byte-exact equality of the settings. */
async function presetDigest(db: mysql.Connection): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const t of Object.keys(PRESET)) out[t] = JSON.stringify(await tableDigest(db, `wp_${t}`))
  return out
}

async function ordersDigest(db: mysql.Connection): Promise<Record<string, { rows: number; sha256: string }>> {
  const out: Record<string, { rows: number; sha256: string }> = {}
  for (const t of ORDER_TABLES) out[t] = await tableDigest(db, `wp_${t}`)
  return out
}

/** The settings-table rows (and entities) a state's `show --json` lists as changed, as `name change`. */
function recordChanges(shown: CliResult): string[] {
  return (shown.json.changes.options as { table: string; name: string; change: string }[])
    .filter((o) => o.table !== 'wp_options')
    .map((o) => `${o.name} ${o.change}`)
    .sort()
}

/** A refusal as the operator sees it: one line, no stack trace; the JSON error's code and message. */
function refused(r: CliResult): { code: string; message: string } {
  assert.notEqual(r.code, 0, `expected a refusal:\n${r.stdout}\n${r.stderr}`)
  assert.equal(r.stderr.includes('    at '), false, `a stack trace: ${r.stderr}`)
  return JSON.parse(r.stdout || r.stderr).error
}

/** How many commits the site's journal holds (every ref): a refused command adds none. */
function journalCommits(site: TestSite): number {
  return Number(execFileSync('git', ['--git-dir', path.join(site.dataDir, 'shop', 'journal'), 'rev-list', '--all', '--count'], { encoding: 'utf8' }).trim())
}

describe('the woocommerce preset on WooCommerce’s real schema: recorded, restored, orders untouched', function () {
  this.timeout(240_000)
  let site: TestSite
  let first = ''

  before(async () => {
    site = await createSite({ siteConfig: '    settingsTables: [woocommerce]\n' })
    await installWooCommerce(site.db, 'wp_')
  })
  after(async () => site?.cleanup())

  it('records every row of the preset tables, and nothing of the orders tables', async () => {
    const snap = await site.cli(['snapshot', '--json'])
    ok(snap, 'snapshot')
    first = snap.json.id
    const expected: string[] = []
    for (const [t, key] of Object.entries(PRESET))
      for (const r of await rows(site.db, `SELECT ${key} AS k FROM wp_${t}`)) expected.push(`table:${t}#${String(r.k)} added`)
    assert.equal(expected.length, 19, 'the seeded shop')
    const shown = await site.cli(['show', first, '--json'])
    ok(shown, 'show')
    assert.deepEqual(recordChanges(shown), expected.sort())
    const tables = new Set((shown.json.changes.options as { table: string }[]).map((o) => o.table))
    for (const t of ORDER_TABLES) assert.equal(tables.has(`wp_${t}`), false, `${t} is content: never recorded`)
    assert.ok(!(shown.json.changes.options as { name: string }[]).some((o) => /order/.test(o.name)), 'no order row')
    const list = await site.cli(['list', '--json'])
    ok(list, 'list')
    assert.equal(list.json[0].id, first)
    assert.equal(list.json[0].summary, 'initial: 34 files, 27 options', '8 options and 19 settings-table rows')
    const text = await site.cli(['show', first])
    ok(text, 'show (text)')
    assert.match(text.stdout, /table:woocommerce_tax_rates#2/)
    assert.doesNotMatch(text.stdout + text.stderr, new RegExp(WEBHOOK_SECRET), 'the webhook secret is never printed by show')
  })

  it('a tax rate changed in SQL is recorded, then restored outside a freeze (one row with --only, then all) while orders keep coming in', async () => {
    const good = await site.cli(['snapshot', '--json'])
    ok(good, 'snapshot')
    const settingsBefore = await presetDigest(site.db)

    // the night's mistakes: a wrong rate, a renamed rate, a lost postcode, a rate nobody asked for
    await site.db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate = '16.0000' WHERE tax_rate_id = 2`)
    await site.db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate_name = 'VAT (old)' WHERE tax_rate_id = 4`)
    await site.db.query(`DELETE FROM wp_woocommerce_tax_rate_locations WHERE location_id = 4`)
    await site.db.query(`INSERT INTO wp_woocommerce_tax_rates (tax_rate_id, tax_rate_country, tax_rate, tax_rate_name, tax_rate_priority, tax_rate_order) VALUES (5, 'FR', '20.0000', 'TVA', 1, 4)`)
    const bad = await site.cli(['snapshot', '--json'])
    ok(bad, 'snapshot of the change')
    assert.equal(bad.json.created, true)
    const shown = await site.cli(['show', bad.json.id, '--json'])
    assert.deepEqual(recordChanges(shown), [
      'table:woocommerce_tax_rate_locations#4 removed',
      'table:woocommerce_tax_rates#2 modified',
      'table:woocommerce_tax_rates#4 modified',
      'table:woocommerce_tax_rates#5 added',
    ])
    const listed = await site.cli(['list', '--json'])
    assert.equal(listed.json[0].summary, 'settings: woocommerce_tax_rate_locations row 4, woocommerce_tax_rates row 2, woocommerce_tax_rates row 4 +1')

    // the campaign goes on: orders come in between the mistake and its repair
    await addOrders(site.db, 'wp_', 1004, 5)
    const orders = await ordersDigest(site.db)
    assert.equal(orders.wc_orders?.rows, 8)
    assert.equal(orders.woocommerce_order_items?.rows, 16)

    const one = await site.cli(['restore', good.json.id, '--only', 'table:woocommerce_tax_rates#2', '--yes', '--json'])
    ok(one, 'restore --only one row')
    assert.equal(one.json.verified, true)
    const rates = async () => (await rows(site.db, `SELECT tax_rate_id AS id, tax_rate AS r, tax_rate_name AS n FROM wp_woocommerce_tax_rates ORDER BY tax_rate_id`)).map((r) => `${r.id} ${r.r} ${r.n}`)
    assert.deepEqual(await rates(), ['1 7.2500 CA Sales Tax', '2 19.0000 MwSt.', '3 7.0000 MwSt. ermäßigt', '4 20.0000 VAT (old)', '5 20.0000 TVA'], 'only row 2 is back')
    assert.equal((await rows(site.db, `SELECT 1 FROM wp_woocommerce_tax_rate_locations WHERE location_id = 4`)).length, 0, 'the lost postcode is still lost')
    assert.deepEqual(await ordersDigest(site.db), orders, 'orders untouched')

    const all = await site.cli(['restore', good.json.id, '--yes', '--json'])
    ok(all, 'restore')
    assert.equal(all.json.verified, true)
    assert.deepEqual(await presetDigest(site.db), settingsBefore, 'every settings table is byte-exact as recorded')
    assert.deepEqual(await ordersDigest(site.db), orders, 'orders and order items untouched: same count, same bytes')
    const status = await site.cli(['status', '--json'])
    assert.equal(status.json.pendingChanges.options, 0)
  })

  it("wc_webhooks' failure_count and pending_delivery changing make no snapshot; a changed delivery URL does, and its restore leaves them be", async () => {
    const base = await site.cli(['snapshot', '--json'])
    ok(base, 'snapshot')
    const head = base.json.id
    await site.db.query(`UPDATE wp_wc_webhooks SET failure_count = 4, pending_delivery = 1 WHERE webhook_id = 1`)
    const none = await site.cli(['snapshot', '--json'])
    ok(none, 'snapshot')
    assert.equal(none.json.created, false, 'delivery bookkeeping is not a change')
    assert.equal((await site.cli(['status', '--json'])).json.pendingChanges.options, 0)

    await site.db.query(`UPDATE wp_wc_webhooks SET delivery_url = 'https://collector.example/steal' WHERE webhook_id = 1`)
    const changed = await site.cli(['snapshot', '--json'])
    ok(changed, 'snapshot')
    assert.equal(changed.json.created, true)
    assert.deepEqual(recordChanges(await site.cli(['show', changed.json.id, '--json'])), ['table:wc_webhooks#1 modified'])
    await site.db.query(`UPDATE wp_wc_webhooks SET failure_count = 5 WHERE webhook_id = 1`)
    const r = await site.cli(['restore', head, '--only', 'table:wc_webhooks', '--yes', '--json'])
    ok(r, 'restore --only table:wc_webhooks')
    assert.equal(r.json.verified, true)
    const [w] = await rows(site.db, `SELECT delivery_url AS u, secret AS s, failure_count AS f, pending_delivery AS p FROM wp_wc_webhooks WHERE webhook_id = 1`)
    assert.deepEqual({ ...w }, { u: 'https://erp.example/hooks/woocommerce', s: WEBHOOK_SECRET, f: 5, p: 1 }, 'the URL is back; the ignored columns are as WooCommerce left them')

    // a deleted webhook comes back whole; what was never recorded takes the column's default
    await site.db.query(`DELETE FROM wp_wc_webhooks WHERE webhook_id = 1`)
    const again = await site.cli(['restore', head, '--only', 'table:wc_webhooks#1', '--yes', '--json'])
    ok(again, 'restore the deleted webhook')
    assert.equal(again.json.verified, true)
    const [back] = await rows(site.db, `SELECT name AS n, secret AS s, topic AS t, CAST(date_created_gmt AS CHAR) AS d, failure_count AS f, pending_delivery AS p FROM wp_wc_webhooks WHERE webhook_id = 1`)
    assert.deepEqual({ ...back }, { n: 'Order created → ERP', s: WEBHOOK_SECRET, t: 'order.created', d: '2026-11-20 08:00:00', f: 0, p: 0 })
  })
})

describe('the woocommerce preset in a freeze (policy revert): the daemon reverts a tax-rate change and a change request names it', function () {
  this.timeout(240_000)
  let site: TestSite
  let daemon: RunningDaemon

  before(async () => {
    site = await createSite({ siteConfig: fastDaemonConfig('    freeze: { policy: revert }\n    settingsTables: [woocommerce]\n') })
    await installWooCommerce(site.db, 'wp_')
    ok(await site.cli(['snapshot']), 'snapshot')
    daemon = await startDaemon(site)
    ok(await site.cli(['freeze', 'start', '--for', '1h', '--reason', 'Black Friday']), 'freeze start')
  })
  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  it('an SQL edit of a tax rate is reverted, the request names the row, and the orders taken meanwhile stay', async () => {
    const from = daemon.lines.length
    await addOrders(site.db, 'wp_', 2001, 4)
    await site.db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate = '0.0000' WHERE tax_rate_id = 2`)
    const orders = await ordersDigest(site.db)
    await daemon.waitFor((l) => l.msg === 'freeze: change reverted, waiting for approval', 20_000, from)
    const [rate] = await rows(site.db, `SELECT tax_rate AS r FROM wp_woocommerce_tax_rates WHERE tax_rate_id = 2`)
    assert.equal(String(rate?.r), '19.0000', 'reverted')
    const list = await site.cli(['--json', 'requests'])
    ok(list, 'requests')
    assert.equal(list.json.length, 1, list.stdout)
    assert.equal(list.json[0].reverted, true)
    assert.deepEqual(list.json[0].items.options, ['table:woocommerce_tax_rates#2'])
    assert.deepEqual(await ordersDigest(site.db), orders, 'the orders taken during the freeze are untouched')
    assert.equal(orders.wc_orders?.rows, 7)
  })
})

describe('hostile settings-table rows', function () {
  this.timeout(240_000)
  // a server of this suite's own: max_allowed_packet is raised for the 16 MB value, and that is global
  let server: PrivateMariadb
  let site: TestSite
  before(async () => (server = await PrivateMariadb.create()))
  after(async () => server?.destroy())
  afterEach(async () => site?.cleanup())

  const TRICKY_KEY = Buffer.from('a,b#c/../\0<b>x', 'latin1')

  it('NUL bytes and a 16 MB value, under a composite primary key, are recorded and restored byte-exact', async () => {
    site = await createSite({ server: server.server, siteConfig: '    settingsTables: [woocommerce, acme_blocks]\n' })
    await installWooCommerce(site.db, 'wp_')
    await site.db.query(`CREATE TABLE wp_acme_blocks (site_id int unsigned NOT NULL, block varbinary(64) NOT NULL, payload longblob NULL, label varchar(200) NOT NULL DEFAULT '', PRIMARY KEY (site_id, block)) DEFAULT CHARSET utf8mb4`)
    const root = await rootConnection(undefined, server.server)
    let db: mysql.Connection | null = null
    try {
      await root.query('SET GLOBAL max_allowed_packet = 67108864')
      db = await rootConnection(site.dbName, server.server) // a session takes max_allowed_packet when it connects
      const big = randomBytesSeeded(16 * 1024 * 1024, 7)
      big[100] = 0
      big[big.length - 1] = 0
      const nul = Buffer.from('before\0after\0\0', 'latin1')
      await db.query(`INSERT INTO wp_acme_blocks VALUES (1, 'header', ?, 'Header ✓'), (1, ?, ?, 'tricky key'), (2, 'header', NULL, '')`, [big, TRICKY_KEY, nul])
      await db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate_name = ? WHERE tax_rate_id = 3`, [Buffer.from('MwSt.\0reduced')])
      const good = await site.cli(['snapshot', '--json'])
      ok(good, 'snapshot')
      const names = recordChanges(await site.cli(['show', good.json.id, '--json'])).filter((n) => n.startsWith('table:acme_blocks'))
      assert.deepEqual(names, ['table:acme_blocks#1,a%2Cb%23c%2F..%2F%00%3Cb%3Ex added', 'table:acme_blocks#1,header added', 'table:acme_blocks#2,header added'])

      const broken = Buffer.from(big)
      broken[8 * 1024 * 1024] = 0xff ^ (broken[8 * 1024 * 1024] as number)
      await db.query(`UPDATE wp_acme_blocks SET payload = ? WHERE site_id = 1 AND block = 'header'`, [broken])
      await db.query(`UPDATE wp_acme_blocks SET payload = 'x' WHERE site_id = 2`)
      await db.query(`DELETE FROM wp_acme_blocks WHERE block = ?`, [TRICKY_KEY])
      await db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate_name = 'MwSt. reduced' WHERE tax_rate_id = 3`)
      const diff = await site.cli(['diff', good.json.id, '--json'])
      ok(diff, 'diff')
      assert.deepEqual(
        (diff.json.options as { name: string; change: string }[]).map((o) => `${o.name} ${o.change}`).sort(),
        ['table:acme_blocks#1,a%2Cb%23c%2F..%2F%00%3Cb%3Ex removed', 'table:acme_blocks#1,header modified', 'table:acme_blocks#2,header modified', 'table:woocommerce_tax_rates#3 modified'],
      )

      // one row of the composite key, by its encoded name
      const one = await site.cli(['restore', good.json.id, '--only', 'table:acme_blocks#1,a%2Cb%23c%2F..%2F%00%3Cb%3Ex', '--yes', '--json'])
      ok(one, 'restore --only the tricky row')
      assert.equal(one.json.verified, true)
      const [tricky] = await rows(db, `SELECT payload AS p, label AS l FROM wp_acme_blocks WHERE site_id = 1 AND block = ?`, [TRICKY_KEY])
      assert.ok(tricky, 'the row with NUL, comma, # and ../ in its key is back')
      assert.ok(Buffer.from(tricky.p as Buffer).equals(nul))
      assert.equal((await rows(db, `SELECT 1 FROM wp_acme_blocks WHERE site_id = 2 AND payload = 'x'`)).length, 1, 'the other rows are not restored yet')

      const all = await site.cli(['restore', good.json.id, '--yes', '--json'])
      ok(all, 'restore')
      assert.equal(all.json.verified, true)
      const back = await rows(db, `SELECT site_id AS s, block AS b, payload AS p, label AS l FROM wp_acme_blocks ORDER BY site_id, block`)
      const byKey = new Map(back.map((r) => [`${r.s}/${Buffer.from(r.b as Buffer).toString('hex')}`, r]))
      assert.equal(back.length, 3)
      assert.ok(Buffer.from(byKey.get(`1/${Buffer.from('header').toString('hex')}`)?.p as Buffer).equals(big), 'the 16 MB value is byte-exact')
      assert.equal(byKey.get(`2/${Buffer.from('header').toString('hex')}`)?.p, null, 'NULL is NULL again')
      assert.equal(String(byKey.get(`1/${Buffer.from('header').toString('hex')}`)?.l), 'Header ✓')
      const [rate] = await rows(db, `SELECT CAST(tax_rate_name AS BINARY) AS n FROM wp_woocommerce_tax_rates WHERE tax_rate_id = 3`)
      assert.ok(Buffer.from(rate?.n as Buffer).equals(Buffer.from('MwSt.\0reduced')), 'the NUL byte in a WooCommerce column is back')
      assert.equal((await site.cli(['status', '--json'])).json.pendingChanges.options, 0)
    } finally {
      await db?.end()
      await root.query('SET GLOBAL max_allowed_packet = 16777216').catch(() => undefined)
      await root.end()
    }
  })

  it('a settings table dropped between two snapshots: the next command fails naming it, and nothing is written', async () => {
    site = await createSite({ server: server.server, siteConfig: '    settingsTables: [woocommerce]\n' })
    await installWooCommerce(site.db, 'wp_')
    const good = await site.cli(['snapshot', '--json'])
    ok(good, 'snapshot')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken Shop' WHERE option_name = 'blogname'`)
    await site.db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate = '0.0000' WHERE tax_rate_id = 2`)
    await site.db.query(`DROP TABLE wp_woocommerce_shipping_zone_methods`)
    const commits = journalCommits(site)
    for (const args of [['snapshot'], ['restore', good.json.id, '--yes']]) {
      const err = refused(await site.cli([...args, '--json']))
      assert.equal(err.code, 'CONFIG_INVALID', err.message)
      assert.match(err.message, /settingsTables: woocommerce_shipping_zone_methods \(wp_woocommerce_shipping_zone_methods\) does not exist in database pg_test_\w+/)
      const text = await site.cli(args)
      assert.match(text.stderr, /^peakguard: .*woocommerce_shipping_zone_methods.*does not exist/m)
    }
    assert.equal(journalCommits(site), commits, 'no snapshot or safety snapshot was written')
    const [name] = await rows(site.db, `SELECT option_value AS v FROM wp_options WHERE option_name = 'blogname'`)
    assert.equal(String(name?.v), 'Broken Shop', 'no setting was written')
    const [rate] = await rows(site.db, `SELECT tax_rate AS r FROM wp_woocommerce_tax_rates WHERE tax_rate_id = 2`)
    assert.equal(String(rate?.r), '0.0000', 'no settings-table row was written')
  })

  it('tables that are no settings are refused by name: no primary key, missing, over 50,000 rows, content, an unknown or unfillable ignored column', async () => {
    site = await createSite({ server: server.server })
    await installWooCommerce(site.db, 'wp_')
    await site.db.query(`CREATE TABLE wp_acme_log (at datetime NOT NULL, message text NOT NULL) DEFAULT CHARSET utf8mb4`)
    await site.db.query(`CREATE TABLE wp_acme_queue (id int unsigned NOT NULL PRIMARY KEY) DEFAULT CHARSET utf8mb4`)
    await site.db.query(`CREATE TABLE wp_acme_flags (id int unsigned NOT NULL PRIMARY KEY, flag varchar(20) NOT NULL, hits int NOT NULL) DEFAULT CHARSET utf8mb4`)
    await site.db.query(`INSERT INTO wp_acme_queue SELECT seq FROM seq_1_to_50001`)
    const config = fs.readFileSync(site.configFile, 'utf8')
    const cases: [string, RegExp][] = [
      ['[acme_log]', /settingsTables: acme_log \(wp_acme_log\) has no primary key/],
      ['[woocommerce, acme_missing]', /settingsTables: acme_missing \(wp_acme_missing\) does not exist in database pg_test_\w+/],
      ['[acme_queue]', /settingsTables: acme_queue \(wp_acme_queue\) holds more than 50,000 rows/],
      ['[posts]', /posts holds content, not settings/],
      ['[wc_orders]', /wc_orders holds content, not settings/],
      ['[{ table: wc_orders }]', /wc_orders holds content, not settings/],
      ['[{ table: wc_webhooks, ignoreColumns: [delivery_attempts] }]', /settingsTables: wc_webhooks \(wp_wc_webhooks\) has no column delivery_attempts to ignore/],
      ['[{ table: wc_webhooks, ignoreColumns: [webhook_id] }]', /wc_webhooks \(wp_wc_webhooks\) cannot ignore webhook_id: it is part of the primary key/],
      // a deleted row could not be put back without it
      ['[{ table: acme_flags, ignoreColumns: [hits] }]', /acme_flags \(wp_acme_flags\) cannot ignore hits: it is NOT NULL without a default/],
    ]
    const commits = () => (fs.existsSync(path.join(site.dataDir, 'shop', 'journal')) ? journalCommits(site) : 0)
    const before = commits()
    for (const [tables, why] of cases) {
      fs.writeFileSync(site.configFile, `${config}    settingsTables: ${tables}\n`)
      const err = refused(await site.cli(['snapshot', '--json']))
      assert.equal(err.code, 'CONFIG_INVALID', `${tables}: ${err.message}`)
      assert.match(err.message, why, tables)
    }
    assert.equal(commits(), before, 'nothing was recorded')
  })
})

describe('a Site Editor entity whose slug is a path or HTML', function () {
  this.timeout(240_000)
  let site: TestSite
  before(async () => {
    site = await createSite()
    await installWordPressContentTables(site.db, 'wp_')
  })
  after(async () => site?.cleanup())

  it('is recorded, listed and restored with its name shown as text, and no path is ever made from it', async () => {
    const part = await insertEntityPost(site.db, 'wp_', {
      type: 'wp_template_part',
      slug: '../../../etc/cron.d/x',
      theme: 'twentytwentythree',
      area: 'header',
      content: '<!-- wp:site-title /-->',
    })
    const tpl = await insertEntityPost(site.db, 'wp_', { type: 'wp_template', slug: '<img src=x onerror=alert(1)>', theme: 'twentytwentythree', content: '<!-- wp:post-content /-->' })
    const partName = 'entity:wp_template_part/twentytwentythree/..%2F..%2F..%2Fetc%2Fcron.d%2Fx'
    const tplName = 'entity:wp_template/twentytwentythree/%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E'
    const good = await site.cli(['snapshot', '--json'])
    ok(good, 'snapshot')
    assert.deepEqual(recordChanges(await site.cli(['show', good.json.id, '--json'])), [`${tplName} added`, `${partName} added`].sort())

    await site.db.query(`UPDATE wp_posts SET post_content = '<!-- wp:paragraph --><p>pwned</p><!-- /wp:paragraph -->' WHERE ID = ?`, [part])
    await site.db.query(`DELETE FROM wp_posts WHERE ID = ?`, [tpl])
    await site.db.query(`DELETE FROM wp_term_relationships WHERE object_id = ?`, [tpl])
    const bad = await site.cli(['snapshot', '--json'])
    ok(bad, 'snapshot')
    // the slug as text in the label: quoted, never resolved or escaped into something else
    const listed = await site.cli(['list', '--json'])
    ok(listed, 'list')
    assert.equal(listed.json[0].summary, 'settings: template “<img src=x onerror=alert(1)>” (twentytwentythree), template part “../../../etc/cron.d/x” (twentytwentythree)')
    const list = await site.cli(['list'])
    for (const slug of ['“<img src=x onerror=alert(1)>”', '“../../../etc/cron.d/x”']) assert.ok(list.stdout.includes(slug), list.stdout)
    const shown = await site.cli(['show', bad.json.id])
    ok(shown, 'show')
    assert.ok(shown.stdout.includes(partName) && shown.stdout.includes(tplName), shown.stdout)

    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    ok(r, 'restore')
    assert.equal(r.json.verified, true)
    const back = await rows(site.db, `SELECT ID AS id, post_name AS n, post_content AS c FROM wp_posts WHERE post_type IN ('wp_template', 'wp_template_part') ORDER BY ID`)
    assert.deepEqual(back.map((p) => ({ ...p })), [
      { id: part, n: '../../../etc/cron.d/x', c: '<!-- wp:site-title /-->' },
      { id: tpl, n: '<img src=x onerror=alert(1)>', c: '<!-- wp:post-content /-->' },
    ], 'both back, with their post ids')
    const terms = await rows(site.db, `SELECT r.object_id AS id, tt.taxonomy AS tx, t.slug AS s FROM wp_term_relationships r JOIN wp_term_taxonomy tt USING (term_taxonomy_id) JOIN wp_terms t USING (term_id) ORDER BY r.object_id, tt.taxonomy`)
    assert.deepEqual(terms.map((t) => `${t.id} ${t.tx} ${t.s}`), [`${part} wp_template_part_area header`, `${part} wp_theme twentytwentythree`, `${tpl} wp_theme twentytwentythree`])
    // nothing anywhere was named after a slug
    const made = (fs.readdirSync(site.base, { recursive: true }) as string[]).filter((p) => /cron\.d|onerror/.test(p))
    assert.deepEqual(made, [], 'a path was made from a slug')
    for (const dir of [site.base, site.dataDir, path.join(site.dataDir, 'shop')]) assert.equal(fs.existsSync(path.resolve(dir, '../../../etc/cron.d/x')), false)
  })
})
