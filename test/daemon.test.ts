// The daemon against real files, a real MariaDB and real inotify: changes become snapshots without anyone
// typing a command; a burst is coalesced; a kill -9, a SIGTERM, a database outage, an exhausted inotify
// watch limit and a plugin replaced the way WordPress's upgrader does it lose nothing.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import mysql from 'mysql2/promise'
import { fastDaemonConfig, isSnapshot, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { PrivateMariadb } from './harness/mariadb.ts'
import { createSite, fsck, type TestSite } from './harness/site.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** What differs between the newest snapshot and the live site ([] when the journal holds the live state). */
async function unrecorded(site: TestSite): Promise<string[]> {
  const r = await site.cli(['diff', 'latest', 'live', '--json'])
  assert.equal(r.code, 0, r.stderr)
  return [...r.json.files.map((f: any) => `${f.change} ${f.path}`), ...r.json.options.map((o: any) => `${o.change} option:${o.name}`)]
}

async function stateIds(site: TestSite): Promise<string[]> {
  const r = await site.cli(['list', '--json'])
  assert.equal(r.code, 0, r.stderr)
  return r.json.map((s: any) => s.id)
}

function writeFile(site: TestSite, rel: string, text: string): void {
  const p = path.join(site.wpContent, rel)
  fs.mkdirSync(path.dirname(p), { recursive: true })
  fs.writeFileSync(p, text)
}

describe('daemon', () => {
  let site: TestSite
  let daemon: RunningDaemon | null = null

  afterEach(async () => {
    await daemon?.stop('SIGKILL')
    daemon = null
    await site?.cleanup()
  })

  it('records a file change and a settings change within the quiet period, without a command', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
    daemon = await startDaemon(site)
    const initial = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'scan')
    assert.match(String(initial.summary), /^initial: /)

    let from = daemon.lines.length
    writeFile(site, 'plugins/akismet/akismet.php', '<?php // 5.4\n')
    const file = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'watch', 10_000, from)
    assert.equal(file.summary, 'plugins/akismet (1 file)')

    from = daemon.lines.length
    await site.db.query(`UPDATE wp_options SET option_value = 'Night Sale' WHERE option_name = 'blogname'`)
    const option = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'poll', 10_000, from)
    assert.equal(option.summary, 'options: blogname')
    assert.deepEqual(await unrecorded(site), [])

    // a change only to ignored rows (transients, cron) makes no snapshot
    from = daemon.lines.length
    await site.db.query(`UPDATE wp_options SET option_value = '1764499999' WHERE option_name = '_transient_doing_cron'`)
    await site.db.query(`INSERT INTO wp_options (option_name, option_value) VALUES ('_transient_wc_count', '42')`)
    await sleep(1500)
    assert.deepEqual(daemon.lines.slice(from).filter(isSnapshot), [])
    // option values never reach the log
    assert.doesNotMatch(daemon.output(), /Night Sale|sk_live_SECRET123/)
  })

  it('works with an ordinary WordPress database user (SELECT, INSERT, UPDATE, DELETE on its own database only)', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
    const user = `wp_${site.dbName.slice(-8)}`
    await site.db.query(`CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY 'wp-secret'`)
    try {
      await site.db.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON \`${site.dbName}\`.* TO '${user}'@'127.0.0.1'`)
      fs.writeFileSync(site.configFile, fs.readFileSync(site.configFile, 'utf8').replace(/user: root\n(\s+)password: ""/, `user: ${user}\n$1password: "wp-secret"`))
      daemon = await startDaemon(site)
      const from = daemon.lines.length
      await site.db.query(`UPDATE wp_options SET option_value = 'Shared hosting' WHERE option_name = 'blogname'`)
      const snap = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'poll', 10_000, from)
      assert.equal(snap.summary, 'options: blogname')
      assert.equal((await site.cli(['status', '--json'])).json.daemon.site.db.connected, true)
    } finally {
      await daemon?.stop('SIGKILL')
      daemon = null
      await site.db.query(`DROP USER '${user}'@'127.0.0.1'`)
    }
  })

  it('a burst of 300 file writes and option changes is one snapshot; a stream of edits is recorded within the maximum wait', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
    daemon = await startDaemon(site)
    let from = daemon.lines.length
    for (let i = 0; i < 300; i++) writeFile(site, `plugins/woocommerce/includes/burst-${i}.php`, `<?php // ${i}\n`)
    await site.db.query(`UPDATE wp_options SET option_value = 'Burst' WHERE option_name = 'blogname'`)
    await daemon.waitFor(isSnapshot, 10_000, from)
    await sleep(1000)
    const snaps = daemon.lines.slice(from).filter(isSnapshot)
    assert.equal(snaps.length, 1, JSON.stringify(snaps))
    assert.deepEqual(await unrecorded(site), [])

    // an edit every 150 ms never leaves a 300 ms quiet period: the 3 s maximum wait records it anyway
    from = daemon.lines.length
    const started = Date.now()
    let seen: unknown = null
    void daemon.waitFor(isSnapshot, 10_000, from).then((l) => (seen = l), () => undefined)
    for (let i = 0; i < 40 && !seen; i++) {
      writeFile(site, 'themes/storefront/style.css', `body { color: #${String(i).padStart(3, '0')}; }\n`)
      await sleep(150)
    }
    assert.ok(seen, 'no snapshot during a stream of edits')
    assert.ok(Date.now() - started < 6000)
  })

  it('kill -9 in the middle of a burst, restart: the final live state is recorded, nothing earlier lost, git fsck clean', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
    // the daemon dies (SIGKILL) while streaming the burst's snapshot into the journal
    daemon = await startDaemon(site, { PEAKGUARD_FAULT: 'snapshot:file#40' })
    const before = await stateIds(site)
    assert.equal(before.length, 1)
    for (let i = 0; i < 120; i++) {
      writeFile(site, `plugins/woocommerce/includes/class-wc-part-${i % 20}.php`, `<?php // v11 ${i}\n`)
      writeFile(site, `plugins/woo-extra/part-${i}.php`, `<?php // extra ${i}\n`)
      if (i % 30 === 0) await site.db.query(`UPDATE wp_options SET option_value = ? WHERE option_name = 'blogname'`, [`Shop ${i}`])
      if (i % 10 === 0) await sleep(20)
    }
    assert.notEqual(await daemon.exited, 0, 'the fault hook should have killed the daemon')
    // more changes while it is down
    writeFile(site, 'mu-plugins/01-late.php', '<?php // written while the daemon was down\n')
    await site.db.query(`UPDATE wp_options SET option_value = 'After the crash' WHERE option_name = 'blogname'`)

    daemon = await startDaemon(site)
    assert.deepEqual(await unrecorded(site), [])
    const after = await stateIds(site)
    for (const id of before) assert.ok(after.includes(id), `state ${id} was lost`)
    assert.ok(after.length > before.length)
    assert.equal(fsck(site), '')
  })

  it('SIGTERM with a change waiting for its quiet period records it before exiting', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig().replace('quiet: 300ms', 'quiet: 30s').replace('maxWait: 3s', 'maxWait: 60s') })
    daemon = await startDaemon(site)
    const from = daemon.lines.length
    writeFile(site, 'plugins/hello.php', '<?php /* Plugin Name: Hello Dolly 2 */\n')
    await daemon.waitFor((l) => l.msg === 'change seen' && l.path === 'plugins/hello.php', 10_000, from)
    assert.equal(await daemon.stop('SIGTERM'), 0)
    const snap = daemon.lines.slice(from).find(isSnapshot)
    assert.ok(snap, `no snapshot before exit:\n${daemon.output().slice(-2000)}`)
    assert.equal(snap.summary, 'plugins/hello.php (1 file)')
    assert.deepEqual(await unrecorded(site), [])
  })

  it('MySQL stopped and started again: file snapshots go on, settings changed meanwhile are recorded after reconnect', async () => {
    const db = await PrivateMariadb.create()
    try {
      site = await createSite({ server: db.server, siteConfig: fastDaemonConfig() })
      daemon = await startDaemon(site)
      await db.stop()
      let from = daemon.lines.length
      await daemon.waitFor((l) => /database unreachable/.test(l.msg), 10_000, from)

      writeFile(site, 'themes/storefront/functions.php', "<?php\n// changed while the database is down\n")
      const during = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'watch', 10_000, from)
      assert.equal(during.summary, 'themes/storefront (1 file)')
      const shown = await site.cli(['show', String(during.state), '--json'])
      assert.match(JSON.stringify(shown.json), /carried over from the previous snapshot/)
      const status = await site.cli(['status', '--json'])
      assert.equal(status.json.daemon.site.db.connected, false)

      await db.start()
      // the site's own connection died with the server: a new one writes as WordPress would
      const conn = await mysql.createConnection({ host: db.server.host, port: db.server.port, user: 'root', database: site.dbName })
      await conn.query(`UPDATE wp_options SET option_value = 'Changed during the outage' WHERE option_name = 'blogname'`)
      await conn.end()
      from = daemon.lines.length
      const back = await daemon.waitFor((l) => isSnapshot(l) && String(l.summary).includes('blogname'), 40_000, from)
      assert.ok(back)
      assert.equal((await site.cli(['status', '--json'])).json.daemon.site.db.connected, true)
      // the settings table is compared with a fresh connection: unrecorded() needs the server up
      assert.deepEqual(await unrecorded(site), [])
    } finally {
      await daemon?.stop('SIGKILL')
      daemon = null
      await site.cleanup().catch(() => undefined)
      await db.destroy()
    }
  })

  it('with the inotify watch limit exhausted it says how to raise it, scans instead, and still records changes', async function () {
    if (spawnSync('unshare', ['--user', '--map-root-user', 'true']).status !== 0)
      assert.fail("this test lowers the inotify limit inside a user namespace: it needs 'unshare' (apt-get install -y util-linux) and unprivileged user namespaces")
    site = await createSite({ siteConfig: fastDaemonConfig() })
    // inside the namespace only uid 0 is mapped: give the files to root so owners read the same in and out
    spawnSync('chown', ['-R', '0:0', site.wpContent])
    // a limit of 5 watches in a user namespace of its own: the real ENOSPC, without touching the host's limit
    daemon = await startDaemon(site, {}, ['unshare', '--user', '--map-root-user', 'sh', '-c', 'echo 5 > /proc/sys/user/max_inotify_watches && exec "$@"', 'sh'])
    const failed = daemon.lines.find((l) => l.code === 'ENOSPC') ?? (await daemon.waitFor((l) => l.code === 'ENOSPC'))
    assert.match(failed.msg, /fs\.inotify\.max_user_watches/)
    const status = await site.cli(['status', '--json'])
    assert.equal(status.json.daemon.site.mode, 'scan')
    assert.match((await site.cli(['status'])).stdout, /SCANNING periodically/)
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text()
    assert.match(metrics, /peakguard_watcher_mode\{site="shop",mode="scan"\} 1/)

    const from = daemon.lines.length
    writeFile(site, 'plugins/woocommerce/includes/deep/er/class-new.php', '<?php // seen by a scan\n')
    const snap = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'scan', 10_000, from)
    assert.equal(snap.summary, 'plugins/woocommerce (1 file)')
  })

  it('the periodic comparison records a change inotify never reported, and says so', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig().replace('reconcile: 1h', 'reconcile: 1500ms') })
    // a file written through a hard link from outside wp-content: inotify reports changes per directory
    // entry, so the watched directory hears nothing (deploy tools that hard-link releases do this)
    const outside = path.join(site.base, 'release/akismet-extra.php')
    fs.mkdirSync(path.dirname(outside), { recursive: true })
    fs.writeFileSync(outside, '<?php // 1\n')
    fs.linkSync(outside, path.join(site.wpContent, 'plugins/akismet/extra.php'))
    daemon = await startDaemon(site)
    await sleep(500)
    const from = daemon.lines.length
    fs.appendFileSync(outside, '// 2: changed through the other link\n')
    const snap = await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'scan', 10_000, from)
    assert.equal(snap.summary, 'plugins/akismet (1 file)')
    assert.equal(daemon.lines.slice(from).filter((l) => isSnapshot(l) && l.trigger === 'watch').length, 0)
    const warned = await daemon.waitFor((l) => /changes nobody reported/.test(l.msg), 5000, from)
    assert.match(warned.msg, /fs\.inotify\.max_queued_events/)
    assert.deepEqual(await unrecorded(site), [])
  })

  for (const how of ['renames the unpacked copy into place', 'copies the new files in one by one']) {
    it(`a plugin replaced the way WordPress's upgrader does it (${how}) is exactly one snapshot`, async () => {
      site = await createSite({ siteConfig: fastDaemonConfig() })
      daemon = await startDaemon(site)
      const from = daemon.lines.length
      const plugin = path.join(site.wpContent, 'plugins/woocommerce')
      const unpacked = path.join(site.wpContent, 'upgrade/woocommerce-9.5.0')
      // the upgrader unpacks the package into wp-content/upgrade (outside the scope) …
      for (let i = 0; i < 300; i++) {
        const rel = i === 0 ? 'woocommerce.php' : `includes/${i % 7}/class-wc-${i}.php`
        fs.mkdirSync(path.dirname(path.join(unpacked, rel)), { recursive: true })
        fs.writeFileSync(path.join(unpacked, rel), `<?php // 9.5.0 ${i}\n`)
      }
      // … then deletes the old plugin directory and moves or copies the new one in
      fs.rmSync(plugin, { recursive: true })
      if (how.startsWith('renames')) fs.renameSync(unpacked, plugin)
      else {
        fs.cpSync(unpacked, plugin, { recursive: true })
        fs.rmSync(unpacked, { recursive: true })
      }
      await daemon.waitFor(isSnapshot, 10_000, from)
      await sleep(1500)
      const snaps = daemon.lines.slice(from).filter(isSnapshot)
      assert.equal(snaps.length, 1, JSON.stringify(snaps))
      assert.match(String(snaps[0]!.summary), /plugins\/woocommerce/)
      assert.deepEqual(await unrecorded(site), [])
    })
  }

  it('serves /healthz, Prometheus /metrics and the status that `peakguard status` shows', async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
    daemon = await startDaemon(site)
    const health = await fetch(`${daemon.url}/healthz`)
    assert.equal(health.status, 200)
    assert.equal((await health.json()).ok, true)
    const metrics = await (await fetch(`${daemon.url}/metrics`)).text()
    for (const name of ['peakguard_snapshot_duration_seconds_bucket', 'peakguard_snapshots_total', 'peakguard_watcher_mode', 'peakguard_db_connected', 'peakguard_process_resident_memory_bytes'])
      assert.match(metrics, new RegExp(`^${name}`, 'm'), name)
    assert.match(metrics, /peakguard_watcher_mode\{site="shop",mode="watch"\} 1/)
    const text = await site.cli(['status'])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /daemon +watching for changes/)
    assert.match(text.stdout, /database +connected/)
    assert.match(text.stdout, /last snapshot .*initial/)
    await daemon.stop()
    daemon = null
    const offline = await site.cli(['status'])
    assert.match(offline.stdout, /daemon +not running/)
  })
})

describe('daemon with two sites', () => {
  let a: TestSite
  let b: TestSite
  let daemon: RunningDaemon | null = null
  after(async () => {
    await daemon?.stop('SIGKILL')
    await a?.cleanup()
    await b?.cleanup()
  })

  it('watches every site of the config, each into its own journal', async () => {
    a = await createSite({ id: 'shop', siteConfig: fastDaemonConfig() })
    b = await createSite({ id: 'outlet', siteConfig: fastDaemonConfig() })
    // one config holding both sites (the second site's block appended to the first's file)
    const second = fs.readFileSync(b.configFile, 'utf8').split('sites:\n')[1]!
    fs.writeFileSync(a.configFile, fs.readFileSync(a.configFile, 'utf8') + second)
    daemon = await startDaemon(a)
    const from = daemon.lines.length
    writeFile(a, 'plugins/akismet/akismet.php', '<?php // shop\n')
    writeFile(b, 'themes/storefront/style.css', 'body { color: green }\n')
    const shop = await daemon.waitFor((l) => isSnapshot(l) && l.site === 'shop', 10_000, from)
    const outlet = await daemon.waitFor((l) => isSnapshot(l) && l.site === 'outlet', 10_000, from)
    assert.equal(shop.summary, 'plugins/akismet (1 file)')
    assert.equal(outlet.summary, 'themes/storefront (1 file)')
    for (const [site, id] of [['shop', shop.state], ['outlet', outlet.state]]) {
      const r = await a.cli(['--site', String(site), 'status', '--json'])
      assert.equal(r.json.latest.id, id)
      assert.equal(r.json.daemon.site.mode, 'watch')
    }
    assert.equal((await (await fetch(`${daemon.url}/healthz`)).json()).ok, true)
  })
})
