// The database schema a state was recorded with — every table of the site's prefix: columns, indexes,
// engine and collation, never a row — and what a restore must do when the live schema is not the one it
// goes back to. A plugin update that migrates its tables cannot be undone by putting its old code back:
// peakguard never touches content tables, so a restore across a schema change keeps the live schema and
// the live values of the options that describe a data layout (migration markers), and says so.
import { globToRegExp } from './scope.ts'
import { coversRow, type OptionEntry, type SiteState } from './state.ts'
import type { ColumnDef, IndexDef, SchemaChange, SchemaInfo, TableDef } from './schema-model.ts'

export type { ColumnDef, IndexDef, SchemaChange, SchemaInfo, TableDef } from './schema-model.ts'
import { visible } from './text.ts'
import { isRecordName } from './records.ts'

export function schemaOf(tables: readonly TableDef[]): SchemaInfo {
  return { tables: new Map([...tables].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((t) => [t.name, t])) }
}

/** The schema as the journal keeps it (`meta/schema`): JSON, tables by name, so equal schemas are equal bytes. */
export function encodeSchema(s: SchemaInfo): string {
  const tables = [...s.tables.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  return `${JSON.stringify({ v: 1, tables: tables.map((t) => ({ ...t, indexes: [...t.indexes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) })) })}\n`
}

/** Reads `meta/schema`; throws (a message naming what is wrong) on anything else. */
export function decodeSchema(text: string): SchemaInfo {
  const bad = (why: string): never => {
    throw new Error(`meta/schema: ${why}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    return bad('not JSON')
  }
  const o = raw as { v?: unknown; tables?: unknown }
  if (!o || typeof o !== 'object' || o.v !== 1 || !Array.isArray(o.tables)) return bad('not a version 1 schema')
  const str = (x: unknown, what: string): string => (typeof x === 'string' ? x : bad(`${what} is not a string`))
  const strOrNull = (x: unknown, what: string): string | null => (x === null ? null : str(x, what))
  const tables: TableDef[] = o.tables.map((t: Record<string, unknown>) => {
    if (!t || typeof t !== 'object' || !Array.isArray(t.columns) || !Array.isArray(t.indexes)) return bad('a table without columns or indexes')
    const name = str(t.name, 'a table name')
    return {
      name,
      engine: strOrNull(t.engine, `${name}'s engine`),
      collation: strOrNull(t.collation, `${name}'s collation`),
      columns: (t.columns as Record<string, unknown>[]).map((c) => ({
        name: str(c?.name, `a column name of ${name}`),
        type: str(c.type, `a column type of ${name}`),
        nullable: c.nullable === true,
        default: strOrNull(c.default ?? null, `a column default of ${name}`),
      })),
      indexes: (t.indexes as Record<string, unknown>[]).map((i) => ({
        name: str(i?.name, `an index name of ${name}`),
        unique: i.unique === true,
        columns: Array.isArray(i.columns) ? i.columns.map((c) => str(c, `an index column of ${name}`)) : bad(`an index of ${name} without columns`),
      })),
    }
  })
  return schemaOf(tables)
}

function columnText(c: ColumnDef): string {
  return visible(`${c.type}${c.nullable ? '' : ' NOT NULL'}${c.default !== null && c.default !== 'NULL' ? ` DEFAULT ${c.default}` : ''}`)
}

/** A column or index name in a phrase. */
const q = (name: string) => `\`${visible(name)}\``

const sameColumn = (a: ColumnDef, b: ColumnDef) => a.type === b.type && a.nullable === b.nullable && a.default === b.default
const sameIndex = (a: IndexDef, b: IndexDef) => a.unique === b.unique && a.columns.join('\u0000') === b.columns.join('\u0000')

/** The same definition under any name: how a renamed table is recognised. */
function shape(t: TableDef): string {
  return JSON.stringify([t.engine, t.collation, t.columns, [...t.indexes].sort((a, b) => (a.name < b.name ? -1 : 1))])
}

/** What changed in one table, one phrase per column, index, engine or collation; whether its columns changed. */
function tableDetails(a: TableDef, b: TableDef): { details: string[]; columns: boolean } {
  const out: string[] = []
  const before = new Map(a.columns.map((c) => [c.name, c]))
  const after = new Map(b.columns.map((c) => [c.name, c]))
  const gone = a.columns.filter((c) => !after.has(c.name))
  const came = b.columns.filter((c) => !before.has(c.name))
  // a column that went and one that came with the same definition at the same place: renamed
  const renamed = new Map<string, ColumnDef>()
  for (const g of gone) {
    const at = a.columns.indexOf(g)
    const n = came.find((c) => !renamed.has(c.name) && sameColumn(c, g) && b.columns.indexOf(c) === at)
    if (n) renamed.set(n.name, g)
  }
  const renamedFrom = new Set([...renamed.values()].map((c) => c.name))
  for (const c of gone) if (!renamedFrom.has(c.name)) out.push(`column ${q(c.name)} dropped`)
  for (const c of came) {
    const r = renamed.get(c.name)
    out.push(r ? `column ${q(r.name)} renamed to ${q(c.name)}` : `column ${q(c.name)} added (${columnText(c)})`)
  }
  for (const c of b.columns) {
    const old = before.get(c.name)
    if (old && !sameColumn(old, c)) out.push(`column ${q(c.name)} changed: ${columnText(old)} → ${columnText(c)}`)
  }
  const reordered = a.columns.map((c) => c.name).join('\u0000') !== b.columns.map((c) => c.name).join('\u0000')
  const columns = out.length > 0 || reordered
  const ib = new Map(a.indexes.map((i) => [i.name, i]))
  const ia = new Map(b.indexes.map((i) => [i.name, i]))
  const cols = (i: IndexDef) => i.columns.map((c) => visible(c)).join(', ')
  const idx = (i: IndexDef) => `${i.name === 'PRIMARY' ? 'primary key' : `${i.unique ? 'unique ' : ''}index ${q(i.name)}`} (${cols(i)})`
  for (const [n, i] of ib) if (!ia.has(n)) out.push(`${idx(i)} dropped`)
  for (const [n, i] of ia) {
    const old = ib.get(n)
    if (!old) out.push(`${idx(i)} added`)
    else if (!sameIndex(old, i)) out.push(`${idx(old)} changed to (${cols(i)}${i.unique && !old.unique ? ', unique' : ''}${!i.unique && old.unique ? ', not unique' : ''})`)
  }
  if (a.engine !== b.engine) out.push(visible(`engine ${a.engine ?? 'none'} → ${b.engine ?? 'none'}`))
  if (a.collation !== b.collation) out.push(visible(`collation ${a.collation ?? 'none'} → ${b.collation ?? 'none'}`))
  // the order of the columns changed (and nothing else about them: a rename or an addition says more)
  if (reordered && !out.some((d) => d.startsWith('column '))) out.push('columns reordered')
  return { details: out, columns }
}

/** How the schema changed from `from` to `to`, by table name. */
export function diffSchema(from: SchemaInfo, to: SchemaInfo): SchemaChange[] {
  const out: SchemaChange[] = []
  const dropped = [...from.tables.values()].filter((t) => !to.tables.has(t.name))
  const created = [...to.tables.values()].filter((t) => !from.tables.has(t.name))
  const renamedTo = new Map<string, string>()
  for (const d of dropped) {
    const n = created.find((c) => !renamedTo.has(c.name) && shape(c) === shape(d))
    if (n) renamedTo.set(n.name, d.name)
  }
  const renamedFrom = new Set(renamedTo.values())
  for (const t of dropped) if (!renamedFrom.has(t.name)) out.push({ table: t.name, change: 'dropped', details: [] })
  for (const t of created) {
    const r = renamedTo.get(t.name)
    out.push(r ? { table: t.name, change: 'renamed', from: r, details: [] } : { table: t.name, change: 'created', details: [] })
  }
  for (const [name, b] of to.tables) {
    const a = from.tables.get(name)
    if (!a) continue
    const { details, columns } = tableDetails(a, b)
    if (details.length) out.push({ table: name, change: 'altered', details, ...(columns ? { columns: true as const } : {}) })
  }
  return out.sort((x, y) => (x.table < y.table ? -1 : x.table > y.table ? 1 : 0))
}

/** One line per change, as `show`, `diff`, the UI and alerts say it (names with odd bytes escaped: details are built escaped). */
export function schemaChangeText(c: SchemaChange): string {
  const t = visible(c.table)
  switch (c.change) {
    case 'created':
      return `table ${t} created`
    case 'dropped':
      return `table ${t} dropped`
    case 'renamed':
      return `table ${visible(c.from ?? '')} renamed to ${t}`
    default:
      return `${t}: ${c.details.join('; ')}`
  }
}

/** The tables a change touches (a rename both names). */
export function schemaTables(changes: readonly SchemaChange[]): string[] {
  return [...new Set(changes.flatMap((c) => (c.from ? [c.from, c.table] : [c.table])))].sort()
}

// ---- migration markers --------------------------------------------------------------------------------

/**
 * Options that describe how data is laid out rather than how the site behaves: a plugin's schema version, WooCommerce's
 * order storage (HPOS) and its sync, Action Scheduler's store migration. Putting one back without its schema makes the
 * plugin believe its tables are what they are not (WooCommerce no longer migrates down; HPOS switched off hides the
 * orders stored since: woocommerce/woocommerce#35273). A site's `migrationMarkers:` adds to the list.
 */
export const DEFAULT_MIGRATION_MARKERS: readonly string[] = [
  'db_version',
  '*_db_version',
  '*_schema_version',
  'wpdb_*_version',
  'woocommerce_custom_orders_table_enabled',
  'woocommerce_custom_orders_table_data_sync_enabled',
  'woocommerce_custom_orders_table_created',
  'woocommerce_feature_custom_order_tables_enabled',
  'action_scheduler_migration_status',
  'action_scheduler_hybrid_store_demarkation',
  // Action Scheduler's own table versions
  'schema-ActionScheduler_*',
  // the network's database version (sitemeta)
  'wpmu_upgrade_site',
]

export type MarkerRule = (name: string) => boolean

/** The marker rule for a site: the defaults and its own globs, matched on option names (a sitemeta key after `N:`). */
export function markerRule(extra: readonly string[] = []): MarkerRule {
  const res = [...DEFAULT_MIGRATION_MARKERS, ...extra].map(globToRegExp)
  return (name) => {
    if (isRecordName(name)) return false
    const key = /^\d+:/.test(name) ? name.slice(name.indexOf(':') + 1) : name
    return res.some((r) => r.test(key))
  }
}

// ---- restores across a schema change --------------------------------------------------------------------

/** What stands between the live site and a state a restore goes back to. */
export interface LayoutCrossing {
  /** how the schema changed since the target (target → live); empty when it is the same */
  schema: SchemaChange[]
  /** migration markers whose live value (or presence) differs from the target's */
  markers: { table: string; name: string }[]
  /** the target (or the live reading) has no schema: recorded before peakguard kept one; nothing can be said */
  unknown: boolean
}

/** Whether a restore from `live` to `target` crosses a database migration (a schema change or a marker that differs). */
export function layoutCrossing(live: Pick<SiteState, 'schema' | 'options' | 'sources'>, target: Pick<SiteState, 'schema' | 'options' | 'sources'>, isMarker: MarkerRule): LayoutCrossing {
  const schema = live.schema && target.schema ? diffSchema(target.schema, live.schema) : []
  const markers: { table: string; name: string }[] = []
  const seen = new Set<string>()
  // a marker of a table only one side records (a blog added since) is never written by a restore: no crossing
  const both = (o: OptionEntry) => coversRow(live, o) && coversRow(target, o)
  for (const [k, o] of live.options) {
    if (!isMarker(o.name) || !both(o)) continue
    seen.add(k)
    const t = target.options.get(k)
    if (!t || t.blob !== o.blob || !t.nullValue !== !o.nullValue) markers.push({ table: o.table, name: o.name })
  }
  for (const [k, o] of target.options) if (isMarker(o.name) && both(o) && !seen.has(k)) markers.push({ table: o.table, name: o.name })
  markers.sort((a, b) => (a.table + '\u0000' + a.name < b.table + '\u0000' + b.name ? -1 : 1))
  return { schema, markers, unknown: !live.schema || !target.schema }
}

export function crosses(c: LayoutCrossing): boolean {
  return c.schema.length > 0 || c.markers.length > 0
}

/**
 * What a restore across a schema change leaves live: `target`, but with the live schema, the live migration markers
 * (unless `restoreMarkers`: an admin who restored the tables from a database backup), and the live rows of any recorded
 * table whose schema changed (an entity or settings-table row of the old layout does not fit the new one).
 */
export function keepLayout(live: SiteState, target: SiteState, c: LayoutCrossing, isMarker: MarkerRule, restoreMarkers: boolean): SiteState {
  // rows of a table whose columns changed (or that came or went) stay live; an index, engine or collation change leaves rows fitting
  const changed = new Set(schemaTables(c.schema.filter((x) => x.change !== 'altered' || x.columns)))
  const keep = (o: OptionEntry) => (!restoreMarkers && isMarker(o.name)) || (isRecordName(o.name) && changed.has(o.table))
  const options = new Map<string, OptionEntry>()
  for (const [k, o] of target.options) if (!keep(o)) options.set(k, o)
  for (const [k, o] of live.options) if (keep(o)) options.set(k, o)
  return { ...target, options, ...(live.schema ? { schema: live.schema } : {}) }
}
