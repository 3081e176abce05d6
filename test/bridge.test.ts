// The WordPress bridge on a real WordPress (Debian's 6.1 served by php -S as www-data): installed with
// `peakguard wp install-bridge`, it refuses plugin activations and settings changes during a freeze — and
// deletions, edits and updates of any plugin or theme that no allow window names exactly, on every path
// (screens, admin-ajax, REST, bulk actions) — and says why on the page (as text: a reason with HTML in it
// stays text), lets them through outside one, records who changed what (never a value, no control
// characters) in a file that rotates past 64 MB, keeps a site working when its state file is gone, prints no
// PHP warning for odd request input, and flushes caches only for loopback callers with the secret and no
// forwarding header — and peakguard sends the secret to a loopback address only. Site Editor entities and
// settings tables: named as peakguard names their rows, refused during a freeze on every path (REST, admin-ajax,
// the screens, wp_insert_post() and the deletions underneath, $wpdb writes) unless an entity:/table: window
// covers them.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { crc32 } from 'node:zlib'
import { WpBridge } from '../src/adapters/wp-bridge.ts'
import { BRIDGE_VERSION } from '../src/adapters/wp-bridge-php.ts'
import { WpEventsFile } from '../src/adapters/wp-events.ts'
import type { BridgeState, WpEvent } from '../src/core/index.ts'
import { DEFAULT_IGNORED_OPTIONS } from '../src/core/index.ts'
import { runCli, treeOf } from './harness/site.ts'
import { ok } from './harness/users.ts'
import { createWordPress, DEMO_BANNER, DEMO_HELLO, formFields, type TestWordPress, type WpClient } from './harness/wordpress.ts'

const APPROVALS = 'https://approvals.shop.example/peakguard'

/** The host's first address that is not loopback (the flush endpoint must refuse callers from there). */
function externalAddress(): string {
  const fromHostname = (() => {
    try {
      return execFileSync('hostname', ['-I'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean)
    } catch {
      return []
    }
  })()
  const fromOs = Object.values(os.networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address)
  const ip = [...fromHostname, ...fromOs].find((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a) && !a.startsWith('127.'))
  if (!ip) throw new Error('this machine has no non-loopback IPv4 address (hostname -I is empty): the flush endpoint test needs one to call from')
  return ip
}

/** A zip file with the files stored uncompressed (all that WordPress's unzip needs). */
function storedZip(files: Record<string, string>): Buffer {
  const local: Buffer[] = []
  const central: Buffer[] = []
  let offset = 0
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text)
    const nameBuf = Buffer.from(name)
    const crc = crc32(data)
    const head = Buffer.alloc(30)
    head.writeUInt32LE(0x04034b50, 0)
    head.writeUInt16LE(20, 4)
    head.writeUInt16LE(0x21, 12) // 1980-01-01
    head.writeUInt32LE(crc, 14)
    head.writeUInt32LE(data.length, 18)
    head.writeUInt32LE(data.length, 22)
    head.writeUInt16LE(nameBuf.length, 26)
    const dir = Buffer.alloc(46)
    dir.writeUInt32LE(0x02014b50, 0)
    dir.writeUInt16LE(20, 4)
    dir.writeUInt16LE(20, 6)
    dir.writeUInt16LE(0x21, 14)
    dir.writeUInt32LE(crc, 16)
    dir.writeUInt32LE(data.length, 20)
    dir.writeUInt32LE(data.length, 24)
    dir.writeUInt16LE(nameBuf.length, 28)
    dir.writeUInt32LE(offset, 42)
    local.push(head, nameBuf, data)
    central.push(dir, nameBuf)
    offset += head.length + nameBuf.length + data.length
  }
  const cd = Buffer.concat(central)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(Object.keys(files).length, 8)
  end.writeUInt16LE(Object.keys(files).length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...local, cd, end])
}

/** An HTTP server on all addresses that counts the requests it gets (none may arrive). */
async function listener(): Promise<{ port: number; requests: http.IncomingMessage[]; close(): Promise<void> }> {
  const requests: http.IncomingMessage[] = []
  const server = http.createServer((req, res) => {
    requests.push(req)
    res.end('{"ok":true}')
  })
  await new Promise<void>((r) => server.listen(0, '0.0.0.0', r))
  return { port: (server.address() as { port: number }).port, requests, close: () => new Promise((r) => server.close(() => r())) }
}

describe('WordPress bridge (real WordPress)', function () {
  this.timeout(180_000)
  let wp: TestWordPress
  let bridge: WpBridge
  let events: WpEventsFile
  let admin: WpClient
  let offset = 0
  const stateFile = () => path.join(wp.bridgeDir, 'state.json')

  const state = (freezes: BridgeState['freezes'], allows: BridgeState['allows'] = []): BridgeState => ({
    version: 1,
    site: 'shop',
    freezes,
    allows,
    approvalUrl: APPROVALS,
    protectedOptions: ['blogname'],
    ignoredOptions: [...DEFAULT_IGNORED_OPTIONS],
    writtenAt: Math.floor(Date.now() / 1000),
  })
  const now = () => Math.floor(Date.now() / 1000)
  const freezeNow = () => state([{ source: 'black-friday', start: now() - 60, end: now() + 3600, reason: 'Black Friday campaign' }])
  /** Events appended since the last call. */
  const newEvents = async (): Promise<WpEvent[]> => {
    const r = await events.read(offset)
    offset = r.offset
    return r.events
  }

  before(async () => {
    wp = await createWordPress({ bind: '0.0.0.0', siteConfig: `    freeze:\n      approvalUrl: ${APPROVALS}\n` })
    bridge = new WpBridge({ site: 'shop', wpContent: wp.wpContent, bridgeDir: wp.bridgeDir, url: wp.url, timeoutMs: 5000, homeUrl: async () => wp.url, ignoredOptions: [...DEFAULT_IGNORED_OPTIONS] })
    events = new WpEventsFile(path.join(wp.bridgeDir, 'events.jsonl'))
    admin = await wp.login()
  })
  after(async () => {
    await wp?.stop()
  })

  let preInstall: Map<string, string>
  let preInstallState = ''

  it('install-bridge writes only the mu-plugin into wp-content, and a snapshot sees no change', async () => {
    const snap = await wp.cli(['snapshot', '--json'])
    assert.equal(snap.code, 0, snap.stderr)
    preInstallState = snap.json.id
    preInstall = treeOf(wp.wpContent)
    assert.equal(await bridge.installed(), null)

    const r = await wp.cli(['wp', 'install-bridge', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.version, BRIDGE_VERSION)
    assert.equal(r.json.check.ok, true, `WordPress answers the flush, so it loads the bridge and reads its secret: ${r.json.check.detail}`)

    const after = treeOf(wp.wpContent)
    const added = [...after.keys()].filter((k) => !preInstall.has(k))
    assert.deepEqual(added, ['mu-plugins/peakguard-bridge.php'])
    for (const [k, v] of preInstall) assert.equal(after.get(k), v, `${k} unchanged`)
    const st = fs.statSync(path.join(wp.wpContent, 'mu-plugins/peakguard-bridge.php'))
    assert.equal(st.mode & 0o777, 0o644)
    assert.equal(st.uid, wp.uid, 'owned like wp-content')
    assert.equal(st.gid, wp.gid)
    const php = fs.readFileSync(path.join(wp.wpContent, 'mu-plugins/peakguard-bridge.php'), 'utf8')
    assert.match(php, /GENERATED BY PEAKGUARD - DO NOT EDIT/)
    assert.ok(php.includes(wp.bridgeDir), 'the bridge folder is baked in')

    // the secret: 64 hex digits, readable by the web server's group only
    const secret = fs.statSync(path.join(wp.bridgeDir, 'secret'))
    assert.equal(secret.mode & 0o777, 0o640)
    assert.equal(secret.gid, wp.gid)
    assert.match(fs.readFileSync(path.join(wp.bridgeDir, 'secret'), 'utf8').trim(), /^[0-9a-f]{64}$/)
    assert.equal(fs.statSync(wp.bridgeDir).mode & 0o777, 0o750)
    for (const f of ['events.jsonl', 'events.jsonl.1']) {
      const ev = fs.statSync(path.join(wp.bridgeDir, f))
      assert.equal(ev.mode & 0o777, 0o660, `${f}: PHP appends to it (and rotates into .1)`)
      assert.equal(ev.gid, wp.gid)
    }
    const written = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as BridgeState
    assert.deepEqual(written.freezes, [], 'no freeze configured')
    assert.equal(written.approvalUrl, APPROVALS)
    assert.ok(!r.stdout.includes(fs.readFileSync(path.join(wp.bridgeDir, 'secret'), 'utf8').trim()), 'the secret is never printed')

    const again = await wp.cli(['snapshot', '--json'])
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.created, false, `installing the bridge is no change: ${again.json.summary}`)

    const status = await wp.cli(['wp', 'bridge-status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    assert.deepEqual(status.json.installed, { version: BRIDGE_VERSION })
    assert.equal(status.json.state.readable, true)
    assert.ok(status.json.state.ageSeconds < 60)
    assert.equal(status.json.secret, true)
    const text = await wp.cli(['wp', 'bridge-status'])
    assert.match(text.stdout, new RegExp(`installed: version ${BRIDGE_VERSION}`))
    offset = (await events.read(0)).offset
  })

  it('outside a freeze: no notice, and the pages work as before', async () => {
    const dash = await admin.get('/wp-admin/')
    assert.equal(dash.status, 200)
    assert.ok(!dash.body.includes('Change freeze'), 'no freeze notice')
    assert.ok(!dash.body.includes('peakguard bridge:'), 'no bridge warning')
    const home = await wp.client().get('/')
    assert.equal(home.status, 200)
  })

  it('during a freeze: an activation through wp-admin is refused with the freeze on the page, and the plugin stays inactive', async () => {
    const link = await wp.activateLink(admin, DEMO_BANNER.file) // the page was open before the freeze began
    await bridge.writeState(freezeNow())
    const r = await wp.activatePluginViaAdmin(admin, DEMO_BANNER.file, link)
    assert.equal(r.status, 403)
    assert.match(r.body, /Change freeze until \d{4}-\d\d-\d\d \d\d:\d\d .*\(\d{4}-\d\d-\d\d \d\d:\d\d UTC\) \(Black Friday campaign\)/)
    assert.ok(r.body.includes(APPROVALS), 'names where to ask for an approval')
    assert.ok(!(await wp.activePlugins()).includes(DEMO_BANNER.file), 'the plugin stays inactive in the database')
    assert.ok(!(await wp.client().get('/')).body.includes(DEMO_BANNER.marker))

    // every admin page shows the freeze; the plugin list offers no Activate link
    const plugins = await admin.get('/wp-admin/plugins.php')
    assert.equal(plugins.status, 200)
    assert.match(plugins.body, /peakguard-freeze[\s\S]*Change freeze until/)
    assert.ok(!/plugins\.php\?action=activate&(amp;|#038;)plugin=peakguard-demo-banner/.test(plugins.body), 'no Activate link during the freeze')
    const dash = await admin.get('/wp-admin/')
    assert.match(dash.body, /Change freeze until/)

    const ev = await newEvents()
    const refused = ev.find((e) => e.event === 'freeze_refused')
    assert.ok(refused, `the refusal is recorded: ${JSON.stringify(ev)}`)
    assert.equal(refused.user, 'admin')
    assert.equal(refused.subject, `activate ${DEMO_BANNER.file}`)
  })

  it('two freezes open at once and one opening before they end: the notice names both, and its end is when changes are free again', async () => {
    const t = now()
    // in the site's zone (freeze.zone), as the CLI and the UI show it: St John's is 3 h 30 min behind UTC
    await bridge.writeState({
      ...state([
        { source: 'black-friday', start: t - 3600, end: t + 3600, reason: 'Black Friday campaign' },
        { source: 'manual', start: t - 60, end: t + 1800, reason: 'payment incident' },
        { source: 'deploy-hold', start: t + 3600, end: t + 7200, reason: 'deploy review' }, // opens as Black Friday ends
        { source: 'later', start: t + 7300, end: t + 9000, reason: 'not joined: 100 s of freedom before it' },
      ]),
      zone: 'America/St_Johns',
    })
    const dash = await admin.get('/wp-admin/')
    const end = new Date((t + 7200) * 1000)
    const utc = end.toISOString().slice(0, 16).replace('T', ' ')
    const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: 'America/St_Johns', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(end).map((x) => [x.type, x.value]))
    const local = `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
    const notice = /peakguard-freeze[^>]*><p><strong>([^<]*)/.exec(dash.body)?.[1] ?? ''
    assert.match(notice, new RegExp(`^Change freeze until ${local} N[DS]T \\(America/St_Johns\\) \\(${utc} UTC\\) \\(black-friday: Black Friday campaign; manual freeze: payment incident\\)\\. Changes need an approval`), notice)
    await bridge.writeState(freezeNow()) // the freeze the next tests expect
  })

  it('during a freeze: activate_plugin() from a PHP script is stopped at the option (the hard stop)', async () => {
    await wp.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin( '${DEMO_HELLO.file}' );`)
    assert.ok(!(await wp.activePlugins()).includes(DEMO_HELLO.file))
    const ev = await newEvents()
    assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject.includes(DEMO_HELLO.file)), JSON.stringify(ev))
    assert.ok(!ev.some((e) => e.event === 'activated_plugin'), 'no activation is recorded for a refused one')
  })

  it('during a freeze: a settings change through options-general.php is refused', async () => {
    await bridge.writeState(state([]))
    const page = await admin.get('/wp-admin/options-general.php')
    const form = formFields(page.body, 'options.php')
    assert.equal(form.blogname, 'Peakguard Test Shop')
    await bridge.writeState(freezeNow())
    const r = await admin.post('/wp-admin/options.php', { ...form, blogname: 'Defaced during the freeze' })
    assert.equal(r.status, 403)
    assert.match(r.body, /Change freeze until/)
    assert.equal((await wp.php(`echo get_option( 'blogname' );`)).trim(), 'Peakguard Test Shop')
    // update_option() behind the admin screens' back is refused too, and the page load is not broken by it
    assert.equal((await wp.php(`var_export( update_option( 'blogname', 'Sneaky' ) ); echo '|', get_option( 'blogname' );`)).trim(), "false|Peakguard Test Shop")
    assert.equal((await wp.client().get('/')).status, 200)
    // the settings page itself is still shown, with the notice
    const again = await admin.get('/wp-admin/options-general.php')
    assert.equal(again.status, 200)
    assert.match(again.body, /Change freeze until/)
  })

  it('an allow window for one plugin lets exactly that one through during the freeze', async () => {
    await bridge.writeState(state(freezeNow().freezes, [{ scope: 'plugins/peakguard-demo-hello.php', start: now() - 10, end: now() + 600 }]))
    await wp.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin( '${DEMO_HELLO.file}' ); activate_plugin( '${DEMO_BANNER.file}' );`)
    const active = await wp.activePlugins()
    assert.ok(active.includes(DEMO_HELLO.file), 'the allowed plugin is active')
    assert.ok(!active.includes(DEMO_BANNER.file), 'the other one is not')
    await wp.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php'; deactivate_plugins( '${DEMO_HELLO.file}' );`)
    assert.ok(!(await wp.activePlugins()).includes(DEMO_HELLO.file))
    // a glob scope for options: blogdescription may change, blogname may not
    await bridge.writeState(state(freezeNow().freezes, [{ scope: 'option:blogdesc*', start: now() - 10, end: now() + 600 }]))
    assert.equal((await wp.php(`var_export( update_option( 'blogdescription', 'Allowed tagline' ) ); echo '|'; var_export( update_option( 'blogname', 'Not allowed' ) );`)).trim(), 'true|false')
    await wp.php(`update_option( 'blogdescription', '' );`)
    await newEvents()
  })

  // Allow windows are per unit: a window for plugin A opens A, never another plugin or theme. A and B are
  // plugins made for these tests (each test plants them and removes them again); twentytwentythree has a window
  // (themes/NAME, or theme:NAME, the same unit), twentytwentyone none. The bridge knows no freeze policy: what it
  // refuses is refused alike under revert, hold and alert (those only decide what the daemon does with a change
  // that got through).
  const A = { file: 'pg-allowed/pg-allowed.php', slug: 'pg-allowed', rest: 'pg-allowed/pg-allowed' }
  const B = { file: 'pg-other/pg-other.php', slug: 'pg-other', rest: 'pg-other/pg-other' }
  const pluginFile = (p: { file: string }) => path.join(wp.wpContent, 'plugins', p.file)
  const themeFile = (theme: string) => path.join(wp.wpContent, 'themes', theme, 'style.css')
  const source = (p: { slug: string }) => `<?php\n/**\n * Plugin Name: PG ${p.slug}\n */\n// ${p.slug}-original-source\n`
  const plant = (p: { file: string; slug: string }) => {
    fs.mkdirSync(path.dirname(pluginFile(p)), { recursive: true })
    fs.writeFileSync(pluginFile(p), source(p))
    fs.chownSync(path.dirname(pluginFile(p)), wp.uid, wp.gid)
    fs.chownSync(pluginFile(p), wp.uid, wp.gid)
  }
  const themes: Record<string, string> = {}
  const windowForA = (freezes = freezeNow().freezes, theme = 'themes/twentytwentythree') =>
    state(freezes, [
      { scope: `plugins/${A.slug}`, start: now() - 10, end: now() + 600 },
      { scope: theme, start: now() - 10, end: now() + 600 },
    ])
  const ajax = async (form: Record<string, string>) => {
    const r = await admin.post('/wp-admin/admin-ajax.php', form)
    try {
      return { status: r.status, json: JSON.parse(r.body) as { success: boolean; data: Record<string, unknown> } }
    } catch {
      throw new Error(`admin-ajax ${form.action}: HTTP ${r.status}, no JSON: ${r.body.slice(0, 400)}`)
    }
  }
  const rest = async (method: string, route: string) => {
    const r = await admin.request(method, `/?rest_route=${encodeURIComponent(route)}`, { headers: { 'X-WP-Nonce': await wp.nonce(admin, 'wp_rest') } })
    return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown> }
  }
  const editPlugin = async (p: { file: string }, plugin = p.file) =>
    ajax({ action: 'edit-theme-plugin-file', nonce: await wp.nonce(admin, `edit-plugin_${p.file}`), plugin, file: p.file, newcontent: '<?php\n// defaced during the freeze\n' })
  const editTheme = async (theme: string, text: string) =>
    ajax({ action: 'edit-theme-plugin-file', nonce: await wp.nonce(admin, `edit-theme_${theme}_style.css`), theme, file: 'style.css', newcontent: text })
  const refusedJson = (what: string, r: { json: { success: boolean; data: Record<string, unknown> } }) => {
    assert.equal(r.json.success, false, `${what}: refused`)
    assert.equal(r.json.data.errorCode ?? r.json.data.code, 'peakguard_freeze', `${what}: refused by the freeze: ${JSON.stringify(r.json.data)}`)
  }

  /** Runs a test with A and B planted and a window for A open; leaves wp-content as it found it. */
  const perUnit = async (test: () => Promise<void>) => {
    plant(A)
    plant(B)
    for (const t of ['twentytwentythree', 'twentytwentyone']) themes[t] = fs.readFileSync(themeFile(t), 'utf8')
    await bridge.writeState(windowForA())
    try {
      await test()
    } finally {
      for (const p of [A, B]) fs.rmSync(path.dirname(pluginFile(p)), { recursive: true, force: true })
      // (a theme deleted by a failing test cannot be put back from here: its folder is gone)
      for (const [t, text] of Object.entries(themes)) if (fs.existsSync(path.dirname(themeFile(t)))) fs.writeFileSync(themeFile(t), text)
      await bridge.writeState(freezeNow())
      await newEvents()
    }
  }

  it('per unit: admin-ajax delete-plugin of B is refused and its files stay; of A it works', () =>
    perUnit(async () => {
      const updates = await wp.nonce(admin, 'updates')
      const refused = await ajax({ action: 'delete-plugin', plugin: B.file, slug: B.slug, _ajax_nonce: updates })
      refusedJson('delete-plugin B', refused)
      assert.match(String(refused.json.data.errorMessage), /Change freeze until/)
      assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B), "B's files are still there")
      // the same plugin named another way WordPress accepts (a path inside the plugins folder): still B
      const sneaky = await ajax({ action: 'delete-plugin', plugin: `${path.join(wp.wpContent, 'plugins')}/${B.file}`, slug: B.slug, _ajax_nonce: updates })
      refusedJson('delete-plugin B by its full path', sneaky)
      assert.ok(fs.existsSync(pluginFile(B)))

      const ok = await ajax({ action: 'delete-plugin', plugin: A.file, slug: A.slug, _ajax_nonce: updates })
      assert.equal(ok.json.success, true, `A has a window: ${JSON.stringify(ok.json.data)}`)
      assert.ok(!fs.existsSync(path.dirname(pluginFile(A))), 'A is deleted')
      const ev = await newEvents()
      assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject === `delete-plugin ${B.file}`), JSON.stringify(ev))
      assert.ok(ev.some((e) => e.event === 'deleted_plugin' && e.subject === A.file), JSON.stringify(ev))
      plant(A)
    }))

  it('per unit: REST DELETE /wp/v2/plugins/B is refused (in any letter case); of A it works', () =>
    perUnit(async () => {
      for (const route of [`/wp/v2/plugins/${B.rest}`, `/WP/V2/Plugins/${B.rest}`]) {
        const r = await rest('DELETE', route)
        assert.equal(r.status, 403, `${route}: ${JSON.stringify(r.json)}`)
        assert.equal(r.json.code, 'peakguard_freeze')
        assert.match(String(r.json.message), /Change freeze until/)
        assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B), "B's files are still there")
      }
      // an update through REST (activation) of B is refused the same way
      const activate = await rest('POST', `/wp/v2/plugins/${B.rest}`)
      assert.equal(activate.status, 403, JSON.stringify(activate.json))

      const ok = await rest('DELETE', `/wp/v2/plugins/${A.rest}`)
      assert.equal(ok.status, 200, `A has a window: ${JSON.stringify(ok.json)}`)
      assert.equal(ok.json.deleted, true)
      assert.ok(!fs.existsSync(path.dirname(pluginFile(A))), 'A is deleted')
      const ev = await newEvents()
      assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject.startsWith('DELETE /wp/v2/plugins/')), JSON.stringify(ev))
      plant(A)
    }))

  it('per unit: edit-theme-plugin-file on B or on a theme without a window is refused and the file is unchanged; on A and the allowed theme it works', () =>
    perUnit(async () => {
      refusedJson('edit B', await editPlugin(B))
      assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B))
      // A's name with B's file: B is written, so B decides
      refusedJson("edit B's file under A's name", await editPlugin(B, A.file))
      assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B))
      // the form of the editor without JavaScript posts to plugin-editor.php
      const form = await admin.post('/wp-admin/plugin-editor.php', { action: 'update', plugin: B.file, file: B.file, nonce: await wp.nonce(admin, `edit-plugin_${B.file}`), newcontent: '<?php // defaced' })
      assert.equal(form.status, 403)
      assert.match(form.body, /Change freeze until/)
      assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B))
      refusedJson('edit twentytwentyone', await editTheme('twentytwentyone', '/* defaced */'))
      assert.equal(fs.readFileSync(themeFile('twentytwentyone'), 'utf8'), themes.twentytwentyone)

      const ok = await editPlugin(A)
      assert.equal(ok.json.success, true, `A has a window: ${JSON.stringify(ok.json.data)}`)
      assert.equal(fs.readFileSync(pluginFile(A), 'utf8'), '<?php\n// defaced during the freeze\n')
      const theme = await editTheme('twentytwentythree', `${themes.twentytwentythree}\n/* allowed */\n`)
      assert.equal(theme.json.success, true, `twentytwentythree has a window: ${JSON.stringify(theme.json.data)}`)
      assert.ok(fs.readFileSync(themeFile('twentytwentythree'), 'utf8').endsWith('/* allowed */\n'))
      fs.writeFileSync(themeFile('twentytwentythree'), themes.twentytwentythree as string)
      plant(A)
      const ev = await newEvents()
      assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject === `edit-theme-plugin-file ${B.file}`), JSON.stringify(ev))
    }))

  it('per unit: a bulk action naming A and B is refused whole (plugins screen, Updates screen); naming only A it works', () =>
    perUnit(async () => {
      const bulk = await wp.nonce(admin, 'bulk-plugins')
      const both = await admin.post('/wp-admin/plugins.php', { action: 'delete-selected', 'verify-delete': '1', 'checked[0]': A.file, 'checked[1]': B.file, _wpnonce: bulk })
      assert.equal(both.status, 403)
      assert.match(both.body, /Change freeze until/)
      assert.ok(fs.existsSync(pluginFile(A)) && fs.existsSync(pluginFile(B)), 'neither is deleted')
      const upgrade = await admin.post('/wp-admin/update-core.php?action=do-plugin-upgrade', { 'checked[0]': A.file, 'checked[1]': B.file, _wpnonce: await wp.nonce(admin, 'upgrade-core'), upgrade: 'Update Plugins' })
      assert.equal(upgrade.status, 403)
      assert.match(upgrade.body, /Change freeze until/)
      // the plugins' own unit is also checked where the files are removed, whoever calls delete_plugins()
      await wp.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php'; require_once ABSPATH . 'wp-admin/includes/file.php'; delete_plugins( array( '${B.file}' ) );`)
      assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B), 'delete_plugins() from a script leaves B')

      const onlyA = await admin.post('/wp-admin/plugins.php', { action: 'delete-selected', 'verify-delete': '1', 'checked[0]': A.file, _wpnonce: bulk })
      assert.equal(onlyA.status, 200, onlyA.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400))
      assert.ok(!fs.existsSync(path.dirname(pluginFile(A))), 'A is deleted')
      assert.ok(fs.existsSync(pluginFile(B)))
      plant(A)
      const ev = await newEvents()
      assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject === `delete-selected ${B.file}`), JSON.stringify(ev))
    }))

  it('per unit: themes: deleting one without a window is refused through Ajax and the themes screen, whichever name the window of another one has', () =>
    perUnit(async () => {
      for (const name of ['themes/twentytwentythree', 'theme:twentytwentythree']) {
        await bridge.writeState(windowForA(freezeNow().freezes, name))
        const refused = await ajax({ action: 'delete-theme', slug: 'twentytwentyone', _ajax_nonce: await wp.nonce(admin, 'updates') })
        refusedJson(`delete-theme twentytwentyone (window ${name})`, refused)
        const screen = await admin.get(`/wp-admin/themes.php?action=delete&stylesheet=twentytwentyone&_wpnonce=${await wp.nonce(admin, 'delete-theme_twentytwentyone')}`)
        assert.equal(screen.status, 403)
        assert.match(screen.body, /Change freeze until/)
        assert.ok(fs.existsSync(themeFile('twentytwentyone')), 'the theme is still there')
        // the theme the window names is open under either name
        const ok = await editTheme('twentytwentythree', `${themes.twentytwentythree}\n/* allowed */\n`)
        assert.equal(ok.json.success, true, `twentytwentythree has a window as ${name}: ${JSON.stringify(ok.json.data)}`)
        fs.writeFileSync(themeFile('twentytwentythree'), themes.twentytwentythree as string)
      }
      await newEvents()
    }))

  it('per unit: the same holds whichever freeze is on (a configured window, a manual freeze, both), and a window that has not opened yet opens nothing', () =>
    perUnit(async () => {
      const t = now()
      for (const freezes of [
        [{ source: 'manual', start: t - 60, end: t + 1800, reason: 'payment incident' }],
        [
          { source: 'black-friday', start: t - 3600, end: t + 3600, reason: 'Black Friday campaign' },
          { source: 'manual', start: t - 60, end: t + 1800, reason: 'payment incident' },
        ],
      ]) {
        await bridge.writeState(windowForA(freezes))
        refusedJson(`delete-plugin B under ${freezes.map((f) => f.source).join('+')}`, await ajax({ action: 'delete-plugin', plugin: B.file, slug: B.slug, _ajax_nonce: await wp.nonce(admin, 'updates') }))
        assert.equal((await rest('DELETE', `/wp/v2/plugins/${B.rest}`)).status, 403)
        refusedJson('edit B', await editPlugin(B))
        assert.equal(fs.readFileSync(pluginFile(B), 'utf8'), source(B))
        const ok = await editPlugin(A)
        assert.equal(ok.json.success, true, `A has a window: ${JSON.stringify(ok.json.data)}`)
        plant(A)
      }
      await bridge.writeState(state(freezeNow().freezes, [{ scope: `plugins/${A.slug}`, start: now() + 300, end: now() + 900 }]))
      refusedJson('edit A before its window opens', await editPlugin(A))
      assert.equal(fs.readFileSync(pluginFile(A), 'utf8'), source(A))
      await newEvents()
    }))

  it('a freeze reason (and approval URL) with HTML in it is shown as text on every page: the notice, a refused activation, a refused upload, the installer', async () => {
    const reason = `<script>alert(1)</script> "><img src=x onerror=alert(1)>`
    const approvalUrl = `https://approvals.shop.example/x?"><script>alert(2)</script>`
    const evil = (allows: BridgeState['allows'] = []): BridgeState => ({ ...state([{ source: 'manual', start: now() - 60, end: now() + 3600, reason }], allows), approvalUrl })
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt; &quot;&gt;&lt;img src=x onerror=alert(1)&gt;'
    const clean = (what: string, body: string) => {
      for (const raw of ['<script>alert(', '<img src=x', 'onerror=alert(1)>']) assert.ok(!body.includes(raw), `${what}: no raw ${raw} in the page`)
      assert.ok(body.includes(escaped), `${what}: the reason is shown, escaped`)
    }
    await bridge.writeState(state([]))
    const link = await wp.activateLink(admin, DEMO_BANNER.file)
    await bridge.writeState(evil())

    const plugins = await admin.get('/wp-admin/plugins.php')
    assert.equal(plugins.status, 200)
    assert.match(plugins.body, /peakguard-freeze/)
    clean('plugins.php', plugins.body)
    const refused = await wp.activatePluginViaAdmin(admin, DEMO_BANNER.file, link)
    assert.equal(refused.status, 403)
    clean('the refused activation', refused.body)
    assert.ok(!(await wp.activePlugins()).includes(DEMO_BANNER.file))

    // an upload of a plugin while an allow window is open for another one: the upload page is shown (it changes
    // nothing), the upload is refused before WordPress unpacks it (which folder it writes is not known before)
    await bridge.writeState(evil([{ scope: 'plugins/some-other-plugin', start: now() - 10, end: now() + 600 }]))
    const upgrade = path.join(wp.wpContent, 'upgrade')
    const hadUpgrade = fs.existsSync(upgrade)
    const uploads = treeOf(path.join(wp.wpContent, 'uploads'))
    const page = await admin.get('/wp-admin/plugin-install.php?tab=upload')
    assert.equal(page.status, 200, 'the upload page is open while plugins/ has an allow window')
    const fields = formFields(page.body, 'update.php?action=upload-plugin')
    const form = new FormData()
    for (const [k, v] of Object.entries(fields)) if (k !== 'pluginzip') form.append(k, v)
    form.append('install-plugin-submit', 'Install Now')
    const zip = storedZip({ 'pg-evil/pg-evil.php': '<?php\n/**\n * Plugin Name: PG Evil\n */\n' })
    form.append('pluginzip', new Blob([new Uint8Array(zip)], { type: 'application/zip' }), 'pg-evil.zip')
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(`${wp.url}/wp-admin/update.php?action=upload-plugin`, { method: 'POST', body: form, headers: { cookie }, redirect: 'manual' })
    const body = await res.text()
    try {
      assert.equal(res.status, 403, body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 800))
      assert.match(body, /This change was refused/)
      clean('the refused upload', body)
      assert.ok(!fs.existsSync(path.join(wp.wpContent, 'plugins/pg-evil')), 'nothing was installed')
      // what the installer and the Ajax updater print when an update of another unit reaches them
      const installer = await wp.php(`$r = apply_filters( 'upgrader_pre_install', true, array( 'plugin' => 'pg-evil/pg-evil.php' ) ); echo is_wp_error( $r ) ? $r->get_error_message() : 'not refused';`)
      clean('the installer', installer)
    } finally {
      // what the installer left in wp-content (its working folder, the upload's month folder)
      if (!hadUpgrade) fs.rmSync(upgrade, { recursive: true, force: true })
      for (const [k] of treeOf(path.join(wp.wpContent, 'uploads'))) if (!uploads.has(k)) fs.rmSync(path.join(wp.wpContent, 'uploads', k), { force: true })
    }
    await newEvents()
  })

  it('request input that is not a string (action[]=x, plugin[]=x, …) prints no PHP warning into a page or the log', async () => {
    const config = path.join(wp.wpRoot, 'wp-config.php')
    const original = fs.readFileSync(config, 'utf8')
    const logDir = fs.mkdtempSync(path.join(wp.base, 'debug-'))
    fs.chownSync(logDir, wp.uid, wp.gid)
    const log = path.join(logDir, 'debug.log')
    assert.ok(original.includes("define( 'WP_DEBUG', false );"))
    // WP_DEBUG with display on: a warning from the bridge would be in the page. The probe shows when php -S
    // (whose opcache looks at a file's time every 2 s) runs this wp-config.php, and that messages are shown.
    const probe = '/?pg-debug-probe=1'
    const debugging = async () => (await wp.client().get(probe)).body.includes('pg-debug-probe-notice')
    const until = async (want: boolean, what: string) => {
      for (let i = 0; i < 50 && (await debugging()) !== want; i++) await new Promise((r) => setTimeout(r, 200))
      assert.equal(await debugging(), want, what)
    }
    fs.writeFileSync(
      config,
      original.replace("define( 'WP_DEBUG', false );", `define( 'WP_DEBUG', true );\ndefine( 'WP_DEBUG_DISPLAY', true );\ndefine( 'WP_DEBUG_LOG', '${log}' );`) +
        "if ( isset( $_GET['pg-debug-probe'] ) ) {\n\ttrigger_error( 'pg-debug-probe-notice', E_USER_NOTICE );\n}\n",
    )
    try {
      await until(true, 'WordPress runs with WP_DEBUG and shows PHP messages in pages')
      await bridge.writeState(freezeNow()) // the admin screens' guard reads request input during a freeze
      const pages: [WpClient, string][] = [
        [wp.client(), '/?peakguard-bridge[]=flush'],
        [wp.client(), '/?peakguard-bridge[flush]=1'],
        [admin, '/wp-admin/plugins.php?action[]=activate'],
        [admin, '/wp-admin/plugins.php?action=-1&action2[]=activate-selected'],
        [admin, `/wp-admin/plugins.php?action=activate&plugin[]=${encodeURIComponent(DEMO_BANNER.file)}`],
        [admin, `/wp-admin/plugins.php?action=activate-selected&checked[0][]=x&checked[1]=${encodeURIComponent(DEMO_BANNER.file)}`],
        [admin, '/wp-admin/themes.php?action=activate&stylesheet[]=twentytwentyone'],
      ]
      for (const [client, url] of pages) {
        const r = await client.get(url)
        assert.ok(r.status < 500, `${url}: HTTP ${r.status}`)
        // a PHP message names its file with the path (WordPress 6.1 itself warns about action[] in admin.php
        // and, on PHP 8.2, prints deprecations with WP_DEBUG: those are not the bridge's)
        assert.ok(!r.body.includes(bridge.file), `${url}: a PHP message from the bridge in the page: ${/[^>]*mu-plugins\/peakguard-bridge\.php[^<]*/.exec(r.body)?.[0]}`)
      }
      const logged = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : ''
      const ours = logged.split('\n').filter((l) => l.includes(bridge.file))
      assert.deepEqual(ours, [], 'no PHP message from the bridge in the debug log')
      assert.ok(!(await wp.activePlugins()).includes(DEMO_BANNER.file), 'and still nothing was activated')
    } finally {
      fs.writeFileSync(config, original)
      await until(false, 'WordPress runs without WP_DEBUG again')
      fs.rmSync(logDir, { recursive: true, force: true })
    }
    await bridge.writeState(state([]))
    await newEvents()
  })

  it('without a freeze the same activation works, and the event names the user, id and address', async () => {
    await bridge.writeState(state([]))
    const r = await wp.activatePluginViaAdmin(admin, DEMO_BANNER.file)
    assert.equal(r.status, 200)
    assert.match(r.body, /Plugin activated/)
    assert.ok(!r.body.includes('Change freeze'))
    assert.ok((await wp.client().get('/')).body.includes(DEMO_BANNER.marker), 'the home page shows it')
    const ev = await newEvents()
    const act = ev.find((e) => e.event === 'activated_plugin')
    assert.ok(act, JSON.stringify(ev))
    assert.deepEqual({ ...act, time: 0 }, { time: 0, event: 'activated_plugin', subject: DEMO_BANNER.file, user: 'admin', userId: 1, ip: '127.0.0.1', cli: false, cron: false })
    assert.ok(Math.abs(act.time - Date.now() / 1000) < 60)
  })

  it('records a settings change by name, never its value', async () => {
    const page = await admin.get('/wp-admin/options-general.php')
    const r = await admin.post('/wp-admin/options.php', { ...formFields(page.body, 'options.php'), blogdescription: 'Secret-Tagline-4711' })
    assert.equal(r.status, 200, r.body.replace(/<style[\s\S]*?<\/style>/g, '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 600))
    assert.match(r.body, /Settings saved/)
    const ev = await newEvents()
    assert.ok(ev.some((e) => e.event === 'updated_option' && e.subject === 'blogdescription' && e.user === 'admin'), JSON.stringify(ev))
    assert.ok(!fs.readFileSync(path.join(wp.bridgeDir, 'events.jsonl'), 'utf8').includes('Secret-Tagline-4711'), 'no option value in the event file')
    assert.ok(!ev.some((e) => e.subject.startsWith('_transient')), 'ignored options are not events')
  })

  it('strips control characters from what it records (they would end up in git commit trailers)', async () => {
    const before = fs.statSync(path.join(wp.bridgeDir, 'events.jsonl')).size
    await wp.php(`add_option( "pg_probe\\x1e\\x1fname\\x00\\x7f", 'v' ); delete_option( "pg_probe\\x1e\\x1fname\\x00\\x7f" );`)
    const raw = fs.readFileSync(path.join(wp.bridgeDir, 'events.jsonl')).subarray(before).toString('utf8')
    assert.match(raw, /"subject":"pg_probename"/, raw)
    assert.ok(!/\\u00(1e|1f|00|7f)|[\x00-\x09\x0b-\x1f\x7f]/i.test(raw), `no control character in the event file: ${JSON.stringify(raw)}`)
    const ev = await newEvents()
    assert.deepEqual(ev.filter((e) => e.subject.startsWith('pg_probe')).map((e) => `${e.event} ${e.subject}`), ['added_option pg_probename', 'deleted_option pg_probename'])
  })

  it('an activation from a PHP script on the command line is recorded with cli=false, cron=false and no user', async () => {
    await wp.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php'; activate_plugin( '${DEMO_HELLO.file}' );`)
    assert.ok((await wp.activePlugins()).includes(DEMO_HELLO.file))
    const act = (await newEvents()).find((e) => e.event === 'activated_plugin')
    assert.ok(act)
    assert.deepEqual({ ...act, time: 0 }, { time: 0, event: 'activated_plugin', subject: DEMO_HELLO.file, user: null, userId: null, ip: null, cli: false, cron: false })
  })

  it('with state.json gone or damaged the site still works, and admins are told that freezes are not enforced', async () => {
    for (const damage of [() => fs.rmSync(stateFile()), () => fs.writeFileSync(stateFile(), '{"freezes": [ {"start": "soon"')]) {
      damage()
      const home = await wp.client().get('/')
      assert.equal(home.status, 200)
      assert.ok(!/Warning|Notice|Fatal error/.test(home.body), 'nothing printed into the page')
      const dash = await admin.get('/wp-admin/')
      assert.equal(dash.status, 200)
      assert.ok(dash.body.includes(`peakguard bridge: freeze state unreadable at ${stateFile()}; freeze windows are not enforced inside WordPress`))
      // fail open: changes work
      assert.equal((await wp.php(`var_export( update_option( 'blogname', 'Open Shop' ) );`)).trim(), 'true')
      await wp.php(`update_option( 'blogname', 'Peakguard Test Shop' );`)
    }
    const status = await wp.cli(['wp', 'bridge-status', '--json'])
    assert.equal(status.json.state.readable, false)
    await bridge.writeState(state([]))
    assert.ok(!(await admin.get('/wp-admin/')).body.includes('peakguard bridge:'))
  })

  it('the flush endpoint answers only loopback callers with the secret', async () => {
    const secret = fs.readFileSync(path.join(wp.bridgeDir, 'secret'), 'utf8').trim()
    const flush = (base: string, headers: Record<string, string> = {}) => fetch(`${base}/?peakguard-bridge=flush`, { headers, redirect: 'manual' })
    const none = await flush(wp.url)
    assert.equal(none.status, 403)
    assert.equal((await none.text()).trim(), 'Forbidden')
    const wrong = await flush(wp.url, { 'x-peakguard-secret': 'f'.repeat(64) })
    assert.equal(wrong.status, 403)
    const ip = externalAddress()
    const outside = await flush(`http://${ip}:${wp.port}`, { 'x-peakguard-secret': secret })
    assert.equal(outside.status, 403, `a caller from ${ip} is refused even with the secret`)
    // a proxy's header: REMOTE_ADDR may be one a wp-config.php copied from it, so no flush whatever it says
    for (const [h, v] of [['x-forwarded-for', '127.0.0.1'], ['forwarded', 'for=127.0.0.1'], ['x-real-ip', '127.0.0.1'], ['x-client-ip', '127.0.0.1']] as const) {
      const proxied = await flush(wp.url, { 'x-peakguard-secret': secret, [h]: v })
      assert.equal(proxied.status, 403, `from loopback with the secret and ${h}: ${v}`)
    }
    const ok = await flush(wp.url, { 'x-peakguard-secret': secret })
    assert.equal(ok.status, 200)
    const body = (await ok.json()) as { ok: boolean; opcache: boolean; objectCache: boolean }
    assert.equal(body.ok, true)
    assert.equal(body.objectCache, true)
    assert.deepEqual(await bridge.flushCaches(), { ok: true, detail: `opcache ${body.opcache ? 'reset' : 'not reset (off in this PHP)'}, object cache flushed` })
  })

  it('peakguard sends the flush secret to a loopback address only: a public home option or bridge.url is refused before any request', async () => {
    const secret = fs.readFileSync(path.join(wp.bridgeDir, 'secret'), 'utf8').trim()
    const ip = externalAddress()
    const trap = await listener()
    try {
      const port = (url: string | null, home: string | null) =>
        new WpBridge({ site: 'shop', wpContent: wp.wpContent, bridgeDir: wp.bridgeDir, url, timeoutMs: 5000, homeUrl: async () => home, ignoredOptions: [] })
      // no bridge.url: the home option, here a public address (often a CDN in front of the site)
      const viaHome = await port(null, `http://${ip}:${trap.port}`).flushCaches()
      assert.equal(viaHome.ok, false)
      assert.match(viaHome.detail, /loopback/)
      assert.match(viaHome.detail, /set bridge\.url for site shop to the site's loopback URL, e\.g\. http:\/\/127\.0\.0\.1/)
      assert.match(viaHome.detail, /the home option \(bridge\.url is not set\)/)
      const viaUrl = await port(`http://${ip}:${trap.port}`, null).flushCaches()
      assert.equal(viaUrl.ok, false)
      assert.match(viaUrl.detail, new RegExp(`bridge\\.url is ${ip.replace(/\./g, '\\.')}`))
      const named = await port(`http://shop.example:${trap.port}`, null).flushCaches()
      assert.equal(named.ok, false)
      assert.equal(trap.requests.length, 0, 'no request left peakguard')
      for (const r of [viaHome, viaUrl, named]) assert.ok(!r.detail.includes(secret))
      // loopback works, by address or as localhost, from the home option as from bridge.url
      assert.equal((await port(null, wp.url).flushCaches()).ok, true, 'the home option on 127.0.0.1')
      const local = await port(`http://localhost:${wp.port}`, null).flushCaches()
      assert.equal(local.ok, true, local.detail)
    } finally {
      await trap.close()
    }
  })

  it('past 64 MB the event file is copied to events.jsonl.1 (replacing the older copy) and emptied; the tail loses nothing', async () => {
    const file = path.join(wp.bridgeDir, 'events.jsonl')
    const rotated = `${file}.1`
    const ev = (event: string, subject: string) => `${JSON.stringify({ time: Date.now() / 1000, event, subject, user: 'admin', userId: 1, ip: '127.0.0.1', cli: false, cron: false })}\n`
    const fill = (tag: string) => {
      const chunk = Array.from({ length: 4096 }, (_, i) => ev('updated_option', `${tag}_${i}_${'x'.repeat(180)}`)).join('')
      while (fs.statSync(file).size <= 64 * 1024 * 1024) fs.appendFileSync(file, chunk)
    }
    await newEvents()
    fill('first')
    offset = await events.end() // a daemon that starts now skips the backlog
    assert.equal(offset, fs.statSync(file).size)
    fs.appendFileSync(file, ev('activated_plugin', 'unread-1.php') + ev('activated_plugin', 'unread-2.php')) // not read before the rotation
    const full = fs.statSync(file).size
    await wp.php(`update_option( 'blogdescription', 'rotation one' );`)
    assert.equal(fs.statSync(rotated).size, full, 'events.jsonl.1 holds the whole old file')
    const fresh = fs.readFileSync(file, 'utf8')
    assert.equal(fresh.split('\n').length, 2, `only the new event is in events.jsonl: ${fresh.slice(0, 300)}`)
    assert.match(fresh, /"subject":"blogdescription"/)
    for (const f of [file, rotated]) assert.equal(fs.statSync(f).mode & 0o777, 0o660, `${f} keeps its mode`)
    const got = await newEvents()
    assert.deepEqual(got.map((e) => `${e.event} ${e.subject}`), ['activated_plugin unread-1.php', 'activated_plugin unread-2.php', 'updated_option blogdescription'])
    // the next rotation replaces the older copy
    fill('second')
    offset = await events.end()
    const second = fs.statSync(file).size
    await wp.php(`update_option( 'blogdescription', '' );`)
    assert.equal(fs.statSync(rotated).size, second)
    assert.ok(fs.readFileSync(rotated, 'utf8').slice(0, 2000).includes('"subject":"blogdescription"'), 'the copy starts where the previous rotation left events.jsonl')
    assert.deepEqual((await newEvents()).map((e) => `${e.event} ${e.subject}`), ['updated_option blogdescription'])
    fs.truncateSync(rotated, 0)
  })

  // Site Editor entities and settings tables. The bridge names an entity as peakguard names its row and a
  // settings table as table:NAME; during a freeze it refuses their changes on every path unless an entity:… or
  // table:NAME window covers them. The tables come from state.json, read as defensively as the rest of it.
  const withTables = (base: BridgeState, settingsTables: unknown): BridgeState => ({ ...base, settingsTables }) as unknown as BridgeState
  const PART = (slug: string) => `entity:wp_template_part/twentytwentythree/${slug}`
  const newPart = (slug: string) =>
    `wp_set_current_user( 1 ); $id = wp_insert_post( array( 'post_type' => 'wp_template_part', 'post_name' => '${slug}', 'post_title' => '${slug}', 'post_status' => 'publish', 'post_content' => '<!-- wp:paragraph --><p>${slug}</p><!-- /wp:paragraph -->', 'tax_input' => array( 'wp_theme' => 'twentytwentythree' ) ), true ); echo is_wp_error( $id ) ? $id->get_error_message() : $id;`
  const postOf = async (id: number) => {
    const [rows] = await wp.db.query(`SELECT post_name, post_status, post_content FROM ${wp.prefix}posts WHERE ID = ?`, [id])
    return (rows as { post_name: string; post_status: string; post_content: string }[])[0] ?? null
  }

  it('names a Site Editor entity exactly as peakguard names its row, whatever bytes its theme and slug hold', async () => {
    await bridge.writeState(state([]))
    ok(await wp.cli(['snapshot']), 'snapshot before')
    await newEvents()
    const id = Number(
      await wp.php(
        `wp_set_current_user( 1 ); echo wp_insert_post( array( 'post_type' => 'wp_template', 'post_name' => 'pg-odd', 'post_title' => 'Odd', 'post_status' => 'publish', 'post_content' => 'odd', 'tax_input' => array( 'wp_theme' => 'Shop Th\u00e9me 100%' ) ) );`,
      ),
    )
    assert.ok(id > 0)
    // a slug WordPress itself would never make (a plugin's SQL can): every byte outside [A-Za-z0-9._~-] is %XX
    await wp.db.query(`UPDATE ${wp.prefix}posts SET post_name = ? WHERE ID = ?`, ['pg odd/<b>#1', id])
    await wp.php(`wp_set_current_user( 1 ); update_post_meta( ${id}, 'pg_probe', 'x' );`)
    const saved = (await newEvents()).filter((e) => e.event === 'entity_saved').map((e) => e.subject)
    assert.deepEqual(saved, ['entity:wp_template/Shop%20Th%C3%A9me%20100%25/pg-odd', 'entity:wp_template/Shop%20Th%C3%A9me%20100%25/pg%20odd%2F%3Cb%3E%231'])
    // the name peakguard's recorder gives the row is the bridge's
    const snap = await wp.cli(['--json', 'snapshot'])
    ok(snap, 'snapshot')
    const shown = await wp.cli(['--json', 'show', snap.json.id])
    assert.deepEqual((shown.json.changes.options as { name: string; change: string }[]).map((o) => `${o.change} ${o.name}`), [`added ${saved[1]}`])
    await wp.php(`wp_delete_post( ${id}, true );`)
    assert.deepEqual((await newEvents()).map((e) => `${e.event} ${e.subject}`), [`entity_deleted ${saved[1]}`], 'a deletion is one event, under the name before it')
  })

  it('during a freeze a Site Editor entity is refused on every path (REST, wp_insert_post, trash, delete, meta) unless an entity window covers it', async () => {
    await bridge.writeState(state([]))
    const denied = Number(await wp.php(newPart('pg-denied-part')))
    assert.ok(denied > 0)
    const window = [{ scope: PART('pg-allowed*'), start: now() - 10, end: now() + 600 }]
    await bridge.writeState(state(freezeNow().freezes, window))
    await newEvents()

    const made = await wp.php(newPart('pg-allowed-part'))
    assert.match(made.trim(), /^\d+$/, `the window's glob covers it: ${made.slice(0, 300)}`)
    const refused = await wp.php(newPart('pg-other-part'))
    assert.match(refused, /This change was refused/)
    assert.match(refused, /Change freeze until .*\(Black Friday campaign\)/)
    const [none] = await wp.db.query(`SELECT COUNT(*) AS n FROM ${wp.prefix}posts WHERE post_name = 'pg-other-part'`)
    assert.equal(Number((none as { n: number }[])[0]?.n), 0, 'nothing was inserted')
    const before = await postOf(denied)
    for (const code of [`wp_update_post( array( 'ID' => ${denied}, 'post_content' => 'defaced' ) );`, `wp_trash_post( ${denied} );`, `wp_delete_post( ${denied}, true );`]) {
      const out = await wp.php(`wp_set_current_user( 1 ); ${code} echo 'went through';`)
      assert.ok(!out.includes('went through') && out.includes('Change freeze until'), `${code}: ${out.slice(-300)}`)
    }
    assert.equal((await wp.php(`var_export( update_post_meta( ${denied}, 'origin', 'defaced' ) );`)).trim(), 'false', 'its meta keeps its value')
    assert.deepEqual(await postOf(denied), before, 'the entity is as it was')

    // the Site Editor's REST routes: the editor's notice shows the message; the window opens the editor for its entity
    const form = async (method: string, route: string, fields: Record<string, string>) => {
      const r = await admin.request(method, `/?rest_route=${encodeURIComponent(route)}`, { form: fields, headers: { 'X-WP-Nonce': await wp.nonce(admin, 'wp_rest') } })
      return { status: r.status, json: JSON.parse(r.body) as Record<string, unknown> }
    }
    const no = await form('POST', '/wp/v2/template-parts/twentytwentythree//pg-denied-part', { content: 'defaced' })
    assert.equal(no.status, 403, JSON.stringify(no.json))
    assert.equal(no.json.code, 'peakguard_freeze')
    assert.match(String(no.json.message), /Change freeze until .*\(Black Friday campaign\)\. Changes need an approval: https:\/\/approvals\.shop\.example\/peakguard/)
    const nav = await form('POST', '/wp/v2/navigation', { title: 'Main menu', status: 'publish', content: '' })
    assert.equal(nav.status, 403, `a new navigation menu: ${JSON.stringify(nav.json)}`)
    const yes = await form('POST', '/wp/v2/template-parts/twentytwentythree//pg-allowed-part', { content: 'allowed during the freeze' })
    assert.equal(yes.status, 200, `the window lets the Site Editor save its entity: ${JSON.stringify(yes.json).slice(0, 300)}`)
    assert.equal((await postOf(Number(made.trim())))?.post_content, 'allowed during the freeze')
    // reading works while the window is open: the editor can load
    const read = await admin.get(`/?rest_route=${encodeURIComponent('/wp/v2/template-parts/twentytwentythree//pg-denied-part')}&context=edit`, { headers: { 'X-WP-Nonce': await wp.nonce(admin, 'wp_rest') } })
    assert.equal(read.status, 200, read.body.slice(0, 300))
    assert.deepEqual(await postOf(denied), before)

    const ev = await newEvents()
    const refusals = ev.filter((e) => e.event === 'freeze_refused').map((e) => e.subject)
    assert.ok(refusals.includes(PART('pg-other-part')), JSON.stringify(refusals))
    assert.ok(refusals.includes(PART('pg-denied-part')), JSON.stringify(refusals))
    assert.ok(refusals.includes(`POST /wp/v2/template-parts/twentytwentythree//pg-denied-part ${PART('pg-denied-part')}`), JSON.stringify(refusals))
    assert.ok(ev.some((e) => e.event === 'entity_saved' && e.subject === PART('pg-allowed-part') && e.user === 'admin'), JSON.stringify(ev))
    await bridge.writeState(state([]))
    await wp.php(`wp_delete_post( ${denied}, true ); wp_delete_post( ${Number(made.trim())}, true );`)
    await newEvents()
  })

  it('during a freeze the editors still load: WordPress may make the empty user global styles post it reads', async () => {
    await bridge.writeState(freezeNow())
    const r = await admin.get(`/?rest_route=${encodeURIComponent('/wp/v2/themes')}&status=active`, { headers: { 'X-WP-Nonce': await wp.nonce(admin, 'wp_rest') } })
    assert.equal(r.status, 200, r.body.slice(0, 300))
    assert.match(r.body, /wp:user-global-styles/)
    await newEvents()
  })

  it("WooCommerce's settings saves through admin-ajax are refused during a freeze when peakguard records their tables; windows for every table let them through", async () => {
    const tax = ['woocommerce_tax_rates', 'woocommerce_tax_rate_locations']
    const save = () => admin.post('/wp-admin/admin-ajax.php', { action: 'woocommerce_tax_rates_save', wc_tax_nonce: 'x', changes: '' })
    await bridge.writeState(withTables(freezeNow(), tax))
    const r = await save()
    const json = JSON.parse(r.body) as { success: boolean; data: Record<string, unknown> }
    assert.equal(json.success, false)
    assert.equal(json.data.code, 'peakguard_freeze')
    assert.match(String(json.data.message), /Change freeze until .*\(Black Friday campaign\)\. Changes need an approval: https:\/\/approvals/)
    const windows = (scopes: string[]) => scopes.map((scope) => ({ scope, start: now() - 10, end: now() + 600 }))
    await bridge.writeState(withTables(state(freezeNow().freezes, windows(['table:woocommerce_tax_rates'])), tax))
    assert.match((await save()).body, /peakguard_freeze/, 'a window for one of its tables is not enough')
    // (WooCommerce is not installed here: WordPress answers an action nobody handles with 0)
    await bridge.writeState(withTables(state(freezeNow().freezes, windows(tax.map((t) => `table:${t}`))), tax))
    assert.equal((await save()).body, '0', 'windows for both tables let it through')
    await bridge.writeState(withTables(freezeNow(), ['pg_something_else']))
    assert.equal((await save()).body, '0', 'tables peakguard does not record are not its business')
    const ev = await newEvents()
    assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject === 'woocommerce_tax_rates_save table:woocommerce_tax_rates' && e.user === 'admin'), JSON.stringify(ev))
    await bridge.writeState(state([]))
  })

  it("WooCommerce's settings REST routes and form screens are refused during a freeze for the tables peakguard records; reads, tax classes and attribute terms are not", async () => {
    // WooCommerce cannot be installed here: routes of its shape that answer when they are reached
    const fake = path.join(wp.wpContent, 'mu-plugins', 'pg-fake-wc-rest.php')
    fs.writeFileSync(
      fake,
      `<?php\nadd_action( 'rest_api_init', function () {\n\tforeach ( array( '/taxes', '/taxes/(?P<id>\\\\d+)', '/taxes/classes', '/shipping/zones/(?P<id>\\\\d+)/methods', '/products/attributes/(?P<attribute_id>\\\\d+)/terms', '/webhooks/(?P<id>\\\\d+)' ) as $route ) {\n\t\tregister_rest_route( 'wc/v3', $route, array( 'methods' => WP_REST_Server::ALLMETHODS, 'callback' => function () { return array( 'handled' => true ); }, 'permission_callback' => '__return_true' ) );\n\t}\n} );\n`,
    )
    try {
      const all = ['woocommerce_tax_rates', 'woocommerce_tax_rate_locations', 'woocommerce_shipping_zones', 'woocommerce_shipping_zone_locations', 'woocommerce_shipping_zone_methods', 'woocommerce_attribute_taxonomies', 'wc_webhooks']
      await bridge.writeState(withTables(freezeNow(), all))
      for (const [method, route] of [['POST', '/wc/v3/taxes'], ['PUT', '/wc/v3/taxes/5'], ['DELETE', '/wc/v3/shipping/zones/1/methods'], ['DELETE', '/wc/v3/webhooks/3']]) {
        const r = await rest(method as string, route as string)
        assert.equal(r.status, 403, `${method} ${route}: ${JSON.stringify(r.json)}`)
        assert.equal(r.json.code, 'peakguard_freeze')
        assert.match(String(r.json.message), /Change freeze until .*\(Black Friday campaign\)\. Changes need an approval: https:\/\/approvals/)
      }
      for (const [method, route] of [['GET', '/wc/v3/taxes'], ['POST', '/wc/v3/taxes/classes'], ['POST', '/wc/v3/products/attributes/1/terms']]) {
        const r = await rest(method as string, route as string)
        assert.deepEqual([r.status, r.json.handled], [200, true], `${method} ${route}: ${JSON.stringify(r.json)}`)
      }
      await bridge.writeState(withTables(state(freezeNow().freezes, [{ scope: 'table:wc_webhooks', start: now() - 10, end: now() + 600 }]), all))
      assert.equal((await rest('DELETE', '/wc/v3/webhooks/3')).status, 200, 'the window for its table lets it through')
      await bridge.writeState(withTables(freezeNow(), all))
      // the screens that save attributes and webhooks with a form
      const attributes = await admin.post('/wp-admin/edit.php?post_type=product&page=product_attributes', { attribute_label: 'Colour', add_new_attribute: 'Add attribute' })
      assert.equal(attributes.status, 403)
      assert.match(attributes.body, /Change freeze until/)
      const webhook = await admin.get('/wp-admin/admin.php?page=wc-settings&tab=advanced&section=webhooks&delete=3&_wpnonce=x')
      assert.equal(webhook.status, 403)
      assert.match(webhook.body, /Change freeze until/)
      const ev = (await newEvents()).filter((e) => e.event === 'freeze_refused').map((e) => e.subject)
      assert.ok(ev.includes('POST /wc/v3/taxes table:woocommerce_tax_rates'), JSON.stringify(ev))
      assert.ok(ev.includes('product attributes table:woocommerce_attribute_taxonomies'), JSON.stringify(ev))
    } finally {
      fs.rmSync(fake, { force: true })
      await bridge.writeState(state([]))
    }
  })

  it('a write to a settings table through $wpdb is recorded once per request; during a freeze it is cancelled unless table:NAME is allowed or the table changes by itself; odd state entries are dropped', async () => {
    await wp.db.query(`CREATE TABLE ${wp.prefix}pg_bridge_rates (id INT NOT NULL PRIMARY KEY, rate VARCHAR(20) NOT NULL)`)
    await wp.db.query(`CREATE TABLE ${wp.prefix}pg_bridge_rates_log (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20) NOT NULL)`)
    try {
      const rows = async () => {
        const [r] = await wp.db.query(`SELECT id, rate FROM ${wp.prefix}pg_bridge_rates ORDER BY id`)
        return (r as { id: number; rate: string }[]).map((x) => `${x.id}=${x.rate}`)
      }
      const T = `${wp.prefix}pg_bridge_rates`
      const writes = `global $wpdb; wp_set_current_user( 1 ); $out = array();
$out[] = $wpdb->insert( '${T}', array( 'id' => 2, 'rate' => '20.0' ) );
$out[] = $wpdb->update( '${T}', array( 'rate' => '21.0' ), array( 'id' => 2 ) );
$out[] = $wpdb->query( "REPLACE INTO \`${T}\` (id, rate) VALUES (3, '3.0')" );
$out[] = $wpdb->query( "  DELETE LOW_PRIORITY FROM ${T} WHERE id = 3" );
echo json_encode( $out );`
      const odd = ['pg_bridge_rates', 42, '../etc/passwd', 'a b', { t: 'x' }, null]
      await bridge.writeState(withTables(state([]), odd))
      await newEvents()
      assert.equal(await wp.php(writes), '[1,1,1,1]')
      assert.deepEqual(await rows(), ['2=21.0'])
      assert.deepEqual((await newEvents()).map((e) => `${e.event} ${e.subject} ${e.user}`), ['table_write table:pg_bridge_rates admin'], 'one event for the request')

      await bridge.writeState(withTables(freezeNow(), odd))
      assert.equal(await wp.php(writes), '[false,false,false,false]')
      assert.equal(await wp.php(`global $wpdb; var_export( $wpdb->query( 'TRUNCATE TABLE ${T}' ) );`), 'false')
      assert.deepEqual(await rows(), ['2=21.0'], 'nothing was written')
      assert.deepEqual((await newEvents()).map((e) => `${e.event} ${e.subject}`), ['freeze_refused table:pg_bridge_rates', 'freeze_refused table:pg_bridge_rates'], 'once per request')
      // reads, a table whose name only starts like it, and a write elsewhere that reads it are no writes to it
      const other = await wp.php(`global $wpdb; $out = array();
$out[] = $wpdb->get_var( "SELECT rate FROM ${T} WHERE id = 2" );
$out[] = $wpdb->insert( '${T}_log', array( 'note' => 'kept' ) );
$out[] = $wpdb->query( "UPDATE ${T}_log SET note = (SELECT rate FROM ${T} WHERE id = 2) WHERE id = 1" );
echo json_encode( $out );`)
      assert.equal(other, '["21.0",1,1]')
      assert.deepEqual(await newEvents(), [])

      // a table with columns that change by themselves (a webhook's failure count): WordPress's own writes go on, recorded for the gate
      await bridge.writeState({ ...withTables(freezeNow(), odd), selfChangingTables: ['pg_bridge_rates', 'not_recorded'] } as BridgeState)
      await wp.db.query(`DELETE FROM ${T} WHERE id = 2`)
      assert.equal(await wp.php(writes), '[1,1,1,1]', 'not cancelled')
      assert.deepEqual((await newEvents()).map((e) => `${e.event} ${e.subject}`), ['table_write table:pg_bridge_rates'])

      await wp.db.query(`DELETE FROM ${T} WHERE id = 2`)
      await bridge.writeState(withTables(state(freezeNow().freezes, [{ scope: 'table:pg_bridge_rates', start: now() - 10, end: now() + 600 }]), odd))
      assert.equal(await wp.php(writes), '[1,1,1,1]', 'the window lets them through')
      await wp.db.query(`DELETE FROM ${T} WHERE id = 2`)
      // a settingsTables that is no list: no table is watched, and WordPress works
      await bridge.writeState(withTables(freezeNow(), 'pg_bridge_rates'))
      assert.equal(await wp.php(writes), '[1,1,1,1]')
      assert.equal((await wp.client().get('/')).status, 200)
      await newEvents()
    } finally {
      await bridge.writeState(state([]))
      await wp.db.query(`DROP TABLE IF EXISTS ${wp.prefix}pg_bridge_rates, ${wp.prefix}pg_bridge_rates_log`)
    }
  })

  it('a restore to a state from before the install leaves the bridge in place', async () => {
    const r = await wp.cli(['restore', preInstallState, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.deepEqual(await wp.activePlugins(), [], 'the activations since are undone')
    assert.ok(fs.existsSync(bridge.file), 'the bridge is still there')
  })

  it('uninstall-bridge removes the mu-plugin and leaves wp-content as it was', async () => {
    // WordPress itself writes settings on page loads (theme_mods_*): record them first
    const before = await wp.cli(['snapshot', '--json'])
    assert.equal(before.code, 0, before.stderr)
    const r = await wp.cli(['wp', 'uninstall-bridge', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.removed, true)
    assert.equal(await bridge.installed(), null)
    const after = treeOf(wp.wpContent)
    assert.deepEqual([...after.keys()].sort(), [...preInstall.keys()].sort())
    assert.ok(!fs.existsSync(path.join(wp.wpContent, 'mu-plugins')), 'the mu-plugins folder install made is gone')
    const snap = await wp.cli(['snapshot', '--json'])
    assert.equal(snap.code, 0, snap.stderr)
    assert.equal(snap.json.created, false, `removing the bridge is no change: ${snap.json.summary}`)
    assert.equal((await wp.client().get('/')).status, 200)
    const again = await wp.cli(['wp', 'uninstall-bridge'])
    assert.equal(again.code, 0)
    assert.match(again.stdout, /was not installed/)
  })

  it('install refuses a bridge folder the web server user cannot reach, naming the directory', async () => {
    const closed = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-closed-')) // mode 0700, root's
    try {
      const config = path.join(wp.base, 'closed.yaml')
      fs.writeFileSync(config, fs.readFileSync(wp.configFile, 'utf8').replace(`dir: ${wp.bridgeDir}`, `dir: ${path.join(closed, 'bridge')}`))
      const r = await runCli(['--config', config, 'wp', 'install-bridge'])
      assert.equal(r.code, 1, r.stdout)
      assert.match(r.stderr, new RegExp(`cannot reach ${path.join(closed, 'bridge')}: ${closed} does not let it through`))
      assert.ok(!fs.existsSync(bridge.file), 'no mu-plugin was written')
    } finally {
      fs.rmSync(closed, { recursive: true, force: true })
    }
  })
})
