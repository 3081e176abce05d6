// The real-WordPress harness works: the home page is served with the theme, an admin logs in through
// wp-login.php, a sample plugin activates through wp-admin and then shows on the home page, and
// `peakguard init` reads the harness's wp-config.php and records the site.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { runCli } from './harness/site.ts'
import { createWordPress, DEMO_BANNER, type TestWordPress } from './harness/wordpress.ts'

describe('real WordPress harness', function () {
  this.timeout(180_000)
  let wp: TestWordPress

  before(async () => {
    wp = await createWordPress()
  })
  after(async () => {
    await wp?.stop()
  })

  it('serves the home page with the twentytwentythree theme', async () => {
    const r = await wp.client().get('/')
    assert.equal(r.status, 200)
    assert.match(r.body, /wp-content\/themes\/twentytwentythree\//)
    assert.match(r.body, /Peakguard Test Shop/)
    assert.ok(!r.body.includes(DEMO_BANNER.marker), 'the demo plugin is not active yet')
  })

  it('logs the admin in through wp-login.php and shows the dashboard', async () => {
    const c = await wp.login()
    const r = await c.get('/wp-admin/')
    assert.equal(r.status, 200)
    assert.match(r.body, /<title>Dashboard/)
    assert.match(r.body, /Howdy, <span class="display-name">admin/)
  })

  it('refuses a wrong password', async () => {
    await assert.rejects(wp.login('admin', 'wrong'), /login as admin failed/)
  })

  it('activates the demo plugin through wp-admin, and the home page shows it', async () => {
    const c = await wp.login()
    const r = await wp.activatePluginViaAdmin(c, DEMO_BANNER.file)
    assert.equal(r.status, 200)
    assert.match(r.body, /Plugin activated/)
    assert.deepEqual(await wp.activePlugins(), [DEMO_BANNER.file])
    const home = await wp.client().get('/')
    assert.ok(home.body.includes(DEMO_BANNER.marker), 'the home page shows the demo banner')
  })

  it('creates users with a role, who can log in', async () => {
    const id = await wp.createUser('editor1', 'editor-pass-1', 'editor')
    assert.ok(id > 1)
    const c = await wp.login('editor1', 'editor-pass-1')
    const r = await c.get('/wp-admin/plugins.php')
    assert.equal(r.status, 403, 'an editor may not manage plugins')
  })

  it('runs PHP inside WordPress as the web server user', async () => {
    assert.equal((await wp.php(`echo get_option( 'blogname' ), '|', posix_geteuid();`)).trim(), `Peakguard Test Shop|${wp.uid}`)
  })

  it("peakguard init reads the harness's wp-config.php and records the site", async () => {
    const config = path.join(wp.base, 'init.yaml')
    const init = await runCli(['init', '--wp-root', wp.wpRoot, '--site-id', 'real', '--data-dir', path.join(wp.base, 'init-data'), '--config', config])
    assert.equal(init.code, 0, init.stderr)
    assert.ok(fs.readFileSync(config, 'utf8').includes(`name: ${wp.dbName}`))
    const snap = await runCli(['--config', config, 'snapshot', '-m', 'first'])
    assert.equal(snap.code, 0, snap.stderr)
    const list = await runCli(['--config', config, 'list', '--json'])
    assert.equal(list.code, 0, list.stderr)
    const states = Array.isArray(list.json) ? list.json : list.json.states
    assert.equal(states.length, 1)
  })
})
