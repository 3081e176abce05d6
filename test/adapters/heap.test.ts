// The daemon gives back the V8 heap a full reading grew: after a burst of short-lived objects, a release
// shrinks the committed heap again (what an idle daemon's RSS is made of).
import assert from 'node:assert/strict'
import { V8Heap } from '../../src/adapters/heap.ts'

describe('heap release', () => {
  it('returns the heap that a burst of short-lived objects grew', () => {
    const heap = new V8Heap()
    heap.release()
    const before = process.memoryUsage().heapTotal
    // about what a full reading of a 30k-file site allocates and drops: entries, maps, strings
    let keep: unknown[] = []
    for (let round = 0; round < 3; round++) {
      keep = Array.from({ length: 300_000 }, (_, i) => ({ path: `plugins/p${i % 500}/f${i}.php`, blob: String(i).padStart(40, '0'), mode: 0o644 }))
    }
    const grown = process.memoryUsage().heapTotal
    assert.ok(keep.length > 0)
    keep = []
    heap.release()
    const after = process.memoryUsage().heapTotal
    assert.ok(grown - before > 40e6, `the burst grew the heap by only ${Math.round((grown - before) / 1e6)} MB`)
    assert.ok(after < before + (grown - before) / 4, `heap ${Math.round(before / 1e6)} → ${Math.round(grown / 1e6)} → ${Math.round(after / 1e6)} MB: not given back`)
  })
})
