// Refused requests in the audit log (real daemon, real HTTP, the real `peakguard audit`): a role too low
// (403), a missing or wrong CSRF token (403, the login form's too), a bad API token (401, as the CLI's wrong
// PEAKGUARD_TOKEN), a login while locked out (429) each leave an entry naming the route and the address —
// and a flood of them leaves a bounded number of entries plus a count of the rest, so it cannot fill the disk.
import assert from 'node:assert/strict'
import { startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'
import { csrfOf, login, makeUsers } from './harness/users.ts'
import { WpClient } from './harness/wordpress.ts'

interface Entry {
  seq: number
  type: string
  actor: string
  summary: string
  details?: Record<string, any>
}

describe('refused requests in the audit log (real daemon)', function () {
  this.timeout(240_000)
  let site: TestSite
  let daemon: RunningDaemon
  let tokens: Record<string, string>

  before(async () => {
    site = await createSite()
    tokens = await makeUsers(site.configFile, 'ada', { olga: 'operator', vic: 'viewer' })
    // behind a proxy on this host: X-Forwarded-For gives each request the address a test chooses
    daemon = await startDaemon(site, {}, [], { trustProxy: 'loopback' })
  })
  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  const entries = async (type: string): Promise<Entry[]> => {
    const r = await site.cli(['--json', 'audit', '--type', type], { PEAKGUARD_TOKEN: tokens.ada as string })
    assert.equal(r.code, 0, r.stderr)
    return (r.json as { entries: Entry[] }).entries
  }
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } })
  const api = (p: string, token: string, ip: string, init: RequestInit = {}) =>
    fetch(`${daemon.url}${p}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-forwarded-for': ip } })

  it('each kind of refusal leaves an entry: what was tried (method and route), by whom, from which address', async () => {
    const { c: vic } = await login(daemon.url, 'vic', 'vic-password-1')
    const home = await vic.get('/')
    const stateId = 'a'.repeat(40)

    // 403 by role: a page and the API
    const page = await vic.post('/sites/shop/restores', { target: stateId, _csrf: csrfOf(home.body) }, from('203.0.113.10'))
    assert.equal(page.status, 403)
    const viaApi = await api('/api/sites/shop/freeze', tokens.vic as string, '203.0.113.11', { method: 'POST', body: JSON.stringify({ for: '1h', reason: 'x' }) })
    assert.equal(viaApi.status, 403)
    // 403 by CSRF: a logged-in person's form without its token, and the login form without one
    assert.equal((await vic.post('/sites/shop/freeze/start', { for: '1h', reason: 'forged' }, from('203.0.113.12'))).status, 403)
    const anon = new WpClient(daemon.url)
    assert.equal((await anon.post('/login', { name: 'ada', password: 'ada-password-1', next: '/' }, from('203.0.113.13'))).status, 403)
    // 401: a bad bearer token
    const bad = await api('/api/sites/shop/states', 'pgt_not-a-token', '203.0.113.14')
    assert.equal(bad.status, 401)
    // 401 five times, then 429: a locked-out login
    const guesser = new WpClient(daemon.url)
    const form = csrfOf((await guesser.get('/login', from('203.0.113.15'))).body)
    for (let i = 0; i < 5; i++) assert.equal((await guesser.post('/login', { _csrf: form, name: 'olga', password: `guess-${i}`, next: '/' }, from('203.0.113.15'))).status, 401)
    const locked = await guesser.post('/login', { _csrf: form, name: 'olga', password: 'olga-password-1', next: '/' }, from('203.0.113.15'))
    assert.equal(locked.status, 429)
    // an address no proxy should pass on, from a proxy that does: kept as printable ASCII only
    assert.equal((await api('/api/sites/shop/states', 'pgt_other', '198.51.100.9\u00e9\u00ff')).status, 401)

    const denied = await entries('access-denied')
    const one = (kind: string, ip: string) => {
      const hits = denied.filter((e) => e.details?.kind === kind && e.details.ip === ip)
      assert.equal(hits.length, 1, `one ${kind} entry from ${ip}, found:\n${denied.map((e) => e.summary).join('\n')}`)
      return hits[0] as Entry
    }
    const role = one('role', '203.0.113.10')
    assert.equal(role.actor, 'vic')
    assert.deepEqual([role.details?.method, role.details?.route, role.details?.status], ['POST', '/sites/:site/restores', 403])
    assert.match(role.summary, /^refused POST \/sites\/:site\/restores to vic \(role viewer, by session\) from 203\.0\.113\.10/)
    const roleApi = one('role', '203.0.113.11')
    assert.equal(roleApi.actor, 'vic')
    assert.equal(roleApi.details?.route, '/api/sites/:site/freeze')
    assert.equal(roleApi.details?.via, 'token')
    const csrf = one('csrf', '203.0.113.12')
    assert.equal(csrf.actor, 'vic')
    assert.deepEqual([csrf.details?.method, csrf.details?.route], ['POST', '/sites/shop/freeze/start'])
    assert.match(csrf.summary, /from 203\.0\.113\.12 \(session of vic\): missing or wrong CSRF token \(403\)/)
    const loginCsrf = one('csrf', '203.0.113.13')
    assert.equal(loginCsrf.actor, 'anonymous')
    assert.equal(loginCsrf.details?.route, '/login')
    const lockout = one('locked-out', '203.0.113.15')
    assert.equal(lockout.actor, 'olga', 'a name that exists is named')
    assert.match(lockout.summary, /^refused POST \/login as olga from 203\.0\.113\.15: locked out/)

    const failed = await entries('login-failed')
    const token = failed.filter((e) => e.details?.via === 'token' && e.details.ip === '203.0.113.14')
    assert.equal(token.length, 1, failed.map((e) => e.summary).join('\n'))
    assert.equal(token[0]?.actor, 'anonymous')
    assert.equal(token[0]?.details?.route, '/api/sites/shop/states')
    assert.match(token[0]?.summary ?? '', /^failed token login as an unknown or revoked token on GET \/api\/sites\/shop\/states from 203\.0\.113\.14$/)
    assert.equal(failed.filter((e) => e.details?.via === 'web' && e.details.ip === '203.0.113.15').length, 5, 'each wrong password')
    assert.equal(failed.filter((e) => e.details?.ip === '198.51.100.9??').length, 1, 'the address made printable')
    assert.doesNotMatch(JSON.stringify([...denied, ...failed]), /pgt_|guess-|password-1/, 'no token, no password')

    // the CLI's wrong token: the same kind of entry, with the OS user for the address
    const cli = await site.cli(['snapshot'], { PEAKGUARD_TOKEN: 'pgt_wrong-one' })
    assert.equal(cli.code, 5)
    const cliEntry = (await entries('login-failed')).filter((e) => e.details?.via === 'token' && e.details.osUser)
    assert.equal(cliEntry.length, 1)
    assert.match(cliEntry[0]?.summary ?? '', /^failed token login as unknown \(OS user .+\)$/)

    // the audit page shows them to an admin
    const { c: ada } = await login(daemon.url, 'ada', 'ada-password-1')
    const auditPage = await ada.get('/sites/shop/audit?type=access-denied')
    assert.equal(auditPage.status, 200)
    assert.match(auditPage.body, /refused POST \/sites\/:site\/restores to vic/)
  })

  it('a flood of 3,000 refused requests leaves a bounded number of entries, and counts the rest', async () => {
    const big = '198.51.100.1'
    const small = Array.from({ length: 100 }, (_, i) => `198.51.100.${101 + i}`)
    const addresses = [...Array<string>(2000).fill(big), ...small.flatMap((a) => Array<string>(10).fill(a))]
    for (let i = 0; i < addresses.length; i += 100) {
      const statuses = await Promise.all(
        addresses.slice(i, i + 100).map((ip) =>
          // a forged form: no CSRF token
          fetch(`${daemon.url}/sites/shop/freeze/start`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip }, body: 'for=1h&reason=flood' }).then(async (r) => {
            await r.arrayBuffer()
            return r.status
          }),
        ),
      )
      assert.ok(statuses.every((s) => s === 403), statuses.join(' '))
    }
    const flood = new Set([big, ...small])
    // the counts of what was left out are written when the minute ends, or when the daemon stops (as here,
    // so the test need not wait for the minute): every refused request is accounted for
    assert.equal(await daemon.stop(), 0, daemon.output())
    const all = await entries('access-denied')
    const written = all.filter((e) => e.details?.kind === 'csrf' && flood.has(e.details.ip))
    const summaries = all.filter((e) => e.details?.kind === 'suppressed')
    const counted = written.length + summaries.reduce((n, e) => n + (e.details?.count as number), 0)
    assert.equal(counted, 3000, `each refused request is written or counted: ${written.length} written, summaries:\n${summaries.map((e) => e.summary).join('\n')}`)
    // at most two windows (the flood may straddle the end of one): 20 entries and 6 summaries each
    assert.ok(written.length <= 40, `${written.length} entries for the flood`)
    assert.ok(written.filter((e) => e.details?.ip === big).length <= 20, 'at most 10 per address per minute')
    assert.ok(summaries.length >= 1 && summaries.length <= 12, `${summaries.length} summaries`)
    const mine = summaries.find((e) => e.details?.ip === big)
    assert.ok(mine, summaries.map((e) => e.summary).join('\n'))
    assert.match(mine.summary, /^\d+ more denied requests from 198\.51\.100\.1 suppressed \(csrf \d+\) between \S+ and \S+$/)
    assert.equal(mine.actor, 'peakguard')
    // the log's chain is intact after the flood
    const verify = await site.cli(['audit', 'verify'], { PEAKGUARD_TOKEN: tokens.ada as string })
    assert.equal(verify.code, 0, verify.stdout + verify.stderr)
  })
})
