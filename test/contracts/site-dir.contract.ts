// What the site's data directory must do, as the restorer, the prober and the governance services rely
// on it: a restore intent survives until cleared, one writer at a time (BUSY for a second one after its
// wait), health and recovery notes kept, governance documents written whole and listed by folder.
import assert from 'node:assert/strict'
import type { DocStorePort, HealthRecord, HealthStorePort, RestoreIntent, SiteDirPort } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'

export type SiteDirLike = SiteDirPort & HealthStorePort & DocStorePort

export interface SiteDirFixture {
  dir: SiteDirLike
  /** the same directory opened again (another process's view) */
  reopen(): SiteDirLike
  cleanup(): Promise<void>
}

const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code
const settled = async (p: Promise<unknown>, ms: number) => Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])

export function describeSiteDirContract(name: string, make: () => Promise<SiteDirFixture>): void {
  describe(`SiteDirPort, HealthStorePort, DocStorePort contract: ${name}`, () => {
    let fx: SiteDirFixture
    let d: SiteDirLike
    beforeEach(async () => {
      fx = await make()
      d = fx.dir
    })
    afterEach(async () => fx.cleanup())

    it('keeps a restore intent until it is cleared; clearing twice is fine', async () => {
      assert.equal(await d.readIntent(), null)
      const intent: RestoreIntent = { target: 'a'.repeat(40), safetySnapshot: 'b'.repeat(40), only: { paths: ['plugins/akismet'], options: ['blogname', 'ünïcødé'] }, startedAt: '2026-11-27T03:00:00.000Z' }
      await d.writeIntent(intent)
      assert.deepEqual(await fx.reopen().readIntent(), intent)
      await d.writeIntent({ ...intent, only: null })
      assert.deepEqual(await d.readIntent(), { ...intent, only: null })
      await d.clearIntent()
      assert.equal(await fx.reopen().readIntent(), null)
      await d.clearIntent()
    })

    it('remembers the last recovery and the health record; health starts empty', async () => {
      assert.equal(await d.lastRecovery(), null)
      await d.noteRecovery({ at: '2026-11-27T03:00:00.000Z', what: 'finished the restore to abc' })
      assert.deepEqual(await fx.reopen().lastRecovery(), { at: '2026-11-27T03:00:00.000Z', what: 'finished the restore to abc' })
      assert.deepEqual(await d.readHealth(), { states: [], lastAutoRollback: null, autoRollbackHalted: null })
      const h: HealthRecord = {
        states: [{ state: 'a'.repeat(40), firstProbe: '2026-11-27T03:00:00.000Z', lastProbe: '2026-11-27T03:05:00.000Z', passes: 5, failures: 1, healthySince: null, lastFailure: { at: '2026-11-27T03:01:00.000Z', reason: 'HTTP 500' }, markedGoodAt: null }],
        lastAutoRollback: { at: '2026-11-27T03:02:00.000Z', from: 'b'.repeat(40), to: 'a'.repeat(40) },
        autoRollbackHalted: null,
      }
      await d.writeHealth(h)
      assert.deepEqual(await fx.reopen().readHealth(), h)
    })

    it('lets one writer at a time hold the lock: a second waits, then gets BUSY; after the release it gets it', async () => {
      const release = await d.lock(1000)
      const t0 = performance.now()
      await assert.rejects(fx.reopen().lock(300), isCode('BUSY'))
      assert.ok(performance.now() - t0 >= 250, 'waited before giving up')
      const waiting = fx.reopen().lock(5000)
      assert.equal(await settled(waiting, 150), false, 'still waiting while the lock is held')
      await release()
      const second = await waiting
      await second()
      await (await d.lock(0))()
    })

    it('keeps governance documents whole, lists them by folder in name order, refuses names that leave the folder', async () => {
      assert.equal(await d.readDoc('freeze'), null)
      const doc = { manual: { reason: 'Black Friday', by: 'alice', until: 1764300000000 }, nested: { list: [1, 'two', null] }, text: 'ünïcødé\n"quoted"' }
      await d.writeDoc('freeze', doc)
      assert.deepEqual(await fx.reopen().readDoc('freeze'), doc)
      await d.writeDoc('requests/mi2x-b0b0', { id: 'mi2x-b0b0' })
      await d.writeDoc('requests/mi2a-a0a0', { id: 'mi2a-a0a0' })
      await d.writeDoc('requests/mi2a-a0a0', { id: 'mi2a-a0a0', status: 'approved' })
      assert.deepEqual(await d.listDocs('requests'), ['requests/mi2a-a0a0', 'requests/mi2x-b0b0'])
      assert.deepEqual(await d.readDoc('requests/mi2a-a0a0'), { id: 'mi2a-a0a0', status: 'approved' })
      assert.deepEqual(await d.listDocs('nothing-here'), [])
      for (const bad of ['../escape', '/etc/passwd', 'requests/../../x', '.hidden', 'a/b/c'])
        await assert.rejects(d.writeDoc(bad, {}), (e) => e instanceof PeakguardError, bad)
    })

    it('serialises read-modify-write of documents: a second lockDocs waits for the first release', async () => {
      const release = await d.lockDocs()
      const second = fx.reopen().lockDocs()
      assert.equal(await settled(second, 200), false)
      await release()
      await (await second)()
    })
  })
}
