// The UI's memory under floods from anyone who can reach the port (real daemon, real HTTP): anonymous
// visitors cannot push logged-in operators out of the session store, and a login name cannot be used to
// make the daemon keep large or unbounded data.
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

  it('10,100 anonymous login pages (each a session with a CSRF token) do not log an operator out', async () => {
    const { c: olga } = await login(daemon.url, 'olga', 'olga-password-1')
    assert.equal((await olga.get('/', { follow: false })).status, 200)
    // more than the 10,000 sessions the store keeps, from nobody who logged in
    for (let done = 0; done < 10_100; ) {
      const batch = Array.from({ length: 100 }, () => fetch(`${daemon.url}/login`).then((r) => r.arrayBuffer().then(() => r.status)))
      for (const status of await Promise.all(batch)) assert.equal(status, 200)
      done += batch.length
    }
    const after = await olga.get('/', { follow: false })
    assert.equal(after.status, 200, `the operator is still logged in (HTTP ${after.status})`)
    assert.match(after.body, /olga/)
  })

  it('a login name longer than any user name is refused before anything is kept for it', async () => {
    const c = new WpClient(daemon.url)
    const form = await c.get('/login')
    const r = await c.post('/login', { _csrf: csrfOf(form.body), name: 'n'.repeat(60_000), password: 'x', next: '/' })
    assert.equal(r.status, 400)
    assert.match(r.body, /name: too long \(at most 200\)/)
  })
})
