// The pull side of a fleet's shared journal, against a real S3-compatible server (s3rver) and real git
// journals: three copies of one site under different data directories, as three web nodes keep them, write
// one journal in turn through the replica. A node takes what the others pushed (bundles, refs, the audit
// folder) and its next push continues their chain; a node with a snapshot of its own that is not on the
// replica never pulls over it nor pushes over theirs; a compacted chain, a planted or damaged manifest.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DeleteObjectCommand } from '@aws-sdk/client-s3'
import type { ResolvedSite } from '../src/config.ts'
import { openReplica } from '../src/compose/sites.ts'
import { emptyState, type JournalPort, type LogPort, type Manifest, type MetricsPort, type SiteState } from '../src/core/index.ts'
import { PeakguardError } from '../src/errors.ts'
import { newestManifest, pullFromRemote, pushNow, pushOnce, Replicator, type ReplicaSite } from '../src/services/index.ts'
import { commitRequest, enc, first, plain, type Fixture } from './contracts/states.ts'
import { S3Server } from './harness/s3.ts'
import { blobId } from './memory/blob-id.ts'

/** s3rver's fixed credentials, through the SDK's environment chain as an operator would give them. */
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
const SITE = 'shop'

type Node = ReplicaSite & { close(): Promise<void>; dataDir: string; name: string }

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof PeakguardError, String(e))
  assert.equal(e.code, code, e.message)
  if (re) assert.match(e.message, re)
  return true
}

describe('fleet journal: pulling what other nodes pushed (S3, real git)', function () {
  this.timeout(120_000)
  let s3: S3Server
  let tmp: string
  let keyFile: string
  let saved: Record<string, string | undefined>
  const open: Node[] = []
  let staged = 0

  before(async () => {
    s3 = await S3Server.start()
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-sync-'))
    keyFile = path.join(tmp, 'replica.key')
    fs.writeFileSync(keyFile, Buffer.alloc(32, 5), { mode: 0o600 })
    fs.mkdirSync(path.join(tmp, 'staged'))
    saved = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY }
    Object.assign(process.env, CREDS)
  })
  after(async () => {
    await s3?.destroy()
    for (const [k, v] of Object.entries(saved ?? {})) if (v === undefined) delete process.env[k]
    else process.env[k] = v
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true })
  })
  afterEach(async () => {
    for (const n of open.splice(0)) await n.close()
  })

  let prefixes = 0
  /** A fresh folder on the replica for one test: its nodes share it. */
  const newPrefix = () => `sync-${++prefixes}`

  /** One node's copy of the site: its own data directory (journal, replica.json, audit folder), the shared replica. */
  async function node(name: string, prefix: string, o: { compactAfter?: number; guard?: ReplicaSite['guard'] } = {}): Promise<Node> {
    const dataDir = path.join(tmp, prefix, name)
    const site = {
      id: SITE,
      dataDir,
      s3: { bucket: s3.bucket, prefix, region: 'us-east-1', endpoint: s3.endpoint, forcePathStyle: true, keyFile, sse: 'none', kmsKeyId: null, timeout: 10_000, lagAlert: 300_000, retryMax: 300_000, compactAfter: o.compactAfter ?? 1000 },
    } as unknown as ResolvedSite
    const r = await openReplica(site)
    assert.ok(r)
    const n: Node = Object.assign(r, { dataDir, name }, o.guard ? { guard: o.guard } : {})
    open.push(n)
    return n
  }

  function stage(bytes: Uint8Array): string {
    const f = path.join(tmp, 'staged', String(++staged))
    fs.writeFileSync(f, bytes)
    return f
  }

  /** A real snapshot: the first one is the contract suite's rich state, every later one adds a plugin file. */
  async function commit(n: Node, label: string): Promise<string> {
    const j = n.journal as JournalPort
    const parent = await j.head()
    const trailers = { 'Peakguard-Site': SITE, 'Peakguard-Trigger': 'manual', 'Peakguard-Node': n.name }
    if (!parent) return j.commit(commitRequest(null, emptyState(), first(), stage, label, trailers))
    const from = await j.readState(parent)
    const file = `plugins/${label}/${label}.php`
    const bytes = enc(`<?php // ${label} written on ${n.name}\n`)
    const state: SiteState = { ...from, files: new Map(from.files), links: new Map(from.links), options: new Map(from.options), dirs: from.dirs && new Map(from.dirs) }
    state.files.set(file, { path: file, kind: 'file', blob: blobId(bytes), mode: 0o644, uid: 0, gid: 0 })
    const to: Fixture = { state, content: new Map([[file, bytes]]), values: new Map() }
    return j.commit(commitRequest(parent, from, to, stage, label, trailers))
  }

  const ids = async (n: Node) => (await n.journal.log()).map((c) => c.id)
  const manifests = async (prefix: string) => (await s3.listKeys(`${prefix}/${SITE}/manifests/`)).map((o) => o.key)
  const scratchLeft = (n: Node) => (fs.existsSync(path.join(n.dataDir, 'replica')) ? fs.readdirSync(path.join(n.dataDir, 'replica')).filter((f) => f.startsWith('scratch-')) : [])
  const newest = async (n: Node): Promise<Manifest> => (await newestManifest(n.store, SITE))!.manifest

  it('B takes what A pushed (commits, refs, blobs), commits on top and pushes the same chain on; A takes it; nothing new is a no-op', async () => {
    const prefix = newPrefix()
    const a = await node('a', prefix)
    const b = await node('b', prefix)
    // before anything was pushed: nothing to take
    assert.deepEqual(await pullFromRemote(b), { moved: false, seq: null, head: null, bundles: 0, bytes: 0 })

    const a1 = await commit(a, 'first')
    await a.journal.mark(a1, 'checked by QA')
    const a2 = await commit(a, 'akismet')
    const pushedA = await pushOnce(a)
    assert.equal(pushedA.pushed, true)

    const pulled = await pullFromRemote(b)
    assert.equal(pulled.moved, true)
    assert.equal(pulled.seq, pushedA.seq)
    assert.equal(pulled.head, a2)
    assert.equal(pulled.bundles, 1)
    assert.ok(pulled.bytes > 0)
    assert.equal(await b.journal.head(), a2)
    assert.deepEqual(await b.journal.refs(), await a.journal.refs(), 'the same refs: branch, known-good mark')
    assert.deepEqual(await ids(b), [a2, a1])
    assert.deepEqual((await b.journal.marks()).map((m) => [m.id, m.note]), [[a1, 'checked by QA']])
    // the states and their bytes, read from B's own journal
    const stateB = await b.journal.readState(a2)
    assert.deepEqual(plain(stateB), plain(await a.journal.readState(a2)))
    const wanted = ['plugins/akismet/bin/tool', 'plugins/akismet/akismet.php'].map((p) => stateB.files.get(p)!.blob)
    const got = new Map<string, string>()
    await b.journal.readBlobs(wanted, (id, bytes) => void got.set(id, Buffer.from(bytes).toString('hex')))
    const fx = first()
    assert.equal(got.get(stateB.files.get('plugins/akismet/bin/tool')!.blob), Buffer.from(fx.content.get('plugins/akismet/bin/tool')!).toString('hex'))
    assert.equal(Buffer.from(got.get(stateB.files.get('plugins/akismet/akismet.php')!.blob)!, 'hex').toString(), '<?php // akismet written on a\n')
    assert.deepEqual(scratchLeft(b), [], 'the download directory is removed')
    const stB = await b.local.readReplica()
    assert.equal(stB.pushed?.seq, pushedA.seq)
    assert.equal(stB.prepared, null)

    // nothing new: neither node changes
    const refsB = await b.journal.refs()
    assert.deepEqual(await pullFromRemote(b), { moved: false, seq: pushedA.seq, head: a2, bundles: 0, bytes: 0 })
    assert.deepEqual(await pullFromRemote(a), { moved: false, seq: pushedA.seq, head: a2, bundles: 0, bytes: 0 })
    assert.deepEqual(await b.journal.refs(), refsB)
    assert.deepEqual(await b.local.readReplica(), stB)

    // B writes on top and pushes: an increment on A's chain (the push's own history check is satisfied)
    const b3 = await commit(b, 'woocommerce')
    const pushedB = await pushOnce(b)
    assert.equal(pushedB.pushed, true)
    assert.ok(pushedB.seq! > pushedA.seq!, `${pushedB.seq} follows ${pushedA.seq}`)
    assert.equal(pushedB.bundle?.full, false, 'an increment, not a fresh full bundle')
    const m = await newest(b)
    assert.equal(m.seq, pushedB.seq)
    assert.equal(m.head, b3)
    assert.equal(m.chain.length, 2)
    assert.equal(m.chain[0]!.seq, pushedA.seq)

    // A takes B's snapshot: only B's increment is downloaded
    const back = await pullFromRemote(a)
    assert.equal(back.moved, true)
    assert.equal(back.bundles, 1)
    assert.equal(back.bytes, m.chain[1]!.size)
    assert.equal(await a.journal.head(), b3)
    assert.deepEqual(await ids(a), [b3, a2, a1])
    assert.deepEqual(await a.journal.refs(), await b.journal.refs())
    assert.equal((await a.journal.readState(b3)).files.has('plugins/woocommerce/woocommerce.php'), true)
    // and A goes on from there
    const a4 = await commit(a, 'hello')
    const pushedA2 = await pushOnce(a)
    assert.ok(pushedA2.seq! > pushedB.seq!)
    assert.equal((await newest(a)).chain.length, 3)
    assert.equal((await pullFromRemote(b)).head, a4)
    assert.deepEqual(await a.journal.check(), [])
    assert.deepEqual(await b.journal.check(), [])
  })

  it('with a snapshot of its own not on the replica: no pull when nothing is new; BUSY when the replica moved on, and no push over it either', async () => {
    const prefix = newPrefix()
    const a = await node('a', prefix)
    const b = await node('b', prefix)
    await commit(a, 'first')
    await pushOnce(a)
    await pullFromRemote(b)

    // B committed and has not pushed; the replica has nothing new: nothing to take, nothing changes
    const b2 = await commit(b, 'theme')
    assert.equal((await pullFromRemote(b)).moved, false)
    assert.equal(await b.journal.head(), b2)
    // its push goes up (nothing moved: pushNow pushes at once), and A can take it
    const pushedB = await pushNow(b)
    assert.equal(pushedB.pushed, true)
    assert.equal((await pullFromRemote(a)).head, b2)

    // now A pushes while B has a snapshot of its own (a node that wrote without the fleet's lock)
    const a3 = await commit(a, 'plugin-a')
    const pushedA = await pushOnce(a)
    const b3 = await commit(b, 'plugin-b')
    const refsB = await b.journal.refs()
    const stB = await b.local.readReplica()
    await assert.rejects(pullFromRemote(b), isCode('BUSY', /this node's own snapshot of site shop is not on the replica yet .*push this node's snapshot first/))
    assert.deepEqual(await b.journal.refs(), refsB, "B's journal is as it was")
    assert.deepEqual(await b.local.readReplica(), stB, "B's replica.json is as it was")
    // and a push now would hide A's snapshot: refused, loudly, nothing written to the replica
    const before = await manifests(prefix)
    await assert.rejects(pushNow(b), isCode('REPLICA_INVALID', /diverged .* another node pushed seq \d+ .*Nothing was pushed/))
    assert.deepEqual(await manifests(prefix), before)
    assert.equal((await newest(a)).head, a3)
    assert.equal((await newest(a)).seq, pushedA.seq)
    assert.equal(await b.journal.head(), b3)
  })

  it("a push whose manifest landed but whose confirmation was lost is this node's own: no pull, the push resumes", async () => {
    const prefix = newPrefix()
    const a = await node('a', prefix)
    const b = await node('b', prefix)
    await commit(a, 'first')
    await pushOnce(a)
    await pullFromRemote(b)
    await commit(a, 'second')
    const st0 = await a.local.readReplica()
    const pushed = await pushOnce(a)
    const st1 = await a.local.readReplica()
    // replica.json as if the process died right after the manifest was stored
    await a.local.writeReplica({ ...st0, prepared: { manifest: st1.pushed!, manifestKey: pushed.manifestKey!, bundleFile: null, attempt: 1, bundleStored: true } })
    assert.equal((await pullFromRemote(a)).moved, false)
    const again = await pushNow(a)
    assert.equal(again.pushed, true)
    assert.equal(again.seq, pushed.seq, 'the same push, its manifest stored again under a new key')
    assert.equal((await a.local.readReplica()).prepared, null)
    // B takes it as any other push
    const pulled = await pullFromRemote(b)
    assert.equal(pulled.moved, true)
    assert.equal(pulled.head, await a.journal.head())
  })

  it('after a compaction (a fresh full bundle) a node that is behind imports the whole new chain', async () => {
    const prefix = newPrefix()
    const a = await node('a', prefix, { compactAfter: 2 })
    const b = await node('b', prefix, { compactAfter: 2 })
    const c = await node('c', prefix, { compactAfter: 2 })
    await commit(a, 'first')
    const p1 = await pushOnce(a)
    assert.equal(p1.bundle?.full, true)
    await pullFromRemote(b)
    await pullFromRemote(c)
    await commit(b, 'two')
    assert.equal((await pushOnce(b)).bundle?.full, false)
    await commit(b, 'three')
    const p3 = await pushOnce(b)
    assert.equal(p3.bundle?.full, true, 'the chain reached compactAfter: a fresh full bundle')
    const m = await newest(b)
    assert.equal(m.chain.length, 1)
    assert.ok(m.chain[0]!.seq > (await c.local.readReplica()).pushed!.seq)

    // C still stands at A's first push: the new chain does not start from anything it has
    const pulled = await pullFromRemote(c)
    assert.equal(pulled.moved, true)
    assert.equal(pulled.bundles, 1)
    assert.equal(pulled.bytes, m.chain[0]!.size)
    assert.equal(await c.journal.head(), await b.journal.head())
    assert.deepEqual(await ids(c), await ids(b))
    assert.deepEqual(await c.journal.check(), [])
    // and continues the compacted chain
    await commit(c, 'four')
    const p4 = await pushOnce(c)
    assert.equal(p4.bundle?.full, false)
    assert.equal((await newest(c)).chain.length, 2)
    assert.equal((await pullFromRemote(a)).head, await c.journal.head())
    assert.deepEqual(await ids(a), await ids(c))
  })

  it('the audit folder is made exactly what the pulled ref holds: files written 0600, stale segments removed, others left', async () => {
    const prefix = newPrefix()
    const a = await node('a', prefix)
    const b = await node('b', prefix)
    const auditA = path.join(a.dataDir, 'audit')
    const auditB = path.join(b.dataDir, 'audit')
    // no audit ref yet: refresh leaves the folder alone
    fs.mkdirSync(auditB, { recursive: true })
    fs.writeFileSync(path.join(auditB, 'audit-000000000001.jsonl'), 'stale\n')
    await b.extras!.refresh!()
    assert.deepEqual(fs.readdirSync(auditB), ['audit-000000000001.jsonl'])

    fs.mkdirSync(auditA, { recursive: true })
    fs.writeFileSync(path.join(auditA, 'audit.jsonl'), '{"seq":1}\n')
    await commit(a, 'first')
    await pushOnce(a) // stores the audit folder on its ref first
    fs.writeFileSync(path.join(auditB, '.hidden'), 'not a segment')
    fs.writeFileSync(path.join(auditB, 'audit.jsonl.tmp'), 'a write under way')
    fs.writeFileSync(path.join(auditB, 'audit.jsonl'), 'something else\n', { mode: 0o644 })

    assert.equal((await pullFromRemote(b)).moved, true)
    const listed = fs.readdirSync(auditB).sort()
    assert.deepEqual(listed.filter((f) => !f.includes('.unreplicated-')), ['.hidden', 'audit.jsonl', 'audit.jsonl.tmp'])
    assert.equal(fs.readFileSync(path.join(auditB, 'audit.jsonl'), 'utf8'), '{"seq":1}\n')
    assert.equal(fs.statSync(path.join(auditB, 'audit.jsonl')).mode & 0o777, 0o600)
    assert.equal(fs.readdirSync(auditB).some((f) => f.endsWith('.pull.tmp')), false)
    // what B held that the ref does not is kept aside (hidden: neither the log nor the replica reads it)
    const aside = (dir: string) => Object.fromEntries(fs.readdirSync(dir).filter((f) => f.includes('.unreplicated-')).map((f) => [f.replace(/-\d+$/, ''), fs.readFileSync(path.join(dir, f), 'utf8')]))
    assert.deepEqual(aside(auditB), { '.audit-000000000001.jsonl.unreplicated': 'stale\n', '.audit.jsonl.unreplicated': 'something else\n' })
    for (const f of listed.filter((x) => x.includes('.unreplicated-'))) fs.rmSync(path.join(auditB, f))

    // B appends and rotates, then pushes (the stored copy is continued, not replaced); A takes it
    fs.renameSync(path.join(auditB, 'audit.jsonl'), path.join(auditB, 'audit-000000000001.jsonl'))
    fs.appendFileSync(path.join(auditB, 'audit-000000000001.jsonl'), '{"seq":2}\n')
    fs.writeFileSync(path.join(auditB, 'audit.jsonl'), '{"seq":3}\n', { mode: 0o600 })
    await commit(b, 'second')
    await pushOnce(b)
    assert.equal((await pullFromRemote(a)).moved, true)
    assert.deepEqual(fs.readdirSync(auditA).sort(), ['audit-000000000001.jsonl', 'audit.jsonl'])
    assert.equal(fs.readFileSync(path.join(auditA, 'audit-000000000001.jsonl'), 'utf8'), '{"seq":1}\n{"seq":2}\n')
    assert.equal(fs.readFileSync(path.join(auditA, 'audit.jsonl'), 'utf8'), '{"seq":3}\n')
    // A goes on: its next store continues the ref it pulled
    fs.appendFileSync(path.join(auditA, 'audit.jsonl'), '{"seq":4}\n')
    await commit(a, 'third')
    assert.equal((await pushOnce(a)).pushed, true)
    await pullFromRemote(b)
    assert.equal(fs.readFileSync(path.join(auditB, 'audit.jsonl'), 'utf8'), '{"seq":3}\n{"seq":4}\n')
    assert.deepEqual(aside(auditA), {}, 'nothing of A was set aside: its entries were all in the ref')
    assert.deepEqual(aside(auditB), {})

    // an entry B appended after its last push, when A pushed meanwhile: the log becomes the ref's, B's copy stays aside
    fs.appendFileSync(path.join(auditB, 'audit.jsonl'), '{"seq":5,"on":"b"}\n')
    fs.appendFileSync(path.join(auditA, 'audit.jsonl'), '{"seq":5,"on":"a"}\n')
    await commit(a, 'fourth')
    await pushOnce(a)
    assert.equal((await pullFromRemote(b)).moved, true)
    assert.equal(fs.readFileSync(path.join(auditB, 'audit.jsonl'), 'utf8'), '{"seq":3}\n{"seq":4}\n{"seq":5,"on":"a"}\n')
    assert.deepEqual(aside(auditB), { '.audit.jsonl.unreplicated': '{"seq":3}\n{"seq":4}\n{"seq":5,"on":"b"}\n' })
  })

  it('a damaged or planted newest manifest is REPLICA_INVALID and changes nothing here; without it the pull works', async () => {
    const prefix = newPrefix()
    const a = await node('a', prefix)
    const b = await node('b', prefix)
    const a1 = await commit(a, 'first')
    await pushOnce(a)
    await commit(a, 'second')
    await pushOnce(a)
    await pullFromRemote(b)
    await commit(a, 'third')
    await pushOnce(a)
    const real = await newest(a)
    const refsB = await b.journal.refs()
    const stB = await b.local.readReplica()
    const unchanged = async () => {
      assert.deepEqual(await b.journal.refs(), refsB)
      assert.deepEqual(await b.local.readReplica(), stB)
      assert.deepEqual(scratchLeft(b), [])
    }
    const plant = async (key: string, bytes: Uint8Array) => a.store.putBytes(key, bytes)
    const remove = async (key: string) => s3.client().send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: `${prefix}/${SITE}/${key}` }))
    const json = (m: Manifest) => enc(JSON.stringify(m))

    // not a manifest at all: the one before it is named
    const junk = 'manifests/9999999990-0123456789abcdef.json'
    await plant(junk, enc('not json'))
    await assert.rejects(pullFromRemote(b), isCode('REPLICA_INVALID', /cannot be used: not JSON; the one before it is manifests\//))
    await unchanged()
    await remove(junk)

    // well formed, sealed with the key, but rolling the site back to a state before B's: it would drop snapshots
    const rollback = 'manifests/9999999991-0123456789abcdef.json'
    await plant(rollback, json({ ...real, seq: 9999999991, head: a1, refs: { 'refs/heads/main': a1 } }))
    await assert.rejects(pullFromRemote(b), isCode('REPLICA_INVALID', /does not continue this node's history/))
    await unchanged()
    await remove(rollback)

    // a ref that names an object no bundle holds
    const ghost = 'manifests/9999999992-0123456789abcdef.json'
    await plant(ghost, json({ ...real, seq: 9999999992, refs: { ...real.refs, 'refs/tags/known-good/ghost': 'f'.repeat(40) } }))
    await assert.rejects(pullFromRemote(b), isCode('REPLICA_INVALID', /its refs name objects its bundles do not hold/))
    await unchanged()
    await remove(ghost)

    // a head that is not the branch it names
    const split = 'manifests/9999999993-0123456789abcdef.json'
    await plant(split, json({ ...real, seq: 9999999993, head: a1 }))
    await assert.rejects(pullFromRemote(b), isCode('REPLICA_INVALID', /is not its refs\/heads\/main/))
    await unchanged()
    await remove(split)

    // a bundle that is not what its manifest says
    const altered = 'manifests/9999999994-0123456789abcdef.json'
    const last = real.chain.at(-1)!
    await plant(altered, json({ ...real, seq: 9999999994, chain: [...real.chain.slice(0, -1), { ...last, sha256: '0'.repeat(64) }] }))
    await assert.rejects(pullFromRemote(b), isCode('REPLICA_INVALID', /has SHA-256 [0-9a-f]{64}, its manifest says 0{64}/))
    await unchanged()
    await remove(altered)

    // the real newest manifest again
    const pulled = await pullFromRemote(b)
    assert.equal(pulled.moved, true)
    assert.equal(pulled.head, real.head)
  })

  it('the Replicator with a guard pushes only inside it, pulling first what moved; a node that diverged is refused loudly', async () => {
    const prefix = newPrefix()
    // the fleet's journal lock, in process: one holder at a time
    let tail: Promise<unknown> = Promise.resolve()
    let guarded = 0
    const guard = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = tail.then(() => {
        guarded++
        return fn()
      })
      tail = run.catch(() => undefined)
      return run
    }
    const lines: { level: string; msg: string }[] = []
    const log: LogPort = {
      debug: () => undefined,
      info: (_f, msg) => void lines.push({ level: 'info', msg }),
      warn: (_f, msg) => void lines.push({ level: 'warn', msg }),
      error: (_f, msg) => void lines.push({ level: 'error', msg }),
    }
    const metrics = new Proxy({}, { get: () => () => undefined }) as MetricsPort
    const cfg = { checkMs: 50, lagAlertMs: 3_600_000, retryMinMs: 50, retryMaxMs: 200 }
    const a = await node('a', prefix, { guard })
    const b = await node('b', prefix, { guard })
    const ra = new Replicator(a, log, metrics, cfg)
    const rb = new Replicator(b, log, metrics, cfg)
    const until = async (what: string, ok: () => Promise<boolean>) => {
      const deadline = Date.now() + 30_000
      while (!(await ok())) {
        if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; log: ${JSON.stringify(lines.slice(-5))}`)
        await new Promise((r) => setTimeout(r, 50))
      }
    }
    try {
      // a write as the fleet makes one: inside the lock, pull, commit, push at once
      const write = (n: Node, push: () => Promise<{ pushed: boolean }>, label: string) =>
        guard(async () => {
          await pullFromRemote(n)
          const id = await commit(n, label)
          assert.equal((await push()).pushed, true)
          return id
        })
      await write(a, () => pushNow(a), 'first')
      const b2 = await write(b, () => pushNow(b), 'second')
      // A's loop starts behind the replica: its first push takes the lock and takes B's snapshot first
      const locks = guarded
      await ra.start()
      await until("A's loop to take B's snapshot", async () => (await a.journal.head()) === b2)
      assert.ok(guarded > locks, 'the loop took the lock')
      assert.deepEqual(await ids(a), await ids(b))
      assert.equal(ra.status().lastError, null)

      // a write with the loop running: the caller holds the lock, the Replicator pushes at once and says so
      const a3 = await write(a, () => ra.pushNow(), 'third')
      assert.equal(ra.status().lastPush?.seq, (await newest(a)).seq)
      assert.equal((await newest(a)).head, a3)

      // B commits outside the lock, behind A: its loop neither pushes over A nor pulls over B
      const b3 = await commit(b, 'rogue')
      const before = await manifests(prefix)
      await rb.start()
      await until("B's loop to report the divergence", async () => /diverged/.test(rb.status().lastError?.message ?? ''))
      await rb.stop()
      assert.deepEqual(await manifests(prefix), before, 'nothing was pushed')
      assert.equal((await newest(a)).head, a3, "A's snapshot stays the replica's newest")
      assert.equal(await b.journal.head(), b3, "B's snapshot stays in B's journal")
      assert.ok(lines.some((l) => l.level === 'warn' && /diverged/.test(l.msg)), 'logged as a warning')
    } finally {
      await ra.stop()
      await rb.stop()
      // let a push under way finish before the nodes close
      await tail
    }
  })
})
