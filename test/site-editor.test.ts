// The Site Editor on a real WordPress (Debian's 6.1, Twenty Twenty-Three) with the real daemon and bridge: a
// logged-in admin drives the editor's own REST endpoints (cookie + X-WP-Nonce) — the global styles and the
// header template part are recorded as one snapshot attributed to wp:admin, `restore` puts the earlier design
// back on the home page, a deleted template comes back with its post id. During a freeze the same saves get the
// bridge's refusal in the editor's notice (the reason and where to ask), a save from PHP is stopped underneath,
// an SQL edit of the template part is reverted and waits as a change request naming it; a settings table
// written through $wpdb is cancelled and recorded as refused, and outside the freeze recorded and attributed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { WpEventsFile } from '../src/adapters/wp-events.ts'
import type { WpEvent } from '../src/core/index.ts'
import { startDaemon, type LogLine, type RunningDaemon } from './harness/daemon.ts'
import { ok } from './harness/users.ts'
import { createWordPress, type TestWordPress, type WpClient } from './harness/wordpress.ts'

const APPROVALS = 'https://approvals.shop.example/site-editor'
const REASON = 'Launch night: the shop design is frozen'
const THEME = 'twentytwentythree'
const HEADER = `entity:wp_template_part/${THEME}/header`
const HOME = `entity:wp_template/${THEME}/home`
const STYLES = `entity:wp_global_styles/${THEME}/wp-global-styles-${THEME}`
const HEADER_ROUTE = `/wp/v2/template-parts/${THEME}//header`
const HOME_ROUTE = `/wp/v2/templates/${THEME}//home`
/** the admin's saves come as two requests: a quiet period long enough for both to be one snapshot */
const DAEMON = '    watch: { quiet: 1500ms, maxWait: 6s, reconcile: 1h, fallbackScan: 500ms }\n    poll: { interval: 250ms }\n'
const header = (marker: string) => `<!-- wp:group {"tagName":"header"} -->\n<header class="wp-block-group"><!-- wp:paragraph -->\n<p>${marker}</p>\n<!-- /wp:paragraph --></header>\n<!-- /wp:group -->`

describe('Site Editor designs on a real WordPress: recorded, attributed, restored, frozen', function () {
  this.timeout(240_000)
  let wp: TestWordPress
  let daemon: RunningDaemon
  let admin: WpClient
  let nonce = ''
  let stylesId = 0
  let events: WpEventsFile
  let offset = 0
  const newEvents = async (): Promise<WpEvent[]> => {
    const r = await events.read(offset)
    offset = r.offset
    return r.events
  }

  /** A REST request of the Site Editor: JSON in and out, the admin's cookies and the wp_rest nonce. */
  const rest = async (method: string, route: string, body?: unknown, query = ''): Promise<{ status: number; json: Record<string, unknown> }> => {
    const cookie = [...admin.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    const res = await fetch(`${wp.url}/?rest_route=${encodeURIComponent(route)}${query}`, {
      method,
      headers: { cookie, 'x-wp-nonce': nonce, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    })
    const text = await res.text()
    try {
      return { status: res.status, json: JSON.parse(text) as Record<string, unknown> }
    } catch {
      throw new Error(`${method} ${route}: HTTP ${res.status}, not JSON: ${text.slice(0, 400)}`)
    }
  }
  const saveDesign = (background: string, marker: string) =>
    Promise.all([rest('POST', `/wp/v2/global-styles/${stylesId}`, { styles: { color: { background } }, settings: {} }), rest('POST', HEADER_ROUTE, { content: header(marker) })])
  const homePage = async () => {
    const r = await wp.client().get('/')
    assert.equal(r.status, 200)
    return r.body
  }
  /** The body's background in the global styles WordPress prints into the page. */
  const background = (html: string) => /<style id='global-styles-inline-css'>[\s\S]*?body\{background-color: ([^;]+);/.exec(html)?.[1] ?? null
  const postRow = async (id: number) => {
    const [rows] = await wp.db.query(`SELECT ID, post_type, post_name, post_content FROM ${wp.prefix}posts WHERE ID = ?`, [id])
    return (rows as { ID: number; post_type: string; post_name: string; post_content: string }[])[0] ?? null
  }
  const entityId = async (type: string, slug: string) => {
    const [rows] = await wp.db.query(`SELECT ID FROM ${wp.prefix}posts WHERE post_type = ? AND post_name = ? AND post_status <> 'trash'`, [type, slug])
    return (rows as { ID: number }[]).map((r) => Number(r.ID))
  }
  /** The first snapshot after log line `from` whose summary matches `what`. */
  const snapshotAfter = (from: number, what: RegExp) =>
    daemon.waitFor((l: LogLine) => l.msg === 'snapshot' && what.test(String(l.summary)), 30_000, from).catch((e: Error) => {
      throw new Error(`no snapshot of ${what}: ${e.message.slice(0, 200)}\nsnapshots since: ${JSON.stringify(snapshotsSince(from))}`)
    })
  const show = async (state: string) => {
    const r = await wp.cli(['--json', 'show', state])
    ok(r, `show ${state}`)
    return r.json as { id: string; causedBy: string | null; changes: { options: { name: string; change: string }[] }; words: string[] }
  }
  const snapshotsSince = (from: number) => daemon.lines.slice(from).filter((l) => l.msg === 'snapshot')
  const stateFile = () => path.join(wp.bridgeDir, 'state.json')
  const bridgeFrozen = async (want: boolean) => {
    for (let i = 0; i < 100; i++) {
      const st = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as { freezes: unknown[] }
      if (st.freezes.length > 0 === want) return
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.fail(`the bridge's state.json does not ${want ? 'list the freeze' : 'drop the freeze'}`)
  }
  const rates = async () => {
    const [rows] = await wp.db.query(`SELECT id, rate FROM ${wp.prefix}pg_rates ORDER BY id`)
    return (rows as { id: number; rate: string }[]).map((r) => `${r.id}=${r.rate}`)
  }

  let s1 = ''
  let headerId = 0

  before(async () => {
    wp = await createWordPress({ siteConfig: `${DAEMON}    freeze:\n      policy: revert\n      approvalUrl: ${APPROVALS}\n    settingsTables: [pg_rates]\n` })
    // a plugin's settings table: it must exist before peakguard reads the config
    await wp.db.query(`CREATE TABLE ${wp.prefix}pg_rates (id INT NOT NULL PRIMARY KEY, rate VARCHAR(20) NOT NULL) ENGINE=InnoDB`)
    await wp.db.query(`INSERT INTO ${wp.prefix}pg_rates VALUES (1, '7.7')`)
    ok(await wp.cli(['wp', 'install-bridge']), 'install the bridge')
    const st = JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as { settingsTables?: string[] }
    assert.deepEqual(st.settingsTables, ['pg_rates'], 'the bridge knows the settings tables')
    events = new WpEventsFile(path.join(wp.bridgeDir, 'events.jsonl'))
    admin = await wp.login()
    nonce = await wp.nonce(admin, 'wp_rest')
    // as the Site Editor finds its global styles: the active theme's link (WordPress makes the post on this read)
    const themes = await admin.get(`/?rest_route=${encodeURIComponent('/wp/v2/themes')}&status=active`, { headers: { 'x-wp-nonce': nonce } })
    const link = (JSON.parse(themes.body) as { _links: Record<string, { href: string }[]> }[])[0]?._links['wp:user-global-styles']?.[0]?.href ?? ''
    stylesId = Number(/global-styles\/(\d+)$/.exec(decodeURIComponent(link))?.[1])
    assert.ok(stylesId > 0, `the active theme links its user global styles: ${link}`)
    await homePage() // WordPress adds options on its first page loads: before the daemon
    daemon = await startDaemon(wp)
    offset = await events.end()
  })

  after(async () => {
    await daemon?.stop()
    await wp?.stop()
  })

  it('the global background and the header saved through the Site Editor are one snapshot, attributed to wp:admin', async () => {
    let from = daemon.lines.length
    const first = await saveDesign('#aa1111', 'PG-HEADER-ONE')
    for (const r of first) assert.equal(r.status, 200, JSON.stringify(r.json).slice(0, 400))
    const one = await snapshotAfter(from, /global styles.*template part “header”/)
    assert.equal(snapshotsSince(from).length, 1, 'one snapshot for both saves')
    s1 = String(one.state)
    headerId = (await entityId('wp_template_part', 'header'))[0] ?? 0
    assert.ok(headerId, 'the header is a post now')

    from = daemon.lines.length
    const second = await saveDesign('#22bb22', 'PG-HEADER-TWO')
    for (const r of second) assert.equal(r.status, 200, JSON.stringify(r.json).slice(0, 400))
    const two = await snapshotAfter(from, /global styles.*template part “header”/)
    assert.equal(snapshotsSince(from).length, 1, 'one snapshot for both saves')
    const shown = await show(String(two.state))
    assert.deepEqual(shown.changes.options.map((o) => `${o.change} ${o.name}`).sort(), [`modified ${STYLES}`, `modified ${HEADER}`].sort())
    assert.match(shown.causedBy ?? '', /^wp:admin \(#1\) from 127\.0\.0\.1$/)
    const list = await wp.cli(['--json', 'list'])
    assert.match((list.json as { causedBy: string }[])[0]?.causedBy ?? '', /^wp:admin \(#1\)/)
    // (WordPress 6.1 keeps the global stylesheet for a minute: the colour shows on the home page after the restore's cache flush)
    assert.ok((await homePage()).includes('PG-HEADER-TWO'))
    const ev = await newEvents()
    assert.ok(ev.some((e) => e.event === 'entity_saved' && e.subject === HEADER && e.user === 'admin'), JSON.stringify(ev))
    assert.ok(ev.some((e) => e.event === 'entity_saved' && e.subject === STYLES && e.user === 'admin'), JSON.stringify(ev))
  })

  it('restoring the earlier state puts the old colour and header back on the home page, the header under its post id', async () => {
    const r = await wp.cli(['restore', s1, '--yes', '--json'])
    ok(r, 'restore')
    const html = await homePage()
    assert.equal(background(html), '#aa1111')
    assert.ok(html.includes('PG-HEADER-ONE'), 'the earlier header')
    assert.ok(!html.includes('PG-HEADER-TWO'))
    assert.deepEqual(await entityId('wp_template_part', 'header'), [headerId])
    // the editor reads it back as it was
    const part = await rest('GET', HEADER_ROUTE, undefined, '&context=edit')
    assert.match(String((part.json.content as { raw: string }).raw), /PG-HEADER-ONE/)
  })

  it('a customised template deleted through the Site Editor comes back with its post id', async () => {
    let from = daemon.lines.length
    const made = await rest('POST', HOME_ROUTE, { content: '<!-- wp:template-part {"slug":"header","theme":"twentytwentythree","tagName":"header"} /-->\n<!-- wp:paragraph -->\n<p>PG-HOME-CUSTOM</p>\n<!-- /wp:paragraph -->' })
    assert.equal(made.status, 200, JSON.stringify(made.json).slice(0, 400))
    const [homeId] = await entityId('wp_template', 'home')
    assert.ok(homeId)
    const saved = await snapshotAfter(from, /template “home”/)
    assert.ok((await homePage()).includes('PG-HOME-CUSTOM'))

    from = daemon.lines.length
    const gone = await rest('DELETE', HOME_ROUTE, undefined, '&force=true')
    assert.equal(gone.status, 200, JSON.stringify(gone.json).slice(0, 400))
    assert.equal(await postRow(homeId as number), null)
    const deleted = await snapshotAfter(from, /template “home”/)
    const shown = await show(String(deleted.state))
    assert.deepEqual(shown.changes.options.map((o) => `${o.change} ${o.name}`), [`removed ${HOME}`])
    assert.match(shown.causedBy ?? '', /^wp:admin \(#1\)/, 'the deletion is attributed too')
    assert.ok(!(await homePage()).includes('PG-HOME-CUSTOM'))

    ok(await wp.cli(['restore', String(saved.state), '--yes', '--only', HOME]), 'restore the template')
    const back = await postRow(homeId as number)
    assert.equal(back?.post_type, 'wp_template')
    assert.equal(back?.post_name, 'home')
    assert.match(back?.post_content ?? '', /PG-HOME-CUSTOM/)
    assert.ok((await homePage()).includes('PG-HOME-CUSTOM'), 'the home page uses it again')
  })

  it("during a freeze the editor's saves get the bridge's refusal with the reason and approval URL, and nothing changes", async () => {
    ok(await wp.cli(['freeze', 'start', '--for', '30m', '--reason', REASON]), 'freeze start')
    await bridgeFrozen(true)
    await newEvents()
    const before = await postRow(headerId)
    const stylesBefore = await postRow(stylesId)
    const from = daemon.lines.length
    for (const [route, body] of [
      [HEADER_ROUTE, { content: header('PG-HEADER-FROZEN') }],
      [`/wp/v2/global-styles/${stylesId}`, { styles: { color: { background: '#000000' } }, settings: {} }],
    ] as const) {
      const r = await rest('POST', route, body)
      assert.equal(r.status, 403, JSON.stringify(r.json))
      assert.equal(r.json.code, 'peakguard_freeze')
      // the block editor shows the REST error's message in its notice
      assert.ok(String(r.json.message).includes(REASON), `the reason is in the message: ${String(r.json.message)}`)
      assert.ok(String(r.json.message).includes(APPROVALS), 'and where to ask for an approval')
    }
    const del = await rest('DELETE', HEADER_ROUTE, undefined, '&force=true')
    assert.equal(del.status, 403)
    assert.deepEqual(await postRow(headerId), before, 'the header is as it was')
    assert.deepEqual(await postRow(stylesId), stylesBefore, 'the global styles are as they were')
    const ev = await newEvents()
    assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject === `POST ${HEADER_ROUTE} ${HEADER}` && e.user === 'admin'), JSON.stringify(ev))
    assert.ok(ev.some((e) => e.event === 'freeze_refused' && e.subject.endsWith(STYLES)), JSON.stringify(ev))

    // underneath the REST routes: a save from PHP (a plugin, a script) is stopped too
    const out = await wp.php(`wp_set_current_user( 1 ); wp_update_post( array( 'ID' => ${headerId}, 'post_content' => 'PG-FROM-PHP' ) ); echo 'not stopped';`)
    assert.ok(!out.includes('not stopped'), `the request ends at the freeze: ${out.replace(/<style[\s\S]*?<\/style>/, '').slice(0, 1500)}`)
    assert.ok(out.includes(REASON), 'with the freeze as its message')
    assert.deepEqual(await postRow(headerId), before)
    assert.ok((await newEvents()).some((e) => e.event === 'freeze_refused' && e.subject === HEADER))
    assert.deepEqual(snapshotsSince(from), [], 'nothing changed, nothing recorded')
  })

  it('during the freeze an SQL edit of the header is reverted and waits as a change request naming the entity', async () => {
    const before = await postRow(headerId)
    const from = daemon.lines.length
    await wp.db.query(`UPDATE ${wp.prefix}posts SET post_content = ? WHERE ID = ?`, [header('PG-HEADER-SQL'), headerId])
    await daemon.waitFor((l) => l.msg === 'freeze: change reverted, waiting for approval', 30_000, from)
    assert.deepEqual(await postRow(headerId), before, 'the header is back')
    assert.ok(!(await homePage()).includes('PG-HEADER-SQL'))
    const list = await wp.cli(['--json', 'requests'])
    ok(list, 'requests')
    const req = (list.json as { items: { options: string[] }; reverted: boolean; status: string }[]).find((r) => r.items.options.includes(HEADER))
    assert.ok(req, `a change request names ${HEADER}: ${list.stdout}`)
    assert.deepEqual([req.status, req.reverted], ['pending', true])
  })

  it('a write to a settings table through $wpdb is cancelled during the freeze and recorded as refused; outside it recorded and attributed', async () => {
    await newEvents()
    const insert = `global $wpdb; wp_set_current_user( 1 ); var_export( $wpdb->insert( $wpdb->prefix . 'pg_rates', array( 'id' => 2, 'rate' => '19.0' ) ) ); echo '|'; var_export( $wpdb->update( $wpdb->prefix . 'pg_rates', array( 'rate' => '8.8' ), array( 'id' => 1 ) ) );`
    assert.equal((await wp.php(insert)).trim(), 'false|false', 'both writes are cancelled')
    assert.deepEqual(await rates(), ['1=7.7'])
    const refused = (await newEvents()).filter((e) => e.event === 'freeze_refused')
    assert.deepEqual(refused.map((e) => `${e.subject} ${e.user}`), ['table:pg_rates admin'], 'recorded once per request and table')
    // a read is no write
    assert.equal((await wp.php(`global $wpdb; echo $wpdb->get_var( "SELECT rate FROM {$wpdb->prefix}pg_rates WHERE id = 1" );`)).trim(), '7.7')

    ok(await wp.cli(['freeze', 'stop', '--reason', 'launch is over']), 'freeze stop')
    await bridgeFrozen(false)
    const from = daemon.lines.length
    assert.equal((await wp.php(insert)).trim(), '1|1')
    assert.deepEqual(await rates(), ['1=8.8', '2=19.0'])
    const snap = await snapshotAfter(from, /pg_rates/)
    const shown = await show(String(snap.state))
    assert.deepEqual(shown.changes.options.map((o) => `${o.change} ${o.name}`).sort(), ['added table:pg_rates#2', 'modified table:pg_rates#1'])
    assert.match(shown.causedBy ?? '', /^wp:admin \(#1\)$/, 'attributed to the WordPress user of the PHP request')
    assert.ok((await newEvents()).some((e) => e.event === 'table_write' && e.subject === 'table:pg_rates'))
  })
})
