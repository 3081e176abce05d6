// A plugin update that migrates its own table, end to end on a real WordPress with MariaDB and the real
// daemon: "Hello Migrate" 1.0 → 2.0 through WordPress's upgrader (the bridge asks for a pre-update snapshot),
// then one page load runs 2.0's upgrade routine (a table of its own, ALTER TABLE, a row, its _db_version 1 → 2).
// Restoring the state from before the update crosses that migration: the CLI and the UI say so and refuse
// without an acknowledgement, writing nothing; with it the code goes back and the table, its row and the
// marker stay, audited. Automatic rollback still undoes a code-only break, but never a broken update that
// migrated: it alerts once and notifies, naming the table.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { withoutFaketime } from './harness/clock.ts'
import { fastDaemonConfig, startDaemon, type LogLine, type RunningDaemon } from './harness/daemon.ts'
import { HELLO_MIGRATE, installMigrationPlugin, upgradeMigrationPlugin } from './harness/migration-plugin.ts'
import type { CliResult } from './harness/site.ts'
import { csrfOf, login, makeUsers, ok } from './harness/users.ts'
import { createWordPress, type TestWordPress } from './harness/wordpress.ts'

const CHROMIUM = '/usr/bin/chromium'
// as root on a closed network: no sandbox (root), and none of Chromium's own calls home
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

interface Listed {
  id: string
  trigger: string
  message: string
  words: string[] | null
}

/** What of the plugin's data a restore must never touch: its table's columns and rows, and its migration marker. */
interface PluginData {
  columns: string[]
  rows: { id: number; message: string; level: string }[]
  marker: string | null
}

/** Waits for what must happen; the limit only bounds a broken run (2 shared cores in CI). */
async function until<T>(what: string, fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** The Version header of the live plugin file. */
const liveVersion = (wp: TestWordPress) => /Version: (\S+)/.exec(fs.readFileSync(path.join(wp.wpContent, 'plugins', HELLO_MIGRATE.file), 'utf8'))?.[1]

const tableOf = (wp: TestWordPress) => `${wp.prefix}${HELLO_MIGRATE.table}`

async function pluginData(wp: TestWordPress): Promise<PluginData> {
  const [cols] = (await wp.db.query('SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [tableOf(wp)])) as unknown as [{ c: string }[]]
  const rows = cols.length ? ((await wp.db.query(`SELECT id, message, \`${HELLO_MIGRATE.column}\` AS level FROM \`${tableOf(wp)}\` ORDER BY id`)) as unknown as [PluginData['rows']])[0] : []
  const [opt] = (await wp.db.query(`SELECT option_value FROM \`${wp.prefix}options\` WHERE option_name = ?`, [HELLO_MIGRATE.option])) as unknown as [{ option_value: string }[]]
  return { columns: cols.map((x) => x.c), rows: rows.map((r) => ({ ...r, id: Number(r.id) })), marker: opt[0]?.option_value ?? null }
}

/** One page load of the home page: its status and body. */
async function home(wp: TestWordPress): Promise<{ status: number; body: string }> {
  const res = await fetch(`${wp.url}/`, { signal: AbortSignal.timeout(60_000) })
  return { status: res.status, body: await res.text() }
}

/**
 * Page loads until 2.0's migration has run. php -S serves from opcache and checks a file's time only every
 * opcache.revalidate_freq (2 s on Debian): for a moment after the upgrade rewrote the plugin, a page may still run 1.0.
 */
async function migrate(wp: TestWordPress): Promise<void> {
  await until(`${HELLO_MIGRATE.name} 2.0's migration (a page load runs it)`, async () => {
    await home(wp)
    return (await pluginData(wp)).marker === '2'
  })
}

/** The daemon writes the bridge's state file with its own address at its first tick: until then the bridge cannot ask it for a pre-update snapshot. */
async function bridgeKnows(wp: TestWordPress, d: RunningDaemon): Promise<void> {
  const stateFile = path.join(wp.bridgeDir, 'state.json')
  const named = () => {
    try {
      return (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { daemon?: { url?: string } }).daemon?.url === d.url
    } catch {
      return false
    }
  }
  await until(`the bridge's state.json to name the daemon at ${d.url}`, named, 30_000)
}

const markedGood = (l: LogLine) => l.msg === 'state marked known-good'

/** The newest state the daemon marked known-good so far. */
const lastGood = (d: RunningDaemon) => String(d.lines.findLast(markedGood)?.state)

const snapshotSaying = (phrase: string) => (l: LogLine) => l.msg === 'snapshot' && ((l.words as string[] | undefined) ?? []).includes(phrase)

describe('restoring across a real plugin migration (WordPress, MariaDB, the daemon, the UI)', function () {
  this.timeout(240_000)
  let wp: TestWordPress
  let daemon: RunningDaemon | null = null
  let tokens: Record<string, string> = {}

  /** The CLI as the operator (users exist: every command says who runs it). */
  const cli = (args: string[], who = 'oscar'): Promise<CliResult> => wp.cli(args, { PEAKGUARD_TOKEN: tokens[who] as string })
  const list = async (): Promise<Listed[]> => {
    const r = await cli(['--json', 'list'])
    ok(r, 'list')
    return r.json as Listed[]
  }

  before(async () => {
    wp = await createWordPress({ siteConfig: fastDaemonConfig() })
    ok(await wp.cli(['wp', 'install-bridge']), 'install the bridge')
    await wp.php('echo 1;') // WordPress adds its widget options on its first load
    await installMigrationPlugin(wp)
    tokens = await makeUsers(wp.configFile, 'ada', { oscar: 'operator' })
    daemon = await startDaemon(wp)
    await bridgeKnows(wp, daemon)
  })

  after(async () => {
    await daemon?.stop()
    await wp?.stop()
  })

  it('says the update and its migration in words; refuses a restore across it without an acknowledgement (CLI and UI), writing nothing; with it restores the code and keeps the table, its row and the marker', async () => {
    const d = daemon as RunningDaemon
    const table = tableOf(wp)
    const updated = `plugin ${HELLO_MIGRATE.name} updated 1.0 → 2.0 (2 files)`
    const created = `table ${table} created`

    // the update through WordPress's upgrader, then the page load that runs 2.0's migration
    const from = d.lines.length
    const run = await upgradeMigrationPlugin(wp, 2)
    assert.doesNotMatch(run.phpLog, /pre-update/, "the daemon answered the bridge: nothing in PHP's error log")
    // the state just before the update: a snapshot of its own, or the newest one when nothing was pending
    const asked = await d.waitFor((l) => l.msg === 'pre-update snapshot', 30_000, from)
    await migrate(wp)
    await d.waitFor(snapshotSaying(updated), 60_000, from)
    await d.waitFor(snapshotSaying(created), 60_000, from)
    await d.waitFor((l) => l.msg === 'snapshot' && String(l.summary).includes(HELLO_MIGRATE.option), 60_000, from)
    const migrated = await pluginData(wp)
    assert.deepEqual(migrated, { columns: ['id', 'message', HELLO_MIGRATE.column], rows: [{ id: 1, message: HELLO_MIGRATE.message, level: 'notice' }], marker: '2' }, 'the migration ran')

    // (a) the update's snapshot and the migration's (one snapshot or two) say both in words
    const states = await list()
    const pre = states.find((s) => s.id === asked.state)
    assert.ok(pre, `the state before the update, ${String(asked.state)}, is listed: ${JSON.stringify(states.slice(0, 4))}`)
    const since = states.slice(0, states.indexOf(pre))
    const said = since.flatMap((s) => s.words ?? [])
    assert.ok(said.includes(updated), `"${updated}" in ${JSON.stringify(said)}`)
    assert.ok(said.includes(created), `"${created}" in ${JSON.stringify(said)}`)
    const migration = since.find((s) => s.words?.includes(created)) as Listed
    const shownMigration = await cli(['show', migration.id])
    ok(shownMigration, 'show the migration snapshot')
    assert.match(shownMigration.stdout, new RegExp(`changed +.*table ${table} created`))

    // (b) the CLI without the acknowledgement: exit 2 naming the table, nothing written
    const head = states.map((s) => s.id)
    const refused = await cli(['restore', pre.id, '--yes'])
    assert.equal(refused.code, 2, `${refused.stdout}\n${refused.stderr}`)
    assert.match(refused.stderr, /crosses a database migration/)
    assert.match(refused.stderr, new RegExp(`table ${table} created`))
    assert.match(refused.stderr, /Nothing was written/)
    assert.match(refused.stderr, /--across-schema-change/)
    assert.equal(liveVersion(wp), '2.0', 'the code stays')
    assert.deepEqual(await pluginData(wp), migrated, 'the table, its row and the marker stay')
    const afterCli = await list()
    assert.deepEqual(afterCli.map((s) => s.id), head, 'no snapshot was taken (no pre-restore safety snapshot)')
    assert.ok(!afterCli.some((s) => s.trigger === 'pre-restore'))

    // (c) the UI: the preview warns and needs the checkbox; a form posted without it is refused
    const { c } = await login(d.url, 'oscar', 'oscar-password-1')
    // the state page says the migration in words beside its diff (this state against the one before the update)
    const statePage = await c.get(`/sites/${wp.siteId}/states/${migration.id}?against=${pre.id}`)
    assert.equal(statePage.status, 200, statePage.body.slice(0, 500))
    assert.match(statePage.body, new RegExp(`<li data-schema-change>table ${table} created</li>`))
    const preview = await c.get(`/sites/${wp.siteId}/restore?target=${pre.id}`)
    assert.equal(preview.status, 200, preview.body.slice(0, 500))
    assert.match(preview.body, /This restore crosses a database migration/)
    assert.match(preview.body, new RegExp(`<li>table ${table} created</li>`))
    assert.match(preview.body, new RegExp(`migration markers changed: <code>${HELLO_MIGRATE.option}</code>`))
    const box = /<input type="checkbox" name="acrossSchemaChange"[^>]*>/.exec(preview.body)
    assert.ok(box, 'the acknowledgement checkbox')
    assert.match(box[0], /\srequired[\s>]/, 'the browser does not submit the form without it')
    const posted = await c.post(`/sites/${wp.siteId}/restores`, { _csrf: csrfOf(preview.body), target: pre.id })
    assert.equal(posted.status, 409, posted.body.slice(0, 500))
    assert.match(posted.body, /SCHEMA_CHANGE/)
    assert.match(posted.body, new RegExp(`table ${table} created`))
    assert.match(posted.body, /Nothing was written/)
    assert.equal(liveVersion(wp), '2.0')
    assert.deepEqual(await pluginData(wp), migrated)
    assert.deepEqual((await list()).map((s) => s.id), head, 'no snapshot was taken')

    // … and in a real browser, Confirm without the tick submits nothing; ticked, the form is complete
    if (!fs.existsSync(CHROMIUM)) throw new Error(`this test needs Debian's chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium' (scripts/setup.sh does)`)
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: withoutFaketime() })
    try {
      const page = await (await browser.newContext()).newPage()
      await page.goto(`${d.url}/login`)
      await page.getByLabel('User name').fill('oscar')
      await page.getByLabel('Password').fill('oscar-password-1')
      await page.getByRole('button', { name: 'Log in' }).click()
      await page.waitForURL(`${d.url}/`)
      const url = `${d.url}/sites/${wp.siteId}/restore?target=${pre.id}`
      await page.goto(url)
      const posts: string[] = []
      page.on('request', (r) => void (r.method() === 'POST' && posts.push(r.url())))
      await page.getByRole('button', { name: 'Confirm restore' }).click()
      const ack = page.locator('input[name="acrossSchemaChange"]')
      assert.equal(await ack.evaluate((e) => (e as HTMLInputElement).validity.valueMissing), true, 'the browser holds the form back: the box is not ticked')
      assert.deepEqual(posts, [], 'nothing was posted')
      assert.equal(page.url(), url)
      await ack.check()
      assert.equal(await page.locator(`form[action$="/restores"]`).evaluate((f) => (f as HTMLFormElement).checkValidity()), true, 'ticked, nothing else holds it back')
    } finally {
      await browser.close()
    }
    assert.equal(liveVersion(wp), '2.0')
    assert.deepEqual((await list()).map((s) => s.id), head, 'no snapshot was taken')

    // (d) acknowledged: the code goes back, the table, its row and the marker stay, and the report says so
    const done = await cli(['restore', pre.id, '--across-schema-change', '--yes', '--json'])
    assert.equal(done.code, 0, `${done.stdout}\n${done.stderr}`)
    const r = done.json as { verified: boolean; snapshot: string; safetySnapshot: string; layout: unknown }
    assert.equal(r.verified, true)
    assert.equal(liveVersion(wp), '1.0', "version 1.0's code is back")
    assert.deepEqual(await pluginData(wp), migrated, 'the table, its row and the marker (2) are untouched')
    assert.deepEqual(r.layout, {
      crosses: true,
      schema: [created],
      tables: [table],
      markers: [HELLO_MIGRATE.option],
      markersRestored: [],
      unknown: false,
      acknowledged: true,
    })
    assert.equal((await home(wp)).status, 200, 'the site works on the old code')
    const audit = await cli(['--json', 'audit', '--type', 'restore'])
    ok(audit, 'audit')
    const entry = (audit.json as { entries: { actor: string; summary: string; details: { to?: string; acrossSchemaChange?: unknown } }[] }).entries.find((e) => e.details.to === pre.id && e.details.acrossSchemaChange)
    assert.ok(entry, `the restore is audited: ${JSON.stringify(audit.json)}`)
    assert.equal(entry.actor, 'oscar')
    assert.deepEqual(entry.details.acrossSchemaChange, { tables: [table], markersKept: [HELLO_MIGRATE.option], markersRestored: [] })
    assert.match(entry.summary, new RegExp(`across a schema change, acknowledged \\(schema of ${table} kept; markers ${HELLO_MIGRATE.option} kept\\)`))
    const shown = await cli(['--json', 'show', r.snapshot])
    ok(shown, 'show the restore snapshot')
    const trailers = (shown.json as { trailers: Record<string, string> }).trailers
    assert.equal(trailers['Peakguard-Restore-Of'], pre.id)
    assert.deepEqual(JSON.parse(trailers['Peakguard-Across-Schema-Change'] ?? 'null'), { tables: [table], markers: [HELLO_MIGRATE.option], markersRestored: [] })
    assert.ok((await list()).some((s) => s.id === r.safetySnapshot), 'this time the live site was recorded first: the restore can be undone')
  })
})

interface Notification {
  event: string
  summary: string
  details: Record<string, unknown>
}

/** A webhook receiver that keeps every JSON document it is sent. */
async function receiver(): Promise<{ url: string; got: Notification[]; close(): Promise<void> }> {
  const got: Notification[] = []
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (ch: Buffer) => chunks.push(ch))
    req.on('end', () => {
      got.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Notification)
      res.writeHead(204).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got, close: () => new Promise((r) => server.close(() => r())) }
}

describe('automatic rollback on a real WordPress: a code-only break is rolled back, a broken update that migrated is not', function () {
  this.timeout(240_000)
  let wp: TestWordPress
  let daemon: RunningDaemon | null = null
  let hook: Awaited<ReturnType<typeof receiver>> | null = null
  const muPlugin = () => path.join(wp.wpContent, 'mu-plugins', 'break-home.php')

  before(async () => {
    hook = await receiver()
    wp = await createWordPress()
    ok(await wp.cli(['wp', 'install-bridge']), 'install the bridge')
    await wp.php('echo 1;') // WordPress adds its widget options on its first load
    await installMigrationPlugin(wp)
    assert.equal((await home(wp)).status, 200)
    // the probe is WordPress's home page; a generous latency limit: a slow page on a busy CI machine is not a break
    fs.appendFileSync(
      wp.configFile,
      fastDaemonConfig(
        `    health: { interval: 300ms, fastInterval: 200ms, fastRounds: 3, goodAfter: 1s, probes: [{ url: "${wp.url}/", maxLatency: 20s, timeout: 20s }] }\n` +
          '    autoRollback: { enabled: true, afterFailures: 2, minInterval: 0s }\n' +
          `    notify: { webhooks: [{ url: "${hook.url}", events: [auto-rollback, auto-rollback-blocked] }] }\n`,
      ),
    )
    daemon = await startDaemon(wp)
    await bridgeKnows(wp, daemon)
  })

  after(async () => {
    await daemon?.stop()
    await hook?.close()
    await wp?.stop()
  })

  it('a code-only break (an mu-plugin that kills every page) is rolled back, and the home page works again', async () => {
    const d = daemon as RunningDaemon
    await d.waitFor(markedGood, 60_000)
    const from = d.lines.length
    const good = lastGood(d)
    fs.writeFileSync(muPlugin(), "<?php\nadd_action( 'template_redirect', function () {\n\tthrow new RuntimeException( 'a broken mu-plugin' );\n} );\n", { mode: 0o644 })
    const broken = await home(wp)
    assert.equal(broken.status, 500)
    assert.match(broken.body, /critical error/)

    const done = await d.waitFor((l) => /^automatic rollback done/.test(l.msg), 60_000, from)
    assert.equal(done.to, good)
    assert.equal(done.verified, true)
    assert.equal(fs.existsSync(muPlugin()), false, 'the mu-plugin is gone')
    const n = await until('the auto-rollback webhook', () => hook!.got.find((x) => x.event === 'auto-rollback'))
    assert.equal(n.details.rolledBack, true, JSON.stringify(n))
    assert.equal(n.details.to, good)
    assert.equal((await home(wp)).status, 200, 'the home page works again')
    assert.ok(!hook!.got.some((x) => x.event === 'auto-rollback-blocked'))
  })

  it('a broken update that migrated its table is not rolled back: one ALERT and one auto-rollback-blocked naming the table; the code, table and marker stay', async () => {
    const d = daemon as RunningDaemon
    const table = tableOf(wp)
    // the state the rollback put live proves good first: it is what a rollback would go back to
    const rolledBack = d.lines.findIndex((l) => /^automatic rollback done/.test(l.msg))
    await d.waitFor(markedGood, 60_000, rolledBack)
    const notified = hook!.got.length
    const from = d.lines.length
    const run = await upgradeMigrationPlugin(wp, 2, { breakHome: true })
    assert.doesNotMatch(run.phpLog, /pre-update/, "the daemon answered the bridge: nothing in PHP's error log")
    // the page loads that run the new code (the daemon's probes load it too) break
    await until('the home page to be served by 2.0: HTTP 500', async () => (await home(wp)).status === 500)
    assert.equal((await pluginData(wp)).marker, '2', 'and its migration ran first')

    const alert = await d.waitFor((l) => /^ALERT: automatic rollback blocked/.test(l.msg), 60_000, from)
    // the last known-good state: the one the rollback put live, or the state just before the update if it proved good meanwhile
    const good = String(alert.to)
    assert.equal(good, lastGood(d))
    assert.match(alert.msg, new RegExp(`the database schema changed since known-good ${good.slice(0, 12)} \\(table ${table} created\\)`))
    assert.match(alert.msg, new RegExp(`migration markers differ .*${HELLO_MIGRATE.option}`))
    const blocked = await until('the auto-rollback-blocked webhook', () => hook!.got.slice(notified).find((x) => x.event === 'auto-rollback-blocked'))
    assert.match(blocked.summary, new RegExp(`table ${table} created`))
    assert.deepEqual(blocked.details.tables, [table])
    assert.deepEqual(blocked.details.markers, [HELLO_MIGRATE.option])
    assert.equal(blocked.details.rolledBack, false)

    // more failed rounds: still no rollback, no second alert or notification
    await d.waitFor((l) => l.msg === 'health probe failed', 30_000, d.lines.length)
    await d.waitFor((l) => l.msg === 'health probe failed', 30_000, d.lines.length)
    const later = d.lines.slice(from)
    assert.equal(later.filter((l) => /^ALERT: automatic rollback blocked/.test(l.msg)).length, 1, 'one ALERT')
    assert.ok(!later.some((l) => /^automatic rollback (done|:)/.test(l.msg)), 'no rollback was started')
    assert.deepEqual(hook!.got.slice(notified).map((x) => x.event), ['auto-rollback-blocked'], 'exactly one notification')
    assert.equal(liveVersion(wp), '2.0', 'the code stays')
    const data = await pluginData(wp)
    assert.deepEqual(data, { columns: ['id', 'message', HELLO_MIGRATE.column], rows: [{ id: 1, message: HELLO_MIGRATE.message, level: 'notice' }], marker: '2' }, 'the table, its row and the marker stay')
    const status = await wp.cli(['status', '--json'])
    ok(status, 'status')
    const auto = (status.json as { daemon: { site: { health: { autoRollback: { blocked: { reason: string; to: string } | null } } } } }).daemon.site.health.autoRollback
    assert.ok(auto.blocked, JSON.stringify(auto))
    assert.match(auto.blocked.reason, new RegExp(table))
    assert.equal(auto.blocked.to, good)
    assert.match((await wp.cli(['status'])).stdout, new RegExp(`auto-rollback on; BLOCKED at .*${table}`))
  })
})
