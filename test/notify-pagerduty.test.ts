// PagerDuty notifications against a real HTTP server on this host standing in for the Events API v2: the
// trigger document, one incident per site and kind (repeats and a failed automatic rollback land in the
// health incident, a recovery resolves it, the next failure opens a new one), the open incident kept
// across a restart, 429 retried and 400 not, and an Events API that is down: nobody waits, the event is
// retried, given up and logged — with no routing key in any log line. Through Notifiers, as the daemon
// builds it. Then the daemon: a failing probe pages and mails, its recovery resolves; a routing key
// variable that is not set stops the start, naming it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { SMTPServer } from 'smtp-server'
import { Notifiers, type NotifiersOptions, type NotifySite } from '../src/compose/notifiers.ts'
import type { PagerDutyTarget } from '../src/adapters/pagerduty.ts'
import type { LogPort } from '../src/core/index.ts'
import { PeakguardError } from '../src/errors.ts'
import { fastDaemonConfig, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { freePort } from './harness/mariadb.ts'
import { createSite, MAIN, type TestSite } from './harness/site.ts'
import { captureLog, sleep, until } from './harness/notify.ts'


/** A routing key that would be noticed anywhere it leaked. */
const KEY = 'R0UTINGKEYSECRETb8f2c4d1e9a7f3c5'
const ENV = { PD_ROUTING_KEY: KEY }

interface Api {
  url: string
  /** the events answered with 2xx, in order */
  got: any[]
  /** requests seen, answered or not */
  hits: number
  close(): Promise<void>
}

/** The Events API: `answer` decides each response (n: the 1-based request number); null never answers. */
async function eventsApi(answer: (n: number, res: http.ServerResponse) => number | null = () => 202): Promise<Api> {
  const api: Api = { url: '', got: [], hits: 0, close: async () => undefined }
  const server = http.createServer((req, res) => {
    const n = ++api.hits
    let text = ''
    req.on('data', (d: Buffer) => (text += d.toString()))
    req.on('end', () => {
      const status = answer(n, res)
      if (status === null) return
      const body = JSON.parse(text)
      if (status >= 200 && status < 300) {
        api.got.push(body)
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: body.dedup_key }))
      } else if (status === 400) {
        // what PagerDuty says about an invalid event
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'invalid event', message: 'Event object is invalid', errors: ["'payload.severity' is invalid"] }))
      } else res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/enqueue`
  api.close = () =>
    new Promise((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
  return api
}


/** The config's defaults for one integration (config.ts), the key from the environment. */
const pd = (url: string, over: Partial<PagerDutyTarget> = {}): PagerDutyTarget => ({
  routingKeyEnv: 'PD_ROUTING_KEY',
  routingKey: null,
  url,
  events: ['health-failure', 'health-recovered', 'auto-rollback', 'auto-rollback-blocked', 'freeze-violation', 'replication-lag', 'replication-lag-cleared'],
  severity: 'critical',
  timeout: 2000,
  ...over,
})

const UI = { listen: '127.0.0.1:8087', publicUrl: 'https://peakguard.example/ui/' }
/** short waits, so retries happen within a test */
const FAST: NotifiersOptions = { env: ENV, host: 'shop-host', tuning: { backoffMs: 20, backoffMaxMs: 100 } }

describe('PagerDuty notifications', function () {
  const open: Api[] = []
  const notifiers: Notifiers[] = []
  const dirs: string[] = []
  const dataDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-pd-'))
    dirs.push(d)
    return d
  }
  const api = async (answer?: (n: number, res: http.ServerResponse) => number | null) => {
    const a = await eventsApi(answer)
    open.push(a)
    return a
  }
  const make = (targets: PagerDutyTarget[], o: { log?: LogPort; dir?: string; options?: NotifiersOptions } = {}) => {
    const site: NotifySite = { id: 'shop', dataDir: o.dir ?? dataDir(), notify: { webhooks: [], pagerduty: targets, email: [] } }
    const n = new Notifiers(site, UI, o.log ?? captureLog(), { ...FAST, ...o.options })
    notifiers.push(n)
    return n
  }

  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.close(200)))
    await Promise.all(open.splice(0).map((a) => a.close()))
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('opens one health incident per site: repeats and a failed automatic rollback land in it, a recovery resolves it', async () => {
    const a = await api()
    const n = make([pd(a.url)])
    const long = `health probes failing: ${'https://shop.example/checkout: HTTP 500; '.repeat(60)}`
    n.notify({ event: 'health-failure', site: 'shop', summary: long, details: { failures: [{ url: 'https://shop.example/checkout', reason: 'HTTP 500' }] } })
    n.notify({ event: 'health-failure', site: 'shop', summary: 'health probes failing: HTTP 500' })
    n.notify({ event: 'auto-rollback', site: 'shop', summary: 'automatic rollback failed: BUSY', details: { rolledBack: false, from: 'abc', to: 'def' } })
    n.notify({ event: 'auto-rollback', site: 'shop', summary: 'automatic rollback: the site is back on known-good def', details: { rolledBack: true, from: 'abc', to: 'def' } })
    n.notify({ event: 'restore', site: 'shop', summary: 'not in the default events: never sent' })
    n.notify({ event: 'health-recovered', site: 'shop', summary: 'health probes pass again', details: { probes: 1 } })
    await until('five events', () => a.got.length === 5 && n.stats()[0]!.delivered === 5)

    const [first, repeat, failed, done, resolve] = a.got
    const key = first.dedup_key
    assert.match(key, /^peakguard:shop:health:\d+$/)
    for (const e of [repeat, failed, done, resolve]) assert.equal(e.dedup_key, key)
    assert.deepEqual([first, repeat, failed, done, resolve].map((e) => e.event_action), ['trigger', 'trigger', 'trigger', 'trigger', 'resolve'])
    assert.equal(first.routing_key, KEY)
    assert.deepEqual(Object.keys(first.payload).sort(), ['class', 'component', 'custom_details', 'group', 'severity', 'source', 'summary'])
    assert.equal(first.payload.summary.length, 1024) // PagerDuty's limit, cut with an ellipsis
    assert.ok(first.payload.summary.startsWith('shop: health probes failing: https://shop.example/checkout'), first.payload.summary)
    assert.ok(first.payload.summary.endsWith('…'))
    assert.deepEqual(
      { source: first.payload.source, severity: first.payload.severity, component: first.payload.component, group: first.payload.group, class: first.payload.class },
      { source: 'shop-host', severity: 'critical', component: 'shop', group: 'peakguard', class: 'health-failure' },
    )
    assert.deepEqual(first.payload.custom_details, { failures: [{ url: 'https://shop.example/checkout', reason: 'HTTP 500' }] })
    assert.deepEqual(first.links, [{ href: 'https://peakguard.example/ui/sites/shop/states', text: 'peakguard: shop' }])
    assert.equal(failed.payload.class, 'auto-rollback')
    assert.equal(done.payload.summary, 'shop: automatic rollback: the site is back on known-good def')
    // a resolve carries the key and nothing else
    assert.deepEqual(resolve, { routing_key: KEY, event_action: 'resolve', dedup_key: key })
    assert.deepEqual(n.openIncidents(), { health: null, replication: null })

    // the next failure is a new incident; a successful rollback with none open wakes nobody
    n.notify({ event: 'auto-rollback', site: 'shop', summary: 'rolled back', details: { rolledBack: true } })
    n.notify({ event: 'health-failure', site: 'shop', summary: 'failing again' })
    await until('the new incident', () => a.got.length === 6)
    await sleep(100) // and nothing more comes
    assert.equal(a.got.length, 6)
    assert.equal(a.got[5].event_action, 'trigger')
    assert.match(a.got[5].dedup_key, /^peakguard:shop:health:\d+$/)
    assert.notEqual(a.got[5].dedup_key, key)
  })

  it('keeps replication lag and freeze violations in incidents of their own', async () => {
    const a = await api()
    const n = make([pd(a.url, { severity: 'warning' })])
    // details that cannot be written as JSON: the page still goes out
    n.notify({ event: 'replication-lag', site: 'shop', summary: 'replication lag 700 s', details: { lagSeconds: 700, odd: 1n } })
    n.notify({ event: 'freeze-violation', site: 'shop', summary: 'change during freeze: plugin Demo Upsell activated by wp:alice', details: { request: 'r1' } })
    n.notify({ event: 'health-failure', site: 'shop', summary: 'failing' })
    n.notify({ event: 'freeze-violation', site: 'shop', summary: 'another change during the freeze', details: { request: 'r2' } })
    n.notify({ event: 'replication-lag-cleared', site: 'shop', summary: 'caught up' })
    await until('five events', () => a.got.length === 5)
    const [lag, v1, health, v2, cleared] = a.got
    assert.match(lag.dedup_key, /^peakguard:shop:replication:\d+$/)
    assert.deepEqual(lag.payload.custom_details, { note: 'the details could not be written as JSON' })
    assert.deepEqual([v1.dedup_key, v2.dedup_key], ['peakguard:shop:freeze-violation', 'peakguard:shop:freeze-violation'])
    assert.equal(v1.links[0].href, 'https://peakguard.example/ui/sites/shop/requests')
    assert.equal(v1.payload.severity, 'warning')
    assert.match(health.dedup_key, /^peakguard:shop:health:\d+$/)
    assert.deepEqual(cleared, { routing_key: KEY, event_action: 'resolve', dedup_key: lag.dedup_key })
    // the health incident is still open; the freeze violations are a person's to resolve
    assert.deepEqual(n.openIncidents(), { health: health.dedup_key, replication: null })
  })

  it('resolves after a restart the incident opened before it', async () => {
    const a = await api()
    const dir = dataDir()
    const before = make([pd(a.url)], { dir })
    before.notify({ event: 'health-failure', site: 'shop', summary: 'failing' })
    await until('the trigger', () => a.got.length === 1)
    await before.close(1000)
    const file = path.join(dir, 'pagerduty-incidents.json')
    assert.equal(fs.statSync(file).mode & 0o777, 0o600)
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), new RegExp(KEY))

    const after = make([pd(a.url)], { dir })
    assert.equal(after.openIncidents().health, a.got[0].dedup_key)
    after.notify({ event: 'health-recovered', site: 'shop', summary: 'pass again' })
    await until('the resolve', () => a.got.length === 2)
    assert.deepEqual(a.got[1], { routing_key: KEY, event_action: 'resolve', dedup_key: a.got[0].dedup_key })
    await after.close(1000)
    assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).open.health, null)

    // a file that is not a book is said so, and ignored
    fs.writeFileSync(file, '{"version":1,"open":{"health":{"key":"somebody else\'s","openedAt":1}}}')
    const log = captureLog()
    const third = make([pd(a.url)], { dir, log })
    assert.deepEqual(third.openIncidents(), { health: null, replication: null })
    assert.match(log.text(), /is not a book of open incidents/)
  })

  it('retries a 429 and delivers; gives up on a 400 at once, saying what PagerDuty said', async () => {
    const limited = await api((n, res) => {
      if (n === 1) res.setHeader('retry-after', '0')
      return n === 1 ? 429 : 202
    })
    const invalid = await api(() => 400)
    const log = captureLog()
    const n = make([pd(limited.url), pd(invalid.url)], { log })
    n.notify({ event: 'freeze-violation', site: 'shop', summary: 'change during freeze' })
    await until('the retried event', () => n.stats()[0]!.delivered === 1)
    await until('the invalid event given up', () => n.stats()[1]!.failed === 1)
    assert.equal(limited.hits, 2)
    assert.equal(invalid.hits, 1)
    const warn = log.lines.find((l) => l.level === 'warn')
    assert.ok(warn, log.text())
    assert.match(warn.msg, /^pagerduty #2 127\.0\.0\.1:\d+: freeze-violation notification not delivered after 1 attempt \(not retried\): HTTP 400: Event object is invalid; 'payload\.severity' is invalid$/)
    assert.equal(n.stats()[1]!.destination.startsWith('pagerduty #2 127.0.0.1:'), true)
    assert.doesNotMatch(log.text(), new RegExp(KEY))
  })

  it('an Events API that is down delays nobody: retried, given up and logged, never with the routing key', async () => {
    const healthy = await api()
    const hanging = await api(() => null)
    const refused = `http://127.0.0.1:${await freePort()}/v2/enqueue?token=QSECRETQUERY`
    const log = captureLog()
    const n = make([pd(refused), pd(hanging.url, { timeout: 300 }), pd(healthy.url)], { log, options: { ...FAST, tuning: { backoffMs: 20, backoffMaxMs: 100, attempts: 3 } } })
    n.notify({ event: 'health-failure', site: 'shop', summary: 'failing' })
    // notify() has only queued: nothing is delivered yet, the caller goes on
    assert.deepEqual(
      n.stats().map((s) => s.queued),
      [1, 1, 1],
    )
    await until('the healthy integration', () => healthy.got.length === 1)
    await until('both dead ones given up', () => n.stats()[0]!.failed === 1 && n.stats()[1]!.failed === 1)
    const [r, h] = n.stats()
    assert.deepEqual({ attempts: r!.attempts, delivered: r!.delivered, queued: r!.queued }, { attempts: 3, delivered: 0, queued: 0 })
    assert.deepEqual({ attempts: h!.attempts, delivered: h!.delivered, queued: h!.queued }, { attempts: 3, delivered: 0, queued: 0 })
    const warns = log.lines.filter((l) => l.level === 'warn').map((l) => l.msg)
    assert.ok(warns.some((m) => /^pagerduty #1 127\.0\.0\.1:\d+: health-failure notification not delivered after 3 attempts \(no attempts left\): ECONNREFUSED$/.test(m)), warns.join('\n'))
    assert.ok(warns.some((m) => /^pagerduty #2 127\.0\.0\.1:\d+: health-failure notification not delivered after 3 attempts \(no attempts left\): no answer within 300 ms$/.test(m)), warns.join('\n'))
    assert.doesNotMatch(log.text(), new RegExp(`${KEY}|QSECRETQUERY`))
    assert.doesNotMatch(JSON.stringify(n.stats()), new RegExp(`${KEY}|QSECRETQUERY`))
  })

  it('names the routing key variable that is not set: the daemon does not start, a CLI command only loses that integration', async () => {
    const a = await api()
    const site: NotifySite = { id: 'shop', dataDir: dataDir(), notify: { webhooks: [], pagerduty: [pd(a.url, { routingKeyEnv: 'PD_MISSING_KEY' })], email: [] } }
    assert.throws(
      () => new Notifiers(site, UI, captureLog(), { env: {} }),
      (e: unknown) => e instanceof PeakguardError && e.code === 'CONFIG_INVALID' && /notify\.pagerduty\[0\]\.routingKeyEnv: the environment variable PD_MISSING_KEY is not set/.test(e.message),
    )
    const log = captureLog()
    const cli = new Notifiers(site, UI, log, { env: {}, missingSecret: 'skip', persistIncidents: false })
    notifiers.push(cli)
    cli.notify({ event: 'freeze-violation', site: 'shop', summary: 'change' })
    await until('the integration given up', () => cli.stats()[0]!.failed === 1)
    assert.equal(a.hits, 0)
    assert.match(log.text(), /not delivered after 1 attempt \(not retried\): site shop: notify\.pagerduty\[0\]\.routingKeyEnv: the environment variable PD_MISSING_KEY is not set/)
    // a command keeps no book of incidents
    assert.deepEqual(fs.readdirSync(site.dataDir), [])
  })
})

describe('PagerDuty and e-mail notifications from the daemon', () => {
  let site: TestSite | null = null
  let daemon: RunningDaemon | null = null
  const closers: (() => Promise<void>)[] = []

  afterEach(async () => {
    await daemon?.stop('SIGKILL')
    daemon = null
    for (const c of closers.splice(0)) await c()
    await site?.cleanup()
    site = null
  })

  it('a failing probe pages and mails; its recovery resolves the incident', async () => {
    const api = await eventsApi()
    closers.push(api.close)
    // a loopback relay (security none) with AUTH: the credentials come from the daemon's environment
    const mails: { subject: string; raw: string; user: string | null }[] = []
    const users = new Map<string, string>()
    const relay = new SMTPServer({
      logger: false,
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      onAuth(auth, session, cb) {
        if (auth.username !== 'mailer' || auth.password !== 'SMTPPASSWORDSECRET') return cb(new Error('Invalid username or password'))
        users.set(session.id, auth.username)
        cb(null, { user: auth.username })
      },
      onData(stream, session, cb) {
        let raw = ''
        stream.on('data', (d: Buffer) => (raw += d.toString()))
        stream.on('end', () => {
          mails.push({ subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '', raw: raw.replace(/=\r\n/g, ''), user: users.get(session.id) ?? null })
          cb()
        })
      },
    })
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r))
    closers.push(() => new Promise((r) => relay.close(() => r())))
    const smtpPort = (relay.server.address() as AddressInfo).port

    const probePort = await freePort()
    site = await createSite()
    fs.appendFileSync(
      site.configFile,
      fastDaemonConfig(
        `    health: { interval: 200ms, goodAfter: 1h, probes: [{ url: "http://127.0.0.1:${probePort}/", timeout: 1s }] }\n` +
          '    notify:\n' +
          `      pagerduty: [{ routingKeyEnv: PG_TEST_PD_KEY, url: "${api.url}" }]\n` +
          `      email: [{ host: 127.0.0.1, port: ${smtpPort}, security: none, userEnv: PG_TEST_SMTP_USER, passwordEnv: PG_TEST_SMTP_PASSWORD, from: "peakguard@shop.example", to: ["oncall@shop.example"], events: [health-failure, health-recovered] }]\n`,
      ),
    )
    daemon = await startDaemon(site, { PG_TEST_PD_KEY: KEY, PG_TEST_SMTP_USER: 'mailer', PG_TEST_SMTP_PASSWORD: 'SMTPPASSWORDSECRET' })
    await until('the page', () => api.got.length >= 1, 15_000)
    const trigger = api.got[0]
    assert.equal(trigger.routing_key, KEY)
    assert.equal(trigger.event_action, 'trigger')
    assert.match(trigger.dedup_key, /^peakguard:shop:health:\d+$/)
    assert.equal(trigger.payload.class, 'health-failure')
    assert.equal(trigger.payload.component, 'shop')
    assert.deepEqual(trigger.links, [{ href: `${daemon.url}/sites/shop/states`, text: 'peakguard: shop' }])
    await until('the mail', () => mails.length >= 1)
    assert.equal(mails[0]!.subject, '[peakguard] shop: health probes failing')
    assert.equal(mails[0]!.user, 'mailer')
    assert.ok(mails[0]!.raw.includes(`Open in peakguard: ${daemon.url}/sites/shop/states`), mails[0]!.raw)

    // the probed page comes up: the incident is resolved, with the key it was opened with
    const page = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>shop</body></html>'))
    await new Promise<void>((r) => page.listen(probePort, '127.0.0.1', r))
    closers.push(() => new Promise((r) => page.close(() => r())))
    await until('the resolve', () => api.got.some((e) => e.event_action === 'resolve'), 15_000)
    const resolve = api.got.find((e) => e.event_action === 'resolve')
    assert.deepEqual(resolve, { routing_key: KEY, event_action: 'resolve', dedup_key: trigger.dedup_key })
    // anything between (an automatic rollback that could not be done) went to the same incident
    for (const e of api.got) assert.equal(e.dedup_key, trigger.dedup_key)
    await until('the recovery mail', () => mails.some((m) => m.subject === '[peakguard] shop: health probes pass again'))

    assert.equal(await daemon.stop('SIGTERM'), 0)
    const book = JSON.parse(fs.readFileSync(path.join(site.dataDir, 'shop', 'pagerduty-incidents.json'), 'utf8'))
    assert.deepEqual(book.open, { health: null, replication: null })
    assert.doesNotMatch(daemon.output(), new RegExp(`${KEY}|SMTPPASSWORDSECRET`))
    daemon = null
  })

  it('does not start when a routing key variable is not set, and says which', async () => {
    site = await createSite()
    fs.appendFileSync(site.configFile, fastDaemonConfig('    notify: { pagerduty: [{ routingKeyEnv: PG_TEST_PD_UNSET }] }\n'))
    // spawned here rather than with startDaemon: its waitFor does not notice a daemon that exits at start
    const env = { ...process.env }
    delete env.PG_TEST_PD_UNSET
    const proc = spawn(process.execPath, [MAIN, '--config', site.configFile, 'daemon'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()))
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()))
    const code = await new Promise<number | null>((r) => proc.on('close', r))
    assert.equal(code, 2, output) // CONFIG_INVALID's exit code
    assert.match(output, /site shop: notify\.pagerduty\[0\]\.routingKeyEnv: the environment variable PG_TEST_PD_UNSET is not set/)
  })
})
