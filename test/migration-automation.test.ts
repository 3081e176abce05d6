// Automation never crosses a database migration, with the real daemon on MariaDB: a plugin update that breaks
// the shop AND creates a table and bumps its _db_version is not rolled back automatically — an ALERT is
// logged once, a webhook gets auto-rollback-blocked naming the table, and the code, the table and its rows
// stay; during a freeze (policy revert) an SQL ALTER TABLE plus a migration-marker change becomes a held
// change request that says why, not a revert.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fastDaemonConfig, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'
import { makeUsers, ok } from './harness/users.ts'

const CRITICAL = '<html><body><div class="wp-die-message"><p>There has been a critical error on this website.</p></div></body></html>'
const PLUGIN = 'plugins/woocommerce/woocommerce.php'

interface Served {
  url: string
  got: { event: string; summary: string; details: Record<string, unknown> }[]
  close(): Promise<void>
}

async function serve(handler: http.RequestListener): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(handler)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise((r) => server.close(() => r())) }
}

/** A webhook receiver that keeps every JSON document it is sent. */
async function receiver(): Promise<Served> {
  const got: Served['got'] = []
  const s = await serve((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')))
      res.writeHead(204).end()
    })
  })
  return { ...s, got }
}

const until = async (cond: () => boolean | Promise<boolean>, what: string, ms = 30_000) => {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('automation never crosses a database migration (real daemon, MariaDB)', function () {
  this.timeout(240_000)
  let site: TestSite | null = null
  let daemon: RunningDaemon | null = null
  const closing: (() => Promise<void>)[] = []

  afterEach(async () => {
    await daemon?.stop()
    daemon = null
    for (const c of closing.splice(0)) await c()
    await site?.cleanup()
    site = null
  })

  it('does not roll back a broken update that created a table and bumped its _db_version: one ALERT, auto-rollback-blocked names the table', async () => {
    const s = (site = await createSite())
    const hook = await receiver()
    closing.push(hook.close)
    // the shop breaks whenever the live plugin file says fatal, as a broken plugin breaks every page
    const shop = await serve((_req, res) => {
      const code = fs.readFileSync(path.join(s.wpContent, PLUGIN), 'utf8')
      if (code.includes('fatal')) res.writeHead(500, { 'content-type': 'text/html' }).end(CRITICAL)
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Shop</body></html>')
    })
    closing.push(shop.close)
    fs.appendFileSync(
      s.configFile,
      fastDaemonConfig(
        `    health: { interval: 300ms, fastInterval: 200ms, fastRounds: 3, goodAfter: 1s, probes: [{ url: "${shop.url}", maxLatency: 2s, timeout: 2s }] }\n` +
          '    autoRollback: { enabled: true, afterFailures: 3, minInterval: 0s }\n' +
          `    notify: { webhooks: [{ url: "${hook.url}", events: [auto-rollback, auto-rollback-blocked] }] }\n`,
      ),
    )
    const d = (daemon = await startDaemon(s))
    const good = (await d.waitFor((l) => l.msg === 'state marked known-good', 30_000)).state as string

    // the update: its new code is broken, and it migrated its data (a table of its own, its schema version)
    const from = d.lines.length
    await s.db.query('CREATE TABLE wp_hello_migrate_log (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, note varchar(191) NOT NULL) DEFAULT CHARSET utf8mb4')
    await s.db.query("INSERT INTO wp_hello_migrate_log (note) VALUES ('order 1002 migrated')")
    await s.db.query("INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('woocommerce_db_version', '9.5.0', 'yes') ON DUPLICATE KEY UPDATE option_value = '9.5.0'")
    fs.writeFileSync(path.join(s.wpContent, PLUGIN), '<?php // fatal: wc_get_container() undefined\n')

    const alert = await d.waitFor((l) => /^ALERT: automatic rollback blocked/.test(l.msg), 60_000, from)
    assert.match(alert.msg, new RegExp(`the database schema changed since known-good ${good.slice(0, 12)} \\(table wp_hello_migrate_log created\\)`))
    assert.match(alert.msg, /migration markers differ .*woocommerce_db_version/)
    assert.match(alert.msg, /could lose orders — decide by hand: peakguard restore \w+ --across-schema-change/)
    await until(() => hook.got.some((n) => n.event === 'auto-rollback-blocked'), 'the auto-rollback-blocked webhook')
    const n = hook.got.find((x) => x.event === 'auto-rollback-blocked')
    assert.deepEqual(n?.details.tables, ['wp_hello_migrate_log'])
    assert.ok((n?.details.markers as string[]).includes('woocommerce_db_version'))
    assert.doesNotMatch(JSON.stringify(n), /9\.5\.0|order 1002/, 'no option value or row in the notification')

    // more failed rounds (the slow cadence is 300 ms here): no second alert, no rollback
    const more = d.lines.length
    await d.waitFor((l) => l.msg === 'health probe failed', 10_000, more)
    await d.waitFor((l) => l.msg === 'health probe failed', 10_000, d.lines.length)
    assert.equal(d.lines.filter((l) => /^ALERT: automatic rollback blocked/.test(l.msg)).length, 1)
    assert.ok(!d.lines.some((l) => /^automatic rollback (done|:)/.test(l.msg)), 'no rollback was started')
    assert.equal(hook.got.filter((x) => x.event.startsWith('auto-rollback')).length, 1)
    assert.match(fs.readFileSync(path.join(s.wpContent, PLUGIN), 'utf8'), /fatal/, 'the code stays')
    const [rows] = (await s.db.query('SELECT note FROM wp_hello_migrate_log')) as unknown as [{ note: string }[]]
    assert.deepEqual(rows.map((r) => r.note), ['order 1002 migrated'])
    const status = await s.cli(['status', '--json'])
    assert.match(status.json.daemon.site.health.autoRollback.blocked.reason, /wp_hello_migrate_log/)
    assert.match((await s.cli(['status'])).stdout, /auto-rollback on; BLOCKED at .*wp_hello_migrate_log/)
  })

  it('during a freeze with policy revert, an SQL ALTER TABLE plus a marker change becomes a held request that says why', async () => {
    const s = (site = await createSite({ siteConfig: fastDaemonConfig('    freeze: { policy: revert }\n') }))
    const tokens = await makeUsers(s.configFile, 'root', { alice: 'approver', bob: 'approver' })
    const as = (u: string) => ({ PEAKGUARD_TOKEN: tokens[u] as string })
    daemon = await startDaemon(s)
    ok(await s.cli(['freeze', 'start', '--for', '1h', '--reason', 'launch night'], as('alice')), 'freeze start')

    await s.db.query('ALTER TABLE wp_posts ADD COLUMN hello_extra int NULL')
    await s.db.query("INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('hello_db_version', '2', 'yes')")
    let held: { id: string; held?: string; schema?: string[]; policy: string; reverted: boolean; items: { options: string[] } } | undefined
    await until(async () => {
      held = ((await s.cli(['--json', 'requests'], as('bob'))).json as (typeof held)[])[0]
      return !!held
    }, 'a change request')
    assert.ok(held)
    assert.deepEqual([held.policy, held.reverted, held.items.options], ['hold', false, ['hello_db_version']])
    assert.deepEqual(held.schema, ['wp_posts: column `hello_extra` added (int)'])
    assert.match(held.held ?? '', /^the database schema changed \(wp_posts: column `hello_extra` added \(int\)\); peakguard cannot revert a schema change, and migration markers changed \(hello_db_version\)/)
    const [rows] = (await s.db.query("SELECT option_value FROM wp_options WHERE option_name = 'hello_db_version'")) as unknown as [{ option_value: string }[]]
    assert.deepEqual(rows.map((r) => r.option_value), ['2'], 'not reverted')
    const text = await s.cli(['requests'], as('bob'))
    assert.match(text.stdout, /holds +the database schema changed/)
    assert.match(text.stdout, /schema +wp_posts: column `hello_extra` added/)
  })
})
