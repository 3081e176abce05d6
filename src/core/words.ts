// A change as WordPress people say it: "plugin Demo Upsell activated", "theme switched from Twenty
// Twenty-Three to Twenty Twenty-One", "site title changed", "template part “header” (Twenty Twenty-Three)
// edited", "tax rate #3 (GB Standard 20%) changed", "12 other settings changed". Names come from where
// WordPress reads them (a plugin's header comment, a theme's style.css, a menu's or a tax rate's own
// row), whose bytes the caller fetches: wordsNeeds says which, changeInWords makes the phrases. What could
// not be read gives plainer words (the folder's name, the row's key), never an error. Every name is made
// one bounded, printable line.
import type { FileChange, OptionChange, StateDiff } from './diff.ts'
import { encodePart, entityRecord, isRecordName, parseEntityName, parseTableRowName, rowRecord, utf8 } from './records.ts'
import { schemaChangeText } from './schema.ts'
import { DROP_INS } from './scope.ts'
import { optionKey, type SiteState } from './state.ts'
import { visible } from './text.ts'

/** One thing that happened, and the raw diff items (paths, `option:NAME`, `entity:…`, `table:NAME#KEY`) it stands for. */
export interface Phrase {
  text: string
  items: string[]
}

/** Text of option values (by optionKey) and of files' beginnings (by path), on each side of a diff. */
export interface WordsBytes {
  before: ReadonlyMap<string, string>
  after: ReadonlyMap<string, string>
  /** the exact bytes of entity and settings-table records (by optionKey): a record holds binary lengths */
  records?: { before: ReadonlyMap<string, Uint8Array>; after: ReadonlyMap<string, Uint8Array> }
}

/** What changeInWords reads: these rows and files, on whichever side holds them. */
export interface WordsNeeds {
  /**
   * optionKey(table, name) of the rows to read: options, given back as text; entities and settings-table
   * rows (isRecordName) whose names are in their record, given back as bytes in WordsBytes.records
   */
  options: string[]
  /** paths below wp-content */
  files: string[]
}

/** WordPress reads a plugin's or theme's header from the first 8 KiB of the file (get_file_data). */
export const HEADER_BYTES = 8192

const NAME_MAX = 80
/** top-level PHP files of a plugin folder tried for its header (WordPress tries all; the main one is usually first) */
const CANDIDATES_MAX = 10

// ── text helpers ────────────────────────────────────────────────────────────────────────────────────

/** A name or value from a file or a row as one printable, bounded line; a path keeps its whitespace, shown as escapes. */
export function displayText(raw: string, o: { path?: boolean } = {}): string {
  const t = visible(o.path ? raw : raw.replace(/\s+/gu, ' ').trim())
  const chars = [...t]
  return chars.length > NAME_MAX ? `${chars.slice(0, NAME_MAX - 1).join('')}…` : t
}

/** A header field (`Plugin Name`, `Version`, `Theme Name`, `Template`) as WordPress's get_file_data reads it; null when absent or empty. */
export function headerField(text: string, field: string): string | null {
  const head = text.slice(0, HEADER_BYTES).replace(/\r/g, '\n')
  const name = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const m = new RegExp(`^(?:[ \\t]*<\\?php)?[ \\t/*#@]*${name}:(.*)$`, 'mi').exec(head)
  // _cleanup_header_comment: a header closing its comment on the same line
  const v = displayText((m?.[1] ?? '').replace(/\s*(?:\*\/|\?>).*/, ''))
  return v || null
}

const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',')
const files = (n: number) => `${thousands(n)} file${n === 1 ? '' : 's'}`

/** -1, 0, 1 for dotted numeric versions; null when either is not one (then nothing is claimed about the order). */
function compareVersions(a: string, b: string): number | null {
  const pa = a.split(/[.\-+]/)
  const pb = b.split(/[.\-+]/)
  if (![...pa, ...pb].every((x) => /^\d{1,9}$/.test(x))) return null
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = Number(pa[i] ?? 0) - Number(pb[i] ?? 0)
    if (d) return Math.sign(d)
  }
  return 0
}

// ── PHP serialize(), the subset settings rows need ───────────────────────────────────────────────────

/** A PHP array: its entries in order. */
export interface PhpArray {
  entries: [string | number, PhpValue][]
}
export type PhpValue = string | number | boolean | null | PhpArray

/**
 * A value PHP's serialize() wrote (strings, numbers, booleans, null, arrays); undefined for anything else
 * (objects, references, a truncated or hand-edited row). `text` is the row decoded as UTF-8: string
 * lengths are counted in UTF-8 bytes, as PHP counts them.
 */
export function parsePhp(text: string): PhpValue | undefined {
  let i = 0
  const bad = new Error('not a serialized value')
  const fail = (): never => {
    throw bad
  }
  const expect = (s: string) => {
    if (!text.startsWith(s, i)) fail()
    i += s.length
  }
  const until = (end: string): string => {
    const j = text.indexOf(end, i)
    if (j < 0) fail()
    const s = text.slice(i, j)
    i = j + end.length
    return s
  }
  const int = (end: string): number => {
    const s = until(end)
    if (!/^[+-]?\d{1,18}$/.test(s)) fail()
    return Number(s)
  }
  const bytes = (n: number): string => {
    let used = 0
    let j = i
    while (used < n && j < text.length) {
      const c = text.codePointAt(j) as number
      used += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
      j += c > 0xffff ? 2 : 1
    }
    if (used !== n) fail()
    const s = text.slice(i, j)
    i = j
    return s
  }
  const value = (depth: number): PhpValue => {
    if (text.startsWith('N;', i)) {
      i += 2
      return null
    }
    const type = text[i]
    expect(`${type}:`)
    switch (type) {
      case 'i':
        return int(';')
      case 'b': {
        const b = int(';')
        return b === 1 ? true : b === 0 ? false : fail()
      }
      case 'd':
        return Number(until(';'))
      case 's': {
        const n = int(':')
        expect('"')
        const s = bytes(n)
        expect('";')
        return s
      }
      case 'a': {
        if (depth > 16) fail()
        const n = int(':')
        expect('{')
        const entries: [string | number, PhpValue][] = []
        for (let k = 0; k < n; k++) {
          const key = value(depth + 1)
          if (typeof key !== 'string' && typeof key !== 'number') fail()
          entries.push([key as string | number, value(depth + 1)])
        }
        expect('}')
        return { entries }
      }
      default:
        return fail()
    }
  }
  try {
    const v = value(0)
    return i === text.length ? v : undefined
  } catch (e) {
    if (e === bad) return undefined
    throw e
  }
}

const isArray = (v: PhpValue | undefined): v is PhpArray => typeof v === 'object' && v !== null

// ── the site's tables: which blog a settings row belongs to ──────────────────────────────────────────

interface Tables {
  /** the table prefix, from the main options table ({prefix}options) */
  prefix: string
  /** a multisite: rows of blogs other than the first are named with their site */
  multi: boolean
}

function tablesOf(before: SiteState, after: SiteState): Tables {
  const names = new Set<string>()
  // the options tables only: a posts or settings table is no other blog
  for (const s of [before, after]) for (const o of s.options.values()) if (!isRecordName(o.name)) names.add(o.table)
  const main = [...names].filter((t) => t.endsWith('options')).sort((a, b) => a.length - b.length || (a < b ? -1 : 1))[0] ?? 'wp_options'
  return { prefix: main.slice(0, -'options'.length), multi: names.size > 1 }
}

/** The blog a row belongs to (1: the main site), or 'network' for sitemeta; an entity's by its posts table. */
function blogOf(t: Tables, table: string): number | 'network' {
  if (table === `${t.prefix}sitemeta`) return 'network'
  const m = table.startsWith(t.prefix) ? /^(\d+)_(?:options|posts)$/.exec(table.slice(t.prefix.length)) : null
  return m ? Number(m[1]) : 1
}

const onSite = (t: Tables, blog: number | 'network') => (t.multi && typeof blog === 'number' && blog !== 1 ? ` on site ${blog}` : '')

/** A row's name as WordPress knows it (sitemeta rows are recorded as `site_id:meta_key`). */
function keyOf(t: Tables, o: OptionChange): string {
  return blogOf(t, o.table) === 'network' ? o.name.replace(/^\d+:/, '') : o.name
}

const item = (o: OptionChange) => (isRecordName(o.name) ? o.name : `option:${o.name}`)

// ── code units: plugin and theme folders, single-file plugins, mu-plugins, drop-ins ─────────────────

type Kind = 'plugin' | 'theme' | 'mu-plugin' | 'drop-in' | 'folder'
const KIND_ORDER: Kind[] = ['plugin', 'theme', 'mu-plugin', 'drop-in', 'folder']

/** `plugins/x` for anything below it; a drop-in or a scope folder (a linked `themes`) stands for itself. */
function unitOfPath(path: string): string {
  const a = path.indexOf('/')
  if (a < 0) return path
  const b = path.indexOf('/', a + 1)
  return b < 0 ? path : path.slice(0, b)
}

function kindOf(unit: string): Kind {
  if (!unit.includes('/')) return (DROP_INS as readonly string[]).includes(unit) ? 'drop-in' : 'folder'
  return unit.startsWith('themes/') ? 'theme' : unit.startsWith('mu-plugins/') ? 'mu-plugin' : 'plugin'
}

interface UnitChange {
  unit: string
  kind: Kind
  files: FileChange[]
  links: number
  dirs: number
  items: string[]
}

interface UnitFacts {
  present: boolean
  /** the PHP files directly in the folder, `<folder name>.php` first */
  php: string[]
}

function changedUnits(diff: StateDiff): Map<string, UnitChange> {
  const units = new Map<string, UnitChange>()
  const get = (path: string) => {
    const unit = unitOfPath(path)
    let u = units.get(unit)
    if (!u) units.set(unit, (u = { unit, kind: kindOf(unit), files: [], links: 0, dirs: 0, items: [] }))
    u.items.push(path)
    return u
  }
  for (const f of diff.files) get(f.path).files.push(f)
  for (const l of diff.links) get(l.path).links++
  for (const d of diff.dirs) get(d.path).dirs++
  return units
}

/** Whether each unit is in `state`, and its top-level PHP files: one pass over the files, only for `units`. */
function factsOf(state: SiteState, units: ReadonlySet<string>): Map<string, UnitFacts> {
  const out = new Map<string, UnitFacts>()
  if (units.size === 0) return out
  for (const u of units) out.set(u, { present: state.links.has(u) || !!state.dirs?.has(u) || state.files.has(u), php: [] })
  for (const path of state.files.keys()) {
    const f = out.get(unitOfPath(path))
    if (!f) continue
    f.present = true
    const rest = path.slice(path.indexOf('/') + 1)
    if (rest.split('/').length === 2 && path.endsWith('.php')) f.php.push(path)
  }
  for (const [u, f] of out) {
    const own = `${u}/${u.slice(u.indexOf('/') + 1)}.php`
    f.php.sort((a, b) => (a === own ? -1 : b === own ? 1 : a < b ? -1 : a > b ? 1 : 0))
    f.php.length = Math.min(f.php.length, CANDIDATES_MAX)
  }
  return out
}

// ── settings that name code: active plugins, the theme ───────────────────────────────────────────────

/** The plugin files (relative to plugins/) in an active_plugins list or an active_sitewide_plugins map; null when unreadable. */
function activeFiles(text: string | undefined, sitewide: boolean): Set<string> | null {
  if (text === undefined) return null
  const v = parsePhp(text)
  if (!isArray(v)) return null
  const out = new Set<string>()
  for (const [k, x] of v.entries) {
    const file = sitewide ? k : x
    if (typeof file === 'string') out.add(file)
  }
  return out
}

interface Activation {
  option: OptionChange
  blog: number | 'network'
  /** null when either side could not be read */
  added: string[] | null
  removed: string[] | null
}

function isActiveList(t: Tables, o: OptionChange): boolean {
  const blog = blogOf(t, o.table)
  return blog === 'network' ? keyOf(t, o) === 'active_sitewide_plugins' : o.name === 'active_plugins'
}

function isThemeOption(t: Tables, o: OptionChange): boolean {
  return blogOf(t, o.table) !== 'network' && (o.name === 'stylesheet' || o.name === 'template')
}

function activations(diff: StateDiff, t: Tables, bytes: WordsBytes): Activation[] {
  const out: Activation[] = []
  for (const o of diff.options) {
    if (!o.value || !isActiveList(t, o)) continue
    const blog = blogOf(t, o.table)
    const key = optionKey(o.table, o.name)
    const was = o.from ? activeFiles(bytes.before.get(key), blog === 'network') : new Set<string>()
    const is = o.to ? activeFiles(bytes.after.get(key), blog === 'network') : new Set<string>()
    out.push({
      option: o,
      blog,
      added: was && is ? [...is].filter((x) => !was.has(x)).sort() : null,
      removed: was && is ? [...was].filter((x) => !is.has(x)).sort() : null,
    })
  }
  return out
}

const pluginUnit = (file: string) => `plugins/${file.includes('/') ? file.slice(0, file.indexOf('/')) : file}`

/** A theme's folder name as a row holds it (stylesheet, template). */
const slugOf = (text: string | undefined) => (text === undefined ? null : text.trim() || null)

const THEME_NOISE = new Set(['current_theme', 'theme_switched', 'theme_switched_via_customizer'])

// ── known settings ──────────────────────────────────────────────────────────────────────────────────

const SETTINGS: readonly (readonly [string, readonly string[]])[] = [
  ['site title', ['blogname']],
  ['tagline', ['blogdescription']],
  ['site address', ['siteurl', 'home']],
  ['permalinks', ['permalink_structure', 'category_base', 'tag_base']],
  ['administration email address', ['admin_email']],
  ['site language', ['WPLANG']],
  ['timezone', ['timezone_string', 'gmt_offset']],
  ['date and time format', ['date_format', 'time_format', 'start_of_week']],
  ['homepage settings', ['show_on_front', 'page_on_front', 'page_for_posts']],
  ['search engine visibility', ['blog_public']],
  ['membership settings', ['users_can_register', 'default_role']],
  ['discussion settings', ['default_comment_status', 'comment_registration', 'comment_moderation', 'comment_previously_approved', 'require_name_email', 'close_comments_for_old_posts']],
  ['widgets', ['sidebars_widgets']],
  ['WooCommerce currency', ['woocommerce_currency', 'woocommerce_currency_pos', 'woocommerce_price_thousand_sep', 'woocommerce_price_decimal_sep', 'woocommerce_price_num_decimals']],
  ['WooCommerce store address', ['woocommerce_store_address', 'woocommerce_store_address_2', 'woocommerce_store_city', 'woocommerce_store_postcode', 'woocommerce_default_country']],
  ['WooCommerce tax settings', ['woocommerce_calc_taxes', 'woocommerce_prices_include_tax', 'woocommerce_tax_based_on', 'woocommerce_tax_display_shop', 'woocommerce_tax_display_cart']],
  ['WooCommerce store visibility', ['woocommerce_coming_soon', 'woocommerce_store_pages_only']],
  ['WooCommerce checkout settings', ['woocommerce_enable_guest_checkout', 'woocommerce_enable_checkout_login_reminder', 'woocommerce_enable_signup_and_login_from_checkout']],
]
const NETWORK_SETTINGS: readonly (readonly [string, readonly string[]])[] = [
  ['network title', ['site_name']],
  ['network administration email address', ['admin_email']],
  ['network-enabled themes', ['allowedthemes']],
]
const SETTING_OF = new Map(SETTINGS.flatMap(([label, names]) => names.map((n) => [n, label] as const)))
const NETWORK_SETTING_OF = new Map(NETWORK_SETTINGS.flatMap(([label, names]) => names.map((n) => [n, label] as const)))
const SETTING_ORDER = [...SETTINGS, ...NETWORK_SETTINGS].map(([label]) => label)

/** What a known row is about, or null: a row of the table above, widgets, a payment or shipping method, a theme's customizer settings. */
function settingLabel(t: Tables, o: OptionChange, themeName: (slug: string) => string): string | null {
  const name = keyOf(t, o)
  if (blogOf(t, o.table) === 'network') return NETWORK_SETTING_OF.get(name) ?? null
  const known = SETTING_OF.get(name)
  if (known) return known
  if (name.startsWith('widget_')) return 'widgets'
  const wc = /^woocommerce_(.+)_settings$/.exec(name)
  if (wc) return `WooCommerce ${displayText(wc[1] as string)} settings`
  const mods = /^theme_mods_(.+)$/.exec(name)
  if (mods) return `customizer settings of theme ${themeName(mods[1] as string)}`
  return null
}

// ── Site Editor entities and settings-table rows ────────────────────────────────────────────────────

/** What WordPress people call a Site Editor post of each type: one, several. */
const ENTITY_NOUNS: Readonly<Record<string, readonly [string, string]>> = {
  wp_template: ['template', 'templates'],
  wp_template_part: ['template part', 'template parts'],
  wp_global_styles: ['global styles', 'global styles'],
  wp_navigation: ['navigation menu', 'navigation menus'],
  wp_font_family: ['font family', 'font families'],
  wp_font_face: ['font face', 'font faces'],
}
/** Entities people name by their title (post_title), not their slug: menus and fonts. */
const TITLED = new Set(['wp_navigation', 'wp_font_family', 'wp_font_face'])

/** WooCommerce's settings tables as its screens name a row: one, several. Only these rows are read for names. */
const ROW_NOUNS: Readonly<Record<string, readonly [string, string]>> = {
  woocommerce_tax_rates: ['tax rate', 'tax rates'],
  woocommerce_tax_rate_locations: ['tax rate location', 'tax rate locations'],
  woocommerce_shipping_zones: ['shipping zone', 'shipping zones'],
  woocommerce_shipping_zone_locations: ['shipping zone location', 'shipping zone locations'],
  woocommerce_shipping_zone_methods: ['shipping method', 'shipping methods'],
  woocommerce_attribute_taxonomies: ['product attribute', 'product attributes'],
  wc_webhooks: ['webhook', 'webhooks'],
}
const ZONES = 'woocommerce_shipping_zones'
/** WooCommerce's own shipping methods by id, as its screens title them. */
const SHIPPING_METHODS: Readonly<Record<string, string>> = { flat_rate: 'Flat rate', free_shipping: 'Free shipping', local_pickup: 'Local pickup', pickup_location: 'Local pickup' }
/** From this many rows of one table (or entities of one type) on, one count says them: "12 tax rates changed". */
const GROUP_AT = 4

/** A theme folder name that can stand in a path (a slug with `/` or a leading dot names no theme of ours). */
const themePath = (slug: string) => (/^[^/\\.\u0000][^/\\\u0000]*$/.test(slug) ? `themes/${slug}/style.css` : null)

/** The zone row a zone location or method belongs to, when `zone` (its zone_id) is a zone of the table. */
function zoneKey(o: OptionChange, short: string, zone: string): string {
  const prefix = o.table.slice(0, o.table.length - short.length)
  return optionKey(`${prefix}${ZONES}`, `table:${ZONES}#${encodePart(new TextEncoder().encode(zone))}`)
}

/** A record's columns (a settings-table row), or null when unread or unreadable. */
function columnsOf(bytes: Uint8Array | undefined): Map<string, Uint8Array | null> | null {
  if (!bytes) return null
  try {
    return rowRecord(bytes, 'a settings-table row')
  } catch {
    return null
  }
}

/** A column as one bounded printable line; '' when absent, NULL or blank. */
const col = (cols: Map<string, Uint8Array | null> | null, name: string) => {
  const v = cols?.get(name)
  return v ? displayText(utf8(v)) : ''
}

/** The records (by optionKey) whose names are in their bytes: menus, fonts, WooCommerce's rows; with values, the zones their locations and methods belong to. */
function recordNeeds(diff: StateDiff, before: SiteState, after: SiteState, values: WordsBytes | undefined): { records: Set<string>; files: Set<string> } {
  const records = new Set<string>()
  const files = new Set<string>()
  for (const o of diff.options) {
    if (!o.value || !isRecordName(o.name)) continue
    const key = optionKey(o.table, o.name)
    const e = parseEntityName(o.name)
    if (e) {
      const p = e.theme ? themePath(e.theme) : null
      if (p) files.add(p)
      if (TITLED.has(e.type)) records.add(key)
      continue
    }
    const r = parseTableRowName(o.name)
    if (!r || !ROW_NOUNS[r.table]) continue
    records.add(key)
    if (!values?.records || (r.table !== 'woocommerce_shipping_zone_locations' && r.table !== 'woocommerce_shipping_zone_methods')) continue
    for (const side of ['before', 'after'] as const) {
      const zone = col(columnsOf(values.records[side].get(key)), 'zone_id')
      const z = zone && zone !== '0' ? zoneKey(o, r.table, zone) : null
      if (z && (before.options.has(z) || after.options.has(z))) records.add(z)
    }
  }
  return { records, files }
}

interface RecordPhrase {
  /** rows of one table (entities of one type) on one blog are counted together when there are many */
  group: string
  /** one of several: `tax rates`, `templates` */
  plural: string
  verb: string
  /** the phrase without its verb */
  what: string
  items: string[]
  /** where the phrase goes: entities by type, then WooCommerce's tables, then the others */
  rank: number
}

/**
 * Entities and settings-table rows in words: one phrase each ("template part “header” (Twenty
 * Twenty-Three) edited", "tax rate #3 (GB Standard 20%) changed", "shipping zone “Europe” locations
 * changed"), many of one table as a count ("12 tax rates changed").
 */
function recordPhrases(t: Tables, records: OptionChange[], bytes: WordsBytes, themeName: (slug: string) => string): Phrase[] {
  const rec = (side: 'before' | 'after', key: string) => bytes.records?.[side].get(key)
  /** a record's bytes: as it is now, or as it was when it is gone */
  const latest = (key: string) => rec('after', key) ?? rec('before', key)
  const zoneName = (o: OptionChange, short: string, zone: string): string => {
    if (zone === '0') return 'zone “Rest of the world”'
    const z = zoneKey(o, short, zone)
    const name = col(columnsOf(rec('after', z) ?? rec('before', z)), 'zone_name')
    return name ? `zone “${name}”` : `zone #${displayText(zone)}`
  }
  const out: RecordPhrase[] = []
  const byTarget = new Map<string, RecordPhrase>()
  const ROW_ORDER = Object.keys(ROW_NOUNS)
  for (const o of records) {
    const key = optionKey(o.table, o.name)
    const e = parseEntityName(o.name)
    if (e) {
      const [one, many] = ENTITY_NOUNS[e.type] ?? [`${displayText(e.type)} entity`, `${displayText(e.type)} entities`]
      let title = ''
      if (TITLED.has(e.type)) {
        const b = latest(key)
        try {
          title = b ? displayText(utf8(entityRecord(b, 'an entity').post.get('post_title') ?? new Uint8Array())) : ''
        } catch {
          title = ''
        }
      }
      const theme = e.theme ? themeName(e.theme) : ''
      const dup = e.dupId !== undefined ? ` [post ${e.dupId}]` : ''
      const what =
        e.type === 'wp_global_styles' ? `global styles${theme ? ` of ${theme}` : ''}${dup}`
        : `${one} “${title || displayText(e.slug)}”${theme ? ` (${theme})` : ''}${dup}`
      const verb = o.change === 'added' ? 'added' : o.change === 'removed' ? 'deleted' : e.type === 'wp_global_styles' ? 'changed' : 'edited'
      const rank = ENTITY_NOUNS[e.type] ? Object.keys(ENTITY_NOUNS).indexOf(e.type) : 9
      out.push({ group: `${o.table}\u0000${e.type}`, plural: many, verb, what, items: [o.name], rank })
      continue
    }
    const r = parseTableRowName(o.name)
    if (!r) continue
    const id = displayText(r.key.map((k) => utf8(k)).join(', '))
    const verb = o.change === 'added' ? 'added' : o.change === 'removed' ? 'deleted' : 'changed'
    const known = ROW_NOUNS[r.table]
    const rank = known ? 10 + ROW_ORDER.indexOf(r.table) : 100
    const group = `${o.table}\u0000`
    const plain = (): RecordPhrase => ({ group, plural: known?.[1] ?? `${displayText(r.table)} rows`, verb, what: `${displayText(r.table)} row ${id}`, items: [o.name], rank })
    const cols = columnsOf(latest(key))
    const phrase = (what: string, v = verb): RecordPhrase => ({ group, plural: (known as readonly [string, string])[1], verb: v, what, items: [o.name], rank })
    // a location belongs to its tax rate or zone: one phrase for all of one rate's or zone's locations
    const located = (target: string, what: string) => {
      const p = byTarget.get(target)
      if (p) return void p.items.push(o.name)
      const np = phrase(what, 'changed')
      byTarget.set(target, np)
      out.push(np)
    }
    switch (r.table) {
      case 'woocommerce_tax_rates': {
        const rate = col(cols, 'tax_rate')
        const desc = [col(cols, 'tax_rate_country'), col(cols, 'tax_rate_name'), /^\d+(\.\d+)?$/.test(rate) ? `${Number(rate)}%` : rate].filter(Boolean).join(' ')
        out.push(phrase(`tax rate #${id}${desc ? ` (${desc})` : ''}`))
        break
      }
      case 'woocommerce_tax_rate_locations': {
        const rate = col(cols, 'tax_rate_id')
        if (rate) located(`${o.table}\u0000${rate}`, `tax rate #${rate} locations`)
        else out.push(plain())
        break
      }
      case 'woocommerce_shipping_zones': {
        const name = col(cols, 'zone_name')
        out.push(phrase(name ? `shipping zone “${name}”` : `shipping zone #${id}`))
        break
      }
      case 'woocommerce_shipping_zone_locations': {
        const zone = col(cols, 'zone_id')
        if (zone) located(`${o.table}\u0000${zone}`, `shipping ${zoneName(o, r.table, zone)} locations`)
        else out.push(plain())
        break
      }
      case 'woocommerce_shipping_zone_methods': {
        const method = col(cols, 'method_id')
        const zone = col(cols, 'zone_id')
        if (!cols || !method) {
          out.push(phrase(`shipping method #${id}`))
          break
        }
        // switched on or off, and nothing else: as WooCommerce's zone screen does it
        const was = columnsOf(rec('before', key))
        const onOff =
          o.change === 'modified' && was && [...new Set([...was.keys(), ...cols.keys()])].every((c) => c === 'is_enabled' || col(was, c) === col(cols, c)) && col(was, 'is_enabled') !== col(cols, 'is_enabled')
        out.push(phrase(`shipping method ${SHIPPING_METHODS[method] ?? `“${method}”`} in ${zone ? zoneName(o, r.table, zone) : 'an unknown zone'}`, onOff ? (col(cols, 'is_enabled') === '1' ? 'enabled' : 'disabled') : verb))
        break
      }
      case 'woocommerce_attribute_taxonomies': {
        const name = col(cols, 'attribute_label') || col(cols, 'attribute_name')
        out.push(phrase(name ? `product attribute “${name}”` : `product attribute #${id}`))
        break
      }
      case 'wc_webhooks': {
        // its name only: never its secret, nor its delivery URL (whose query may hold a token)
        const name = col(cols, 'name')
        out.push(phrase(name ? `webhook “${name}”` : `webhook #${id}`))
        break
      }
      default:
        out.push(plain())
    }
  }
  const groups = new Map<string, RecordPhrase[]>()
  for (const p of out) groups.set(p.group, [...(groups.get(p.group) ?? []), p])
  const said: (Phrase & { rank: number; at: number })[] = []
  for (const [group, ps] of groups) {
    const first = ps[0] as RecordPhrase
    const site = onSite(t, blogOf(t, group.slice(0, group.indexOf('\u0000'))))
    const items = ps.flatMap((p) => p.items)
    if (items.length >= GROUP_AT) {
      const verbs = new Set(ps.map((p) => p.verb))
      const verb = verbs.size === 1 ? first.verb : 'changed'
      said.push({ text: `${thousands(items.length)} ${first.plural} ${verb}${site}`, items, rank: first.rank, at: said.length })
    } else for (const p of ps) said.push({ text: `${p.what} ${p.verb}${site}`, items: p.items, rank: p.rank, at: said.length })
  }
  return said.sort((a, b) => a.rank - b.rank || a.at - b.at).map(({ text, items }) => ({ text, items }))
}

// ── needs and words ─────────────────────────────────────────────────────────────────────────────────

interface Context {
  tables: Tables
  units: Map<string, UnitChange>
  before: Map<string, UnitFacts>
  after: Map<string, UnitFacts>
}

function contextOf(diff: StateDiff, before: SiteState, after: SiteState): Context {
  const units = changedUnits(diff)
  const folders = new Set([...units.values()].filter((u) => u.kind !== 'drop-in' && u.kind !== 'folder').map((u) => u.unit))
  return { tables: tablesOf(before, after), units, before: factsOf(before, folders), after: factsOf(after, folders) }
}

/** The files whose header names a unit: a theme's style.css; a plugin's main file, or the PHP files at its top. */
function headerFiles(unit: string, kind: Kind, facts: UnitFacts | undefined, main: readonly string[]): string[] {
  if (kind === 'theme') return [`${unit}/style.css`]
  if (kind !== 'plugin' && kind !== 'mu-plugin') return []
  if (unit.endsWith('.php') && unit.split('/').length === 2) return [unit]
  return [...new Set([...main.filter((p) => unitOfPath(p) === unit), ...(facts?.php ?? [])])]
}

/**
 * What changeInWords needs to read. Call it once without `values` (option rows, records, and the headers
 * of the changed plugins and themes), fetch those, then again with them: the second answer adds the
 * headers of plugins (de)activated and themes switched to or from, which only the rows name, and the
 * shipping zones whose locations or methods changed, which only those rows name.
 */
export function wordsNeeds(diff: StateDiff, before: SiteState, after: SiteState, values?: WordsBytes): WordsNeeds {
  const c = contextOf(diff, before, after)
  const options = diff.options.filter((o) => o.value && (isActiveList(c.tables, o) || isThemeOption(c.tables, o))).map((o) => optionKey(o.table, o.name))
  const paths = new Set<string>()
  for (const u of c.units.values()) for (const s of [c.before, c.after]) for (const p of headerFiles(u.unit, u.kind, s.get(u.unit), [])) paths.add(p)
  for (const o of diff.options) {
    const mods = o.value && blogOf(c.tables, o.table) !== 'network' ? /^theme_mods_(.+)$/.exec(o.name) : null
    if (mods) paths.add(`themes/${mods[1]}/style.css`)
  }
  if (values) {
    for (const a of activations(diff, c.tables, values)) for (const f of [...(a.added ?? []), ...(a.removed ?? [])]) paths.add(`plugins/${f}`)
    for (const o of diff.options) {
      if (!o.value || !isThemeOption(c.tables, o)) continue
      const key = optionKey(o.table, o.name)
      for (const slug of [slugOf(values.before.get(key)), slugOf(values.after.get(key))]) if (slug) paths.add(`themes/${slug}/style.css`)
    }
  }
  const recs = recordNeeds(diff, before, after, values)
  for (const p of recs.files) paths.add(p)
  const readable = (p: string) => before.files.get(p)?.kind === 'file' || after.files.get(p)?.kind === 'file'
  return { options: [...options, ...[...recs.records].sort()], files: [...paths].filter(readable).sort() }
}

/**
 * What happened from `before` to `after`, in the order people look for it: the theme switched, plugins
 * and themes (activated, added, updated, removed, edited), mu-plugins, drop-ins, the known settings, and
 * a count of the other settings. Every diff item is explained by exactly one phrase's items, except the
 * active-plugin list, which each (de)activation names.
 */
export function changeInWords(diff: StateDiff, before: SiteState, after: SiteState, bytes: WordsBytes): Phrase[] {
  const c = contextOf(diff, before, after)
  const t = c.tables
  const explained = new Set<OptionChange>()
  const acts = activations(diff, t, bytes)
  const activeMain = acts.flatMap((a) => [...(a.added ?? []), ...(a.removed ?? [])].map((f) => `plugins/${f}`))

  const themeIdent = (slug: string, side: 'before' | 'after') => {
    const text = bytes[side].get(`themes/${slug}/style.css`)
    return text === undefined ? null : { name: headerField(text, 'Theme Name'), version: headerField(text, 'Version'), child: !!headerField(text, 'Template') }
  }
  const themeName = (slug: string, side?: 'before' | 'after') =>
    (side ? themeIdent(slug, side)?.name : (themeIdent(slug, 'after')?.name ?? themeIdent(slug, 'before')?.name)) ?? displayText(slug)
  const pluginIdent = (u: string, kind: Kind, side: 'before' | 'after') => {
    for (const p of headerFiles(u, kind, c[side].get(u), activeMain)) {
      const text = bytes[side].get(p)
      const name = text === undefined ? null : headerField(text, 'Plugin Name')
      if (name) return { name, version: headerField(text as string, 'Version'), child: false }
    }
    return null
  }
  const ident = (u: string, kind: Kind, side: 'before' | 'after') =>
    kind === 'theme' ? themeIdent(u.slice('themes/'.length), side) : kind === 'plugin' || kind === 'mu-plugin' ? pluginIdent(u, kind, side) : null

  const out: Phrase[] = []

  // the theme, per blog: `stylesheet` is the active theme, `template` its parent (the same for a theme without one)
  const themeRows = new Map<number | 'network', OptionChange[]>()
  for (const o of diff.options)
    if (o.value && isThemeOption(t, o)) themeRows.set(blogOf(t, o.table), [...(themeRows.get(blogOf(t, o.table)) ?? []), o])
  for (const [blog, rows] of themeRows) {
    const ss = rows.find((o) => o.name === 'stylesheet')
    const row = ss ?? (rows[0] as OptionChange)
    const key = optionKey(row.table, row.name)
    const from = row.from ? slugOf(bytes.before.get(key)) : null
    const to = row.to ? slugOf(bytes.after.get(key)) : null
    const what = ss ? 'theme' : 'parent theme'
    const text =
      from && to ? `${what} switched from ${themeName(from, 'before')} to ${themeName(to, 'after')}` : to && !row.from ? `${what} set to ${themeName(to, 'after')}` : `${what} changed`
    const noise = diff.options.filter((o) => o.value && blogOf(t, o.table) === blog && THEME_NOISE.has(o.name))
    for (const o of [...rows, ...noise]) explained.add(o)
    out.push({ text: text + onSite(t, blog), items: [...rows, ...noise].map(item) })
  }

  // plugins and themes: what happened to their files, and their (de)activation, in one phrase each
  interface Event {
    verb: string
    items: string[]
  }
  const events = new Map<string, Event[]>()
  const addEvent = (unit: string, e: Event) => events.set(unit, [...(events.get(unit) ?? []), e])
  const uninstall = diff.options.filter((o) => o.value && o.name === 'uninstall_plugins')
  for (const a of acts) {
    // the same plugins in another order is no (de)activation: counted with the other settings
    if (a.added?.length === 0 && a.removed?.length === 0) continue
    explained.add(a.option)
    if (!a.added || !a.removed) {
      out.push({ text: `${a.blog === 'network' ? 'network-active' : 'active'} plugins changed${onSite(t, a.blog)}`, items: [item(a.option)] })
      continue
    }
    // WordPress notes a plugin's uninstall hook when it is activated: part of the activation, not a setting of its own
    const explains = [item(a.option), ...uninstall.filter((o) => blogOf(t, o.table) === a.blog).map(item)]
    for (const o of uninstall) if (blogOf(t, o.table) === a.blog) explained.add(o)
    const [on, off] = a.blog === 'network' ? ['network-activated', 'network-deactivated'] : ['activated', 'deactivated']
    for (const f of a.added) addEvent(pluginUnit(f), { verb: on + onSite(t, a.blog), items: explains })
    for (const f of a.removed) addEvent(pluginUnit(f), { verb: off + onSite(t, a.blog), items: explains })
  }

  const unitNames = [...new Set([...c.units.keys(), ...events.keys()])].sort(
    (a, b) => KIND_ORDER.indexOf(kindOf(a)) - KIND_ORDER.indexOf(kindOf(b)) || (a < b ? -1 : a > b ? 1 : 0),
  )
  for (const unit of unitNames) {
    const kind = kindOf(unit)
    const u = c.units.get(unit)
    const acted = events.get(unit) ?? []
    const was = kind === 'drop-in' ? before.files.has(unit) : kind === 'folder' ? before.links.has(unit) : !!c.before.get(unit)?.present
    const is = kind === 'drop-in' ? after.files.has(unit) : kind === 'folder' ? after.links.has(unit) : !!c.after.get(unit)?.present
    const identBefore = ident(unit, kind, 'before')
    const identAfter = ident(unit, kind, 'after')
    const id = u && was && !is ? (identBefore ?? identAfter) : (identAfter ?? identBefore)
    const leaf = unit.slice(unit.indexOf('/') + 1)
    // a drop-in, a single-file plugin or mu-plugin: "changed", not "1 file changed"
    const oneFile = before.files.has(unit) || after.files.has(unit)
    const singleFile = (kind === 'plugin' || kind === 'mu-plugin') && oneFile
    // a PHP file directly in plugins/ with no plugin header (index.php) is no plugin to WordPress
    const [label, name] =
      kind === 'drop-in' || kind === 'folder' ? [kind, displayText(unit, { path: true })]
      : kind === 'plugin' && singleFile && !id && acted.length === 0 ? ['file', displayText(unit, { path: true })]
      : [kind === 'theme' && id?.child ? 'child theme' : kind, id?.name ?? displayText(leaf, { path: true })]
    const verbs: string[] = []
    let edited: string | null = null
    if (u) {
      const content = u.files.filter((f) => f.content).length
      const v0 = identBefore?.version
      const v1 = identAfter?.version
      if (!was && is) verbs.push('added')
      else if (!was && !is) edited = 'changed'
      else if (!is) {
        // 'removed' comes after any deactivation, below
      } else if (v0 && v1 && v0 !== v1) verbs.push(`${compareVersions(v0, v1) === 1 ? 'downgraded' : 'updated'} ${v0} → ${v1}${oneFile ? '' : ` (${files(u.files.length)})`}`)
      else if (oneFile && content > 0) verbs.push('changed')
      else if (oneFile || kind === 'folder') edited = u.files.length > 0 ? 'mode or owner changed' : 'link changed'
      else
        edited =
          content > 0 ? `${files(content)} changed`
          : u.files.length > 0 ? `mode or owner of ${files(u.files.length)} changed`
          : u.links > 0 ? 'link changed'
          : 'folders changed'
    }
    verbs.push(...acted.map((e) => e.verb))
    if (u && was && !is) verbs.push('removed')
    const items = [...new Set([...(u && !edited ? u.items : []), ...acted.flatMap((e) => e.items)])]
    if (verbs.length) out.push({ text: `${label} ${name} ${verbs.join(' and ')}`, items })
    if (edited && u) out.push({ text: `${label} ${name}: ${edited}`, items: u.items })
  }

  // the database schema: next to the plugin update that migrated it
  for (const c of diff.schema ?? []) out.push({ text: schemaChangeText(c), items: [`schema:${c.table}`] })

  // known settings: one phrase per label and blog, in the table's order
  const settings = new Map<string, Phrase & { order: number }>()
  for (const o of diff.options) {
    if (!o.value || explained.has(o)) continue
    const label = settingLabel(t, o, (slug) => themeName(slug))
    if (!label) continue
    explained.add(o)
    const text = `${label} changed${onSite(t, blogOf(t, o.table))}`
    const p = settings.get(text) ?? { text, items: [], order: SETTING_ORDER.includes(label) ? SETTING_ORDER.indexOf(label) : SETTING_ORDER.length }
    p.items.push(item(o))
    settings.set(text, p)
  }
  out.push(...[...settings.values()].sort((a, b) => a.order - b.order).map(({ text, items }) => ({ text, items })))

  // Site Editor entities and settings-table rows: said by what they are, never counted with the other settings
  const records = diff.options.filter((o) => o.value && !explained.has(o) && isRecordName(o.name))
  for (const o of records) explained.add(o)
  out.push(...recordPhrases(t, records, bytes, (slug) => themeName(slug)))

  const others = diff.options.filter((o) => !explained.has(o))
  if (others.length) out.push({ text: `${thousands(others.length)}${out.length ? ' other' : ''} setting${others.length === 1 ? '' : 's'} changed`, items: others.map(item) })
  return out
}

/** The phrases as one short line: the first `max`, then how many more. */
export function wordsLine(phrases: readonly (Phrase | string)[], max = 4): string {
  const texts = phrases.map((p) => (typeof p === 'string' ? p : p.text))
  if (texts.length <= max) return texts.join('; ')
  return `${texts.slice(0, max).join('; ')}; and ${texts.length - max} more`
}

/** How many phrases a snapshot keeps (a trailer is one line; the raw items are in the state anyway). */
const TRAILER_MAX = 30

/** The phrases as the `Peakguard-Words` trailer: a JSON array of texts (a name may hold `;`, and JSON escapes what a line may not hold). */
export function wordsTrailer(phrases: readonly (Phrase | string)[]): string {
  const texts = phrases.map((p) => (typeof p === 'string' ? p : p.text))
  const kept = texts.length > TRAILER_MAX ? [...texts.slice(0, TRAILER_MAX - 1), `and ${texts.length - TRAILER_MAX + 1} more`] : texts
  return JSON.stringify(kept)
}

/** The phrases of a `Peakguard-Words` trailer, made displayable again; null when there is none or it does not parse. */
export function wordsOfTrailer(text: string | undefined): string[] | null {
  if (text === undefined) return null
  try {
    const v: unknown = JSON.parse(text)
    return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.slice(0, TRAILER_MAX).map((x: string) => visible(x.slice(0, 1000))) : null
  } catch {
    return null
  }
}
