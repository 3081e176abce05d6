// Bad input and a hostile environment: each gives a clear error naming the problem, and changes nothing.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { rootConnection } from './harness/mariadb.ts'
import { createSite, optionRows, randomBytesSeeded, runCli, treeOf, type TestSite } from './harness/site.ts'

function mount(args: string[]): void {
  const r = spawnSync('mount', args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')} failed (${r.stderr.trim()}): these tests need root and mount(8) — run them as root, as CI does`)
}
function umount(p: string): void {
  spawnSync('umount', ['-l', p])
}

const git = (site: TestSite, args: string[], input?: string) =>
  execFileSync('git', ['--git-dir', path.join(site.dataDir, 'shop/journal'), ...args], { input, encoding: 'utf8' }).trim()

describe('bad input', () => {
  let site: TestSite
  beforeEach(async () => {
    site = await createSite()
  })
  afterEach(async () => site.cleanup())

  it('an unknown config key is an error naming the key path and its line; nothing is created', async () => {
    const text = fs.readFileSync(site.configFile, 'utf8').replace('    db:\n', '    dbb: 1\n    db:\n')
    fs.writeFileSync(site.configFile, text)
    const line = text.split('\n').findIndex((l) => l.includes('dbb:')) + 1
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'CONFIG_INVALID')
    assert.match(r.json.error.message, new RegExp(`peakguard.yaml:${line}: sites.0.dbb: unknown key`))
    assert.equal(fs.existsSync(site.dataDir), false)
  })

  it('a wrong type is an error naming the key path and its line', async () => {
    const text = fs.readFileSync(site.configFile, 'utf8').replace(/port: \d+/, 'port: "three"')
    fs.writeFileSync(site.configFile, text)
    const line = text.split('\n').findIndex((l) => l.includes('port: "three"')) + 1
    const r = await site.cli(['list'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`:${line}: sites.0.db.port: .*number`))
  })

  it('a wrong database password is refused clearly and records nothing', async () => {
    const conn = await rootConnection()
    const user = `pg_${site.dbName.slice(-8)}`
    await conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY 'right-password'`)
    await conn.query(`GRANT ALL ON \`${site.dbName}\`.* TO '${user}'@'%'`)
    try {
      fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8').replace(/user: \w+/, `user: ${user}`).replace(/password: ".*"/, 'password: "wrong-password"'))
      const r = await site.cli(['snapshot', '--json'])
      assert.equal(r.code, 1)
      assert.equal(r.json.error.code, 'DB_AUTH')
      assert.match(r.json.error.message, new RegExp(`refused user ${user}`))
      assert.doesNotMatch(r.stdout + r.stderr, /wrong-password/, 'the password was printed')
      assert.equal(git(site, ['rev-parse', '--verify', '-q', 'refs/heads/main']).length, 0)
    } catch (e) {
      if ((e as { status?: number }).status !== 1) throw e // rev-parse -q on an empty journal exits 1: nothing recorded
    } finally {
      await conn.query(`DROP USER '${user}'@'%'`)
      await conn.end()
    }
  })

  it('an unreachable database is a clear error', async () => {
    fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8').replace(/port: \d+/, 'port: 1'))
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 1)
    assert.equal(r.json.error.code, 'DB_UNREACHABLE')
    assert.match(r.json.error.message, /cannot reach the database at 127\.0\.0\.1:1/)
  })

  it('an unreachable database with many plugin directories (the walk runs on a worker): every command says so through the error table, and the daemon records files', async () => {
    // with 8+ unit directories the file walk runs on a worker thread, and the failed settings query used to
    // reject while nobody awaited it: a stack trace and exit, the daemon gone 60 ms after its start
    for (let i = 0; i < 12; i++) {
      fs.mkdirSync(path.join(site.wpContent, `plugins/extra-${i}`), { recursive: true })
      fs.writeFileSync(path.join(site.wpContent, `plugins/extra-${i}/extra-${i}.php`), `<?php\n/* Plugin Name: Extra ${i} */\n`)
    }
    assert.equal((await site.cli(['snapshot'])).code, 0)
    fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8').replace(/port: \d+/, 'port: 1'))
    for (const args of [['snapshot'], ['diff', 'latest']]) {
      const r = await site.cli([...args, '--json'])
      assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`)
      assert.doesNotMatch(r.stderr, /^\s+at /m, `${args.join(' ')}: no stack trace\n${r.stderr}`)
      assert.equal(r.json?.error?.code, 'DB_UNREACHABLE', `${args.join(' ')}: ${r.stdout}`)
    }
    // status reports what it can, and says why it cannot compare the live site
    const st = await site.cli(['status', '--json'])
    assert.equal(st.code, 0, st.stderr)
    assert.doesNotMatch(st.stderr, /^\s+at /m, st.stderr)
    assert.match(st.json.liveError, /cannot reach the database at 127\.0\.0\.1:1/)
    const { startDaemon, isSnapshot } = await import('./harness/daemon.ts')
    const daemon = await startDaemon(site)
    try {
      const from = daemon.lines.length
      fs.writeFileSync(path.join(site.wpContent, 'plugins/extra-3/extra-3.php'), '<?php\n/* Plugin Name: Extra 3, changed with the database down */\n')
      const snap = await daemon.waitFor((l) => isSnapshot(l) && String(l.summary).includes('plugins/extra-3'), 20_000, from)
      assert.ok(snap.state, 'the file change is recorded while the database is down')
    } finally {
      assert.equal(await daemon.stop(), 0, `the daemon stopped cleanly:\n${daemon.output().slice(-2000)}`)
    }
  })

  it('a table prefix that matches no table is named, with the prefixes that exist', async () => {
    fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8').replace('tablePrefix: wp_', 'tablePrefix: shop_'))
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'DB_NO_TABLES')
    assert.match(r.json.error.message, /no table shop_options .*prefixes found: "wp_"/)
  })

  it('init on a directory without wp-config.php says so and writes no config', async () => {
    const cfg = path.join(site.base, 'new.yaml')
    const empty = path.join(site.base, 'empty/www')
    fs.mkdirSync(empty, { recursive: true })
    const r = await runCli(['init', '--wp-root', empty, '--config', cfg, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'WP_CONFIG')
    assert.match(r.json.error.message, /no wp-config\.php in .*empty\/www/)
    assert.equal(fs.existsSync(cfg), false)
  })

  it('init with a prefix that matches no table fails before writing a config', async () => {
    const wpConfig = path.join(site.wpRoot, 'wp-config.php')
    fs.writeFileSync(wpConfig, fs.readFileSync(wpConfig, 'utf8').replace("$table_prefix = 'wp_'", "$table_prefix = 'nope_'"))
    const cfg = path.join(site.base, 'new.yaml')
    const r = await runCli(['init', '--wp-root', site.wpRoot, '--config', cfg, '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'DB_NO_TABLES')
    assert.equal(fs.existsSync(cfg), false)
  })

  it('a state id that matches nothing, or more than one state, is refused', async () => {
    const good = (await site.cli(['snapshot', '--json'])).json.id
    const none = await site.cli(['restore', 'deadbeef', '--yes', '--json'])
    assert.equal(none.code, 2)
    assert.equal(none.json.error.code, 'STATE_NOT_FOUND')
    const junk = await site.cli(['show', 'not-an-id'])
    assert.equal(junk.code, 2)
    assert.match(junk.stderr, /not a state id/)

    // 1,500 more states make two ids share their first four digits (birthday bound: p(no pair) < 1e-7)
    let stream = ''
    for (let i = 0; i < 1500; i++) {
      const msg = `state ${i}\n\nPeakguard-Site: shop\nPeakguard-Trigger: manual\n`
      stream += `commit refs/heads/main\ncommitter peakguard <peakguard@localhost> ${1764400000 + i} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}${i === 0 ? `from ${good}\n` : ''}\n`
    }
    git(site, ['fast-import', '--quiet'], stream)
    const ids = git(site, ['log', '--format=%H', 'refs/heads/main']).split('\n')
    const seen = new Map<string, string>()
    let prefix = ''
    for (const id of ids) {
      if (seen.has(id.slice(0, 4))) {
        prefix = id.slice(0, 4)
        break
      }
      seen.set(id.slice(0, 4), id)
    }
    assert.ok(prefix, 'no two states share a 4-digit prefix')
    const tree = treeOf(site.wpContent)
    const r = await site.cli(['restore', prefix, '--yes', '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'STATE_AMBIGUOUS')
    assert.match(r.json.error.message, new RegExp(`state id ${prefix} matches \\d+ states`))
    assert.deepEqual(treeOf(site.wpContent), tree)
  })

  it("restoring another site's state names the site it belongs to", async () => {
    const other = await createSite({ id: 'outlet' })
    try {
      const theirs = (await other.cli(['snapshot', '--json'])).json.id
      await site.cli(['snapshot', '--json'])
      // one config with both sites
      const both = fs.readFileSync(site.configFile, 'utf8') + fs.readFileSync(other.configFile, 'utf8').split('sites:\n')[1]!.replace(/wpRoot: .*/, `wpRoot: ${other.wpRoot}\n    dataDir: ${path.join(other.dataDir, 'outlet')}`)
      fs.writeFileSync(site.configFile, both)
      const before = treeOf(site.wpContent)
      const r = await site.cli(['--site', 'shop', 'restore', theirs, '--yes', '--json'])
      assert.equal(r.code, 2, r.stderr)
      assert.equal(r.json.error.code, 'STATE_OTHER_SITE')
      assert.match(r.json.error.message, /belongs to site outlet, not shop/)
      assert.deepEqual(treeOf(site.wpContent), before)
    } finally {
      await other.cleanup()
    }
  })

  it('plugins/ itself linked out of wp-content is recorded as a link: nothing behind it is read, diffed or touched', async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-outside-'))
    try {
      const SECRET = 'sk_live_outside_secret_7f3a'
      fs.mkdirSync(path.join(outside, 'vault'))
      fs.writeFileSync(path.join(outside, 'vault/credentials.php'), `<?php // ${SECRET}\n`, { mode: 0o600 })
      fs.writeFileSync(path.join(outside, 'notes.peakguard-tmp-1.tmp'), 'not ours to delete')
      const plugins = path.join(site.wpContent, 'plugins')
      fs.renameSync(plugins, `${plugins}.real`)
      fs.symlinkSync(outside, plugins)
      const r = await site.cli(['snapshot', '--json'])
      assert.equal(r.code, 0, r.stderr)
      const show = await site.cli(['show', r.json.id, '--json'])
      assert.doesNotMatch(JSON.stringify(show.json), /vault|credentials/, 'no file behind the link is in the state')
      const found = spawnSync('git', ['--git-dir', path.join(site.dataDir, 'shop/journal'), 'grep', '-l', SECRET, 'refs/heads/main'], { encoding: 'utf8' })
      assert.equal(found.status, 1, `the secret is in no blob of the journal: ${found.stdout}`)
      const diff = await site.cli(['diff', r.json.id, '--json'])
      assert.doesNotMatch(JSON.stringify(diff.json), new RegExp(SECRET))
      assert.ok(fs.existsSync(path.join(outside, 'notes.peakguard-tmp-1.tmp')), 'nothing behind the link was removed')
      assert.equal(fs.readlinkSync(plugins), outside, 'the link itself is left as it is')
    } finally {
      fs.rmSync(path.join(site.wpContent, 'plugins'), { force: true })
      if (fs.existsSync(path.join(site.wpContent, 'plugins.real'))) fs.renameSync(path.join(site.wpContent, 'plugins.real'), path.join(site.wpContent, 'plugins'))
      fs.rmSync(outside, { recursive: true, force: true })
    }
  })

  it('a journal directory that is not a peakguard journal is refused and left alone', async () => {
    const j = path.join(site.dataDir, 'shop/journal')
    fs.mkdirSync(j, { recursive: true })
    fs.writeFileSync(path.join(j, 'notes.txt'), 'my files')
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 2)
    assert.equal(r.json.error.code, 'NOT_A_JOURNAL')
    assert.match(r.json.error.message, /is not a peakguard journal/)
    assert.deepEqual(fs.readdirSync(j), ['notes.txt'])
    // a git repository that peakguard did not make is refused too
    fs.rmSync(j, { recursive: true })
    execFileSync('git', ['init', '-q', '--bare', j])
    const g = await site.cli(['list', '--json'])
    assert.equal(g.json.error.code, 'NOT_A_JOURNAL')
  })
})

describe('hostile disks', () => {
  let site: TestSite
  const mounts: string[] = []
  beforeEach(async () => {
    site = await createSite()
  })
  afterEach(async () => {
    while (mounts.length) umount(mounts.pop() as string)
    await site.cleanup()
  })

  it('a read-only wp-content is found before anything is written', async () => {
    const good = (await site.cli(['snapshot', '--json'])).json.id
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'broken')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken' WHERE option_name = 'blogname'`)
    mount(['--bind', site.wpContent, site.wpContent])
    mounts.push(site.wpContent)
    mount(['-o', 'remount,ro,bind', site.wpContent])
    const tree = treeOf(site.wpContent)
    const opts = await optionRows(site.db, 'wp_options')
    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.json.error.code, 'READ_ONLY')
    assert.match(r.json.error.message, /read-only file system/)
    assert.deepEqual(treeOf(site.wpContent), tree)
    assert.deepEqual(await optionRows(site.db, 'wp_options'), opts)
    assert.equal(fs.existsSync(path.join(site.dataDir, 'shop/restore-intent.json')), false)
  })

  it('a disk that fills up during a restore: the restore is undone and says so', async () => {
    // wp-content on a 2 MB file system; the recorded state holds a 900 KB file
    const orig = `${site.wpContent}.orig`
    fs.renameSync(site.wpContent, orig)
    fs.mkdirSync(site.wpContent)
    mount(['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', site.wpContent])
    mounts.push(site.wpContent)
    execFileSync('cp', ['-a', `${orig}/.`, site.wpContent])
    fs.mkdirSync(path.join(site.wpContent, 'plugins/media'))
    fs.writeFileSync(path.join(site.wpContent, 'plugins/media/big.bin'), randomBytesSeeded(900 * 1024, 3))
    const good = (await site.cli(['snapshot', '--json'])).json.id

    fs.rmSync(path.join(site.wpContent, 'plugins/media/big.bin'))
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), 'broken')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken' WHERE option_name = 'blogname'`)
    // uploads (not in scope, never touched) fill the disk
    fs.writeFileSync(path.join(site.wpContent, 'uploads/video.mp4'), randomBytesSeeded(1400 * 1024, 4))
    const tree = treeOf(site.wpContent)
    const opts = await optionRows(site.db, 'wp_options')

    const r = await site.cli(['restore', good, '--yes', '--json'])
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.json.error.code, 'DISK_FULL')
    assert.match(r.json.error.message, /no space left .* undone: the site is as it was before/)
    assert.deepEqual(treeOf(site.wpContent), tree)
    assert.deepEqual(await optionRows(site.db, 'wp_options'), opts)
    assert.equal(fs.existsSync(path.join(site.dataDir, 'shop/restore-intent.json')), false)
  })

  it('a full journal disk fails the snapshot clearly and leaves the journal as it was', async () => {
    fs.mkdirSync(site.dataDir, { recursive: true })
    mount(['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', site.dataDir])
    mounts.push(site.dataDir)
    const first = await site.cli(['snapshot', '--json'])
    assert.equal(first.code, 0, first.stderr)
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/video.bin'), randomBytesSeeded(2 * 1024 * 1024, 5))
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 1, r.stderr)
    assert.equal(r.json.error.code, 'DISK_FULL', r.json.error.message)
    assert.equal(git(site, ['rev-parse', 'refs/heads/main']), first.json.id)
    execFileSync('git', ['--git-dir', path.join(site.dataDir, 'shop/journal'), 'fsck', '--no-dangling'], { stdio: 'pipe' })
  })
})
