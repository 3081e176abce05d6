// The bench's tree generator (bench/gen-wp-content.ts), run as the bench runs it: the same seed gives the same
// tree byte for byte, another seed another tree, and a plugin update rewrites the plugin the way WordPress's
// upgrader does with the changes the bench's report states. At scale 0.05 (~1,500 files, ~27 MB) to stay fast.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const GEN = path.join(REPO, 'bench/gen-wp-content.ts')
const SCALE = 0.05
const PLUGIN = 'wordpress-seo'

function gen(args: string[]): string {
  const r = spawnSync(process.execPath, [GEN, '--scale', String(SCALE), ...args], { encoding: 'utf8' })
  assert.equal(r.status, 0, `gen-wp-content ${args.join(' ')} failed:\n${r.stderr}`)
  return r.stdout
}

interface Listed {
  sha: string
  ino: number
}

/** Every file below `dir`: relative path → content hash and inode; directories as `dir/`. */
function listing(dir: string): Map<string, Listed> {
  const out = new Map<string, Listed>()
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const abs = path.join(e.parentPath, e.name)
    const rel = path.relative(dir, abs)
    if (e.isDirectory()) out.set(`${rel}/`, { sha: '', ino: 0 })
    else out.set(rel, { sha: createHash('sha256').update(fs.readFileSync(abs)).digest('hex'), ino: fs.statSync(abs).ino })
  }
  return out
}

const contentOnly = (m: Map<string, Listed>) => [...m].map(([p, l]) => `${p} ${l.sha}`).sort()

describe('bench tree generator (bench/gen-wp-content.ts)', function () {
  this.timeout(60_000)
  let T = ''
  before(() => {
    T = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-gen-'))
  })
  after(() => fs.rmSync(T, { recursive: true, force: true }))

  it('writes the same tree for the same seed, byte for byte, and another tree for another seed', () => {
    for (const [dir, seed] of [['a', '42'], ['b', '42'], ['c', '7']] as const) gen(['--out', path.join(T, dir, 'wp-content'), '--seed', seed, '--quiet'])
    const a = listing(path.join(T, 'a', 'wp-content'))
    const b = listing(path.join(T, 'b', 'wp-content'))
    const c = listing(path.join(T, 'c', 'wp-content'))
    assert.deepEqual(contentOnly(b), contentOnly(a))

    // what peakguard records and what it must leave alone are all there
    for (const p of ['plugins/woocommerce/woocommerce.php', `plugins/${PLUGIN}/${PLUGIN}.php`, 'themes/oceanwp/style.css', 'mu-plugins/shop-loader.php',
      'advanced-cache.php', 'object-cache.php', 'index.php', 'plugins/index.php', 'languages/de_DE.mo', 'uploads/woocommerce_uploads/.htaccess'])
      assert.ok(a.has(p), `${p} is missing from the generated tree`)
    const exts = new Set([...a.keys()].map((p) => path.extname(p)))
    for (const ext of ['.php', '.js', '.css', '.png', '.svg', '.json', '.po', '.mo', '.woff2']) assert.ok(exts.has(ext), `no ${ext} file in the tree`)

    // another seed: other names and other bytes, not a shuffled copy
    assert.notDeepEqual(contentOnly(c), contentOnly(a))
    // only what is too small to differ may coincide: empty files, the "Silence is golden" stubs, a few bytes
    const big = (dir: string, m: Map<string, Listed>) => [...m].filter(([p]) => !p.endsWith('/') && fs.statSync(path.join(T, dir, 'wp-content', p)).size > 64)
    const shaA = new Set(big('a', a).map(([, l]) => l.sha))
    const shared = big('c', c).filter(([, l]) => shaA.has(l.sha)).map(([p]) => p)
    assert.deepEqual(shared, [], 'seed 7 repeats files of seed 42')
  })

  it('at scale 1 plans a busy shop: ~30k files, ~580 MB, ~5.8k directories', () => {
    const total = spawnSync(process.execPath, [GEN, '--plan'], { encoding: 'utf8' }).stdout.split('\n').find((l) => l.startsWith('TOTAL')) ?? ''
    const m = /files=(\d+)\tdirs=(\d+)\tMB=([\d.]+)/.exec(total)
    assert.ok(m, `no TOTAL line in --plan: ${total}`)
    const [files, dirs, megabytes] = [Number(m[1]), Number(m[2]), Number(m[3])]
    assert.ok(Math.abs(files / 29_900 - 1) <= 0.1, `${files} files`)
    assert.ok(Math.abs(megabytes / 580 - 1) <= 0.1, `${megabytes} MB`)
    assert.ok(Math.abs(dirs / 5_800 - 1) <= 0.1, `${dirs} directories`)
  })

  it('rewrites a plugin on --update: every file new, 300 × scale changed, 10 × scale removed and added (half renames), nothing else touched', () => {
    const W = path.join(T, 'a', 'wp-content')
    const before = listing(W)
    gen(['--out', W, '--update', PLUGIN, '--update-seed', '3', '--quiet'])
    const after = listing(W)
    assert.ok(!fs.existsSync(path.join(W, 'upgrade')), 'the upgrade folder is left behind')

    const inPlugin = (p: string) => p.startsWith(`plugins/${PLUGIN}/`) && !p.endsWith('/')
    // outside the plugin: the very same files, not even rewritten
    const rest = (m: Map<string, Listed>) => [...m].filter(([p]) => !p.startsWith(`plugins/${PLUGIN}/`)).map(([p, l]) => `${p} ${l.sha} ${l.ino}`).sort()
    assert.deepEqual(rest(after), rest(before))

    const old = new Map([...before].filter(([p]) => inPlugin(p)))
    const now = new Map([...after].filter(([p]) => inPlugin(p)))
    const removed = [...old.keys()].filter((p) => !now.has(p))
    const added = [...now.keys()].filter((p) => !old.has(p))
    const changed = [...now.keys()].filter((p) => old.has(p) && old.get(p)?.sha !== now.get(p)?.sha)
    const renamed = added.filter((p) => removed.some((q) => old.get(q)?.sha === now.get(p)?.sha))
    const expect = (atScale1: number) => Math.max(1, Math.round(atScale1 * SCALE))
    assert.equal(removed.length, expect(10))
    assert.equal(added.length, expect(10))
    assert.equal(renamed.length, Math.floor(expect(10) / 2))
    // 300 × scale with new content plus the main file's version header; a changed file of a byte or two
    // may come out the same
    assert.ok(changed.length >= expect(300) - 2 && changed.length <= expect(300) + 1, `${changed.length} files with new content`)
    assert.ok(changed.includes(`plugins/${PLUGIN}/${PLUGIN}.php`), 'the main file (its version header) is unchanged')
    assert.match(fs.readFileSync(path.join(W, 'plugins', PLUGIN, `${PLUGIN}.php`), 'latin1'), /^<\?php\n\/\*\*\n \* Plugin Name: WordpressSeo\n \* Version: 6\.\d\.\d\n/)
    // unpacked anew, as WordPress does: no file keeps its inode
    const kept = [...now].filter(([p, l]) => old.get(p)?.ino === l.ino)
    assert.deepEqual(kept, [])

    // update seed 0 writes the pristine plugin back
    gen(['--out', W, '--update', PLUGIN, '--update-seed', '0', '--quiet'])
    assert.deepEqual(contentOnly(listing(W)), contentOnly(before))
  })
})
