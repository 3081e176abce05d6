// The fleet's one journal (services/shared-journal.ts), its rule for a push that failed: a node that committed
// and could not push says so in the fleet table (pending), and no other node writes until it has — the history
// never forks — unless that node has been silent longer than nodeTimeout, when the fleet goes on without it.
// Each node here is a real git journal in a data directory of its own, the replica a memory bucket they share,
// the fleet tables the memory ones (test/memory/fleet.ts). The pull itself is tested in replica-sync.test.ts.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { GitJournal } from '../../src/adapters/git-journal.ts'
import { SiteDir } from '../../src/adapters/site-dir.ts'
import { emptyState, shortId, type LogPort, type RemoteObject, type SiteState } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { resolveState, SharedJournal, type ReplicaSite, type Site } from '../../src/services/index.ts'
import { commitRequest, enc, first, type Fixture } from '../contracts/states.ts'
import { blobId } from '../memory/blob-id.ts'
import { MemoryFleetTable } from '../memory/fleet.ts'
import { MemoryObjectStore, type MemoryBucket } from '../memory/object-store.ts'

const SITE = 'shop'

/** A bucket that can be cut off: every write fails as with S3 unreachable. */
class FlakyStore extends MemoryObjectStore {
  down = false
  /** how many times its keys were listed (a pull lists the manifests) */
  lists = 0

  override async list(under: string): Promise<RemoteObject[]> {
    this.lists++
    return super.list(under)
  }
  /** while set, every write waits for it (a slow S3) */
  gate: Promise<void> | null = null

  override async putBytes(key: string, bytes: Uint8Array): Promise<{ bytes: number }> {
    if (this.gate) await this.gate
    if (this.down) throw new PeakguardError('S3_FAILED', `S3 PutObject of ${this.location}${key} failed (ECONNREFUSED): the endpoint cannot be reached`)
    return super.putBytes(key, bytes)
  }
}

interface Node {
  name: string
  shared: SharedJournal
  replica: ReplicaSite
  store: FlakyStore
  log: string[]
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof PeakguardError, String(e))
  assert.equal(e.code, code, e.message)
  if (re) assert.match(e.message, re)
  return true
}

describe('shared journal: a push that failed holds up the other nodes (unless the node is gone)', function () {
  this.timeout(60_000)
  let tmp: string
  let table: MemoryFleetTable
  let bucket: MemoryBucket
  let staged = 0

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-shared-journal-'))
    table = new MemoryFleetTable()
    bucket = new Map()
  })
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }))

  async function node(name: string): Promise<Node> {
    const dir = new SiteDir(path.join(tmp, name))
    dir.ensure()
    const journal = await GitJournal.open(dir.journalDir, SITE)
    const store = new FlakyStore(SITE, bucket)
    const replica: ReplicaSite = { id: SITE, journal, store, local: dir, maxChain: 1000, openJournal: (d) => GitJournal.open(d, SITE) }
    const log: string[] = []
    const keep = (level: string) => (_f: Record<string, unknown>, msg: string) => void log.push(`${level}: ${msg}`)
    const logPort: LogPort = { debug: () => undefined, info: keep('info'), warn: keep('warn'), error: keep('error') }
    const shared = new SharedJournal(table.port(name), replica, logPort, { lockWaitMs: 2_000, nodeTimeoutMs: 15_000 })
    await table.port(name).heartbeat({ role: 'follower', pid: process.pid, startedAt: '2026-11-27T01:00:00.000Z', head: null, drift: null, compared: true, listen: '' })
    return { name, shared, replica, store, log }
  }

  /** A snapshot in `n`'s journal: the first the contract suite's rich state, each later one a plugin file more. */
  async function commit(n: Node, label: string): Promise<string> {
    const j = n.replica.journal
    const stage = (bytes: Uint8Array) => {
      const f = path.join(tmp, `staged-${++staged}`)
      fs.writeFileSync(f, bytes)
      return f
    }
    const parent = await j.head()
    if (!parent) return j.commit(commitRequest(null, emptyState(), first(), stage, label))
    const from = await j.readState(parent)
    const file = `plugins/${label}/${label}.php`
    const bytes = enc(`<?php // ${label} on ${n.name}\n`)
    const state: SiteState = { ...from, files: new Map(from.files), links: new Map(from.links), options: new Map(from.options) }
    state.files.set(file, { path: file, kind: 'file', blob: blobId(bytes), mode: 0o644, uid: 0, gid: 0 })
    const to: Fixture = { state, content: new Map([[file, bytes]]), values: new Map() }
    return j.commit(commitRequest(parent, from, to, stage, label))
  }

  it('a write is caught up first and pushed at once; the fleet table says where the journal stands', async () => {
    const a = await node('a')
    const b = await node('b')
    const a1 = await a.shared.write(() => commit(a, 'first'))
    assert.deepEqual(await table.port('b').journal().then((m) => [m?.seq, m?.head, m?.node, m?.pending]), [(await a.replica.local.readReplica()).pushed?.seq, a1, 'a', false])
    const b1 = await b.shared.write(() => commit(b, 'second'))
    assert.deepEqual((await b.replica.journal.log()).map((c) => c.id), [b1, a1], "B wrote on top of A's snapshot")
    assert.deepEqual(await table.port('a').journal().then((m) => [m?.head, m?.node, m?.pending]), [b1, 'b', false])
  })

  it("another node's unpushed snapshot with a fresh heartbeat: BUSY, naming it; nothing is written or pulled, and the lock is free again", async () => {
    const a = await node('a')
    const b = await node('b')
    await a.shared.write(() => commit(a, 'first'))
    // A commits, and its push fails
    a.store.down = true
    const a2 = await a.shared.write(() => commit(a, 'second'))
    assert.deepEqual(await table.port('b').journal().then((m) => [m?.head, m?.node, m?.pending]), [a2, 'a', true])
    assert.ok(a.log.some((l) => /^warn: the fleet's journal could not be pushed to S3 .*the other nodes wait for it; retrying/.test(l)), a.log.join('\n'))

    let ran = false
    await assert.rejects(
      b.shared.write(async () => void (ran = true)),
      isCode('BUSY', /^node a recorded a snapshot that is not on the S3 replica yet \(its push failed\): the fleet's journal waits for it/),
    )
    assert.equal(ran, false)
    assert.equal(await b.replica.journal.head(), null, 'B pulled nothing')
    assert.equal(table.journalHolder, null, 'the journal lock was given back')

    // A's next write pushes its snapshot first; then B goes on, on top of it
    a.store.down = false
    await a.shared.write(async () => undefined)
    assert.deepEqual(await table.port('b').journal().then((m) => [m?.head, m?.pending]), [a2, false])
    const b3 = await b.shared.write(() => commit(b, 'third'))
    assert.deepEqual((await b.replica.journal.log()).map((c) => c.id).slice(0, 2), [b3, a2])
  })

  it("pushAfter: the write answers before its push, which goes on holding the lock: the table says pending, and another node's write waits and lands on top", async () => {
    const a = await node('a')
    const b = await node('b')
    const a1 = await a.shared.write(() => commit(a, 'first'))
    let open: () => void = () => undefined
    a.store.gate = new Promise<void>((r) => (open = r))
    // answers although S3 has not taken the push yet
    const a2 = await a.shared.write(() => commit(a, 'second'), { pushAfter: true })
    assert.deepEqual(await table.port('b').journal().then((m) => [m?.head, m?.node, m?.pending]), [a2, 'a', true], 'the table says A holds a write the replica lacks')
    assert.equal(table.journalHolder, 'a', 'the lock is held through the push')
    let bDone = false
    const bWrite = b.shared.write(() => commit(b, 'third')).then((id) => {
      bDone = true
      return id
    })
    await new Promise((r) => setTimeout(r, 300))
    assert.equal(bDone, false, "B waits for A's push")
    open()
    await a.shared.idle()
    assert.equal((await a.replica.local.readReplica()).pushed?.head, a2, 'pushed')
    const b3 = await bWrite
    assert.deepEqual((await b.replica.journal.log()).map((c) => c.id), [b3, a2, a1], "B wrote on top of A's pushed snapshot: one line")
    assert.deepEqual(await table.port('a').journal().then((m) => [m?.head, m?.node, m?.pending]), [b3, 'b', false])
  })

  it('pushAfter: a write that fails is a failure, with nothing announced and the lock free again', async () => {
    const a = await node('a')
    const a1 = await a.shared.write(() => commit(a, 'first'))
    await assert.rejects(
      a.shared.write(async () => {
        throw new PeakguardError('FS_FAILED', 'no space left on device')
      }, { pushAfter: true }),
      isCode('FS_FAILED', /no space left/),
    )
    await a.shared.idle()
    assert.equal(table.journalHolder, null)
    assert.deepEqual(await table.port('a').journal().then((m) => [m?.head, m?.pending]), [a1, false])
  })

  it("fetch takes what the others pushed without the journal lock (another node holds it); with a write of this node's own unpushed it refuses", async () => {
    const a = await node('a')
    const b = await node('b')
    const a1 = await a.shared.write(() => commit(a, 'first'))
    // A holds the lock (its part of a fleet restore, waiting for the others to stage)
    let release: () => void = () => undefined
    const holding = table.port('a').withJournal(2_000, () => new Promise<void>((r) => (release = r)))
    await b.shared.fetch()
    assert.equal(await b.replica.journal.head(), a1, "B has A's snapshot")
    assert.equal(table.journalHolder, 'a', 'A still holds the lock')
    release()
    await holding
    // nothing announced beyond B's copy: nothing fetched, no S3 request
    const lists = b.store.lists
    await b.shared.fetch()
    assert.equal(b.store.lists, lists)
    // A goes on; B holds a commit of its own on its way to S3: its copy is not the fleet's to move by a pull
    await a.shared.write(() => commit(a, 'second'))
    await commit(b, 'mine')
    await assert.rejects(b.shared.fetch(), isCode('BUSY', /a write of its own that is not on the S3 replica yet/))
  })

  it('a write that fails after committing (a safety snapshot, then a node not ready) still pushes what it committed before the lock goes', async () => {
    const a = await node('a')
    const b = await node('b')
    await a.shared.write(() => commit(a, 'first'))
    let committed = ''
    await assert.rejects(
      a.shared.write(async () => {
        committed = await commit(a, 'safety')
        throw new PeakguardError('FLEET_NOT_READY', 'node b did not stage within fleet.readyWait (60 s): nothing was written')
      }, { pushAfter: true }),
      isCode('FLEET_NOT_READY'),
    )
    assert.deepEqual(await table.port('b').journal().then((m) => [m?.head, m?.node, m?.pending]), [committed, 'a', false], 'pushed and announced')
    const b2 = await b.shared.write(() => commit(b, 'next'))
    assert.deepEqual((await b.replica.journal.log()).map((c) => c.id).slice(0, 2), [b2, committed], "B's write on top of it: nothing left out")
  })

  it("a state another node recorded a moment ago is found by its id on this node: resolveState takes it from the replica", async () => {
    const a = await node('a')
    const b = await node('b')
    await a.shared.write(() => commit(a, 'first'))
    await b.shared.write(async () => undefined)
    const a2 = await a.shared.write(() => commit(a, 'second'))
    assert.equal((await b.replica.journal.resolvePrefix(a2.slice(0, 12))).length, 0, "not in B's copy yet")
    const site = { id: SITE, journal: b.replica.journal, shared: b.shared, siteOwning: async () => null } as unknown as Site
    assert.equal(await resolveState(site, a2.slice(0, 12)), a2)
    await assert.rejects(resolveState(site, 'abcdef012345'), isCode('STATE_NOT_FOUND'))
    // the replica out of reach: the id is still not found, and said so
    const cut = { ...site, shared: { write: b.shared.write.bind(b.shared), fetch: async () => Promise.reject(new PeakguardError('S3_FAILED', 'S3 ListObjectsV2 failed (ECONNREFUSED)')) } } as unknown as Site
    await assert.rejects(resolveState(cut, 'abcdef012345'), isCode('STATE_NOT_FOUND'))
  })

  it("this node's own pending push never holds itself up", async () => {
    const a = await node('a')
    await a.shared.write(() => commit(a, 'first'))
    a.store.down = true
    const a2 = await a.shared.write(() => commit(a, 'second'))
    assert.equal((await table.port('a').journal())?.pending, true)
    a.store.down = false
    const a3 = await a.shared.write(() => commit(a, 'third'))
    assert.deepEqual(await table.port('a').journal().then((m) => [m?.head, m?.pending]), [a3, false])
    assert.deepEqual((await a.replica.journal.log()).map((c) => c.id).slice(0, 2), [a3, a2])
  })

  it('a node silent longer than nodeTimeout (or gone from the table) no longer holds up the fleet: the write goes on, with a warning naming it', async () => {
    const a = await node('a')
    const b = await node('b')
    await a.shared.write(() => commit(a, 'first'))
    a.store.down = true
    const a2 = await a.shared.write(() => commit(a, 'second'))
    // A dies with its snapshot unpushed
    table.ages.set('a', 60)
    const b2 = await b.shared.write(() => commit(b, 'b-second'))
    assert.ok(b.log.some((l) => /^warn: node a holds a snapshot it never pushed and has been silent for more than 15 s: the fleet goes on without it/.test(l)), b.log.join('\n'))
    assert.deepEqual(await table.port('b').journal().then((m) => [m?.head, m?.node, m?.pending]), [b2, 'b', false])

    // A comes back: its snapshot is left out of the history, named; its copy follows the fleet and writes on top
    table.ages.delete('a')
    a.store.down = false
    const a3 = await a.shared.write(() => commit(a, 'a-third'))
    assert.ok(a.log.some((l) => l.startsWith(`error: this node's snapshot ${shortId(a2)}`) && /never reached the S3 replica and the fleet's journal went on without it/.test(l)), a.log.join('\n'))
    assert.deepEqual((await a.replica.journal.log()).map((c) => c.id).slice(0, 2), [a3, b2])
    assert.equal((await a.replica.journal.log()).some((c) => c.id === a2), false)

    // forgotten instead of silent: the same
    const c = await node('c')
    c.store.down = true
    await c.shared.write(() => commit(c, 'c-first')).catch(() => undefined)
    table.rows.delete('c')
    const b3 = await b.shared.write(() => commit(b, 'b-third'))
    assert.equal((await table.port('b').journal())?.head, b3)
  })
})
