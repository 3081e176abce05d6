// The HTTP probe's options against real loopback servers: an HTTP "shop", a second HTTP origin, and an HTTPS
// server with a self-signed certificate made by the openssl CLI. Each server records what reached it (method,
// path, headers, the TLS server name), so the tests check the requests at the server, not only the answers.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import dns from 'node:dns'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo, LookupFunction } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type { TLSSocket } from 'node:tls'
import zlib from 'node:zlib'
import { BYPASS_PARAM, HttpProbe, isLoopbackHost } from '../src/adapters/http-probe.ts'
import { judgeProbe, type ProbeSpec } from '../src/core/index.ts'

const PRODUCT = '<form class="cart"><button type="submit" name="add-to-cart" class="single_add_to_cart_button">Add to cart</button></form>'
const USER = 'alice'
const PASSWORD = 'correct horse battery'
const BASIC = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`

interface Seen {
  server: 'a' | 'b' | 'tls'
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  servername: string | null
}

function spec(url: string, over: Partial<ProbeSpec> = {}): ProbeSpec {
  return {
    name: null,
    url,
    method: 'GET',
    headers: {},
    basicAuth: null,
    tls: { caFile: null, selfSignedOnLoopback: false },
    followRedirects: true,
    status: [200],
    mustContain: [],
    mustNotContain: [],
    maxLatencyMs: 60_000,
    timeoutMs: 10_000,
    ...over,
  }
}

/** openssl's self-signed certificate for shop.test, localhost and 127.0.0.1. */
function selfSigned(dir: string): { key: string; cert: string } {
  const key = path.join(dir, 'key.pem')
  const cert = path.join(dir, 'cert.pem')
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=shop.test', '-addext', 'subjectAltName=DNS:shop.test,DNS:localhost,IP:127.0.0.1'],
      { stdio: 'pipe' },
    )
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') throw new Error('the openssl CLI is missing: apt-get install openssl')
    throw e
  }
  return { key, cert }
}

describe('http probe options', function () {
  let dir: string
  let cert: string
  const seen: Seen[] = []
  const servers: (http.Server | https.Server)[] = []
  let A = ''
  let B = ''
  let S = ''
  let closedPort = 0
  let probe: HttpProbe

  /** The shop's routes, the same on every server. */
  const handler = (server: Seen['server']) => (req: http.IncomingMessage, res: http.ServerResponse) => {
    const servername = server === 'tls' ? ((req.socket as TLSSocket).servername || null) : null
    seen.push({ server, method: req.method!, url: req.url!, headers: req.headers, servername })
    const u = new URL(req.url!, 'http://x')
    const html = (status: number, body: string, headers: http.OutgoingHttpHeaders = {}) => res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(body)
    const redirect = (status: number, location: string) => res.writeHead(status, { location }).end(`<a href="${location}">moved</a>`)
    const chain = /^\/chain\/(\d+)$/.exec(u.pathname)
    if (chain) return Number(chain[1]) > 0 ? redirect(302, `/chain/${Number(chain[1]) - 1}`) : html(200, 'end of the chain')
    switch (u.pathname) {
      case '/product':
        return html(200, PRODUCT)
      case '/empty':
        return html(200, '<p class="woocommerce-info">No products were found matching your selection.</p>')
      case '/echo':
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ server, method: req.method, url: req.url, headers: req.headers }))
      case '/auth':
        return req.headers.authorization === BASIC ? html(200, 'welcome') : html(401, 'who are you?', { 'www-authenticate': 'Basic realm="staging"' })
      case '/r/rel':
        return redirect(302, '/echo')
      case '/r/other':
        return redirect(302, `${B}/echo`)
      case '/r/https':
        return redirect(301, `${S}/echo`)
      case '/r/userinfo':
        return redirect(302, `http://intruder:s3cret-in-location@${new URL(A).host}/echo`)
      case '/r/host':
        return redirect(302, 'http://shop.test/echo')
      case '/r/ftp':
        return redirect(302, 'ftp://files.example/')
      case '/loop/a':
        return redirect(302, '/loop/b')
      case '/loop/b':
        return redirect(302, `${A}/loop/a`)
      case '/post':
        return req.method === 'POST' ? redirect(303, '/echo') : html(405, 'POST only')
      case '/big':
        return html(200, 'a'.repeat(1024 * 1024))
      case '/gzip':
        return res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(zlib.gzipSync(PRODUCT))
      case '/latin1':
        return res.writeHead(200, { 'content-type': 'text/html; charset=iso-8859-1' }).end(Buffer.from('<p>Warenkorb: Größe</p>', 'latin1'))
      case '/broken':
        res.writeHead(200, { 'content-type': 'text/html', 'content-length': '100000' })
        res.write('<html><body>half a pa')
        setImmediate(() => res.socket?.destroy())
        return
      case '/slow':
        return // never answers
      case '/slow-body':
        res.writeHead(200, { 'content-type': 'text/html' })
        res.write('<html><body>and then')
        return // never ends
      default:
        return html(404, 'not found')
    }
  }

  const last = (server: Seen['server'], pathname: string): Seen => {
    const s = seen.filter((x) => x.server === server && new URL(x.url, 'http://x').pathname === pathname).at(-1)
    assert.ok(s, `no request for ${pathname} reached server ${server}`)
    return s
  }

  async function listen(server: http.Server | https.Server, scheme: string): Promise<string> {
    servers.push(server)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-probe-'))
    const pair = selfSigned(dir)
    cert = pair.cert
    A = await listen(http.createServer(handler('a')), 'http')
    B = await listen(http.createServer(handler('b')), 'http')
    S = await listen(https.createServer({ key: fs.readFileSync(pair.key), cert: fs.readFileSync(pair.cert) }, handler('tls')), 'https')
    const closed = http.createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r))
    closedPort = (closed.address() as AddressInfo).port
    await new Promise((r) => closed.close(r))
    probe = new HttpProbe()
  })

  after(async () => {
    for (const s of servers) {
      s.closeAllConnections()
      await new Promise((r) => s.close(r))
    }
    fs.rmSync(dir, { recursive: true, force: true })
  })

  describe('what the page must and must not hold', () => {
    it('passes a product page that holds "Add to cart", literal and regex', async () => {
      const p = spec(`${A}/product`, { name: 'product', mustContain: ['Add to cart', { regex: 'single_add_to_cart_button|add-to-cart', flags: '' }], mustNotContain: ['No products were found'] })
      const v = judgeProbe(await probe.fetch(p), p)
      assert.equal(v.reason, null)
      assert.equal(v.name, 'product')
      assert.equal(v.url, `${A}/product`)
    })

    it('fails a page that lacks the text or holds the forbidden text, saying which', async () => {
      const lacks = spec(`${A}/empty`, { mustContain: ['Add to cart'] })
      assert.equal(judgeProbe(await probe.fetch(lacks), lacks).reason, 'the page lacks "Add to cart"')
      const holds = spec(`${A}/empty`, { mustNotContain: ['No products were found'] })
      assert.equal(judgeProbe(await probe.fetch(holds), holds).reason, 'the page holds "No products were found"')
      const regex = spec(`${A}/empty`, { mustNotContain: [{ regex: 'no products? (were|was) found', flags: 'i' }] })
      assert.equal(judgeProbe(await probe.fetch(regex), regex).reason, 'the page holds /no products? (were|was) found/i ("No products were found")')
    })

    it('reads a gzip-compressed body and a body in the charset its Content-Type names', async () => {
      const gz = spec(`${A}/gzip`, { mustContain: ['Add to cart'] })
      assert.equal(judgeProbe(await probe.fetch(gz), gz).reason, null)
      const latin = spec(`${A}/latin1`, { mustContain: ['Größe'] })
      assert.equal(judgeProbe(await probe.fetch(latin), latin).reason, null)
    })

    it('keeps the first 256 KiB of a large body', async () => {
      const r = await probe.fetch(spec(`${A}/big`))
      assert.equal(r.status, 200)
      assert.equal(r.body.length, 256 * 1024)
    })
  })

  describe('method, headers, basic auth', () => {
    it('HEAD: the server sees a HEAD, the answer has no body, and body checks fail with a reason', async () => {
      const r = await probe.fetch(spec(`${A}/product`, { method: 'HEAD' }))
      assert.equal(r.status, 200)
      assert.equal(r.body, '')
      assert.equal(last('a', '/product').method, 'HEAD')
      const withText = spec(`${A}/product`, { method: 'HEAD', mustContain: ['Add to cart'] })
      assert.match(judgeProbe(await probe.fetch(withText), withText).reason!, /a HEAD answer has no body/)
    })

    it('POST: the server sees a POST with an empty body; after a 303 the probe GETs the new place', async () => {
      const r = await probe.fetch(spec(`${A}/echo`, { method: 'POST' }))
      assert.equal(r.status, 200)
      const echo = last('a', '/echo')
      assert.equal(echo.method, 'POST')
      assert.equal(echo.headers['content-length'], '0')
      const after = await probe.fetch(spec(`${A}/post`, { method: 'POST' }))
      assert.equal(after.status, 200)
      assert.equal(last('a', '/post').method, 'POST')
      assert.equal(last('a', '/echo').method, 'GET')
    })

    it('sends the configured headers, the Host header included, to the server', async () => {
      const r = await probe.fetch(spec(`${A}/echo`, { headers: { Host: 'shop.test', 'User-Agent': 'shop-monitor', 'X-Probe': 'yes' } }))
      assert.equal(r.status, 200)
      const echo = last('a', '/echo')
      assert.equal(echo.headers.host, 'shop.test')
      assert.equal(echo.headers['user-agent'], 'shop-monitor')
      assert.equal(echo.headers['x-probe'], 'yes')
    })

    it('without a Host header the URL names the host; the default user agent is peakguard-probe', async () => {
      await probe.fetch(spec(`${A}/echo`))
      const echo = last('a', '/echo')
      assert.equal(echo.headers.host, new URL(A).host)
      assert.equal(echo.headers['user-agent'], 'peakguard-probe')
    })

    it('basic auth: the right password passes, a wrong one is a 401 judged failed, and the password is never shown', async () => {
      const right = spec(`${A}/auth`, { basicAuth: { user: USER, password: PASSWORD } })
      assert.equal(judgeProbe(await probe.fetch(right), right).reason, null)
      const wrong = spec(`${A}/auth`, { basicAuth: { user: USER, password: 'wrong password 1234' } })
      const r = await probe.fetch(wrong)
      const v = judgeProbe(r, wrong)
      assert.equal(v.reason, 'HTTP 401, expected 200')
      assert.doesNotMatch(JSON.stringify([r, v]), /wrong password 1234|d3JvbmcgcGFzc3dvcmQgMTIzNA/)
      // and not when no answer comes either
      const refused = spec(`http://127.0.0.1:${closedPort}/auth`, { basicAuth: { user: USER, password: PASSWORD } })
      const rr = await probe.fetch(refused)
      assert.match(rr.error!, /^ECONNREFUSED/)
      assert.equal(JSON.stringify([rr, judgeProbe(rr, refused)]).includes(PASSWORD), false)
    })

    it('a user and password written into the URL are used, and removed from the URL the probe reports', async () => {
      const p = spec(`http://${USER}:${encodeURIComponent(PASSWORD)}@${new URL(A).host}/auth`)
      const r = await probe.fetch(p)
      assert.equal(r.status, 200)
      assert.equal(r.url, `${A}/auth`)
      const v = judgeProbe(r, p)
      assert.equal(v.ok, true)
      assert.doesNotMatch(JSON.stringify([r, v]), /correct|horse/)
    })
  })

  describe('TLS', () => {
    it('refuses a self-signed certificate without options, in words; no request reaches the server', async () => {
      const before = seen.length
      const p = spec(`${S}/echo`, { basicAuth: { user: USER, password: PASSWORD } })
      const r = await probe.fetch(p)
      assert.equal(r.status, null)
      assert.equal(r.error, 'TLS: self-signed certificate — set tls.caFile, or tls.selfSignedOnLoopback for a loopback URL')
      assert.equal(judgeProbe(r, p).reason, 'no answer: TLS: self-signed certificate — set tls.caFile, or tls.selfSignedOnLoopback for a loopback URL')
      assert.equal(seen.length, before)
    })

    it('accepts it with tls.caFile', async () => {
      const r = await probe.fetch(spec(`${S}/echo`, { tls: { caFile: cert, selfSignedOnLoopback: false } }))
      assert.equal(r.error, null)
      assert.equal(r.status, 200)
    })

    it('accepts it with tls.selfSignedOnLoopback on 127.0.0.1', async () => {
      const r = await probe.fetch(spec(`${S}/echo`, { tls: { caFile: null, selfSignedOnLoopback: true } }))
      assert.equal(r.error, null)
      assert.equal(r.status, 200)
    })

    it('refuses tls.selfSignedOnLoopback for a host name that is not loopback, even one that resolves to 127.0.0.1', async () => {
      const lookup = ((hostname: string, options: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
        if (hostname !== 'shop.test') return dns.lookup(hostname, options, cb as never)
        if (options.all) cb(null, [{ address: '127.0.0.1', family: 4 }])
        else cb(null, '127.0.0.1', 4)
      }) as unknown as LookupFunction
      const named = new HttpProbe({ lookup })
      const before = seen.length
      const r = await named.fetch(spec(`https://shop.test:${new URL(S).port}/echo`, { tls: { caFile: null, selfSignedOnLoopback: true } }))
      assert.equal(r.status, null)
      assert.equal(r.error, 'TLS: self-signed certificate — tls.selfSignedOnLoopback applies only to a loopback URL (127.0.0.0/8, ::1, localhost), not shop.test: set tls.caFile')
      assert.equal(seen.length, before)
      // the same name with the CA file is fine: the refusal is about the option, not the name
      const ok = await named.fetch(spec(`https://shop.test:${new URL(S).port}/echo`, { tls: { caFile: cert, selfSignedOnLoopback: false } }))
      assert.equal(ok.status, 200)
      assert.equal(last('tls', '/echo').servername, 'shop.test')
    })

    it('decides what is a loopback host from the URL alone', () => {
      for (const h of ['127.0.0.1', '127.255.255.254', '127.1', '[::1]', '::1', 'localhost', 'LOCALHOST', 'localhost.', '[::ffff:127.0.0.1]', '[0:0:0:0:0:0:0:1]'])
        assert.equal(isLoopbackHost(h), true, h)
      for (const h of ['128.0.0.1', '126.0.0.1', '0.0.0.0', '10.0.0.1', 'shop.test', 'localhost.shop.test', 'my-localhost', '127.0.0.1.nip.io', '[::2]', '[::]', '[::ffff:10.0.0.1]', ''])
        assert.equal(isLoopbackHost(h), false, h)
    })

    it('sends the Host header and takes the TLS server name (SNI) and the certificate name from it', async () => {
      const r = await probe.fetch(spec(`${S}/echo`, { headers: { Host: 'shop.test' }, tls: { caFile: cert, selfSignedOnLoopback: false } }))
      assert.equal(r.error, null)
      const echo = last('tls', '/echo')
      assert.equal(echo.servername, 'shop.test')
      assert.equal(echo.headers.host, 'shop.test')
      // a Host the certificate is not for is refused, naming it
      const wrong = await probe.fetch(spec(`${S}/echo`, { headers: { Host: 'other.test' }, tls: { caFile: cert, selfSignedOnLoopback: false } }))
      assert.equal(wrong.error, 'TLS: the certificate is not for other.test (the name of the Host header)')
    })

    it('reports a missing or unreadable CA file as the probe error, and reads a changed one again', async () => {
      const missing = await probe.fetch(spec(`${S}/echo`, { tls: { caFile: path.join(dir, 'nope.pem'), selfSignedOnLoopback: false } }))
      assert.equal(missing.status, null)
      assert.equal(missing.error, `tls.caFile ${path.join(dir, 'nope.pem')} cannot be read: no such file`)
      const copy = path.join(dir, 'ca.pem')
      fs.copyFileSync(cert, copy)
      assert.equal((await probe.fetch(spec(`${S}/echo`, { tls: { caFile: copy, selfSignedOnLoopback: false } }))).status, 200)
      fs.writeFileSync(copy, 'not a certificate at all, and a different size')
      const garbage = await probe.fetch(spec(`${S}/echo`, { tls: { caFile: copy, selfSignedOnLoopback: false } }))
      assert.equal(garbage.error, `tls.caFile ${copy} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
      const asDir = await probe.fetch(spec(`${S}/echo`, { tls: { caFile: dir, selfSignedOnLoopback: false } }))
      assert.equal(asDir.error, `tls.caFile ${dir} cannot be read: it is a directory`)
    })

    it('a TLS probe of a plain HTTP port says so', async () => {
      const r = await probe.fetch(spec(`https://${new URL(A).host}/echo`))
      assert.equal(r.status, null)
      assert.match(r.error!, /TLS|EPROTO/)
    })
  })

  describe('redirects', () => {
    it('follows a relative Location; basic auth goes along on the same origin', async () => {
      const r = await probe.fetch(spec(`${A}/r/rel`, { basicAuth: { user: USER, password: PASSWORD } }))
      assert.equal(r.status, 200)
      assert.equal(r.url, `${A}/r/rel`)
      assert.equal(last('a', '/echo').headers.authorization, BASIC)
    })

    it('does not send basic auth (nor an Authorization or Cookie header) to another origin', async () => {
      const r = await probe.fetch(spec(`${A}/r/other`, { basicAuth: { user: USER, password: PASSWORD }, headers: { Cookie: 'session=1', 'X-Probe': 'yes' } }))
      assert.equal(r.status, 200)
      const other = last('b', '/echo')
      assert.equal(other.headers.authorization, undefined)
      assert.equal(other.headers.cookie, undefined)
      assert.equal(other.headers['x-probe'], 'yes')
      assert.equal(other.headers.host, new URL(B).host)
      assert.equal(last('a', '/r/other').headers.cookie, 'session=1')
    })

    it('follows http to https (the TLS options apply there too), without the credentials of the other origin', async () => {
      const refused = await probe.fetch(spec(`${A}/r/https`))
      assert.match(refused.error!, /^TLS: self-signed certificate/)
      const r = await probe.fetch(spec(`${A}/r/https`, { basicAuth: { user: USER, password: PASSWORD }, tls: { caFile: null, selfSignedOnLoopback: true } }))
      assert.equal(r.status, 200)
      assert.equal(JSON.parse(r.body).server, 'tls')
      assert.equal(last('tls', '/echo').headers.authorization, undefined)
    })

    it('behind a proxy: a redirect to the Host header’s name goes to the configured address, with the Host header', async () => {
      const r = await probe.fetch(spec(`${A}/r/host`, { headers: { Host: 'shop.test' }, basicAuth: { user: USER, password: PASSWORD } }))
      assert.equal(r.error, null)
      assert.equal(r.status, 200)
      const echo = last('a', '/echo')
      assert.equal(echo.headers.host, 'shop.test')
      assert.equal(echo.headers.authorization, BASIC)
    })

    it('a redirect to a URL with a user and password: followed, its credentials neither sent nor shown', async () => {
      const r = await probe.fetch(spec(`${A}/r/userinfo`))
      assert.equal(r.error, null)
      assert.equal(r.status, 200)
      assert.equal(last('a', '/echo').headers.authorization, undefined)
      assert.doesNotMatch(JSON.stringify(r.url), /s3cret|intruder/)
      // with the probe's own basic auth, its own credentials go (the same origin), never the Location's
      await probe.fetch(spec(`${A}/r/userinfo`, { basicAuth: { user: USER, password: PASSWORD } }))
      assert.equal(last('a', '/echo').headers.authorization, BASIC)
    })

    it('not followed: the 3xx itself is judged', async () => {
      const p = spec(`${A}/r/rel`, { followRedirects: false })
      const r = await probe.fetch(p)
      assert.equal(r.status, 302)
      assert.equal(judgeProbe(r, p).reason, 'HTTP 302, expected 200')
      const moved = spec(`${A}/r/rel`, { followRedirects: false, status: [301, 302] })
      assert.equal(judgeProbe(await probe.fetch(moved), moved).ok, true)
    })

    it('a redirect loop fails, in words', async () => {
      const p = spec(`${A}/loop/a`)
      const r = await probe.fetch(p)
      assert.equal(r.error, `redirect loop: back to ${A}/loop/a`)
      assert.equal(judgeProbe(r, p).reason, `redirect loop: back to ${A}/loop/a (HTTP 302)`)
    })

    it('follows ten redirects, not eleven', async () => {
      assert.equal((await probe.fetch(spec(`${A}/chain/10`))).status, 200)
      const r = await probe.fetch(spec(`${A}/chain/11`))
      assert.equal(r.error, 'too many redirects (10)')
      assert.equal(r.status, 302)
    })

    it('a redirect to a URL that is not http(s) fails, in words', async () => {
      const r = await probe.fetch(spec(`${A}/r/ftp`))
      assert.equal(r.error, 'a redirect (HTTP 302) to a URL that is not http(s): ftp://files.example/')
    })
  })

  describe('past the page caches', () => {
    it('bypassCache adds a unique query parameter and no-cache headers; the reported URL stays as configured', async () => {
      const p = spec(`${A}/echo?lang=de`, { bypassCache: true })
      const r1 = await probe.fetch(p)
      const first = last('a', '/echo')
      await probe.fetch(p)
      const second = last('a', '/echo')
      assert.match(first.url, new RegExp(`^/echo\\?lang=de&${BYPASS_PARAM}=[0-9a-f]{16}$`))
      assert.match(second.url, new RegExp(`^/echo\\?lang=de&${BYPASS_PARAM}=[0-9a-f]{16}$`))
      assert.notEqual(first.url, second.url)
      assert.equal(first.headers['cache-control'], 'no-cache')
      assert.equal(first.headers.pragma, 'no-cache')
      assert.equal(r1.url, `${A}/echo?lang=de`)
      await probe.fetch(spec(`${A}/echo`, { bypassCache: true }))
      assert.match(last('a', '/echo').url, new RegExp(`^/echo\\?${BYPASS_PARAM}=[0-9a-f]{16}$`))
    })

    it('a normal probe keeps the URL as configured and sends no cache headers', async () => {
      await probe.fetch(spec(`${A}/echo?lang=de`))
      const echo = last('a', '/echo')
      assert.equal(echo.url, '/echo?lang=de')
      assert.equal(echo.headers['cache-control'], undefined)
      assert.equal(echo.headers.pragma, undefined)
    })
  })

  describe('no answer', () => {
    it('a server that does not answer within the timeout', async () => {
      const p = spec(`${A}/slow`, { timeoutMs: 300 })
      const r = await probe.fetch(p)
      assert.equal(r.status, null)
      assert.equal(r.error, 'no answer within 300 ms')
      assert.equal(judgeProbe(r, p).reason, 'no answer: no answer within 300 ms')
    })

    it('a page that does not finish within the timeout', async () => {
      const p = spec(`${A}/slow-body`, { timeoutMs: 300 })
      const r = await probe.fetch(p)
      assert.equal(r.status, 200)
      assert.equal(r.error, 'the page did not finish within 300 ms')
      assert.equal(judgeProbe(r, p).reason, 'the page did not finish within 300 ms (HTTP 200)')
    })

    it('a refused connection and an answer that broke off', async () => {
      const r = await probe.fetch(spec(`http://127.0.0.1:${closedPort}/`))
      assert.equal(r.status, null)
      assert.equal(r.error, `ECONNREFUSED: nothing accepts connections at 127.0.0.1:${closedPort}`)
      const broken = await probe.fetch(spec(`${A}/broken`))
      assert.equal(broken.status, 200)
      assert.match(broken.error!, /^the answer broke off: ECONNRESET/)
      assert.match(broken.body, /half a pa/)
    })
  })
})
