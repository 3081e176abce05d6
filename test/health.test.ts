// Health probes, known-good states, automatic rollback and post-restore hooks, against a real daemon and a
// small HTTP "shop" that renders WordPress's critical-error page whenever the live plugin file says fatal
// — so a bad change on disk breaks the shop the way a broken plugin does.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { judgeProbe } from '../src/core/health.ts'
import { fastDaemonConfig, isSnapshot, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const CRITICAL = '<html><body><div class="wp-die-message"><p>There has been a critical error on this website.</p></div></body></html>'
const PLUGIN = 'plugins/woocommerce/woocommerce.php'

interface Shop {
  url: string
  /** when set, every page is the critical-error page, whatever the code */
  down: boolean
  /** when set, answers wait until release() */
  hold: boolean
  release(): void
  requests: number
  close(): Promise<void>
}

/** A shop whose pages break when the live woocommerce.php contains "fatal". */
async function shop(site: TestSite): Promise<Shop> {
  const held: (() => void)[] = []
  const s: Shop = {
    url: '',
    down: false,
    hold: false,
    release: () => {
      s.hold = false
      for (const go of held.splice(0)) go()
    },
    requests: 0,
    close: async () => undefined,
  }
  const server = http.createServer((req, res) => {
    if (s.hold) {
      held.push(() => server.emit('request', req, res))
      return
    }
    s.requests++
    const code = fs.readFileSync(path.join(site.wpContent, PLUGIN), 'utf8')
    if (s.down || code.includes('fatal')) res.writeHead(500, { 'content-type': 'text/html' }).end(CRITICAL)
    else res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Campaign Shop: 50% off</body></html>')
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  s.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  s.close = () => new Promise((r) => server.close(() => r()))
  return s
}

function healthConfig(url: string, extra = '', cadence = 'interval: 200ms'): string {
  return fastDaemonConfig(`    health: { ${cadence}, goodAfter: 1s, probes: [{ url: "${url}", maxLatency: 2s, timeout: 2s }] }\n${extra}`)
}

/** Probes every hour unless a state is new: whatever runs within a test's seconds is the fast cadence. */
const FAST_ONLY = 'interval: 1h, fastInterval: 200ms, fastRounds: 10'

async function knownGood(site: TestSite): Promise<string[]> {
  return (await site.cli(['list', '--json'])).json.filter((s: any) => s.knownGood).map((s: any) => s.id)
}

describe('health probes', () => {
  it('fail on a status code, a critical-error page, a PHP fatal, slowness and no answer; pass otherwise', () => {
    const rule = { status: [200], maxLatencyMs: 1000 }
    const r = (status: number | null, body: string, latencyMs = 10, error: string | null = null) => judgeProbe({ url: 'u', status, body, latencyMs, error }, rule)
    assert.equal(r(200, '<html>shop</html>').ok, true)
    assert.match(r(500, CRITICAL).reason!, /critical-error page/)
    assert.match(r(200, CRITICAL).reason!, /critical-error page/) // a theme may turn the error into a 200
    assert.match(r(200, '<br />\n<b>Fatal error</b>:  Uncaught Error: Call to undefined function wc()').reason!, /PHP fatal/)
    assert.match(r(503, 'maintenance').reason!, /HTTP 503, expected 200/)
    assert.match(r(200, 'ok', 1500).reason!, /1500 ms, more than the 1000 ms allowed/)
    assert.match(r(null, '', 10, 'ECONNREFUSED').reason!, /no answer: ECONNREFUSED/)
  })
})

describe('known-good states and automatic rollback', () => {
  let site: TestSite
  let daemon: RunningDaemon | null = null
  let s: Shop

  afterEach(async () => {
    await daemon?.stop('SIGKILL')
    daemon = null
    await s?.close()
    await site?.cleanup()
  })

  it('marks a state known-good after it stayed live with every probe passing, and keeps its health history', async () => {
    site = await createSite()
    s = await shop(site)
    fs.appendFileSync(site.configFile, healthConfig(s.url))
    daemon = await startDaemon(site)
    const marked = await daemon.waitFor((l) => l.msg === 'state marked known-good', 15_000)
    assert.deepEqual(await knownGood(site), [marked.state])
    const status = await site.cli(['status', '--json'])
    const h = status.json.daemon.site.health
    assert.equal(h.current.state, marked.state)
    assert.ok(h.current.passes >= 5, JSON.stringify(h.current))
    assert.equal(h.current.failures, 0)
    assert.equal(status.json.daemon.site.lastGood, marked.state)

    // a broken change is recorded, fails its probes and is never marked
    const from = daemon.lines.length
    fs.writeFileSync(path.join(site.wpContent, PLUGIN), "<?php // fatal: wc() undefined\n")
    const bad = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'watch', 10_000, from)
    await daemon.waitFor((l) => l.msg === 'health probe failed', 10_000, from)
    await sleep(1500)
    assert.deepEqual(await knownGood(site), [marked.state])
    const text = (await site.cli(['status'])).stdout
    assert.match(text, /health +UNHEALTHY: the round at \S+ saw live state \w+ fail \(.*critical-error page/)
    const after = (await site.cli(['status', '--json'])).json.daemon.site.health
    assert.equal(after.current.state, bad.state)
    assert.equal(after.current.passes, 0)
    assert.match(after.current.lastFailure.reason, /HTTP 500|critical-error/)
    const shown = await site.cli(['show', String(bad.state)])
    assert.match(shown.stdout, /health +0 probe rounds passed, [1-9]\d* failed .*critical-error page/)
    // with automatic rollback off (the default) nothing is restored
    assert.match(fs.readFileSync(path.join(site.wpContent, PLUGIN), 'utf8'), /fatal/)
  })

  it('rolls back to the last known-good state after N failed rounds, audited, with the post-restore hooks', async () => {
    site = await createSite()
    s = await shop(site)
    const hookOut = path.join(site.base, 'hook.out')
    fs.appendFileSync(
      site.configFile,
      healthConfig(
        s.url,
        '    autoRollback: { enabled: true, afterFailures: 3, minInterval: 0s }\n' +
          `    hooks: { postRestore: ["echo reloaded $PEAKGUARD_SITE $PEAKGUARD_TARGET >> ${hookOut}"] }\n`,
        FAST_ONLY,
      ),
    )
    daemon = await startDaemon(site)
    const good = (await daemon.waitFor((l) => l.msg === 'state marked known-good', 15_000)).state as string
    const goodCode = fs.readFileSync(path.join(site.wpContent, PLUGIN), 'utf8')

    const from = daemon.lines.length
    fs.writeFileSync(path.join(site.wpContent, PLUGIN), "<?php // fatal: wc() undefined\n")
    const done = await daemon.waitFor((l) => /automatic rollback done/.test(l.msg), 20_000, from)
    assert.equal(done.to, good)
    assert.equal(done.verified, true)
    assert.equal(fs.readFileSync(path.join(site.wpContent, PLUGIN), 'utf8'), goodCode)
    // three failed rounds came first
    const failedRounds = daemon.lines.slice(from, daemon.lines.indexOf(done)).filter((l) => l.msg === 'health probe failed')
    assert.ok(failedRounds.length >= 3, `${failedRounds.length} failed rounds before the rollback`)

    // audited like any restore: a journal entry saying what, who and why, and undoable
    const show = await site.cli(['show', String(done.snapshot), '--json'])
    assert.equal(show.json.trailers['Peakguard-Restore-Trigger'], 'auto-rollback')
    assert.equal(show.json.trailers['Peakguard-Actor'], 'peakguard-daemon')
    assert.match(show.json.trailers['Peakguard-Reason'], /health probes failed 3 times: .*critical-error page/)
    assert.equal(show.json.trailers['Peakguard-Restore-Of'], good)
    assert.match((await site.cli(['show', String(done.snapshot)])).stdout, /by +peakguard-daemon \(auto-rollback\)\nwhy +health probes failed 3 times/)
    assert.match(fs.readFileSync(hookOut, 'utf8'), new RegExp(`^reloaded shop ${good}\n$`))
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text()
    assert.match(metrics, /peakguard_restores_total\{site="shop",trigger="auto-rollback",result="ok"\} 1/)
    assert.match(metrics, /peakguard_probes_total\{site="shop",result="fail"\} [3-9]/)
    // the site is healthy again
    await daemon.waitFor((l) => l.msg === 'snapshot' || l.msg === 'nothing in scope changed', 5000, daemon.lines.indexOf(done))
    await sleep(600)
    assert.equal((await site.cli(['status', '--json'])).json.daemon.site.health.lastRound.ok, true)
  })

  it('probes a new state at once and fast until it is proven, and says "not probed yet" until a round has seen it', async () => {
    site = await createSite()
    s = await shop(site)
    fs.appendFileSync(site.configFile, healthConfig(s.url, '', 'interval: 1h, fastInterval: 200ms, fastRounds: 3'))
    daemon = await startDaemon(site)
    const health = async () => (await site.cli(['status', '--json'])).json.daemon.site.health
    const until = async (what: string, ok: (h: any) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const h = await health()
        if (ok(h)) return h
        await sleep(100)
      }
      assert.fail(`never ${what}: ${JSON.stringify(await health())}`)
    }
    // the start-up state: probed at once, three passes fast, then the hourly interval
    const start = await until('proven after start-up', (h) => h.live.verdict === 'healthy' && h.live.cadence === 'slow')
    assert.ok(start.current.passes >= 3, JSON.stringify(start.current))

    // a change: while its first round is held at the shop, nothing says healthy
    s.hold = true
    const from = daemon.lines.length
    fs.appendFileSync(path.join(site.wpContent, PLUGIN), '// 50% off\n')
    const snap = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'watch', 10_000, from)
    const held = await until('not probed yet', (h) => h.live.state === snap.state)
    assert.equal(held.live.verdict, 'not-probed')
    assert.equal(held.live.cadence, 'fast')
    assert.ok(held.live.since, 'when the live state changed')
    assert.equal(held.lastRound.state, start.live.state, 'the last round saw the state before the change')
    const text = (await site.cli(['status'])).stdout
    assert.match(text, /health +not probed yet \(changed \d+ s ago\); probing fast/)
    assert.match(text, /last round +\S+, passed, saw state \w+/)
    // released: the new state is seen, proven in fast rounds, then probed hourly again
    const seen = s.requests
    s.release()
    const proven = await until('proven after the change', (h) => h.live.state === snap.state && h.live.verdict === 'healthy' && h.live.cadence === 'slow')
    assert.equal(proven.current.state, snap.state)
    assert.ok(s.requests - seen >= 3, `${s.requests - seen} rounds after the change`)
  })

  it('never rolls back in a loop: when the restored state fails too it stops and alerts', async () => {
    site = await createSite()
    s = await shop(site)
    fs.appendFileSync(site.configFile, healthConfig(s.url, '    autoRollback: { enabled: true, afterFailures: 2, minInterval: 0s }\n'))
    daemon = await startDaemon(site)
    await daemon.waitFor((l) => l.msg === 'state marked known-good', 15_000)
    const from = daemon.lines.length
    // the shop goes down for a reason no rollback fixes (say, a full disk), right after a change
    s.down = true
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), '<?php /* Plugin Name: Hello Dolly 1.7.3 */\n')
    await daemon.waitFor((l) => /automatic rollback done/.test(l.msg), 20_000, from)
    const alert = await daemon.waitFor((l) => l.alert === true && /unhealthy too/.test(l.msg), 20_000, from)
    assert.match(alert.msg, /stopped until a state is known-good again/)
    await sleep(2000)
    assert.equal(daemon.lines.slice(from).filter((l) => /automatic rollback done/.test(l.msg)).length, 1)
    const status = await site.cli(['status'])
    assert.match(status.stdout, /auto-rollback STOPPED: the state an automatic rollback restored .* is unhealthy too/)
  })

  it('runs the post-restore hooks after a restore from the CLI and reports each result', async () => {
    site = await createSite({
      siteConfig: `    hooks: { postRestore: ["echo opcache reset for $PEAKGUARD_SITE", "echo php-fpm not found >&2; exit 3", "echo secrets:$PEAKGUARD_S3_KEY$AWS_SECRET_ACCESS_KEY."], timeout: 5s }\n`,
    })
    const first = (await site.cli(['snapshot', '--json'])).json.id
    fs.writeFileSync(path.join(site.wpContent, PLUGIN), '<?php // 9.5\n')
    // the daemon's secrets (replica key, S3 credentials) are not handed to hooks, whose output is reported
    const r = await site.cli(['restore', first, '--yes', '--json'], { PEAKGUARD_S3_KEY: 'a'.repeat(64), AWS_SECRET_ACCESS_KEY: 'hunter2' })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.equal(r.json.hooks.length, 3)
    assert.equal(r.json.hooks[2].output, 'secrets:.')
    assert.equal(r.json.hooks[0].exitCode, 0)
    assert.equal(r.json.hooks[0].output, 'opcache reset for shop')
    assert.equal(r.json.hooks[1].exitCode, 3)
    assert.equal(r.json.hooks[1].output, 'php-fpm not found')
    fs.writeFileSync(path.join(site.wpContent, PLUGIN), '<?php // 9.6\n')
    const text = await site.cli(['restore', first, '--yes'])
    assert.match(text.stdout, /post-restore: echo opcache reset for \$PEAKGUARD_SITE: ok/)
    assert.match(text.stdout, /post-restore: echo php-fpm not found .*: FAILED \(exit 3\): php-fpm not found — the restore itself is done/)
    // a dry run runs no hook
    const dry = await site.cli(['restore', first, '--dry-run', '--json'])
    assert.equal(dry.json.hooks, undefined)
  })
})
