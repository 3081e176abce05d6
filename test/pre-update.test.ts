// A snapshot of its own before every update, on a real WordPress with the daemon running: the bridge asks
// the daemon (POST /bridge/pre-update on its loopback listener, with the bridge's secret) before WordPress's
// upgrader writes a package — here "Hello Migrate" uploaded over itself from a local zip, as wp-admin's
// "Replace current with uploaded" does — and waits for the answer a bounded time, then lets the update go on
// whatever happened (daemon down, a listener that never answers) and says so in PHP's error log and the event
// file. The endpoint refuses anything but the bridge: a wrong secret, a peer that is not loopback, a
// forwarded request, a body that is not what the bridge sends — each with a clear error and no snapshot.
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { GitJournal } from '../src/adapters/git-journal.ts'
import { SiteDir } from '../src/adapters/site-dir.ts'
import { startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { freePort } from './harness/mariadb.ts'
import { HELLO_MIGRATE, installMigrationPlugin, runMigration, upgradeMigrationPlugin, writeMigrationZip, zipOf } from './harness/migration-plugin.ts'
import { ok } from './harness/users.ts'
import { createWordPress, DEMO_BANNER, type TestWordPress } from './harness/wordpress.ts'

interface Listed {
  id: string
  trigger: string
  message: string
  words: string[] | null
}

/** A non-loopback IPv4 address of this host: a request from it reaches the daemon from "elsewhere". */
function outsideAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  throw new Error('this test needs a non-loopback IPv4 address on the host (a network interface besides lo) to send the daemon a request from elsewhere')
}

const MAIN_FILE = `plugins/${HELLO_MIGRATE.file}`

describe('a pre-update snapshot before every update (the bridge asks the daemon, fail-open)', function () {
  this.timeout(300_000)
  let wp: TestWordPress
  let daemon: RunningDaemon | null = null
  let port = 0
  let secret = ''

  const list = async (): Promise<Listed[]> => {
    const r = await wp.cli(['--json', 'list'])
    ok(r, 'list')
    return r.json as Listed[]
  }
  const show = async (id: string) => {
    const r = await wp.cli(['--json', 'show', id])
    ok(r, `show ${id}`)
    return r.json as { id: string; trigger: string; message: string; words: string[] | null; parent: string | null; trailers: Record<string, string> }
  }
  /** The text of a file as state `id` holds it. */
  const fileIn = async (id: string, file: string): Promise<string | null> => {
    const journal = await GitJournal.open(new SiteDir(path.join(wp.dataDir, wp.siteId)).journalDir, wp.siteId)
    const blob = (await journal.readState(id)).files.get(file)?.blob
    if (!blob) return null
    let text: string | null = null
    await journal.readBlobs([blob], (_id, bytes) => void (text = Buffer.from(bytes).toString('utf8')))
    return text
  }
  const events = () =>
    fs
      .readFileSync(path.join(wp.bridgeDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { event: string; subject: string })
  const start = async () => {
    // on the wildcard address: the same daemon is reached from loopback (the bridge) and from elsewhere (refused)
    daemon = await startDaemon(wp, {}, [], { listen: `0.0.0.0:${port}` })
    // the daemon writes the bridge's state file with its own address at its first tick
    const stateFile = path.join(wp.bridgeDir, 'state.json')
    const deadline = Date.now() + 15_000
    const named = () => (JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { daemon?: { url?: string } }).daemon?.url === `http://127.0.0.1:${port}`
    while (!named() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
    assert.ok(named(), `state.json names the daemon on loopback: ${fs.readFileSync(stateFile, 'utf8')}`)
  }
  const stop = async () => {
    await daemon?.stop()
    daemon = null
  }

  before(async () => {
    // a long quiet period: a change made just before the update is still waiting for its snapshot when the update starts
    wp = await createWordPress({ siteConfig: '    watch: { quiet: 4s, maxWait: 20s, reconcile: 1h, fallbackScan: 500ms }\n    poll: { interval: 250ms }\n' })
    ok(await wp.cli(['wp', 'install-bridge']), 'install the bridge')
    secret = fs.readFileSync(path.join(wp.bridgeDir, 'secret'), 'utf8').trim()
    await wp.php('echo 1;') // WordPress adds its widget options on its first load
    await installMigrationPlugin(wp)
    port = await freePort()
    await start()
  })

  after(async () => {
    await stop()
    await wp?.stop()
  })

  it('an upgrade from a local zip gets a pre-update snapshot holding version 1, taken before any file was written; the update\'s snapshot names the upgrade', async () => {
    const d = daemon as RunningDaemon
    const from = d.lines.length
    // a change the daemon has seen and not yet recorded (its quiet period is 4 s): the state before the update includes it
    await wp.db.query(`UPDATE ${wp.prefix}options SET option_value = 'Shop before the update' WHERE option_name = 'blogname'`)
    const run = await upgradeMigrationPlugin(wp, 2)
    assert.doesNotMatch(run.phpLog, /pre-update/, 'the daemon answered: nothing in PHP\'s error log')
    assert.match(fs.readFileSync(path.join(wp.wpContent, 'plugins', HELLO_MIGRATE.file), 'utf8'), /Version: 2\.0/, 'the update went through')

    const update = await d.waitFor((l) => l.msg === 'snapshot' && (l.words as string[] | undefined)?.includes(`plugin ${HELLO_MIGRATE.name} updated 1.0 → 2.0 (2 files)`) === true, 30_000, from)
    const asked = d.lines.slice(from).filter((l) => l.msg === 'pre-update snapshot')
    assert.equal(asked.length, 1, 'one request for one package')
    assert.equal(asked[0]?.created, true, 'a change was pending: the state before the update is a new snapshot')
    const states = await list()
    const pre = states.find((s) => s.trigger === 'pre-update')
    assert.ok(pre, `a pre-update snapshot: ${JSON.stringify(states.slice(0, 4))}`)
    assert.equal(pre.id, asked[0]?.state)
    assert.equal(pre.message, 'before installing a plugin from hello-migrate-2.0.zip')
    assert.ok(pre.words?.includes('site title changed'), `the pending change is in it: ${JSON.stringify(pre.words)}`)
    assert.match((await fileIn(pre.id, MAIN_FILE)) ?? '', /Version: 1\.0/, "its files are version 1's: taken before the upgrader wrote")
    const up = await show(String(update.state))
    assert.ok(states.findIndex((s) => s.id === up.id) < states.findIndex((s) => s.id === pre.id), 'the pre-update snapshot comes before the update\'s')
    assert.equal(up.parent, pre.id, "the update's snapshot follows it directly: nothing coalesced")
    assert.match((await fileIn(up.id, MAIN_FILE)) ?? '', /Version: 2\.0/)
    assert.match(up.trailers['Peakguard-Upgrade'] ?? '', /^plugin hello-migrate\/hello-migrate\.php: 1\.0 → 2\.0 \(WordPress upgrader, wp:admin \(#1\)\)$/, JSON.stringify(up.trailers))
    const shown = await wp.cli(['show', up.id])
    assert.match(shown.stdout, /changed +plugin Hello Migrate updated 1\.0 → 2\.0 \(2 files\)/)
    assert.match(shown.stdout, /caused +.*\[.*upgraded plugin hello-migrate\/hello-migrate\.php: 1\.0 → 2\.0 \(WordPress upgrader, wp:admin \(#1\)\)/)
    assert.ok(!events().some((e) => e.event === 'pre_update_missed' && e.subject.includes('hello-migrate-2.0.zip')), 'no missed pre-update snapshot in the event file')

    // the fixture's migration: one page load runs version 2's upgrade routine, a snapshot of its own
    // (WP-Cron's loopback request after the upgrade may have run it already, within the update's quiet period)
    await runMigration(wp)
    await d.waitFor((l) => l.msg === 'snapshot' && String(l.summary).includes(HELLO_MIGRATE.option), 30_000, from)
    const [cols] = (await wp.db.query(`SHOW COLUMNS FROM ${wp.prefix}${HELLO_MIGRATE.table}`)) as unknown as [{ Field: string }[]]
    assert.deepEqual(cols.map((c) => c.Field), ['id', 'message', HELLO_MIGRATE.column])
    const [rows] = (await wp.db.query(`SELECT message FROM ${wp.prefix}${HELLO_MIGRATE.table}`)) as unknown as [{ message: string }[]]
    assert.deepEqual(rows.map((r) => r.message), [HELLO_MIGRATE.message])
    const [opt] = (await wp.db.query(`SELECT option_value FROM ${wp.prefix}options WHERE option_name = ?`, [HELLO_MIGRATE.option])) as unknown as [{ option_value: string }[]]
    assert.equal(opt[0]?.option_value, '2')
  })

  /** The bridge's signature of `raw` made at `t` (unix seconds) with `key`: `t=…,v1=<HMAC-SHA256 of "t.raw">`. */
  const sign = (raw: string, key = secret, t = Math.floor(Date.now() / 1000)) => `t=${t},v1=${createHmac('sha256', key).update(`${t}.${raw}`).digest('hex')}`
  /** POST /bridge/pre-update as a client of ours would send it (signed with the bridge's secret, JSON); its status and answer. */
  const post = async (b: unknown, o: { host?: string; headers?: Record<string, string>; raw?: string } = {}) => {
    const raw = o.raw ?? JSON.stringify(b)
    const res = await fetch(`http://${o.host ?? '127.0.0.1'}:${port}/bridge/pre-update`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-peakguard-signature': sign(raw), ...o.headers },
      body: raw,
      signal: AbortSignal.timeout(30_000),
    })
    return { status: res.status, json: (await res.json()) as { error?: { code: string; message: string }; snapshot?: string; created?: boolean; message?: string } }
  }
  const body = { site: 'shop', what: { type: 'plugin', action: 'update', plugin: HELLO_MIGRATE.file, from: '2.0' } }
  /** Runs `fn` and asserts that it took no snapshot. */
  const noSnapshot = async (fn: () => Promise<void>) => {
    const before = (await list()).map((s) => s.id)
    await fn()
    assert.deepEqual((await list()).map((s) => s.id), before, 'no snapshot was taken')
  }

  it('POST /bridge/pre-update not signed with the bridge secret, signed long ago, or for another body: 401, no snapshot', async () => {
    const raw = JSON.stringify(body)
    const wrongKey = `${secret.slice(0, -1)}${secret.endsWith('0') ? '1' : '0'}`
    const now = Math.floor(Date.now() / 1000)
    await noSnapshot(async () => {
      for (const signature of [
        sign(raw, wrongKey),
        '',
        `t=${now},v1=${'0'.repeat(64)}`,
        sign(raw, secret, now - 3600), // a replay of an old request
        sign(JSON.stringify({ ...body, what: { ...body.what, plugin: 'other/other.php' } })), // another body's
        secret, // the secret itself is no signature
      ]) {
        const r = await post(body, { headers: { 'x-peakguard-signature': signature } })
        assert.equal(r.status, 401, JSON.stringify(r.json))
        assert.equal(r.json.error?.code, 'AUTH_FAILED')
        assert.match(r.json.error?.message ?? '', /not signed with the bridge secret of site shop/)
      }
    })
  })

  it('POST /bridge/pre-update from a peer that is not loopback, or through a proxy: 403, no snapshot', async () => {
    await noSnapshot(async () => {
      const far = await post(body, { host: outsideAddress() })
      assert.equal(far.status, 403, JSON.stringify(far.json))
      assert.match(far.json.error?.message ?? '', /loopback address only/)
      for (const h of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
        const r = await post(body, { headers: { [h]: '127.0.0.1' } })
        assert.equal(r.status, 403, JSON.stringify(r.json))
        assert.equal(r.json.error?.code, 'FORBIDDEN')
        assert.match(r.json.error?.message ?? '', new RegExp(`never through a proxy \\(the request has a ${h} header\\)`))
      }
    })
  })

  it('POST /bridge/pre-update with a body that is not what the bridge sends: 400 naming the field, no snapshot', async () => {
    await noSnapshot(async () => {
      const cases: [unknown, RegExp][] = [
        [{ ...body, site: 1 }, /site: expected string/],
        [{ site: 'shop', what: { ...body.what, type: 'malware' } }, /what\.type/],
        [{ site: 'shop', what: { ...body.what, from: 2 } }, /what\.from: expected string/],
        [{ site: 'shop', what: { ...body.what, plugin: 'x'.repeat(301) } }, /what\.plugin: too long/],
        [{ site: 'shop', what: { ...body.what, plugin: 'hello\u0000/hello.php' } }, /what\.plugin: no control characters/],
        [{ site: 'shop', what: { ...body.what, package: 'a.zip\r\nX-Injected: 1' } }, /what\.package: no control characters/],
        [{ ...body, extra: true }, /"extra": no such field/],
        [{ site: 'shop' }, /what: expected object/],
        [[body], /expected object/],
      ]
      for (const [b, message] of cases) {
        const r = await post(b)
        assert.equal(r.status, 400, `${JSON.stringify(b).slice(0, 100)}: ${JSON.stringify(r.json)}`)
        assert.equal(r.json.error?.code, 'USAGE')
        assert.match(r.json.error?.message ?? '', message)
      }
      const notJson = await post(null, { raw: '{"site": "shop", ' })
      assert.equal(notJson.status, 400)
      assert.match(notJson.json.error?.message ?? '', /could not be read/)
      const huge = await post(null, { raw: JSON.stringify({ ...body, pad: 'x'.repeat(20_000) }) })
      assert.equal(huge.status, 400)
      assert.match(huge.json.error?.message ?? '', /too large/)
      // an unknown site is answered as a wrong secret: without the secret nobody learns which sites there are
      const other = await post({ ...body, site: 'other' })
      assert.equal(other.status, 401)
      assert.equal(other.json.error?.code, 'AUTH_FAILED')
    })
  })

  it("the bridge's own request is answered with the newest state, which holds the live site", async () => {
    const before = (await list()).map((s) => s.id)
    const { status, json: r } = await post({ site: 'shop', what: { type: 'core', action: 'update', from: '6.1.9', to: '6.2' } })
    assert.equal(status, 200, JSON.stringify(r))
    assert.match(r.snapshot ?? '', /^[0-9a-f]{40}$/)
    assert.equal(r.message, 'before core update 6.1.9 → 6.2')
    const now = await list()
    assert.equal(now[0]?.id, r.snapshot, 'the answer is the newest state')
    // the migration's page load may still be waiting for its snapshot: then this is it
    if (r.created) assert.deepEqual([now[0]?.trigger, now[0]?.message], ['pre-update', r.message])
    else assert.deepEqual(now.map((s) => s.id), before)
  })

  it('the daemon down: the upgrade completes, PHP\'s error log and the event file say no pre-update snapshot was taken, and the daemon records the update when it starts', async () => {
    await stop()
    const run = await upgradeMigrationPlugin(wp, 3)
    assert.match(fs.readFileSync(path.join(wp.wpContent, 'plugins', HELLO_MIGRATE.file), 'utf8'), /Version: 3\.0/, 'the update went through')
    assert.match(run.phpLog, new RegExp(`peakguard bridge: no pre-update snapshot before plugin install from hello-migrate-3\\.0\\.zip: the daemon at http://127\\.0\\.0\\.1:${port} cannot be reached \\(.+\\): is it running\\?; the update goes ahead`))
    const missed = events().filter((e) => e.event === 'pre_update_missed' && e.subject.includes('hello-migrate-3.0.zip'))
    assert.equal(missed.length, 1, JSON.stringify(missed))
    assert.match(missed[0]?.subject ?? '', /^plugin install from hello-migrate-3\.0\.zip: the daemon at .* cannot be reached/)
    assert.ok(events().some((e) => e.event === 'upgraded' && e.subject === `plugin ${HELLO_MIGRATE.file}: 2.0 → 3.0`), 'the upgrade is recorded with its versions')

    const headBefore = (await list())[0]?.id
    await start()
    const states = await list()
    assert.notEqual(states[0]?.id, headBefore, 'the start-up comparison recorded a snapshot')
    assert.ok(states[0]?.words?.includes(`plugin ${HELLO_MIGRATE.name} updated 2.0 → 3.0 (2 files)`), JSON.stringify(states[0]))
    assert.match((await fileIn(states[0]!.id, MAIN_FILE)) ?? '', /Version: 3\.0/)
    // and the journal says the update had no snapshot before it, and why
    assert.match((await show(states[0]!.id)).trailers['Peakguard-Pre-Update-Missed'] ?? '', /^plugin install from hello-migrate-3\.0\.zip: the daemon at .* cannot be reached/)
  })

  it('a listener that accepts and never answers: the bridge gives up after its wait (bridge.preUpdateWait) and the update goes on', async () => {
    await stop()
    const seen: string[] = []
    const sockets = new Set<net.Socket>()
    const hang = net.createServer((s) => {
      sockets.add(s)
      s.on('data', (d) => seen.push(d.toString('utf8')))
      s.on('error', () => undefined)
    })
    const hangPort = await freePort()
    await new Promise<void>((r) => hang.listen(hangPort, '127.0.0.1', r))
    try {
      const stateFile = path.join(wp.bridgeDir, 'state.json')
      const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as Record<string, unknown>
      fs.writeFileSync(stateFile, JSON.stringify({ ...state, daemon: { url: `http://127.0.0.1:${hangPort}`, waitSeconds: 1 } }))
      const missedBefore = events().filter((e) => e.event === 'pre_update_missed').length
      const run = await upgradeMigrationPlugin(wp, 4)
      assert.match(fs.readFileSync(path.join(wp.wpContent, 'plugins', HELLO_MIGRATE.file), 'utf8'), /Version: 4\.0/, 'the update went through')
      assert.match(run.phpLog, /no pre-update snapshot before plugin install from hello-migrate-4\.0\.zip: the daemon did not answer within 1 s \(bridge\.preUpdateWait\); the update goes ahead/)
      const missed = events().filter((e) => e.event === 'pre_update_missed')
      assert.equal(missed.length, missedBefore + 1)
      assert.match(missed.at(-1)?.subject ?? '', /did not answer within 1 s/)
      // what the bridge sent: the request, its signature (never the secret: this listener is not the daemon), and what
      // the upgrader was about to write — never an option value
      const request = seen.join('')
      assert.match(request, /^POST \/bridge\/pre-update HTTP\/1\.1\r\n/)
      assert.ok(!request.includes(secret), 'the secret never crosses the socket')
      const raw = request.slice(request.indexOf('\r\n\r\n') + 4)
      const signature = /\r\nX-Peakguard-Signature: (t=(\d+),v1=[0-9a-f]{64})\r\n/.exec(request)
      assert.ok(signature, request.slice(0, 400))
      assert.equal(signature[1], sign(raw, secret, Number(signature[2])), 'signed with the bridge secret, over the body as sent')
      const sent = JSON.parse(raw) as unknown
      assert.deepEqual(sent, { site: 'shop', what: { type: 'plugin', action: 'install', package: 'hello-migrate-4.0.zip' } })
    } finally {
      for (const s of sockets) s.destroy()
      await new Promise((r) => hang.close(r))
    }
  })

  it('a bulk update of two plugins (update-core.php, auto-updates) asks twice: the state before each is a snapshot of its own', async () => {
    await start()
    const d = daemon as RunningDaemon
    const from = d.lines.length
    // WordPress's update offers, pointing at local zips (the bulk upgrader downloads whatever package they name)
    const hello = writeMigrationZip(wp, 5)
    const banner = path.join(wp.base, 'packages', 'peakguard-demo-banner-1.1.0.zip')
    fs.writeFileSync(banner, zipOf({ [DEMO_BANNER.file]: `<?php\n/**\n * Plugin Name: Peakguard Demo Banner\n * Version: 1.1.0\n */\n` }), { mode: 0o644 })
    const out = await wp.php(`
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
wp_set_current_user( 1 );
$offer = function ( $file, $slug, $version, $zip ) {
	return (object) array( 'id' => $slug, 'slug' => $slug, 'plugin' => $file, 'new_version' => $version, 'package' => $zip, 'url' => '' );
};
set_site_transient( 'update_plugins', (object) array( 'last_checked' => time(), 'checked' => array(), 'response' => array(
	'${HELLO_MIGRATE.file}' => $offer( '${HELLO_MIGRATE.file}', 'hello-migrate', '5.0', '${hello}' ),
	'${DEMO_BANNER.file}' => $offer( '${DEMO_BANNER.file}', 'peakguard-demo-banner', '1.1.0', '${banner}' ),
) ) );
$skin = new Automatic_Upgrader_Skin();
$r    = ( new Plugin_Upgrader( $skin ) )->bulk_upgrade( array( '${HELLO_MIGRATE.file}', '${DEMO_BANNER.file}' ) );
echo json_encode( array_map( function ( $x ) { return true === $x || is_array( $x ); }, (array) $r ) );
`)
    assert.deepEqual(JSON.parse(out.slice(out.indexOf('{'))), { [HELLO_MIGRATE.file]: true, [DEMO_BANNER.file]: true }, out)
    const asked = d.lines.slice(from).filter((l) => l.msg === 'pre-update snapshot')
    assert.deepEqual(
      asked.map((l) => l.message),
      [`before plugin update ${HELLO_MIGRATE.file} 4.0 → 5.0`, `before plugin update ${DEMO_BANNER.file} 1.0.0 → 1.1.0`],
      'one request per package, in order',
    )
    // before the banner's update Hello Migrate 5.0 is written already: that state is a snapshot of its own
    const second = asked[1] as unknown as { state: string; created: boolean }
    assert.equal(second.created, true)
    assert.match((await fileIn(second.state, MAIN_FILE)) ?? '', /Version: 5\.0/)
    assert.match((await fileIn(second.state, `plugins/${DEMO_BANNER.file}`)) ?? '', /Version: 1\.0\.0/)
    const shown = await show(second.state)
    assert.ok(shown.words?.includes(`plugin ${HELLO_MIGRATE.name} updated 4.0 → 5.0 (2 files)`), JSON.stringify(shown.words))
    // each package's upgrade is named as it is written, not only when the whole bulk run is done
    assert.equal(shown.trailers['Peakguard-Upgrade'], `plugin ${HELLO_MIGRATE.file}: 4.0 → 5.0 (WordPress upgrader, wp:admin (#1))`)
    const last = await d.waitFor((l) => l.msg === 'snapshot' && ((l.words as string[] | undefined) ?? []).some((w) => /Peakguard Demo Banner updated 1\.0\.0 → 1\.1\.0/.test(w)), 30_000, from)
    assert.equal((await show(String(last.state))).trailers['Peakguard-Upgrade'], `plugin ${DEMO_BANNER.file}: 1.0.0 → 1.1.0 (WordPress upgrader, wp:admin (#1))`)
  })

  it('a theme update asks too: the state before holds the old theme, and the update names the theme and both versions', async () => {
    const d = daemon as RunningDaemon
    const from = d.lines.length
    const styleFile = path.join(wp.wpContent, 'themes/twentytwentyone/style.css')
    const old = /^\s*\*?\s*Version:\s*(\S+)/m.exec(fs.readFileSync(styleFile, 'utf8'))?.[1]
    assert.ok(old, 'Twenty Twenty-One has a Version header')
    const zip = path.join(wp.base, 'packages', 'twentytwentyone-9.9.zip')
    fs.writeFileSync(
      zip,
      zipOf({ 'twentytwentyone/style.css': '/*\nTheme Name: Twenty Twenty-One\nVersion: 9.9\n*/\n', 'twentytwentyone/index.php': '<?php // 9.9\n' }),
      { mode: 0o644 },
    )
    // WordPress's update offer for a theme (an array, as wp_update_themes() stores it), pointing at the local zip
    const out = await wp.php(`
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
wp_set_current_user( 1 );
set_site_transient( 'update_themes', (object) array( 'last_checked' => time(), 'checked' => array(), 'response' => array(
	'twentytwentyone' => array( 'theme' => 'twentytwentyone', 'new_version' => '9.9', 'package' => '${zip}', 'url' => '' ),
) ) );
$r = ( new Theme_Upgrader( new Automatic_Upgrader_Skin() ) )->upgrade( 'twentytwentyone' );
echo json_encode( true === $r );
`)
    assert.equal(out.trim().split('\n').at(-1), 'true', out)
    const asked = d.lines.slice(from).filter((l) => l.msg === 'pre-update snapshot')
    assert.deepEqual(asked.map((l) => l.message), [`before theme update twentytwentyone ${old} → 9.9`])
    const pre = asked[0] as unknown as { state: string }
    assert.match((await fileIn(pre.state, 'themes/twentytwentyone/style.css')) ?? '', new RegExp(`Version: ${old.replace(/\./g, '\\.')}`), "the state before holds the old theme")
    const update = await d.waitFor((l) => l.msg === 'snapshot' && ((l.words as string[] | undefined) ?? []).some((w) => w.startsWith(`theme Twenty Twenty-One updated ${old} → 9.9`)), 30_000, from)
    assert.equal((await show(String(update.state))).trailers['Peakguard-Upgrade'], `theme twentytwentyone: ${old} → 9.9 (WordPress upgrader, wp:admin (#1))`)
  })
})
