// Site shapes: multisite (every blog's options table and sitemeta), Debian-style symlinked themes, and
// the single-writer lock.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { createSite, optionRows, treeOf, type TestSite } from './harness/site.ts'

async function sitemeta(db: mysql.Connection): Promise<Map<string, string>> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT site_id, meta_key, CAST(meta_value AS BINARY) AS v FROM wp_sitemeta')
  return new Map(rows.map((r) => [`${r.site_id}:${r.meta_key}`, (r.v as Buffer).toString('hex')]))
}

describe('multisite', () => {
  let site: TestSite
  beforeEach(async () => {
    site = await createSite({ multisite: true })
  })
  afterEach(async () => site.cleanup())

  it("records every blog's options and the network's sitemeta, and restores them exactly", async () => {
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    const opts1 = await optionRows(site.db, 'wp_options')
    const opts2 = await optionRows(site.db, 'wp_2_options')
    const meta = await sitemeta(site.db)

    await site.db.query(`UPDATE wp_2_options SET option_value = 'Kaputt' WHERE option_name = 'blogname'`)
    await site.db.query(`INSERT INTO wp_2_options (option_name, option_value) VALUES ('rogue', '1')`)
    await site.db.query(`UPDATE wp_sitemeta SET meta_value = 'a:0:{}' WHERE meta_key = 'active_sitewide_plugins'`)
    await site.db.query(`DELETE FROM wp_sitemeta WHERE meta_key = 'site_name'`)
    await site.db.query(`UPDATE wp_sitemeta SET meta_value = 'changed' WHERE meta_key = '_site_transient_update_core'`)

    const d = await site.cli(['diff', good.json.id, '--json'])
    assert.deepEqual(
      d.json.options.map((o: any) => `${o.table}.${o.name}:${o.change}`).sort(),
      ['wp_2_options.blogname:modified', 'wp_2_options.rogue:added', 'wp_sitemeta.1:active_sitewide_plugins:modified', 'wp_sitemeta.1:site_name:removed'],
    )
    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.options, { written: 3, removed: 1 })
    assert.deepEqual(await optionRows(site.db, 'wp_options'), opts1)
    assert.deepEqual(await optionRows(site.db, 'wp_2_options'), opts2)
    const after = await sitemeta(site.db)
    assert.equal(after.get('1:_site_transient_update_core'), Buffer.from('changed').toString('hex'), 'an ignored network row was touched')
    after.set('1:_site_transient_update_core', meta.get('1:_site_transient_update_core') as string)
    assert.deepEqual(after, meta)
  })
})

describe('Debian-style symlinked themes', () => {
  let site: TestSite
  beforeEach(async () => {
    site = await createSite({ debianLinks: true })
  })
  afterEach(async () => site.cleanup())

  it('follows the links, records that they were links, and restores through them', async () => {
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    const shown = await site.cli(['show', good.json.id, '--json'])
    const files = shown.json.changes.files.map((f: any) => f.path)
    assert.ok(files.includes('themes/storefront/style.css'), 'the content behind the link was not recorded')
    assert.ok(files.includes('themes/twentytwentythree/templates/index.html'))
    const link = path.join(site.wpContent, 'themes/storefront')
    const target = fs.readlinkSync(link)

    // the package-managed theme is edited, and the link is replaced by a copy
    fs.writeFileSync(path.join(target, 'style.css'), 'broken')
    fs.rmSync(path.join(site.wpContent, 'themes/twentytwentythree'))
    fs.mkdirSync(path.join(site.wpContent, 'themes/twentytwentythree'))
    fs.writeFileSync(path.join(site.wpContent, 'themes/twentytwentythree/style.css'), 'a copy')

    const d = await site.cli(['diff', good.json.id])
    assert.match(d.stdout, /- link {3}themes\/twentytwentythree -> /)
    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.equal(fs.readlinkSync(link), target)
    assert.match(fs.readFileSync(path.join(target, 'style.css'), 'utf8'), /Theme Name: Storefront/)
    assert.ok(fs.lstatSync(path.join(site.wpContent, 'themes/twentytwentythree')).isSymbolicLink(), 'the link was not put back')
    assert.match(fs.readFileSync(path.join(site.wpContent, 'themes/twentytwentythree/style.css'), 'utf8'), /Twenty Twenty-Three/)
  })
})

describe('a linked theme replaced by a real copy, and back', () => {
  let site: TestSite
  beforeEach(async () => {
    site = await createSite({ debianLinks: true })
  })
  afterEach(async () => site.cleanup())

  it('restoring the copy over the link writes every file of the copy into a real directory', async () => {
    const linked = (await site.cli(['snapshot', '--json'])).json.id
    const link = path.join(site.wpContent, 'themes/storefront')
    const shared = fs.readlinkSync(link)
    // an operator forks the theme: the link becomes a real copy, with one file changed
    fs.rmSync(link)
    fs.cpSync(shared, link, { recursive: true })
    fs.writeFileSync(path.join(link, 'style.css'), '/* Theme Name: Storefront (fork) */\n')
    const copy = (await site.cli(['snapshot', '--json'])).json.id
    const forkTree = treeOf(link)
    // back to the package's link, then forward to the fork again
    assert.equal((await site.cli(['restore', linked, '--yes', '--json'])).code, 0)
    assert.ok(fs.lstatSync(link).isSymbolicLink())
    const r = await site.cli(['restore', copy, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.ok(!fs.lstatSync(link).isSymbolicLink(), 'the link was not replaced by the copy')
    assert.deepEqual(treeOf(link), forkTree)
    assert.match(fs.readFileSync(path.join(shared, 'style.css'), 'utf8'), /Version: 4\.6\.0/, 'the shared theme was changed')
  })
})

describe('one writer at a time', () => {
  let site: TestSite
  beforeEach(async () => {
    site = await createSite()
    await site.cli(['snapshot', '--json'])
  })
  afterEach(async () => site.cleanup())

  it('a second snapshot or restore waits, then fails naming who holds the lock', async () => {
    const lock = path.join(site.dataDir, 'shop/lock')
    // a live holder: this test process
    fs.writeFileSync(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), since: '2026-11-29T03:00:00Z', command: 'restore abc --yes' }))
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'changed')
    const started = Date.now()
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 3)
    assert.equal(r.json.error.code, 'BUSY')
    assert.match(r.json.error.message, new RegExp(`pid ${process.pid} \\('peakguard restore abc --yes', since 2026-11-29T03:00:00Z\\) is writing this site`))
    assert.ok(Date.now() - started >= 1900, 'it did not wait for the configured lockWaitSeconds')
    const restore = await site.cli(['restore', 'latest', '--yes', '--json'])
    assert.equal(restore.json.error.code, 'BUSY')
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'utf8'), 'changed')
  })

  it('a lock left by a process that died is taken over at once', async () => {
    fs.writeFileSync(path.join(site.dataDir, 'shop/lock'), JSON.stringify({ pid: 2 ** 22 + 12345, host: os.hostname(), since: '2026-11-29T03:00:00Z', command: 'snapshot' }))
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'changed')
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.created, true)
  })

  it('concurrent snapshots and a restore run one after another and leave a linear journal', async () => {
    const good = (await site.cli(['list', '--json'])).json[0].id
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'v2')
    const runs = await Promise.all([
      site.cli(['snapshot', '-m', 'a', '--json']),
      site.cli(['restore', good, '--yes', '--json']),
      site.cli(['snapshot', '-m', 'b', '--json']),
    ])
    for (const r of runs) assert.equal(r.code, 0, r.stderr)
    const list = (await site.cli(['list', '--json'])).json
    assert.equal(new Set(list.map((s: any) => s.id)).size, list.length)
    const status = await site.cli(['status', '--json'])
    assert.deepEqual(status.json.journalProblems, [])
    assert.deepEqual(treeOf(site.wpContent).get('plugins/akismet/akismet.php')?.split(' ')[2], Buffer.from("<?php\n/**\n * Plugin Name: Akismet\n * Version: 5.3\n */\n").toString('base64'))
  })
})
