// The rate limit on audit entries for refused requests (DenialRecorder), on a hand-driven clock: so many per
// address and in all per minute, the rest counted and written as summaries when the minute ends, memory
// bounded however many addresses send; and the login form's stateless CSRF token (LoginCsrf) expiring.
import assert from 'node:assert/strict'
import type { Request, Response } from 'express'
import type { AuditInput } from '../../src/core/index.ts'
import { LOGIN_FORM_MS, LoginCsrf } from '../../src/http/auth.ts'
import { DenialRecorder, requestText } from '../../src/services/audit.ts'

type Entry = Omit<AuditInput, 'site'>

describe('refused requests: the audit rate limit', () => {
  let now: number
  let written: Entry[]
  let rec: DenialRecorder
  const limits = { windowMs: 60_000, perAddress: 3, denials: 5, logins: 4, addresses: 10, summaries: 2 }
  const deny = (ip: string, kind = 'csrf') => rec.record({ key: ip, ip, kind }, () => ({ type: 'access-denied', actor: 'anonymous', summary: `${kind} from ${ip}`, details: { kind, ip } }))
  const fail = (ip: string) => rec.record({ key: ip, ip, kind: 'login-failed', login: true }, () => ({ type: 'login-failed', actor: 'unknown', summary: `failed from ${ip}`, details: { ip } }))
  const summaries = () => written.filter((e) => e.details?.kind === 'suppressed')

  beforeEach(() => {
    now = Date.parse('2026-03-01T12:00:00Z')
    written = []
    rec = new DenialRecorder(
      async (e) => {
        written.push(e)
      },
      { limits, now: () => now },
    )
  })

  it('writes at most perAddress entries per address and denials in all per window; the rest become one summary per address', async () => {
    for (let i = 0; i < 100; i++) await deny('192.0.2.1')
    assert.equal(written.length, 3, 'three from one address')
    for (const ip of ['192.0.2.2', '192.0.2.3']) for (let i = 0; i < 3; i++) await deny(ip, 'role')
    assert.equal(written.length, 5, 'five in all')
    now += 60_000
    await deny('192.0.2.4')
    await rec.flush()
    const s = summaries()
    assert.deepEqual(
      s.map((e) => [e.details?.ip, e.details?.count]),
      [
        ['192.0.2.1', 97],
        ['192.0.2.3', 3],
        ['others', 1],
      ],
    )
    assert.match(s[0]?.summary ?? '', /^97 more denied requests from 192\.0\.2\.1 suppressed \(csrf 97\) between 2026-03-01T12:00:00\.000Z and 2026-03-01T12:01:00\.000Z$/)
    assert.match(s[2]?.summary ?? '', /^1 more denied request suppressed \(1 other address: role 1\)/)
    // the next window writes again
    assert.ok(written.some((e) => e.summary === 'csrf from 192.0.2.4'))
  })

  it('writes the summaries when the window ends, without another request', async () => {
    const real = new DenialRecorder(
      async (e) => {
        written.push(e)
      },
      { limits: { ...limits, windowMs: 200 } },
    )
    for (let i = 0; i < 10; i++) await real.record({ key: 'k', ip: '192.0.2.9', kind: 'csrf' }, () => ({ type: 'access-denied', actor: 'anonymous', summary: 'x' }))
    assert.equal(written.length, 3)
    await new Promise((r) => setTimeout(r, 400))
    assert.equal(summaries().length, 1)
    assert.equal(summaries()[0]?.details?.count, 7)
  })

  it('counts failed logins in all only (the login lockout limits them per address), apart from the denials', async () => {
    for (let i = 0; i < 10; i++) await fail('192.0.2.1')
    for (let i = 0; i < 10; i++) await deny('192.0.2.1')
    assert.equal(written.filter((e) => e.type === 'login-failed').length, 4)
    assert.equal(written.filter((e) => e.type === 'access-denied').length, 3)
    await rec.flush()
    assert.deepEqual(summaries()[0]?.details?.kinds, { 'login-failed': 6, csrf: 7 })
  })

  it('keeps at most `addresses` addresses per window, however many send: the rest are counted together', async () => {
    for (let i = 0; i < 5000; i++) await deny(`10.0.${i >> 8}.${i & 255}`)
    assert.equal(written.length, 5)
    await rec.flush()
    const s = summaries()
    assert.equal(s.length, 3, s.map((e) => e.summary).join('\n'))
    assert.equal(
      s.reduce((n, e) => n + (e.details?.count as number), 0),
      4995,
    )
    assert.match(s[2]?.summary ?? '', /4990 from addresses not tracked one by one/)
  })

  it('never lets a failed write reach the request, and keeps what it is given printable', async () => {
    const errors: unknown[] = []
    const broken = new DenialRecorder(
      async () => {
        throw new Error('disk full')
      },
      { onError: (e) => errors.push(e) },
    )
    await broken.record({ key: 'k', ip: 'x', kind: 'csrf' }, () => ({ type: 'access-denied', actor: 'a', summary: 's' }))
    assert.equal(errors.length, 1)
    assert.equal(requestText('/sites/\u001b[31mred\n\u202eevil'), '/sites/?[31mred??evil')
    assert.equal(requestText('a'.repeat(300)).length, 103)
  })
})

describe('the login form CSRF token', () => {
  const fake = (cookie: string | null, field: string | null): Request =>
    ({
      method: 'POST',
      path: '/login',
      secure: false,
      body: field === null ? {} : { _csrf: field },
      get: (h: string) => (h.toLowerCase() === 'cookie' ? (cookie === null ? undefined : `other=1; peakguard.login=${cookie}`) : undefined),
    }) as unknown as Request

  it('is good for an hour, in the cookie and the form alike, and only from the daemon that made it', () => {
    let now = Date.parse('2026-03-01T12:00:00Z')
    const lc = new LoginCsrf(() => now)
    let set = ''
    const res = { cookie: (_n: string, v: string) => void (set = v) } as unknown as Response
    const t = lc.issue(fake(null, null), res)
    assert.equal(set, t)
    assert.equal(lc.valid(fake(t, t)), true)
    assert.equal(lc.valid(fake(t, null)), false)
    assert.equal(lc.valid(fake(null, t)), false)
    assert.equal(new LoginCsrf(() => now).valid(fake(t, t)), false, 'another secret (a restarted daemon)')
    // a second tab, or the form sent back after a wrong password, keeps the token while it has time left
    set = ''
    assert.equal(lc.issue(fake(t, null), res), t)
    assert.equal(set, '', 'no new cookie')
    now += LOGIN_FORM_MS / 2 + 1
    const fresh = lc.issue(fake(t, null), res)
    assert.notEqual(fresh, t, 'a new one when half its time is gone')
    assert.equal(set, fresh)
    now += LOGIN_FORM_MS / 2 - 1
    assert.equal(lc.valid(fake(t, t)), true, 'still good until the hour is over')
    now += 1
    assert.equal(lc.valid(fake(t, t)), false, 'expired')
  })
})
