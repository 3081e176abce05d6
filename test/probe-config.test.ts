// The probe options in the config file: a mistake is a clear error naming the key path and its line, the
// defaults are explicit, and every YAML example in docs/probes.md is a config peakguard accepts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseConfig } from '../src/config.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** A config with one site whose one probe is `probe` (YAML lines of a list item, indented under `- `). */
function withProbe(probe: string): string {
  return `sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n    health:\n      probes:\n        - ${probe.trim().split('\n').join('\n          ')}\n`
}

function refused(probe: string): string {
  try {
    parseConfig(withProbe(probe), 'peakguard.yaml')
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'CONFIG_INVALID')
    return (e as Error).message
  }
  assert.fail(`accepted: ${probe}`)
}

const PROBE = 'sites.0.health.probes.0'

describe('probe options in the config', () => {
  it('applies explicit defaults', () => {
    const p = parseConfig(withProbe('url: https://shop.example/'), 'peakguard.yaml').sites[0]!.health.probes[0]!
    assert.deepEqual(p, {
      name: null,
      url: 'https://shop.example/',
      method: 'GET',
      headers: {},
      basicAuth: null,
      tls: { caFile: null, selfSignedOnLoopback: false },
      followRedirects: true,
      status: [200],
      mustContain: [],
      mustNotContain: [],
      maxLatency: 3000,
      timeout: 10000,
    })
    const h = parseConfig(withProbe('url: https://shop.example/'), 'peakguard.yaml').sites[0]!.health
    assert.equal(h.fastInterval, 5000)
    assert.equal(h.fastRounds, 3)
    assert.equal(h.interval, 30000)
  })

  it('refuses an unknown key, naming it and its line', () => {
    assert.equal(refused('url: https://shop.example/\nmustContian: ["Add to cart"]'), `peakguard.yaml:8: ${PROBE}.mustContian: unknown key`)
    assert.equal(refused('url: https://shop.example/\ntls: { caFile: /etc/ssl/ca.pem, insecure: true }'), `peakguard.yaml:8: ${PROBE}.tls.insecure: unknown key`)
    assert.equal(refused('url: https://shop.example/\nbasicAuth: { user: u, passwordEnv: P, realm: x }'), `peakguard.yaml:8: ${PROBE}.basicAuth.realm: unknown key`)
  })

  it('refuses a pattern that is not a regular expression, and flags other than i, m, s, u', () => {
    assert.match(refused('mustContain: [{ regex: "(unclosed" }]'), new RegExp(`^peakguard\\.yaml:7: ${PROBE}\\.mustContain\\.0\\.regex: not a regular expression: .*Unterminated group`))
    assert.match(refused('mustNotContain: ["fine", { regex: "[" }]'), new RegExp(`${PROBE}\\.mustNotContain\\.1\\.regex: not a regular expression`))
    assert.equal(refused('mustContain: [{ regex: "cart", flags: "g" }]'), `peakguard.yaml:7: ${PROBE}.mustContain.0.flags: regex flags: i, m, s, u only`)
    assert.equal(refused('mustContain: [{ regex: "cart", flag: "i" }]'), `peakguard.yaml:7: ${PROBE}.mustContain.0.flag: unknown key`)
  })

  it('refuses a header value with CR or LF (it would smuggle another header) and a header name that is not one', () => {
    assert.equal(refused('headers: { X-Site: "shop\\r\\nX-Admin: 1" }'), `peakguard.yaml:7: ${PROBE}.headers.X-Site: a header value without control characters`)
    assert.equal(refused('headers: { Host: "shop.example\\n" }'), `peakguard.yaml:7: ${PROBE}.headers.Host: a header value without control characters`)
    assert.match(refused('headers: { "Bad Name": "x" }'), new RegExp(`${PROBE}\\.headers\\.Bad Name: `))
  })

  it('refuses basicAuth with both or neither of password and passwordEnv', () => {
    const want = `peakguard.yaml:7: ${PROBE}.basicAuth: give password or passwordEnv (one of them)`
    assert.equal(refused('basicAuth: { user: staging, password: pw, passwordEnv: STAGING_PW }'), want)
    assert.equal(refused('basicAuth: { user: staging }'), want)
    assert.equal(refused('basicAuth: { user: staging, passwordEnv: "not a name" }'), `peakguard.yaml:7: ${PROBE}.basicAuth.passwordEnv: an environment variable name`)
    const ok = parseConfig(withProbe('basicAuth: { user: staging, passwordEnv: STAGING_PW }'), 'peakguard.yaml').sites[0]!.health.probes[0]!
    assert.deepEqual(ok.basicAuth, { user: 'staging', password: null, passwordEnv: 'STAGING_PW' })
  })

  it('refuses a URL that is not http(s), a method other than GET, HEAD, POST, and an empty status list', () => {
    assert.equal(refused('url: ftp://shop.example/'), `peakguard.yaml:7: ${PROBE}.url: an http:// or https:// URL`)
    assert.match(refused('url: "shop.example/cart/"'), new RegExp(`${PROBE}\\.url: `))
    assert.match(refused('method: PUT'), new RegExp(`^peakguard\\.yaml:7: ${PROBE}\\.method: .*"GET".*"HEAD".*"POST"`))
    assert.match(refused('status: []'), new RegExp(`${PROBE}\\.status: `))
  })

  it('accepts every YAML example in docs/probes.md', () => {
    const doc = fs.readFileSync(path.join(REPO, 'docs', 'probes.md'), 'utf8')
    const blocks = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!)
    assert.ok(blocks.length >= 3, 'docs/probes.md has YAML examples')
    for (const [i, yaml] of blocks.entries()) {
      const c = parseConfig(yaml, `docs/probes.md example ${i + 1}`)
      assert.ok(c.sites.length >= 1)
    }
  })

  it("accepts the README's WooCommerce probe set as a site's health block", () => {
    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8')
    const block = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => /probes:/.test(b))
    assert.ok(block, 'the README shows a probe set')
    // the block is indented as a list item of the README; as a site's keys it sits 4 spaces in
    const lines = block.split('\n').map((l) => l.replace(/^ {2}/, ''))
    const yaml = `sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n${lines.map((l) => (l ? `    ${l}` : l)).join('\n')}`
    const probes = parseConfig(yaml, 'README.md').sites[0]!.health.probes
    assert.deepEqual(probes.map((p) => p.name), ['home', 'product', 'cart', 'checkout', 'login'])
  })
})
