// Webhook notifications against real HTTP servers on this host: the JSON and Slack documents, retries
// (503, 429 with Retry-After), permanent failures, a dead webhook (refused, or accepting and never
// answering) that delays neither the caller nor a healthy webhook, the events filter, a full queue, and
// no webhook path or token in any log line. Then the daemon: a failing health probe reaches a webhook.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { WebhookNotifier, type WebhookTarget, type WebhookTuning } from '../src/adapters/webhook.ts'
import { parseConfig, redact } from '../src/config.ts'
import type { LogPort } from '../src/core/index.ts'
import { fastDaemonConfig, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { freePort } from './harness/mariadb.ts'
import { createSite, type TestSite } from './harness/site.ts'
import { captureLog, sleep, until } from './harness/notify.ts'


interface Received {
  path: string
  headers: http.IncomingHttpHeaders
  body: any
  at: number
}

interface Hook {
  /** the URL with a secret-looking path, as a Slack webhook has */
  url: string
  got: Received[]
  /** requests seen, answered or not */
  hits: number
  close(): Promise<void>
}

/** A webhook receiver; `answer` decides each response (n: the 1-based request number). Returning null never answers. */
async function hook(answer: (n: number, res: http.ServerResponse) => number | null = () => 200): Promise<Hook> {
  const h: Hook = { url: '', got: [], hits: 0, close: async () => undefined }
  const server = http.createServer((req, res) => {
    const n = ++h.hits
    let text = ''
    req.on('data', (d: Buffer) => (text += d.toString()))
    req.on('end', () => {
      const status = answer(n, res)
      if (status === null) return // accepted, never answered
      if (status >= 200 && status < 300) h.got.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text), at: Date.now() })
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  h.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0SECRET/B0SECRET/XSECRETTOKEN?token=QSECRET`
  h.close = () =>
    new Promise((r) => {
      server.closeAllConnections()
      server.close(() => r())
    })
  return h
}


const target = (url: string, over: Partial<WebhookTarget> = {}): WebhookTarget => ({ url, format: 'json', events: [], timeout: 2000, ...over })
/** short waits, so retries happen within a test */
const FAST: WebhookTuning = { backoffMs: 20, backoffMaxMs: 100, host: 'shop-host' }

describe('webhook notifications', function () {
  const open: Hook[] = []
  const notifiers: WebhookNotifier[] = []
  const make = async (answer?: (n: number, res: http.ServerResponse) => number | null) => {
    const h = await hook(answer)
    open.push(h)
    return h
  }
  const notifier = (targets: WebhookTarget[], log: LogPort = captureLog(), tuning: WebhookTuning = FAST) => {
    const n = new WebhookNotifier('shop', targets, log, tuning)
    notifiers.push(n)
    return n
  }

  afterEach(async () => {
    await Promise.all(notifiers.splice(0).map((n) => n.close(100)))
    await Promise.all(open.splice(0).map((h) => h.close()))
  })

  it('posts the JSON document and the Slack text, each with its own fields', async () => {
    const json = await make()
    const slack = await make()
    const n = notifier([target(json.url), target(slack.url, { format: 'slack' })])
    const before = Date.now()
    n.notify({ event: 'restore', site: 'shop', summary: 'restored <abc123> & checked', details: { to: 'abc123', verified: true } })
    await until('both webhooks', () => json.got.length === 1 && slack.got.length === 1)

    const j = json.got[0]!
    assert.equal(j.headers['content-type'], 'application/json')
    assert.deepEqual(Object.keys(j.body).sort(), ['details', 'event', 'host', 'site', 'summary', 'time'])
    assert.equal(j.body.event, 'restore')
    assert.equal(j.body.site, 'shop')
    assert.equal(j.body.summary, 'restored <abc123> & checked')
    assert.equal(j.body.host, 'shop-host')
    assert.deepEqual(j.body.details, { to: 'abc123', verified: true })
    const t = Date.parse(j.body.time)
    assert.ok(t >= before - 1000 && t <= Date.now(), j.body.time)
    assert.equal(j.path, '/services/T0SECRET/B0SECRET/XSECRETTOKEN?token=QSECRET')

    // Slack: one text line, markup characters escaped, details left out
    assert.deepEqual(slack.got[0]!.body, { text: '[peakguard] shop: restored &lt;abc123&gt; &amp; checked' })
    // the host name defaults to this machine's
    const h = await make()
    const plain = notifier([target(h.url)], captureLog(), { backoffMs: 20 })
    plain.notify({ event: 'restore', site: null, summary: 'x' })
    await until('the plain webhook', () => h.got.length === 1)
    assert.equal(h.got[0]!.body.host, os.hostname())
    assert.equal(h.got[0]!.body.site, 'shop') // the notifier's site when the caller gives none
    assert.deepEqual(h.got[0]!.body.details, {})
  })

  it('retries a webhook that answers 503 twice and delivers on the third attempt', async () => {
    const h = await make((n) => (n <= 2 ? 503 : 200))
    const log = captureLog()
    const n = notifier([target(h.url)], log)
    n.notify({ event: 'health-failure', site: 'shop', summary: 'health probes failing' })
    // the receiver records a request before answering it: wait for the notifier to have the answer too
    await until('the third attempt', () => h.got.length === 1 && n.stats()[0]!.delivered === 1)
    assert.equal(h.hits, 3)
    assert.equal(h.got[0]!.body.event, 'health-failure')
    const [s] = n.stats()
    assert.deepEqual({ attempts: s!.attempts, delivered: s!.delivered, failed: s!.failed, queued: s!.queued }, { attempts: 3, delivered: 1, failed: 0, queued: 0 })
    assert.equal(log.lines.filter((l) => l.level === 'warn').length, 0, log.text())
  })

  it('waits as long as Retry-After says on 429; gives up at once on a 404, and never retries it', async () => {
    const limited = await make((n, res) => {
      if (n === 1) res.setHeader('retry-after', '1')
      return n === 1 ? 429 : 200
    })
    const gone = await make(() => 404)
    const log = captureLog()
    const n = notifier([target(limited.url), target(gone.url)], log)
    const start = Date.now()
    n.notify({ event: 'approval', site: 'shop', summary: 'request 7 approved' })
    await until('the retry after Retry-After', () => limited.got.length === 1, 5000)
    // the backoff alone (20 ms) would have retried at once
    assert.ok(limited.got[0]!.at - start >= 950, `retried after ${limited.got[0]!.at - start} ms`)
    await until('the 404 given up', () => n.stats()[1]!.failed === 1)
    assert.equal(gone.hits, 1)
    const warn = log.lines.find((l) => l.level === 'warn')
    assert.ok(warn, log.text())
    assert.match(warn.msg, /approval notification not delivered after 1 attempt \(not retried\): HTTP 404/)
    assert.match(warn.msg, /^webhook #2 127\.0\.0\.1:\d+:/)
  })

  it('a refused and a hanging webhook delay neither the caller nor a healthy webhook', async () => {
    const healthy = await make()
    const hanging = await make(() => null)
    const refused = `http://127.0.0.1:${await freePort()}/hooks/SECRETPATH`
    const log = captureLog()
    // many attempts: the dead ones are still retrying when the healthy one has everything. The hanging one
    // holds its request for 30 s, far beyond every bound below, so a loaded machine cannot blur them: a
    // caller or a webhook that waited for it would take 30 s, not a few
    const n = notifier([target(refused, { timeout: 30_000 }), target(hanging.url, { timeout: 30_000 }), target(healthy.url)], log, { ...FAST, attempts: 100 })
    const start = performance.now()
    for (let i = 1; i <= 5; i++) n.notify({ event: 'restore', site: 'shop', summary: `restore ${i}` })
    const took = performance.now() - start
    // only queued: even one connection attempt or retry wait (20 ms and up) per call would show here
    assert.ok(took < 200, `notify() took ${took} ms`)

    await until('the healthy webhook', () => healthy.got.length === 5, 3000)
    assert.deepEqual(healthy.got.map((g) => g.body.summary), ['restore 1', 'restore 2', 'restore 3', 'restore 4', 'restore 5']) // in order
    await until('the refused webhook retrying', () => n.stats()[0]!.attempts >= 3, 3000)
    const [r, h] = n.stats()
    assert.ok(r!.failed === 0 && r!.queued === 5, JSON.stringify(r))
    assert.equal(hanging.hits, 1) // the first request is still waiting for an answer
    assert.ok(h!.failed === 0 && h!.queued === 5, JSON.stringify(h))

    // shutdown: bounded, whatever the dead ones do; what could not go out is counted and logged
    const closing = performance.now()
    await n.close(300)
    // the budget is 300 ms; waiting for the hanging request would take up to 30 s
    assert.ok(performance.now() - closing < 3000, `close took ${performance.now() - closing} ms`)
    const after = n.stats()
    assert.equal(after[0]!.failed + after[0]!.dropped, 5, JSON.stringify(after[0]))
    assert.equal(after[1]!.failed + after[1]!.dropped, 5, JSON.stringify(after[1]))
    assert.match(log.text(), /not delivered at shutdown|shutting down|stopped at shutdown/)
    assert.doesNotMatch(log.text(), /SECRET/)
  })

  it('sends a webhook only the events it lists (none listed: all)', async () => {
    const some = await make()
    const all = await make()
    const n = notifier([target(some.url, { events: ['restore', 'auto-rollback'] }), target(all.url)])
    for (const event of ['health-failure', 'restore', 'replication-lag', 'auto-rollback']) n.notify({ event, site: 'shop', summary: event })
    await until('every event', () => all.got.length === 4 && some.got.length === 2)
    await sleep(100) // and nothing more comes
    assert.deepEqual(some.got.map((g) => g.body.event), ['restore', 'auto-rollback'])
    assert.deepEqual(all.got.map((g) => g.body.event), ['health-failure', 'restore', 'replication-lag', 'auto-rollback'])
  })

  it('drops the oldest when a queue is full, counts it, and says so once', async () => {
    let release: () => void = () => undefined
    const held = new Promise<void>((r) => (release = r))
    const slow = await make((n, res) => {
      if (n > 1) return 200
      void held.then(() => res.writeHead(200).end())
      return null
    })
    const log = captureLog()
    const n = notifier([target(slow.url)], log, { ...FAST, queueLimit: 3 })
    for (let i = 1; i <= 10; i++) n.notify({ event: 'restore', site: 'shop', summary: `restore ${i}` })
    await until('the first request', () => slow.hits === 1)
    assert.deepEqual(n.stats()[0]!.dropped, 6)
    release()
    await until('the rest', () => slow.got.length === 3 && n.stats()[0]!.delivered === 4)
    await sleep(50) // and nothing more comes
    // the first was under way; of the other nine the newest three were kept
    assert.deepEqual(slow.got.map((g) => g.body.summary), ['restore 8', 'restore 9', 'restore 10'])
    assert.equal(n.stats()[0]!.delivered, 4)
    assert.equal(log.lines.filter((l) => /dropping the oldest/.test(l.msg)).length, 1, log.text())
  })

  it('never logs a webhook URL path or query, nor shows them in the config', async () => {
    const gone = await make(() => 410)
    const flaky = await make(() => 500)
    const refused = `http://user:PASSWORDSECRET@127.0.0.1:${await freePort()}/hooks/SECRETPATH?key=SECRETQUERY`
    const log = captureLog()
    const n = notifier([target(gone.url), target(flaky.url), target(refused)], log, { ...FAST, attempts: 3 })
    n.notify({ event: 'break-glass', site: 'shop', summary: 'break-glass by alice' })
    await until('every webhook given up', () => n.stats().every((s) => s.failed === 1), 5000)
    const text = log.text()
    assert.match(text, /HTTP 410/)
    assert.match(text, /HTTP 500/)
    assert.match(text, /127\.0\.0\.1/)
    assert.doesNotMatch(text, /SECRET|services|hooks\//)

    const cfg = parseConfig(
      'sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n' +
        '    notify: { webhooks: [{ url: "https://hooks.slack.com/services/T0/B0/XSECRETTOKEN", format: slack, events: [restore] }] }\n',
      'c.yaml',
    )
    assert.equal(cfg.sites[0]!.notify.webhooks[0]!.timeout, 5000)
    const shown = JSON.stringify(redact(cfg))
    assert.doesNotMatch(shown, /XSECRETTOKEN|services/)
    assert.match(shown, /hooks\.slack\.com/)
    // a misspelt event would silence a webhook: it is refused
    assert.throws(
      () => parseConfig('sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n    notify: { webhooks: [{ url: "https://x.example/h", events: [helth-failure] }] }\n', 'c.yaml'),
      /events/,
    )
  })
})

describe('webhook notifications from the daemon', () => {
  let site: TestSite | null = null
  let daemon: RunningDaemon | null = null
  let receiver: Hook | null = null

  afterEach(async () => {
    await daemon?.stop('SIGKILL')
    daemon = null
    await receiver?.close()
    await site?.cleanup()
    site = null
  })

  it('a failing health probe sends one health-failure notification', async () => {
    receiver = await hook()
    const down = `http://127.0.0.1:${await freePort()}/`
    site = await createSite()
    fs.appendFileSync(
      site.configFile,
      fastDaemonConfig(
        `    health: { interval: 200ms, goodAfter: 1h, probes: [{ url: "${down}", timeout: 1s }] }\n` +
          `    notify: { webhooks: [{ url: "${receiver.url}", events: [health-failure, health-recovered] }] }\n`,
      ),
    )
    daemon = await startDaemon(site)
    await until('the health-failure webhook', () => receiver!.got.length >= 1, 15_000)
    const n = receiver.got[0]!.body
    assert.equal(n.event, 'health-failure')
    assert.equal(n.site, 'shop')
    assert.match(n.summary, /^health probes failing: http:\/\/127\.0\.0\.1:\d+\/: no answer/)
    assert.equal(n.details.failures[0].url, down)
    // once per failure, not once per round
    await daemon.waitFor((l) => l.msg === 'health probe failed', 5000, daemon.lines.findLastIndex((l) => l.msg === 'health probe failed') + 1)
    await sleep(500)
    assert.equal(receiver.got.length, 1)
    assert.equal(await daemon.stop('SIGTERM'), 0)
    assert.doesNotMatch(daemon.output(), /SECRET/)
    daemon = null
  })

  it('a health failure after a change says the change in words, and who made it', async () => {
    receiver = await hook()
    site = await createSite()
    const plugin = path.join(site.wpContent, 'plugins/campaign-upsell/campaign-upsell.php')
    // the shop breaks once the new plugin is there, as a fatal in it would break every page
    const shop = http.createServer((_req, res) =>
      fs.existsSync(plugin) ? res.writeHead(500, { 'content-type': 'text/html' }).end('There has been a critical error on this website.') : res.writeHead(200).end('shop'),
    )
    await new Promise<void>((r) => shop.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(shop.address() as AddressInfo).port}/`
      fs.appendFileSync(
        site.configFile,
        fastDaemonConfig(
          `    health: { interval: 1h, fastInterval: 200ms, goodAfter: 1h, probes: [{ url: "${url}", timeout: 1s }] }\n` +
            `    notify: { webhooks: [{ url: "${receiver.url}", events: [health-failure] }] }\n`,
        ),
      )
      daemon = await startDaemon(site)
      // the start-up state proven first: a round of it must not see the change before the daemon does
      for (let i = 0; (await site.cli(['status', '--json'])).json?.daemon?.site?.health?.live?.cadence !== 'slow'; i++) {
        assert.ok(i < 100, 'the start-up state proven healthy')
        await sleep(100)
      }
      fs.mkdirSync(path.dirname(plugin), { recursive: true })
      fs.writeFileSync(plugin, '<?php\n/*\n * Plugin Name: Campaign Upsell\n * Version: 1.0.0\n */\n')
      await until('the health-failure webhook', () => receiver!.got.length >= 1, 15_000)
      const n = receiver.got[0]!.body
      assert.match(n.details.change, /plugin Campaign Upsell (?:added|installed)/)
      assert.match(n.summary, /critical-error page.* — after: plugin Campaign Upsell (?:added|installed).* by /)
      assert.ok(n.details.causedBy, 'who made the change')
      assert.equal(await daemon.stop('SIGTERM'), 0)
      daemon = null
    } finally {
      await new Promise<void>((r) => shop.close(() => r()))
    }
  })
})
