// What every SettingsPort must do, as the recorder and the restorer rely on it: rows by name with git's
// blob id of their exact bytes, NULL told apart from the empty string, values read as they are now, one
// all-or-nothing apply, and a fingerprint that moves when (and only when) a row that is state changes.
import assert from 'node:assert/strict'
import { optionKey, type OptionEntry, type OptionValue, type SettingsPort } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { blobId, EMPTY_BLOB } from '../memory/blob-id.ts'
import { enc, hex } from './states.ts'

/**
 * Odd bytes a utf8mb4 options table holds as they are: NULs, control characters, CR LF, quotes,
 * backslashes, 4-byte characters, a PHP-serialized value whose lengths count bytes. (Bytes that are not
 * UTF-8 at all a utf8mb4 column refuses, in strict mode, before any adapter sees them.)
 */
const ODD = enc('\u0000a:2:{s:5:"emoji";s:4:"🛒";s:3:"nul";s:1:"\u0000";}\r\n\t\u001b[31m\'"\\ %_ ünïcødé\u007f')

export interface SettingsFixture {
  settings: SettingsPort
  /** the main options table, e.g. wp_options */
  table: string
  /** a row as WordPress writes it (null: SQL NULL) */
  set(name: string, value: string | Uint8Array | null, autoload?: string): Promise<void>
  cleanup(): Promise<void>
}

/** Names a WordPress site really holds, and worse. */
const NAMES = ['blogname', 'ünïcødé 🛒', "it's \"quoted\" \\ back", 'tab\there', '100%_like', '']

export function describeSettingsContract(name: string, make: (ignoredOptions: readonly string[]) => Promise<SettingsFixture>): void {
  describe(`SettingsPort contract: ${name}`, () => {
    let fx: SettingsFixture
    let s: SettingsPort
    let t: string
    const row = (name: string, value: Uint8Array, autoload: string | null = 'yes', nullValue = false): OptionValue => ({ table: t, name, value, blob: blobId(value), autoload, ...(nullValue ? { nullValue: true as const } : {}) })
    const byName = async () => new Map((await s.read()).map((r) => [r.name, r]))

    before(async () => {
      fx = await make(['_transient_*', 'cron'])
      s = fx.settings
      t = fx.table
    })
    after(async () => {
      await s.close()
      await fx.cleanup()
    })

    it('reads every row with the blob id of its exact bytes, its autoload flag, and NULL apart from the empty string', async () => {
      await fx.set('bytes', ODD, 'no')
      await fx.set('nulled', null, 'yes')
      await fx.set('emptied', '', 'auto')
      for (const n of NAMES) await fx.set(n, `value of ${n}`)
      const rows = await byName()
      assert.deepEqual(rows.get('bytes'), { table: t, name: 'bytes', blob: blobId(ODD), autoload: 'no' })
      assert.deepEqual(rows.get('nulled'), { table: t, name: 'nulled', blob: EMPTY_BLOB, autoload: 'yes', nullValue: true })
      assert.deepEqual(rows.get('emptied'), { table: t, name: 'emptied', blob: EMPTY_BLOB, autoload: 'auto' })
      for (const n of NAMES) assert.equal(rows.get(n)?.blob, blobId(enc(`value of ${n}`)), JSON.stringify(n))
      assert.deepEqual(await s.duplicates(), [])
    })

    it('gives the values of rows as they are now: a row changed since it was listed comes with its new blob, a deleted one not at all', async () => {
      await fx.set('bytes', ODD, 'no')
      await fx.set('changes', 'before')
      await fx.set('goes', 'soon')
      const listed = [...(await byName()).values()].filter((r) => ['bytes', 'changes', 'goes', ...NAMES].includes(r.name))
      await fx.set('changes', 'after')
      await s.apply([], [{ table: t, name: 'goes' }])
      const v = await s.values(listed)
      assert.equal(hex(v.get(optionKey(t, 'bytes'))?.value as Uint8Array), hex(ODD))
      assert.deepEqual([Buffer.from(v.get(optionKey(t, 'changes'))?.value as Uint8Array).toString(), v.get(optionKey(t, 'changes'))?.blob], ['after', blobId(enc('after'))])
      assert.equal(v.has(optionKey(t, 'goes')), false)
      for (const n of NAMES) assert.equal(Buffer.from(v.get(optionKey(t, n))?.value ?? []).toString(), `value of ${n}`, JSON.stringify(n))
      assert.equal((await s.values([])).size, 0)
    })

    it('writes and deletes rows by name with their exact bytes, autoload and NULL, adding missing rows', async () => {
      await fx.set('blogname', 'Shop')
      await fx.set('doomed', 'x')
      const odd = enc('\u0000\u0001 \'quoted\' \\ 🛒\n')
      await s.apply([row('blogname', enc('Restored Shop'), 'no'), row('odd bytes', odd, 'yes'), row('ünïcødé 🛒', enc('ü'), 'auto'), row('was null', new Uint8Array(0), 'yes', true)], [{ table: t, name: 'doomed' }])
      const rows = await byName()
      assert.deepEqual(rows.get('blogname'), { table: t, name: 'blogname', blob: blobId(enc('Restored Shop')), autoload: 'no' })
      assert.equal(rows.get('odd bytes')?.blob, blobId(odd))
      assert.equal(rows.get('ünïcødé 🛒')?.autoload, 'auto')
      assert.equal(rows.get('was null')?.nullValue, true)
      assert.equal(rows.has('doomed'), false)
      const v = await s.values([rows.get('odd bytes') as OptionEntry, rows.get('was null') as OptionEntry])
      assert.equal(hex(v.get(optionKey(t, 'odd bytes'))?.value as Uint8Array), hex(odd))
      assert.equal(v.get(optionKey(t, 'was null'))?.value.length, 0)
      // a NULL written back as the empty string is a change
      await s.apply([row('was null', new Uint8Array(0), 'yes')], [])
      assert.equal((await byName()).get('was null')?.nullValue, undefined)
    })

    it('writes nothing at all when one row of the batch cannot be written (a table that is gone)', async () => {
      await fx.set('blogname', 'Shop')
      await assert.rejects(
        s.apply([row('blogname', enc('Half')), { ...row('x', enc('y')), table: `${t}_gone` }], [{ table: t, name: 'blogname' }]),
        (e) => e instanceof PeakguardError && e.code === 'DB_NO_TABLES',
      )
      assert.equal((await byName()).get('blogname')?.blob, blobId(enc('Shop')))
    })

    it('fingerprints the rows: the same while nothing changes, new when a value or an autoload flag changes, deaf to ignored rows', async () => {
      await fx.set('blogname', 'Shop')
      const a = await s.fingerprint()
      assert.equal(await s.fingerprint(), a)
      await fx.set('_transient_feed', 'noise')
      await fx.set('cron', 'a:0:{}')
      assert.equal(await s.fingerprint(), a, 'ignored rows are not state')
      await fx.set('blogname', 'Shop!')
      const b = await s.fingerprint()
      assert.notEqual(b, a)
      await fx.set('blogname', 'Shop!', 'no')
      assert.notEqual(await s.fingerprint(), b)
      await fx.set('blogname', 'Shop', 'yes')
      assert.equal(await s.fingerprint(), a, 'back as it was')
    })

    it('answers the home URL from the main options table, null without one', async () => {
      await s.apply([], [{ table: t, name: 'home' }])
      assert.equal(await s.homeUrl(), null)
      await fx.set('home', 'https://shop.example')
      s.forgetTables()
      assert.equal(await s.homeUrl(), 'https://shop.example')
    })
  })
}
