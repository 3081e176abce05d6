// npm run demo:story: the narrated 3 a.m. story, told by itself (`npm run demo` starts the real WordPress
// stack for you to click through instead). It runs on a generated sample shop with a private MariaDB, with the daemon doing
// the night shift's work. init → the daemon records the launch state and, once the shop stayed healthy,
// marks it known-good → a bad change lands (plugin broken, setting changed) while orders keep coming in →
// recorded within seconds → the health probes see WordPress's critical-error page → automatic rollback to
// the known-good state → every order is still there → someone saves the Site Editor's header without its
// Checkout button → the operator restores just that template part → and, as the host were gone, the journal is rebuilt
// from its encrypted S3 replica (a local S3-compatible server, s3rver) alone. Safe to run again: it starts from scratch in
// snapshots/demo-story/ and stops what it started (the daemon, the database, the little shop server).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { isSnapshot, startDaemon, type LogLine, type RunningDaemon } from '../test/harness/daemon.ts'
import { mariadb, stopMariadb } from '../test/harness/mariadb.ts'
import { S3Server } from '../test/harness/s3.ts'
import { createSite, MAIN, REPO, type TestSite } from '../test/harness/site.ts'

process.env.PEAKGUARD_TEST_PRIVATE_DB = '1' // never touch a database server that was already there
// s3rver's fixed credentials, given the way an operator gives real ones: the AWS SDK's environment chain
process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
const base = path.join(REPO, 'snapshots/demo-story')
const config = path.join(base, 'peakguard.yaml')
const PLUGIN = 'plugins/akismet/akismet.php'
const HEADER = 'entity:wp_template_part/twentytwentythree/header'

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`)
}

function say(text: string): void {
  process.stdout.write(`${text}\n`)
}

/**
 * Runs the same peakguard as the story's daemon (the harness's entry file). Never synchronously: a restore
 * checks the front page, which this process serves.
 */
async function peakguard(...args: string[]): Promise<void> {
  say(`$ peakguard ${args.join(' ')}`)
  const p = spawn(process.execPath, [MAIN, '--config', config, ...args], { stdio: 'inherit' })
  const code = await new Promise<number | null>((r) => p.on('close', r))
  if (code !== 0) throw new Error(`peakguard ${args.join(' ')} exited ${code}`)
}

async function orders(db: mysql.Connection): Promise<number> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'shop_order'`)
  return Number(rows[0]?.n)
}

/** Twenty Twenty-Three's header as the Site Editor saves it: the site title and a Checkout button, or a campaign line where the button was. */
function headerMarkup(withCheckout: boolean): string {
  const right = withCheckout
    ? '<!-- wp:buttons --><div class="wp-block-buttons"><!-- wp:button --><div class="wp-block-button"><a class="wp-block-button__link wp-element-button" href="/checkout/">Checkout</a></div><!-- /wp:button --></div><!-- /wp:buttons -->'
    : '<!-- wp:paragraph --><p>Campaign night: 50% off until midnight</p><!-- /wp:paragraph -->'
  return `<!-- wp:group {"layout":{"type":"flex","justifyContent":"space-between"}} --><div class="wp-block-group"><!-- wp:site-title /-->${right}</div><!-- /wp:group -->`
}

/**
 * Gives the generated shop what a block theme keeps in the database: WordPress's columns of wp_posts and
 * its term tables (schema.php), Twenty Twenty-Three active, and the rows a Site Editor save of its header
 * leaves — a wp_template_part post with its wp_theme and wp_template_part_area terms.
 */
async function designShop(db: mysql.Connection): Promise<void> {
  // the generated wp_posts has only the columns orders need; the text columns get a default so that the
  // story's short INSERTs of orders still work
  await db.query(`ALTER TABLE wp_posts
    ADD post_author bigint unsigned NOT NULL DEFAULT 0, ADD post_date datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
    ADD post_date_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00', ADD post_content longtext NOT NULL DEFAULT '',
    ADD post_excerpt text NOT NULL DEFAULT '', ADD comment_status varchar(20) NOT NULL DEFAULT 'open',
    ADD ping_status varchar(20) NOT NULL DEFAULT 'open', ADD post_password varchar(255) NOT NULL DEFAULT '',
    ADD post_name varchar(200) NOT NULL DEFAULT '', ADD to_ping text NOT NULL DEFAULT '', ADD pinged text NOT NULL DEFAULT '',
    ADD post_modified datetime NOT NULL DEFAULT '0000-00-00 00:00:00', ADD post_modified_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
    ADD post_content_filtered longtext NOT NULL DEFAULT '', ADD post_parent bigint unsigned NOT NULL DEFAULT 0,
    ADD guid varchar(255) NOT NULL DEFAULT '', ADD menu_order int NOT NULL DEFAULT 0, ADD post_mime_type varchar(100) NOT NULL DEFAULT '',
    ADD comment_count bigint NOT NULL DEFAULT 0, ADD KEY post_name (post_name(191)), ADD KEY type_status_date (post_type, post_status, post_date, ID)`)
  await db.query(`CREATE TABLE wp_terms (term_id bigint unsigned NOT NULL AUTO_INCREMENT, name varchar(200) NOT NULL DEFAULT '', slug varchar(200) NOT NULL DEFAULT '',
    term_group bigint(10) NOT NULL DEFAULT 0, PRIMARY KEY (term_id), KEY slug (slug(191)), KEY name (name(191))) DEFAULT CHARSET utf8mb4`)
  await db.query(`CREATE TABLE wp_term_taxonomy (term_taxonomy_id bigint unsigned NOT NULL AUTO_INCREMENT, term_id bigint unsigned NOT NULL DEFAULT 0,
    taxonomy varchar(32) NOT NULL DEFAULT '', description longtext NOT NULL, parent bigint unsigned NOT NULL DEFAULT 0, count bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (term_taxonomy_id), UNIQUE KEY term_id_taxonomy (term_id, taxonomy), KEY taxonomy (taxonomy)) DEFAULT CHARSET utf8mb4`)
  await db.query(`CREATE TABLE wp_term_relationships (object_id bigint unsigned NOT NULL DEFAULT 0, term_taxonomy_id bigint unsigned NOT NULL DEFAULT 0,
    term_order int NOT NULL DEFAULT 0, PRIMARY KEY (object_id, term_taxonomy_id), KEY term_taxonomy_id (term_taxonomy_id)) DEFAULT CHARSET utf8mb4`)
  await db.query(`UPDATE wp_options SET option_value = 'twentytwentythree' WHERE option_name IN ('template', 'stylesheet')`)
  const [post] = await db.query<mysql.ResultSetHeader>(
    `INSERT INTO wp_posts (post_author, post_date, post_date_gmt, post_content, post_title, post_status, comment_status, ping_status, post_name, post_modified, post_modified_gmt, post_type)
     VALUES (1, NOW(), UTC_TIMESTAMP(), ?, 'Header', 'publish', 'closed', 'closed', 'header', NOW(), UTC_TIMESTAMP(), 'wp_template_part')`,
    [headerMarkup(true)],
  )
  for (const [taxonomy, term] of [['wp_theme', 'twentytwentythree'], ['wp_template_part_area', 'header']] as const) {
    const [t] = await db.query<mysql.ResultSetHeader>(`INSERT INTO wp_terms (name, slug) VALUES (?, ?)`, [term, term])
    const [tt] = await db.query<mysql.ResultSetHeader>(`INSERT INTO wp_term_taxonomy (term_id, taxonomy, description, count) VALUES (?, ?, '', 1)`, [t.insertId, taxonomy])
    await db.query(`INSERT INTO wp_term_relationships (object_id, term_taxonomy_id) VALUES (?, ?)`, [post.insertId, tt.insertId])
  }
}

/** Whether the shop's front page shows the header's Checkout button. */
async function showsCheckout(url: string): Promise<boolean> {
  const page = await fetch(url).then((r) => r.text())
  return />Checkout<\/a>/.test(page)
}

/**
 * Stands in for the shop's front page: WordPress's critical-error page whenever the live Akismet is
 * broken, else the page under the header template part as the database holds it now.
 */
async function shopServer(site: TestSite): Promise<{ url: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    const broken = fs.readFileSync(path.join(site.wpContent, PLUGIN), 'utf8').includes('fatal')
    if (broken) return void res.writeHead(500).end('<p>There has been a critical error on this website.</p>')
    site.db.query<mysql.RowDataPacket[]>(`SELECT post_content FROM wp_posts WHERE post_type = 'wp_template_part' AND post_name = 'header' ORDER BY ID LIMIT 1`).then(
      ([rows]) => res.writeHead(200).end(`<header>${String(rows[0]?.post_content ?? '')}</header><h1>Campaign Shop</h1><p>50% off until midnight</p>`),
      () => res.writeHead(500).end('<p>Error establishing a database connection</p>'),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => server.close() }
}

const at = (l: LogLine) => String(l.time).slice(11, 19)
let daemon: RunningDaemon | null = null
let shop: { close(): void } | null = null
let s3: S3Server | null = null
const shutdown = async () => {
  await daemon?.stop('SIGTERM')
  shop?.close()
  await s3?.stop()
  await stopMariadb()
}
process.on('SIGINT', () => void shutdown().then(() => process.exit(130)))

try {
  fs.rmSync(base, { recursive: true, force: true })
  fs.mkdirSync(base, { recursive: true })
  step('a private MariaDB and a sample shop (WooCommerce, Akismet, Twenty Twenty-Three with a Checkout button in its header, one order)')
  const server = await mariadb()
  const site = await createSite({ base, noConfig: true })
  await designShop(site.db)
  const front = await shopServer(site)
  shop = front
  s3 = await S3Server.start({ dir: path.join(base, 's3'), bucket: 'shop-peakguard' })
  const key = path.join(base, 'replica.key')
  fs.writeFileSync(key, randomBytes(32), { mode: 0o600 })
  say(`MariaDB on 127.0.0.1:${server.port}, WordPress files in ${site.wpRoot}, the shop's front page at ${front.url}`)
  say(`an S3-compatible server (s3rver) at ${s3.endpoint} stands in for the off-host bucket`)

  step('peakguard reads wp-config.php and writes its config, with an encrypted replica on S3')
  await peakguard('init', '--wp-root', site.wpRoot, '--site-id', 'shop', '--data-dir', path.join(base, 'data'),
    '--s3-bucket', 'shop-peakguard', '--s3-endpoint', s3.endpoint, '--s3-path-style', '--s3-key-file', key)
  // the demo's night is short: probe every second, known-good after 5 s, roll back after 3 failed rounds
  fs.appendFileSync(
    config,
    `    health: { interval: 1s, goodAfter: 5s, probes: [{ url: "${front.url}" }] }\n` +
      '    autoRollback: { enabled: true, afterFailures: 3, minInterval: 10m }\n' +
      `    hooks: { postRestore: ["echo 'post-restore hook: this is where php-fpm would be reloaded'"] }\n`,
  )
  say(`(${config}: health probes every 1 s, known-good after 5 s, automatic rollback on)`)

  step('the daemon starts: it records the launch state and probes the shop')
  daemon = await startDaemon({ ...site, configFile: config })
  say(`daemon running, status and metrics at ${daemon.url}/api/status and ${daemon.url}/metrics`)
  const initial = await daemon.waitFor(isSnapshot)
  say(`${at(initial)} snapshot ${String(initial.state).slice(0, 12)}: ${initial.summary}`)
  const pushed = await daemon.waitFor((l) => l.msg === 'replicated', 30_000)
  say(`${at(pushed)} replicated to S3, encrypted: ${pushed.bundle} (${pushed.bytes} bytes, ${pushed.ms} ms)`)
  const good = await daemon.waitFor((l) => l.msg === 'state marked known-good', 30_000)
  say(`${at(good)} ${String(good.state).slice(0, 12)} stayed healthy for 5 s: marked known-good`)

  step('3 a.m.: someone "updates" Akismet and renames the shop, while orders keep coming in')
  let from = daemon.lines.length
  const changedAt = Date.now()
  fs.writeFileSync(path.join(site.wpContent, PLUGIN), "<?php\nthrow new Error('Akismet 6.0-beta: fatal');\n")
  fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/beta-feature.php'), '<?php // new in the beta\n')
  await site.db.query(`UPDATE wp_options SET option_value = 'TEST - do not buy' WHERE option_name = 'blogname'`)
  for (let i = 0; i < 5; i++) await site.db.query(`INSERT INTO wp_posts (post_title, post_type, post_status) VALUES (?, 'shop_order', 'wc-processing')`, [`Order ${1002 + i}`])
  const before = await orders(site.db)
  say(`orders in the shop now: ${before}`)
  for (let seen = 0; seen < 2; ) {
    const snap = await daemon.waitFor(isSnapshot, 30_000, from)
    from = daemon.lines.indexOf(snap) + 1
    seen += String(snap.summary).includes('akismet') ? 1 : 0
    seen += String(snap.summary).includes('blogname') ? 1 : 0
    say(`${at(snap)} recorded ${((Date.parse(String(snap.time)) - changedAt) / 1000).toFixed(1)} s after the change, nobody typed a command: ${String(snap.state).slice(0, 12)} ${snap.summary}`)
  }
  const failed = await daemon.waitFor((l) => l.msg === 'health probe failed', 30_000, from)
  say(`${at(failed)} health probe failed: ${(failed.failures as { reason: string }[])[0]?.reason}`)
  const rolled = await daemon.waitFor((l) => /automatic rollback done/.test(l.msg), 30_000, from)
  say(`${at(rolled)} ${rolled.msg}`)

  step('what happened, as the night shift sees it')
  await peakguard('status')
  await peakguard('list')
  await peakguard('show', String(rolled.snapshot))

  step('the shop is back, and no order was lost')
  const [name] = await site.db.query<mysql.RowDataPacket[]>(`SELECT option_value FROM wp_options WHERE option_name = 'blogname'`)
  say(`blogname: ${name[0]?.option_value}\norders: ${await orders(site.db)} (were ${before} before the rollback)`)
  say(`the broken change is kept: 'peakguard diff ${String(rolled.safetySnapshot).slice(0, 12)} latest' shows it, 'peakguard restore ${String(rolled.safetySnapshot).slice(0, 12)}' would bring it back`)

  step('3:40 a.m.: someone tidies up the header in the Site Editor, and the Checkout button is gone')
  from = daemon.lines.length
  // what the Site Editor's save writes: the header template part's post (a row of wp_posts, not a file)
  await site.db.query(
    `UPDATE wp_posts SET post_content = ?, post_modified = NOW(), post_modified_gmt = UTC_TIMESTAMP() WHERE post_type = 'wp_template_part' AND post_name = 'header'`,
    [headerMarkup(false)],
  )
  say(`the front page loads (the probes pass), but: ${(await showsCheckout(front.url)) ? 'it still shows Checkout' : 'no Checkout button: nobody can pay'}`)
  const header = await daemon.waitFor((l) => isSnapshot(l) && String(l.summary).includes('template part'), 30_000, from)
  say(`${at(header)} recorded: ${String(header.state).slice(0, 12)} ${header.summary}`)

  step('the operator puts back just the header, as it was in the last known-good state')
  await peakguard('restore', 'last-good', '--only', HEADER, '--dry-run')
  await peakguard('restore', 'last-good', '--only', HEADER, '--yes')
  say(`the front page: ${(await showsCheckout(front.url)) ? 'the Checkout button is back' : 'STILL no Checkout button'}; orders: ${await orders(site.db)}`)

  step('and if the host itself were gone: the journal comes back from S3 alone')
  const pushes = daemon.lines.filter((l) => l.msg.startsWith('replicated')).length
  say(`the daemon pushed ${pushes} time(s) to S3 tonight, each right after a snapshot or a known-good mark`)
  await daemon.stop('SIGTERM')
  daemon = null
  await peakguard('replicate', '--wait')
  await peakguard('recover', '--from-s3', '--site', 'shop', '--data-dir', path.join(base, 'new-host'))
  say(`(on a real new host the config's dataDir is that directory; then 'peakguard restore last-good' puts the site back)`)
  await peakguard('verify', '--remote', '--read-data')
  await site.db.end()
  say(`\nThe sample site and its journal stay in ${base} (config: ${config}).`)
} finally {
  await shutdown()
}
