// The S3 replica against a real S3-compatible server over real HTTP (s3rver as a child process), with a
// fault-injecting TCP proxy between peakguard and the server that also records every request: snapshots
// on host A come back on an empty host B byte for byte; nothing readable reaches S3 when a key is set; a
// wrong key is a clear error; resets, 5xx answers, stalls and an outage lose nothing; the client only
// ever creates objects; a kill -9 in the middle of an upload is finished after the restart.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fastDaemonConfig, isSnapshot, startDaemon, type LogLine, type RunningDaemon } from './harness/daemon.ts'
import { FaultProxy, type Fault, type ProxiedRequest } from './harness/fault-proxy.ts'
import { S3Server } from './harness/s3.ts'
import { createSite, optionRows, runCli, treeOf, type TestSite } from './harness/site.ts'

const SECRET_OPTION = 'sk_live_SECRET123' // in woocommerce_stripe_settings (BASE_OPTIONS)
const SECRET_FILE = 'PEAKGUARD-CANARY-1d8e7f'

/** An s3 block for the site config; `endpoint` is the server or the proxy in front of it. */
function s3Config(endpoint: string, bucket: string, extra: Record<string, string> = {}): string {
  const fields = { bucket, prefix: 'replica-test', region: 'us-east-1', endpoint, forcePathStyle: 'true', timeout: '3s', ...extra }
  return `    s3:\n${Object.entries(fields).map(([k, v]) => `      ${k}: ${v}\n`).join('')}`
}

/** s3rver's fixed credentials, passed the way an operator would: the SDK's environment chain. */
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

/** A directory for key files, removed after the test (keys live off the sites' trees, as on a host). */
const keyDirs: string[] = []
function keyDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-key-'))
  keyDirs.push(d)
  return d
}

function writeKey(dir: string, name: string, fill: number): string {
  const f = path.join(dir, name)
  fs.writeFileSync(f, Buffer.alloc(32, fill), { mode: 0o600 })
  return f
}

function gitLog(dataDir: string, site = 'shop'): string[] {
  const r = spawnSync('git', ['--git-dir', path.join(dataDir, site, 'journal'), 'log', '--format=%H', 'refs/heads/main'], { encoding: 'utf8' })
  assert.equal(r.status, 0, r.stderr)
  return r.stdout.split('\n').filter(Boolean)
}

function gitRefs(dataDir: string, site = 'shop'): string {
  return spawnSync('git', ['--git-dir', path.join(dataDir, site, 'journal'), 'for-each-ref', '--format=%(objectname) %(refname)'], { encoding: 'utf8' }).stdout
}

/** Host B: a second copy of the shop (its own wp-content and database), configured for the same site id and bucket. */
async function hostB(s3: string): Promise<TestSite> {
  return createSite({ siteConfig: s3 })
}

describe('S3 replica', function () {
  let s3: S3Server
  let a: TestSite | null = null
  let b: TestSite | null = null

  before(async () => {
    s3 = await S3Server.start()
  })
  after(async () => {
    await s3?.destroy()
  })
  afterEach(async () => {
    await a?.cleanup()
    await b?.cleanup()
    a = b = null
    for (const d of keyDirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('round trip: snapshots on host A, recover on an empty host B, restore last-good gives identical files and settings', async () => {
    const key = writeKey(keyDir(), 'replica.key', 7)
    a = await createSite({ siteConfig: s3Config(s3.endpoint, s3.bucket, { prefix: 'roundtrip', keyFile: key }) })
    assert.equal((await a.cli(['snapshot', '-m', 'before the campaign'])).code, 0)
    fs.writeFileSync(path.join(a.wpContent, 'plugins/akismet/akismet.php'), `<?php // 5.4 ${SECRET_FILE}\n`)
    await a.db.query(`UPDATE wp_options SET option_value = 'Campaign Shop – Night Sale' WHERE option_name = 'blogname'`)
    const good = await a.cli(['snapshot', '-m', 'campaign ready', '--json'])
    assert.equal(good.code, 0, good.stderr)
    assert.equal((await a.cli(['mark-good', good.json.id, '--note', 'checked by QA'])).code, 0)
    const goodFiles = treeOf(a.wpContent)
    const goodOptions = await optionRows(a.db, 'wp_options')
    // the 3 a.m. change, recorded after the known-good one
    fs.writeFileSync(path.join(a.wpContent, 'themes/storefront/functions.php'), '<?php broken(\n')
    await a.db.query(`UPDATE wp_options SET option_value = 'twentytwentyfour' WHERE option_name = 'template'`)
    assert.equal((await a.cli(['snapshot', '-m', '3 a.m. change'])).code, 0)

    const rep = await a.cli(['replicate', '--wait', '--json'], CREDS)
    assert.equal(rep.code, 0, rep.stderr)
    assert.ok(rep.json.pushes.length >= 1)
    assert.equal((await a.cli(['replicate', '--json'], CREDS)).json.pushes.length, 0, 'a second replicate has nothing to push')

    // host B: an empty data directory, the same config for the site (bucket, prefix, key)
    b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'roundtrip', keyFile: key }))
    const rec = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', b.dataDir, '--json'], CREDS)
    assert.equal(rec.code, 0, rec.stderr + rec.stdout)
    assert.equal(rec.json.commits, 3)
    assert.equal(rec.json.marks, 1)
    assert.deepEqual(gitLog(b.dataDir), gitLog(a.dataDir), 'B has the same commits')
    assert.equal(gitRefs(b.dataDir), gitRefs(a.dataDir), 'B has the same refs (snapshots and known-good marks)')
    // the audit log came along (refs/peakguard/audit): the same entries, and its chain verifies on B
    const hashes = async (site: { cli: TestSite["cli"] }) => ((await site.cli(['--json', 'audit'], CREDS)).json.entries as { hash: string }[]).map((e) => e.hash)
    const auditA = await hashes(a)
    assert.ok(auditA.length >= 4, `A's audit log has the snapshots and the mark (${auditA.length})`)
    assert.deepEqual(await hashes(b), auditA)
    assert.equal((await b.cli(['audit', 'verify'], CREDS)).code, 0)

    const restored = await b.cli(['restore', 'last-good', '--yes', '--json'], CREDS)
    assert.equal(restored.code, 0, restored.stderr)
    assert.equal(restored.json.verified, true)
    assert.deepEqual(treeOf(b.wpContent), goodFiles, 'files byte-identical to the known-good state')
    assert.deepEqual(await optionRows(b.db, 'wp_options'), goodOptions, 'settings identical to the known-good state')

    // the recovered journal goes on: B's next snapshot is pushed on top of the recovered chain
    const more = await b.cli(['replicate', '--wait', '--json'], CREDS)
    assert.equal(more.code, 0, more.stderr)
    assert.equal(more.json.pushes.length, 1, 'the restore on B (safety snapshot and restore commit) is pushed')
    const v = await b.cli(['verify', '--remote', '--read-data', '--json'], CREDS)
    assert.equal(v.code, 0, v.stdout + v.stderr)
    assert.equal(v.json.remote.readData.commits, 5)

    // an audit entry rewritten on A — even with every later hash recomputed, which the chain alone cannot
    // see — no longer matches the copy already stored: replication stops and says so
    const auditFile = path.join(a.dataDir, 'shop', 'audit', 'audit.jsonl')
    const entries = fs.readFileSync(auditFile, 'utf8').split('\n').filter(Boolean)
    entries[0] = entries[0]!.replace(/"actor":"[^"]*"/, '"actor":"someone-else"')
    fs.writeFileSync(auditFile, `${entries.join('\n')}\n`)
    assert.equal((await a.cli(['snapshot', '-m', 'after the edit'])).code, 0)
    const refused = await a.cli(['replicate'], CREDS)
    assert.notEqual(refused.code, 0)
    assert.match(refused.stderr, /no longer holds audit\.jsonl as it was stored/)

    // a manifest planted with a higher number (by whoever held a host's credentials): recovery says so and
    // names the one before it, which --manifest uses
    const { PutObjectCommand } = await import('@aws-sdk/client-s3')
    await s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'roundtrip/shop/manifests/9999999999-0123456789abcdef.json', Body: 'PGS1 not a manifest' }))
    const planted = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', fs.mkdtempSync(path.join(b.base, 'c-')), '--json'], CREDS)
    assert.equal(planted.code, 4, planted.stderr)
    const prev = /the one before it is (manifests\/\d{10}-[0-9a-f]{16}\.json) \(peakguard recover --from-s3 --manifest \1\)/.exec(planted.stderr)
    assert.ok(prev, planted.stderr)
    const chosen = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', fs.mkdtempSync(path.join(b.base, 'c-')), '--manifest', prev[1]!, '--json'], CREDS)
    assert.equal(chosen.code, 0, chosen.stderr)
    assert.equal(chosen.json.commits, 5)
  })

  it('encryption: no object holds an option value or file content in clear text; a wrong or missing key is a clear error', async () => {
    const keys = keyDir()
    const key = writeKey(keys, 'replica.key', 1)
    a = await createSite({ siteConfig: s3Config(s3.endpoint, s3.bucket, { prefix: 'sealed', keyFile: key }) })
    fs.writeFileSync(path.join(a.wpContent, 'plugins/akismet/readme.txt'), `${SECRET_FILE}\n`.repeat(50))
    assert.equal((await a.cli(['snapshot'])).code, 0)
    assert.equal((await a.cli(['mark-good', 'latest'])).code, 0)
    const rep = await a.cli(['replicate', '--wait', '--json'], CREDS)
    assert.equal(rep.code, 0, rep.stderr)

    const objects = await s3.listKeys('sealed/')
    assert.ok(objects.some((o) => o.key.includes('/bundles/')) && objects.some((o) => o.key.includes('/manifests/')), JSON.stringify(objects))
    for (const o of objects) {
      const bytes = await s3.getBytes(o.key)
      for (const needle of [SECRET_OPTION, SECRET_FILE, 'woocommerce_stripe_settings', 'refs/heads/main', 'PACK', '# v2 git bundle'])
        assert.equal(bytes.includes(needle), false, `${o.key} contains ${needle} in clear text`)
      assert.equal(bytes.subarray(0, 4).toString(), 'PGS1')
    }
    // and without encryption the same check finds the secret: the check can fail
    b = await createSite({ siteConfig: s3Config(s3.endpoint, s3.bucket, { prefix: 'plain' }) })
    assert.equal((await b.cli(['snapshot'])).code, 0)
    assert.equal((await b.cli(['replicate', '--wait'], CREDS)).code, 0)
    const plain = await Promise.all((await s3.listKeys('plain/')).map((o) => s3.getBytes(o.key)))
    assert.ok(plain.some((x) => x.includes('refs/heads/main')), 'an unencrypted manifest is readable')
    // a key added later: the next push is a fresh sealed full bundle, and prune removes the plain objects
    fs.writeFileSync(b.configFile, fs.readFileSync(b.configFile, 'utf8').replace('      prefix: plain\n', `      prefix: plain\n      keyFile: ${key}\n`))
    fs.writeFileSync(path.join(b.wpContent, 'plugins/akismet/akismet.php'), '<?php // 5.5\n')
    assert.equal((await b.cli(['snapshot'])).code, 0)
    const sealed = await b.cli(['replicate', '--wait', '--json'], CREDS)
    assert.equal(sealed.code, 0, sealed.stderr)
    assert.equal(sealed.json.pushes[0].bundle.full, true)
    const pruned = await b.cli(['prune', '--keep-days', '0', '--yes', '--json'], CREDS)
    assert.equal(pruned.code, 0, pruned.stderr)
    for (const o of await s3.listKeys('plain/')) assert.equal((await s3.getBytes(o.key)).subarray(0, 4).toString(), 'PGS1', `${o.key} is sealed`)
    await b.cleanup()

    // a wrong key on recovery
    const wrong = writeKey(keys, 'wrong.key', 2)
    b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'sealed', keyFile: wrong }))
    const r = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', b.dataDir], CREDS)
    assert.equal(r.code, 2, r.stderr)
    assert.match(r.stderr, /wrong replica key: .*manifests\/\d{10}-[0-9a-f]+\.json was encrypted with key id [0-9a-f]{16}, the configured key has id [0-9a-f]{16}/)
    assert.equal(fs.existsSync(path.join(b.dataDir, 'shop', 'journal')) && fs.readdirSync(path.join(b.dataDir, 'shop', 'journal')).length > 0, false, 'nothing half-made is left')
    // no key at all
    const none = await runWithout(b, s3Config(s3.endpoint, s3.bucket, { prefix: 'sealed' }))
    assert.equal(none.code, 2, none.stderr)
    assert.match(none.stderr, /is encrypted: configure the replica key \(s3\.keyFile or PEAKGUARD_S3_KEY\)/)
    // the same key through the environment works
    const env = await runWithout(b, s3Config(s3.endpoint, s3.bucket, { prefix: 'sealed' }), { PEAKGUARD_S3_KEY: Buffer.alloc(32, 1).toString('hex') })
    assert.equal(env.code, 0, env.stderr)
    // a key file other users can read is refused before anything is sent
    fs.chmodSync(key, 0o644)
    const open = await a.cli(['replicate'], CREDS)
    assert.equal(open.code, 2)
    assert.match(open.stderr, /can be read by other users \(mode 644\): chmod 600/)
  })

  it('init --s3-* configures the replica; verify --remote notices a missing object and --read-data an altered one', async () => {
    const key = writeKey(keyDir(), 'replica.key', 6)
    a = await createSite()
    const cfg = path.join(a.base, 'etc/peakguard.yaml')
    const bad = await runCli(['init', '--wp-root', a.wpRoot, '--site-id', 'shop', '--config', cfg, '--s3-prefix', 'x'])
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /the --s3-\* options need --s3-bucket/)
    assert.equal(fs.existsSync(cfg), false, 'nothing written')
    const init = await runCli(
      ['init', '--wp-root', a.wpRoot, '--site-id', 'shop', '--data-dir', path.join(a.base, 'journals'), '--config', cfg, '--json',
        '--s3-bucket', s3.bucket, '--s3-prefix', 'verify', '--s3-endpoint', s3.endpoint, '--s3-path-style', '--s3-key-file', key, '--s3-region', 'eu-central-1'],
      CREDS,
    )
    assert.equal(init.code, 0, init.stderr)
    assert.deepEqual(init.json.s3, { location: `s3://${s3.bucket}/verify/shop/`, encrypted: true, check: 'reachable' })
    const env = { ...CREDS, PEAKGUARD_CONFIG: cfg }
    assert.equal((await runCli(['snapshot'], env)).code, 0)
    // what waiting cannot fix fails at once, naming the fix, even with --wait
    const wrongBucket = path.join(a.base, 'wrong-bucket.yaml')
    fs.writeFileSync(wrongBucket, fs.readFileSync(cfg, 'utf8').replace(`bucket: ${s3.bucket}`, 'bucket: no-such-bucket'))
    const started = Date.now()
    const nb = await runCli(['replicate', '--wait', '--timeout', '10m'], { ...CREDS, PEAKGUARD_CONFIG: wrongBucket })
    assert.equal(nb.code, 1, nb.stderr)
    assert.match(nb.stderr, /NoSuchBucket.*create the bucket no-such-bucket first/)
    assert.ok(Date.now() - started < 20_000, 'no 10-minute wait')
    assert.equal((await runCli(['replicate', '--wait'], env)).code, 0)
    const ok = await runCli(['verify', '--remote', '--read-data', '--json'], env)
    assert.equal(ok.code, 0, ok.stdout + ok.stderr)
    assert.equal(ok.json.remote.behind, 0)
    fs.writeFileSync(path.join(a.wpContent, 'plugins/akismet/akismet.php'), '<?php // 5.5\n')
    assert.equal((await runCli(['snapshot', '-m', 'not pushed yet'], { PEAKGUARD_CONFIG: cfg, ...Object.fromEntries(Object.keys(CREDS).map((k) => [k, ''])) })).code, 0)
    const behind = await runCli(['verify', '--remote', '--json'], env)
    assert.equal(behind.code, 0, behind.stdout)
    assert.equal(behind.json.remote.behind, 1, 'a snapshot not pushed yet is reported, not a failure')
    assert.equal(behind.json.local.pending, true)

    // one bit flipped in the stored bundle (same size): only reading the data can tell
    const obj = (await s3.listKeys('verify/shop/bundles/'))[0]!
    const bytes = await s3.getBytes(obj.key)
    bytes[bytes.length >> 1]! ^= 1
    const client = s3.client()
    const { PutObjectCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3')
    await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: obj.key, Body: bytes }))
    assert.equal((await runCli(['verify', '--remote'], env)).code, 0, 'sizes alone look fine')
    const altered = await runCli(['verify', '--remote', '--read-data'], env)
    assert.equal(altered.code, 4, altered.stdout)
    assert.match(altered.stdout, /PROBLEM .*bundles\/\d{10}-[0-9a-f]+\.full\.bundle does not open with the configured key: it was encrypted with another key, or altered/)
    await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: obj.key }))
    const missing = await runCli(['verify', '--remote', '--json'], env)
    assert.equal(missing.code, 4)
    assert.match(missing.json.remote.problems.join(), /bundles\/\d{10}-[0-9a-f]+\.full\.bundle is missing \(manifest manifests\/\d{10}-[0-9a-f]+\.json needs it\)/)
  })

  it('an increment never carries content the replica already has: a rollback pushes almost nothing, and recovers byte for byte', async () => {
    a = await createSite({ siteConfig: s3Config(s3.endpoint, s3.bucket, { prefix: 'dedup' }) })
    const big = path.join(a.wpContent, 'plugins/akismet/vendor.js')
    fs.writeFileSync(big, randomBytes(1 << 20).toString('base64'))
    const v1 = await a.cli(['snapshot', '-m', 'v1', '--json'])
    const first = await a.cli(['replicate', '--json'], CREDS)
    assert.equal(first.code, 0, first.stderr)
    const v1Files = treeOf(a.wpContent)
    fs.writeFileSync(big, randomBytes(1 << 20).toString('base64'))
    const v2 = await a.cli(['snapshot', '-m', 'v2', '--json'])
    // a mark on a state that is not on the remote yet must not be taken for one that is
    assert.equal((await a.cli(['mark-good', v2.json.id])).code, 0)
    fs.writeFileSync(path.join(a.wpContent, 'plugins/akismet/akismet.php'), '<?php // v3\n')
    assert.equal((await a.cli(['snapshot', '-m', 'v3'])).code, 0)
    const update = await a.cli(['replicate', '--json'], CREDS)
    assert.ok(update.json.pushes[0].bundle.size > 1_000_000, `the update carries the new 1.3 MB file (${update.json.pushes[0].bundle.size} bytes)`)
    // back to v1: its content was pushed two pushes ago, not by the previous one
    assert.equal((await a.cli(['restore', v1.json.id, '--yes'])).code, 0)
    const rollback = await a.cli(['replicate', '--json'], CREDS)
    assert.equal(rollback.code, 0, rollback.stderr)
    assert.ok(rollback.json.pushes[0].bundle.size < 20_000, `a rollback carries commits and trees, not the file again (${rollback.json.pushes[0].bundle.size} bytes)`)

    b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'dedup' }))
    const rec = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', b.dataDir, '--json'], CREDS)
    assert.equal(rec.code, 0, rec.stderr)
    assert.deepEqual(gitLog(b.dataDir), gitLog(a.dataDir))
    assert.equal(gitRefs(b.dataDir), gitRefs(a.dataDir))
    assert.equal((await b.cli(['restore', 'latest', '--yes'])).code, 0)
    assert.deepEqual(treeOf(b.wpContent), v1Files)
  })

  it('never pushes another history over the replica (a second journal with the same site and prefix, a wiped journal); a lost replica.json is taken over', async () => {
    a = await createSite({ siteConfig: s3Config(s3.endpoint, s3.bucket, { prefix: 'onehistory' }) })
    assert.equal((await a.cli(['snapshot'])).code, 0)
    assert.equal((await a.cli(['replicate', '--wait'], CREDS)).code, 0)

    b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'onehistory' }))
    assert.equal((await b.cli(['snapshot'])).code, 0)
    const other = await b.cli(['replicate'], CREDS)
    assert.equal(other.code, 4, other.stderr)
    assert.match(other.stderr, /already holds 1 push\(es\) of another history \(its newest snapshot [0-9a-f]{12} is not in this journal\): refusing to mix two histories/)

    // replica.json lost (the journal intact): the same history, so a fresh full bundle takes over, after the others
    fs.rmSync(path.join(a.dataDir, 'shop', 'replica.json'))
    fs.writeFileSync(path.join(a.wpContent, 'plugins/akismet/akismet.php'), '<?php // after the loss\n')
    assert.equal((await a.cli(['snapshot'])).code, 0)
    const again = await a.cli(['replicate', '--json'], CREDS)
    assert.equal(again.code, 0, again.stderr)
    assert.equal(again.json.pushes[0].bundle.full, true)
    const v = await a.cli(['verify', '--remote', '--read-data', '--json'], CREDS)
    assert.equal(v.code, 0, v.stdout)
    assert.equal(v.json.remote.manifest, again.json.pushes[0].manifestKey, 'the newest manifest is the new push')
    const before = await s3.listKeys('onehistory/')

    // host A's journal wiped (or replaced) and started afresh
    fs.rmSync(path.join(a.dataDir, 'shop', 'journal'), { recursive: true })
    assert.equal((await a.cli(['snapshot'])).code, 0)
    const wiped = await a.cli(['replicate'], CREDS)
    assert.equal(wiped.code, 4, wiped.stderr)
    assert.match(wiped.stderr, /this journal does not continue the history on s3:\/\/.*onehistory\/shop\/ .*refusing to push over it/)
    assert.deepEqual(await s3.listKeys('onehistory/'), before, 'nothing was written')
  })

  describe('through a faulty network', () => {
    let proxy: FaultProxy
    let daemon: RunningDaemon | null = null
    beforeEach(async () => {
      if (!s3.running) await s3.restart()
      proxy = await FaultProxy.start({ host: '127.0.0.1', port: s3.port })
    })
    afterEach(async () => {
      await daemon?.stop('SIGKILL')
      daemon = null
      await proxy.close()
    })

    it('resets, 5xx answers, stalls and the server down for a while: no snapshot lost, the queue drains, the lag rose and fell', async () => {
      const key = writeKey(keyDir(), 'replica.key', 3)
      a = await createSite({ siteConfig: fastDaemonConfig(s3Config(proxy.endpoint, s3.bucket, { prefix: 'faults', keyFile: key, timeout: '1500ms', retryMax: '2s', lagAlert: '4s' })) })
      daemon = await startDaemon(a, CREDS)
      await daemon.waitFor(isReplicated, 30_000)
      // the first snapshot's audit entry follows it by milliseconds, and may need a push of its own
      await until(async () => (await lagMetric(daemon!)) === 0, 10_000, 'the first snapshot and its audit entry replicated')

      // reset-after-request: the server stores the object and the answer is lost, so the retry must not
      // write that key again; stall: the held request reaches the server late, after its retry
      const faults: (Fault | 'server down')[] = [{ kind: 'reset' }, { kind: 'reset-after-request' }, { kind: 'status', status: 503 }, { kind: 'stall', ms: 5000 }, { kind: 'refuse' }, 'server down']
      let maxLag = 0
      for (const [i, fault] of faults.entries()) {
        if (fault === 'server down') await s3.stop()
        else await proxy.setFault(fault)
        const from = daemon.lines.length
        fs.writeFileSync(path.join(a.wpContent, 'plugins/akismet/akismet.php'), `<?php // fault ${i}\n`)
        await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'watch', 15_000, from)
        const failed = await daemon.waitFor(isPushFailure, 20_000, from)
        assert.equal(failed.code, 'S3_FAILED', JSON.stringify(failed))
        // the local snapshots go on while the remote is unreachable
        const next = daemon.lines.length
        await a.db.query(`UPDATE wp_options SET option_value = ? WHERE option_name = 'blogname'`, [`Shop ${i}`])
        await daemon.waitFor((l) => isSnapshot(l) && l.trigger === 'poll', 15_000, next)
        await sleep(fault === 'server down' ? 5000 : 1500)
        maxLag = Math.max(maxLag, await lagMetric(daemon))
        assert.ok((await lagMetric(daemon)) > 0, `the lag shows the outage (${JSON.stringify(fault)})`)
        const healed = daemon.lines.length
        if (fault === 'server down') await s3.restart()
        else await proxy.setFault({ kind: 'none' })
        await daemon.waitFor(isReplicated, 30_000, healed)
      }
      // the longest outage (> lagAlert) raised the alert, and it cleared
      await daemon.waitFor((l) => l.msg.startsWith('ALERT: replication lag'))
      await daemon.waitFor((l) => l.msg === 'replication lag back below s3.lagAlert')
      await sleep(1500)
      assert.equal(await lagMetric(daemon), 0, 'the lag fell back to 0 once the queue drained')
      assert.ok(maxLag >= 1, `the lag rose (max ${maxLag} s)`)
      const status = (await (await fetch(`${daemon.url}/api/status`)).json()) as any
      assert.equal(status.sites[0].replica.lagSeconds, 0)
      assert.equal(status.sites[0].replica.lastError, null)

      // nothing lost: everything on host A is on S3, and comes back on host B
      await daemon.stop()
      daemon = null
      b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'faults', keyFile: key }))
      const rec = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', b.dataDir, '--json'], CREDS)
      assert.equal(rec.code, 0, rec.stderr)
      assert.deepEqual(gitLog(b.dataDir), gitLog(a.dataDir))
      assert.ok(gitLog(a.dataDir).length >= 1 + 2 * faults.length)
      assert.equal(proxy.requests.filter((r) => r.method === 'DELETE').length, 0)
      for (const [k, n] of storedPuts(proxy.requests)) assert.equal(n, 1, `${k} was stored ${n} times: ${JSON.stringify(proxy.requests.filter((r) => r.key === k))}`)
      // stricter: every attempt, failed or not, used a key of its own
      const sent = proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.key)
      assert.equal(new Set(sent).size, sent.length, 'a key was sent twice')
    })

    it('append-only over a long run: only new keys, never a DELETE; compaction writes a full bundle; prune deletes only what it supersedes', async () => {
      const key = writeKey(keyDir(), 'replica.key', 4)
      a = await createSite({ siteConfig: s3Config(proxy.endpoint, s3.bucket, { prefix: 'append', keyFile: key, compactAfter: '6', sse: 'AES256' }) })
      const goods: string[] = []
      for (let i = 0; i < 16; i++) {
        fs.writeFileSync(path.join(a.wpContent, `plugins/akismet/v${i % 3}.php`), `<?php // ${i}\n`)
        await a.db.query(`UPDATE wp_options SET option_value = ? WHERE option_name = 'blogname'`, [`Shop ${i}`])
        const snap = await a.cli(['snapshot', '--json'])
        assert.equal(snap.code, 0, snap.stderr)
        if (i % 4 === 0) {
          assert.equal((await a.cli(['mark-good', snap.json.id])).code, 0)
          goods.push(snap.json.id)
        }
        if (i === 9) assert.equal((await a.cli(['unmark-good', goods.shift()!])).code, 0) // a removed mark travels too
        const rep = await a.cli(['replicate', '--json'], CREDS)
        assert.equal(rep.code, 0, rep.stderr)
      }
      const puts = proxy.requests.filter((r) => r.method === 'PUT')
      assert.ok(puts.length >= 32, `${puts.length} PUTs`)
      assert.equal(new Set(puts.map((r) => r.key)).size, puts.length, 'no key written twice')
      assert.ok(puts.every((r) => r.status === 200))
      for (const r of puts) {
        assert.equal(r.headers['x-amz-server-side-encryption'], 'AES256', 'SSE-S3 asked for as configured')
        assert.equal(r.headers['if-none-match'], '*', 'never overwrite, where the server honours it')
        assert.match(r.headers['content-md5'] ?? '', /^[A-Za-z0-9+/]{22}==$/, 'an integrity checksum, which Object Lock buckets require')
        assert.equal(r.headers['content-encoding'], undefined, 'no aws-chunked framing (checksums only WHEN_REQUIRED)')
        assert.ok(!Object.keys(r.headers).some((h) => h.startsWith('x-amz-checksum-')), 'no checksum the server was not asked for')
      }
      assert.deepEqual(proxy.requests.filter((r) => !['PUT', 'GET', 'HEAD'].includes(r.method)), [], 'no DELETE (or anything else) in normal operation')
      const objects = await s3.listKeys('append/')
      const fulls = objects.filter((o) => o.key.endsWith('.full.bundle'))
      assert.ok(fulls.length >= 2, `compaction wrote a fresh full bundle: ${objects.map((o) => o.key).join(' ')}`)

      const v = await a.cli(['verify', '--remote', '--read-data', '--json'], CREDS)
      assert.equal(v.code, 0, v.stdout)
      const dry = await a.cli(['prune', '--keep-days', '0', '--dry-run', '--json'], CREDS)
      assert.equal(dry.code, 0, dry.stderr)
      assert.ok(dry.json.remove.length > 0)
      assert.equal((await s3.listKeys('append/')).length, objects.length, 'a dry run deletes nothing')
      assert.equal((await a.cli(['prune', '--keep-days', '30', '--yes', '--json'], CREDS)).json.remove.length, 0, 'young objects are kept')
      const before = proxy.requests.length
      const pr = await a.cli(['prune', '--keep-days', '0', '--yes', '--json'], CREDS)
      assert.equal(pr.code, 0, pr.stderr)
      const deleted = proxy.requests.slice(before).filter((r) => r.method === 'DELETE').map((r) => r.key.replace(/^[^/]+\//, ''))
      assert.deepEqual(deleted.sort(), pr.json.remove.map((o: any) => o.key).map((k: string) => `append/shop/${k}`).sort())
      const newestFull = fulls.at(-1)!.key
      assert.ok(!deleted.includes(newestFull), 'the full bundle the chain rests on is kept')

      // every state and every known-good mark is still recoverable
      b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'append', keyFile: key }))
      const rec = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', b.dataDir, '--json'], CREDS)
      assert.equal(rec.code, 0, rec.stderr)
      assert.deepEqual(gitLog(b.dataDir), gitLog(a.dataDir))
      assert.equal(gitRefs(b.dataDir), gitRefs(a.dataDir))
      assert.equal(rec.json.marks, goods.length)
    })

    it('kill -9 during an upload: after the restart the push completes, with no state missing or stored twice', async () => {
      const key = writeKey(keyDir(), 'replica.key', 5)
      a = await createSite({ siteConfig: fastDaemonConfig(s3Config(proxy.endpoint, s3.bucket, { prefix: 'killed', keyFile: key, timeout: '60s' })) })
      daemon = await startDaemon(a, CREDS)
      await daemon.waitFor(isReplicated, 30_000)
      // a plugin with a large file: its bundle goes up in parts; the network holds every byte
      await proxy.setFault({ kind: 'stall', ms: 120_000 })
      const from = daemon.lines.length
      const big = randomBytes(24 * 1024 * 1024) // incompressible: the bundle stays above the 16 MB multipart threshold
      fs.mkdirSync(path.join(a.wpContent, 'plugins/big'), { recursive: true })
      fs.writeFileSync(path.join(a.wpContent, 'plugins/big/data.bin'), big)
      await daemon.waitFor((l) => isSnapshot(l), 30_000, from)
      const deadline = Date.now() + 20_000
      while (!proxy.requests.some((r) => r.key.includes('/bundles/') && r.status === null) && Date.now() < deadline) await sleep(50)
      assert.ok(proxy.requests.some((r) => r.key.includes('/bundles/') && r.status === null), 'the upload was under way')
      await daemon.stop('SIGKILL')
      await proxy.setFault({ kind: 'none' })

      daemon = await startDaemon(a, CREDS)
      const done = await daemon.waitFor(isReplicated, 60_000)
      assert.ok(Number(done.bytes) > big.length, 'the big bundle went up after the restart')
      const parts = proxy.requests.filter((r) => r.method === 'PUT' && r.query.includes('partNumber=') && r.status === 200)
      assert.ok(parts.length >= 3, 'in parts (multipart upload)')
      for (const p of parts) {
        assert.match(p.headers['x-amz-checksum-crc32'] ?? '', /^[A-Za-z0-9+/]{6}==$/, 'each part with its checksum, as a header')
        assert.equal(p.headers['content-encoding'], undefined, 'no aws-chunked framing')
      }
      await daemon.stop()
      daemon = null
      const manifests = (await s3.listKeys('killed/shop/manifests/')).map((o) => Number(/(\d{10})-/.exec(o.key)![1]))
      // one manifest per push — the initial state, the big plugin, and the initial snapshot's audit entry when
      // it missed its snapshot's push (the kill may cut that push short too: it is resumed, not redone) —
      // and none twice (every key below is stored once)
      assert.ok(manifests.length >= 2 && manifests.length <= 3, `the initial state and the big plugin (${manifests.length} manifests)`)
      assert.ok(manifests[0]! < manifests[1]!, 'numbered in push order')
      for (const [k, n] of storedPuts(proxy.requests)) assert.equal(n, 1, `${k} was stored ${n} times`)

      b = await hostB(s3Config(s3.endpoint, s3.bucket, { prefix: 'killed', keyFile: key }))
      const rec = await b.cli(['recover', '--from-s3', '--site', 'shop', '--data-dir', b.dataDir, '--json'], CREDS)
      assert.equal(rec.code, 0, rec.stderr)
      assert.deepEqual(gitLog(b.dataDir), gitLog(a.dataDir))
      assert.equal(fs.readFileSync(path.join(a.dataDir, 'shop/replica.json'), 'utf8').includes('"prepared": null'), true)
    })
  })
})

/** The replication lag the daemon reports in /metrics. */
async function lagMetric(d: RunningDaemon): Promise<number> {
  const text = await (await fetch(`${d.url}/metrics`)).text()
  const m = /^peakguard_replication_lag_seconds\{site="shop"\} (\S+)$/m.exec(text)
  assert.ok(m, 'no replication lag in /metrics')
  return Number(m[1])
}

/** PUT requests that the server stored (2xx), by key. */
function storedPuts(reqs: ProxiedRequest[]): Map<string, number> {
  const n = new Map<string, number>()
  for (const r of reqs) if (r.method === 'PUT' && r.status !== null && r.status < 300 && !/partNumber=/.test(r.query)) n.set(r.key, (n.get(r.key) ?? 0) + 1)
  return n
}

const isReplicated = (l: LogLine) => l.msg === 'replicated' || l.msg.startsWith('replicated after')
const isPushFailure = (l: LogLine) => l.msg.startsWith('replication failed')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
    await sleep(100)
  }
}

/** Recover on host B with another s3 block, into a fresh data directory. */
async function runWithout(b: TestSite, s3: string, env: Record<string, string> = {}) {
  const cfg = fs.readFileSync(b.configFile, 'utf8').replace(/    s3:\n(?: {6}.*\n)+/, s3)
  const file = path.join(b.base, `alt-${Math.random().toString(36).slice(2)}.yaml`)
  fs.writeFileSync(file, cfg)
  const dir = fs.mkdtempSync(path.join(b.base, 'data-'))
  return runCli(['--config', file, 'recover', '--from-s3', '--site', 'shop', '--data-dir', dir], { ...CREDS, ...env })
}
