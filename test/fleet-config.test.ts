// A fleet's configuration: this host's node id (`node:`, else the host name), a site's `fleet:` block with
// its defaults and bounds, hostile or mistyped values refused by key path, and `peakguard init --fleet`.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, nodeIdOf, parseConfig, redact } from '../src/config.ts'
import { S3Server } from './harness/s3.ts'
import { createSite, runCli, type TestSite } from './harness/site.ts'

const S3 = '    s3: { bucket: shop-replica }\n'
const site = (extra: string, s3 = S3) => `sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n${s3}${extra}`

/** The CONFIG_INVALID message a config is refused with (a failure when it is accepted). */
function refused(yaml: string, host = 'web-1'): string {
  try {
    parseConfig(yaml, 'c.yaml', host)
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'CONFIG_INVALID', (e as Error).message)
    return (e as Error).message
  }
  return assert.fail(`accepted:\n${yaml}`)
}

const fleetOf = (extra: string) => parseConfig(site(extra), 'c.yaml', 'web-1').sites[0]!.fleet

describe('fleet config', () => {
  const made: string[] = []
  after(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('a site is no fleet unless it says so; fleet: {} takes every default, in milliseconds', () => {
    assert.equal(fleetOf(''), null)
    assert.equal(fleetOf('    fleet: null\n'), null)
    assert.equal(fleetOf('    fleet:\n'), null, 'an empty value is null, as in YAML')
    assert.deepEqual(fleetOf('    fleet: {}\n'), { heartbeat: 2000, nodeTimeout: 15_000, readyWait: 60_000, sharedFiles: false })
    assert.deepEqual(fleetOf('    fleet:\n      heartbeat: 500ms\n      nodeTimeout: 1m\n      readyWait: 5m\n      sharedFiles: true\n'), {
      heartbeat: 500,
      nodeTimeout: 60_000,
      readyWait: 300_000,
      sharedFiles: true,
    })
    // a plain number is seconds, as for every duration in the config
    assert.deepEqual(fleetOf('    fleet: { heartbeat: 3, nodeTimeout: 9, readyWait: 1.5 }\n'), { heartbeat: 3000, nodeTimeout: 9000, readyWait: 1500, sharedFiles: false })
  })

  it('each duration within its bounds, nodeTimeout at least three heartbeats', () => {
    const accepted: [string, Partial<Record<'heartbeat' | 'nodeTimeout' | 'readyWait', number>>][] = [
      ['{ heartbeat: 250ms }', { heartbeat: 250 }],
      ['{ heartbeat: 5s }', { heartbeat: 5000 }], // 3 × 5 s = the default 15 s timeout exactly
      ['{ heartbeat: 60s, nodeTimeout: 3m }', { heartbeat: 60_000, nodeTimeout: 180_000 }],
      ['{ heartbeat: 1s, nodeTimeout: 3s }', { nodeTimeout: 3000 }],
      ['{ nodeTimeout: 10m }', { nodeTimeout: 600_000 }],
      ['{ readyWait: 1s }', { readyWait: 1000 }],
      ['{ readyWait: 30m }', { readyWait: 1_800_000 }],
    ]
    for (const [block, want] of accepted) {
      const f = fleetOf(`    fleet: ${block}\n`)!
      for (const [k, v] of Object.entries(want)) assert.equal(f[k as keyof typeof want], v, block)
    }
    const cases: [string, RegExp][] = [
      ['{ heartbeat: 249ms }', /c\.yaml:6: sites\.0\.fleet\.heartbeat: between 250ms and 60s/],
      ['{ heartbeat: 0.1 }', /sites\.0\.fleet\.heartbeat: between 250ms and 60s/],
      ['{ heartbeat: 0 }', /sites\.0\.fleet\.heartbeat: between 250ms and 60s/],
      ['{ heartbeat: 60001ms, nodeTimeout: 10m }', /sites\.0\.fleet\.heartbeat: between 250ms and 60s/],
      ['{ heartbeat: 6s }', /sites\.0\.fleet\.nodeTimeout: at least 3 × heartbeat \(18s\)/],
      ['{ heartbeat: 1s, nodeTimeout: 2999ms }', /sites\.0\.fleet\.nodeTimeout: at least 3 × heartbeat \(3s\)/],
      ['{ nodeTimeout: 601s }', /sites\.0\.fleet\.nodeTimeout: at most 10m/],
      ['{ readyWait: 999ms }', /sites\.0\.fleet\.readyWait: between 1s and 30m/],
      ['{ readyWait: 1801s }', /sites\.0\.fleet\.readyWait: between 1s and 30m/],
      ['{ readyWait: 1h }', /sites\.0\.fleet\.readyWait: between 1s and 30m/],
    ]
    for (const [block, want] of cases) assert.match(refused(site(`    fleet: ${block}\n`)), want, block)
  })

  it('unknown keys and wrong types refused by key path and line', () => {
    const cases: [string, RegExp][] = [
      ['    fleet: { heartBeat: 2s }\n', /c\.yaml:6: sites\.0\.fleet\.heartBeat: unknown key/],
      ['    fleet:\n      heartbeat: 2s\n      leader: web-1\n', /c\.yaml:8: sites\.0\.fleet\.leader: unknown key/],
      ['    fleet: { sharedFiles: "yes" }\n', /sites\.0\.fleet\.sharedFiles: .*expected boolean/],
      ['    fleet: { sharedFiles: "true" }\n', /sites\.0\.fleet\.sharedFiles: .*expected boolean/],
      ['    fleet: { sharedFiles: 1 }\n', /sites\.0\.fleet\.sharedFiles: .*expected boolean/],
      ['    fleet: { heartbeat: soon }\n', /sites\.0\.fleet\.heartbeat: not a duration: "soon"/],
      ['    fleet: { heartbeat: -2 }\n', /sites\.0\.fleet\.heartbeat/],
      ['    fleet: { heartbeat: true }\n', /sites\.0\.fleet\.heartbeat/],
      ['    fleet: { heartbeat: [2s] }\n', /sites\.0\.fleet\.heartbeat/],
      ['    fleet: { readyWait: { s: 1 } }\n', /sites\.0\.fleet\.readyWait/],
      ['    fleet: [heartbeat]\n', /sites\.0\.fleet: .*expected object/],
      ['    fleet: yes\n', /sites\.0\.fleet: .*expected object/],
      ['    fleet: 42\n', /sites\.0\.fleet: .*expected object/],
    ]
    for (const [extra, want] of cases) assert.match(refused(site(extra)), want, extra)
  })

  it('a fleet needs the s3 block, and says why at its key path', () => {
    const msg = refused(site('    fleet: {}\n', ''))
    assert.match(msg, /^c\.yaml:5: sites\.0\.fleet: a fleet needs the site's s3 block: the nodes share their history through the S3 replica$/)
    assert.match(refused(site('    fleet: {}\n', '    s3: null\n')), /sites\.0\.fleet: a fleet needs the site's s3 block/)
    // the second of two sites is named by its index
    const two = `${site('')}  - id: blog\n    wpRoot: /var/www/blog\n    db: { user: wp, name: blog }\n    fleet: {}\n`
    assert.match(refused(two), /c\.yaml:9: sites\.1\.fleet: a fleet needs the site's s3 block/)
  })

  it('node: an id of 1–64 letters, digits, ., _ and -; control bytes, spaces, 65 characters and other types refused', () => {
    for (const ok of ['web-1', 'W', 'web1.eu-west.example.com', 'node_7', 'x'.repeat(64), '1a']) assert.equal(parseConfig(`node: "${ok}"\n${site('')}`, 'c.yaml').node, ok)
    const cases: [string, RegExp][] = [
      ['"web\\u0000one"', /c\.yaml:1: node: 1–64 letters, digits, \., _ and -, starting with a letter or digit/],
      ['"web\\none"', /c\.yaml:1: node: 1–64 letters/],
      ['"web\\u001b[31m"', /c\.yaml:1: node: 1–64 letters/],
      ['"web one"', /c\.yaml:1: node: 1–64 letters/],
      ['"web/../one"', /c\.yaml:1: node: 1–64 letters/],
      ['"-web"', /c\.yaml:1: node: 1–64 letters/],
      ['".hidden"', /c\.yaml:1: node: 1–64 letters/],
      ['""', /c\.yaml:1: node: 1–64 letters/],
      [`"${'x'.repeat(65)}"`, /c\.yaml:1: node: 1–64 letters/],
      ['"wéb"', /c\.yaml:1: node: 1–64 letters/],
      ['42', /c\.yaml:1: node: .*expected string/],
      ['[web-1]', /c\.yaml:1: node: .*expected string/],
      ['{ id: web-1 }', /c\.yaml:1: node: .*expected string/],
    ]
    for (const [value, want] of cases) assert.match(refused(`node: ${value}\n${site('    fleet: {}\n')}`), want, value)
  })

  it("node's default is the whole host name; one that is no node id is an error only in a fleet, asking for node:", () => {
    const plain = parseConfig(site(''), 'c.yaml', 'web-1')
    const fleet = parseConfig(site('    fleet: {}\n'), 'c.yaml', 'web-1')
    assert.equal(plain.node, null, 'the config keeps what was written')
    assert.equal(nodeIdOf(fleet, 'web-1'), 'web-1')
    assert.equal(nodeIdOf(fleet, 'web1.eu-west.shop.example'), 'web1.eu-west.shop.example', 'the domain is kept: two nodes may share a short name')
    assert.equal(nodeIdOf({ ...fleet, node: 'web-7' }, 'web1.example'), 'web-7', 'node: wins over the host name')
    // a host name that is no node id: a label outside a fleet …
    assert.equal(nodeIdOf(plain, 'web 1\x1b[31m'), 'web-1--31m')
    assert.equal(nodeIdOf(plain, `h${'x'.repeat(80)}`), `h${'x'.repeat(63)}`)
    assert.equal(nodeIdOf(plain, '___'), 'node')
    // … and in a fleet an error naming the fix, from the config check itself (init writes nothing then)
    for (const host of ['web_1!', 'x'.repeat(65), '-web', 'web\x00one', '']) {
      assert.throws(() => nodeIdOf(fleet, host), (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && /site shop is a fleet: set node: to this host's id in the fleet/.test(e.message), JSON.stringify(host))
      assert.match(refused(site('    fleet: {}\n'), host), /^c\.yaml:6: node: this host's name .* is not a node id .*set node: to this host's id in the fleet$/, JSON.stringify(host))
    }
    assert.doesNotMatch(refused(site('    fleet: {}\n'), 'web\x00one\n'), /[\x00\n]/, 'the bytes of a hostile host name are escaped in the message')
    assert.equal(parseConfig(`node: web-2\n${site('    fleet: {}\n')}`, 'c.yaml', 'web_1!').node, 'web-2', 'node: set: the host name does not matter')
  })

  it('loadConfig gives node: as written, else this host name; fleet resolved with the site and shown (nothing secret in it)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-fleetcfg-'))
    made.push(dir)
    const file = path.join(dir, 'peakguard.yaml')
    fs.writeFileSync(file, site('    fleet: { heartbeat: 1s, sharedFiles: true }\n'))
    const loaded = loadConfig(file)
    assert.equal(loaded.node, os.hostname(), 'the default node id is this host name')
    assert.deepEqual(loaded.sites[0]!.fleet, { heartbeat: 1000, nodeTimeout: 15_000, readyWait: 60_000, sharedFiles: true })
    assert.ok(Object.isFrozen(loaded.sites[0]!.fleet))
    fs.writeFileSync(file, `node: web-2\n${site('')}`)
    const named = loadConfig(file)
    assert.equal(named.node, 'web-2')
    assert.equal(named.sites[0]!.fleet, null)
    const shown = redact(parseConfig(`node: web-2\n${site('    fleet: { sharedFiles: true }\n')}`, 'c.yaml'))
    assert.equal(shown.node, 'web-2')
    assert.deepEqual(shown.sites[0]!.fleet, { heartbeat: 2000, nodeTimeout: 15_000, readyWait: 60_000, sharedFiles: true })
  })
})

describe('peakguard init --fleet', function () {
  this.timeout(240_000)
  let s3: S3Server
  let shop: TestSite
  /** s3rver's fixed credentials, through the SDK's environment chain */
  const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
  before(async () => {
    s3 = await S3Server.start()
    shop = await createSite({ noConfig: true })
  })
  after(async () => {
    await shop?.cleanup()
    await s3?.destroy()
  })
  const s3Flags = () => ['--s3-bucket', s3.bucket, '--s3-endpoint', s3.endpoint, '--s3-path-style']
  const fleetTables = async () =>
    (
      (await shop.db.query(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name LIKE 'wp\\_peakguard\\_%' ORDER BY 1`)) as unknown as [{ t: string }[]]
    )[0].map((r) => r.t)

  it('refuses --fleet without --s3-bucket before anything is made', async () => {
    const cfg = path.join(shop.base, 'no-s3.yaml')
    const r = await runCli(['init', '--wp-root', shop.wpRoot, '--config', cfg, '--data-dir', path.join(shop.base, 'no-s3'), '--fleet', '--json'])
    assert.equal(r.code, 2, r.stdout + r.stderr)
    assert.equal(r.json.error.code, 'USAGE')
    assert.equal(r.json.error.message, '--fleet needs --s3-bucket: the nodes of a fleet share their history through the S3 replica')
    assert.equal(fs.existsSync(cfg), false, 'no config written')
    assert.equal(fs.existsSync(path.join(shop.base, 'no-s3')), false, 'no journal made')
    assert.deepEqual(await fleetTables(), [], 'no table made')
  })

  it('a database user that may not create tables stops init --fleet with nothing written', async () => {
    const user = `ro_${shop.dbName.slice(-8)}`
    const wpConfig = path.join(shop.wpRoot, 'wp-config.php')
    const original = fs.readFileSync(wpConfig, 'utf8')
    await shop.db.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'ro-secret'`)
    try {
      await shop.db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${shop.dbName}\`.* TO '${user}'@'127.0.0.1'`)
      fs.writeFileSync(wpConfig, original.replace(/define\( 'DB_USER', '[^']*' \);\ndefine\( 'DB_PASSWORD', '[^']*' \);/, `define( 'DB_USER', '${user}' );\ndefine( 'DB_PASSWORD', 'ro-secret' );`).replace(/'DB_HOST', '[^:']*:/, "'DB_HOST', '127.0.0.1:"))
      assert.notEqual(fs.readFileSync(wpConfig, 'utf8'), original)
      const cfg = path.join(shop.base, 'ro.yaml')
      const r = await runCli(['init', '--wp-root', shop.wpRoot, '--config', cfg, '--data-dir', path.join(shop.base, 'ro'), '--fleet', ...s3Flags()], CREDS)
      assert.notEqual(r.code, 0, r.stdout)
      assert.match(r.stderr, /creating the fleet tables: .*init --fleet makes the tables wp_peakguard_nodes, wp_peakguard_journal, wp_peakguard_events, wp_peakguard_ops, wp_peakguard_op_nodes, wp_peakguard_docs, which needs CREATE on database pg_test_\w+ for user ro_/)
      assert.equal(r.stderr.includes('    at '), false, r.stderr)
      assert.equal(fs.existsSync(cfg), false, 'no config written')
      assert.equal(fs.existsSync(path.join(shop.base, 'ro')), false, 'no journal made')
    } finally {
      fs.writeFileSync(wpConfig, original)
      await shop.db.query(`DROP USER '${user}'@'127.0.0.1'`)
    }
  })

  it('writes fleet: {} with the s3 block and makes the fleet tables; a second site keeps them', async () => {
    const cfg = path.join(shop.base, 'etc/peakguard.yaml')
    const r = await runCli(['init', '--wp-root', shop.wpRoot, '--site-id', 'shop', '--config', cfg, '--data-dir', path.join(shop.base, 'journals'), '--fleet', ...s3Flags()], CREDS)
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`fleet +node ${os.hostname().replace(/\./g, '\\.')}; fleet tables wp_peakguard_nodes, _journal, _events, _ops, _op_nodes, _docs ready`))
    const loaded = loadConfig(cfg)
    assert.deepEqual(loaded.sites[0]!.fleet, { heartbeat: 2000, nodeTimeout: 15_000, readyWait: 60_000, sharedFiles: false })
    assert.equal(loaded.sites[0]!.s3?.bucket, s3.bucket)
    assert.match(fs.readFileSync(cfg, 'utf8'), /^ {4}fleet: \{\}$/m, 'the block as a person would write it')
    assert.deepEqual(await fleetTables(), ['wp_peakguard_docs', 'wp_peakguard_events', 'wp_peakguard_journal', 'wp_peakguard_nodes', 'wp_peakguard_ops', 'wp_peakguard_op_nodes'])

    const again = await runCli(['init', '--wp-root', shop.wpRoot, '--site-id', 'campaign', '--config', cfg, '--fleet', ...s3Flags(), '--json'], CREDS)
    assert.equal(again.code, 0, again.stderr)
    assert.deepEqual(again.json.fleet, { node: os.hostname(), tables: ['wp_peakguard_nodes', 'wp_peakguard_journal', 'wp_peakguard_events', 'wp_peakguard_ops', 'wp_peakguard_op_nodes', 'wp_peakguard_docs'] })
    assert.deepEqual(await fleetTables(), ['wp_peakguard_docs', 'wp_peakguard_events', 'wp_peakguard_journal', 'wp_peakguard_nodes', 'wp_peakguard_ops', 'wp_peakguard_op_nodes'])
    assert.deepEqual(loadConfig(cfg).sites.map((s) => s.fleet !== null), [true, true])

    const plain = await runCli(['init', '--wp-root', shop.wpRoot, '--site-id', 'plain', '--config', cfg, '--json'])
    assert.equal(plain.code, 0, plain.stderr)
    assert.equal(plain.json.fleet, null)
    assert.equal(loadConfig(cfg).sites[2]!.fleet, null)
  })
})
