// The demo stack (scripts/demo-stack.ts) that `npm run demo` and the browser test start: a real WordPress
// shop with its orders and plugins on a private MariaDB, peakguard's four users and the daemon; the broken
// plugin activates through wp-admin and then takes every front-end page down with WordPress's critical
// error, which the daemon records as the WordPress admin's doing; the Site Editor design (Twenty
// Twenty-Three's header with its Checkout button, a background colour) is recorded, and a header broken
// at 3 a.m. is put back by restoring just that template part; stop() leaves nothing running.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { DEMO_DESIGN, DEMO_SHOP, showsCheckout, startDemoStack, type DemoStack } from '../scripts/demo-stack.ts'
import { encodeName } from '../src/adapters/git-journal.ts'
import { cliWithInput, ok } from './harness/users.ts'

describe('demo stack: real WordPress shop, peakguard users, daemon', function () {
  this.timeout(300_000)
  let stack: DemoStack
  const asAdmin = () => ({ PEAKGUARD_TOKEN: stack.adminToken })

  before(async () => {
    stack = await startDemoStack()
  })
  after(async () => {
    await stack?.stop()
  })

  it("serves the shop: the home page shows the shop plugin's greeting and the Site Editor design, with twentytwentythree active and twentytwentyone installed; the design is in the first snapshot", async () => {
    const home = await stack.wp.client().get('/')
    assert.equal(home.status, 200)
    assert.ok(home.body.includes(DEMO_SHOP.marker), "the shop plugin's marker is on the home page")
    assert.match(home.body, /Night Shift Shop/)
    assert.ok(showsCheckout(home.body), "the header template part's Checkout button is on the home page")
    assert.ok(home.body.includes(`background-color: ${DEMO_DESIGN.background}`), 'the global styles background colour is on the home page')
    const themes = JSON.parse(await stack.wp.php(`echo json_encode( array( get_stylesheet(), array_keys( wp_get_themes() ) ) );`))
    assert.equal(themes[0], 'twentytwentythree')
    assert.ok(themes[1].includes('twentytwentyone'), `installed themes: ${themes[1]}`)
    assert.ok(!(await stack.wp.activePlugins()).includes(stack.brokenPlugin), 'the broken plugin is inactive at start')
    // the design is in the daemon's first snapshot, as Site Editor entities of the posts table
    const git = (...args: string[]) => execFileSync('git', ['--git-dir', path.join(stack.wp.dataDir, stack.wp.siteId, 'journal'), ...args], { encoding: 'utf8' })
    const first = git('rev-list', '--max-parents=0', 'main').trim()
    const rows = git('ls-tree', '-r', '--name-only', first, `options/${stack.wp.prefix}posts/`).split('\n')
    for (const name of [DEMO_DESIGN.header, DEMO_DESIGN.globalStyles]) assert.ok(rows.includes(`options/${stack.wp.prefix}posts/${encodeName(name)}`), `${name} in the first snapshot: ${rows.join(', ')}`)
  })

  it("the daemon's /healthz answers on the UI address", async () => {
    const r = await fetch(`${stack.uiUrl}/healthz`)
    assert.equal(r.status, 200)
  })

  it('has one peakguard user per role, with the logins the demo prints', async () => {
    const r = await stack.wp.cli(['--json', 'user', 'list'], asAdmin())
    ok(r, 'user list')
    const roles = Object.fromEntries((r.json.users as { name: string; role: string }[]).map((u) => [u.name, u.role]))
    assert.deepEqual(roles, Object.fromEntries(Object.values(stack.logins).map((l) => [l.name, l.role])))
    assert.deepEqual(Object.keys(stack.logins).sort(), ['admin', 'approver', 'operator', 'viewer'])
    // the printed passwords are the ones that work, the WordPress admin's too
    const tries = Object.values(stack.logins).map(async (l) => [l.name, await cliWithInput(stack.wp.configFile, ['--as', l.name, '--password-stdin', 'user', 'list'], `${l.password}\n`)] as const)
    for (const [name, r] of await Promise.all(tries)) ok(r, `${name} logs in`)
    await stack.wp.login(stack.wpAdmin.name, stack.wpAdmin.password)
  })

  it('has sample orders, and places one more', async () => {
    const before = await stack.orders()
    assert.ok(before >= 1, `${before} orders`)
    const id = await stack.addOrder('12.50')
    assert.ok(id > 0)
    assert.equal(await stack.orders(), before + 1)
    const [rows] = await stack.wp.db.query<mysql.RowDataPacket[]>(`SELECT post_title FROM \`${stack.wp.prefix}posts\` WHERE ID = ?`, [id])
    assert.equal(rows[0]?.post_title, `Order #${id}: EUR 12.50`)
  })

  it('marks the healthy launch state known-good soon after the start', async () => {
    const good = await stack.daemon.waitFor((l) => l.msg === 'state marked known-good', 40_000)
    assert.match(String(good.state), /^[0-9a-f]{40}$/)
  })

  it('a header saved without its Checkout button in the Site Editor is recorded, and restoring just that template part brings the button back', async () => {
    const headerId = async (): Promise<number> => {
      const [rows] = await stack.wp.db.query<mysql.RowDataPacket[]>(`SELECT ID FROM \`${stack.wp.prefix}posts\` WHERE post_type = 'wp_template_part' AND post_name = 'header'`)
      assert.equal(rows.length, 1, 'one header template part')
      return Number(rows[0]?.ID)
    }
    const id = await headerId()
    const ordersBefore = await stack.orders()
    const from = stack.daemon.lines.length
    const saved = await stack.breakHeader()
    assert.equal(saved.status, 200, `the Site Editor's save: ${saved.body.slice(0, 300)}`)
    const broken = await stack.wp.client().get('/')
    assert.equal(broken.status, 200)
    assert.ok(!showsCheckout(broken.body), 'the Checkout button is gone from the home page')
    assert.match(broken.body, /Campaign night: 50% off until midnight/)
    const snap = await stack.daemon.waitFor((l) => l.msg === 'snapshot' && /template part “header”/.test(String(l.summary)), 20_000, from)
    assert.match(String(snap.state), /^[0-9a-f]{40}$/)

    // the operator's plan: the header and nothing else
    const operator = stack.logins.operator
    const restore = (...extra: string[]) =>
      cliWithInput(stack.wp.configFile, ['--as', operator.name, '--password-stdin', '--json', 'restore', 'last-good', '--only', DEMO_DESIGN.header, ...extra], `${operator.password}\n`)
    const plan = await restore('--dry-run')
    ok(plan, 'restore --dry-run')
    assert.deepEqual(plan.json.plan, { files: [], options: [{ table: `${stack.wp.prefix}posts`, name: DEMO_DESIGN.header, change: 'modified' }] })
    const done = await restore('--yes')
    ok(done, 'restore --only the header')
    assert.equal(done.json.verified, true)

    const home = await stack.wp.client().get('/')
    assert.equal(home.status, 200)
    assert.ok(showsCheckout(home.body), 'the Checkout button is back on the home page')
    assert.ok(home.body.includes(`background-color: ${DEMO_DESIGN.background}`), 'the global styles are as they were')
    assert.equal(await headerId(), id, 'the header keeps its post id')
    assert.equal(await stack.orders(), ordersBefore, 'no order touched')
  })

  it("the broken plugin activates through wp-admin, the shop shows WordPress's critical error, and the daemon records the WordPress admin's change", async () => {
    const from = stack.daemon.lines.length
    const admin = await stack.wp.login(stack.wpAdmin.name, stack.wpAdmin.password)
    const r = await stack.wp.activatePluginViaAdmin(admin, stack.brokenPlugin)
    assert.match(r.body, /Plugin activated/, 'WordPress accepted the activation (the plugin loads without dying)')
    assert.ok((await stack.wp.activePlugins()).includes(stack.brokenPlugin))
    const home = await stack.wp.client().get('/')
    assert.equal(home.status, 500)
    assert.match(home.body, /There has been a critical error on this website/)
    assert.equal((await admin.get('/wp-admin/plugins.php')).status, 200, 'wp-admin still works')
    const snap = await stack.daemon.waitFor((l) => l.msg === 'snapshot' && String(l.summary).includes('active_plugins'), 20_000, from)
    const shown = await stack.wp.cli(['--json', 'show', String(snap.state)], asAdmin())
    ok(shown, 'show')
    assert.match(shown.json.causedBy, /^wp:admin \(#1\) from 127\.0\.0\.1$/)
    await stack.daemon.waitFor((l) => l.msg === 'health probe failed', 20_000, from)
  })

  it('stop() ends the daemon, php -S and the private MariaDB, and may be called twice', async () => {
    assert.ok(stack.processes().length >= 3, `running: ${stack.processes().join('\n')}`)
    await stack.stop()
    await stack.stop()
    assert.deepEqual(stack.processes(), [])
  })
})
