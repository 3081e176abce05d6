// Seeded property tests: random trees and random option values round-trip byte-exactly through
// snapshot → change → restore, on the real adapters (files on disk, MariaDB, the git journal).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import fc from 'fast-check'
import { loadConfig } from '../src/config.ts'
import { openSite, pickSite } from '../src/compose/sites.ts'
import { restore, snapshot } from '../src/services/index.ts'
import { createSite, optionRows, treeOf, type TestSite } from './harness/site.ts'

const SEED = Number(process.env.PEAKGUARD_SEED ?? 20261129)
const RUNS = Number(process.env.PEAKGUARD_RUNS ?? 6)

interface FileSpec {
  path: string
  bytes: Content
  mode: number
  link: string | null
}

const segment = fc.stringMatching(/^[A-Za-z0-9 _.'"%&()äöü€😀-]{1,12}$/).filter((s) => s !== '.' && s !== '..' && !s.startsWith('.~pg-'))
/** Content as a short description, so a counterexample prints small even when the bytes are megabytes. */
type Content = { small: Uint8Array } | { large: number }
const bytesOf = (c: Content): Uint8Array =>
  'small' in c ? c.small : new Uint8Array(c.large).map((_, i) => (i * 31 + c.large) & 0xff)
const bytes: fc.Arbitrary<Content> = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((small) => ({ small })) },
  { weight: 1, arbitrary: fc.constant({ small: new Uint8Array(0) }) },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 1_500_000 }).map((large) => ({ large })) },
)
const fileSpec = fc.record({
  dir: fc.constantFrom('plugins/prop-a', 'plugins/prop-b/sub', 'themes/prop-theme', 'mu-plugins'),
  name: segment,
  bytes,
  mode: fc.constantFrom(0o644, 0o755, 0o600, 0o664, 0o640),
  link: fc.option(fc.constantFrom('../prop-a/target.php', 'relative/link.txt', '/etc/hostname'), { freq: 8 }),
})
const tree = fc
  .uniqueArray(fileSpec, { maxLength: 25, selector: (f) => `${f.dir}/${f.name}`.toLowerCase() })
  .map((fs_) => fs_.map((f): FileSpec => ({ path: `${f.dir}/${f.name}`, bytes: f.bytes, mode: f.mode, link: f.link })))

// option names as WordPress allows them (varchar(191), unique without regard to case in its collation)
const utf8Name = fc.stringMatching(/^[a-z0-9_:.😀é-]{1,40}$/)
const latin1Name = fc.stringMatching(/^[a-z0-9_:.é-]{1,40}$/)
type Value = { text: string } | { bytes: Uint8Array } | { repeat: number }
const valueOf = (v: Value): Buffer =>
  'text' in v ? Buffer.from(v.text, 'utf8') : 'bytes' in v ? Buffer.from(v.bytes) : Buffer.alloc(v.repeat, 'x')
const utf8Value: fc.Arbitrary<Value> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 2000 }).map((text) => ({ text })), // any code point: 4-byte UTF-8, NUL
  fc.constant({ text: 'a:1:{s:3:"key";s:2:"\u0000x";}' }),
  fc.integer({ min: 1_000_000, max: 3_000_000 }).map((repeat) => ({ repeat })),
)
const anyBytes: fc.Arbitrary<Value> = fc.oneof(
  fc.uint8Array({ maxLength: 3000 }).map((bytes) => ({ bytes })),
  fc.constant({ bytes: Uint8Array.from([0xc3, 0x28, 0xff, 0x00, 0xa0]) }),
)

function options(name: fc.Arbitrary<string>, value: fc.Arbitrary<Value>) {
  return fc.uniqueArray(fc.record({ name, value, autoload: fc.constantFrom('yes', 'no', 'on', 'auto') }), {
    maxLength: 12,
    selector: (o) => o.name.toLowerCase(),
  })
}

function writeTree(root: string, files: FileSpec[]): void {
  for (const dir of ['plugins/prop-a', 'plugins/prop-b', 'themes/prop-theme']) fs.rmSync(path.join(root, dir), { recursive: true, force: true })
  for (const f of fs.readdirSync(path.join(root, 'mu-plugins'))) fs.rmSync(path.join(root, 'mu-plugins', f), { recursive: true, force: true })
  for (const f of files) {
    const p = path.join(root, f.path)
    fs.mkdirSync(path.dirname(p), { recursive: true })
    if (f.link) fs.symlinkSync(f.link, p)
    else {
      fs.writeFileSync(p, bytesOf(f.bytes))
      fs.chmodSync(p, f.mode)
      fs.chownSync(p, 33, 33)
    }
  }
}

async function writeOptions(site: TestSite, rows: { name: string; value: Value; autoload: string }[]): Promise<void> {
  await site.db.query(`DELETE FROM wp_options WHERE option_name LIKE 'prop\\_%'`)
  for (const r of rows) await site.db.execute(`INSERT INTO wp_options (option_name, option_value, autoload) VALUES (?, ?, ?)`, [`prop_${r.name}`, valueOf(r.value), r.autoload])
}

function property(label: string, name: fc.Arbitrary<string>, value: fc.Arbitrary<Value>, latin1: boolean) {
  it(label, async () => {
    const site = await createSite({ latin1 })
    const cfg = loadConfig(site.configFile)
    const s = await openSite(cfg, pickSite(cfg, 'shop'))
    try {
      await fc.assert(
        fc.asyncProperty(tree, options(name, value), tree, options(name, value), async (treeA, optsA, treeB, optsB) => {
          writeTree(site.wpContent, treeA)
          await writeOptions(site, optsA)
          const a = await snapshot(s, { trigger: 'manual' })
          const liveA = treeOf(site.wpContent)
          const rowsA = await optionRows(site.db, 'wp_options')

          writeTree(site.wpContent, treeB)
          await writeOptions(site, optsB)
          const b = await snapshot(s, { trigger: 'manual' })
          const liveB = treeOf(site.wpContent)
          const rowsB = await optionRows(site.db, 'wp_options')

          const backToA = await restore(s, { target: a.id })
          assert.equal(backToA.verified, true)
          assert.deepEqual(treeOf(site.wpContent), liveA)
          assert.deepEqual(await optionRows(site.db, 'wp_options'), rowsA)

          const forwardToB = await restore(s, { target: b.id })
          assert.equal(forwardToB.verified, true)
          assert.deepEqual(treeOf(site.wpContent), liveB)
          assert.deepEqual(await optionRows(site.db, 'wp_options'), rowsB)
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      )
    } finally {
      await s.close()
      await site.cleanup()
    }
  })
}

describe(`round trip (seed ${SEED}, ${RUNS} runs; PEAKGUARD_SEED/PEAKGUARD_RUNS to change)`, () => {
  property('random trees and UTF-8 option values (4-byte, NUL, multi-MB) come back byte-exact', utf8Name, utf8Value, false)
  property('random option bytes in a latin1 table (invalid UTF-8, binary) come back byte-exact', latin1Name, anyBytes, true)
})
