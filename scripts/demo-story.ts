// npm run demo:story: the narrated 3 a.m. story, told by itself (`npm run demo` starts the real WordPress
// stack for you to click through instead). It runs on a generated sample shop with a private MariaDB, with the daemon doing
// the night shift's work. init → the daemon records the launch state and, once the shop stayed healthy,
// marks it known-good → a bad change lands (plugin broken, setting changed) while orders keep coming in →
// recorded within seconds → the health probes see WordPress's critical-error page → automatic rollback to
// the known-good state → every order is still there → and, as the host were gone, the journal is rebuilt
// from its encrypted S3 replica (a local S3-compatible server, s3rver) alone. Safe to run again: it starts from scratch in
// snapshots/demo-story/ and stops what it started (the daemon, the database, the little shop server).
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { isSnapshot, startDaemon, type LogLine, type RunningDaemon } from '../test/harness/daemon.ts'
import { mariadb, stopMariadb } from '../test/harness/mariadb.ts'
import { S3Server } from '../test/harness/s3.ts'
import { createSite, REPO, type TestSite } from '../test/harness/site.ts'

process.env.PEAKGUARD_TEST_PRIVATE_DB = '1' // never touch a database server that was already there
// s3rver's fixed credentials, given the way an operator gives real ones: the AWS SDK's environment chain
process.env.AWS_ACCESS_KEY_ID = 'S3RVER'
process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER'
const base = path.join(REPO, 'snapshots/demo-story')
const config = path.join(base, 'peakguard.yaml')
const PLUGIN = 'plugins/akismet/akismet.php'

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`)
}

function say(text: string): void {
  process.stdout.write(`${text}\n`)
}

function peakguard(...args: string[]): void {
  say(`$ peakguard ${args.join(' ')}`)
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist/main.js'), '--config', config, ...args], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`peakguard ${args.join(' ')} exited ${r.status}`)
}

async function orders(db: mysql.Connection): Promise<number> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'shop_order'`)
  return Number(rows[0]?.n)
}

/** Stands in for the shop's front page: WordPress's critical-error page whenever the live Akismet is broken. */
async function shopServer(site: TestSite): Promise<{ url: string; close(): void }> {
  const server = http.createServer((_req, res) => {
    const broken = fs.readFileSync(path.join(site.wpContent, PLUGIN), 'utf8').includes('fatal')
    if (broken) res.writeHead(500).end('<p>There has been a critical error on this website.</p>')
    else res.writeHead(200).end('<h1>Campaign Shop</h1><p>50% off until midnight</p>')
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
  step('a private MariaDB and a sample shop (WooCommerce, Akismet, Storefront, one order)')
  const server = await mariadb()
  const site = await createSite({ base, noConfig: true })
  const front = await shopServer(site)
  shop = front
  s3 = await S3Server.start({ dir: path.join(base, 's3'), bucket: 'shop-peakguard' })
  const key = path.join(base, 'replica.key')
  fs.writeFileSync(key, randomBytes(32), { mode: 0o600 })
  say(`MariaDB on 127.0.0.1:${server.port}, WordPress files in ${site.wpRoot}, the shop's front page at ${front.url}`)
  say(`an S3-compatible server (s3rver) at ${s3.endpoint} stands in for the off-host bucket`)

  step('peakguard reads wp-config.php and writes its config, with an encrypted replica on S3')
  peakguard('init', '--wp-root', site.wpRoot, '--site-id', 'shop', '--data-dir', path.join(base, 'data'),
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
  peakguard('status')
  peakguard('list')
  peakguard('show', String(rolled.snapshot))

  step('the shop is back, and no order was lost')
  const [name] = await site.db.query<mysql.RowDataPacket[]>(`SELECT option_value FROM wp_options WHERE option_name = 'blogname'`)
  say(`blogname: ${name[0]?.option_value}\norders: ${await orders(site.db)} (were ${before} before the rollback)`)
  say(`the broken change is kept: 'peakguard diff ${String(rolled.safetySnapshot).slice(0, 12)} latest' shows it, 'peakguard restore ${String(rolled.safetySnapshot).slice(0, 12)}' would bring it back`)

  step('and if the host itself were gone: the journal comes back from S3 alone')
  const pushes = daemon.lines.filter((l) => l.msg.startsWith('replicated')).length
  say(`the daemon pushed ${pushes} time(s) to S3 tonight, each right after a snapshot or a known-good mark`)
  await daemon.stop('SIGTERM')
  daemon = null
  peakguard('replicate', '--wait')
  peakguard('recover', '--from-s3', '--site', 'shop', '--data-dir', path.join(base, 'new-host'))
  say(`(on a real new host the config's dataDir is that directory; then 'peakguard restore last-good' puts the site back)`)
  peakguard('verify', '--remote', '--read-data')
  await site.db.end()
  say(`\nThe sample site and its journal stay in ${base} (config: ${config}).`)
} finally {
  await shutdown()
}
