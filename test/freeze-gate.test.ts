// A launch-night freeze on a real WordPress, end to end: the daemon enforces it inside WordPress (the
// bridge refuses an admin's plugin activation and shows the freeze) and outside it (the same activation
// done in SQL is reverted within 2 s and becomes a change request naming who did it); the two-person
// rule decides the request; everything is in the audit log, whose chain verifies.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fastDaemonConfig, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { phpSerialize } from './harness/site.ts'
import { makeUsers, ok } from './harness/users.ts'
import { createWordPress, DEMO_BANNER, DEMO_HELLO, type TestWordPress } from './harness/wordpress.ts'

describe('freeze on a real WordPress: bridge, gate, change requests, two-person rule', function () {
  this.timeout(300_000)
  let wp: TestWordPress
  let daemon: RunningDaemon
  const tokens: Record<string, string> = {}
  const as = (user: string) => ({ PEAKGUARD_TOKEN: tokens[user] as string })
  let requestId = ''

  before(async () => {
    wp = await createWordPress({ siteConfig: fastDaemonConfig('    freeze:\n      policy: revert\n      approvalUrl: https://chat.example.com/launch-approvals\n') })
    Object.assign(tokens, await makeUsers(wp.configFile, 'boss', { alice: 'approver', bob: 'approver', vera: 'viewer' }))
    ok(await wp.cli(['wp', 'install-bridge'], as('boss')), 'install the bridge')
    // WordPress adds its widget options on its first load: before the daemon, or that is a snapshot of its own
    await wp.php('echo 1;')
    daemon = await startDaemon(wp)
  })

  after(async () => {
    await daemon?.stop()
    await wp?.stop()
  })

  it('outside a freeze, each snapshot names who caused it: a WordPress user with IP, or the owner of changed files', async () => {
    let from = daemon.lines.length
    const admin = await wp.login()
    const r = await wp.activatePluginViaAdmin(admin, DEMO_HELLO.file)
    assert.match(r.body, /Plugin activated/)
    await daemon.waitFor((l) => l.msg === 'snapshot' && /active_plugins/.test(String(l.summary)), 20_000, from)
    let list = await wp.cli(['--json', 'list'], as('vera'))
    assert.match(list.json[0].causedBy, /^wp:admin \(#1\) from 127\.0\.0\.1$/, list.stdout)
    from = daemon.lines.length
    const f = path.join(wp.wpContent, 'plugins', 'peakguard-demo-banner', 'deploy-note.txt')
    fs.writeFileSync(f, 'deployed by a script\n')
    fs.chownSync(f, wp.uid, wp.gid)
    await daemon.waitFor((l) => l.msg === 'snapshot', 20_000, from)
    list = await wp.cli(['--json', 'list'], as('vera'))
    assert.match(list.json[0].causedBy, /^file owner www-data \(outside WordPress\)$/, list.stdout)
    const shown = await wp.cli(['show', 'latest'], as('vera'))
    assert.match(shown.stdout, /caused +file owner www-data \(outside WordPress\)/)
  })

  it('a viewer cannot start a freeze; an approver starts one, with its baseline, and WordPress shows it', async () => {
    const denied = await wp.cli(['freeze', 'start', '--for', '30m', '--reason', 'launch'], as('vera'))
    assert.equal(denied.code, 5, denied.stderr)
    assert.match(denied.stderr, /approver/)
    ok(await wp.cli(['freeze', 'start', '--for', '30m', '--reason', 'Black Friday launch'], as('alice')), 'freeze start')
    const st = await wp.cli(['--json', 'freeze', 'status'], as('vera'))
    ok(st, 'freeze status')
    assert.equal(st.json.active?.source, 'manual')
    // the daemon brings the bridge's state file up to date within its tick
    const stateFile = path.join(wp.bridgeDir, 'state.json')
    const deadline = Date.now() + 10_000
    while (!(fs.existsSync(stateFile) && JSON.parse(fs.readFileSync(stateFile, 'utf8')).freezes?.length) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    assert.ok(JSON.parse(fs.readFileSync(stateFile, 'utf8')).freezes.length > 0, 'the bridge state lists the freeze')
    const admin = await wp.login()
    const r = await wp.activatePluginViaAdmin(admin, DEMO_BANNER.file).catch((e: Error) => ({ status: 0, body: e.message }))
    const page = await admin.get('/wp-admin/plugins.php')
    assert.match(page.body, /Black Friday launch/, 'the admin sees the freeze notice with its reason')
    assert.match(page.body, /chat\.example\.com\/launch-approvals/, 'and where to ask for an approval')
    assert.deepEqual(await wp.activePlugins(), [DEMO_HELLO.file], `the activation through wp-admin was refused (HTTP ${r.status})`)
  })

  it('the same activation done in SQL is reverted within 2 s and becomes a change request naming who did it', async () => {
    const from = daemon.lines.length
    const t0 = Date.now()
    await wp.db.query(`UPDATE ${wp.prefix}options SET option_value = ? WHERE option_name = 'active_plugins'`, [phpSerialize([DEMO_HELLO.file, DEMO_BANNER.file])])
    const snap = await daemon.waitFor((l) => l.msg === 'snapshot', 20_000, from)
    const reverted = await daemon.waitFor((l) => l.msg === 'freeze: change reverted, waiting for approval', 20_000, from)
    const detectedToReverted = Date.parse(reverted.time as string) - Date.parse(snap.time as string)
    assert.ok(detectedToReverted <= 2000, `reverted ${detectedToReverted} ms after detection (SQL change to revert: ${Date.now() - t0} ms)`)
    assert.deepEqual(await wp.activePlugins(), [DEMO_HELLO.file], 'the live site is back to the pre-change state')
    const home = await wp.client().get('/')
    assert.ok(!home.body.includes(DEMO_BANNER.marker), 'the home page does not show the reverted plugin')
    const list = await wp.cli(['--json', 'requests'], as('vera'))
    ok(list, 'requests')
    assert.equal(list.json.length, 1)
    const req = list.json[0]
    requestId = req.id
    assert.equal(req.status, 'pending')
    assert.equal(req.reverted, true)
    assert.deepEqual(req.items.options, ['active_plugins'])
    assert.equal(req.attribution.kind, 'unknown')
    assert.match(req.attribution.label, /outside WordPress/)
    // the snapshot of the attempt names its cause too
    const shown = await wp.cli(['--json', 'show', req.attempted], as('vera'))
    assert.match(shown.json.causedBy, /outside WordPress/)
  })

  it('whoever asks for the approval cannot approve it; a second approver can, and the plugin is back', async () => {
    ok(await wp.cli(['request', requestId, '--reason', 'the banner is part of the launch'], as('alice')), 'alice asks for approval')
    const own = await wp.cli(['approve', requestId], as('alice'))
    assert.equal(own.code, 5, own.stdout + own.stderr)
    assert.match(own.stderr, /cannot decide change request .* they requested it/)
    assert.deepEqual(await wp.activePlugins(), [DEMO_HELLO.file], 'refused: nothing applied')
    const from = daemon.lines.length
    const ap = await wp.cli(['--json', 'approve', requestId, '--note', 'ok for launch'], as('bob'))
    ok(ap, 'bob approves')
    assert.equal(ap.json.request.status, 'approved')
    assert.equal(ap.json.restore.verified, true)
    assert.equal(ap.json.restore.caches?.ok, true, 'the restore flushed the caches through the bridge')
    assert.deepEqual((await wp.activePlugins()).sort(), [DEMO_BANNER.file, DEMO_HELLO.file].sort())
    const home = await wp.client().get('/')
    assert.ok(home.body.includes(DEMO_BANNER.marker), 'the home page shows the approved plugin')
    // the daemon accepts the approved state: no new request, nothing reverted
    await new Promise((r) => setTimeout(r, 3000))
    assert.ok(!daemon.lines.slice(from).some((l) => l.msg === 'freeze: change reverted, waiting for approval'), 'the approved change stays')
    const pending = await wp.cli(['--json', 'requests'], as('vera'))
    assert.deepEqual(pending.json, [])
    assert.deepEqual((await wp.activePlugins()).sort(), [DEMO_BANNER.file, DEMO_HELLO.file].sort())
  })

  it("an allow-window never covers its opener's own change, made under their WordPress login", async () => {
    // alice is mapped to the WordPress login 'admin'; she opens a window for the tagline, then changes it in wp-admin
    ok(await wp.cli(['user', 'set', 'alice', '--wp-user', 'admin'], as('boss')), 'map alice to the WordPress login admin')
    ok(await wp.cli(['allow', '--scope', 'option:blogdescription', '--for', '10m', '--reason', 'tagline for the launch'], as('alice')), 'alice opens an allow-window')
    const stateFile = path.join(wp.bridgeDir, 'state.json')
    const deadline = Date.now() + 10_000
    while (!JSON.parse(fs.readFileSync(stateFile, 'utf8')).allows?.some((a: { scope: string }) => a.scope === 'option:blogdescription') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200))
    await new Promise((r) => setTimeout(r, 1100)) // the bridge's copy of the window starts at the next whole second
    const from = daemon.lines.length
    // as WordPress's user admin (the settings screen as a whole stays refused during a freeze; the option itself is let through)
    assert.equal((await wp.php(`wp_set_current_user( 1 ); var_export( update_option( 'blogdescription', 'Approved by myself' ) );`)).trim(), 'true')
    await daemon.waitFor((l) => l.msg === 'freeze: change reverted, waiting for approval', 20_000, from)
    const list = await wp.cli(['--json', 'requests'], as('vera'))
    ok(list, 'requests')
    const req = (list.json as { items: { options: string[] }; attribution: { who: string | null } }[]).find((r) => r.items.options.includes('blogdescription'))
    assert.ok(req, `the change waits as a request instead of passing under alice's own window: ${list.stdout}`)
    assert.equal(req.attribution.who, 'admin')
    const [rows] = await wp.db.query(`SELECT option_value AS v FROM ${wp.prefix}options WHERE option_name = 'blogdescription'`)
    assert.notEqual((rows as { v: string }[])[0]?.v, 'Approved by myself', 'reverted (policy revert)')
  })

  it("the daemon's API needs a Bearer token once there are users", async () => {
    const none = await fetch(`${daemon.url}/api/status`)
    assert.equal(none.status, 401)
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/)
    assert.equal((await fetch(`${daemon.url}/api/status`, { headers: { authorization: 'Bearer pgt_not-a-token' } })).status, 401)
    const ok200 = await fetch(`${daemon.url}/api/status`, { headers: { authorization: `Bearer ${tokens.vera}` } })
    assert.equal(ok200.status, 200)
    assert.equal(((await ok200.json()) as { sites: { site: string }[] }).sites[0]?.site, wp.siteId)
    assert.equal((await fetch(`${daemon.url}/healthz`)).status, 200, 'monitoring needs no token')
  })

  it('every step is in the audit log, and its chain verifies', async () => {
    const a = await wp.cli(['--json', 'audit'], as('vera'))
    ok(a, 'audit')
    const types = (a.json.entries as { type: string; actor: string }[]).map((e) => `${e.type}:${e.actor}`)
    for (const want of ['config-reload:peakguard', 'freeze-start:alice', 'freeze-baseline:alice', 'change-request:', 'revert:peakguard', 'approval:bob', 'user:boss'])
      assert.ok(types.some((t) => t.startsWith(want)), `audit has ${want} (has ${types.join(', ')})`)
    ok(await wp.cli(['audit', 'verify'], as('vera')), 'audit verify')
  })
})
