// npm run demo: the 3 a.m. rollback on a generated sample shop with a private MariaDB.
// init → snapshot → mark known-good → a bad change lands (plugin broken, setting changed) while orders
// keep coming in → diff → restore last-good → every order is still there. Safe to run again: it starts
// from scratch in snapshots/demo/ and stops the database it started.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { mariadb, stopMariadb } from '../test/harness/mariadb.ts'
import { createSite, REPO } from '../test/harness/site.ts'

process.env.PEAKGUARD_TEST_PRIVATE_DB = '1' // never touch a database server that was already there
const base = path.join(REPO, 'snapshots/demo')
const config = path.join(base, 'peakguard.yaml')

function step(title: string): void {
  process.stdout.write(`\n\x1b[1m== ${title}\x1b[0m\n`)
}

function peakguard(...args: string[]): void {
  process.stdout.write(`$ peakguard ${args.join(' ')}\n`)
  const r = spawnSync(process.execPath, [path.join(REPO, 'dist/main.js'), '--config', config, ...args], { stdio: 'inherit' })
  if (r.status !== 0) throw new Error(`peakguard ${args.join(' ')} exited ${r.status}`)
}

async function orders(db: mysql.Connection): Promise<number> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'shop_order'`)
  return Number(rows[0]?.n)
}

process.on('SIGINT', () => void stopMariadb().then(() => process.exit(130)))

try {
  fs.rmSync(base, { recursive: true, force: true })
  fs.mkdirSync(base, { recursive: true })
  step('a private MariaDB and a sample shop (WooCommerce, Akismet, Storefront, one order)')
  const server = await mariadb()
  const site = await createSite({ base, noConfig: true })
  process.stdout.write(`MariaDB on 127.0.0.1:${server.port}, WordPress files in ${site.wpRoot}\n`)

  step('peakguard reads wp-config.php and writes its config')
  peakguard('init', '--wp-root', site.wpRoot, '--site-id', 'shop', '--data-dir', path.join(base, 'data'))

  step('record the launch state and mark it known-good')
  peakguard('snapshot', '-m', 'launch baseline')
  peakguard('mark-good', 'latest', '--note', 'checked before the campaign')

  step('3 a.m.: someone "updates" Akismet and renames the shop, while orders keep coming in')
  fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), "<?php\nthrow new Error('Akismet 6.0-beta: fatal');\n")
  fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/beta-feature.php'), '<?php // new in the beta\n')
  await site.db.query(`UPDATE wp_options SET option_value = 'TEST - do not buy' WHERE option_name = 'blogname'`)
  for (let i = 0; i < 5; i++) await site.db.query(`INSERT INTO wp_posts (post_title, post_type, post_status) VALUES (?, 'shop_order', 'wc-processing')`, [`Order ${1002 + i}`])
  peakguard('snapshot', '-m', 'after the 3 a.m. change')
  const before = await orders(site.db)
  process.stdout.write(`orders in the shop now: ${before}\n`)

  step('what changed since the last known-good state?')
  peakguard('list')
  peakguard('diff', 'last-good')

  step('roll back: first the plan, then the restore')
  peakguard('restore', 'last-good', '--dry-run')
  peakguard('restore', 'last-good', '--yes')

  step('the shop is back, and no order was lost')
  const [name] = await site.db.query<mysql.RowDataPacket[]>(`SELECT option_value FROM wp_options WHERE option_name = 'blogname'`)
  process.stdout.write(`blogname: ${name[0]?.option_value}\norders: ${await orders(site.db)} (were ${before} before the restore)\n`)
  peakguard('status')
  await site.db.end()
  process.stdout.write(`\nThe sample site and its journal stay in ${base} (config: ${config}).\n`)
} finally {
  await stopMariadb()
}
