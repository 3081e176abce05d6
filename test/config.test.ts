// Config and init: wp-config.php in its forms, strict validation, redaction, a working config from init.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseDbHost, readWpConfig } from '../src/adapters/wp-config.ts'
import { loadConfig, parseConfig, redact, settingsTablesOf } from '../src/config.ts'
import { createSite, MAIN, REPO, runCli, type TestSite } from './harness/site.ts'
import { installWooCommerce } from './harness/woocommerce.ts'

const made: string[] = []
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-cfg-'))
  made.push(d)
  return d
}

describe('config', () => {
  after(() => {
    for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('reads DB_HOST in its forms', () => {
    assert.deepEqual(parseDbHost('db.internal'), { host: 'db.internal', port: 3306, socket: null })
    assert.deepEqual(parseDbHost('127.0.0.1:3307'), { host: '127.0.0.1', port: 3307, socket: null })
    assert.deepEqual(parseDbHost('localhost:/var/run/mysqld/other.sock'), { host: 'localhost', port: 3306, socket: '/var/run/mysqld/other.sock' })
    assert.deepEqual(parseDbHost(':/tmp/m.sock'), { host: 'localhost', port: 3306, socket: '/tmp/m.sock' })
    assert.deepEqual(parseDbHost('[::1]:3308'), { host: '::1', port: 3308, socket: null })
  })

  it("reads wp-config.php's constants in both quote styles, ignoring commented-out lines", () => {
    const dir = tmp()
    fs.writeFileSync(
      path.join(dir, 'wp-config.php'),
      `<?php
// define('DB_NAME', 'commented');
/* define( 'DB_USER', 'old' ); */
define( 'DB_NAME', 'shop_db' );
define("DB_USER", "shop");
define('DB_PASSWORD', 'p\\'a"ss#1');
define( 'DB_HOST', 'localhost:/run/mysqld/mysqld.sock' );
define('WP_ALLOW_MULTISITE', true);
define( 'MULTISITE', true );
$table_prefix = "wpx_";
`,
    )
    const c = readWpConfig(dir)
    assert.equal(c.dbName, 'shop_db')
    assert.equal(c.dbUser, 'shop')
    assert.equal(c.dbPassword, `p'a"ss#1`)
    assert.equal(c.socket, '/run/mysqld/mysqld.sock')
    assert.equal(c.tablePrefix, 'wpx_')
    assert.equal(c.multisite, true)
    assert.equal(c.wpContent, path.join(dir, 'wp-content'))
  })

  it('rejects unknown keys and wrong types naming the key path and line; applies explicit defaults', () => {
    const ok = parseConfig('sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n', 'c.yaml')
    assert.equal(ok.dataDir, '/var/lib/peakguard')
    assert.equal(ok.lockWaitSeconds, 30)
    assert.deepEqual(ok.sites[0]?.db, { host: 'localhost', port: 3306, socket: null, user: 'wp', password: '', name: 'wp', tablePrefix: 'wp_', multisite: false })
    assert.throws(() => parseConfig('sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp, passwd: x }\n', 'c.yaml'), /c\.yaml:4: sites\.0\.db\.passwd: unknown key/)
    assert.throws(() => parseConfig('lockWaitSeconds: soon\nsites: []\n', 'c.yaml'), /c\.yaml:1: lockWaitSeconds: .*number/)
    assert.throws(() => parseConfig('sites:\n  - id: Shop One\n    wpRoot: /x\n    db: { user: a, name: b }\n', 'c.yaml'), /c\.yaml:2: sites\.0\.id: lower-case/)
    assert.throws(() => parseConfig('sites: [\n', 'c.yaml'), /not valid YAML/)
  })

  it('settingsTables: presets expanded once, and wrong types, odd bytes, content tables, unknown keys and huge lists refused by key path', () => {
    const site = (tables: string) => `sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n    settingsTables: ${tables}\n`
    const ok = parseConfig(site('[woocommerce, { table: wc_webhooks, ignoreColumns: [status] }, acme_rules]'), 'c.yaml').sites[0]!
    const tables = settingsTablesOf(ok)
    assert.equal(tables.filter((t) => t.table === 'wc_webhooks').length, 1, 'a table named twice is recorded once')
    assert.deepEqual(tables.find((t) => t.table === 'wc_webhooks')?.ignoreColumns, ['status'], 'the later entry wins')
    assert.deepEqual(tables.at(-1), { table: 'acme_rules', ignoreColumns: [] })
    const cases: [string, RegExp][] = [
      ['42', /sites\.0\.settingsTables: .*array/],
      ['[42]', /sites\.0\.settingsTables\.0:/],
      ['[null]', /sites\.0\.settingsTables\.0:/],
      ['["acme\\u0000rules"]', /letters, digits, _ and \$/],
      ['["../wp_users"]', /letters, digits, _ and \$/],
      [`["${'x'.repeat(65)}"]`, /letters, digits, _ and \$/],
      ['[wp_posts_x, usermeta]', /usermeta holds content, not settings/],
      ['[{ table: acme, ignore: [x] }]', /ignore: unknown key/],
      ['[{ table: acme, ignoreColumns: ["a b"] }]', /a column name/],
      ['[{ ignoreColumns: [a] }]', /sites\.0\.settingsTables\.0/],
      [`[${Array.from({ length: 101 }, (_, i) => `t${i}`).join(', ')}]`, /sites\.0\.settingsTables:/],
    ]
    for (const [tables, why] of cases) {
      const err = (() => {
        try {
          parseConfig(site(tables), 'c.yaml')
        } catch (e) {
          return e as { code?: string; message: string }
        }
        return assert.fail(`accepted: ${tables}`)
      })()
      assert.equal(err.code, 'CONFIG_INVALID', tables)
      assert.match(err.message, why, tables.slice(0, 80))
    }
  })

  it('migrationMarkers and bridge.preUpdateWait: the defaults, and wrong types, odd bytes, huge values and lists refused by key path', () => {
    const site = (extra: string) => `sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n${extra}`
    const d = parseConfig(site(''), 'c.yaml').sites[0]!
    assert.deepEqual([d.migrationMarkers, d.bridge.preUpdateWait], [[], 15_000])
    const ok = parseConfig(site('    migrationMarkers: [edd_*_version, "my plugin schema"]\n    bridge: { preUpdateWait: 0s }\n'), 'c.yaml').sites[0]!
    assert.deepEqual([ok.migrationMarkers, ok.bridge.preUpdateWait], [['edd_*_version', 'my plugin schema'], 0])
    const cases: [string, RegExp][] = [
      ['    migrationMarkers: edd_db_version\n', /sites\.0\.migrationMarkers: .*array/],
      ['    migrationMarkers: [42]\n', /sites\.0\.migrationMarkers\.0:/],
      ['    migrationMarkers: [null]\n', /sites\.0\.migrationMarkers\.0:/],
      ['    migrationMarkers: [""]\n', /sites\.0\.migrationMarkers\.0:/],
      ['    migrationMarkers: ["a\\u0000b"]\n', /sites\.0\.migrationMarkers\.0: no control characters/],
      ['    migrationMarkers: ["a\\nb"]\n', /sites\.0\.migrationMarkers\.0: no control characters/],
      [`    migrationMarkers: ["${'x'.repeat(192)}"]\n`, /sites\.0\.migrationMarkers\.0:/],
      [`    migrationMarkers: [${Array.from({ length: 101 }, (_, i) => `m${i}`).join(', ')}]\n`, /sites\.0\.migrationMarkers:/],
      ['    bridge: { preUpdateWait: 301s }\n', /sites\.0\.bridge\.preUpdateWait: at most 300s/],
      ['    bridge: { preUpdateWait: soon }\n', /sites\.0\.bridge\.preUpdateWait/],
      ['    bridge: { preUpdateWait: [15s] }\n', /sites\.0\.bridge\.preUpdateWait/],
    ]
    for (const [extra, why] of cases) {
      const err = (() => {
        try {
          parseConfig(site(extra), 'c.yaml')
        } catch (e) {
          return e as { code?: string; message: string }
        }
        return assert.fail(`accepted: ${extra}`)
      })()
      assert.equal(err.code, 'CONFIG_INVALID', extra)
      assert.match(err.message, why, extra.slice(0, 80))
    }
  })

  it('the example config in systemd/ is valid and lists the defaults', () => {
    const c = loadConfig(path.join(REPO, 'systemd/peakguard.example.yaml'))
    const defaults = parseConfig('sites:\n  - id: shop\n    wpRoot: /var/www/shop\n    db: { user: wordpress, name: wordpress }\n', 'd.yaml')
    assert.deepEqual(c.config, defaults)
    // the commented-out s3 block lists the replica's defaults
    const text = fs.readFileSync(path.join(REPO, 'systemd/peakguard.example.yaml'), 'utf8')
    const block = /^ {4}# s3:\n((?: {4}# {3}.*\n)+)/m.exec(text)
    assert.ok(block, 'the example has a commented s3 block')
    const s3 = block[1]!.replace(/^ {4}# {3}/gm, '      ').replace(/^ +#.*\n/gm, '').replace(/ +# .*$/gm, '')
    const withS3 = parseConfig(`sites:\n  - id: shop\n    wpRoot: /var/www/shop\n    db: { user: wordpress, name: wordpress }\n    s3:\n${s3}`, 'e.yaml')
    const s3Defaults = parseConfig('sites:\n  - id: shop\n    wpRoot: /var/www/shop\n    db: { user: wordpress, name: wordpress }\n    s3: { bucket: my-shop-peakguard }\n', 'd.yaml')
    assert.deepEqual(withS3.sites[0]!.s3, s3Defaults.sites[0]!.s3)
  })

  it('redacts the database password whenever the config is shown', () => {
    const c = parseConfig('sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp, password: hunter2 }\n', 'c.yaml')
    assert.doesNotMatch(JSON.stringify(redact(c)), /hunter2/)
  })

  it('refuses hostile or mistyped notification, purge, cadence and UI keys, naming each', () => {
    const site = (extra: string) => `sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n${extra}`
    const refused = (yaml: string): string => {
      try {
        parseConfig(yaml, 'c.yaml')
      } catch (e) {
        return (e as Error).message
      }
      return assert.fail(`accepted:\n${yaml}`)
    }
    const cases: [string, RegExp][] = [
      [site('    notify: { pagerduty: [{ routingKey: k, routingKeyEnv: PD_KEY }] }\n'), /notify\.pagerduty\.0: give routingKeyEnv or routingKey \(one of them\)/],
      [site('    notify: { pagerduty: [{}] }\n'), /notify\.pagerduty\.0: give routingKeyEnv or routingKey/],
      [site('    notify: { pagerduty: [{ routingKeyEnv: "PD KEY; rm -rf /" }] }\n'), /routingKeyEnv: an environment variable name/],
      [site('    notify: { pagerduty: [{ routingKeyEnv: PD, url: "javascript:alert(1)" }] }\n'), /pagerduty\.0\.url/],
      [site('    notify: { email: [{ host: smtp.example, from: "a@b.example\\r\\nBcc: x@evil.example", to: [oncall@shop.example] }] }\n'), /notify\.email\.0\.from/],
      [site('    notify: { email: [{ host: smtp.example, from: a@shop.example, to: [] }] }\n'), /notify\.email\.0\.to/],
      [site('    notify: { email: [{ host: smtp.example, from: a@shop.example, to: [b@shop.example], userEnv: SMTP_USER }] }\n'), /give both userEnv and passwordEnv, or neither/],
      [site('    notify: { email: [{ host: smtp.example, port: 70000, from: a@shop.example, to: [b@shop.example] }] }\n'), /notify\.email\.0\.port/],
      [site('    notify: { email: [{ host: smtp.example, security: plain, from: a@shop.example, to: [b@shop.example] }] }\n'), /notify\.email\.0\.security/],
      [site('    purge: { cloudflare: { zoneId: "../../zones" } }\n'), /purge\.cloudflare\.zoneId: a Cloudflare zone id/],
      [site('    purge: { http: [{ url: "ftp://cache.example/" }] }\n'), /purge\.http\.0\.url: an http:\/\/ or https:\/\/ URL/],
      [site('    purge: { http: [{ url: "http://127.0.0.1:6081/", method: TRACE }] }\n'), /purge\.http\.0\.method/],
      [site('    purge: { http: [{ url: "http://127.0.0.1:6081/", headers: { X-Purge: "a\\r\\nHost: evil" } }] }\n'), /purge\.http\.0\.headers\.X-Purge: a header value without control characters/],
      [site(`    purge: { http: [${Array(21).fill('{ url: "http://127.0.0.1/" }').join(', ')}] }\n`), /purge\.http: /],
      [site('    purge: { plugins: "yes" }\n'), /purge\.plugins: /],
      [site('    health: { fastRounds: 0 }\n'), /health\.fastRounds: /],
      [site('    health: { fastRounds: 1e9 }\n'), /health\.fastRounds: /],
      [site('    health: { fastInterval: quick }\n'), /health\.fastInterval: not a duration/],
      [`ui: { publicUrl: "javascript:alert(1)" }\n${site('')}`, /ui\.publicUrl: an http:\/\/ or https:\/\/ URL/],
    ]
    for (const [yaml, want] of cases) assert.match(refused(yaml), want, yaml)
  })

  it('redacts every secret a probe, a purge or a pager carries: user:password in URLs, credential headers, keys', () => {
    const c = parseConfig(
      'sites:\n  - id: shop\n    wpRoot: /var/www\n    db: { user: wp, name: wp }\n' +
        '    health: { probes: [{ url: "https://probe:PROBEPASS@shop.example/", headers: { Host: shop.example, Authorization: "Bearer PROBETOKEN", Cookie: "s=PROBECOOKIE" }, basicAuth: { user: u, password: BASICPASS } }] }\n' +
        '    purge: { http: [{ url: "http://purger:PURGEPASS@127.0.0.1:6081/", headers: { X-Purge-Key: PURGEKEY } }] }\n' +
        '    notify: { pagerduty: [{ routingKey: PDKEY, url: "https://pd:PDPASS@events.example/v2/enqueue" }] }\n',
      'c.yaml',
    )
    const shown = JSON.stringify(redact(c))
    for (const secret of ['PROBEPASS', 'PROBETOKEN', 'PROBECOOKIE', 'BASICPASS', 'PURGEPASS', 'PURGEKEY', 'PDKEY', 'PDPASS']) assert.ok(!shown.includes(secret), `${secret} is shown: ${shown}`)
    // what is no secret stays readable
    assert.match(shown, /"Host":"shop\.example"/)
    assert.match(shown, /shop\.example\//)
  })

  it('peakguard config prints the effective config with the password redacted', async () => {
    const site = await createSite()
    try {
      fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8').replace(/password: ".*"/, 'password: "hunter2"'))
      const r = await site.cli(['config', '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.json.config.sites[0].db.password, '********')
      assert.equal(r.json.config.sites[0].wpContent, site.wpContent)
      assert.equal(r.json.config.sites[0].dataDir, path.join(site.dataDir, 'shop'))
      const text = await site.cli(['config'])
      assert.doesNotMatch(text.stdout, /hunter2/)
      assert.match(text.stdout, /tablePrefix: wp_/)
    } finally {
      await site.cleanup()
    }
  })

  it('init writes a working config (mode 0600) from wp-config.php, then snapshot works with it', async () => {
    const site = await createSite()
    try {
      const cfg = path.join(site.base, 'etc/peakguard.yaml')
      const r = await runCli(['init', '--wp-root', site.wpRoot, '--site-id', 'campaign', '--data-dir', path.join(site.base, 'journals'), '--config', cfg, '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual(r.json.tables, ['wp_options'])
      assert.equal(fs.statSync(cfg).mode & 0o777, 0o600)
      const loaded = loadConfig(cfg)
      assert.equal(loaded.sites[0]?.dataDir, path.join(site.base, 'journals/campaign'))
      assert.equal(fs.statSync(path.join(site.base, 'journals/campaign')).mode & 0o777, 0o700)
      const snap = await runCli(['snapshot', '--json'], { PEAKGUARD_CONFIG: cfg })
      assert.equal(snap.code, 0, snap.stderr)
      assert.equal(snap.json.created, true)
      const again = await runCli(['init', '--wp-root', site.wpRoot, '--site-id', 'campaign', '--config', cfg])
      assert.equal(again.code, 2)
      assert.match(again.stderr, /already has a site campaign/)
      assert.equal(loaded.config.ui.listen, '127.0.0.1:8087', 'the UI listens on loopback unless told otherwise')
      // --ui-listen sets where the daemon serves the UI; a malformed address changes nothing
      const bad = await runCli(['init', '--wp-root', site.wpRoot, '--site-id', 'second', '--config', cfg, '--ui-listen', 'everywhere'])
      assert.equal(bad.code, 2)
      assert.match(bad.stderr, /HOST:PORT/)
      assert.equal(loadConfig(cfg).sites.length, 1)
      const second = await runCli(['init', '--wp-root', site.wpRoot, '--site-id', 'second', '--config', cfg, '--ui-listen', '127.0.0.1:9187', '--json'])
      assert.equal(second.code, 0, second.stderr)
      assert.equal(second.json.uiListen, '127.0.0.1:9187')
      assert.equal(loadConfig(cfg).config.ui.listen, '127.0.0.1:9187')
    } finally {
      await site.cleanup()
    }
  })
})

describe('init and plugin settings tables', function () {
  this.timeout(240_000)
  let site: TestSite
  before(async () => {
    site = await createSite({ noConfig: true })
    await installWooCommerce(site.db, site.prefix)
  })
  after(async () => site?.cleanup())
  let n = 0
  const fresh = () => {
    n++
    return { cfg: path.join(site.base, `init-${n}.yaml`), data: path.join(site.base, `journals-${n}`) }
  }

  /**
   * `peakguard init` on a terminal (util-linux `script` gives it a pseudo-terminal), answering `answer`:
   * what a person sees, carriage returns and the line editor's cursor moves left out.
   */
  const initOnTerminal = (args: string[], answer: string) =>
    new Promise<{ code: number | null; screen: string }>((resolve) => {
      const cmd = [process.execPath, MAIN, 'init', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
      const p = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] })
      let screen = ''
      p.stdout.on('data', (d: Buffer) => (screen += d.toString()))
      p.stderr.on('data', (d: Buffer) => (screen += d.toString()))
      // answer once the question is on the screen, as a person would
      const answerWhenAsked = setInterval(() => {
        if (!/\[Y\/n\] /.test(screen)) return
        clearInterval(answerWhenAsked)
        p.stdin.write(answer)
      }, 50)
      const killer = setTimeout(() => p.kill('SIGKILL'), 60_000)
      p.on('close', (code) => {
        clearInterval(answerWhenAsked)
        clearTimeout(killer)
        resolve({ code, screen: screen.replace(/\r/g, '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '') })
      })
    })

  it("without a terminal, init says WooCommerce's tables are there and prints the exact line to add; it adds them only when told", async () => {
    const a = fresh()
    const r = await runCli(['init', '--wp-root', site.wpRoot, '--config', a.cfg, '--data-dir', a.data])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /found +woocommerce: its settings tables are in the database but NOT recorded; to record them, add this line to site default in .*init-1\.yaml:\n +settingsTables: \[woocommerce\]\n +\(or give init --settings-tables woocommerce\)/)
    assert.deepEqual(loadConfig(a.cfg).sites[0]?.settingsTables, [], 'not added unasked')
    const json = await runCli(['init', '--wp-root', site.wpRoot, '--site-id', 'second', '--config', a.cfg, '--json'])
    assert.equal(json.code, 0, json.stderr)
    assert.deepEqual(json.json.presetsFound, ['woocommerce'])
    assert.deepEqual(json.json.offer, { presets: ['woocommerce'], line: 'settingsTables: [woocommerce]', flag: '--settings-tables woocommerce' })
    assert.deepEqual(json.json.settingsTables, [])

    const b = fresh()
    const told = await runCli(['init', '--wp-root', site.wpRoot, '--config', b.cfg, '--data-dir', b.data, '--settings-tables', 'woocommerce', '--json'])
    assert.equal(told.code, 0, told.stderr)
    assert.deepEqual(told.json.settingsTables, ['woocommerce'])
    assert.equal(told.json.offer, null)
    assert.deepEqual(told.json.tables, ['wp_options', 'wp_woocommerce_tax_rates', 'wp_woocommerce_tax_rate_locations', 'wp_woocommerce_shipping_zones', 'wp_woocommerce_shipping_zone_locations', 'wp_woocommerce_shipping_zone_methods', 'wp_woocommerce_attribute_taxonomies', 'wp_wc_webhooks'])
    assert.deepEqual(loadConfig(b.cfg).sites[0]?.settingsTables, ['woocommerce'])
    const snap = await runCli(['--config', b.cfg, 'snapshot', '--json'])
    assert.equal(snap.code, 0, snap.stderr)
    const shown = await runCli(['--config', b.cfg, 'show', snap.json.id, '--json'])
    assert.ok((shown.json.changes.options as { name: string }[]).some((o) => o.name === 'table:woocommerce_tax_rates#2'), 'the config init wrote records the tax rates')
  })

  it('--settings-tables takes a comma list, checked like the config: a missing or content table is refused by name before the config is written', async () => {
    const a = fresh()
    await site.db.query(`CREATE TABLE ${site.prefix}acme_prices (sku varchar(64) NOT NULL PRIMARY KEY, price decimal(10,2) NOT NULL) DEFAULT CHARSET utf8mb4`)
    await site.db.query(`INSERT INTO ${site.prefix}acme_prices VALUES ('HOODIE-L', 59.90)`)
    const first = await runCli(['init', '--wp-root', site.wpRoot, '--config', a.cfg, '--data-dir', a.data, '--settings-tables', ' acme_prices , woocommerce', '--json'])
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(loadConfig(a.cfg).sites[0]?.settingsTables, ['acme_prices', 'woocommerce'])
    assert.ok(first.json.tables.includes('wp_acme_prices'))
    const written = fs.readFileSync(a.cfg, 'utf8')
    const cases: [string, string, RegExp][] = [
      ['woocommerce,acme_missing', 'CONFIG_INVALID', /settingsTables: acme_missing \(wp_acme_missing\) does not exist in database pg_test_\w+/],
      ['posts', 'CONFIG_INVALID', /posts \(wp_posts\) is refused: posts holds content, not settings/],
      ['wc_orders', 'CONFIG_INVALID', /wc_orders holds content, not settings/],
      ['acme-prices', 'CONFIG_INVALID', /acme-prices .*letters, digits, _ and \$/],
      ['woocommerce,,acme_prices', 'USAGE', /--settings-tables: an empty name in "woocommerce,,acme_prices"/],
    ]
    for (const [list, code, re] of cases) {
      const r = await runCli(['init', '--wp-root', site.wpRoot, '--site-id', 'again', '--config', a.cfg, '--settings-tables', list, '--json'])
      assert.equal(r.code, 2, `${list}: ${r.stdout}${r.stderr}`)
      assert.equal(r.stderr.includes('    at '), false, r.stderr)
      assert.equal(r.json.error.code, code, list)
      assert.match(r.json.error.message, re, list)
      assert.equal(fs.readFileSync(a.cfg, 'utf8'), written, `${list}: the config is unchanged`)
      const b = fresh()
      const none = await runCli(['init', '--wp-root', site.wpRoot, '--config', b.cfg, '--data-dir', b.data, '--settings-tables', list])
      assert.equal(none.code, 2, none.stderr)
      assert.equal(fs.existsSync(b.cfg), false, `${list}: no config written`)
      assert.equal(fs.existsSync(b.data), false, `${list}: no journal made`)
    }
  })

  it('on a terminal, init asks: Enter records the preset, n leaves it out and prints the line, end of input is a no', async () => {
    const yes = fresh()
    const y = await initOnTerminal(['--wp-root', site.wpRoot, '--config', yes.cfg, '--data-dir', yes.data], '\n')
    assert.equal(y.code, 0, y.screen)
    assert.match(y.screen, /This database holds WooCommerce's settings tables \(tax rates .*webhooks; never orders or customers\)\. Record them too \(settingsTables: \[woocommerce\]\)\? \[Y\/n\]/)
    assert.match(y.screen, /tables +settingsTables: \[woocommerce\]/)
    assert.deepEqual(loadConfig(yes.cfg).sites[0]?.settingsTables, ['woocommerce'], 'the default answer is yes')

    const no = fresh()
    const nn = await initOnTerminal(['--wp-root', site.wpRoot, '--config', no.cfg, '--data-dir', no.data], 'n\n')
    assert.equal(nn.code, 0, nn.screen)
    assert.match(nn.screen, /NOT recorded; to record them, add this line to site default in .*:\n +settingsTables: \[woocommerce\]/)
    assert.deepEqual(loadConfig(no.cfg).sites[0]?.settingsTables, [])

    const eof = fresh()
    const e = await initOnTerminal(['--wp-root', site.wpRoot, '--config', eof.cfg, '--data-dir', eof.data], '\x04')
    assert.equal(e.code, 0, e.screen)
    assert.deepEqual(loadConfig(eof.cfg).sites[0]?.settingsTables, [])

    // a choice given on the command line is not asked again
    const given = fresh()
    const g = await initOnTerminal(['--wp-root', site.wpRoot, '--config', given.cfg, '--data-dir', given.data, '--settings-tables', 'woocommerce'], 'n\n')
    assert.equal(g.code, 0, g.screen)
    assert.doesNotMatch(g.screen, /\[Y\/n\]/)
    assert.deepEqual(loadConfig(given.cfg).sites[0]?.settingsTables, ['woocommerce'])
  })

  it('a database without WooCommerce gets no offer', async () => {
    const plain = await createSite({ noConfig: true })
    try {
      const cfg = path.join(plain.base, 'peakguard.yaml')
      const r = await runCli(['init', '--wp-root', plain.wpRoot, '--config', cfg, '--json'])
      assert.equal(r.code, 0, r.stderr)
      assert.deepEqual([r.json.presetsFound, r.json.offer, r.json.settingsTables], [[], null, []])
      const t = await initOnTerminal(['--wp-root', plain.wpRoot, '--site-id', 'two', '--config', cfg], 'y\n')
      assert.equal(t.code, 0, t.screen)
      assert.doesNotMatch(t.screen, /woocommerce|\[Y\/n\]/i)
    } finally {
      await plain.cleanup()
    }
  })
})
