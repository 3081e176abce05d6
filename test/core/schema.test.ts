// The schema model of issue 18 (src/core/schema.ts) on plain values: a migration said in words (tables
// created, dropped, renamed; columns added, dropped, renamed, changed; indexes, engine, collation), hostile
// names shown as escapes, the journal's text read back or refused, migration markers, and what a restore
// across a schema change keeps live.
import assert from 'node:assert/strict'
import {
  crosses,
  decodeSchema,
  diffSchema,
  diffStates,
  encodeSchema,
  isEmptyDiff,
  keepLayout,
  layoutCrossing,
  markerRule,
  overlayState,
  schemaChangeText,
  schemaOf,
  schemaTables,
  stateOf,
  type ColumnDef,
  type OptionEntry,
  type SchemaInfo,
  type SiteState,
  type TableDef,
} from '../../src/core/index.ts'

const col = (name: string, type = 'bigint(20) unsigned', nullable = false, def: string | null = null): ColumnDef => ({ name, type, nullable, default: def })
const table = (name: string, columns: ColumnDef[], o: Partial<TableDef> = {}): TableDef => ({
  name,
  engine: 'InnoDB',
  collation: 'utf8mb4_unicode_ci',
  columns,
  indexes: [{ name: 'PRIMARY', unique: true, columns: [columns[0]?.name ?? 'id'] }],
  ...o,
})
const OPTIONS = table('wp_options', [col('option_id'), col('option_name', 'varchar(191)'), col('option_value', 'longtext'), col('autoload', 'varchar(20)', false, "'yes'")])
const opt = (name: string, blob: string, table = 'wp_options'): OptionEntry => ({ table, name, blob, autoload: 'yes' })
const state = (schema: SchemaInfo | undefined, options: OptionEntry[]): SiteState => ({ ...stateOf([], [], options), ...(schema ? { schema } : {}) })

describe('core/schema: the database schema of a state', () => {
  it('says a migration in words: a table created, a column added, an index, a renamed column', () => {
    const v1 = schemaOf([OPTIONS, table('wp_edd_orders', [col('id'), col('state', 'varchar(20)', false, "'pending'")])])
    const v2 = schemaOf([
      OPTIONS,
      table('wp_edd_orders', [col('id'), col('status', 'varchar(20)', false, "'pending'"), col('total', 'decimal(18,9)', true, 'NULL')], {
        indexes: [
          { name: 'PRIMARY', unique: true, columns: ['id'] },
          { name: 'status', unique: false, columns: ['status(20)'] },
        ],
      }),
      table('wp_wc_orders', [col('id')]),
    ])
    assert.deepEqual(diffSchema(v1, v2).map(schemaChangeText), [
      'wp_edd_orders: column `state` renamed to `status`; column `total` added (decimal(18,9)); index `status` (status(20)) added',
      'table wp_wc_orders created',
    ])
    assert.deepEqual(diffSchema(v2, v1).map(schemaChangeText), [
      'wp_edd_orders: column `total` dropped; column `status` renamed to `state`; index `status` (status(20)) dropped',
      'table wp_wc_orders dropped',
    ])
    assert.deepEqual(diffSchema(v1, v1), [], 'the same schema is no change')
  })

  it('tells a changed type, nullability, default, engine and collation, and a renamed table', () => {
    const a = schemaOf([table('wp_log', [col('id'), col('msg', 'text', true, 'NULL')], { engine: 'MyISAM' }), table('wp_old', [col('id'), col('x', 'int(11)')])])
    const b = schemaOf([
      table('wp_log', [col('id'), col('msg', 'mediumtext', false, "''")], { engine: 'InnoDB', collation: 'utf8mb4_general_ci' }),
      table('wp_new', [col('id'), col('x', 'int(11)')]),
    ])
    assert.deepEqual(diffSchema(a, b).map(schemaChangeText), [
      "wp_log: column `msg` changed: text → mediumtext NOT NULL DEFAULT ''; engine MyISAM → InnoDB; collation utf8mb4_unicode_ci → utf8mb4_general_ci",
      'table wp_old renamed to wp_new',
    ])
    assert.deepEqual(schemaTables(diffSchema(a, b)), ['wp_log', 'wp_new', 'wp_old'])
  })

  it('shows a hostile table or column name as escapes, never as a line break or markup the terminal obeys', () => {
    const evil = 'wp_x\n\u001b[31mred\u0000'
    const a = schemaOf([table('wp_t', [col('id')])])
    const b = schemaOf([table('wp_t', [col('id'), col('a\tb\r\n')]), table(evil, [col('id')])])
    const text = diffSchema(a, b).map(schemaChangeText).join('\n')
    assert.equal(text.split('\n').length, 2, text)
    assert.ok(!/[\u0000-\u0008\u000b-\u001f]/.test(text), text)
    assert.match(text, /wp_x\\n\\x1b\[31mred\\x00 created/)
    assert.match(text, /column `a\\tb\\r\\n` added/)
  })

  it('keeps the schema in the journal as JSON that reads back equal, and refuses anything else naming what is wrong', () => {
    const s = schemaOf([OPTIONS, table('wp_ü ñ "q" `b`', [col('id'), col('naïve', 'varchar(10)', true, "'it''s'")])])
    const text = encodeSchema(s)
    assert.equal(encodeSchema(decodeSchema(text)), text)
    assert.deepEqual(diffSchema(decodeSchema(text), s), [])
    // equal schemas are equal bytes whatever order the server listed them in
    assert.equal(encodeSchema(schemaOf([...s.tables.values()].reverse())), text)
    assert.throws(() => decodeSchema('{'), /meta\/schema: not JSON/)
    assert.throws(() => decodeSchema('{"v":2,"tables":[]}'), /not a version 1 schema/)
    assert.throws(() => decodeSchema('{"v":1,"tables":[{"name":1,"columns":[],"indexes":[]}]}'), /a table name is not a string/)
    assert.throws(() => decodeSchema('{"v":1,"tables":[{"name":"t","engine":null,"collation":null,"columns":[{"name":"c","type":5}],"indexes":[]}]}'), /a column type of t is not a string/)
  })

  it('a schema change alone is a change to record; a state without a schema says nothing about it', () => {
    const a = schemaOf([OPTIONS])
    const b = schemaOf([OPTIONS, table('wp_new', [col('id')])])
    const d = diffStates(state(a, []), state(b, []))
    assert.equal(isEmptyDiff(d), false)
    assert.deepEqual(d.schema?.map(schemaChangeText), ['table wp_new created'])
    assert.equal(isEmptyDiff(diffStates(state(undefined, []), state(b, []))), true, 'an old state (no schema) against a new one is no schema change')
  })
})

describe('core/schema: migration markers and restores across a schema change', () => {
  const isMarker = markerRule(['edd_*_version'])

  it('knows the options that describe a data layout, and a site adds its own', () => {
    for (const n of ['db_version', 'woocommerce_db_version', 'hello_migrate_db_version', 'woocommerce_schema_version', 'wpdb_edd_orders_version', 'woocommerce_custom_orders_table_enabled', 'woocommerce_custom_orders_table_data_sync_enabled', 'action_scheduler_migration_status', 'edd_orders_version', '1:woocommerce_db_version'])
      assert.equal(isMarker(n), true, n)
    for (const n of ['blogname', 'woocommerce_version', 'active_plugins', 'db_version_x', 'table:wp_woocommerce_tax_rates#1', 'entity:wp_template/tt3/db_version'])
      assert.equal(isMarker(n), false, n)
    assert.equal(markerRule()('edd_orders_version'), false, 'the site glob is the site’s own')
  })

  const v1 = schemaOf([OPTIONS, table('wp_wc_webhooks', [col('webhook_id'), col('name', 'text')])])
  const v2 = schemaOf([OPTIONS, table('wp_wc_webhooks', [col('webhook_id'), col('name', 'text'), col('pending', 'int(11)', true, 'NULL')]), table('wp_hello_migrate_log', [col('id')])])
  const target = state(v1, [opt('blogname', 'b-old'), opt('hello_migrate_db_version', 'v1'), opt('table:wp_wc_webhooks#1', 'w-old', 'wp_wc_webhooks'), opt('woocommerce_db_version', 'wc-same')])
  const live = state(v2, [opt('blogname', 'b-new'), opt('hello_migrate_db_version', 'v2'), opt('table:wp_wc_webhooks#1', 'w-new', 'wp_wc_webhooks'), opt('woocommerce_db_version', 'wc-same'), opt('woocommerce_custom_orders_table_enabled', 'yes')])

  it('sees the crossing: the schema since the target, the markers that differ (a marker only one side has too)', () => {
    const c = layoutCrossing(live, target, isMarker)
    assert.equal(crosses(c), true)
    assert.deepEqual(c.schema.map(schemaChangeText), ['table wp_hello_migrate_log created', 'wp_wc_webhooks: column `pending` added (int(11))'])
    assert.deepEqual(c.markers.map((m) => m.name), ['hello_migrate_db_version', 'woocommerce_custom_orders_table_enabled'])
    assert.equal(c.unknown, false)
    const same = layoutCrossing(live, { ...live, options: new Map(live.options) }, isMarker)
    assert.equal(crosses(same), false)
    const old = layoutCrossing(live, state(undefined, [...live.options.values()]), isMarker)
    assert.deepEqual([crosses(old), old.unknown], [false, true], 'a target without a schema: nothing can be said, and it is said')
  })

  it('a marker that changed with no schema change (HPOS switched on) is a crossing too', () => {
    const before = state(v2, [opt('woocommerce_custom_orders_table_enabled', 'no')])
    const after = state(v2, [opt('woocommerce_custom_orders_table_enabled', 'yes')])
    const c = layoutCrossing(after, before, isMarker)
    assert.deepEqual([crosses(c), c.schema.length, c.markers.map((m) => m.name)], [true, 0, ['woocommerce_custom_orders_table_enabled']])
  })

  it('keeps the live schema, the live markers and the live rows of a table whose schema changed; the rest goes back', () => {
    const c = layoutCrossing(live, target, isMarker)
    const goal = keepLayout(live, target, c, isMarker, false)
    const plan = diffStates(live, goal)
    assert.deepEqual(plan.options.map((o) => `${o.name} ${o.change}`), ['blogname modified'])
    assert.equal(plan.schema, undefined, 'a restore never changes the schema')
    assert.equal(goal.schema, live.schema)
    // --restore-markers: the markers too (an admin restored the tables from a backup); a marker the target lacks goes
    const withMarkers = diffStates(live, keepLayout(live, target, c, isMarker, true))
    assert.deepEqual(withMarkers.options.map((o) => `${o.name} ${o.change}`), ['blogname modified', 'hello_migrate_db_version modified', 'woocommerce_custom_orders_table_enabled removed'])
  })

  it('an index, engine or collation change leaves the rows going back; a marker of a blog only one side records is no crossing', () => {
    const indexed = schemaOf([OPTIONS, table('wp_wc_webhooks', [col('webhook_id'), col('name', 'text')], { indexes: [{ name: 'PRIMARY', unique: true, columns: ['webhook_id'] }, { name: 'name', unique: false, columns: ['name(10)'] }] })])
    const l = state(indexed, [opt('table:wp_wc_webhooks#1', 'w-new', 'wp_wc_webhooks')])
    const t = state(v1, [opt('table:wp_wc_webhooks#1', 'w-old', 'wp_wc_webhooks')])
    const c = layoutCrossing(l, t, isMarker)
    assert.deepEqual(c.schema.map(schemaChangeText), ['wp_wc_webhooks: index `name` (name(10)) added'])
    assert.deepEqual(diffStates(l, keepLayout(l, t, c, isMarker, false)).options.map((o) => o.name), ['table:wp_wc_webhooks#1'], 'the row still fits: it goes back')
    // a blog added since (its options table only live): its db_version is never written by a restore
    const withBlog = { ...state(v1, [opt('db_version', '1'), opt('db_version', '1', 'wp_5_options')]), sources: new Set(['wp_options', 'wp_5_options']) }
    const before = { ...state(v1, [opt('db_version', '1')]), sources: new Set(['wp_options']) }
    assert.equal(crosses(layoutCrossing(withBlog, before, isMarker)), false)
  })

  it('the expected state after a restore keeps the live schema (verification never expects a schema written)', () => {
    assert.equal(overlayState(live, target, null).schema, live.schema)
    assert.equal(overlayState(live, target, { paths: ['plugins/x'], options: [] }).schema, live.schema)
  })
})
