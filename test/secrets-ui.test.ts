// Secrets never reach a viewer's browser (issue 14): options holding API keys in the forms WordPress
// plugins really store them — JSON, serialize() with a wrong length, serialized then turned into plain
// text, nested 30 deep, under an innocuous key, a password in a URL — are put in the real options table
// of a sample site on a real MariaDB, snapshotted, changed, and read on the state page and on the change
// requests page as a viewer, through the real daemon: no secret in the HTML, and every change still shown.
import assert from 'node:assert/strict'
import { isSecretName } from '../src/core/index.ts'
import { fastDaemonConfig, isSnapshot, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, phpSerialize, type TestSite } from './harness/site.ts'
import { login, makeUsers, ok } from './harness/users.ts'

/** Secrets of each version of the options; alphanumeric, so HTML escaping cannot hide a leak from the search. */
const secrets = (v: string) => ({
  json: `sk_live_JSON${v}4eC39HqLyjWDarjtT1zdp7dc`,
  broken: `sk_live_BROKEN${v}51HqLyjWDarjtT1zd`,
  plain: `sk_live_PLAIN${v}9vR4tY7wB3nC6dF1g`,
  deep: `hunter2DEEP${v}`,
  innocuous: `Zx8Kq2LmP9vR4tY7wB3nC6dF1gH5jS0${v}`,
  url: `S3cretDbPass${v}`,
  github: `ghp_wWPw5k4aXcaT4fNP0UcnZwJUVFk6LO0p${v}`,
})

function nested(depth: number, leaf: Record<string, unknown>): Record<string, unknown> {
  let v: Record<string, unknown> = leaf
  for (let i = 0; i < depth; i++) v = { level: v }
  return v
}

/** The option values of one version: `v` names the secrets, `mode` is the harmless setting that changes. */
function options(v: string, mode: string): Record<string, string> {
  const s = secrets(v)
  const apiKey = s.broken
  return {
    // {"api_key":"sk_live_…"} in a JSON option
    pg_stripe_json: JSON.stringify({ api_key: s.json, mode }),
    // serialize() whose length is wrong (a search-and-replace on the SQL dump): does not unserialize
    pg_mailer_serialized: `a:2:{s:4:"mode";s:${mode.length}:"${mode}";s:10:"secret_key";s:${apiKey.length + 7}:"${apiKey}";}`,
    // serialized in one version, plain text in the other (below)
    pg_gateway_conf: phpSerialize({ mode, secret_key: s.plain }),
    // a secret 30 levels deep, beside a harmless setting that changes
    pg_deep_settings: phpSerialize(nested(30, { api_key: s.deep, mode })),
    // a secret under a name that says nothing, found by its shape; and a known token format
    pg_misc_config: JSON.stringify({ value: s.innocuous, list: [s.github], mode }),
    // a password in a URL, in plain text
    pg_remote_db: `mysql://wp:${s.url}@db.internal:3306/wp?mode=${mode}`,
  }
}

describe('secrets on the state and requests pages (real daemon, real MariaDB, a viewer)', function () {
  this.timeout(240_000)
  let site: TestSite
  let daemon: RunningDaemon
  let tokens: Record<string, string>
  let first = ''
  let second = ''
  const all = [...Object.values(secrets('A')), ...Object.values(secrets('B')), ...Object.values(secrets('C'))]

  /** All options of a version in one transaction: one snapshot (or one held change) holds them all. */
  const set = async (values: Record<string, string>) => {
    await site.db.beginTransaction()
    for (const [name, value] of Object.entries(values)) await site.db.query(`UPDATE wp_options SET option_value = ? WHERE option_name = ?`, [value, name])
    await site.db.commit()
  }

  /** No secret of any version in `html`, in clear or in part. */
  const noSecrets = (html: string, where: string) => {
    for (const s of all) assert.ok(!html.includes(s), `${where}: the secret ${s} is in the page`)
    for (const part of ['sk_live_', 'ghp_', 'hunter2', 'S3cretDbPass', 'Zx8Kq2LmP9vR4tY7']) assert.ok(!html.includes(part), `${where}: "${part}" is in the page`)
  }

  /** Each option named, shown changed (its mode from → to), and its secrets marked hidden. */
  const changesShown = (html: string, from: string, to: string, where: string) => {
    for (const name of Object.keys(options('A', from))) assert.match(html, new RegExp(`option:wp_options\\.${name}`), `${where}: ${name} is listed`)
    assert.match(html, new RegExp(`class="l-del">[^<]*${from}`), `${where}: the old setting is shown`)
    assert.match(html, new RegExp(`class="l-add">[^<]*${to}`), `${where}: the new setting is shown`)
    assert.match(html, /•••••• \(secret, hidden; #[0-9a-f]{4}\)/, `${where}: hidden secrets are marked`)
    // the JSON option: the one changed line, with its secret's fingerprint, shows that the key changed
    const del = /class="l-del">-\{&quot;api_key&quot;:&quot;•••••• \(secret, hidden; #([0-9a-f]{4})\)&quot;,&quot;mode&quot;:&quot;(\w+)&quot;\}/.exec(html)
    const add = /class="l-add">\+\{&quot;api_key&quot;:&quot;•••••• \(secret, hidden; #([0-9a-f]{4})\)&quot;,&quot;mode&quot;:&quot;(\w+)&quot;\}/.exec(html)
    assert.ok(del && add, `${where}: the JSON option's change is shown, its key hidden`)
    assert.deepEqual([del[2], add[2]], [from, to])
    // (16 bits: two different keys share a fingerprint once in 65536 — these two do not)
    assert.notEqual(del[1], add[1], `${where}: a changed key shows as changed`)
  }

  before(async () => {
    site = await createSite({ siteConfig: fastDaemonConfig('    freeze: { zone: UTC, policy: hold }\n') })
    for (const [name, value] of Object.entries(options('A', 'sandbox'))) {
      assert.ok(!isSecretName(name), `${name} must not be hidden whole by its name: this test is about its value`)
      await site.db.query(`INSERT INTO wp_options (option_name, option_value, autoload) VALUES (?, ?, 'yes')`, [name, value])
    }
    tokens = await makeUsers(site.configFile, 'ada', { vic: 'viewer' })
    const snap = await site.cli(['--json', 'snapshot', '--message', 'with version A of the settings'], { PEAKGUARD_TOKEN: tokens.ada as string })
    ok(snap, 'snapshot A')
    first = (snap.json as { id: string }).id
    daemon = await startDaemon(site)
  })

  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  it('the state page shows what changed in each option, and no secret', async () => {
    const from = daemon.lines.length
    const b = options('B', 'livemode')
    // the gateway's settings: from serialized to plain text (a plugin that rewrote them by hand)
    b.pg_gateway_conf = `mode=livemode\nsecret_key=${secrets('B').plain}\n`
    await set(b)
    const snap = await daemon.waitFor(isSnapshot, 30_000, from)
    second = String(snap.state)
    const { c } = await login(daemon.url, 'vic', 'vic-password-1')
    const page = await c.get(`/sites/shop/states/${second}?against=${first}`)
    assert.equal(page.status, 200)
    noSecrets(page.body, 'state B against A')
    changesShown(page.body, 'sandbox', 'livemode', 'state B against A')
    // the deep option: unserialized, its harmless setting 30 levels down is shown changed
    assert.match(page.body, /PHP-serialized, shown unserialized/)
    assert.match(page.body, /class="l-add">\+\s+&quot;mode&quot;: &quot;livemode&quot;/)
    // the URL keeps its host, loses its password
    assert.match(page.body, /mysql:\/\/wp:•••••• \(secret, hidden; #[0-9a-f]{4}\)@db\.internal:3306/)
    const vsLive = await c.get(`/sites/shop/states/${first}`)
    assert.equal(vsLive.status, 200)
    noSecrets(vsLive.body, 'state A against the live site')
    assert.match(vsLive.body, /pg_stripe_json/)
  })

  it('the change requests page shows a held change to them, and no secret', async () => {
    ok(await site.cli(['freeze', 'start', '--for', '1h', '--reason', 'launch night'], { PEAKGUARD_TOKEN: tokens.ada as string }), 'freeze start')
    const from = daemon.lines.length
    const c3 = options('C', 'frozenmode')
    c3.pg_gateway_conf = `mode=frozenmode\nsecret_key=${secrets('C').plain}\n`
    await set(c3)
    await daemon.waitFor((l) => l.msg === 'freeze: change held for approval', 30_000, from)
    const { c } = await login(daemon.url, 'vic', 'vic-password-1')
    const page = await c.get('/sites/shop/requests')
    assert.equal(page.status, 200)
    assert.doesNotMatch(page.body, /The diff cannot be shown/)
    noSecrets(page.body, 'requests')
    changesShown(page.body, 'livemode', 'frozenmode', 'requests')
  })
})
