// The web UI and its API over real HTTP, served by the real daemon on a sample site: authentication (token,
// session), roles (401/403 on every acting route), the CSRF check, login lockout, security headers, the
// API's CLI-shaped JSON, and the pages an operator uses. The browser end-to-end run on a real WordPress is
// test/e2e.test.ts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fastDaemonConfig, isSnapshot, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, phpSerialize, type TestSite } from './harness/site.ts'
import { cliWithInput, csrfOf, login, makeUsers } from './harness/users.ts'
import { WpClient } from './harness/wordpress.ts'

const PLUGIN = 'plugins/akismet/akismet.php'

describe('web UI and API (sample site, real daemon)', function () {
  this.timeout(240_000)
  let site: TestSite
  let daemon: RunningDaemon
  let tokens: Record<string, string>
  let good: string

  const api = (p: string, token: string | null, init: RequestInit = {}) =>
    fetch(`${daemon.url}${p}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': 'application/json', ...((init.headers as Record<string, string>) ?? {}) } })

  before(async () => {
    site = await createSite({ siteConfig: fastDaemonConfig('    freeze: { zone: Europe/Amsterdam, policy: hold }\n') })
    tokens = await makeUsers(site.configFile, 'ada', { olga: 'operator', vic: 'viewer', paul: 'approver', lou: 'viewer', ivy: 'viewer', nina: 'viewer' })
    const snap = await site.cli(['--json', 'snapshot', '--message', 'launch state'], { PEAKGUARD_TOKEN: tokens.ada as string })
    assert.equal(snap.code, 0, snap.stderr)
    good = (snap.json as { id: string }).id
    assert.equal((await site.cli(['mark-good', good, '--note', 'launch'], { PEAKGUARD_TOKEN: tokens.ada as string })).code, 0)
    // as behind a TLS proxy on this host: its X-Forwarded-Proto decides the cookie's Secure flag
    daemon = await startDaemon(site, {}, [], { trustProxy: 'loopback', hosts: ['peakguard.shop.example'] })
    await daemon.waitFor((l) => l.msg === 'peakguard daemon running', 60_000)
  })

  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  it('answers 401 without credentials and 403 for a role that may not act; the API speaks the CLI shapes', async () => {
    assert.equal((await api('/api/sites/shop/states', null)).status, 401)
    assert.equal((await api('/api/sites/shop/states', 'pgt_not-a-token')).status, 401)
    const res = await api('/api/sites/shop/states', tokens.vic as string)
    assert.equal(res.status, 200)
    const cli = await site.cli(['--json', 'list'], { PEAKGUARD_TOKEN: tokens.vic as string })
    assert.deepEqual(await res.json(), cli.json, 'GET /api/sites/shop/states is `peakguard list --json`')
    const show = await (await api(`/api/sites/shop/states/${good.slice(0, 8)}`, tokens.vic as string)).json()
    assert.deepEqual(show, (await site.cli(['--json', 'show', good], { PEAKGUARD_TOKEN: tokens.vic as string })).json, 'GET …/states/ID is `peakguard show --json`')
    const diff = await (await api(`/api/sites/shop/diff?from=${good}`, tokens.vic as string)).json()
    assert.deepEqual(diff, (await site.cli(['--json', 'diff', good], { PEAKGUARD_TOKEN: tokens.vic as string })).json, 'GET …/diff is `peakguard diff --json`')
    const freeze = (await (await api('/api/sites/shop/freeze', tokens.vic as string)).json()) as Record<string, unknown>
    const cliFreeze = (await site.cli(['--json', 'freeze', 'status'], { PEAKGUARD_TOKEN: tokens.vic as string })).json as Record<string, unknown>
    assert.deepEqual(Object.keys(freeze).sort(), Object.keys(cliFreeze).sort(), 'GET …/freeze has the fields of `peakguard freeze status --json`')
    assert.equal((await api('/API/sites/shop/states', tokens.vic as string)).status, 200, 'the API path in any case takes the token')
    const page = await fetch(`${daemon.url}/sites/shop/states`, { headers: { authorization: `Bearer ${tokens.vic}` }, redirect: 'manual' })
    assert.equal(page.status, 401, 'an API token is for /api, not the pages')
    const denied = await api('/api/sites/shop/restores', tokens.vic as string, { method: 'POST', body: JSON.stringify({ target: good, dryRun: false }) })
    assert.equal(denied.status, 403)
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'FORBIDDEN')
    assert.equal((await api('/api/sites/shop/freeze', tokens.olga as string, { method: 'POST', body: JSON.stringify({ for: '1h', reason: 'x' }) })).status, 403)
    assert.equal((await api('/api/users', tokens.paul as string)).status, 403)
    assert.equal((await api('/api/sites/nope/states', tokens.vic as string)).status, 404)
  })

  it('restores through the API with a token: dry run for a viewer, the real one for an operator', async () => {
    const file = path.join(site.wpContent, PLUGIN)
    const before = fs.readFileSync(file, 'utf8')
    const from = daemon.lines.length
    fs.writeFileSync(file, '<?php fatal_error_here(');
    await daemon.waitFor(isSnapshot, 30_000, from)
    const dry = await api('/api/sites/shop/restores', tokens.vic as string, { method: 'POST', body: JSON.stringify({ target: good.slice(0, 12), dryRun: true }) })
    assert.equal(dry.status, 200)
    const plan = (await dry.json()) as { dryRun: boolean; plan: { files: { path: string }[] } }
    assert.equal(plan.dryRun, true)
    assert.deepEqual(plan.plan.files.map((f) => f.path), [PLUGIN])
    assert.equal(fs.readFileSync(file, 'utf8'), '<?php fatal_error_here(', 'a dry run writes nothing')
    const bad = await api('/api/sites/shop/restores', tokens.olga as string, { method: 'POST', body: JSON.stringify({ target: 'zzzz', dryRun: false }) })
    assert.equal(bad.status, 400, 'a target that is no state id is a clear 400')
    // bodies of the wrong shape are refused, naming the field, and nothing is restored: "true" is not a dry
    // run, 123 or {} is not a list of units, an unknown field is no field
    const headBefore = (await site.cli(['--json', 'list'], { PEAKGUARD_TOKEN: tokens.vic as string })).json as { id: string }[]
    for (const [body, field] of [
      [{ target: good, dryRun: 'true' }, /dryRun: expected boolean/],
      [{ target: good, dryRun: false, only: 123 }, /only: expected array/],
      [{ target: good, dryRun: false, only: {} }, /only: expected array/],
      [{ target: good, dryRun: false, only: [true] }, /only\.0: expected string/],
      [{ target: good, dryRun: false, only: [''] }, /only\.0: missing or empty/],
      [{ target: good, dryRun: false, breakGlass: 'yes' }, /breakGlass: expected object/],
      [{ target: good, dryRun: false, acrossSchemaChange: 'true' }, /acrossSchemaChange: expected boolean/],
      [{ target: good, dryRun: false, acrossSchemaChange: 1 }, /acrossSchemaChange: expected boolean/],
      [{ target: good, dryRun: false, acrossSchemaChange: true, restoreMarkers: 'yes' }, /restoreMarkers: expected boolean/],
      [{ target: good, dryRun: false, dryrun: true }, /"dryrun": no such field/],
      [{ target: [good], dryRun: false }, /target: expected string/],
      [[good], /the body: expected object/],
    ] as const) {
      const r = await api('/api/sites/shop/restores', tokens.olga as string, { method: 'POST', body: JSON.stringify(body) })
      assert.equal(r.status, 400, JSON.stringify(body))
      const e = ((await r.json()) as { error: { code: string; message: string } }).error
      assert.equal(e.code, 'USAGE')
      assert.match(e.message, field, JSON.stringify(body))
    }
    // writing old migration markers is an admin's: an operator is refused before anything is done
    const markers = await api('/api/sites/shop/restores', tokens.olga as string, { method: 'POST', body: JSON.stringify({ target: good, dryRun: false, acrossSchemaChange: true, restoreMarkers: true }) })
    assert.equal(markers.status, 403)
    assert.equal(((await markers.json()) as { error: { code: string } }).error.code, 'FORBIDDEN')
    assert.equal(fs.readFileSync(file, 'utf8'), '<?php fatal_error_here(', 'no body of the wrong shape restored anything')
    const headAfter = (await site.cli(['--json', 'list'], { PEAKGUARD_TOKEN: tokens.vic as string })).json as { id: string }[]
    assert.equal(headAfter.length, headBefore.length, 'not even a safety snapshot was taken')
    // free text on one printable line: a newline would forge an audit line, ESC would reach a terminal
    for (const reason of ['launch\nFAKE audit line', '\u001b[2J', '\u0000', 'a\u202ereversed'])
      for (const [route, body] of [
        ['/api/sites/shop/freeze', { for: '1h', reason }],
        ['/api/sites/shop/allows', { scope: 'plugins/akismet', for: '10m', reason }],
      ] as const) {
        const r = await api(route, tokens.paul as string, { method: 'POST', body: JSON.stringify(body) })
        assert.equal(r.status, 400, `${route} ${JSON.stringify(reason)}`)
        assert.match(((await r.json()) as { error: { message: string } }).error.message, /holds a control character \(U\+[0-9A-F]{4}\): write it on one line/)
      }
    const st = (await (await api('/api/sites/shop/freeze', tokens.vic as string)).json()) as { frozen: boolean; allowed: unknown[] }
    assert.equal(st.frozen, false, 'no freeze was started')
    assert.deepEqual(st.allowed, [], 'no allow-window was opened')
    const done = await api('/api/sites/shop/restores', tokens.olga as string, { method: 'POST', body: JSON.stringify({ target: good, dryRun: false }) })
    assert.equal(done.status, 201)
    const r = (await done.json()) as { verified: boolean; safetySnapshot: string; target: string; caches: unknown }
    assert.equal(r.verified, true)
    assert.equal(r.target, good)
    assert.match(r.safetySnapshot, /^[0-9a-f]{40}$/)
    assert.equal(fs.readFileSync(file, 'utf8'), before)
    const audit = await site.cli(['--json', 'audit', '--type', 'restore'], { PEAKGUARD_TOKEN: tokens.vic as string })
    assert.ok((audit.json as { entries: { actor: string }[] }).entries.some((e) => e.actor === 'olga'), 'the restore is audited as olga')
  })

  it('answers only requests for its own host names: a DNS-rebinding Host is refused on every route', async () => {
    const port = Number(new URL(daemon.url).port)
    const get = (p: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const rq = http.request({ host: '127.0.0.1', port, path: p, headers: { host, authorization: `Bearer ${tokens.vic}` } }, (res) => {
          let body = ''
          res.on('data', (d: Buffer) => (body += d.toString()))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        rq.on('error', reject)
        rq.end()
      })
    for (const p of ['/', '/login', '/healthz', '/metrics', '/api/status', '/static/app.css'])
      for (const host of ['attacker.example', `attacker.example:${port}`, '127.0.0.1.attacker.example', 'localhost.attacker.example']) {
        const r = await get(p, host)
        assert.equal(r.status, 421, `${p} with Host ${host}`)
        assert.match(r.body, /does not answer to the host .* add the name to ui\.hosts/, `${p} with Host ${host}`)
      }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `peakguard.shop.example:${port}`])
      assert.equal((await get('/healthz', host)).status, 200, `Host ${host}`)
  })

  it('logs in with a session cookie (HttpOnly, SameSite=Strict), sends security headers, refuses a POST without the CSRF token', async () => {
    const c = new WpClient(daemon.url)
    const form = await c.get('/login')
    const csp = form.headers.get('content-security-policy') ?? ''
    assert.match(csp, /script-src 'self'/)
    assert.doesNotMatch(csp, /unsafe-inline[^;]*;?\s*$|script-src[^;]*unsafe-inline/)
    assert.match(csp, /frame-ancestors 'none'/)
    assert.equal(form.headers.get('x-content-type-options'), 'nosniff')
    assert.doesNotMatch(form.body, /<script>|<script [^>]*>[^<]/, 'no inline script')
    const res = await fetch(`${daemon.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ _csrf: csrfOf(form.body), name: 'olga', password: 'olga-password-1', next: '/' }).toString(),
    })
    assert.equal(res.status, 303)
    const cookie = res.headers.getSetCookie().find((x) => x.startsWith('peakguard.sid='))
    assert.ok(cookie, 'a session cookie')
    assert.match(cookie, /HttpOnly/i)
    assert.match(cookie, /SameSite=Strict/i)
    assert.doesNotMatch(cookie, /Secure/i, 'plain http on 127.0.0.1: not Secure')
    // behind the trusted TLS proxy: the login form's cookie is Secure (with the __Host- prefix), and so is the session's
    const tls = new WpClient(daemon.url)
    const viaTls = await tls.get('/login', { headers: { 'x-forwarded-proto': 'https' } })
    assert.equal(viaTls.headers.getSetCookie().find((x) => x.startsWith('peakguard.sid=')), undefined, 'no session for the login form')
    assert.match(viaTls.headers.getSetCookie().find((x) => x.startsWith('__Host-peakguard.login=')) ?? '', /;\s*Secure/i, 'Secure behind the trusted TLS proxy')
    const tlsLogin = await tls.post('/login', { _csrf: csrfOf(viaTls.body), name: 'olga', password: 'olga-password-1', next: '/' }, { headers: { 'x-forwarded-proto': 'https' }, follow: false })
    assert.equal(tlsLogin.status, 303)
    assert.match(tlsLogin.headers.getSetCookie().find((x) => x.startsWith('peakguard.sid=')) ?? '', /;\s*Secure/i, 'Secure behind the trusted TLS proxy')
    assert.equal(form.headers.get('cache-control'), 'no-store')
    // the login never sends anyone elsewhere afterwards
    const away = new WpClient(daemon.url)
    const awayForm = await away.get('/login')
    const gone = await away.post('/login', { _csrf: csrfOf(awayForm.body), name: 'olga', password: 'olga-password-1', next: '//evil.example/x' }, { follow: false })
    assert.equal(gone.status, 303)
    assert.equal(gone.headers.get('location'), '/')

    const { c: olga, page } = await login(daemon.url, 'olga', 'olga-password-1')
    assert.match(page, /Site shop/)
    const head = (await site.cli(['--json', 'list'])).json as { id: string }[]
    // a forged form: the session cookie rides along, the token does not
    const forged = await olga.post('/sites/shop/restores', { target: good })
    assert.equal(forged.status, 403)
    assert.match(forged.body, /CSRF/)
    const wrong = await olga.post('/sites/shop/restores', { target: good, _csrf: 'x'.repeat(64) })
    assert.equal(wrong.status, 403)
    const after = (await site.cli(['--json', 'list'])).json as { id: string }[]
    assert.equal(after[0]?.id, head[0]?.id, 'nothing was restored')
    // the same through the API with the session cookie but no X-CSRF-Token
    const apiForged = await olga.request('POST', '/api/sites/shop/restores', { headers: { 'content-type': 'application/json' } })
    assert.equal(apiForged.status, 403)
  })

  it('counts parallel login guesses before checking them: no more than 5 are ever tried', async () => {
    const c = new WpClient(daemon.url)
    const f = await c.get('/login')
    const token = csrfOf(f.body)
    const tries = await Promise.all(Array.from({ length: 12 }, (_, i) => c.post('/login', { _csrf: token, name: 'ivy', password: i === 11 ? 'ivy-password-1' : `guess-${i}`, next: '/' })))
    assert.equal(tries.filter((r) => r.status === 401).length + tries.filter((r) => r.status === 303 || r.status === 200).length <= 5, true, tries.map((r) => r.status).join(' '))
    assert.ok(tries.filter((r) => r.status === 429).length >= 7, tries.map((r) => r.status).join(' '))
    const audit = await site.cli(['--json', 'audit', '--type', 'login-failed', '--actor', 'ivy'], { PEAKGUARD_TOKEN: tokens.vic as string })
    assert.ok((audit.json as { entries: unknown[] }).entries.length <= 5)
    // another address is not locked out with it: ivy logs in through the proxy from elsewhere
    const other = new WpClient(daemon.url)
    const of = await other.get('/login', { headers: { 'x-forwarded-for': '203.0.113.7' } })
    const fine = await other.post('/login', { _csrf: csrfOf(of.body), name: 'ivy', password: 'ivy-password-1', next: '/' }, { headers: { 'x-forwarded-for': '203.0.113.7' } })
    assert.equal(fine.status, 200, fine.body.slice(0, 300))
    // a name nobody has is audited without it (a password typed into the name field stays out of the log)
    const g = await c.post('/login', { _csrf: token, name: 'Tr0ub4dor&3', password: 'x', next: '/' }, { headers: { 'x-forwarded-for': '203.0.113.8' } })
    assert.equal(g.status, 401)
    const all = await site.cli(['--json', 'audit', '--type', 'login-failed'], { PEAKGUARD_TOKEN: tokens.vic as string })
    assert.doesNotMatch(JSON.stringify(all.json), /Tr0ub4dor/)
  })

  it('locks a name out after repeated failed logins, and audits each failure', async () => {
    const c = new WpClient(daemon.url)
    for (let i = 0; i < 5; i++) {
      const f = await c.get('/login')
      const r = await c.post('/login', { _csrf: csrfOf(f.body), name: 'lou', password: `wrong-${i}`, next: '/' })
      assert.ok([401, 429].includes(r.status), `attempt ${i}: HTTP ${r.status}`)
    }
    const f = await c.get('/login')
    const locked = await c.post('/login', { _csrf: csrfOf(f.body), name: 'lou', password: 'lou-password-1', next: '/' })
    assert.equal(locked.status, 429, 'the right password does not help while locked out')
    assert.match(locked.body, /too many failed logins: try again in \d+ min/)
    const audit = await site.cli(['--json', 'audit', '--type', 'login-failed'], { PEAKGUARD_TOKEN: tokens.vic as string })
    const entries = (audit.json as { entries: { actor: string; summary: string }[] }).entries.filter((e) => e.actor === 'lou')
    assert.ok(entries.length >= 5, `${entries.length} login-failed entries for lou`)
    assert.ok(entries.every((e) => !e.summary.includes('wrong-')), 'no password in the audit log')
  })

  it('shows a viewer everything but no Restore button, and refuses the restore on the server', async () => {
    const { c } = await login(daemon.url, 'vic', 'vic-password-1')
    const home = await c.get('/')
    assert.equal(home.status, 200)
    assert.match(home.body, /Last known-good/)
    assert.doesNotMatch(home.body, /data-testid="restore-last-good"/)
    const preview = await c.get(`/sites/shop/restore?target=${good}`)
    assert.equal(preview.status, 200)
    assert.doesNotMatch(preview.body, /Confirm restore/)
    const r = await c.post('/sites/shop/restores', { target: good, _csrf: csrfOf(home.body) })
    assert.equal(r.status, 403)
    assert.match(r.body, /vic has role viewer/)
    assert.equal((await c.get('/users')).status, 403)
    assert.equal((await c.post('/logout', {})).status, 403, 'logging out takes the CSRF token too')
  })

  it('a changed password ends the sessions opened with the old one', async () => {
    const { c: nina } = await login(daemon.url, 'nina', 'nina-password-1')
    assert.equal((await nina.get('/')).status, 200)
    const changed = await cliWithInput(site.configFile, ['user', 'passwd', 'nina', '--password-stdin'], 'nina-password-2\n', { PEAKGUARD_TOKEN: tokens.ada as string })
    assert.equal(changed.code, 0, changed.stderr)
    const after = await nina.get('/', { follow: false })
    assert.equal(after.status, 303)
    assert.match(after.headers.get('location') ?? '', /^\/login/)
  })

  it('an operator restores in two clicks from the overview, and can undo it', async () => {
    const file = path.join(site.wpContent, PLUGIN)
    const before = fs.readFileSync(file, 'utf8')
    const from = daemon.lines.length
    fs.writeFileSync(file, '<?php // broken by a 3 a.m. deploy\nfatal(')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken Shop' WHERE option_name = 'blogname'`)
    await site.db.query(`UPDATE wp_options SET option_value = ? WHERE option_name = 'woocommerce_stripe_settings'`, [phpSerialize({ enabled: 'no', secret_key: 'sk_live_SECRET123' })])
    await daemon.waitFor(isSnapshot, 30_000, from)
    await site.db.query(`INSERT INTO wp_posts (post_title, post_type, post_status) VALUES ('Order 1002', 'shop_order', 'wc-processing')`)

    const { c } = await login(daemon.url, 'olga', 'olga-password-1')
    const home = await c.get('/')
    const latest = (await (await api('/api/sites/shop/states', tokens.vic as string)).json()) as { id: string }[]
    const bad = await c.get(`/sites/shop/states/${latest[0]?.id}?against=${good}`)
    assert.match(bad.body, /woocommerce_stripe_settings/)
    assert.match(bad.body, /&quot;enabled&quot;: &quot;no&quot;/, 'the changed setting is shown')
    assert.match(bad.body, /secret, hidden/, 'the API key in it is masked')
    assert.doesNotMatch(bad.body, /sk_live_SECRET123/)
    const link = /href="(\/sites\/shop\/restore\?target=[0-9a-f]{40})" data-testid="restore-last-good"/.exec(home.body)
    assert.ok(link, 'a Restore button on the last known-good')
    const preview = await c.get((link[1] as string).replace(/&amp;/g, '&'))
    assert.match(preview.body, /akismet\.php/)
    assert.match(preview.body, /option <code>blogname<\/code>/)
    assert.match(preview.body, /orders/)
    const done = await c.post('/sites/shop/restores', { target: good, _csrf: csrfOf(preview.body) })
    assert.equal(done.status, 200, done.body.slice(0, 400))
    assert.match(done.url, /\/sites\/shop\/restores\/[0-9a-f]{40}$/)
    assert.match(done.body, /Restored and verified/)
    assert.equal(fs.readFileSync(file, 'utf8'), before)
    const [rows] = (await site.db.query(`SELECT option_value FROM wp_options WHERE option_name = 'blogname'`)) as [{ option_value: string }[], unknown]
    assert.equal(rows[0]?.option_value, 'Campaign Shop')
    const [orders] = (await site.db.query(`SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'shop_order'`)) as [{ n: number }[], unknown]
    assert.equal(Number(orders[0]?.n), 2, 'the order placed after the known-good state is still there')
    const undo = /href="(\/sites\/shop\/restore\?target=[0-9a-f]{40})">Undo this restore/.exec(done.body)
    assert.ok(undo, 'an undo action')
    const undoPreview = await c.get(undo[1] as string)
    assert.match(undoPreview.body, /akismet\.php/, 'undo would put the broken plugin back: the safety snapshot holds it')
  })

  it('shows a state with its diff: text files as unified diffs, PHP-serialized options unserialized', async () => {
    const from = daemon.lines.length
    await site.db.query(`UPDATE wp_options SET option_value = ? WHERE option_name = 'widget_text'`, [phpSerialize({ 2: { title: 'Sale over', text: 'Ends at midnight – 50% off 🎉' } })])
    const snap = await daemon.waitFor(isSnapshot, 30_000, from)
    const { c } = await login(daemon.url, 'vic', 'vic-password-1')
    const page = await c.get(`/sites/shop/states/${good}?against=${String(snap.state)}`)
    assert.equal(page.status, 200)
    assert.match(page.body, /PHP-serialized, shown unserialized/)
    assert.match(page.body, /<span class="l-del">-\s+&quot;title&quot;: &quot;Sale over&quot;,<\/span>/)
    assert.match(page.body, /<span class="l-add">\+\s+&quot;title&quot;: &quot;Sale&quot;,<\/span>/)
    const timeline = await c.get('/sites/shop/states?kind=manual')
    assert.match(timeline.body, /launch state/)
    assert.match(timeline.body, /known-good/)
    assert.match(timeline.body, /<time datetime="[^"]+Z" title="[^"]+ UTC">/, 'times in the site zone, UTC on hover')
    // against the live site each changed unit has its own restore: just this option, nothing else
    const { c: olga } = await login(daemon.url, 'olga', 'olga-password-1')
    const vsLive = await olga.get(`/sites/shop/states/${good}`)
    const just = /href="(\/sites\/shop\/restore\?target=[0-9a-f]{40}&amp;only=option%3Awidget_text)">Restore just option:widget_text/.exec(vsLive.body)
    assert.ok(just, 'a "Restore just" link for the changed option')
    const justPreview = await olga.get((just[1] as string).replace(/&amp;/g, '&'))
    assert.match(justPreview.body, /option <code>widget_text<\/code>/)
    assert.doesNotMatch(justPreview.body, /akismet/)
    const justDone = await olga.post('/sites/shop/restores', { target: good, only: 'option:widget_text', _csrf: csrfOf(justPreview.body) })
    assert.match(justDone.body, /Restored and verified/)
    const [w] = (await site.db.query(`SELECT option_value FROM wp_options WHERE option_name = 'widget_text'`)) as [{ option_value: string }[], unknown]
    assert.match(w[0]?.option_value ?? '', /"Sale"/)
    const badFilter = await c.get('/sites/shop/states?since=yesterday-ish')
    assert.equal(badFilter.status, 200)
    assert.match(badFilter.body, /give an ISO time/)
  })

  it('freeze and approvals: an approver freezes, a held change waits, the author cannot decide it, another approver can', async () => {
    const { c: paul } = await login(daemon.url, 'paul', 'paul-password-1')
    const fpage = await paul.get('/sites/shop/freeze')
    const started = await paul.post('/sites/shop/freeze/start', { _csrf: csrfOf(fpage.body), for: '2h', reason: 'Black Friday launch' })
    assert.equal(started.status, 200)
    assert.match(started.body, /FROZEN/)
    assert.match(started.body, /Black Friday launch/)
    const from = daemon.lines.length
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), "<?php\n/* Plugin Name: Hello Dolly */\n// a held change\n")
    const held = await daemon.waitFor((l) => l.msg === 'freeze: change held for approval', 30_000, from)
    const list = (await (await api('/api/sites/shop/requests', tokens.vic as string)).json()) as { id: string }[]
    const req = list.find((x) => x.id === held.request)
    assert.ok(req, 'a pending change request')
    // paul asks for its approval: from then on he may not decide it himself
    const asked = await site.cli(['request', req.id, '--reason', 'needed for the launch'], { PEAKGUARD_TOKEN: tokens.paul as string })
    assert.equal(asked.code, 0, asked.stderr)
    const mine = await paul.get('/sites/shop/requests')
    assert.match(mine.body, /You cannot decide this one: paul cannot decide change request/)
    const refused = await paul.post(`/sites/shop/requests/${req.id}/approve`, { _csrf: csrfOf(mine.body), note: 'self' })
    assert.equal(refused.status, 403)
    const { c: ada } = await login(daemon.url, 'ada', 'ada-password-1')
    const page = await ada.get('/sites/shop/requests')
    assert.match(page.body, /hello\.php/)
    const approved = await ada.post(`/sites/shop/requests/${req.id}/approve`, { _csrf: csrfOf(page.body), note: 'ok for launch' })
    assert.equal(approved.status, 200)
    assert.match(approved.body, /Approved [0-9a-z-]+: kept live/)
    const allowed = await paul.post('/sites/shop/allows', { _csrf: csrfOf((await paul.get('/sites/shop/freeze')).body), scope: 'plugins/akismet', for: '30m', reason: 'hotfix' })
    assert.match(allowed.body, /Allowed changes to plugins\/akismet until/)
    assert.match(allowed.body, /<code>plugins\/akismet<\/code> until/)
    const tooLong = await paul.post('/sites/shop/allows', { _csrf: csrfOf(allowed.body), scope: 'plugins/akismet', for: '3d', reason: 'x' })
    assert.equal(tooLong.status, 400)
    assert.match(tooLong.body, /at most 24h/)
    const stop = await paul.post('/sites/shop/freeze/stop', { _csrf: csrfOf((await paul.get('/sites/shop/freeze')).body), reason: 'launch over' })
    assert.match(stop.body, /Manual freeze stopped/)
  })

  it('audit page: filters, chain status, CSV and JSON export; users page for admins', async () => {
    const { c } = await login(daemon.url, 'ada', 'ada-password-1')
    const page = await c.get('/sites/shop/audit?type=approval')
    assert.match(page.body, /Hash chain intact/)
    assert.match(page.body, /ok for launch/)
    const csv = await c.get('/sites/shop/audit?type=restore&format=csv')
    assert.match(csv.headers.get('content-type') ?? '', /text\/csv/)
    assert.match(csv.body.split('\r\n')[0] as string, /^seq,time,type,actor,site,summary/)
    const json = JSON.parse((await c.get('/sites/shop/audit?format=json')).body) as { entries: unknown[] }
    assert.ok(json.entries.length > 5)
    const users = await c.get('/users')
    assert.match(users.body, /olga/)
    const added = await c.post('/users', { _csrf: csrfOf(users.body), name: 'rita', role: 'operator', password: 'rita-password-1', wpUsers: 'rita.wp', osUsers: '' })
    assert.match(added.body, /Added rita \(operator\)/)
    assert.equal((await login(daemon.url, 'rita', 'rita-password-1')).page.includes('rita (operator)'), true)
    const short = await c.post('/users', { _csrf: csrfOf(added.body), name: 'sam', role: 'viewer', password: 'short', wpUsers: '', osUsers: '' })
    assert.equal(short.status, 400)
    const made = await c.post('/tokens', { _csrf: csrfOf(users.body), user: 'vic', note: 'monitoring' })
    const token = /data-testid="new-token">(pgt_[^<]+)</.exec(made.body)?.[1]
    assert.ok(token, 'the new token is shown once')
    assert.equal((await api('/api/sites/shop/freeze', token)).status, 200)
    assert.doesNotMatch((await c.get('/users')).body, new RegExp(token), 'and only once')
  })

  it('never writes an option value into the daemon log', () => {
    assert.doesNotMatch(daemon.output(), /sk_live_SECRET123|Broken Shop|Sale over/)
  })
})
