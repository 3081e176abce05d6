// The restore properties of issue 2, each on a real site: real files, real MariaDB, the real CLI.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { createSite, optionRows, treeOf, WWW, type TestSite } from './harness/site.ts'

async function count(db: mysql.Connection, sql: string): Promise<number> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(sql)
  return Number(rows[0]?.n)
}

function inode(p: string): number {
  return fs.statSync(p).ino
}

describe('restore', () => {
  let site: TestSite
  let good: string

  beforeEach(async () => {
    site = await createSite()
    const r = await site.cli(['snapshot', '-m', 'before the campaign', '--json'])
    assert.equal(r.code, 0, r.stderr)
    good = r.json.id
  })
  afterEach(async () => site.cleanup())

  it('writes only what differs: a plugin rollback touches that plugin and the changed options', async () => {
    const untouched = path.join(site.wpContent, 'plugins/woocommerce/includes/class-wc-part-3.php')
    const untouchedIno = inode(untouched)
    const untouchedMtime = fs.statSync(untouched).mtimeMs
    // a broken akismet update: one file changed, one added, one removed; plus one setting
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), '<?php throw new Error("boom");\n')
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/new-feature.php'), '<?php // new\n')
    fs.rmSync(path.join(site.wpContent, 'plugins/akismet/class.akismet.php'))
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken Shop' WHERE option_name = 'blogname'`)

    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.files, { written: 2, removed: 1 })
    assert.deepEqual(r.json.options, { written: 1, removed: 0 })
    assert.equal(r.json.verified, true)
    assert.equal(inode(untouched), untouchedIno, 'an unchanged file was rewritten')
    assert.equal(fs.statSync(untouched).mtimeMs, untouchedMtime)
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'utf8').includes('Plugin Name: Akismet'), true)
    assert.equal(fs.existsSync(path.join(site.wpContent, 'plugins/akismet/new-feature.php')), false)
    assert.equal(fs.existsSync(path.join(site.wpContent, 'plugins/akismet/class.akismet.php')), true)
    const [rows] = await site.db.query<mysql.RowDataPacket[]>(`SELECT option_value FROM wp_options WHERE option_name = 'blogname'`)
    assert.equal(rows[0]?.option_value, 'Campaign Shop')
  })

  it('takes a safety snapshot first, so the restore itself can be undone', async () => {
    fs.writeFileSync(path.join(site.wpContent, 'themes/storefront/style.css'), 'body { color: red; }\n')
    await site.db.query(`UPDATE wp_options SET option_value = 'Night Sale' WHERE option_name = 'blogname'`)
    const before = treeOf(site.wpContent)
    const optsBefore = await optionRows(site.db, 'wp_options')

    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const safety = r.json.safetySnapshot
    assert.notEqual(safety, good)
    const list = (await site.cli(['list', '--json'])).json
    assert.equal(list.find((s: any) => s.id === safety)?.trigger, 'pre-restore')

    const undo = await site.cli(['restore', safety, '--yes', '--json'])
    assert.equal(undo.code, 0, undo.stderr)
    assert.deepEqual(treeOf(site.wpContent), before)
    assert.deepEqual(await optionRows(site.db, 'wp_options'), optsBefore)
  })

  it('replaces files atomically keeping owner, group and mode; creates directories; removes files added since', async () => {
    const script = path.join(site.wpContent, 'plugins/woocommerce/bin/build.sh')
    const binOwner = fs.statSync(path.dirname(script)).uid
    fs.rmSync(path.join(site.wpContent, 'plugins/woocommerce/bin'), { recursive: true })
    fs.chmodSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 0o600)
    fs.chownSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 0, 0)
    fs.mkdirSync(path.join(site.wpContent, 'plugins/evil/sub'), { recursive: true })
    fs.writeFileSync(path.join(site.wpContent, 'plugins/evil/sub/shell.php'), '<?php system($_GET["c"]);')
    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const st = fs.statSync(script)
    assert.equal(st.mode & 0o7777, 0o755)
    assert.equal(st.uid, WWW)
    assert.equal(st.gid, WWW)
    assert.equal(fs.statSync(path.dirname(script)).uid, binOwner, 'a created directory gets its recorded owner')
    assert.equal(fs.statSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php')).mode & 0o777, 0o644)
    assert.equal(fs.statSync(path.join(site.wpContent, 'plugins/akismet/akismet.php')).uid, WWW)
    assert.equal(fs.existsSync(path.join(site.wpContent, 'plugins/evil')), false, 'the directory left empty is removed too')
    // no temporary file is left behind
    assert.deepEqual([...treeOf(site.wpContent).keys()].filter((p) => p.includes('.~pg-')), [])
  })

  it('writes settings with exact bytes and autoload: rows added since are deleted, rows deleted since re-inserted', async () => {
    const before = await optionRows(site.db, 'wp_options')
    await site.db.query(`DELETE FROM wp_options WHERE option_name = 'woocommerce_stripe_settings'`)
    await site.db.query(`INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('evil_plugin_settings', 'x', 'yes')`)
    await site.db.query(`UPDATE wp_options SET autoload = 'no' WHERE option_name = 'home'`)
    await site.db.query(`UPDATE wp_options SET option_value = 'tampered' WHERE option_name = 'widget_text'`)
    // an ignored row changes too: it is neither recorded nor touched
    await site.db.query(`UPDATE wp_options SET option_value = 'new-cron' WHERE option_name = 'cron'`)

    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.options, { written: 3, removed: 1 })
    const after = await optionRows(site.db, 'wp_options')
    const expected = new Map(before)
    expected.set('cron', after.get('cron') as string)
    assert.deepEqual(after, expected)
    assert.equal(after.get('cron'), `yes:${Buffer.from('new-cron').toString('hex')}`, 'an ignored row was touched')
  })

  it('restores one plugin directory or one option with --only', async () => {
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'broken')
    fs.writeFileSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 'updated on purpose')
    await site.db.query(`UPDATE wp_options SET option_value = 'A' WHERE option_name = 'blogname'`)
    await site.db.query(`UPDATE wp_options SET option_value = 'B' WHERE option_name = 'home'`)

    const r = await site.cli(['restore', good, '--only', 'plugins/akismet', '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.files, { written: 1, removed: 0 })
    assert.deepEqual(r.json.options, { written: 0, removed: 0 })
    assert.equal(r.json.verified, true)
    assert.match(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'utf8'), /Akismet/)
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 'utf8'), 'updated on purpose')

    const o = await site.cli(['restore', good, '--only', 'option:blogname', '--yes', '--json'])
    assert.equal(o.code, 0, o.stderr)
    assert.deepEqual(o.json.options, { written: 1, removed: 0 })
    const rows = await optionRows(site.db, 'wp_options')
    assert.equal(rows.get('blogname'), `yes:${Buffer.from('Campaign Shop').toString('hex')}`)
    assert.equal(rows.get('home'), `yes:${Buffer.from('B').toString('hex')}`)
  })

  it('a dry run reports the plan and writes nothing', async () => {
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'broken')
    const tree = treeOf(site.wpContent)
    const states = (await site.cli(['list', '--json'])).json.length
    const r = await site.cli(['restore', good, '--dry-run', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(r.json.plan.files, [{ path: 'plugins/akismet/akismet.php', change: 'modified' }])
    assert.equal(r.json.verified, null)
    assert.deepEqual(treeOf(site.wpContent), tree)
    assert.equal((await site.cli(['list', '--json'])).json.length, states, 'a dry run recorded a state')
  })

  it('never touches content: orders, postmeta, users and uploads added after the snapshot survive', async () => {
    for (let i = 0; i < 25; i++) {
      const [res] = await site.db.query<mysql.ResultSetHeader>(`INSERT INTO wp_posts (post_title, post_type, post_status) VALUES (?, 'shop_order', 'wc-processing')`, [`Order ${2000 + i}`])
      await site.db.query(`INSERT INTO wp_postmeta (post_id, meta_key, meta_value) VALUES (?, '_order_total', '49.90')`, [res.insertId])
    }
    await site.db.query(`INSERT INTO wp_users (user_login, user_email) VALUES ('buyer', 'buyer@example.org')`)
    fs.mkdirSync(path.join(site.wpContent, 'uploads/2026/12'), { recursive: true })
    fs.writeFileSync(path.join(site.wpContent, 'uploads/2026/12/invoice-2000.pdf'), 'pdf')
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'broken')
    const orders = await count(site.db, `SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'shop_order'`)
    const meta = await count(site.db, 'SELECT COUNT(*) AS n FROM wp_postmeta')
    const users = await count(site.db, 'SELECT COUNT(*) AS n FROM wp_users')
    assert.equal(orders, 26)

    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await count(site.db, `SELECT COUNT(*) AS n FROM wp_posts WHERE post_type = 'shop_order'`), orders)
    assert.equal(await count(site.db, 'SELECT COUNT(*) AS n FROM wp_postmeta'), meta)
    assert.equal(await count(site.db, 'SELECT COUNT(*) AS n FROM wp_users'), users)
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'uploads/2026/12/invoice-2000.pdf'), 'utf8'), 'pdf')
    assert.equal(fs.existsSync(path.join(site.wpContent, 'uploads/2026/11/banner.jpg')), true)
  })

  it('verifies by re-reading the live site and exits non-zero naming what still differs', async () => {
    // a mu-plugin that rewrites a setting right back: here a trigger plays its part
    await site.db.query(`UPDATE wp_options SET option_value = 'Hijacked' WHERE option_name = 'blogname'`)
    await site.db.query(
      `CREATE TRIGGER keep_hijack BEFORE UPDATE ON wp_options FOR EACH ROW BEGIN IF NEW.option_name = 'blogname' THEN SET NEW.option_value = 'Hijacked'; END IF; END`,
    )
    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 4, r.stderr)
    assert.equal(r.json.verified, false)
    assert.deepEqual(r.json.mismatches.options, ['wp_options.blogname'])
    assert.match(r.stderr, /still differ.*option:blogname/)
  })

  it('never reads behind a symlinked plugin directory planted to lead outside wp-content', async () => {
    const outside = path.join(site.base, 'secrets')
    fs.mkdirSync(outside)
    fs.writeFileSync(path.join(outside, 'id_rsa'), 'PRIVATE KEY')
    fs.symlinkSync(outside, path.join(site.wpContent, 'plugins/evil'))
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 0, r.stderr)
    const files = (await site.cli(['show', r.json.id, '--json'])).json.changes.files
    assert.deepEqual(files, [{ path: 'plugins/evil', change: 'added' }], 'the link is recorded as a link, nothing behind it')
    const shown = await site.cli(['diff', good, r.json.id])
    assert.doesNotMatch(shown.stdout, /PRIVATE KEY/)
  })

  it('replaces a planted symlink with the recorded directory, never writing through it', async () => {
    const outside = path.join(site.base, 'outside')
    fs.mkdirSync(outside)
    fs.writeFileSync(path.join(outside, 'keep.txt'), 'not ours')
    fs.rmSync(path.join(site.wpContent, 'plugins/akismet'), { recursive: true })
    fs.symlinkSync(outside, path.join(site.wpContent, 'plugins/akismet'))
    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.ok(!fs.lstatSync(path.join(site.wpContent, 'plugins/akismet')).isSymbolicLink(), 'the planted link is still there')
    assert.match(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'utf8'), /Plugin Name: Akismet/)
    assert.deepEqual(fs.readdirSync(outside), ['keep.txt'], 'something was written or removed outside wp-content')
  })

  it('refuses, before writing anything, to write through a symlink the journal does not know (on an ignored path)', async () => {
    // the operator ignores plugins/woocommerce/assets; someone plants a link there to a directory outside
    fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8') + '    ignore:\n      files: ["plugins/woocommerce/assets"]\n')
    fs.writeFileSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 'changed')
    const outside = path.join(site.base, 'outside')
    fs.mkdirSync(outside)
    fs.rmSync(path.join(site.wpContent, 'plugins/woocommerce/assets'), { recursive: true })
    fs.symlinkSync(outside, path.join(site.wpContent, 'plugins/woocommerce/assets'))
    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.json.error.code, 'UNSAFE_PATH')
    assert.match(r.json.error.message, /plugins\/woocommerce\/assets is a symlink to .*outside/)
    assert.deepEqual(fs.readdirSync(outside), [], 'something was written outside wp-content')
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 'utf8'), 'changed')
  })

  it("refuses a journal entry with '..' in its path", async () => {
    // craft a state whose tree holds files/plugins/../../escape.php
    const git = (args: string[], input?: string) =>
      execFileSync('git', ['--git-dir', path.join(site.dataDir, 'shop/journal'), ...args], { input, encoding: 'utf8' }).trim()
    const blob = git(['hash-object', '-w', '--stdin'], '<?php evil();')
    let tree = git(['mktree'], `100644 blob ${blob}\tescape.php\n`)
    tree = git(['mktree'], `040000 tree ${tree}\t..\n`)
    tree = git(['mktree'], `040000 tree ${tree}\t..\n`)
    tree = git(['mktree'], `040000 tree ${tree}\tplugins\n`)
    tree = git(['mktree'], `040000 tree ${tree}\tfiles\n`)
    const commit = git(['commit-tree', tree, '-p', good, '-m', 'crafted\n\nPeakguard-Site: shop\nPeakguard-Trigger: manual'])
    git(['update-ref', 'refs/heads/main', commit])
    const r = await site.cli(['restore', commit, '--yes', '--json'])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.json.error.code, 'UNSAFE_PATH')
    assert.equal(fs.existsSync(path.join(site.wpRoot, 'escape.php')), false)
    assert.equal(fs.existsSync(path.join(site.base, 'escape.php')), false)
  })

  it('puts directories back with their mode and owner: a deleted 0750 www-data directory, a chmod 0777 plugin directory', async () => {
    const priv = path.join(site.wpContent, 'plugins/akismet/private')
    fs.mkdirSync(priv)
    fs.writeFileSync(path.join(priv, 'keys.php'), '<?php // keys\n')
    fs.chownSync(priv, WWW, WWW)
    fs.chmodSync(priv, 0o750)
    const emptyDir = path.join(site.wpContent, 'themes/storefront/assets/empty')
    fs.mkdirSync(emptyDir, { recursive: true })
    fs.chmodSync(emptyDir, 0o711)
    const r0 = await site.cli(['snapshot', '--json'])
    assert.equal(r0.code, 0, r0.stderr)
    const withDirs = r0.json.id

    fs.rmSync(priv, { recursive: true })
    fs.rmdirSync(emptyDir)
    fs.chmodSync(path.join(site.wpContent, 'plugins/akismet'), 0o777)
    const status = await site.cli(['status', '--json'])
    assert.equal(status.json.pendingChanges.files, 4, 'the deleted file, two deleted directories and the chmod')
    const diff = await site.cli(['diff', withDirs])
    assert.match(diff.stdout, /~ dir +plugins\/akismet \(0755 0:0 → 0777 0:0\)|~ dir +plugins\/akismet \(0755 33:33 → 0777 33:33\)/)

    const r = await site.cli(['restore', withDirs, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    const st = fs.statSync(priv)
    assert.equal((st.mode & 0o7777).toString(8), '750')
    assert.equal(st.uid, WWW)
    assert.equal(st.gid, WWW)
    assert.equal((fs.statSync(emptyDir).mode & 0o7777).toString(8), '711', 'an empty directory comes back too')
    assert.equal((fs.statSync(path.join(site.wpContent, 'plugins/akismet')).mode & 0o7777).toString(8), '755')

    // a directory the target did not have is removed when empty; one holding only ignored files stays, and the restore is still verified
    fs.mkdirSync(path.join(site.wpContent, 'plugins/akismet/new-empty'))
    fs.mkdirSync(path.join(site.wpContent, 'plugins/akismet/.git'))
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/.git/HEAD'), 'ignored\n')
    const r2 = await site.cli(['restore', withDirs, '--yes', '--json'])
    assert.equal(r2.code, 0, r2.stderr)
    assert.equal(r2.json.verified, true)
    assert.equal(fs.existsSync(path.join(site.wpContent, 'plugins/akismet/new-empty')), false)
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'plugins/akismet/.git/HEAD'), 'utf8'), 'ignored\n')
  })
})
