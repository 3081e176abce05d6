// The state model: option keys, building a state from lists, and replaceUnits — how the daemon records a
// change in a few units without walking the whole tree again.
import assert from 'node:assert/strict'
import { emptyState, optionKey, replaceUnits, stateOf, type FileEntry, type OptionEntry } from '../../src/core/index.ts'

const f = (path: string, blob = 'a'): FileEntry => ({ path, kind: 'file', blob: blob.padEnd(40, '0'), mode: 0o644, uid: 0, gid: 0 })
const opt = (name: string, table = 'wp_options'): OptionEntry => ({ table, name, blob: 'b'.padEnd(40, '0'), autoload: 'yes' })

describe('state model', () => {
  it('an empty state has no files, links or options, and no directories recorded', () => {
    const s = emptyState()
    assert.deepEqual([s.files.size, s.links.size, s.options.size, s.dirs], [0, 0, 0, undefined])
  })

  it('keys an option by table and name, so neither can be mistaken for the other, whatever bytes the name holds', () => {
    const keys = [optionKey('wp_options', 'a_b'), optionKey('wp_options_a', 'b'), optionKey('wp_options', ''), optionKey('wp_options', 'ünïcødé 🛒\t\n'), optionKey('wp_2_options', 'a_b')]
    assert.equal(new Set(keys).size, keys.length)
  })

  it('builds a state from lists, by path and by option key; directories only when given', () => {
    const s = stateOf([f('plugins/a/x.php'), f('plugins/a/x.php', 'c')], [{ path: 'themes/t', target: '/t' }], [opt('blogname'), opt('blogname', 'wp_2_options')])
    assert.equal(s.files.size, 1)
    assert.equal(s.files.get('plugins/a/x.php')?.blob[0], 'c', 'the later entry of one path wins')
    assert.equal(s.options.size, 2)
    assert.equal(s.dirs, undefined)
    assert.deepEqual(stateOf([], [], [], []).dirs, new Map())
  })
})

describe('replaceUnits', () => {
  const base = stateOf(
    [f('plugins/a/x.php'), f('plugins/a/y.php'), f('plugins/ab/z.php'), f('plugins/hello.php'), f('themes/t/s.css'), f('object-cache.php')],
    [{ path: 'themes/t', target: '/v1' }],
    [opt('old')],
    [{ path: 'plugins/a', mode: 0o755, uid: 0, gid: 0 }, { path: 'plugins/ab', mode: 0o755, uid: 0, gid: 0 }],
  )

  it('replaces everything inside the units with the fresh reading and keeps the rest, plugins/ab apart from plugins/a', () => {
    const s = replaceUnits(base, { files: [f('plugins/a/x.php', 'n'), f('plugins/a/new.php')], links: [], dirs: [{ path: 'plugins/a', mode: 0o700, uid: 0, gid: 0 }] }, new Set(['plugins/a']), [opt('new')])
    assert.deepEqual([...s.files.keys()].sort(), ['object-cache.php', 'plugins/a/new.php', 'plugins/a/x.php', 'plugins/ab/z.php', 'plugins/hello.php', 'themes/t/s.css'])
    assert.equal(s.files.get('plugins/a/x.php')?.blob[0], 'n')
    assert.deepEqual([...s.options.values()].map((o) => o.name), ['new'], 'options are always read in full')
    assert.deepEqual([...(s.dirs?.values() ?? [])].map((d) => [d.path, d.mode]), [['plugins/ab', 0o755], ['plugins/a', 0o700]])
  })

  it('drops a link of a unit read again without it, and a single-file plugin or drop-in that is gone', () => {
    const s = replaceUnits(base, { files: [f('themes/t/s.css')], links: [] }, new Set(['themes/t', 'plugins/hello.php', 'object-cache.php']), [])
    assert.equal(s.links.size, 0)
    assert.equal(s.files.has('plugins/hello.php'), false)
    assert.equal(s.files.has('object-cache.php'), false)
  })

  it('a whole scope directory as a unit replaces everything below it', () => {
    const s = replaceUnits(base, { files: [], links: [] }, new Set(['plugins']), [])
    assert.deepEqual([...s.files.keys()].sort(), ['object-cache.php', 'themes/t/s.css'])
  })

  it('keeps the base’s directories unknown when the reading has none, and carries what could not be recorded', () => {
    const s = replaceUnits(stateOf([], [], []), { files: [], links: [], skipped: ['plugins/a/\\xff.php: not UTF-8'] }, new Set(['plugins/a']), [])
    assert.equal(s.dirs, undefined)
    assert.deepEqual(s.skipped, ['plugins/a/\\xff.php: not UTF-8'])
    assert.equal(replaceUnits(base, { files: [], links: [], skipped: [] }, new Set(['plugins/a']), []).skipped, undefined)
  })

  it('leaves the base state as it was', () => {
    const before = JSON.stringify([[...base.files.keys()], [...base.links.keys()], [...(base.dirs?.keys() ?? [])]])
    replaceUnits(base, { files: [], links: [], dirs: [] }, new Set(['plugins/a', 'themes/t']), [])
    assert.equal(JSON.stringify([[...base.files.keys()], [...base.links.keys()], [...(base.dirs?.keys() ?? [])]]), before)
  })
})
