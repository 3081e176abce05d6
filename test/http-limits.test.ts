// The UI's memory under floods from anyone who can reach the port (real daemon, real HTTP): anonymous
// visitors store no session at all (the login form's CSRF token is stateless: a signed cookie and the same
// value in the form), so they cannot push logged-in operators out of the session store; the login form is
// still protected against CSRF; a login name cannot be used to make the daemon keep large or unbounded data.
import assert from 'node:assert/strict'
import { startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'
import { csrfOf, login, makeUsers } from './harness/users.ts'
import { WpClient } from './harness/wordpress.ts'

describe('web UI under floods (real daemon)', function () {
  this.timeout(240_000)
  let site: TestSite
  let daemon: RunningDaemon

  before(async () => {
    site = await createSite()
    await makeUsers(site.configFile, 'ada', { olga: 'operator' })
    daemon = await startDaemon(site)
  })
  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  /** The session cookie a response sets, if any. */
  const sessionCookie = (r: Response | { headers: Headers }) => r.headers.getSetCookie().find((x) => x.startsWith('peakguard.sid='))

  it('10,100 anonymous login pages store no session and do not log an operator out; a form fetched before them still logs in', async () => {
    const { c: olga } = await login(daemon.url, 'olga', 'olga-password-1')
    assert.equal((await olga.get('/', { follow: false })).status, 200)
    // a person opens the login page, then the flood comes, then they type their password
    const early = new WpClient(daemon.url)
    const earlyForm = await early.get('/login')
    // more than the 10,000 sessions a store keeps, from nobody who logged in
    for (let done = 0; done < 10_100; ) {
      const batch = Array.from({ length: 100 }, () =>
        fetch(`${daemon.url}/login`).then(async (r) => {
          await r.arrayBuffer()
          return { status: r.status, session: sessionCookie(r), form: r.headers.getSetCookie().find((x) => x.startsWith('peakguard.login=')) }
        }),
      )
      for (const r of await Promise.all(batch)) {
        assert.equal(r.status, 200)
        assert.equal(r.session, undefined, `an anonymous GET /login set a session cookie: ${r.session}`)
        assert.ok(r.form, 'the login form comes with its CSRF cookie')
      }
      done += batch.length
    }
    const after = await olga.get('/', { follow: false })
    assert.equal(after.status, 200, `the operator is still logged in (HTTP ${after.status})`)
    assert.match(after.body, /olga/)
    const late = await early.post('/login', { _csrf: csrfOf(earlyForm.body), name: 'ada', password: 'ada-password-1', next: '/' })
    assert.equal(late.status, 200, `the login form from before the flood still works: HTTP ${late.status} ${late.body.slice(0, 300)}`)
    assert.match(late.body, /ada \(admin\)/)
  })

  it('no anonymous page stores a session: not the login form, an error page, a redirect, a failed login or a static file', async () => {
    const c = new WpClient(daemon.url)
    const form = await c.get('/login')
    for (const [what, r] of [
      ['GET /login', form],
      ['GET /no-such-page', await c.get('/no-such-page')],
      ['GET / (to the login)', await c.get('/', { follow: false })],
      ['GET /sites/shop/states (to the login)', await c.get('/sites/shop/states', { follow: false })],
      ['GET /static/app.css', await c.get('/static/app.css')],
      ['a wrong password', await c.post('/login', { _csrf: csrfOf(form.body), name: 'olga', password: 'not-her-password', next: '/' })],
      ['a POST without a token', await c.post('/sites/shop/freeze/start', { for: '1h', reason: 'x' })],
      ['GET /api/status', await c.get('/api/status')],
    ] as const)
      assert.equal(sessionCookie(r), undefined, `${what} (HTTP ${r.status}) set a session cookie`)
    assert.equal(c.cookies.has('peakguard.sid'), false)
    // the login form's cookie: HttpOnly, SameSite=Strict, not Secure on plain http, no expiry (the server
    // checks the token's age)
    const cookie = form.headers.getSetCookie().find((x) => x.startsWith('peakguard.login=')) ?? ''
    assert.match(cookie, /HttpOnly/i)
    assert.match(cookie, /SameSite=Strict/i)
    assert.doesNotMatch(cookie, /Secure|Expires|Max-Age/i)
  })

  it('the login form keeps its CSRF protection: without its token, with a wrong or foreign one, 403 and no session', async () => {
    const post = (cookie: string | null, fields: Record<string, string>) =>
      fetch(`${daemon.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie === null ? {} : { cookie }) },
        body: new URLSearchParams({ name: 'olga', password: 'olga-password-1', next: '/', ...fields }).toString(),
      })
    const a = new WpClient(daemon.url)
    const tokenA = csrfOf((await a.get('/login')).body)
    const cookieA = `peakguard.login=${a.cookies.get('peakguard.login')}`
    const b = new WpClient(daemon.url)
    const tokenB = csrfOf((await b.get('/login')).body)
    assert.match(tokenA, /^v1\.[0-9a-z]+\.[\w-]{22}\.[\w-]{43}$/)
    assert.notEqual(tokenA, tokenB)
    const [head, mac] = [tokenA.slice(0, tokenA.lastIndexOf('.')), tokenA.slice(tokenA.lastIndexOf('.') + 1)]
    const forged = `${head}.${mac.startsWith('A') ? 'B' : 'A'}${mac.slice(1)}`
    const minted = `v1.${Date.now().toString(36)}.${'A'.repeat(22)}.${'A'.repeat(43)}`
    for (const [what, cookie, fields] of [
      ['no token, no cookie (a forged cross-site form)', null, {}],
      ['the cookie but no token in the form', cookieA, {}],
      ['a token in the form but no cookie', null, { _csrf: tokenA }],
      ["another visitor's token with this cookie", cookieA, { _csrf: tokenB }],
      ['a made-up token in both', `peakguard.login=${minted}`, { _csrf: minted }],
      ['a token whose signature was changed, in both', `peakguard.login=${forged}`, { _csrf: forged }],
      ['garbage', 'peakguard.login=x', { _csrf: 'x' }],
    ] as const) {
      const r = await post(cookie, fields)
      assert.equal(r.status, 403, `${what}: HTTP ${r.status}`)
      assert.match(await r.text(), /CSRF/)
      assert.equal(sessionCookie(r), undefined, `${what}: a session cookie`)
    }
    // the real form: its token in the field and the cookie
    const ok = await post(cookieA, { _csrf: tokenA })
    assert.equal(ok.status, 303, `the login form's own token: HTTP ${ok.status}`)
    const session = sessionCookie(ok)
    assert.ok(session, 'a session at login')
    assert.match(ok.headers.getSetCookie().find((x) => x.startsWith('peakguard.login=')) ?? '', /Expires=Thu, 01 Jan 1970/i, 'the form cookie is cleared at login')
    const home = await fetch(`${daemon.url}/`, { headers: { cookie: session.split(';')[0] as string }, redirect: 'manual' })
    assert.equal(home.status, 200)
    assert.match(await home.text(), /olga \(operator\)/)
  })

  it('a login name longer than any user name is refused before anything is kept for it', async () => {
    const c = new WpClient(daemon.url)
    const form = await c.get('/login')
    const r = await c.post('/login', { _csrf: csrfOf(form.body), name: 'n'.repeat(60_000), password: 'x', next: '/' })
    assert.equal(r.status, 400)
    assert.match(r.body, /name: too long \(at most 200\)/)
  })
})
