// A fleet restore (services/fleet-restore.ts) on two nodes of one site, without a daemon: each node its own
// wp-content on disk (WpFiles) and its own data directory (memory), one database (the memory settings and the
// memory fleet tables, test/memory/fleet.ts) and — where the journal's sync is not the point — one git journal
// both read (the sync through S3 is tested in replica-sync.test.ts). Each node's heartbeat and tick run here by
// hand, as FleetMember runs them. What a user relies on: a restore asked on any node is carried out by the
// leader on every node — the files of each, the settings once, one restore commit — or, when a node cannot take
// part (its stage fails, it never stages, it went silent), on none, naming the node; with one shared wp-content
// only the leader writes; and a node that converges to a state records nothing of its own for it.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { GitJournal } from '../../src/adapters/git-journal.ts'
import { WpFiles } from '../../src/adapters/wp-files.ts'
import { DEFAULT_IGNORED_FILES, DEFAULT_IGNORED_OPTIONS, driftingUnits, ignoreRules, unitDigests, type LogPort, type NodeReport, type SiteState } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { FleetRestorer, type FleetRestoreSettings } from '../../src/services/fleet-restore.ts'
import { NodeView, restore, snapshot, type RestoreOptions, type RestoreReport, type Site } from '../../src/services/index.ts'
import { MemoryFleetTable, type MemoryFleet } from '../memory/fleet.ts'
import { MemorySettings } from '../memory/settings.ts'
import { MemorySiteDir } from '../memory/site-dir.ts'

const SITE = 'shop'
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

interface TestNode {
  name: string
  site: Site
  wp: string
  dir: MemorySiteDir
  view: NodeView
  port: MemoryFleet
  restorer: FleetRestorer
  leads: boolean
  log: string[]
}

/** A log that keeps each line as `level: message` (fields left out: they never hold what a test checks here). */
function memoryLog(into: string[]): LogPort {
  const keep = (level: string) => (_f: Record<string, unknown>, msg: string) => void into.push(`${level}: ${msg}`)
  return { debug: () => undefined, info: keep('info'), warn: keep('warn'), error: keep('error') }
}

const isCode = (code: string, re?: RegExp) => (e: unknown) => {
  assert.ok(e instanceof PeakguardError, String(e))
  assert.equal(e.code, code, e.message)
  if (re) assert.match(e.message, re)
  return true
}

describe('fleet restore (two nodes, their own wp-content on disk, one database)', function () {
  this.timeout(60_000)
  let tmp: string
  let table: MemoryFleetTable
  let settings: MemorySettings
  let journal: GitJournal
  const stops: (() => Promise<void>)[] = []

  beforeEach(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-fleet-restore-'))
    table = new MemoryFleetTable()
    settings = new MemorySettings({ ignoredOptions: DEFAULT_IGNORED_OPTIONS })
    settings.set('siteurl', 'https://shop.example')
    settings.set('blogname', 'Shop')
    journal = await GitJournal.open(path.join(tmp, 'journal'), SITE)
  })
  afterEach(async () => {
    for (const stop of stops.splice(0)) await stop()
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  const put = (wp: string, rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(wp, rel)), { recursive: true })
    fs.writeFileSync(path.join(wp, rel), content)
  }
  /** The first release of the site, as every node has it. */
  const v1 = (wp: string) => {
    put(wp, 'plugins/shop/shop.php', '<?php // Shop 1.0\n')
    put(wp, 'plugins/shop/inc/cart.php', '<?php // cart\n')
    put(wp, 'themes/store/style.css', '/* Theme Name: Store */\n')
    put(wp, 'object-cache.php', '<?php // redis\n')
  }
  /** A deploy of Shop 2.0 (a changed file, a new one). */
  const v2 = (wp: string) => {
    put(wp, 'plugins/shop/shop.php', '<?php // Shop 2.0\n')
    put(wp, 'plugins/shop/new.php', '<?php // new in 2.0\n')
  }

  function node(name: string, leads: boolean, cfg: Partial<FleetRestoreSettings> = {}, here?: (o: RestoreOptions) => Promise<RestoreReport>): TestNode {
    const wp = path.join(tmp, name, 'wp-content')
    fs.mkdirSync(wp, { recursive: true })
    v1(wp)
    const dir = new MemorySiteDir()
    const view = new NodeView(name, dir, () => leads)
    const log: string[] = []
    const site: Site = {
      id: SITE,
      journal,
      files: new WpFiles(wp, path.join(tmp, name, 'files-cache.v8'), DEFAULT_IGNORED_FILES),
      settings,
      dir,
      ignore: ignoreRules(DEFAULT_IGNORED_OPTIONS, DEFAULT_IGNORED_FILES),
      lockWaitMs: 10_000,
      hooks: { postRestore: async () => [] },
      health: dir,
      bridge: null,
      // one shared wp-content is one copy: no node's own reading to lay over (compose/fleet.ts)
      node: cfg.sharedFiles ? null : view,
      siteOwning: async () => null,
    }
    const port = table.port(name)
    const restorer = new FleetRestorer(
      { fleet: port, site, log: memoryLog(log), leads: () => leads, restoreHere: here ?? ((o) => restore(site, { ...o, here: true })) },
      { readyWaitMs: 5_000, nodeTimeoutMs: 15_000, pollMs: 20, ...cfg },
    )
    site.fleetRestore = (o) => restorer.restore(o)
    return { name, site, wp, dir, view, port, restorer, leads, log }
  }

  const report = (n: TestNode): NodeReport => ({ role: n.leads ? 'leader' : 'follower', pid: process.pid, startedAt: '2026-11-27T01:00:00.000Z', head: null, drift: null, compared: true, listen: '127.0.0.1:0' })

  /** Each node's heartbeat and its part in the fleet's restores, every `everyMs`, as FleetMember does, until stopped. */
  function beat(...nodes: TestNode[]): void {
    let stopped = false
    const loops = nodes.map(async (n) => {
      while (!stopped) {
        await n.port.heartbeat(report(n))
        await n.restorer.tick()
        await sleep(25)
      }
    })
    stops.push(async () => {
      stopped = true
      await Promise.all(loops)
    })
  }

  /** The files (path, content id, mode) of a node's wp-content, and of a recorded state, in one shape. */
  const filesOn = async (n: TestNode) => plainFiles(await n.site.files.scan().then((s) => ({ files: new Map(s.files.map((f) => [f.path, f])) })))
  const plainFiles = (s: Pick<SiteState, 'files'>) => [...s.files.values()].map((f) => `${f.path} ${f.blob} ${f.mode.toString(8)}`).sort()
  const stateFiles = async (id: string) => plainFiles(await journal.readState(id))

  /** Two nodes on release 1 (s1), then both deployed release 2 and the leader changed a setting (s2). */
  async function twoNodes(cfg: Partial<FleetRestoreSettings> = {}, here?: (o: RestoreOptions) => Promise<RestoreReport>): Promise<{ a: TestNode; b: TestNode; s1: string; s2: string }> {
    const a = node('a', true, cfg, here)
    const b = node('b', false, cfg)
    const s1 = (await snapshot(a.site, { trigger: 'manual' })).id
    if (!cfg.sharedFiles) assert.equal((await snapshot(b.site, { trigger: 'scan' })).created, false, 'B has the same files: nothing new')
    v2(a.wp)
    v2(b.wp)
    settings.set('blogname', 'Shop — Black Friday')
    const r2 = await snapshot(a.site, { trigger: 'watch' })
    assert.equal(r2.created, true)
    if (!cfg.sharedFiles) assert.equal((await snapshot(b.site, { trigger: 'watch' })).created, false, "B's deploy is the one A recorded")
    assert.equal((await journal.log()).length, 2)
    return { a, b, s1, s2: r2.id }
  }

  it('a restore asked on a follower is carried out by the leader on both nodes: their files, the settings once, one restore commit', async () => {
    const { a, b, s1, s2 } = await twoNodes()
    beat(a, b)
    const r = await restore(b.site, { target: s1, trigger: 'manual', actor: 'alice', audit: { actor: 'alice' } })

    assert.deepEqual(await filesOn(a), await stateFiles(s1))
    assert.deepEqual(await filesOn(b), await stateFiles(s1))
    assert.equal(settings.get('blogname'), 'Shop', 'the settings, written once by the leader')
    const log = await journal.log()
    assert.equal(log.length, 3, 'one restore commit: no safety snapshot (the leader\'s live state was the newest), nothing from the follower')
    const [restored] = log
    assert.equal(restored?.id, r.snapshot)
    assert.equal(restored?.trailers['Peakguard-Restore-Of'], s1)
    assert.equal(restored?.trailers['Peakguard-Actor'], 'alice')
    assert.equal(r.safetySnapshot, s2)
    assert.equal(r.verified, true)
    assert.ok(r.fleet, 'the report names the op and each node')
    assert.deepEqual(r.fleet.nodes.map((n) => [n.node, n.status, n.files, n.verified, n.error]), [
      ['a', 'done', 2, true, null],
      ['b', 'done', 2, true, null],
    ])
    const op = await a.port.op(r.fleet.op)
    assert.deepEqual([op?.phase, op?.node, op?.participants], ['done', 'b', ['a', 'b']])

    // neither node records anything of its own afterwards, and the follower does not drift
    assert.equal((await snapshot(a.site, { trigger: 'scan' })).created, false)
    assert.equal((await snapshot(b.site, { trigger: 'scan' })).created, false)
    assert.deepEqual(driftingUnits((await b.view.lastReading())!, await journal.readState(r.snapshot!)), [])
    assert.ok(b.log.some((l) => /^info: this node's files are now those of /.test(l)), b.log.join('\n'))
  })

  it('a node whose stage fails (its copy of the journal lacks the target) calls it off: nothing written on either node, FLEET_NOT_READY naming it', async () => {
    // B's own copy of the journal, taken before the target was recorded (it never caught up)
    const copy = path.join(tmp, 'b', 'journal')
    fs.cpSync(path.join(tmp, 'journal'), copy, { recursive: true })
    const { a, b, s1, s2 } = await twoNodes()
    b.site.journal = await GitJournal.open(copy, SITE)
    assert.equal(await b.site.journal.head(), null)
    const before = { a: await filesOn(a), b: await filesOn(b) }

    beat(a, b)
    let op = ''
    table.onCreateOp = (o) => void (op = o.id)
    const err: unknown = await restore(a.site, { target: s1, trigger: 'manual' }).then(() => null, (e: unknown) => e)
    isCode('FLEET_NOT_READY', /called off before anything was written on any node: node b: /)(err)
    assert.doesNotMatch((err as Error).message, /node a:/, 'the leader staged fine')

    assert.deepEqual(await filesOn(a), before.a)
    assert.deepEqual(await filesOn(b), before.b)
    assert.equal(settings.get('blogname'), 'Shop — Black Friday')
    assert.equal(await journal.head(), s2, 'not even a safety snapshot')
    assert.equal((await journal.log()).length, 2)
    const o = await a.port.op(op)
    assert.equal(o?.phase, 'aborted')
    assert.deepEqual(o?.result?.notReady?.map((n) => n.node), ['b'])
    assert.deepEqual((await a.port.opReports(op)).map((r) => [r.node, r.status]), [
      ['a', 'staged'],
      ['b', 'failed'],
    ])
    assert.ok(b.log.some((l) => /^error: could not stage the fleet restore: /.test(l)), b.log.join('\n'))
  })

  it('a node that never stages (up, but not taking part) calls it off after readyWait: nothing written', async () => {
    const { a, b, s1, s2 } = await twoNodes({ readyWaitMs: 300 })
    const before = { a: await filesOn(a), b: await filesOn(b) }
    await a.port.heartbeat(report(a))
    await b.port.heartbeat(report(b))
    const started = Date.now()
    await assert.rejects(restore(a.site, { target: s1, trigger: 'manual' }), isCode('FLEET_NOT_READY', /node b: did not stage within fleet\.readyWait/))
    assert.ok(Date.now() - started >= 300, 'the leader waited readyWait')
    assert.deepEqual(await filesOn(a), before.a)
    assert.deepEqual(await filesOn(b), before.b)
    assert.equal(settings.get('blogname'), 'Shop — Black Friday')
    assert.equal(await journal.head(), s2)
  })

  it('a node that goes silent while staging (its heartbeat older than nodeTimeout) calls it off at once, not after readyWait', async () => {
    const { a, b, s1, s2 } = await twoNodes({ readyWaitMs: 30_000, nodeTimeoutMs: 5_000 })
    const before = { a: await filesOn(a), b: await filesOn(b) }
    await a.port.heartbeat(report(a))
    await b.port.heartbeat(report(b))
    // up when the op began (a participant), then nothing more from it
    table.onCreateOp = () => void table.ages.set('b', 60)
    const started = Date.now()
    await assert.rejects(restore(a.site, { target: s1, trigger: 'manual' }), isCode('FLEET_NOT_READY', /node b: stopped answering while staging \(no heartbeat for 60 s\)/))
    assert.ok(Date.now() - started < 10_000, `called off early, not after readyWait (${Date.now() - started} ms)`)
    assert.deepEqual(await filesOn(a), before.a)
    assert.deepEqual(await filesOn(b), before.b)
    assert.equal(await journal.head(), s2)
  })

  it("the leader's own part failing after the swap began is reported as a failure with the leader's error, not as restored", async () => {
    // the leader's restore lets the others swap (writer.ts calls `ready` once planned), then stops part-way (a
    // full disk) and undoes its own part, as writer.ts does
    const failing = async (o: RestoreOptions): Promise<RestoreReport> => {
      await o.ready?.()
      throw new PeakguardError('FS_FAILED', 'cannot write plugins/shop/shop.php: ENOSPC: no space left on device — the restore was stopped and undone: the site is as it was before')
    }
    const { a, b, s1 } = await twoNodes({}, failing)
    beat(a, b)
    let op = ''
    table.onCreateOp = (o) => void (op = o.id)
    const outcome: unknown = await restore(b.site, { target: s1, trigger: 'manual' }).then(
      (r) => r,
      (e: unknown) => e,
    )
    const o = await a.port.op(op)
    assert.equal(o?.result?.error, 'FS_FAILED: cannot write plugins/shop/shop.php: ENOSPC: no space left on device — the restore was stopped and undone: the site is as it was before')
    assert.deepEqual((await a.port.opReports(op)).find((r) => r.node === 'a')?.status, 'failed')
    // the one asking is told what failed, by its code: not handed a report that says the fleet was restored
    assert.ok(outcome instanceof PeakguardError, `the restore resolved as if done: ${JSON.stringify({ verified: (outcome as RestoreReport).verified, snapshot: (outcome as RestoreReport).snapshot, fleet: (outcome as RestoreReport).fleet?.nodes.map((n) => [n.node, n.status]) })}`)
    assert.equal(outcome.code, 'FS_FAILED')
    assert.match(outcome.message, /no space left on device/)
  })

  it("the leader's own part failing before the swap (its safety snapshot, a migration) calls it off: nothing written on any node, the leader's code", async () => {
    // writer.ts throws before `ready` when the safety snapshot cannot be taken or the restore crosses a migration
    let began = false
    const early = async (): Promise<RestoreReport> => {
      began = true
      throw new PeakguardError('CHANGED_WHILE_RECORDING', 'plugins/shop/shop.php changed while it was being read')
    }
    const { a, b, s1, s2 } = await twoNodes({}, early)
    const before = { a: await filesOn(a), b: await filesOn(b) }
    beat(a, b)
    let op = ''
    table.onCreateOp = (o) => void (op = o.id)
    await assert.rejects(
      restore(b.site, { target: s1, trigger: 'manual' }),
      isCode('CHANGED_WHILE_RECORDING', /stopped on the leader \(node a\) before anything was written on any node: plugins\/shop\/shop\.php changed while it was being read/),
    )
    assert.ok(began, "the leader's part began")
    assert.equal((await a.port.op(op))?.phase, 'aborted')
    // B may not have staged yet when the leader's part failed: no node got further than staged
    const reports = await a.port.opReports(op)
    assert.ok(reports.some((r) => r.node === 'a'), 'the leader staged')
    assert.deepEqual(reports.filter((r) => r.status !== 'staged'), [])
    // and B, staged or not, never swaps afterwards
    await sleep(300)
    assert.deepEqual(await filesOn(a), before.a)
    assert.deepEqual(await filesOn(b), before.b, 'the follower staged and never swapped')
    assert.equal(settings.get('blogname'), 'Shop — Black Friday')
    assert.equal(await journal.head(), s2)
  })

  it("a follower's swap reads and writes only the units that differ from the target: a change on it not read yet stays, and is recorded as its own", async () => {
    const { a, b, s1 } = await twoNodes()
    beat(a, b)
    // on B, a hand edit of the theme its watcher has not reported yet (its last reading still has the theme as recorded)
    put(b.wp, 'themes/store/style.css', '/* Theme Name: Store — edited on b */\n')
    const r = await restore(a.site, { target: s1, trigger: 'manual' })
    assert.equal(r.verified, true)
    const s1Files = await stateFiles(s1)
    const onB = await filesOn(b)
    assert.deepEqual(
      onB.filter((l) => l.startsWith('plugins/')),
      s1Files.filter((l) => l.startsWith('plugins/')),
      "the restored plugin is the target's on B",
    )
    assert.notDeepEqual(onB.find((l) => l.startsWith('themes/store/style.css')), s1Files.find((l) => l.startsWith('themes/store/style.css')), 'the edit on B is not overwritten')
    assert.equal(fs.readFileSync(path.join(b.wp, 'themes/store/style.css'), 'utf8'), '/* Theme Name: Store — edited on b */\n')
    // B's next reading records it: a change made on B, laid over the restored state, not lost
    const next = await snapshot(b.site, { trigger: 'watch' })
    assert.equal(next.created, true)
    const recorded = await journal.readState(next.id)
    assert.equal((await journal.log())[1]?.id, r.snapshot, 'recorded after the restore')
    assert.notEqual(recorded.files.get('themes/store/style.css')?.blob, (await journal.readState(s1)).files.get('themes/store/style.css')?.blob)
    assert.equal(recorded.files.get('plugins/shop/shop.php')?.blob, (await journal.readState(s1)).files.get('plugins/shop/shop.php')?.blob)
  })

  it('the leader told to stop while the others stage calls the restore off (nothing written), and its stop waits for that', async () => {
    const { a, b, s1, s2 } = await twoNodes({ readyWaitMs: 30_000 })
    const before = { a: await filesOn(a), b: await filesOn(b) }
    // B is up (a participant) and never stages: its heartbeat only
    await a.port.heartbeat(report(a))
    await b.port.heartbeat(report(b))
    let op = ''
    table.onCreateOp = (o) => void (op = o.id)
    const started = Date.now()
    const restoring = restore(a.site, { target: s1, trigger: 'manual' }).then(
      () => null,
      (e: unknown) => e,
    )
    while (!op || (await a.port.opReports(op)).length === 0) await sleep(10)
    await a.restorer.stop()
    assert.equal((await a.port.op(op))?.phase, 'aborted', 'called off by the time stop returns')
    const outcome = await restoring
    assert.ok(outcome instanceof PeakguardError, 'the restore did not succeed')
    assert.equal(outcome.code, 'FLEET_NOT_READY')
    assert.match(outcome.message, /node a: the leader is stopping/)
    assert.ok(Date.now() - started < 10_000, 'not after readyWait')
    assert.equal((await a.port.op(op))?.phase, 'aborted')
    assert.deepEqual(await filesOn(a), before.a)
    assert.deepEqual(await filesOn(b), before.b)
    assert.equal(settings.get('blogname'), 'Shop — Black Friday')
    assert.equal(await journal.head(), s2)
  })

  it('a follower told to stop while it waits staged says so: the restore is called off, nothing written on either node', async () => {
    // the leader's part is slow to get ready (its safety snapshot on a large tree): B stages and waits meanwhile
    let site: Site | null = null
    const slow = async (o: RestoreOptions): Promise<RestoreReport> => {
      await sleep(600)
      return restore(site!, { ...o, here: true })
    }
    const { a, b, s1, s2 } = await twoNodes({ readyWaitMs: 30_000 }, slow)
    site = a.site
    const before = { a: await filesOn(a), b: await filesOn(b) }
    beat(a, b)
    let op = ''
    table.onCreateOp = (o) => void (op = o.id)
    const restoring = restore(a.site, { target: s1, trigger: 'manual' }).then(
      () => null,
      (e: unknown) => e,
    )
    while (!op || !(await a.port.opReports(op)).some((r) => r.node === 'b' && r.status === 'staged')) await sleep(10)
    await b.restorer.stop()
    const outcome = await restoring
    assert.ok(outcome instanceof PeakguardError, 'the restore did not succeed')
    assert.equal(outcome.code, 'FLEET_NOT_READY')
    assert.match(outcome.message, /node b: this node is stopping/)
    assert.equal((await a.port.op(op))?.phase, 'aborted')
    assert.deepEqual(await filesOn(a), before.a)
    assert.deepEqual(await filesOn(b), before.b)
    assert.equal(await journal.head(), s2)
  })

  it('a node silent before the restore is not asked to take part (it converges when back)', async () => {
    const { a, b, s1 } = await twoNodes()
    await b.port.heartbeat(report(b))
    table.ages.set('b', 60)
    beat(a)
    const r = await restore(a.site, { target: s1, trigger: 'manual' })
    assert.deepEqual(r.fleet?.nodes.map((n) => [n.node, n.status]), [['a', 'done']])
    assert.deepEqual(await filesOn(a), await stateFiles(s1))
  })

  it('with no leader up, a restore asked on a follower is refused at once: FLEET_NOT_READY, nothing written', async () => {
    const { a, b, s1, s2 } = await twoNodes()
    await b.port.heartbeat(report(b))
    await a.port.heartbeat(report(a))
    table.ages.set('a', 60)
    await assert.rejects(restore(b.site, { target: s1 }), isCode('FLEET_NOT_READY', /no node of the fleet leads now/))
    assert.equal(table.ops.size, 0)
    assert.equal(await journal.head(), s2)
  })

  it('one shared wp-content (sharedFiles): a follower says staged and done without writing its files; the leader writes them', async () => {
    const { a, b, s1 } = await twoNodes({ sharedFiles: true })
    const bBefore = await filesOn(b)
    beat(a, b)
    const r = await restore(b.site, { target: s1, trigger: 'manual' })
    assert.deepEqual(await filesOn(a), await stateFiles(s1))
    assert.deepEqual(await filesOn(b), bBefore, "the follower's copy is not written (in production it is the leader's)")
    assert.equal(settings.get('blogname'), 'Shop')
    assert.deepEqual(r.fleet?.nodes.map((n) => [n.node, n.status, n.files, n.verified]), [
      ['a', 'done', 2, true],
      ['b', 'done', 0, true],
    ])
    assert.equal(r.verified, true)
  })

  it('converge: a node\'s files become a state\'s (settings kept); its reading is kept, so it records nothing of it nor reverts a later deploy', async () => {
    const { a, b, s1, s2 } = await twoNodes()
    const r = await b.restorer.converge(s1)
    assert.deepEqual(r, { files: 2, verified: true, caches: null, error: null })
    assert.deepEqual(await filesOn(b), await stateFiles(s1))
    assert.deepEqual(await filesOn(a), await stateFiles(s2), 'only this node')
    assert.equal(settings.get('blogname'), 'Shop — Black Friday', 'the settings are not a node\'s to write')
    const s1State = await journal.readState(s1)
    assert.equal((await b.view.lastReading())?.get('plugins/shop'), unitDigests(s1State).get('plugins/shop'))
    // the newest state is still s2: B drifts from it, and records nothing (no revert of Shop 2.0)
    assert.equal((await snapshot(b.site, { trigger: 'scan' })).created, false)
    assert.equal(await journal.head(), s2)
    // another node deploys 3.0: B's files (1.0) are not recorded back over it
    put(a.wp, 'plugins/shop/shop.php', '<?php // Shop 3.0\n')
    const s3 = await snapshot(a.site, { trigger: 'watch' })
    assert.equal(s3.created, true)
    assert.equal((await snapshot(b.site, { trigger: 'scan' })).created, false)
    assert.equal(await journal.head(), s3.id)
    assert.deepEqual(driftingUnits((await b.view.lastReading())!, await journal.readState(s3.id)), ['plugins/shop'])
  })

  it('converge to a state this node cannot read reports why, and writes nothing', async () => {
    const { b } = await twoNodes()
    const before = await filesOn(b)
    const r = await b.restorer.converge('0'.repeat(40))
    assert.equal(r.verified, false)
    assert.equal(r.files, 0)
    assert.ok(r.error && r.error.length > 10, String(r.error))
    assert.deepEqual(await filesOn(b), before)
    // the site's lock was given back
    const release = await b.dir.lock(100)
    await release()
  })
})
