// The fleet's pure rules (src/core/fleet.ts): a digest per unit (a theme or plugin directory, a one-file plugin,
// a drop-in), how a node's reading joins the fleet's history (only what changed on this node since its own
// previous reading, laid over the fleet's newest state; the settings only from the leader), and what a node's
// files drift from. A seeded property checks the rule that keeps a node that was not deployed from recording
// the old version back: nothing changed on the node → nothing of its files is recorded.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import {
  driftingUnits,
  driftPaths,
  nodeReading,
  replaceUnits,
  schemaOf,
  stateOf,
  unitDigests,
  unitOf,
  type DirEntry,
  type FileEntry,
  type LinkedDir,
  type OptionEntry,
  type SiteState,
} from '../../src/core/index.ts'

const SEED = Number(process.env.PEAKGUARD_PROP_SEED ?? 20261219)

const blob = (content: string) => createHash('sha1').update(content).digest('hex')
const f = (path: string, content = path, meta: Partial<FileEntry> = {}): FileEntry => ({ path, kind: 'file', blob: blob(content), mode: 0o644, uid: 33, gid: 33, ...meta })
const opt = (name: string, value: string): OptionEntry => ({ table: 'wp_options', name, blob: blob(value), autoload: 'yes' })
const dir = (path: string, mode = 0o755): DirEntry => ({ path, mode, uid: 33, gid: 33 })
const link = (path: string, target: string): LinkedDir => ({ path, target })

/** A state with settings: `options` by name → value; its sources and schema its own objects (compared by identity). */
function st(files: FileEntry[], o: { links?: LinkedDir[]; options?: Record<string, string>; dirs?: DirEntry[] } = {}): SiteState {
  const s = stateOf(files, o.links ?? [], Object.entries(o.options ?? {}).map(([n, v]) => opt(n, v)), o.dirs)
  return { ...s, sources: new Set(['wp_options']), schema: schemaOf([]) }
}

/** A state's files (or links) as sorted plain entries, for deepEqual. */
const filesOf = (s: Pick<SiteState, 'files'>) => [...s.files.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
const linksOf = (s: Pick<SiteState, 'links'>) => [...s.links.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
const pathsOf = (s: Pick<SiteState, 'files'>) => [...s.files.keys()].sort()
const namesOf = (s: SiteState) => Object.fromEntries([...s.options.values()].map((o) => [o.name, o.blob]))

// a small site: two plugin directories, a one-file plugin, a theme, a mu-plugin, a drop-in
const BASE: FileEntry[] = [
  f('plugins/shop/shop.php', 'shop v1'),
  f('plugins/shop/inc/cart.php', 'cart v1'),
  f('plugins/seo/seo.php', 'seo v1'),
  f('plugins/hello.php', 'hello'),
  f('themes/store/style.css', 'store v1'),
  f('mu-plugins/loader.php', 'loader'),
  f('object-cache.php', 'redis'),
]
const with_ = (files: FileEntry[], ...changes: FileEntry[]) => [...files.filter((x) => !changes.some((c) => c.path === x.path)), ...changes]
const without = (files: FileEntry[], prefix: string) => files.filter((x) => x.path !== prefix && !x.path.startsWith(`${prefix}/`))

describe('core: fleet — unit digests', () => {
  it('has one digest per unit: a theme or plugin directory, a one-file plugin, a mu-plugin, a drop-in, a linked directory; nothing for paths out of scope', () => {
    const s = st([...BASE, f('uploads/2026/a.jpg'), f('index.php')], { links: [link('themes/linked', '/usr/share/wordpress/themes/linked')] })
    assert.deepEqual([...unitDigests(s).keys()].sort(), ['mu-plugins/loader.php', 'object-cache.php', 'plugins/hello.php', 'plugins/seo', 'plugins/shop', 'themes/linked', 'themes/store'])
    for (const d of unitDigests(s).values()) assert.match(d, /^[0-9a-f]{28}$/)
    assert.equal(unitDigests(st([])).size, 0)
  })

  it('is the same for the same files and links, whatever order they were read in, and for a separately built copy', () => {
    const a = st(BASE, { links: [link('themes/linked', '/t')] })
    const b = st([...BASE].reverse().map((x) => ({ ...x })), { links: [link('themes/linked', '/t')] })
    assert.deepEqual(unitDigests(b), unitDigests(a))
    // the settings, and the directories' modes, are no part of it
    const c = st(BASE, { links: [link('themes/linked', '/t')], options: { blogname: 'other' }, dirs: [dir('plugins/shop', 0o700)] })
    assert.deepEqual(unitDigests(c), unitDigests(a))
  })

  it('changes for exactly the unit whose content, mode, owner, group, kind, name or link target changed', () => {
    const before = st(BASE, { links: [link('themes/linked', '/v1')] })
    const was = unitDigests(before)
    const cart = BASE[1] as FileEntry
    const cases: [string, SiteState, string][] = [
      ['content', st(with_(BASE, f('plugins/shop/inc/cart.php', 'cart v2')), { links: [link('themes/linked', '/v1')] }), 'plugins/shop'],
      ['mode', st(with_(BASE, { ...cart, mode: 0o600 }), { links: [link('themes/linked', '/v1')] }), 'plugins/shop'],
      ['owner', st(with_(BASE, { ...cart, uid: 0 }), { links: [link('themes/linked', '/v1')] }), 'plugins/shop'],
      ['group', st(with_(BASE, { ...cart, gid: 0 }), { links: [link('themes/linked', '/v1')] }), 'plugins/shop'],
      ['kind', st(with_(BASE, { ...cart, kind: 'symlink' }), { links: [link('themes/linked', '/v1')] }), 'plugins/shop'],
      ['name', st([...without(BASE, 'plugins/shop/inc'), { ...cart, path: 'plugins/shop/inc/basket.php' }], { links: [link('themes/linked', '/v1')] }), 'plugins/shop'],
      ['a file added', st([...BASE, f('plugins/seo/new.php')], { links: [link('themes/linked', '/v1')] }), 'plugins/seo'],
      ['the drop-in', st(with_(BASE, f('object-cache.php', 'memcached')), { links: [link('themes/linked', '/v1')] }), 'object-cache.php'],
      ['the one-file plugin', st(with_(BASE, f('plugins/hello.php', 'hello 2')), { links: [link('themes/linked', '/v1')] }), 'plugins/hello.php'],
      ['link target', st(BASE, { links: [link('themes/linked', '/v2')] }), 'themes/linked'],
    ]
    for (const [what, after, unit] of cases) {
      const now = unitDigests(after)
      const differ = [...new Set([...was.keys(), ...now.keys()])].filter((u) => was.get(u) !== now.get(u))
      assert.deepEqual(differ, [unit], what)
    }
  })

  it('with `only`, digests those units alone, each the same as in the full reading', () => {
    const s = st(BASE)
    const all = unitDigests(s)
    const some = unitDigests(s, new Set(['plugins/shop', 'object-cache.php', 'plugins/gone']))
    assert.deepEqual([...some.keys()].sort(), ['object-cache.php', 'plugins/shop'])
    for (const [u, d] of some) assert.equal(d, all.get(u), u)
    assert.equal(unitDigests(s, new Set()).size, 0)
  })
})

describe('core: fleet — a node\'s reading', () => {
  const head = st(BASE, { options: { blogname: 'Shop', active_plugins: 'shop,seo' } })

  it('a node\'s first reading with a head changes nothing (whatever its files) and keeps its reading per unit for next time', () => {
    // this node still has an older shop plugin and lacks seo, and its database view is the same as the leader's
    const live = st([...without(with_(BASE, f('plugins/shop/shop.php', 'shop v0')), 'plugins/seo'), f('plugins/extra/extra.php')], { options: { blogname: 'Live' } })
    for (const leads of [false, true]) {
      const r = nodeReading(live, head, null, null, leads)
      assert.deepEqual(r.changed, [])
      assert.deepEqual(filesOf(r.state), filesOf(head), 'the files are the newest state\'s')
      assert.deepEqual(r.base, unitDigests(live), 'the reading is kept per unit')
    }
  })

  it('the fleet\'s first reading (no head yet) is the live state, every unit changed', () => {
    const live = st(BASE, { options: { blogname: 'Shop' } })
    const r = nodeReading(live, null, null, null, false)
    assert.equal(r.state, live)
    assert.deepEqual(r.changed, [...unitDigests(live).keys()].sort())
    assert.deepEqual(r.base, unitDigests(live))
  })

  it('takes a unit changed on this node from its reading, and an unchanged one from the newest state even where the node\'s files differ (drift is not recorded back)', () => {
    const before = st(BASE, { links: [link('themes/linked', '/v1')] })
    // another node deployed seo v2, relinked the theme and added a plugin; this node did not get those
    const newest = st([...with_(BASE, f('plugins/seo/seo.php', 'seo v2')), f('plugins/fresh/fresh.php')], { links: [link('themes/linked', '/v2')], options: { blogname: 'Shop' } })
    // on this node: shop changed (v2), the drop-in changed; seo, the link and the fresh plugin are as they were
    const live = st(with_(BASE, f('plugins/shop/shop.php', 'shop v2'), f('object-cache.php', 'memcached')), { links: [link('themes/linked', '/v1')] })
    const r = nodeReading(live, newest, unitDigests(before), null, false)
    assert.deepEqual(r.changed, ['object-cache.php', 'plugins/shop'])
    const files = r.state.files
    assert.equal(files.get('plugins/shop/shop.php')?.blob, blob('shop v2'), 'this node\'s change')
    assert.equal(files.get('plugins/shop/inc/cart.php')?.blob, blob('cart v1'))
    assert.equal(files.get('object-cache.php')?.blob, blob('memcached'))
    assert.equal(files.get('plugins/seo/seo.php')?.blob, blob('seo v2'), 'the other node\'s deploy stays')
    assert.ok(files.has('plugins/fresh/fresh.php'), 'a unit only the newest state has stays')
    assert.deepEqual(linksOf(r.state), [link('themes/linked', '/v2')])
    assert.deepEqual(r.base, unitDigests(live))
  })

  it('removes a unit removed on this node, and records one added on it', () => {
    const before = st(BASE)
    const live = st([...without(BASE, 'plugins/seo'), f('plugins/new/new.php'), f('plugins/new/readme.txt')])
    const r = nodeReading(live, head, unitDigests(before), null, false)
    assert.deepEqual(r.changed, ['plugins/new', 'plugins/seo'])
    assert.deepEqual(pathsOf(r.state), pathsOf(st([...without(BASE, 'plugins/seo'), f('plugins/new/new.php'), f('plugins/new/readme.txt')])))
    assert.equal(r.base!.has('plugins/seo'), false, 'a removed unit leaves the reading')
    assert.ok(r.base!.has('plugins/new'))
  })

  it('a partial reading (`scanned`) considers only those units: the rest of live is the newest state\'s and is not a change', () => {
    // this node's files: seo older than the newest state (it drifts there), shop as before
    const before = st(with_(BASE, f('plugins/seo/seo.php', 'seo v0')))
    const newest = st(BASE, { options: { blogname: 'Shop' } })
    // the watcher reported shop (changed here) and plugins/gone (a unit removed here: absent from the scan)
    const beforeWithGone = st([...before.files.values(), f('plugins/gone/gone.php')])
    const scanned = new Set(['plugins/shop', 'plugins/gone'])
    const scan = { files: [f('plugins/shop/shop.php', 'shop v2'), f('plugins/shop/inc/cart.php', 'cart v1')], links: [] }
    const live = replaceUnits(st([...newest.files.values(), f('plugins/gone/gone.php')]), scan, scanned, [])
    const base = unitDigests(beforeWithGone)
    const r = nodeReading(live, st([...newest.files.values(), f('plugins/gone/gone.php')]), base, scanned, false)
    assert.deepEqual(r.changed, ['plugins/gone', 'plugins/shop'])
    assert.equal(r.state.files.get('plugins/shop/shop.php')?.blob, blob('shop v2'))
    assert.equal(r.state.files.has('plugins/gone/gone.php'), false)
    assert.equal(r.state.files.get('plugins/seo/seo.php')?.blob, blob('seo v1'))
    // the units not read keep this node's previous reading (seo v0), not the newest state's that live holds there
    assert.equal(r.base!.get('plugins/seo'), base.get('plugins/seo'))
    assert.notEqual(r.base!.get('plugins/seo'), unitDigests(newest).get('plugins/seo'))
    assert.equal(r.base!.get('plugins/shop'), unitDigests(live).get('plugins/shop'))
    assert.equal(r.base!.has('plugins/gone'), false)
    // an unchanged scanned unit is no change either
    const again = nodeReading(live, r.state, r.base, new Set(['plugins/shop']), false)
    assert.deepEqual(again.changed, [])
  })

  it('a follower keeps the newest state\'s settings, sources and schema; the leader takes live\'s', () => {
    const before = st(BASE)
    const live = st(with_(BASE, f('plugins/shop/shop.php', 'shop v2')), { options: { blogname: 'Changed here', siteurl: 'https://x' } })
    live.sources = new Set(['wp_options', 'wp_posts'])
    const follower = nodeReading(live, head, unitDigests(before), null, false)
    assert.deepEqual(namesOf(follower.state), namesOf(head))
    assert.equal(follower.state.sources, head.sources)
    assert.equal(follower.state.schema, head.schema)
    assert.equal(follower.state.files.get('plugins/shop/shop.php')?.blob, blob('shop v2'), 'a follower\'s files are recorded')
    const leader = nodeReading(live, head, unitDigests(before), null, true)
    assert.deepEqual(namesOf(leader.state), namesOf(live))
    assert.equal(leader.state.sources, live.sources)
    assert.equal(leader.state.schema, live.schema)
  })

  it('directories: a changed unit\'s from live, the others\' from the newest state; none read: the newest state\'s all kept', () => {
    const dirs = [dir('plugins/shop'), dir('plugins/shop/inc'), dir('plugins/seo')]
    const newest = st(BASE, { dirs })
    const before = st(BASE, { dirs })
    const live = st(with_(BASE, f('plugins/shop/shop.php', 'shop v2')), { dirs: [dir('plugins/shop', 0o700), dir('plugins/shop/inc'), dir('plugins/seo', 0o700)] })
    const r = nodeReading(live, newest, unitDigests(before), null, false)
    assert.deepEqual([...(r.state.dirs ?? new Map()).values()].map((d) => [d.path, d.mode.toString(8)]).sort(), [
      ['plugins/seo', '755'],
      ['plugins/shop', '700'],
      ['plugins/shop/inc', '755'],
    ])
    const noDirs = st(with_(BASE, f('plugins/shop/shop.php', 'shop v2')))
    const kept = nodeReading(noDirs, newest, unitDigests(before), null, false)
    assert.deepEqual(kept.state.dirs, newest.dirs)
  })
})

describe('core: fleet — drift', () => {
  const desired = st(BASE, { links: [link('themes/linked', '/v1')] })

  it('driftingUnits names the units where this node\'s reading is not the desired state\'s: added, removed, modified', () => {
    assert.deepEqual(driftingUnits(unitDigests(desired), desired), [])
    const live = st([...without(with_(BASE, f('plugins/shop/shop.php', 'shop v0')), 'plugins/seo'), f('plugins/extra/x.php')], { links: [link('themes/linked', '/v0')] })
    assert.deepEqual(driftingUnits(unitDigests(live), desired), ['plugins/extra', 'plugins/seo', 'plugins/shop', 'themes/linked'])
  })

  it('driftPaths names each differing path of the given units: added, removed, modified, mode only, owner only, link target, a link only here', () => {
    const cart = BASE[1] as FileEntry
    const live = st(
      [
        ...without(without(BASE, 'plugins/seo'), 'plugins/shop'),
        f('plugins/shop/shop.php', 'shop v0'),
        { ...cart, mode: 0o600 },
        f('plugins/shop/extra.php'),
        f('themes/store/style.css', 'store v1', { uid: 0 }),
      ],
      { links: [link('themes/linked', '/v0'), link('plugins/other', '/o')] },
    )
    const all = new Set([...unitDigests(desired).keys(), ...unitDigests(live).keys()])
    assert.deepEqual(driftPaths(live, desired, all), [
      'plugins/other',
      'plugins/seo/seo.php',
      'plugins/shop/extra.php',
      'plugins/shop/inc/cart.php',
      'plugins/shop/shop.php',
      'themes/linked',
      'themes/store/style.css',
    ])
    // only within the units asked about
    assert.deepEqual(driftPaths(live, desired, new Set(['plugins/shop'])), ['plugins/shop/extra.php', 'plugins/shop/inc/cart.php', 'plugins/shop/shop.php'])
    assert.deepEqual(driftPaths(desired, desired, all), [])
  })
})

// ── properties ───────────────────────────────────────────────────────────────────────────────────────

const UNITS = ['plugins/a', 'plugins/b', 'plugins/c', 'themes/t', 'mu-plugins/m.php', 'plugins/one.php', 'object-cache.php', 'db.php'] as const
const NAMES = ['x.php', 'inc/y.php', 'readme.txt', 'a b/ü.css'] as const

/** A random state: per unit maybe absent, else a few files with random content and metadata; maybe a linked theme. */
const stateArb: fc.Arbitrary<SiteState> = fc
  .record({
    units: fc.array(
      fc.record({
        unit: fc.constantFrom(...UNITS),
        files: fc.uniqueArray(fc.record({ name: fc.constantFrom(...NAMES), content: fc.constantFrom('1', '2', '3'), mode: fc.constantFrom(0o644, 0o600), uid: fc.constantFrom(0, 33) }), { selector: (x) => x.name, minLength: 1, maxLength: 3 }),
      }),
      { maxLength: 6 },
    ),
    link: fc.option(fc.constantFrom('/v1', '/v2'), { nil: null }),
    blogname: fc.constantFrom('A', 'B'),
  })
  .map(({ units, link: target, blogname }) => {
    const files: FileEntry[] = []
    for (const u of units)
      for (const x of u.files) {
        // a file-unit (one-file plugin, drop-in) is that one path
        const p = u.unit.endsWith('.php') ? u.unit : `${u.unit}/${x.name}`
        files.push(f(p, x.content, { mode: x.mode, uid: x.uid }))
      }
    return st(files, { links: target ? [link('themes/linked', target)] : [], options: { blogname } })
  })

describe('core: fleet — properties (seeded)', () => {
  it('nothing changed on this node since its reading → the recorded files and links are the newest state\'s, whatever the node holds', () => {
    fc.assert(
      fc.property(stateArb, stateArb, fc.boolean(), (live, head, leads) => {
        const r = nodeReading(live, head, unitDigests(live), null, leads)
        assert.deepEqual(r.changed, [])
        assert.deepEqual(filesOf(r.state), filesOf(head))
        assert.deepEqual(linksOf(r.state), linksOf(head))
        assert.deepEqual(r.base, unitDigests(live))
      }),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('every unit of a reading is either this node\'s (changed since its previous reading) or the newest state\'s', () => {
    fc.assert(
      fc.property(stateArb, stateArb, stateArb, (previous, live, head) => {
        const r = nodeReading(live, head, unitDigests(previous), null, false)
        const got = unitDigests(r.state)
        const mine = unitDigests(live)
        const theirs = unitDigests(head)
        const changed = new Set(r.changed)
        for (const u of new Set([...got.keys(), ...mine.keys(), ...theirs.keys()])) assert.equal(got.get(u), changed.has(u) ? mine.get(u) : theirs.get(u), u)
        // exactly the units whose reading moved
        const prev = unitDigests(previous)
        assert.deepEqual(r.changed, [...new Set([...prev.keys(), ...mine.keys(), ...theirs.keys()])].filter((u) => prev.get(u) !== mine.get(u)).sort())
        for (const p of r.state.files.keys()) assert.ok(unitOf(p), p)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })
})
