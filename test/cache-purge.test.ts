// "Come back clean" (issue 16): after a restore, what caches pages is purged — the page-cache plugins that
// are active, through the WordPress bridge (on a real WordPress, with stand-ins for WP Super Cache and for a
// W3 Total Cache whose purge stops PHP with a fatal error), the configured HTTP purges (a Varnish stand-in
// on loopback, and one whose address refuses connections) and Cloudflare's purge-everything (a stand-in
// API) — each listed with its outcome in the restore's report, its text, the audit log and the result page;
// a failed purge never fails the restore; the Cloudflare token and the purge header's secret show up in no
// output, audit entry or file peakguard wrote.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { HttpPurge } from '../src/adapters/http-purge.ts'
import { WpBridge } from '../src/adapters/wp-bridge.ts'
import { Views } from '../src/http/render.ts'
import { REPO } from './harness/site.ts'
import { createWordPress, type TestWordPress } from './harness/wordpress.ts'

const ZONE = '023e105f4ecef8ad9ca31a8372d0c353'
const TOKEN = 'cf-test-token-Zq8r4LmW2xYp7Tn3Vb6s'
const PURGE_KEY = 'varnish-purge-key-Hd93kLq0'

interface Seen {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: string
}

/** A loopback server standing in for Varnish (PURGE /varnish/…) and Cloudflare's API (/client/v4/…); it keeps every request. */
async function standIn(): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      if (req.url?.startsWith('/client/v4/')) {
        res.setHeader('content-type', 'application/json')
        res.end(JSON.stringify({ success: true, errors: [], messages: [], result: { id: ZONE } }))
      } else res.end('Purged\n')
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { port: (server.address() as AddressInfo).port, seen, close: () => new Promise((r) => server.close(() => r())) }
}

/** A loopback port nothing listens on (bound, then closed): a purge there is refused. */
async function closedPort(): Promise<number> {
  const s = http.createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as AddressInfo).port
  await new Promise<void>((r) => s.close(() => r()))
  return port
}

/** Every file below `dir` (text or not) that holds `needle`. */
function filesHolding(dir: string, needle: string): string[] {
  const out: string[] = []
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile() && fs.readFileSync(p).includes(needle)) out.push(p)
    }
  }
  if (fs.existsSync(dir)) walk(dir)
  return out
}

describe('cache purges after a restore (real WordPress)', function () {
  this.timeout(120_000)
  let wp: TestWordPress
  let cdn: Awaited<ReturnType<typeof standIn>>
  let down: number
  let calls: string
  let good: string
  const env = { PG_TEST_CF_TOKEN: TOKEN }

  before(async () => {
    cdn = await standIn()
    down = await closedPort()
    wp = await createWordPress({
      siteConfig:
        `    purge:\n      http:\n        - url: http://127.0.0.1:${cdn.port}/varnish/purge-all\n          method: PURGE\n          headers:\n            X-Purge-Key: ${PURGE_KEY}\n` +
        `        - url: http://127.0.0.1:${down}/\n          method: BAN\n` +
        `      cloudflare:\n        zoneId: ${ZONE}\n        tokenEnv: PG_TEST_CF_TOKEN\n        apiUrl: http://127.0.0.1:${cdn.port}/client/v4\n      timeout: 30s\n` +
        // the check after the purges is judged on what it gets, never on how fast (no timed assertion)
        `    health:\n      probes:\n        - name: home\n          maxLatency: 120s\n          timeout: 30s\n`,
    })
    const installed = await wp.cli(['wp', 'install-bridge', '--json'])
    assert.equal(installed.code, 0, installed.stderr)
    // stand-ins for two page-cache plugins: WP Super Cache's purge writes a line (and prints, which the
    // answer must not carry); W3 Total Cache's stops PHP with a fatal error
    calls = path.join(wp.base, 'purge-calls.log')
    fs.writeFileSync(calls, '')
    fs.chownSync(calls, wp.uid, wp.gid)
    const plugin = (dir: string, file: string, code: string) => {
      fs.mkdirSync(path.join(wp.wpContent, 'plugins', dir))
      fs.writeFileSync(path.join(wp.wpContent, 'plugins', dir, file), `<?php\n/**\n * Plugin Name: ${dir} (test stand-in)\n */\n${code}\n`)
      fs.chownSync(path.join(wp.wpContent, 'plugins', dir), wp.uid, wp.gid)
      fs.chownSync(path.join(wp.wpContent, 'plugins', dir, file), wp.uid, wp.gid)
    }
    plugin('wp-super-cache', 'wp-cache.php', `function wp_cache_clear_cache( $blog_id = 0 ) {\n\tfile_put_contents( '${calls}', "wp_cache_clear_cache\\n", FILE_APPEND | LOCK_EX );\n\techo '<p>Cache cleared!</p>';\n}`)
    plugin('w3-total-cache', 'w3-total-cache.php', `function w3tc_flush_all() {\n\ttrigger_error( 'the cache backend is gone', E_USER_ERROR );\n}`)
    await wp.php(`
require_once ABSPATH . 'wp-admin/includes/plugin.php';
$r = activate_plugins( array( 'wp-super-cache/wp-cache.php', 'w3-total-cache/w3-total-cache.php' ) );
if ( is_wp_error( $r ) ) { fwrite( STDERR, $r->get_error_message() ); exit( 1 ); }`)
    const snap = await wp.cli(['snapshot', '-m', 'good', '--json'])
    assert.equal(snap.code, 0, snap.stderr)
    good = snap.json.id
  })

  after(async () => {
    await wp?.stop()
    await cdn?.close()
  })

  it('purges each page cache, the HTTP purges and Cloudflare; lists each outcome; a failed purge does not fail the restore', async () => {
    await wp.db.query(`UPDATE ${wp.prefix}options SET option_value = 'Broken tagline' WHERE option_name = 'blogdescription'`)
    const r = await wp.cli(['restore', good, '--yes', '--json'], env)
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json.verified, true)
    assert.equal(r.json.caches.ok, true, r.json.caches.detail)
    const purges = r.json.purges as { name: string; kind: string; ok: boolean; detail: string }[]
    const byName = (name: string) => purges.find((p) => p.name === name)

    // the page-cache plugins, through the bridge: each found, each with its own outcome
    assert.deepEqual(byName('WP Super Cache'), { name: 'WP Super Cache', kind: 'plugin', ok: true, detail: 'called wp_cache_clear_cache() (it printed 21 bytes, left out)' })
    assert.equal(fs.readFileSync(calls, 'utf8'), 'wp_cache_clear_cache\n', 'the plugin purge function was called once')
    const w3 = byName('W3 Total Cache')
    assert.equal(w3?.kind, 'plugin')
    assert.equal(w3?.ok, false)
    assert.match(w3?.detail ?? '', /^w3tc_flush_all\(\): PHP stopped with a fatal error: the cache backend is gone in w3-total-cache\.php:\d+$/)

    // the HTTP purges: one done, one refused, shown without their paths
    assert.deepEqual(byName(`PURGE http://127.0.0.1:${cdn.port}/…`), { name: `PURGE http://127.0.0.1:${cdn.port}/…`, kind: 'http', ok: true, detail: 'HTTP 200' })
    const refused = byName(`BAN http://127.0.0.1:${down}/`)
    assert.equal(refused?.ok, false)
    assert.match(refused?.detail ?? '', /ECONNREFUSED/)
    // Cloudflare's purge-everything
    assert.deepEqual(byName(`Cloudflare zone ${ZONE}`), { name: `Cloudflare zone ${ZONE}`, kind: 'cloudflare', ok: true, detail: 'purge everything accepted (HTTP 200)' })
    assert.equal(purges.length, 5, JSON.stringify(purges))
    // inner caches first: the plugins, then the HTTP purges, then the CDN
    assert.deepEqual(
      purges.map((p) => p.kind),
      ['plugin', 'plugin', 'http', 'http', 'cloudflare'],
    )

    // what the stand-ins got: the PURGE with its header, Cloudflare's call with the bearer token and the body
    const varnish = cdn.seen.filter((s) => s.url.startsWith('/varnish/'))
    assert.deepEqual(varnish.map((s) => [s.method, s.url, s.headers['x-purge-key']]), [['PURGE', '/varnish/purge-all', PURGE_KEY]])
    const api = cdn.seen.filter((s) => s.url.startsWith('/client/v4/'))
    assert.equal(api.length, 1)
    assert.equal(api[0]?.method, 'POST')
    assert.equal(api[0]?.url, `/client/v4/zones/${ZONE}/purge_cache`)
    assert.equal(api[0]?.headers.authorization, `Bearer ${TOKEN}`)
    assert.match(api[0]?.headers['content-type'] ?? '', /^application\/json/)
    assert.deepEqual(JSON.parse(api[0]?.body ?? ''), { purge_everything: true })
    assert.ok(cdn.seen.indexOf(varnish[0] as Seen) < cdn.seen.indexOf(api[0] as Seen), 'Varnish before the CDN')

    // then the page, past the caches
    assert.equal(r.json.probe.ok, true, r.json.probe.detail)
    assert.match(r.json.probe.detail, /^home: HTTP 200 in \d+ ms$/)

    // the audit log: the restore's entry, then one with each purge and its outcome
    const audit = await wp.cli(['audit', '--json', '--type', 'restore'], env)
    assert.equal(audit.code, 0, audit.stderr)
    const entries = audit.json.entries as { summary: string; details: { step?: string; to: string; purges?: typeof purges; probe?: { ok: boolean } } }[]
    assert.equal(entries.length, 2, JSON.stringify(entries))
    assert.equal(entries[0]?.details.step, undefined)
    assert.equal(entries[0]?.details.to, good)
    const caches = entries[1]
    assert.equal(caches?.details.step, 'caches')
    assert.equal(caches?.details.to, good)
    assert.deepEqual(caches?.details.purges, purges)
    assert.equal(caches?.details.probe?.ok, true)
    assert.match(caches?.summary ?? '', /WP Super Cache purged, W3 Total Cache FAILED, PURGE http:\/\/127\.0\.0\.1:\d+\/… purged, BAN http:\/\/127\.0\.0\.1:\d+\/ FAILED, Cloudflare zone [0-9a-f]{32} purged; page confirmed past the caches/)

    // no secret anywhere peakguard wrote or printed
    for (const secret of [TOKEN, PURGE_KEY]) {
      for (const [what, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['the audit', audit.stdout]] as const) assert.ok(!text.includes(secret), `${what} holds a secret`)
      assert.deepEqual(filesHolding(wp.dataDir, secret), [], 'a file in the data folder holds a secret')
      assert.deepEqual(filesHolding(wp.bridgeDir, secret), [], 'a file in the bridge folder holds a secret')
    }
  })

  it('says each purge and its outcome in words, and the failed ones with why', async () => {
    await wp.db.query(`UPDATE ${wp.prefix}options SET option_value = 'Broken again' WHERE option_name = 'blogdescription'`)
    const r = await wp.cli(['restore', good, '--yes'], env)
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.match(r.stdout, /^purged WP Super Cache \(page-cache plugin\): called wp_cache_clear_cache\(\)/m)
    assert.match(r.stdout, /^purge FAILED: W3 Total Cache \(page-cache plugin\): w3tc_flush_all\(\): PHP stopped with a fatal error: the cache backend is gone/m)
    assert.match(r.stdout, /^purged PURGE http:\/\/127\.0\.0\.1:\d+\/… \(HTTP purge\): HTTP 200$/m)
    assert.match(r.stdout, /^purge FAILED: BAN http:\/\/127\.0\.0\.1:\d+\/ \(HTTP purge\): connection refused \(ECONNREFUSED\)/m)
    assert.match(r.stdout, new RegExp(`^purged Cloudflare zone ${ZONE} \\(CDN\\): purge everything accepted`, 'm'))
    assert.match(r.stdout, /^page checked past the caches: home: HTTP 200/m)
    assert.equal(fs.readFileSync(calls, 'utf8'), 'wp_cache_clear_cache\n'.repeat(2), 'once per restore')
    assert.ok(!(r.stdout + r.stderr).includes(TOKEN))
  })

  it('a missing token is a failed Cloudflare purge that names the variable, and the restore still succeeds', async () => {
    const r = await wp.cli(['restore', good, '--yes', '--json'], { PG_TEST_CF_TOKEN: '' })
    assert.equal(r.code, 0, r.stderr + r.stdout)
    const cf = (r.json.purges as { kind: string; ok: boolean; detail: string }[]).find((p) => p.kind === 'cloudflare')
    assert.equal(cf?.ok, false)
    assert.match(cf?.detail ?? '', /the environment variable PG_TEST_CF_TOKEN \(the API token\) is not set/)
  })

  it('the purge endpoint answers only loopback callers with the secret and no forwarding header, before any plugin runs', async () => {
    const secret = fs.readFileSync(path.join(wp.bridgeDir, 'secret'), 'utf8').trim()
    const before = fs.readFileSync(calls, 'utf8')
    const purge = (headers: Record<string, string>) => fetch(`${wp.url}/?peakguard-bridge=purge`, { headers }).then(async (r) => [r.status, await r.text()])
    assert.deepEqual(await purge({}), [403, 'Forbidden\n'])
    assert.deepEqual(await purge({ 'x-peakguard-secret': 'f'.repeat(64) }), [403, 'Forbidden\n'])
    assert.deepEqual(await purge({ 'x-peakguard-secret': secret, 'x-forwarded-for': '203.0.113.9' }), [403, 'Forbidden\n'])
    assert.equal(fs.readFileSync(calls, 'utf8'), before, 'no refused request reached a purge function')
  })

  it('the result page lists each purge and its outcome, as text', () => {
    let html = ''
    const res = { locals: {}, status: () => res, type: () => res, send: (h: string) => void (html = h) }
    const report = {
      verified: true,
      target: good,
      safetySnapshot: good,
      snapshot: good,
      files: { written: 0, removed: 0 },
      options: { written: 1, removed: 0 },
      hooks: [],
      caches: { ok: true, detail: 'opcache reset, object cache flushed' },
      purges: [
        { name: 'WP Super Cache', kind: 'plugin', ok: true, detail: 'called wp_cache_clear_cache()' },
        { name: 'BAN http://127.0.0.1:9/', kind: 'http', ok: false, detail: 'connection refused <b>(ECONNREFUSED)</b>' },
      ],
      probe: { ok: true, detail: 'home: HTTP 200 in 12 ms' },
    }
    new Views(path.join(REPO, 'web')).render(res as never, 'restore-result', { title: 'Restored', site: 'shop', zone: 'UTC', report, d: { id: good, trailers: {}, message: '', time: '' }, health: null })
    assert.match(html, /data-purge="plugin" data-ok="true">Purge <strong>WP Super Cache<\/strong> \(page-cache plugin\): done — called wp_cache_clear_cache\(\)\./)
    assert.match(html, /data-purge="http" data-ok="false">Purge <strong>BAN http:\/\/127\.0\.0\.1:9\/<\/strong> \(HTTP purge\): FAILED — connection refused &lt;b&gt;\(ECONNREFUSED\)&lt;\/b&gt;/)
    assert.match(html, /The page past every cache: healthy \(home: HTTP 200 in 12 ms\)/)
  })
})

/** A loopback server that answers each request with the next of `answers` (status, body), keeping what it got. */
async function scripted(answers: { status: number; body: string; headers?: Record<string, string> }[]) {
  const seen: Seen[] = []
  const server = http.createServer((req, res) => {
    let body = ''
    req.on('data', (d: Buffer) => (body += d.toString()))
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      const a = answers.shift() ?? { status: 500, body: 'no more answers' }
      res.writeHead(a.status, a.headers ?? {})
      res.end(a.body)
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise<void>((r) => server.close(() => r())) }
}

describe('cache purges: what comes back is bounded, what goes out keeps its secrets', () => {
  let dir: string
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-purge-'))
    fs.mkdirSync(path.join(dir, 'wp-content/mu-plugins'), { recursive: true })
    fs.writeFileSync(path.join(dir, 'wp-content/mu-plugins/peakguard-bridge.php'), "<?php define( 'PEAKGUARD_BRIDGE_VERSION', 5 );\n")
    fs.mkdirSync(path.join(dir, 'bridge'))
    fs.writeFileSync(path.join(dir, 'bridge/secret'), `${'ab'.repeat(32)}\n`)
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  const bridgeAt = (url: string) =>
    new WpBridge({ site: 'shop', wpContent: path.join(dir, 'wp-content'), bridgeDir: path.join(dir, 'bridge'), url, timeoutMs: 5000, homeUrl: async () => null, ignoredOptions: [] })

  it("checks the bridge's answer: its shape, each text made printable and short, at most 40 purges", async () => {
    const item = (name: unknown, ok: unknown, detail: unknown) => ({ id: 'x', name, ok, detail })
    const stub = await scripted([
      { status: 200, body: JSON.stringify({ ok: true, purges: [item('Evil\u001b[31m <b>Cache</b>\u202e', true, `line\nbreak ${'x'.repeat(2000)}`)] }) },
      { status: 200, body: JSON.stringify({ ok: true, purges: Array.from({ length: 41 }, () => item('A', true, 'ok')) }) },
      { status: 200, body: JSON.stringify({ ok: true, purges: [item('A', 'yes', 'ok')] }) },
      { status: 200, body: JSON.stringify({ ok: false, error: 'the purges did not run: PHP stopped with a fatal error: boom' }) },
      { status: 200, body: '<!DOCTYPE html><html>a page, not the bridge</html>' },
      { status: 403, body: 'Forbidden\n' },
      { status: 200, body: `{"ok":true,"purges":[${'{"name":"A","ok":true,"detail":"d"},'.repeat(40000)}` },
    ])
    try {
      const b = bridgeAt(stub.url)
      const [hostile] = await b.purgePlugins(5000)
      assert.equal(hostile?.ok, true)
      assert.equal(hostile?.name, 'Evil [31m <b>Cache</b>')
      assert.match(hostile?.detail ?? '', /^line break x+…$/)
      assert.equal(hostile?.detail.length, 320)
      for (const why of [/did not answer as a bridge that purges does: reinstall it/, /did not answer as a bridge that purges does/])
        assert.match((await b.purgePlugins(5000))[0]?.detail ?? '', why)
      assert.deepEqual(await b.purgePlugins(5000), [{ name: 'page-cache plugins', kind: 'plugin', ok: false, detail: 'the purges did not run: PHP stopped with a fatal error: boom' }])
      assert.match((await b.purgePlugins(5000))[0]?.detail ?? '', /did not answer as a bridge that purges does/)
      assert.match((await b.purgePlugins(5000))[0]?.detail ?? '', /refused the purge \(HTTP 403\)/)
      assert.match((await b.purgePlugins(5000))[0]?.detail ?? '', /did not answer as a bridge that purges does/)
      // every request: the secret, to the purge action, with a fresh nonce
      assert.equal(stub.seen.length, 7)
      for (const s of stub.seen) {
        assert.equal(s.headers['x-peakguard-secret'], 'ab'.repeat(32))
        assert.match(s.url, /^\/\?peakguard-bridge=purge&peakguard-nonce=[0-9a-f]{16}$/)
      }
      assert.equal(new Set(stub.seen.map((s) => s.url)).size, 7)
    } finally {
      await stub.close()
    }
  })

  it('sends URL credentials as basic auth and never shows them, the path or a header value; follows no redirect', async () => {
    const stub = await scripted([
      { status: 302, body: '', headers: { location: 'http://elsewhere.example/' } },
      { status: 405, body: `<h1>Method not allowed</h1> key was ${PURGE_KEY} at /secret-purge-path` },
    ])
    try {
      const u = new URL(stub.url)
      // one after another: the stub answers in the order requests come (HTTP purges run side by side)
      const purge = (t: { url: string; method: string; headers: Record<string, string> }) => new HttpPurge({ http: [t], cloudflare: null, timeoutMs: 5000 }).purge()
      const [redirected] = await purge({ url: `http://varnish:s3cret-pass@${u.host}/secret-purge-path?k=1`, method: 'DELETE', headers: {} })
      const [refused] = await purge({ url: `${stub.url}/secret-purge-path`, method: 'PURGE', headers: { 'X-Purge-Key': PURGE_KEY } })
      assert.deepEqual(redirected, { name: `DELETE http://${u.host}/…`, kind: 'http', ok: false, detail: 'HTTP 302 (a redirect: not followed, the purge and its headers go to the configured address only)' })
      assert.equal(refused?.name, `PURGE http://${u.host}/…`)
      assert.equal(refused?.ok, false)
      assert.match(refused?.detail ?? '', /^HTTP 405 \(the cache does not accept PURGE from this host\? check its ACL\): Method not allowed key was \[redacted\] at \[redacted\]$/)
      assert.equal(stub.seen[0]?.headers.authorization, `Basic ${Buffer.from('varnish:s3cret-pass').toString('base64')}`)
      assert.equal(stub.seen[0]?.url, '/secret-purge-path?k=1')
      assert.equal(stub.seen.length, 2, 'the redirect was not followed')
    } finally {
      await stub.close()
    }
  })

  it("a Cloudflare refusal says Cloudflare's error, without the token even when the answer quotes it", async () => {
    const stub = await scripted([{ status: 403, body: JSON.stringify({ success: false, errors: [{ code: 10000, message: `Authentication error for ${TOKEN}` }] }), headers: { 'content-type': 'application/json' } }])
    try {
      const p = new HttpPurge({ http: [], cloudflare: { zoneId: ZONE, tokenEnv: 'CF_T', apiUrl: `${stub.url}/client/v4/` }, timeoutMs: 5000, env: { CF_T: TOKEN } })
      assert.deepEqual(await p.purge(), [
        { name: `Cloudflare zone ${ZONE}`, kind: 'cloudflare', ok: false, detail: `${stub.url}/… answered HTTP 403 with success false: 10000 Authentication error for [redacted]` },
      ])
      assert.equal(stub.seen[0]?.url, `/client/v4/zones/${ZONE}/purge_cache`)
      const bad = new HttpPurge({ http: [], cloudflare: { zoneId: ZONE, tokenEnv: 'CF_T', apiUrl: stub.url }, timeoutMs: 5000, env: { CF_T: 'two\nlines' } })
      assert.match((await bad.purge())[0]?.detail ?? '', /holds characters an HTTP header cannot carry/)
      assert.equal(stub.seen.length, 1, 'a token that cannot be a header value is not sent')
    } finally {
      await stub.close()
    }
  })
})
