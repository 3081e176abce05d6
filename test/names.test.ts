// File names as a hostile or unlucky host leaves them (issue 14, items 4 and 7): a name that is not UTF-8
// is left out with a warning — never the whole snapshot — and reported by status and /healthz; a backslash
// or a newline is an ordinary character, recorded and restored exactly; a refused read says "read".
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { startDaemon, fastDaemonConfig, isSnapshot, type RunningDaemon } from './harness/daemon.ts'
import { createSite, MAIN, treeOf, WWW, type TestSite } from './harness/site.ts'

const BAD = Buffer.from([0xff, 0xfe, 0x2e, 0x70, 0x68, 0x70]) // "\xff\xfe.php"

describe('file names as bytes', function () {
  this.timeout(120_000)
  let site: TestSite
  let daemon: RunningDaemon | null = null
  afterEach(async () => {
    await daemon?.stop()
    daemon = null
    await site.cleanup()
  })

  it('a non-UTF-8 name is left out with a warning; the rest is recorded and restored, also --only option:', async () => {
    site = await createSite()
    const dir = path.join(site.wpContent, 'plugins/akismet')
    const bad = Buffer.concat([Buffer.from(`${dir}/`), BAD])
    fs.writeFileSync(bad, '<?php // odd name\n')
    fs.mkdirSync(Buffer.concat([Buffer.from(`${site.wpContent}/themes/`), BAD]))
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    assert.deepEqual(good.json.skipped, [
      'plugins/akismet/\\xff\\xfe.php: the name is not UTF-8, so it cannot be recorded or restored exactly',
      'themes/\\xff\\xfe.php: the name is not UTF-8, so it cannot be recorded or restored exactly',
    ])
    const text = await site.cli(['snapshot'])
    assert.match(text.stdout, /WARNING not recorded: plugins\/akismet\/\\xff\\xfe\.php: the name is not UTF-8/)
    const status = await site.cli(['status'])
    assert.equal(status.code, 0, status.stderr)
    assert.match(status.stdout, /WARNING +not recorded: plugins\/akismet\/\\xff\\xfe\.php/)

    fs.writeFileSync(path.join(dir, 'akismet.php'), '<?php // broken\n')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken' WHERE option_name = 'blogname'`)
    const only = await site.cli(['restore', good.json.id, '--only', 'option:blogname', '--yes', '--json'])
    assert.equal(only.code, 0, only.stderr)
    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.match(fs.readFileSync(path.join(dir, 'akismet.php'), 'utf8'), /Plugin Name: Akismet/)
    assert.equal(fs.readFileSync(bad, 'utf8'), '<?php // odd name\n', 'the file that could not be recorded is left as it is')
  })

  it('a backslash, a newline and other odd but valid names are recorded, shown and restored byte for byte', async () => {
    site = await createSite()
    const dir = path.join(site.wpContent, 'themes/storefront')
    const names = ['a\\b.css', 'new\nline.php', '"quoted".php', 'tab\there.php', '%41 percent.php', 'ünïcödé 🎉.php', '-dash.php', ' lead space.php']
    for (const n of names) fs.writeFileSync(path.join(dir, n), `/* ${JSON.stringify(n)} */\n`)
    const before = treeOf(site.wpContent)
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    assert.deepEqual(good.json.skipped, [])

    for (const n of names) fs.rmSync(path.join(dir, n))
    fs.writeFileSync(path.join(dir, 'a\\b.css'), 'changed')
    const later = await site.cli(['snapshot', '--json'])
    assert.equal(later.code, 0, later.stderr)
    for (const args of [['show', good.json.id], ['diff', good.json.id], ['diff', good.json.id, later.json.id], ['list']]) {
      const x = await site.cli([...args, '--json'])
      assert.equal(x.code, 0, `${args.join(' ')}: ${x.stderr}`)
    }
    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.deepEqual(treeOf(site.wpContent), before)
  })

  it('/healthz names a site whose snapshots fail, and lists files it could not record', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
    fs.writeFileSync(Buffer.concat([Buffer.from(`${site.wpContent}/plugins/akismet/`), BAD]), 'x')
    daemon = await startDaemon(site)
    await daemon.waitFor(isSnapshot, 20_000)
    const ok = await fetch(`${daemon.url}/healthz`)
    assert.equal(ok.status, 200)
    const body = await ok.json()
    assert.deepEqual(body.warnings, [{ site: 'shop', warning: 'not recorded: plugins/akismet/\\xff\\xfe.php: the name is not UTF-8, so it cannot be recorded or restored exactly' }])

    // the journal's object store replaced by a file: no snapshot can be written any more
    const objects = path.join(site.dataDir, 'shop/journal/objects')
    assert.ok(fs.existsSync(objects), `no journal objects at ${objects}`)
    fs.renameSync(objects, `${objects}.away`)
    fs.writeFileSync(objects, 'not a directory')
    try {
      const from = daemon.lines.length
      fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), '<?php // changed\n')
      await daemon.waitFor((l) => /snapshot failed/.test(l.msg), 20_000, from)
      const bad = await fetch(`${daemon.url}/healthz`)
      assert.equal(bad.status, 503)
      const b = await bad.json()
      assert.equal(b.ok, false)
      assert.equal(b.failing[0].site, 'shop')
      assert.match(b.failing[0].error, /^cannot snapshot: /)
    } finally {
      fs.rmSync(objects)
      fs.renameSync(`${objects}.away`, objects)
    }
  })

  it('a file peakguard may not read is reported as "cannot read …", not "cannot write"', async () => {
    site = await createSite()
    // root reads anything: the CLI runs as www-data, who owns the site and its data, but not this one file
    const unreadable = path.join(site.wpContent, 'plugins/akismet/secret.php')
    fs.writeFileSync(unreadable, '<?php // 0600\n')
    fs.chmodSync(unreadable, 0o600)
    fs.chownSync(unreadable, 0, 0)
    fs.mkdirSync(site.dataDir, { recursive: true })
    for (const p of [site.base, site.wpRoot, site.dataDir, site.configFile]) fs.chownSync(p, WWW, WWW)
    const r = spawnSync('setpriv', ['--reuid=33', '--regid=33', '--clear-groups', process.execPath, MAIN, '--config', site.configFile, 'snapshot', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, HOME: site.base },
    })
    assert.notEqual(r.status, 0)
    const err = JSON.parse(r.stdout || r.stderr).error
    assert.equal(err.code, 'FS_FAILED', r.stdout + r.stderr)
    assert.match(err.message, /^cannot read .*plugins\/akismet\/secret\.php \(EACCES: permission denied\)/)
    assert.doesNotMatch(err.message, /write/)
  })

  it('a linked theme directory re-pointed to another version inside wp-content is restored (also --only and --dry-run), never deleting through the wrong target', async () => {
    site = await createSite()
    const themes = path.join(site.wpContent, 'themes')
    for (const v of ['v1', 'v2']) {
      fs.mkdirSync(path.join(themes, 'versions', v), { recursive: true })
      fs.writeFileSync(path.join(themes, 'versions', v, 'style.css'), `/* Theme Name: Shop ${v} */\n`)
    }
    fs.symlinkSync('versions/v1', path.join(themes, 'current'))
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)

    fs.unlinkSync(path.join(themes, 'current'))
    fs.symlinkSync('versions/v2', path.join(themes, 'current'))
    const dry = await site.cli(['restore', good.json.id, '--dry-run', '--json'])
    assert.equal(dry.code, 0, dry.stderr)
    const only = await site.cli(['restore', good.json.id, '--only', 'themes/current', '--yes', '--json'])
    assert.equal(only.code, 0, only.stderr)
    assert.equal(only.json.verified, true)
    assert.equal(fs.readlinkSync(path.join(themes, 'current')), 'versions/v1')
    assert.equal(fs.readFileSync(path.join(themes, 'versions/v2/style.css'), 'utf8'), '/* Theme Name: Shop v2 */\n', 'v2 was written through the link')

    fs.unlinkSync(path.join(themes, 'current'))
    fs.symlinkSync('versions/v2', path.join(themes, 'current'))
    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.equal(fs.readlinkSync(path.join(themes, 'current')), 'versions/v1')
    assert.equal(fs.readFileSync(path.join(themes, 'versions/v2/style.css'), 'utf8'), '/* Theme Name: Shop v2 */\n')

    // re-pointed at what is no theme (uploads, wp-content itself): set back first, so no removal runs
    // through it — nothing there is deleted
    fs.mkdirSync(path.join(site.wpContent, 'uploads/2026/11'), { recursive: true })
    fs.writeFileSync(path.join(site.wpContent, 'uploads/2026/11/banner.jpg'), 'JPEG')
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/extra.php'), '<?php // kept by nobody\n')
    for (const wrong of ['../uploads', '..', 'versions/v2']) {
      fs.unlinkSync(path.join(themes, 'current'))
      fs.symlinkSync(wrong, path.join(themes, 'current'))
      const back = await site.cli(['restore', good.json.id, '--yes', '--json'])
      assert.equal(back.code, 0, `${wrong}: ${back.stderr}`)
      assert.equal(back.json.verified, true, wrong)
      assert.equal(fs.readlinkSync(path.join(themes, 'current')), 'versions/v1')
      assert.equal(fs.readFileSync(path.join(site.wpContent, 'uploads/2026/11/banner.jpg'), 'utf8'), 'JPEG', `${wrong}: an upload was deleted`)
      assert.equal(fs.readFileSync(path.join(themes, 'versions/v2/style.css'), 'utf8'), '/* Theme Name: Shop v2 */\n', `${wrong}: v2 was changed`)
      assert.equal(fs.existsSync(path.join(site.wpContent, 'plugins/akismet/akismet.php')), true, `${wrong}: a plugin file was deleted`)
    }

    // re-pointed out of wp-content, the link is still refused
    fs.unlinkSync(path.join(themes, 'current'))
    fs.symlinkSync('/etc', path.join(themes, 'current'))
    fs.writeFileSync(path.join(themes, 'versions/v1/style.css'), 'changed')
    const out = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(out.code, 0, out.stderr)
    assert.equal(fs.readlinkSync(path.join(themes, 'current')), 'versions/v1')
  })

  it('a linked theme directory whose folder the restore empties stays a link (found by the property test)', async () => {
    site = await createSite()
    fs.mkdirSync(path.join(site.wpContent, 'themes/shop-theme/css'), { recursive: true })
    fs.writeFileSync(path.join(site.wpContent, 'themes/shop-theme/css/style.css'), 'body{}\n')
    fs.symlinkSync('../themes/shop-theme', path.join(site.wpContent, 'plugins/shop-theme-link'))
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    fs.rmSync(path.join(site.wpContent, 'themes/shop-theme/css'), { recursive: true })
    fs.writeFileSync(path.join(site.wpContent, 'themes/shop-theme/style.css'), 'new\n')
    const r = await site.cli(['restore', good.json.id, '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    assert.equal(fs.lstatSync(path.join(site.wpContent, 'plugins/shop-theme-link')).isSymbolicLink(), true, 'the link became a directory')
    assert.equal(fs.readFileSync(path.join(site.wpContent, 'themes/shop-theme/css/style.css'), 'utf8'), 'body{}\n')
    const after = await site.cli(['status', '--json'])
    assert.equal(after.json.pendingChanges.files, 0)
  })

  it('a network option without a meta_key, and an autoload flag spelled YES, are read as WordPress reads them (found by the property test)', async () => {
    site = await createSite({ multisite: true })
    await site.db.query(`INSERT INTO wp_sitemeta (site_id, meta_key, meta_value) VALUES (1, NULL, 'x')`)
    const good = await site.cli(['snapshot', '--json'])
    assert.equal(good.code, 0, good.stderr)
    await site.db.query(`ALTER TABLE wp_options DROP INDEX option_name`)
    await site.db.query(`INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('blogname', 'Hijacked Shop', 'YES ')`)
    const diff = await site.cli(['diff', good.json.id, '--json'])
    assert.deepEqual(diff.json.options.map((o: { name: string }) => o.name), ['blogname'])
    // the dropped key is a schema change since `good`: the restore crosses it knowingly
    const r = await site.cli(['restore', good.json.id, '--across-schema-change', '--yes', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.verified, true)
    const [rows] = await site.db.query(`SELECT DISTINCT option_value AS v FROM wp_options WHERE option_name = 'blogname'`)
    assert.deepEqual((rows as { v: string }[]).map((x) => String(x.v)), ['Campaign Shop'])
  })
})
