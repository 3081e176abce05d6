// diffStates, filterDiff, overlayState, summarize and the counts: what a restore plan and `list` are
// made of, on plain values, edge cases included (empty states, links, directories, modes, NULL values,
// odd bytes in names).
import assert from 'node:assert/strict'
import { changesBetween, countFiles, countOptions, diffStates, restoreTarget, emptyState, filterDiff, isEmptyDiff, optionKey, overlayState, stateOf, summarize, type FileEntry, type OptionEntry, type SiteState } from '../../src/core/index.ts'

const f = (path: string, blob = 'a', o: Partial<FileEntry> = {}): FileEntry => ({ path, kind: 'file', blob: blob.padEnd(40, '0'), mode: 0o644, uid: 0, gid: 0, ...o })
const opt = (name: string, blob = 'b', o: Partial<OptionEntry> = {}): OptionEntry => ({ table: 'wp_options', name, blob: blob.padEnd(40, '0'), autoload: 'yes', ...o })

describe('diffStates', () => {
  it('finds nothing between two empty states, or a state and itself', () => {
    assert.equal(isEmptyDiff(diffStates(emptyState(), emptyState())), true)
    const s = stateOf([f('plugins/a/a.php')], [{ path: 'themes/t', target: '/x' }], [opt('blogname')], [{ path: 'plugins/a', mode: 0o755, uid: 0, gid: 0 }])
    assert.equal(isEmptyDiff(diffStates(s, s)), true)
    assert.equal(summarize(diffStates(s, s)), 'no change')
  })

  it('tells content changes from mode/owner-only changes, and ignores a symlink’s own mode', () => {
    const from = stateOf([f('plugins/a/x.php'), f('plugins/a/y.php'), f('plugins/a/z.php'), f('plugins/a/l', 'c', { kind: 'symlink', mode: 0o777 })], [], [])
    const to = stateOf([f('plugins/a/x.php', 'd'), f('plugins/a/y.php', 'a', { mode: 0o600 }), f('plugins/a/z.php', 'a', { uid: 33 }), f('plugins/a/l', 'c', { kind: 'symlink', mode: 0o755 })], [], [])
    assert.deepEqual(
      diffStates(from, to).files.map((c) => [c.path, c.change, c.content]),
      [
        ['plugins/a/x.php', 'modified', true],
        ['plugins/a/y.php', 'modified', false],
        ['plugins/a/z.php', 'modified', false],
      ],
    )
  })

  it('counts a file that became a symlink with the same blob as a content change', () => {
    const d = diffStates(stateOf([f('plugins/a/x')], [], []), stateOf([f('plugins/a/x', 'a', { kind: 'symlink' })], [], []))
    assert.deepEqual(d.files.map((c) => [c.change, c.content]), [['modified', true]])
  })

  it('lists added and removed files, links and directories, sorted by path', () => {
    const from = stateOf([f('plugins/b.php'), f('plugins/a/x.php')], [{ path: 'themes/old', target: '/t/old' }, { path: 'themes/moved', target: '/t/v1' }], [], [{ path: 'plugins/a', mode: 0o755, uid: 0, gid: 0 }])
    const to = stateOf([f('plugins/a/x.php'), f('mu-plugins/m.php')], [{ path: 'themes/new', target: '/t/new' }, { path: 'themes/moved', target: '/t/v2' }], [], [{ path: 'plugins/a', mode: 0o700, uid: 0, gid: 0 }, { path: 'plugins/c', mode: 0o755, uid: 0, gid: 0 }])
    const d = diffStates(from, to)
    assert.deepEqual(d.files.map((c) => [c.path, c.change]), [['mu-plugins/m.php', 'added'], ['plugins/b.php', 'removed']])
    assert.deepEqual(d.links.map((c) => [c.path, c.change]), [['themes/moved', 'modified'], ['themes/new', 'added'], ['themes/old', 'removed']])
    assert.deepEqual(d.dirs.map((c) => [c.path, c.change]), [['plugins/a', 'modified'], ['plugins/c', 'added']])
  })

  it('leaves directories alone when the target state predates them, and lists all of them going to one that has them', () => {
    const withDirs = stateOf([], [], [], [{ path: 'plugins/a', mode: 0o755, uid: 0, gid: 0 }])
    const without = stateOf([], [], [])
    assert.deepEqual(diffStates(withDirs, without).dirs, [])
    assert.deepEqual(diffStates(without, withDirs).dirs.map((c) => [c.path, c.change]), [['plugins/a', 'added']])
  })

  it('tells a NULL value from the empty string, a value change from an autoload-only change, and keeps tables apart', () => {
    const from = stateOf([], [], [opt('a', 'e'), opt('b', 'e', { nullValue: true }), opt('c'), opt('c', 'b', { table: 'wp_2_options' })])
    const to = stateOf([], [], [opt('a', 'e', { nullValue: true }), opt('b', 'e'), opt('c', 'b', { autoload: 'no' }), opt('c', 'b', { table: 'wp_2_options', autoload: null })])
    assert.deepEqual(
      diffStates(from, to).options.map((o) => [o.table, o.name, o.change, o.value]),
      [
        ['wp_2_options', 'c', 'modified', false],
        ['wp_options', 'a', 'modified', true],
        ['wp_options', 'b', 'modified', true],
        ['wp_options', 'c', 'modified', false],
      ],
    )
  })

  it('keys options by table and exact name: odd bytes, NUL-free Unicode, the empty name', () => {
    const names = ['', 'ünïcødé 🛒', 'tab\there', 'a/b', "it's"]
    const from = stateOf([], [], names.map((n) => opt(n)))
    const to = stateOf([], [], names.map((n) => opt(n, 'z')))
    assert.deepEqual(diffStates(from, to).options.map((o) => o.name).sort(), [...names].sort())
    assert.notEqual(optionKey('wp_options', 'a'), optionKey('wp_option', 'sa'))
  })
})

describe('filterDiff and overlayState (--only)', () => {
  const live = stateOf([f('plugins/a/x.php', 'l'), f('plugins/b/y.php', 'l'), f('themes/t/s.css', 'l')], [{ path: 'themes/linked', target: '/v2' }], [opt('blogname', 'l'), opt('siteurl', 'l')], [{ path: 'plugins/a', mode: 0o700, uid: 0, gid: 0 }])
  const target = stateOf([f('plugins/a/x.php', 't'), f('plugins/a/new.php', 't'), f('themes/t/s.css', 't')], [{ path: 'themes/linked', target: '/v1' }], [opt('blogname', 't')], [{ path: 'plugins/a', mode: 0o755, uid: 0, gid: 0 }])

  it('keeps only the changes inside the selection; no selection keeps everything', () => {
    const only = { paths: ['plugins/a', 'themes/linked'], options: ['siteurl'] }
    const d = filterDiff(diffStates(live, target), only)
    assert.deepEqual(d.files.map((c) => c.path), ['plugins/a/new.php', 'plugins/a/x.php'])
    assert.deepEqual(d.links.map((c) => c.path), ['themes/linked'])
    assert.deepEqual(d.options.map((c) => c.name), ['siteurl'])
    assert.deepEqual(d.dirs.map((c) => c.path), ['plugins/a'])
    assert.deepEqual(filterDiff(diffStates(live, target), null), diffStates(live, target))
  })

  it('does not take plugins/ab for plugins/a', () => {
    const d = filterDiff(diffStates(stateOf([f('plugins/ab/x.php')], [], []), emptyState()), { paths: ['plugins/a'], options: [] })
    assert.equal(d.files.length, 0)
  })

  it('overlays the selected part of the target on the live state: the result differs from the target only outside the selection', () => {
    const only = { paths: ['plugins/a'], options: ['blogname'] }
    const o = overlayState(live, target, only)
    assert.equal(isEmptyDiff(filterDiff(diffStates(o, target), only)), true)
    assert.deepEqual([...o.files.keys()].sort(), ['plugins/a/new.php', 'plugins/a/x.php', 'plugins/b/y.php', 'themes/t/s.css'])
    assert.equal(o.files.get('themes/t/s.css')?.blob, live.files.get('themes/t/s.css')?.blob)
    assert.deepEqual([...o.options.values()].map((x) => [x.name, x.blob[0]]).sort(), [['blogname', 't'], ['siteurl', 'l']])
    assert.equal(o.links.get('themes/linked')?.target, '/v2')
    assert.equal(o.dirs?.get('plugins/a')?.mode, 0o755)
    assert.equal(overlayState(live, target, null), target)
  })
})

describe('summarize and counts', () => {
  it('names changed units with their file counts, then options; says how many more', () => {
    const from = emptyState()
    const to = stateOf(
      [f('plugins/a/1.php'), f('plugins/a/2.php'), f('plugins/b.php'), f('themes/t/s.css'), f('themes/u/s.css'), f('mu-plugins/m.php'), f('object-cache.php')],
      [],
      [opt('o1'), opt('o2'), opt('o3'), opt('o4')],
    )
    assert.equal(summarize(diffStates(from, to)), 'drop-ins (1 file); mu-plugins/m.php (1 file); plugins/a (2 files); plugins/b.php (1 file); 2 more units; options: o1, o2, o3 +1')
    assert.deepEqual(countFiles(diffStates(to, from)), { written: 0, removed: 7 })
    assert.deepEqual(countOptions(diffStates(from, to)), { written: 4, removed: 0 })
  })

  it('names a unit where only a directory changed', () => {
    const a = stateOf([], [], [], [{ path: 'plugins/a/views', mode: 0o755, uid: 0, gid: 0 }])
    const b = stateOf([], [], [], [{ path: 'plugins/a/views', mode: 0o700, uid: 0, gid: 0 }])
    assert.equal(summarize(diffStates(a, b)), 'plugins/a (directories)')
  })
})

/** A SiteState is only ever read by diffStates: it must not change what it is given. */
describe('diffStates purity', () => {
  it('leaves both states as they were', () => {
    const a: SiteState = stateOf([f('plugins/a/x.php')], [], [opt('x')], [])
    const b: SiteState = stateOf([f('plugins/a/x.php', 'z')], [], [], [])
    const before = JSON.stringify([[...a.files], [...a.options], [...b.files]])
    diffStates(a, b)
    assert.equal(JSON.stringify([[...a.files], [...a.options], [...b.files]]), before)
  })
})

describe('tables a state records (sources)', () => {
  const entity = (name: string, blob: string): OptionEntry => ({ table: 'wp_posts', name: `entity:${name}`, blob: blob.padEnd(40, '0'), autoload: null })
  const row = (key: string, blob: string): OptionEntry => ({ table: 'wp_woocommerce_tax_rates', name: `table:woocommerce_tax_rates#${key}`, blob: blob.padEnd(40, '0'), autoload: null })
  const covering = (sources: string[] | null, options: OptionEntry[]): SiteState => ({ ...stateOf([], [], options), ...(sources ? { sources: new Set(sources) } : {}) })

  it('a restore to a state recorded before entities were leaves the live entities alone, and still restores its options', () => {
    const old = covering(null, [opt('blogname', 'o')])
    const live = covering(['wp_options', 'wp_posts'], [opt('blogname', 'n'), entity('wp_template_part/tt3/header', 'h')])
    const plan = diffStates(live, restoreTarget(live, old))
    assert.deepEqual(plan.options.map((o) => [o.name, o.change]), [['blogname', 'modified']])
    assert.deepEqual(changesBetween(old, live).options.map((o) => o.name), ['blogname'], 'the first state with entities did not add them')
    assert.deepEqual(diffStates(old, live).options.map((o) => o.name).sort(), ['blogname', 'entity:wp_template_part/tt3/header'], 'while a commit still stores them')
  })

  it('a table both record: an empty one is really empty, so a row added since is removed by a restore', () => {
    const before = covering(['wp_options', 'wp_woocommerce_tax_rates'], [])
    const live = covering(['wp_options', 'wp_woocommerce_tax_rates'], [row('1', 'r')])
    assert.deepEqual(diffStates(live, restoreTarget(live, before)).options.map((o) => [o.name, o.change]), [['table:woocommerce_tax_rates#1', 'removed']])
  })

  it('a table the config no longer names: its recorded rows are not written back, and the overlay keeps what is live', () => {
    const recorded = covering(['wp_options', 'wp_woocommerce_tax_rates'], [row('1', 'r'), opt('blogname', 'o')])
    const live = covering(['wp_options'], [opt('blogname', 'n')])
    assert.deepEqual(diffStates(live, restoreTarget(live, recorded)).options.map((o) => o.name), ['blogname'])
    assert.deepEqual([...overlayState(live, recorded, null).options.values()].map((o) => o.name), ['blogname'])
  })
})
