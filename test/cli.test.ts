// The CLI as an operator uses it: the installed bin, JSON shapes, state ids, known-good marks, exit codes.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { startDaemon } from './harness/daemon.ts'
import { S3Server } from './harness/s3.ts'
import { createSite, REPO, treeOf, type TestSite } from './harness/site.ts'

describe('cli', () => {
  let site: TestSite
  beforeEach(async () => {
    site = await createSite()
  })
  afterEach(async () => site.cleanup())

  it('runs as `npx peakguard` from the repository (the built bin)', () => {
    assert.ok(fs.existsSync(path.join(REPO, 'dist/bin/peakguard.js')), "dist/bin/peakguard.js is missing: run 'npm run build' (npm ci does it)")
    const r = spawnSync('npx', ['--no-install', 'peakguard', '--config', site.configFile, 'list', '--json'], { cwd: REPO, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout), [])
    const help = spawnSync('npx', ['--no-install', 'peakguard', '--help'], { cwd: REPO, encoding: 'utf8' })
    for (const cmd of ['init', 'snapshot', 'list', 'show', 'diff', 'restore', 'mark-good', 'unmark-good', 'status']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`))
  })

  // the bin is a bundle (scripts/bundle.ts): its workers, the bridge's PHP template and web/ are found from
  // dist/bin/, not from the modules' own folders — each is used here once
  it('the installed bundle records, restores, installs the bridge and serves the UI', async () => {
    const bin = path.join(REPO, 'dist/bin/peakguard.js')
    const run = (...args: string[]) => spawnSync(process.execPath, [bin, '--config', site.configFile, ...args], { encoding: 'utf8' })
    const first = run('snapshot', '--json')
    assert.equal(first.status, 0, first.stderr)
    const good = JSON.parse(first.stdout).id
    const before = treeOf(site.wpContent)
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), '<?php // broken')
    const restored = run('restore', good, '--yes', '--json')
    assert.equal(restored.status, 0, restored.stderr)
    assert.equal(JSON.parse(restored.stdout).verified, true)
    assert.deepEqual(treeOf(site.wpContent), before)
    const bridge = run('wp', 'install-bridge', '--json')
    assert.equal(bridge.status, 0, bridge.stderr)
    assert.match(fs.readFileSync(path.join(site.wpContent, 'mu-plugins/peakguard-bridge.php'), 'utf8'), /Plugin Name: peakguard bridge/)
    const d = await startDaemon(site, {}, [], { main: bin })
    try {
      const login = await fetch(`${d.url}/login`)
      assert.equal(login.status, 200)
      assert.match(await login.text(), /<form/)
    } finally {
      await d.stop()
    }
  })

  it('the installed bundle replicates to S3 and verifies the replica (the AWS SDK inside the bundle)', async () => {
    const s3 = await S3Server.start()
    const withS3 = await createSite({
      siteConfig: `    s3:\n      bucket: ${s3.bucket}\n      prefix: bundle\n      region: us-east-1\n      endpoint: ${s3.endpoint}\n      forcePathStyle: true\n      timeout: 3s\n`,
    })
    try {
      const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
      const run = (...args: string[]) => spawnSync(process.execPath, [path.join(REPO, 'dist/bin/peakguard.js'), '--config', withS3.configFile, ...args], { encoding: 'utf8', env })
      assert.equal(run('snapshot').status, 0)
      const pushed = run('replicate', '--json')
      assert.equal(pushed.status, 0, pushed.stderr)
      assert.equal(JSON.parse(pushed.stdout).upToDate, true)
      assert.equal(JSON.parse(pushed.stdout).pushes.length, 1)
      const verified = run('verify', '--remote', '--json')
      assert.equal(verified.status, 0, verified.stderr)
      assert.ok((await s3.listKeys()).some((o) => o.key.includes('manifests/')), 'no manifest on S3')
    } finally {
      await withS3.cleanup()
      await s3.destroy()
    }
  })

  it('snapshot says when nothing changed; list is newest first in the documented shape', async () => {
    const a = await site.cli(['snapshot', '-m', 'baseline', '--json'])
    assert.deepEqual(Object.keys(a.json).sort(), ['created', 'id', 'skipped', 'summary'])
    assert.equal(a.json.created, true)
    const same = await site.cli(['snapshot'])
    assert.equal(same.code, 0)
    assert.match(same.stdout, new RegExp(`no change since ${a.json.id}: nothing recorded`))
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), '<?php // v2')
    const b = await site.cli(['snapshot', '--json'])
    assert.equal(b.json.summary, 'plugins/hello.php (1 file)')
    const list = (await site.cli(['list', '--json'])).json
    assert.deepEqual(list.map((s: any) => s.id), [b.json.id, a.json.id])
    assert.deepEqual(Object.keys(list[0]).sort(), ['causedBy', 'id', 'knownGood', 'message', 'summary', 'time', 'trigger', 'words'])
    // a snapshot from the CLI is caused by whoever ran it (no users configured: the OS user)
    assert.equal(list[0].causedBy, process.env.SUDO_USER || process.env.USER || 'root')
    assert.equal(list[1].message, 'baseline')
    assert.equal(list[1].trigger, 'manual')
    assert.ok(!Number.isNaN(Date.parse(list[0].time)))
  })

  it('resolves ids: full, prefix, latest, last-good; marks and unmarks known-good states', async () => {
    const a = (await site.cli(['snapshot', '--json'])).json.id
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), '<?php // v2')
    const b = (await site.cli(['snapshot', '--json'])).json.id
    const noGood = await site.cli(['restore', 'last-good', '--dry-run', '--json'])
    assert.equal(noGood.code, 2)
    assert.match(noGood.json.error.message, /no known-good state/)

    assert.equal((await site.cli(['mark-good', a.slice(0, 8), '--note', 'launch baseline'])).code, 0)
    assert.equal((await site.cli(['show', 'last-good', '--json'])).json.id, a)
    assert.equal((await site.cli(['show', 'latest', '--json'])).json.id, b)
    const shown = (await site.cli(['show', a, '--json'])).json
    assert.equal(shown.knownGood, true)
    assert.equal(shown.note, 'launch baseline')
    assert.deepEqual((await site.cli(['list', '--json'])).json.map((s: any) => s.knownGood), [false, true])

    assert.equal((await site.cli(['mark-good', b])).code, 0)
    assert.equal((await site.cli(['show', 'last-good', '--json'])).json.id, b)
    assert.equal((await site.cli(['unmark-good', b])).code, 0)
    assert.equal((await site.cli(['show', 'last-good', '--json'])).json.id, a)
    const again = await site.cli(['unmark-good', b, '--json'])
    assert.equal(again.code, 2)
    assert.match(again.json.error.message, /is not marked known-good/)
  })

  it('diff between states and against the live site, in the documented shape', async () => {
    const a = (await site.cli(['snapshot', '--json'])).json.id
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), '<?php // v2\n')
    fs.rmSync(path.join(site.wpContent, 'mu-plugins/00-loader.php'))
    await site.db.query(`INSERT INTO wp_options (option_name, option_value) VALUES ('new_option', 'x')`)
    const live = await site.cli(['diff', a, '--json'])
    assert.deepEqual(live.json.files, [
      { path: 'mu-plugins/00-loader.php', change: 'removed' },
      { path: 'plugins/hello.php', change: 'modified' },
    ])
    assert.deepEqual(live.json.options, [{ table: 'wp_options', name: 'new_option', change: 'added' }])
    const b = (await site.cli(['snapshot', '--json'])).json.id
    const between = await site.cli(['diff', b, a, '--json'])
    assert.deepEqual(between.json.files.map((f: any) => f.change), ['added', 'modified'])
    const text = await site.cli(['diff', a, b])
    assert.match(text.stdout, /-<\?php\n-\/\* Plugin Name: Hello Dolly \*\/\n\+<\?php \/\/ v2/)
    const png = path.join(site.wpContent, 'themes/storefront/assets/logo.png')
    fs.writeFileSync(png, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]))
    assert.match((await site.cli(['diff', b])).stdout, /Binary or large content differs: themes\/storefront\/assets\/logo\.png \(3000 → 7 bytes\)/)
  })

  it('restore refuses to run without --yes when there is no terminal', async () => {
    await site.cli(['snapshot'])
    const r = await site.cli(['restore', 'latest'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /pass --yes to confirm/)
  })

  it('status reports states, live changes and the journal; option values never appear outside diff', async () => {
    const a = (await site.cli(['snapshot', '--json'])).json.id
    await site.cli(['mark-good', a])
    await site.db.query(`UPDATE wp_options SET option_value = 'a:1:{s:10:"secret_key";s:17:"sk_live_NEWSECRET";}' WHERE option_name = 'woocommerce_stripe_settings'`)
    const s = await site.cli(['status', '--json'])
    assert.equal(s.code, 0, s.stderr)
    assert.equal(s.json.latest.id, a)
    assert.equal(s.json.lastGood.id, a)
    assert.deepEqual(s.json.pendingChanges, { files: 0, options: 1 })
    assert.deepEqual(s.json.journalProblems, [])
    const outputs = [s, await site.cli(['status']), await site.cli(['snapshot']), await site.cli(['list']), await site.cli(['show', 'latest']), await site.cli(['restore', a, '--yes'])]
    for (const o of outputs) assert.doesNotMatch(o.stdout + o.stderr, /sk_live_/)
  })
})
