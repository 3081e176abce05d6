// The freeze gate and a database migration (memory adapters, a hand-driven clock): peakguard cannot revert a
// schema change, so a change during a freeze that includes one — or a migration marker — is held whatever the
// policy (even revert), says why in words, and is notified; a schema-only change (an ALTER TABLE with no row
// changed) opens a request too; a plain option change is still reverted. Rejecting a held request puts back
// the files and options peakguard can and leaves the schema and the live markers, and says so.
import assert from 'node:assert/strict'
import { allowCovers, type Actor, type Attribution, type FreezePolicy, type FreezeSpan, type TableDef } from '../../src/core/index.ts'
import { attributionTrailers, decide, Gate, loadRequest, snapshot } from '../../src/services/index.ts'
import { liveOf, memorySite, type MemorySite } from '../memory/site.ts'

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
const MALLORY: Attribution = { kind: 'wordpress', who: 'mallory', wpUserId: 3, ip: '10.0.0.9', label: 'wp:mallory (#3) from 10.0.0.9' }
const BOB: Actor = { name: 'bob', role: 'approver', via: 'token' }
const HOUR = 3600_000

const logTable = (extra: boolean): TableDef => ({
  name: 'wp_hello_log',
  engine: 'InnoDB',
  collation: 'utf8mb4_unicode_ci',
  columns: [{ name: 'id', type: 'bigint(20) unsigned', nullable: false, default: null }, ...(extra ? [{ name: 'extra', type: 'int(11)', nullable: true, default: null }] : [])],
  indexes: [{ name: 'PRIMARY', unique: true, columns: ['id'] }],
})
const ALTERED = 'wp_hello_log: column `extra` added (int(11))'
const fileText = async (m: MemorySite, path: string) => Buffer.from(await m.files.read(path)).toString()

describe('freeze gate and database migrations (memory adapters)', () => {
  let m: MemorySite
  let freeze: FreezeSpan | null
  let base: string

  const gate = (policy: FreezePolicy) =>
    new Gate({
      ...m.governance,
      site: m.site,
      log: quiet,
      policy,
      freezeAt: async (now) => (freeze && freeze.start <= now && now < freeze.end ? freeze : null),
      coverage: async (now) => (item) => allowCovers([], item, now),
      identities: async () => (user) => [user],
    })
  const recordMallory = async () => {
    const r = await snapshot(m.site, { trigger: 'poll', trailers: attributionTrailers(MALLORY) })
    assert.equal(r.created, true)
    return r.id
  }

  beforeEach(async () => {
    m = memorySite()
    freeze = null
    m.settings.schemaTables.set('wp_hello_log', logTable(false))
    m.settings.set('hello_db_version', '1')
    base = (await snapshot(m.site, { trigger: 'manual' })).id
    assert.deepEqual(await gate('revert').check(m.clock.now), [])
    freeze = { source: 'black-friday', start: m.clock.advance(HOUR), end: m.clock.now + 24 * HOUR, reason: 'peak sales' }
  })

  for (const policy of ['revert', 'hold', 'alert'] as const) {
    it(`holds an ALTER TABLE plus a migration-marker change under policy ${policy}: not reverted, the reason in words, notified`, async () => {
      m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0\n')
      m.settings.schemaTables.set('wp_hello_log', logTable(true))
      m.settings.set('hello_db_version', '2')
      const attempted = await recordMallory()
      const changed = await liveOf(m)
      const [r, ...more] = await gate(policy).check(m.clock.advance(60_000))
      assert.deepEqual(more, [])
      assert.ok(r)
      assert.deepEqual([r.base, r.attempted, r.items, r.schema, r.policy, r.reverted, r.status], [base, attempted, { paths: ['plugins/hello.php'], options: ['hello_db_version'] }, [ALTERED], 'hold', false, 'pending'])
      assert.equal(
        r.held,
        `the database schema changed (${ALTERED}); peakguard cannot revert a schema change, and migration markers changed (hello_db_version); peakguard does not put a marker back without the schema it describes`,
      )
      assert.deepEqual(await liveOf(m), changed, 'nothing was reverted')
      assert.equal(await m.journal.head(), attempted, 'no revert was recorded')
      assert.deepEqual(m.notify.events(), ['freeze-violation'])
      assert.match(m.notify.sent[0]?.summary ?? '', /by wp:mallory \(#3\) from 10\.0\.0\.9 — holds: the database schema changed \(wp_hello_log: column `extra` added \(int\(11\)\)\); peakguard cannot revert a schema change, .* kept live, held for a decision \(request /)
      assert.deepEqual(m.notify.sent[0]?.details.tables, ['wp_hello_log'])
      assert.deepEqual(m.audit.map((e) => e.type), ['change-request'])
      assert.match(m.audit[0]?.summary ?? '', /holds: the database schema changed/)
      assert.deepEqual(await gate(policy).check(m.clock.advance(60_000)), [], 'one request per change')
    })
  }

  it('opens a request for a schema-only change (an ALTER TABLE, no row changed)', async () => {
    m.settings.schemaTables.set('wp_hello_log', logTable(true))
    const attempted = await recordMallory()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual([r?.attempted, r?.items, r?.schema, r?.policy, r?.reverted], [attempted, { paths: [], options: [] }, [ALTERED], 'hold', false])
    assert.match(r?.held ?? '', /^the database schema changed \(wp_hello_log: column `extra` added \(int\(11\)\)\); peakguard cannot revert a schema change$/)
    assert.match(r?.summary ?? '', /wp_hello_log/)
    assert.deepEqual(m.notify.events(), ['freeze-violation'])
  })

  it('holds a migration-marker change without a schema change (WooCommerce’s HPOS switch), and a rejection keeps the marker live', async () => {
    m.settings.set('blogname', 'Mallory’s Shop')
    m.settings.set('woocommerce_custom_orders_table_enabled', 'no')
    await recordMallory()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual([r?.items.options, r?.policy, r?.reverted, r?.schema], [['blogname', 'woocommerce_custom_orders_table_enabled'], 'hold', false, undefined])
    assert.equal(r?.held, 'migration markers changed (woocommerce_custom_orders_table_enabled); peakguard does not put a marker back without the schema it describes')
    assert.ok(r)
    const d = await decide(m.governance, m.site, { id: r.id, actor: BOB, approve: false, note: '', breakGlass: null })
    assert.equal(m.settings.get('blogname'), 'Shop', 'the plain option is reverted')
    assert.equal(m.settings.get('woocommerce_custom_orders_table_enabled'), 'no', 'the marker stays as it is live')
    assert.match(d.request.outcome ?? '', /; the migration markers \(woocommerce_custom_orders_table_enabled\) stay as they are live: peakguard does not put a marker back without the schema it describes$/)
  })

  it('still reverts a plain option change under policy revert (the schema unchanged)', async () => {
    const before = await liveOf(m)
    m.settings.set('blogname', 'Mallory’s Shop')
    await recordMallory()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual([r?.items, r?.policy, r?.reverted, r?.held, r?.schema], [{ paths: [], options: ['blogname'] }, 'revert', true, undefined, undefined])
    assert.deepEqual(await liveOf(m), before)
    assert.match(m.notify.sent[0]?.summary ?? '', /reverted, waiting for approval/)
  })

  it('rejecting a held request puts back the code, keeps the schema and the live marker, and says so', async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0\n')
    m.settings.schemaTables.set('wp_hello_log', logTable(true))
    m.settings.set('hello_db_version', '2')
    await recordMallory()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.ok(r)
    const d = await decide(m.governance, m.site, { id: r.id, actor: BOB, approve: false, note: 'not during the sale', breakGlass: null })
    assert.equal(await fileText(m, 'plugins/hello.php'), '<?php // Hello Dolly\n', 'the code is back')
    assert.equal(m.settings.get('hello_db_version'), '2', 'the marker stays as it is live')
    assert.deepEqual([...m.settings.schemaTables.keys()], ['wp_hello_log'])
    assert.match(
      d.request.outcome ?? '',
      /^reverted to \w+ \((NOT )?verified\); the database schema \(wp_hello_log: column `extra` added \(int\(11\)\)\) and the migration markers \(hello_db_version\) stay as they are live: peakguard cannot revert a schema change$/,
    )
    assert.deepEqual([d.request.status, (await loadRequest(m.governance.docs, r.id)).status], ['rejected', 'rejected'])
    assert.match(m.notify.sent.at(-1)?.summary ?? '', /rejected by bob: not during the sale — reverted to .* stay as they are live/)
  })

  it('approving a held request keeps it all live', async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0\n')
    m.settings.schemaTables.set('wp_hello_log', logTable(true))
    m.settings.set('hello_db_version', '2')
    await recordMallory()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.ok(r?.held)
    const live = await liveOf(m)
    const ok = await decide(m.governance, m.site, { id: r.id, actor: BOB, approve: true, note: '', breakGlass: null })
    assert.equal(ok.request.outcome, 'kept live')
    assert.deepEqual(await liveOf(m), live)
    assert.deepEqual(m.settings.schemaTables.get('wp_hello_log'), logTable(true))
  })

  it('holds a schema change made right after a restore (the restore’s own state keeps the schema it found)', async () => {
    m.settings.set('blogname', 'Mallory’s Shop')
    await recordMallory()
    const [reverted] = await gate('revert').check(m.clock.advance(60_000))
    assert.equal(reverted?.reverted, true)
    m.settings.schemaTables.set('wp_hello_log', { ...logTable(false), collation: 'utf8mb4_general_ci' })
    await recordMallory()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual([r?.schema, r?.policy, r?.reverted], [['wp_hello_log: collation utf8mb4_unicode_ci → utf8mb4_general_ci'], 'hold', false])
  })
})
