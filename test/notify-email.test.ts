// E-mail notifications against a real SMTP server (smtp-server) on this host: STARTTLS with a self-signed
// certificate trusted through caFile, TLS from the start, AUTH PLAIN and LOGIN with the credentials from
// environment variables; the message (subject, the summary, the change in words, who caused it, the time,
// the UI's link); a subject that stays one line whatever the site or event holds; a server that does not
// offer STARTTLS gets nothing; `none` only to loopback; and a server that is down: nobody waits, the mail
// is retried, given up and logged — never with the password. Through Notifiers, as the daemon builds it.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server'
import type { EmailTarget } from '../src/adapters/email.ts'
import { Notifiers, type NotifiersOptions, type NotifySite } from '../src/compose/notifiers.ts'
import type { LogPort } from '../src/core/index.ts'
import { PeakguardError } from '../src/errors.ts'
import { freePort } from './harness/mariadb.ts'
import { captureLog, sleep, until } from './harness/notify.ts'


const USER = 'peakguard@shop.example'
/** a password that would be noticed anywhere it leaked, plain or base64 */
const PASSWORD = 'Sm7pPASSWORDSECRET-9f3'
const ENV = { SMTP_USER: USER, SMTP_PASSWORD: PASSWORD }

interface Mail {
  session: { secure: boolean; method: string | null; user: string | null; from: string; to: string[] }
  headers: string
  /** the header block unfolded: one line per header */
  headerLines: string[]
  subject: string
  text: string
}

interface Smtp {
  port: number
  got: Mail[]
  /** connections seen */
  connections: number
  close(): Promise<void>
}

/** A mail server on 127.0.0.1 that keeps what it is given and who logged in. */
async function smtp(o: Partial<SMTPServerOptions> & { tlsFiles?: { key: string; cert: string } } = {}): Promise<Smtp> {
  const s: Smtp = { port: 0, got: [], connections: 0, close: async () => undefined }
  const logins = new Map<string, { method: string; user: string }>()
  const { tlsFiles, ...options } = o
  const server = new SMTPServer({
    logger: false,
    authMethods: ['PLAIN', 'LOGIN'],
    ...(tlsFiles ? { key: fs.readFileSync(tlsFiles.key), cert: fs.readFileSync(tlsFiles.cert) } : {}),
    onConnect(_session, cb) {
      s.connections++
      cb()
    },
    onAuth(auth, session, cb) {
      if (auth.username !== USER || auth.password !== PASSWORD) return cb(new Error('Invalid username or password'))
      logins.set(session.id, { method: auth.method, user: auth.username })
      cb(null, { user: auth.username })
    },
    onData(stream, session: SMTPServerSession, cb) {
      const chunks: Buffer[] = []
      stream.on('data', (d: Buffer) => chunks.push(d))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const split = raw.indexOf('\r\n\r\n')
        const headers = raw.slice(0, split)
        const headerLines = headers.replace(/\r\n[ \t]+/g, ' ').split('\r\n')
        const get = (name: string) => headerLines.find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim() ?? ''
        const login = logins.get(session.id)
        s.got.push({
          session: {
            secure: session.secure,
            method: login?.method ?? null,
            user: login?.user ?? null,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          },
          headers,
          headerLines,
          subject: get('subject'),
          // SMTP carries CRLF; the text as written has LF
          text: decodeBody(get('content-transfer-encoding'), raw.slice(split + 4)).replace(/\r\n/g, '\n'),
        })
        cb()
      })
    },
    ...options,
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  s.port = (server.server.address() as AddressInfo).port
  s.close = () => new Promise((r) => server.close(() => r()))
  return s
}

/** The body as text: nodemailer picks 7bit, quoted-printable or base64 by content. */
function decodeBody(encoding: string, body: string): string {
  const e = encoding.toLowerCase()
  if (e === 'base64') return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (e === 'quoted-printable')
    return Buffer.from(
      body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
      'latin1',
    ).toString('utf8')
  return body
}


const b64 = (s: string) => Buffer.from(s).toString('base64')
const SECRETS = new RegExp([PASSWORD, b64(PASSWORD), b64(`\u0000${USER}\u0000${PASSWORD}`)].map((s) => s.replace(/[+/=]/g, (c) => `\\${c}`)).join('|'))

const UI = { listen: '127.0.0.1:8087', publicUrl: 'https://peakguard.example' }
const FAST: NotifiersOptions = { env: ENV, host: 'shop-host', tuning: { backoffMs: 20, backoffMaxMs: 100 } }

describe('e-mail notifications', function () {
  let dir = ''
  let tls = { key: '', cert: '' }
  const servers: Smtp[] = []
  const notifiers: Notifiers[] = []
  const server = async (o: Parameters<typeof smtp>[0] = {}) => {
    const s = await smtp(o)
    servers.push(s)
    return s
  }
  const target = (port: number, over: Partial<EmailTarget> = {}): EmailTarget => ({
    host: '127.0.0.1',
    port,
    security: 'starttls',
    userEnv: 'SMTP_USER',
    passwordEnv: 'SMTP_PASSWORD',
    caFile: tls.cert,
    from: 'peakguard@shop.example',
    to: ['oncall@shop.example'],
    events: [],
    timeout: 3000,
    ...over,
  })
  const site = (email: EmailTarget[]): NotifySite => ({ id: 'shop', dataDir: dir, notify: { webhooks: [], pagerduty: [], email } })
  const make = (email: EmailTarget[], log: LogPort = captureLog(), o: NotifiersOptions = FAST) => {
    const n = new Notifiers(site(email), UI, log, o)
    notifiers.push(n)
    return n
  }

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-mail-'))
    tls = { key: path.join(dir, 'key.pem'), cert: path.join(dir, 'cert.pem') }
    // a self-signed certificate for 127.0.0.1, trusted through caFile
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', tls.key, '-out', tls.cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        { stdio: 'pipe' },
      )
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('the openssl CLI is missing: apt-get install openssl')
      throw e
    }
  })

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.close(200)))
    await Promise.all(servers.splice(0).map((s) => s.close()))
  })

  it('sends over STARTTLS with AUTH PLAIN: the summary, the change in words, who caused it, the time and the link', async () => {
    const s = await server({ tlsFiles: tls, authMethods: ['PLAIN'] })
    const n = make([target(s.port, { to: ['oncall@shop.example', 'lead@shop.example'] })])
    n.notify({
      event: 'freeze-violation',
      site: 'shop',
      summary: "change during freeze 'black-friday': plugin Demo Upsell activated by wp:alice — reverted, waiting for approval (request r-17)",
      details: { request: 'r-17', policy: 'revert', change: 'plugin Demo Upsell activated by wp:alice', causedBy: 'wp:alice (#3) from 203.0.113.9' },
    })
    await until('the mail', () => s.got.length === 1 && n.stats()[0]!.delivered === 1)
    const m = s.got[0]!
    assert.deepEqual(m.session, { secure: true, method: 'PLAIN', user: USER, from: 'peakguard@shop.example', to: ['oncall@shop.example', 'lead@shop.example'] })
    assert.equal(m.subject, '[peakguard] shop: change during a freeze')
    assert.ok(m.headerLines.includes('Auto-Submitted: auto-generated'), m.headers)
    assert.match(m.headers, /^Content-Type: text\/plain; charset=utf-8$/im)
    const lines = m.text.split('\n')
    assert.equal(lines[0], "change during freeze 'black-friday': plugin Demo Upsell activated by wp:alice — reverted, waiting for approval (request r-17)")
    assert.ok(lines.includes('What changed: plugin Demo Upsell activated by wp:alice'), m.text)
    assert.ok(lines.includes('Caused by:    wp:alice (#3) from 203.0.113.9'), m.text)
    assert.ok(lines.includes('Event:        change during a freeze (freeze-violation)'), m.text)
    assert.ok(lines.includes('Site:         shop'), m.text)
    assert.ok(lines.includes('Host:         shop-host'), m.text)
    assert.ok(lines.some((l) => /^Time: {9}\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(UTC\)$/.test(l)), m.text)
    assert.ok(lines.includes('Open in peakguard: https://peakguard.example/sites/shop/requests'), m.text)
  })

  it('sends over TLS from the start with AUTH LOGIN; the link defaults to http://<ui.listen>', async () => {
    const s = await server({ tlsFiles: tls, secure: true, authMethods: ['LOGIN'] })
    const site1 = site([target(s.port, { security: 'tls', events: ['health-failure'] })])
    const n = new Notifiers(site1, { listen: '127.0.0.1:8087', publicUrl: null }, captureLog(), FAST)
    notifiers.push(n)
    n.notify({ event: 'restore', site: 'shop', summary: 'not listed in events: not sent' })
    n.notify({ event: 'health-failure', site: 'shop', summary: 'health probes failing: https://shop.example/: HTTP 500' })
    await until('the mail', () => s.got.length === 1)
    await sleep(100) // and nothing more comes
    assert.equal(s.got.length, 1)
    const m = s.got[0]!
    assert.deepEqual({ secure: m.session.secure, method: m.session.method, user: m.session.user }, { secure: true, method: 'LOGIN', user: USER })
    assert.equal(m.subject, '[peakguard] shop: health probes failing')
    assert.ok(m.text.includes('Open in peakguard: http://127.0.0.1:8087/sites/shop/states'), m.text)
    // no change words given: no such line
    assert.doesNotMatch(m.text, /What changed|Caused by/)
  })

  it('keeps the subject one line and adds no header, whatever the site, event or summary hold', async () => {
    const s = await server({ tlsFiles: tls })
    const n = make([target(s.port)])
    n.notify({
      event: 'restore\r\nX-Injected: event',
      site: 'shop\r\nBcc: thief@evil.example\r\n',
      summary: 'restored\r\nBcc: thief@evil.example\r\n\r\nfake body\u001b[31m',
      details: { change: 'plugins/x\r\nX-Injected: change', causedBy: 'wp:mallory\r\nX-Injected: who' },
    })
    await until('the mail', () => s.got.length === 1)
    const m = s.got[0]!
    assert.equal(m.subject, '[peakguard] shop Bcc: thief@evil.example: restore X-Injected: event')
    assert.ok(!m.headerLines.some((l) => /^(?:bcc|x-injected):/i.test(l)), m.headers)
    assert.deepEqual(m.session.to, ['oncall@shop.example'])
    // in the body a summary keeps its lines, but loses the control characters
    assert.ok(m.text.startsWith('restored\nBcc: thief@evil.example\n\nfake body [31m\n'), JSON.stringify(m.text))
    assert.ok(m.text.includes('\nWhat changed: plugins/x X-Injected: change\nCaused by:    wp:mallory X-Injected: who\n'), m.text)
    assert.doesNotMatch(m.text, /\u001b/)
  })

  it('sends nothing to a server that does not offer STARTTLS, or whose certificate is not trusted', async () => {
    const plain = await server({ disabledCommands: ['STARTTLS'], allowInsecureAuth: true })
    const untrusted = await server({ tlsFiles: tls })
    const log = captureLog()
    const n = make([target(plain.port), target(untrusted.port, { caFile: null })], log, { ...FAST, tuning: { backoffMs: 20, backoffMaxMs: 100, attempts: 2 } })
    n.notify({ event: 'break-glass', site: 'shop', summary: 'BREAK-GLASS by alice' })
    await until('both given up', () => n.stats().every((x) => x.failed === 1))
    assert.equal(plain.got.length + untrusted.got.length, 0)
    const text = log.text()
    assert.match(text, /e-mail #1 127\.0\.0\.1:\d+: break-glass notification not delivered after 1 attempt \(not retried\): ETLS: Error upgrading connection with STARTTLS: 500/)
    assert.match(text, /e-mail #2 127\.0\.0\.1:\d+: break-glass notification not delivered after 2 attempts \(no attempts left\): ESOCKET: self-signed certificate/)
    assert.doesNotMatch(text, SECRETS)
  })

  it("allows security 'none' only to loopback, and names what cannot be used", async () => {
    const s = await server({ disabledCommands: ['STARTTLS', 'AUTH'] })
    const n = make([target(s.port, { security: 'none', userEnv: null, passwordEnv: null, caFile: null })])
    n.notify({ event: 'restore', site: 'shop', summary: 'restored' })
    await until('the mail over the loopback relay', () => s.got.length === 1)
    assert.equal(s.got[0]!.session.secure, false)

    const refused = (t: EmailTarget, env: NodeJS.ProcessEnv, pattern: RegExp) =>
      assert.throws(
        () => new Notifiers(site([t]), UI, captureLog(), { env }),
        (e: unknown) => e instanceof PeakguardError && e.code === 'CONFIG_INVALID' && pattern.test(e.message) && !SECRETS.test(e.message),
      )
    refused(target(25, { host: 'mail.example.com', security: 'none' }), ENV, /site shop: notify\.email\[0\]\.security: 'none' would send the mail \(and any password\) unencrypted to mail\.example\.com/)
    refused(target(25), { SMTP_USER: USER }, /notify\.email\[0\]\.passwordEnv: the environment variable SMTP_PASSWORD is not set/)
    refused(target(25), { SMTP_PASSWORD: PASSWORD }, /notify\.email\[0\]\.userEnv: the environment variable SMTP_USER is not set/)
    refused(target(25, { caFile: path.join(dir, 'missing.pem') }), ENV, /notify\.email\[0\]\.caFile: cannot read .*missing\.pem \(ENOENT\)/)
    refused(target(25, { caFile: tls.key }), ENV, /holds no PEM certificate/)

    // a CLI command from a shell without the variable: only that destination fails, and says why
    const log = captureLog()
    const cli = make([target(s.port)], log, { env: {}, missingSecret: 'skip', persistIncidents: false })
    cli.notify({ event: 'restore', site: 'shop', summary: 'restored' })
    await until('the destination given up', () => cli.stats()[0]!.failed === 1)
    assert.match(log.text(), /not delivered after 1 attempt \(not retried\): site shop: notify\.email\[0\]\.userEnv: the environment variable SMTP_USER is not set/)
  })

  it('a server that is down delays nobody: retried, given up and logged, never with the password', async () => {
    const healthy = await server({ tlsFiles: tls })
    const wrongPassword = await server({ tlsFiles: tls })
    const refusedPort = await freePort()
    const log = captureLog()
    const n = make(
      [target(refusedPort), target(wrongPassword.port, { userEnv: 'SMTP_USER', passwordEnv: 'SMTP_WRONG' }), target(healthy.port)],
      log,
      { ...FAST, env: { ...ENV, SMTP_WRONG: `${PASSWORD}-old` }, tuning: { backoffMs: 20, backoffMaxMs: 100, attempts: 3 } },
    )
    n.notify({ event: 'auto-rollback', site: 'shop', summary: 'automatic rollback failed: BUSY', details: { rolledBack: false } })
    // notify() has only queued: the caller goes on
    assert.deepEqual(
      n.stats().map((x) => x.queued),
      [1, 1, 1],
    )
    await until('the healthy server', () => healthy.got.length === 1)
    assert.equal(healthy.got[0]!.subject, '[peakguard] shop: automatic rollback FAILED or not done')
    await until('the dead ones given up', () => n.stats()[0]!.failed === 1 && n.stats()[1]!.failed === 1)
    const [down, wrong] = n.stats()
    assert.deepEqual({ attempts: down!.attempts, delivered: down!.delivered }, { attempts: 3, delivered: 0 })
    // a refused login is an answer, not an outage: not retried
    assert.deepEqual({ attempts: wrong!.attempts, delivered: wrong!.delivered }, { attempts: 1, delivered: 0 })
    const warns = log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)
    assert.ok(warns.some((m) => /^e-mail #1 127\.0\.0\.1:\d+: auto-rollback notification not delivered after 3 attempts \(no attempts left\): E[A-Z]+: .*ECONNREFUSED/.test(m)), warns.join('\n'))
    assert.ok(warns.some((m) => /^e-mail #2 127\.0\.0\.1:\d+: auto-rollback notification not delivered after 1 attempt \(not retried\): EAUTH.*535/.test(m)), warns.join('\n'))
    assert.doesNotMatch(log.text(), SECRETS)
    assert.doesNotMatch(log.text(), /-old/)
    assert.doesNotMatch(JSON.stringify(n.stats()), SECRETS)
  })
})
