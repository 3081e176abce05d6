// Settings tables as an unlucky host leaves them (issue 14, items 1, 2, 3 and 7): an options table without
// its UNIQUE key, a value over the server's max_allowed_packet, the database killed in the middle of a
// restore, NULLs where WordPress usually has strings. Real MariaDB, real WordPress where what it reads
// matters, the real CLI.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { PrivateMariadb, rootConnection } from './harness/mariadb.ts'
import { createSite, MAIN, type TestSite } from './harness/site.ts'
import { createWordPress, type TestWordPress } from './harness/wordpress.ts'

async function rows(db: mysql.Connection, sql: string, args: unknown[] = []): Promise<mysql.RowDataPacket[]> {
  const [r] = await db.query<mysql.RowDataPacket[]>(sql, args)
  return r
}

describe('settings tables without their unique key (WordPress reads one copy)', function () {
  this.timeout(240_000)
  let wp: TestWordPress
  let good: string
  const read = (name: string) => wp.php(`echo get_option(${JSON.stringify(name)});`)

  before(async () => {
    wp = await createWordPress({ title: 'Campaign Shop' })
    await wp.php('echo 1;') // WordPress adds its widget options on its first load: before the good state
    // and its theme's mods on the first page a visitor gets (a restore's page check is one): before it too
    await (await fetch(`${wp.url}/`)).text()
    const r = await wp.cli(['snapshot', '-m', 'good', '--json'])
    assert.equal(r.code, 0, r.stderr)
    good = r.json.id
    // a bad migration: the UNIQUE key on option_name is gone
    await wp.db.query(`ALTER TABLE ${wp.prefix}options DROP INDEX option_name`)
  })
  after(async () => wp?.stop())

  it('a second autoloaded row that WordPress reads shows as a change, and a restore makes WordPress read the old value again', async () => {
    await wp.db.query(`INSERT INTO ${wp.prefix}options (option_name, option_value, autoload) VALUES ('blogname', 'Hijacked Shop', 'yes')`)
    assert.equal(await read('blogname'), 'Hijacked Shop', 'the harness assumption: WordPress reads the later autoloaded copy')

    const diff = await wp.cli(['diff', good, '--json'])
    assert.equal(diff.code, 0, diff.stderr)
    assert.deepEqual(
      diff.json.options.map((o: { name: string; change: string }) => `${o.name} ${o.change}`),
      ['blogname modified'],
    )
    const status = await wp.cli(['status'])
    assert.match(status.stdout, /WARNING .*options holds several rows of one name \("blogname" ×2\).*UNIQUE key on option_name is missing/)

    // the dropped key is a schema change since the good state: said, and crossed only when acknowledged
    const refused = await wp.cli(['restore', good, '--yes', '--json'])
    assert.equal(refused.code, 2, refused.stderr)
    assert.match(refused.stderr, /crosses a database migration: the database schema changed since that state \(wp_options: unique index `option_name` \(option_name\) dropped\)/)
    assert.equal(await read('blogname'), 'Hijacked Shop', 'nothing was written')
    const r = await wp.cli(['restore', good, '--across-schema-change', '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.equal(await read('blogname'), 'Campaign Shop')
    const copies = await rows(wp.db, `SELECT option_value AS v FROM ${wp.prefix}options WHERE option_name = 'blogname'`)
    assert.deepEqual(copies.map((c) => String(c.v)), ['Campaign Shop', 'Campaign Shop'], 'every copy holds the restored value')
    await wp.db.query(`DELETE FROM ${wp.prefix}options WHERE option_name = 'blogname' ORDER BY option_id DESC LIMIT 1`)
  })

  it('a restore updates the one row in place instead of adding a second that WordPress would not read', async () => {
    await wp.db.query(`UPDATE ${wp.prefix}options SET option_value = 'Broken Shop' WHERE option_name = 'blogdescription'`)
    const before = await wp.cli(['status', '--json'])
    assert.equal(before.json.pendingChanges.options, 1, JSON.stringify((await wp.cli(['diff', 'latest', '--json'])).json?.options))
    const r = await wp.cli(['restore', good, '--across-schema-change', '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    const copies = await rows(wp.db, `SELECT option_value AS v FROM ${wp.prefix}options WHERE option_name = 'blogdescription'`)
    assert.equal(copies.length, 1, 'the restore added a second row')
    assert.notEqual(await read('blogdescription'), 'Broken Shop')
    const after = await wp.cli(['status', '--json'])
    assert.equal(after.json.pendingChanges.options, 0, JSON.stringify((await wp.cli(['diff', 'latest', '--json'])).json?.options))
  })

  it('init names the duplicated rows', async () => {
    await wp.db.query(`INSERT INTO ${wp.prefix}options (option_name, option_value, autoload) VALUES ('siteurl', 'https://evil.example', 'no')`)
    try {
      const cfg = path.join(wp.base, 'init-check.yaml')
      const r = await wp.cli(['init', '--wp-root', wp.wpRoot, '--site-id', 'again', '--data-dir', path.join(wp.base, 'init-data'), '--config', cfg])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, /WARNING .*"siteurl" ×2.*UNIQUE key on option_name is missing/)
    } finally {
      await wp.db.query(`DELETE FROM ${wp.prefix}options WHERE option_name = 'siteurl' AND option_value = 'https://evil.example'`)
    }
  })
})

describe('NULLs in the settings tables', function () {
  this.timeout(120_000)
  let site: TestSite
  beforeEach(async () => (site = await createSite({ multisite: true })))
  afterEach(async () => site.cleanup())

  it('a NULL network option value and a NULL autoload flag come back as NULL, not as empty strings', async () => {
    await site.db.query(`ALTER TABLE wp_options MODIFY autoload varchar(20) NULL DEFAULT 'yes'`)
    await site.db.query(`UPDATE wp_options SET autoload = NULL WHERE option_name = 'blogname'`)
    await site.db.query(`UPDATE wp_sitemeta SET meta_value = NULL WHERE meta_key = 'site_name'`)
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)

    await site.db.query(`UPDATE wp_options SET autoload = 'yes' WHERE option_name = 'blogname'`)
    await site.db.query(`UPDATE wp_sitemeta SET meta_value = '' WHERE meta_key = 'site_name'`)
    const diff = await site.cli(['diff', good.json.id, '--json'])
    assert.deepEqual(diff.json.options.map((o: { name: string }) => o.name).sort(), ['1:site_name', 'blogname'], 'NULL → empty string is a change')

    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    const [a] = await rows(site.db, `SELECT autoload IS NULL AS z FROM wp_options WHERE option_name = 'blogname'`)
    const [m] = await rows(site.db, `SELECT meta_value IS NULL AS z FROM wp_sitemeta WHERE meta_key = 'site_name'`)
    assert.equal(Number(a?.z), 1, 'autoload is NULL again')
    assert.equal(Number(m?.z), 1, 'meta_value is NULL again')
  })
})

describe('a database server that limits or loses us', function () {
  this.timeout(240_000)
  let db: PrivateMariadb
  let site: TestSite
  let down = false
  before(async () => (db = await PrivateMariadb.create()))
  after(async () => db?.destroy())
  beforeEach(async () => (site = await createSite({ server: db.server })))
  afterEach(async () => {
    if (down) await db.start() // a test stopped it
    down = false
    await site.cleanup()
  })

  it('a value over max_allowed_packet is refused by name with the fix, nothing is written, and the next restore works', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'x').toString()
    await site.db.query(`INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('big_catalog_cache', ?, 'no')`, [big])
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    await site.db.query(`UPDATE wp_options SET option_value = 'small' WHERE option_name = 'big_catalog_cache'`)
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken Shop' WHERE option_name = 'blogname'`)
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), '<?php // broken\n')
    const root = await rootConnection(undefined, db.server)
    try {
      await root.query('SET GLOBAL max_allowed_packet = 1048576')
      const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
      assert.notEqual(r.code, 0)
      assert.equal(r.stderr.includes('    at '), false, `a stack trace: ${r.stderr}`)
      const err = JSON.parse(r.stdout || r.stderr).error
      assert.match(err.message, /big_catalog_cache is 3145728 bytes, more than the database server takes in one statement \(max_allowed_packet 1048576\): raise max_allowed_packet/)
      const [v] = await rows(site.db, `SELECT option_value AS v FROM wp_options WHERE option_name = 'blogname'`)
      assert.equal(String(v?.v), 'Broken Shop', 'a setting was written')
      assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'utf8'), '<?php // broken\n', 'a file was left written')

      // what status recommends still works, and nothing is stuck: a restore without the big row goes through
      const only = await site.cli(['restore', good.json.id, '--only', 'option:blogname', '--yes', '--json'])
      assert.equal(only.code, 0, only.stderr)
      assert.equal(only.json.verified, true)

      await root.query('SET GLOBAL max_allowed_packet = 16777216')
      const again = await site.cli(['restore', good.json.id, '--yes', '--json'])
      assert.equal(again.code, 0, again.stderr)
      assert.equal(again.json.verified, true)
      const [b] = await rows(site.db, `SELECT LENGTH(option_value) AS n FROM wp_options WHERE option_name = 'big_catalog_cache'`)
      assert.equal(Number(b?.n), big.length)
    } finally {
      await root.query('SET GLOBAL max_allowed_packet = 16777216').catch(() => undefined)
      await root.end()
    }
  })

  it('MariaDB killed in the middle of a restore: a JSON error through the error table, and the next command finishes the restore', async () => {
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken Shop' WHERE option_name = 'blogname'`)
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), '<?php // broken\n')
    await site.db.end()

    // the restore stops itself after writing the files; the database dies; the restore goes on
    const child = spawn(process.execPath, [MAIN, '--config', site.configFile, 'restore', good.json.id, '--yes', '--json'], {
      env: { ...process.env, PEAKGUARD_FAULT: 'restore:after-files', PEAKGUARD_FAULT_SIGNAL: 'SIGSTOP' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    for (let i = 0; ; i++) {
      const stat = fs.readFileSync(`/proc/${child.pid}/stat`, 'utf8')
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) break
      assert.ok(i < 600, `the restore never reached restore:after-files: ${stderr}`)
      await new Promise((r) => setTimeout(r, 100))
    }
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'utf8').includes('Plugin Name: Akismet'), true, 'files were written')
    down = true
    await db.stop()
    process.kill(child.pid as number, 'SIGCONT')
    const code = await exited

    assert.notEqual(code, 0)
    assert.equal(stderr.includes('    at '), false, `a stack trace: ${stderr}`)
    const err = JSON.parse(stdout || stderr).error
    assert.equal(err.code, 'DB_UNREACHABLE', stdout + stderr)
    assert.match(err.message, /the next peakguard command will finish it/)

    await db.start()
    down = false
    site.db = await rootConnection(site.dbName, db.server)
    const status = await site.cli(['status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.json.lastRecovery.what, /finished the restore/)
    const [v] = await rows(site.db, `SELECT option_value AS v FROM wp_options WHERE option_name = 'blogname'`)
    assert.equal(String(v?.v), 'Campaign Shop')
  })
})
