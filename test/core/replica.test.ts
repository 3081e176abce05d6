// The replica's pure rules: key layout, which refs a push carries, when a chain is compacted, the retry
// backoff, manifest checks, and what prune may delete.
import assert from 'node:assert/strict'
import {
  bundleKey,
  checkManifest,
  manifestKey,
  movedRefs,
  parseKey,
  planPrune,
  retryDelayMs,
  shouldCompact,
  type Manifest,
  type RemoteBundle,
  type RemoteObject,
} from '../../src/core/index.ts'

const H = (c: string) => c.repeat(40)
const bundle = (seq: number, size: number, full = false): RemoteBundle => ({ key: bundleKey(seq, 'ab'.repeat(8), full), seq, full, sha256: 'c'.repeat(64), size })

describe('core: replica', () => {
  it('keys sort in push order and name what they are; foreign keys are not ours', () => {
    assert.equal(manifestKey(42, '0123456789abcdef'), 'manifests/0000000042-0123456789abcdef.json')
    assert.deepEqual(parseKey(bundleKey(7, 'ff'.repeat(8), true)), { kind: 'bundle', seq: 7, full: true })
    assert.deepEqual(parseKey(manifestKey(10, 'ff'.repeat(8))), { kind: 'manifest', seq: 10, full: false })
    assert.ok(manifestKey(9, 'ff'.repeat(8)) < manifestKey(10, '00'.repeat(8)))
    for (const k of ['manifests/42-x.json', 'other/0000000001-abcdef01.json', 'bundles/0000000001-abcdef01.bundle']) assert.equal(parseKey(k), null, k)
  })

  it('a push carries the refs that are new or moved', () => {
    assert.deepEqual(movedRefs({ 'refs/heads/main': H('a'), 'refs/tags/good/x': H('b') }, { 'refs/heads/main': H('c'), 'refs/tags/good/x': H('b'), 'refs/tags/good/y': H('d') }), [
      'refs/heads/main',
      'refs/tags/good/y',
    ])
    assert.deepEqual(movedRefs({ 'refs/heads/main': H('a'), 'refs/tags/good/x': H('b') }, { 'refs/heads/main': H('a') }), [], 'a removed mark needs no bundle')
  })

  it('compacts when the increments weigh twice the full bundle, or the chain is long', () => {
    assert.equal(shouldCompact([], 100), true)
    assert.equal(shouldCompact([bundle(1, 1000, true), bundle(2, 900), bundle(3, 1000)], 100), false)
    assert.equal(shouldCompact([bundle(1, 1000, true), bundle(2, 900), bundle(3, 1100)], 100), true)
    assert.equal(shouldCompact([bundle(1, 1000, true), bundle(2, 1), bundle(3, 1)], 3), true)
  })

  it('backs off exponentially with jitter, within [min, max]', () => {
    assert.equal(retryDelayMs(1, 1000, 300_000, 0), 1000)
    assert.equal(retryDelayMs(1, 1000, 300_000, 1), 2000)
    assert.equal(retryDelayMs(5, 1000, 300_000, 1), 32_000)
    assert.equal(retryDelayMs(50, 1000, 300_000, 1), 300_000)
    for (let i = 0; i < 100; i++) {
      const d = retryDelayMs(3, 1000, 5000, Math.random())
      assert.ok(d >= 1000 && d <= 5000, String(d))
    }
  })

  it('refuses manifests that are not ours or not sound', () => {
    const good: Manifest = { format: 1, site: 'shop', seq: 3, time: 'now', head: H('a'), refs: { 'refs/heads/main': H('a') }, chain: [bundle(1, 10, true), bundle(3, 5)], encrypted: true }
    assert.equal(checkManifest(good, 'shop'), null)
    assert.match(checkManifest(good, 'blog')!, /belongs to site shop/)
    assert.match(checkManifest({ ...good, format: 2 }, 'shop')!, /format 2/)
    assert.match(checkManifest({ ...good, refs: { 'refs/../../x': H('a') } }, 'shop')!, /bad ref/)
    assert.match(checkManifest({ ...good, chain: [bundle(2, 5)] }, 'shop')!, /does not start with a full bundle/)
    assert.match(checkManifest(null, 'shop')!, /not a JSON object/)
  })

  it('prune removes only what the newest full bundle supersedes, and only once it is old enough', () => {
    const day = 86_400_000
    const now = Date.parse('2026-11-29T00:00:00Z')
    const at = (daysAgo: number) => new Date(now - daysAgo * day).toISOString()
    const o = (key: string, daysAgo: number): RemoteObject => ({ key, size: 100, lastModified: at(daysAgo) })
    const full5 = bundle(5, 1000, true)
    const newest: Manifest = { format: 1, site: 'shop', seq: 6, time: at(1), head: H('a'), refs: {}, chain: [full5, bundle(6, 10)], encrypted: true }
    const objects = [
      o(bundleKey(1, 'ab'.repeat(8), true), 40),
      o(manifestKey(1, '11'.repeat(8)), 40),
      o(bundleKey(2, 'ab'.repeat(8), false), 40),
      o(manifestKey(2, '22'.repeat(8)), 3), // superseded but young
      o(manifestKey(5, '55'.repeat(8)), 40), // the full bundle's own manifest: not below it
      o(full5.key, 40),
      o(newest.chain[1]!.key, 1),
      o(manifestKey(6, '66'.repeat(8)), 1),
      o('notes/by-someone-else.txt', 400),
    ]
    const plan = planPrune(objects, newest, manifestKey(6, '66'.repeat(8)), now, 7 * day)
    assert.deepEqual(plan.remove.map((x) => x.key), [objects[0]!.key, objects[1]!.key, objects[2]!.key])
    assert.ok(plan.keep.some((x) => x.key === full5.key))
    assert.ok(plan.keep.some((x) => x.key === 'notes/by-someone-else.txt'), 'a key peakguard did not write is never deleted')
    assert.match(plan.notes.join(), /1 superseded object\(s\) are younger/)
    assert.deepEqual(planPrune(objects, null, null, now, 0).remove, [], 'no manifest: nothing is superseded')
    // a host clock 90 days fast or 90 days slow: ages go by the store's newest write, and nothing changes
    for (const skew of [90 * day, -90 * day]) {
      const skewed = planPrune(objects, newest, manifestKey(6, '66'.repeat(8)), now + skew, 7 * day)
      assert.deepEqual(skewed.remove.map((x) => x.key), plan.remove.map((x) => x.key), `skew ${skew / day} days`)
      assert.ok(skewed.keep.some((x) => x.key === objects[3]!.key), 'the 3-day-old superseded manifest is still kept')
    }
  })
})
