// Settings rows beyond options, in the one model options already have (an OptionEntry: a table, a name,
// the blob of exact bytes). Two more kinds of row share it:
//   entity:TYPE/THEME/SLUG   a Site Editor post (template, template part, global styles, navigation, font)
//                            with its postmeta and its wp_theme / wp_template_part_area terms, keyed as
//                            WordPress resolves it (post type, theme, slug), never by post id
//   table:NAME#KEY           a row of a plugin's settings table (NAME without the site's prefix), keyed by
//                            its primary key (columns joined by ',')
// Each name part is percent-encoded byte by byte, so '/', ',', '#', NUL and HTML in a slug or key stay text.
// The value is a record (see encodeRecord): labelled fields with exact bytes, built by the database server
// so that its git blob id can be computed there. Plain TypeScript: no I/O.
import { PeakguardError } from '../errors.ts'

/** The post types of a block theme's Site Editor (6.5 added the font ones). Revisions and autosaves are not state. */
export const ENTITY_TYPES = ['wp_template', 'wp_template_part', 'wp_global_styles', 'wp_navigation', 'wp_font_family', 'wp_font_face'] as const

/** The taxonomies whose terms belong to an entity: the theme it is for, and a template part's area. */
export const ENTITY_TAXONOMIES = ['wp_theme', 'wp_template_part_area'] as const

/** The columns of `{prefix}posts` an entity records, in this order (WordPress's own schema). */
export const POST_COLUMNS = [
  'ID',
  'post_author',
  'post_date',
  'post_date_gmt',
  'post_content',
  'post_title',
  'post_excerpt',
  'post_status',
  'comment_status',
  'ping_status',
  'post_password',
  'post_name',
  'to_ping',
  'pinged',
  'post_modified',
  'post_modified_gmt',
  'post_content_filtered',
  'post_parent',
  'guid',
  'menu_order',
  'post_type',
  'post_mime_type',
  'comment_count',
] as const

export const ENTITY_PREFIX = 'entity:'
export const TABLE_PREFIX = 'table:'
export const ENTITY_HEADER = 'peakguard-entity 1\n'
export const ROW_HEADER = 'peakguard-row 1\n'

/** A settings table beyond options, as the config names it. */
export interface TableSpec {
  /** without the site's table prefix: woocommerce_tax_rates */
  table: string
  /** columns that change by themselves: neither recorded, compared nor written */
  ignoreColumns: string[]
}

/**
 * The `woocommerce` preset: WooCommerce's settings tables (its installer's schema). Never orders, order
 * items, customers, sessions, the action scheduler, lookup tables or any other content.
 */
export const WOOCOMMERCE_TABLES: readonly TableSpec[] = [
  { table: 'woocommerce_tax_rates', ignoreColumns: [] },
  { table: 'woocommerce_tax_rate_locations', ignoreColumns: [] },
  { table: 'woocommerce_shipping_zones', ignoreColumns: [] },
  { table: 'woocommerce_shipping_zone_locations', ignoreColumns: [] },
  { table: 'woocommerce_shipping_zone_methods', ignoreColumns: [] },
  { table: 'woocommerce_attribute_taxonomies', ignoreColumns: [] },
  // a webhook counts its failed deliveries, queues its next one and (WC_Webhook::log_delivery() saving it after
  // every delivery) stamps its modification time by itself
  { table: 'wc_webhooks', ignoreColumns: ['failure_count', 'pending_delivery', 'date_modified', 'date_modified_gmt'] },
]

export const TABLE_PRESETS: Readonly<Record<string, readonly TableSpec[]>> = { woocommerce: WOOCOMMERCE_TABLES }

/**
 * Tables that hold content, never settings (WordPress's own and the big plugins' content): a settings table
 * of one of these names is refused, whatever the config says.
 */
const CONTENT_TABLES = new Set([
  'posts', 'postmeta', 'comments', 'commentmeta', 'users', 'usermeta', 'terms', 'termmeta', 'term_taxonomy', 'term_relationships',
  'links', 'options', 'sitemeta', 'site', 'blogs', 'blogmeta', 'signups', 'registration_log',
  'wc_orders', 'wc_orders_meta', 'wc_order_addresses', 'wc_order_operational_data', 'wc_order_stats', 'wc_order_product_lookup',
  'wc_order_tax_lookup', 'wc_order_coupon_lookup', 'wc_customer_lookup', 'wc_download_log', 'wc_product_meta_lookup',
  'wc_product_attributes_lookup', 'wc_product_download_directories', 'wc_reserved_stock', 'wc_rate_limits', 'wc_tax_rate_classes',
  'wc_admin_notes', 'wc_admin_note_actions', 'wc_category_lookup',
  'woocommerce_order_items', 'woocommerce_order_itemmeta', 'woocommerce_sessions', 'woocommerce_api_keys',
  'woocommerce_downloadable_product_permissions', 'woocommerce_payment_tokens', 'woocommerce_payment_tokenmeta', 'woocommerce_log',
  'actionscheduler_actions', 'actionscheduler_claims', 'actionscheduler_groups', 'actionscheduler_logs',
])

/** Why a settings table name is refused before the database is asked, or null. */
export function badTableName(table: string): string | null {
  if (!/^[A-Za-z0-9_$]{1,64}$/.test(table)) return 'a table name is letters, digits, _ and $ (without the site prefix)'
  if (CONTENT_TABLES.has(table.toLowerCase())) return `${table} holds content, not settings: peakguard never records or restores it`
  return null
}

export type RowKind = 'option' | 'entity' | 'row'

export function kindOfName(name: string): RowKind {
  if (name.startsWith(ENTITY_PREFIX)) return 'entity'
  if (name.startsWith(TABLE_PREFIX)) return 'row'
  return 'option'
}

/** Bytes outside [A-Za-z0-9._~-] as %XX: a name part that cannot break the name's structure. */
export function encodePart(bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) {
    const c = String.fromCharCode(b)
    out += /[A-Za-z0-9._~-]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

export function decodePart(text: string): Uint8Array {
  const out: number[] = []
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16))
      i += 2
    } else for (const b of UTF8.encode(text[i] as string)) out.push(b)
  }
  return Uint8Array.from(out)
}

const UTF8 = new TextEncoder()
const TEXT = new TextDecoder('utf-8')
const LATIN1 = new TextDecoder('latin1')

export function utf8(bytes: Uint8Array): string {
  return TEXT.decode(bytes)
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.byteLength
  }
  return out
}

function indexOf(buf: Uint8Array, byte: number, from: number): number {
  return buf.indexOf(byte, from)
}

export interface EntityKey {
  type: string
  /** the wp_theme term's name ('' for navigation menus and fonts, which belong to no theme) */
  theme: string
  slug: string
  /** set when several posts share type, theme and slug: the post id of every one but the first */
  dupId?: number
}

export function entityName(type: Uint8Array, theme: Uint8Array, slug: Uint8Array, dupId?: number): string {
  return `${ENTITY_PREFIX}${encodePart(type)}/${encodePart(theme)}/${encodePart(slug)}${dupId !== undefined ? `#${dupId}` : ''}`
}

export function parseEntityName(name: string): EntityKey | null {
  const m = /^entity:([^/#]*)\/([^/#]*)\/([^/#]*)(?:#(\d+))?$/.exec(name)
  if (!m) return null
  return {
    type: utf8(decodePart(m[1] as string)),
    theme: utf8(decodePart(m[2] as string)),
    slug: utf8(decodePart(m[3] as string)),
    ...(m[4] ? { dupId: Number(m[4]) } : {}),
  }
}

export function tableRowName(table: string, key: readonly Uint8Array[]): string {
  return `${TABLE_PREFIX}${table}#${key.map(encodePart).join(',')}`
}

export function parseTableRowName(name: string): { table: string; key: Uint8Array[] } | null {
  const m = /^table:([A-Za-z0-9_$]+)#(.*)$/s.exec(name)
  if (!m) return null
  return { table: m[1] as string, key: (m[2] as string).split(',').map(decodePart) }
}

/** One labelled field of a record; null is SQL NULL. */
export interface RecordField {
  label: string
  value: Uint8Array | null
}

/**
 * A record's bytes: a header line, then per field `label<TAB>length<LF>bytes<LF>` (or `label<TAB>-<LF>` for
 * NULL). The database builds the same bytes (adapters/mysql-records.ts), so the blob id is the server's.
 */
export function encodeRecord(header: string, fields: readonly RecordField[]): Uint8Array {
  const parts: Uint8Array[] = [UTF8.encode(header)]
  for (const f of fields) {
    if (f.value === null) parts.push(UTF8.encode(`${f.label}\t-\n`))
    else parts.push(UTF8.encode(`${f.label}\t${f.value.byteLength}\n`), f.value, UTF8.encode('\n'))
  }
  return concat(parts)
}

/** The fields of a record; an error naming `what` when the bytes are not one (a damaged journal). */
export function decodeRecord(bytes: Uint8Array, what: string): { header: string; fields: RecordField[] } {
  const buf = bytes
  const bad = (why: string): never => {
    throw new PeakguardError('GIT_FAILED', `the recorded value of ${what} is not a peakguard record (${why})`)
  }
  let at = indexOf(buf, 0x0a, 0)
  if (at < 0) bad('no header')
  const header = LATIN1.decode(buf.subarray(0, at + 1))
  if (header !== ENTITY_HEADER && header !== ROW_HEADER) bad('unknown header')
  at++
  const fields: RecordField[] = []
  while (at < buf.length) {
    const nl = indexOf(buf, 0x0a, at)
    if (nl < 0) bad('a field without its length')
    const line = utf8(buf.subarray(at, nl))
    const tab = line.lastIndexOf('\t')
    if (tab < 0) bad('a field without its length')
    const label = line.slice(0, tab)
    const len = line.slice(tab + 1)
    at = nl + 1
    if (len === '-') {
      fields.push({ label, value: null })
      continue
    }
    if (!/^\d+$/.test(len)) bad(`field ${label}: length ${JSON.stringify(len)}`)
    const n = Number(len)
    if (at + n + 1 > buf.length || buf[at + n] !== 0x0a) bad(`field ${label} is cut short`)
    fields.push({ label, value: buf.subarray(at, at + n) })
    at += n + 1
  }
  return { header, fields }
}

/** An entity's record read apart: the post's columns, its meta rows in order, its terms. */
export interface EntityRecord {
  post: Map<string, Uint8Array | null>
  meta: { key: Uint8Array | null; value: Uint8Array | null }[]
  terms: { taxonomy: string; slug: Uint8Array; name: Uint8Array }[]
}

export function entityRecord(bytes: Uint8Array, what: string): EntityRecord {
  const { header, fields } = decodeRecord(bytes, what)
  if (header !== ENTITY_HEADER) throw new PeakguardError('GIT_FAILED', `the recorded value of ${what} is not a Site Editor entity`)
  const out: EntityRecord = { post: new Map(), meta: [], terms: [] }
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i] as RecordField
    if (f.label === 'meta') {
      const v = fields[i + 1]
      if (!v || v.label !== 'meta_value') throw new PeakguardError('GIT_FAILED', `the recorded value of ${what} has a meta key without its value`)
      out.meta.push({ key: f.value, value: v.value })
      i++
    } else if (f.label === 'term') {
      const raw = f.value ?? new Uint8Array()
      const a = indexOf(raw, 0, 0)
      const b = a < 0 ? -1 : indexOf(raw, 0, a + 1)
      if (b < 0 || indexOf(raw, 0, b + 1) >= 0) throw new PeakguardError('GIT_FAILED', `the recorded value of ${what} has a malformed term`)
      out.terms.push({ taxonomy: utf8(raw.subarray(0, a)), slug: raw.subarray(a + 1, b), name: raw.subarray(b + 1) })
    } else out.post.set(f.label, f.value)
  }
  for (const c of ['ID', 'post_type', 'post_name'])
    if (!out.post.get(c)) throw new PeakguardError('GIT_FAILED', `the recorded value of ${what} has no ${c}`)
  return out
}

/** A settings-table row's record read apart: column → bytes (null: SQL NULL), in table order. */
export function rowRecord(bytes: Uint8Array, what: string): Map<string, Uint8Array | null> {
  const { header, fields } = decodeRecord(bytes, what)
  if (header !== ROW_HEADER) throw new PeakguardError('GIT_FAILED', `the recorded value of ${what} is not a settings-table row`)
  return new Map(fields.map((f) => [f.label, f.value]))
}

/** Whether a name is an entity or a settings-table row (not an option). */
export function isRecordName(name: string): boolean {
  return name.startsWith(ENTITY_PREFIX) || name.startsWith(TABLE_PREFIX)
}

/**
 * Whether `--only`/scope selector `sel` (entity:…, table:NAME, table:NAME#KEY) selects the row named `name`.
 * `table:NAME` selects every row of the table, `entity:T/TH/S` that entity and its duplicates (`#<post id>`);
 * anything else must match exactly.
 */
export function recordSelects(sel: string, name: string): boolean {
  if (sel === name) return true
  // an entity selector also selects the other posts of its key (`…#<post id>`): writing one post of a key
  // replaces the live posts of that key, so its duplicates must be written back with it
  return !sel.includes('#') && (sel.startsWith(TABLE_PREFIX) || sel.startsWith(ENTITY_PREFIX)) && name.startsWith(`${sel}#`)
}

/**
 * A selector as names are stored: each part percent-encoded byte-wise, whether it was typed encoded
 * (`caf%C3%A9`) or not (`café`); `*` stays a glob. An operator need not know the encoding to select a row.
 */
export function canonicalSelector(sel: string): string {
  const canon = (part: string) => part.split('*').map((p) => encodePart(decodePart(p))).join('*')
  if (sel.startsWith(ENTITY_PREFIX)) {
    const m = /^entity:([^/#]*)\/([^/#]*)\/([^/#]*)(#\d+)?$/.exec(sel)
    return m ? `${ENTITY_PREFIX}${canon(m[1] as string)}/${canon(m[2] as string)}/${canon(m[3] as string)}${m[4] ?? ''}` : sel
  }
  if (sel.startsWith(TABLE_PREFIX) && sel.includes('#')) {
    const at = sel.indexOf('#')
    return `${sel.slice(0, at + 1)}${sel.slice(at + 1).split(',').map(canon).join(',')}`
  }
  return sel
}

/** Checks a selector given on the command line or in a form; throws a USAGE error naming it. */
export function checkRecordSelector(sel: string): void {
  if (sel.startsWith(ENTITY_PREFIX)) {
    if (!parseEntityName(sel)) throw new PeakguardError('USAGE', `${JSON.stringify(sel)}: name an entity as entity:TYPE/THEME/SLUG (e.g. entity:wp_template_part/twentytwentythree/header; no theme: entity:wp_navigation//navigation)`)
    return
  }
  if (sel.startsWith(TABLE_PREFIX)) {
    const body = sel.slice(TABLE_PREFIX.length)
    const table = body.includes('#') ? body.slice(0, body.indexOf('#')) : body
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(table)) throw new PeakguardError('USAGE', `${JSON.stringify(sel)}: name a settings table as table:NAME or one row as table:NAME#KEY (NAME without the site prefix)`)
    return
  }
  throw new PeakguardError('USAGE', `${JSON.stringify(sel)}: not an entity: or table: selector`)
}

/** A short human name: 'template part “header” (twentytwentythree)', 'woocommerce_tax_rates row 3'. */
export function recordLabel(name: string): string {
  const e = parseEntityName(name)
  if (e) {
    const what: Record<string, string> = {
      wp_template: 'template',
      wp_template_part: 'template part',
      wp_global_styles: 'global styles',
      wp_navigation: 'navigation menu',
      wp_font_family: 'font family',
      wp_font_face: 'font face',
    }
    const kind = what[e.type] ?? `${e.type} entity`
    const slug = e.type === 'wp_global_styles' ? '' : ` “${printable(e.slug)}”`
    return `${kind}${slug}${e.theme ? ` (${printable(e.theme)})` : ''}${e.dupId !== undefined ? ` [post ${e.dupId}]` : ''}`
  }
  const r = parseTableRowName(name)
  if (r) return `${r.table} row ${r.key.map((k) => printable(utf8(k))).join(', ')}`
  return name
}

function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/**
 * Whether an entity's record is the user global-styles post WordPress creates, empty, the first time an
 * editor loads for a theme (WP_Theme_JSON_Resolver::get_user_global_styles_post_id(), from site-editor.php or
 * the themes REST route every block editor calls): `{"version": N, "isGlobalStylesUserThemeJSON": true}` and
 * nothing else. It changes nothing anyone sees; the freeze gate does not make it a change request.
 */
export function isEmptyUserStyles(name: string, record: Uint8Array): boolean {
  if (parseEntityName(name)?.type !== 'wp_global_styles') return false
  try {
    const content = entityRecord(record, name).post.get('post_content')
    const json = JSON.parse(content ? utf8(content) : '') as unknown
    if (!json || typeof json !== 'object' || Array.isArray(json)) return false
    const keys = Object.keys(json).sort()
    return keys.length === 2 && keys[0] === 'isGlobalStylesUserThemeJSON' && keys[1] === 'version' && (json as Record<string, unknown>).isGlobalStylesUserThemeJSON === true
  } catch {
    return false
  }
}
