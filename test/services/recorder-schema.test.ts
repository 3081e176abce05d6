// The recorder and the database schema, on the memory adapters: a schema change alone is a snapshot that says
// it in words; the first reading with a schema over a newest snapshot without one (recorded before schemas
// were) is a snapshot of its own, once; the daemon's snapshot with the database down keeps the schema it had
// instead of looking like every table was dropped.
import assert from 'node:assert/strict'
import { diffStates, encodeSchema, type TableDef } from '../../src/core/index.ts'
import { snapshot } from '../../src/services/index.ts'
import { memorySite, type MemorySite } from '../memory/site.ts'

const OPTIONS: TableDef = {
  name: 'wp_options',
  engine: 'InnoDB',
  collation: 'utf8mb4_unicode_520_ci',
  columns: [{ name: 'option_name', type: 'varchar(191)', nullable: false, default: "''" }],
  indexes: [{ name: 'option_name', unique: true, columns: ['option_name'] }],
}
const LOG: TableDef = { name: 'wp_demo_log', engine: 'InnoDB', collation: 'utf8mb4_unicode_520_ci', columns: [{ name: 'id', type: 'bigint(20) unsigned', nullable: false, default: null }], indexes: [] }

describe('recorder: the database schema (memory adapters)', () => {
  let m: MemorySite
  beforeEach(() => {
    m = memorySite()
    m.settings.schemaTables.set(OPTIONS.name, OPTIONS)
  })

  it('a schema change alone is a snapshot whose summary and words name the table; an unchanged schema is no change', async () => {
    const a = await snapshot(m.site, { trigger: 'manual' })
    assert.equal((await m.journal.readState(a.id)).schema?.tables.size, 1)
    m.settings.schemaTables.set(LOG.name, LOG)
    const b = await snapshot(m.site, { trigger: 'poll' })
    assert.equal(b.created, true)
    assert.equal(b.summary, 'schema: wp_demo_log created')
    assert.deepEqual(b.words, ['table wp_demo_log created'])
    const [c] = await m.journal.log()
    assert.equal(c?.trailers['Peakguard-Summary'], 'schema: wp_demo_log created')
    assert.match(c?.trailers['Peakguard-Words'] ?? '', /table wp_demo_log created/)

    m.settings.schemaTables.set(LOG.name, { ...LOG, columns: [...LOG.columns, { name: 'extra', type: 'int(11)', nullable: true, default: 'NULL' }] })
    m.settings.set('demo_log_db_version', '2')
    const d = await snapshot(m.site, { trigger: 'poll' })
    assert.equal(d.summary, 'schema: wp_demo_log altered; options: demo_log_db_version')
    assert.ok(d.words?.includes('wp_demo_log: column `extra` added (int(11))'), JSON.stringify(d.words))
    // between the two snapshots, as `diff` computes it
    const between = diffStates(await m.journal.readState(a.id), await m.journal.readState(d.id))
    assert.deepEqual(between.schema?.map((x) => [x.table, x.change]), [['wp_demo_log', 'created']])

    const e = await snapshot(m.site, { trigger: 'scan' })
    assert.deepEqual([e.created, e.summary], [false, 'no change'])
  })

  it('a newest snapshot without a schema (recorded before schemas were): the next reading records it once, saying so', async () => {
    const a = await snapshot(m.site, { trigger: 'manual' })
    // the same state as an older peakguard recorded it: no schema
    const { schema: _, ...old } = await m.journal.readState(a.id)
    const legacy = await m.journal.commit({
      parent: a.id,
      state: old,
      diff: diffStates(old, old),
      filePath: () => assert.fail('no file is written'),
      fileContent: async () => assert.fail('no file is written'),
      optionValue: () => assert.fail('no value is written'),
      subject: 'recorded by an older peakguard',
      trailers: {},
    })
    assert.equal((await m.journal.readState(legacy)).schema, undefined)
    const r = await snapshot(m.site, { trigger: 'scan' })
    assert.deepEqual([r.created, r.summary], [true, 'now recording the database schema'])
    assert.equal(encodeSchema((await m.journal.readState(r.id)).schema ?? { tables: new Map() }), encodeSchema((await m.settings.schema())))
    const again = await snapshot(m.site, { trigger: 'scan' })
    assert.deepEqual([again.created, again.summary], [false, 'no change'])
  })

  it('with the database down, the daemon’s snapshot of a file change carries the schema over with the settings (from watcher units and from a full reading)', async () => {
    m.settings.schemaTables.set(LOG.name, LOG)
    const a = await snapshot(m.site, { trigger: 'manual' })
    const schema = encodeSchema((await m.journal.readState(a.id)).schema ?? assert.fail('no schema recorded'))
    m.settings.down = true
    m.files.put('plugins/hello.php', '<?php // changed while the database is down\n')
    const b = await snapshot(m.site, { trigger: 'watch', whenDbDown: 'carry', units: new Set(['plugins/hello.php']) })
    assert.equal(b.created, true)
    assert.equal(b.summary, 'plugins/hello.php (1 file)')
    assert.equal(encodeSchema((await m.journal.readState(b.id)).schema ?? assert.fail('schema lost')), schema)
    m.files.put('plugins/akismet/akismet.php', '<?php // also while it is down\n', { uid: 33, gid: 33 })
    const c = await snapshot(m.site, { trigger: 'scan', whenDbDown: 'carry' })
    assert.equal(c.created, true)
    assert.equal(encodeSchema((await m.journal.readState(c.id)).schema ?? assert.fail('schema lost')), schema)
    // back up: nothing about the schema to record
    m.settings.down = false
    const d = await snapshot(m.site, { trigger: 'poll', units: new Set() })
    assert.deepEqual([d.created, d.summary], [false, 'no change'])
  })

  it('names at most three tables in the summary, a renamed one with both names', async () => {
    m.settings.schemaTables.set(LOG.name, LOG)
    await snapshot(m.site, { trigger: 'manual' })
    m.settings.schemaTables.delete(LOG.name)
    m.settings.schemaTables.set('wp_demo_logs', { ...LOG, name: 'wp_demo_logs' })
    for (const t of ['wp_a', 'wp_b', 'wp_c']) m.settings.schemaTables.set(t, { ...LOG, name: t, columns: [{ name: t, type: 'int(11)', nullable: true, default: 'NULL' }] })
    const r = await snapshot(m.site, { trigger: 'poll' })
    assert.equal(r.summary, 'schema: wp_a created, wp_b created, wp_c created +1')
    assert.ok(r.words?.includes('table wp_demo_log renamed to wp_demo_logs'), JSON.stringify(r.words))
    m.settings.schemaTables.delete('wp_demo_logs')
    m.settings.schemaTables.set('wp_demo_log', LOG)
    assert.equal((await snapshot(m.site, { trigger: 'poll' })).summary, 'schema: wp_demo_logs renamed to wp_demo_log')
  })

  it('the first snapshot of a site holds its schema', async () => {
    const r = await snapshot(m.site, { trigger: 'manual' })
    assert.deepEqual([...((await m.journal.readState(r.id)).schema?.tables.keys() ?? [])], ['wp_options'])
  })
})
