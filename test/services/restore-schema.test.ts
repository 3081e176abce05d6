// Restores across a database migration (issue 18) on the memory adapters: a plugin update that created a
// table and bumped its `_db_version`. Without the acknowledgement the restore is refused before anything is
// recorded or written; with it the code and settings go back while the live schema and migration markers
// stay; an admin may write the markers too; an automatic rollback never crosses one, nor goes where it
// cannot tell; a restore a crash interrupted keeps the live layout as the restore would have.
import assert from 'node:assert/strict'
import type { TableDef } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { restore, snapshot } from '../../src/services/index.ts'
import { liveOf, memorySite, type MemorySite } from '../memory/site.ts'

const OPTIONS: TableDef = {
  name: 'wp_options',
  engine: 'InnoDB',
  collation: 'utf8mb4_unicode_ci',
  columns: [
    { name: 'option_id', type: 'bigint(20) unsigned', nullable: false, default: null },
    { name: 'option_name', type: 'varchar(191)', nullable: false, default: "''" },
  ],
  indexes: [{ name: 'PRIMARY', unique: true, columns: ['option_id'] }],
}
const LOG: TableDef = { ...OPTIONS, name: 'wp_hello_migrate_log', columns: [{ name: 'id', type: 'bigint(20)', nullable: false, default: null }], indexes: [] }

const rejectsWith = (code: string, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof PeakguardError, String(e))
  assert.equal(e.code, code)
  assert.match(e.message, re)
  return true
}

describe('restore across a database migration (memory adapters)', () => {
  let m: MemorySite
  let before: string

  /** version 2 of a plugin: new code, a table of its own, its db version bumped; and a broken setting */
  function update(): void {
    m.files.put('plugins/hello-migrate/hello-migrate.php', '<?php /* Plugin Name: Hello Migrate\n Version: 2.0 */\n')
    m.settings.schemaTables.set(LOG.name, LOG)
    m.settings.set('hello_migrate_db_version', '2')
    m.settings.set('blogname', 'Broken by 2.0')
  }

  beforeEach(async () => {
    m = memorySite()
    m.settings.schemaTables.set(OPTIONS.name, OPTIONS)
    m.files.put('plugins/hello-migrate/hello-migrate.php', '<?php /* Plugin Name: Hello Migrate\n Version: 1.0 */\n')
    m.settings.set('hello_migrate_db_version', '1')
    before = (await snapshot(m.site, { trigger: 'manual' })).id
  })

  it('is refused without the acknowledgement, naming the table and the marker, before anything is recorded or written', async () => {
    update()
    await snapshot(m.site, { trigger: 'watch' })
    const live = await liveOf(m)
    const commits = (await m.journal.log()).length
    await assert.rejects(restore(m.site, { target: before }), rejectsWith('SCHEMA_CHANGE', /table wp_hello_migrate_log created.*hello_migrate_db_version.*--across-schema-change/s))
    assert.deepEqual(await liveOf(m), live, 'nothing was written')
    assert.equal((await m.journal.log()).length, commits, 'not even a safety snapshot')
    assert.equal(await m.dir.readIntent(), null)
  })

  it('a dry run says what it means first: the schema since, the markers, and that both stay live', async () => {
    update()
    const r = await restore(m.site, { target: before, dryRun: true })
    assert.deepEqual(r.layout, {
      crosses: true,
      schema: ['table wp_hello_migrate_log created'],
      tables: ['wp_hello_migrate_log'],
      markers: ['hello_migrate_db_version'],
      markersRestored: [],
      unknown: false,
      acknowledged: false,
    })
    assert.deepEqual(r.plan.options.map((o) => o.name), ['blogname'], 'the plan leaves the marker alone')
    assert.deepEqual(r.plan.files.map((f) => f.path), ['plugins/hello-migrate/hello-migrate.php'])
  })

  it('acknowledged: the code and settings go back, the live schema and marker stay, verified and said in the journal', async () => {
    update()
    const r = await restore(m.site, { target: before, acrossSchemaChange: true, actor: 'alice' })
    assert.equal(r.verified, true)
    assert.equal(r.layout?.acknowledged, true)
    assert.match(new TextDecoder().decode(await m.files.read('plugins/hello-migrate/hello-migrate.php')), /Version: 1\.0/)
    const rows = new Map((await liveOf(m)).options.map(([name, blob]) => [name, blob]))
    const recorded = await m.journal.readState(before)
    assert.equal(rows.get('blogname'), recorded.options.get('wp_options\u0000blogname')?.blob, 'the setting is back')
    assert.notEqual(rows.get('hello_migrate_db_version'), recorded.options.get('wp_options\u0000hello_migrate_db_version')?.blob, 'the marker stays at 2')
    assert.ok((await m.settings.schema()).tables.has('wp_hello_migrate_log'), 'the table is untouched')
    const [restored] = await m.journal.log()
    assert.deepEqual(JSON.parse(restored?.trailers['Peakguard-Across-Schema-Change'] ?? 'null'), { tables: ['wp_hello_migrate_log'], markers: ['hello_migrate_db_version'], markersRestored: [] })
  })

  it('--restore-markers writes the old markers too (for whoever restored the tables from a backup)', async () => {
    update()
    const r = await restore(m.site, { target: before, acrossSchemaChange: true, restoreMarkers: true })
    assert.equal(r.verified, true)
    assert.deepEqual([r.layout?.markersRestored, r.layout?.markers], [['hello_migrate_db_version'], []])
    const v = await m.settings.values([...(await m.settings.read())].filter((o) => o.name === 'hello_migrate_db_version'))
    assert.equal(new TextDecoder().decode([...v.values()][0]?.value), '1')
  })

  it('an automatic rollback never crosses one, acknowledged or not; a code-only break still goes back', async () => {
    update()
    await assert.rejects(restore(m.site, { target: before, trigger: 'auto-rollback', acrossSchemaChange: true }), rejectsWith('SCHEMA_CHANGE', /automatic rollback .* is not done: the database schema changed/))
    // the same break without a migration
    m.settings.schemaTables.delete(LOG.name)
    m.settings.set('hello_migrate_db_version', '1')
    const r = await restore(m.site, { target: before, trigger: 'auto-rollback' })
    assert.equal(r.verified, true)
    assert.equal(r.layout, null)
  })

  it('a state recorded before schemas were: a person restores it (told so); automation does not', async () => {
    // what an older peakguard recorded: no schema
    const old = await m.journal.readState(before)
    delete old.schema
    const oldId = await m.journal.commit({
      parent: await m.journal.head(),
      state: old,
      diff: { files: [], options: [], links: [], dirs: [] },
      filePath: (p) => p,
      fileContent: async () => new Uint8Array(),
      optionValue: () => new Uint8Array(),
      subject: 'recorded by an older peakguard',
      trailers: {},
    })
    m.settings.set('blogname', 'changed')
    await assert.rejects(restore(m.site, { target: oldId, trigger: 'auto-rollback' }), rejectsWith('SCHEMA_CHANGE', /recorded before peakguard kept the database schema/))
    const r = await restore(m.site, { target: oldId })
    assert.equal(r.verified, true)
    assert.deepEqual([r.layout?.crosses, r.layout?.unknown], [false, true])
  })

  it('a restore a crash interrupted is finished keeping the live layout', async () => {
    update()
    const safety = (await snapshot(m.site, { trigger: 'manual' })).id
    await m.dir.writeIntent({ target: before, safetySnapshot: safety, only: null, startedAt: new Date(m.clock.now).toISOString(), layout: { tables: ['wp_hello_migrate_log'], markers: ['hello_migrate_db_version'], restoreMarkers: false } })
    const s = await snapshot(m.site, { trigger: 'manual' })
    assert.match(s.finishedRestore ?? '', /finished the restore/)
    const rows = new Map((await liveOf(m)).options.map(([name, blob]) => [name, blob]))
    const recorded = await m.journal.readState(before)
    assert.equal(rows.get('blogname'), recorded.options.get('wp_options\u0000blogname')?.blob)
    assert.notEqual(rows.get('hello_migrate_db_version'), recorded.options.get('wp_options\u0000hello_migrate_db_version')?.blob)
  })
})
