// Site Editor entities and WooCommerce's settings rows as people read them (issue 17, item 3): in words
// ("template part “header” (Twenty Twenty-Three) edited", "tax rate #4 (GB VAT 20%) changed", "12 tax
// rates changed") and as a structured diff — which post columns, meta values, terms or row columns changed,
// serialized and JSON values unserialized, secrets masked by name and shape, hostile names shown as text,
// "restore just this" by the record's own selector. Plain states built with the records' own encoding, then
// a real site (MariaDB with WordPress's and WooCommerce's own DDL) through the real CLI.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import path from 'node:path'
import { Eta } from 'eta'
import {
  ENTITY_HEADER,
  ROW_HEADER,
  changeInWords,
  diffStates,
  encodeRecord,
  entityName,
  onlyIncludesOption,
  optionKey,
  parseOnly,
  stateOf,
  tableRowName,
  wordsNeeds,
  type FileEntry,
  type OptionEntry,
  type Phrase,
  type SiteState,
} from '../src/core/index.ts'
import { diffItems, type DiffItem } from '../src/http/diff-view.ts'
import type { DiffSide } from '../src/services/index.ts'
import { createSite, REPO, type TestSite } from './harness/site.ts'
import { insertEntityPost, installWooCommerce, installWordPressContentTables } from './harness/woocommerce.ts'

const enc = (s: string) => new TextEncoder().encode(s)
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex')

/** An entity's record as the database builds it: every post column given, then meta pairs, then terms. */
function entity(post: Record<string, string>, meta: [string, string | null][] = [], terms: [string, string, string][] = []): Uint8Array {
  const cols = { ID: '10', post_author: '1', post_content: '', post_title: '', post_status: 'publish', post_password: '', post_name: '', post_modified: '2026-11-20 10:00:00', post_type: 'wp_template_part', ...post }
  return encodeRecord(ENTITY_HEADER, [
    ...Object.entries(cols).map(([label, v]) => ({ label, value: enc(v) })),
    ...meta.flatMap(([k, v]) => [
      { label: 'meta', value: enc(k) },
      { label: 'meta_value', value: v === null ? null : enc(v) },
    ]),
    ...terms.map(([tax, slug, name]) => ({ label: 'term', value: enc(`${tax}\u0000${slug}\u0000${name}`) })),
  ])
}

/** A settings-table row's record: its columns in order (null: SQL NULL). */
const row = (cols: Record<string, string | null>) => encodeRecord(ROW_HEADER, Object.entries(cols).map(([label, v]) => ({ label, value: v === null ? null : enc(v) })))

const ent = (type: string, theme: string, slug: string) => entityName(enc(type), enc(theme), enc(slug))
const tab = (table: string, ...key: string[]) => tableRowName(table, key.map(enc))

interface Side {
  files?: Record<string, string>
  /** record name → its bytes; the table follows from the name (wp_posts, wp_<table>) */
  records: Record<string, Uint8Array>
  options?: Record<string, string>
}

const tableOf = (name: string) => (name.startsWith('entity:') ? 'wp_posts' : name.startsWith('table:') ? `wp_${name.slice(6, name.indexOf('#'))}` : 'wp_options')

function build(s: Side): { state: SiteState; bytes: Map<string, Uint8Array> } {
  const bytes = new Map<string, Uint8Array>()
  const files: FileEntry[] = Object.entries(s.files ?? {}).map(([p, text]) => {
    bytes.set(p, enc(text))
    return { path: p, kind: 'file', blob: sha1(enc(text)), mode: 0o644, uid: 33, gid: 33 }
  })
  const options: OptionEntry[] = [...Object.entries(s.options ?? {}).map(([n, v]) => [n, enc(v)] as const), ...Object.entries(s.records)].map(([name, v]) => {
    const table = tableOf(name)
    bytes.set(optionKey(table, name), v)
    return { table, name, blob: sha1(v), autoload: table === 'wp_options' ? 'yes' : null }
  })
  return { state: stateOf(files, [], options), bytes }
}

/** The phrases from `a` to `b`, fetching only what wordsNeeds names, in its two passes, as the service does. */
function say(a: Side, b: Side): Phrase[] {
  const A = build(a)
  const B = build(b)
  const diff = diffStates(A.state, B.state)
  const text = (keys: string[], s: typeof A) => new Map(keys.filter((k) => s.bytes.has(k)).map((k) => [k, new TextDecoder().decode(s.bytes.get(k))]))
  const raw = (keys: string[], s: typeof A) => new Map(keys.filter((k) => s.bytes.has(k)).map((k) => [k, s.bytes.get(k) as Uint8Array]))
  // rows: options as text, entities and settings-table rows as their record bytes
  const isRecord = (k: string) => /\u0000(?:entity|table):/.test(k)
  const first = wordsNeeds(diff, A.state, B.state).options
  const opts = first.filter((k) => !isRecord(k))
  const values = { before: text(opts, A), after: text(opts, B), records: { before: raw(first.filter(isRecord), A), after: raw(first.filter(isRecord), B) } }
  const second = wordsNeeds(diff, A.state, B.state, values)
  const recs = second.options.filter(isRecord)
  const records = { before: raw(recs, A), after: raw(recs, B) }
  for (const k of first) assert.ok(second.options.includes(k), 'the second pass keeps what the first asked for')
  return changeInWords(diff, A.state, B.state, {
    before: new Map([...values.before, ...text(second.files, A)]),
    after: new Map([...values.after, ...text(second.files, B)]),
    records,
  })
}
const words = (a: Side, b: Side) => say(a, b).map((p) => p.text)

const THEMES = { 'themes/twentytwentythree/style.css': '/*\nTheme Name: Twenty Twenty-Three\nVersion: 1.2\n*/\n' }
const HEADER = ent('wp_template_part', 'twentytwentythree', 'header')
const HOME = ent('wp_template', 'twentytwentythree', 'home')
const STYLES = ent('wp_global_styles', 'twentytwentythree', 'wp-global-styles-twentytwentythree')
const NAV = ent('wp_navigation', '', 'header-navigation')
const FONT = ent('wp_font_family', '', 'inter')
const headerPart = (content: string) =>
  entity({ post_type: 'wp_template_part', post_name: 'header', post_title: 'Header', post_content: content }, [['origin', 'theme']], [['wp_theme', 'twentytwentythree', 'twentytwentythree'], ['wp_template_part_area', 'header', 'header']])
const styles = (bg: string) => entity({ ID: '11', post_type: 'wp_global_styles', post_name: 'wp-global-styles-twentytwentythree', post_title: 'Custom Styles', post_content: `{"version":2,"isGlobalStylesUserThemeJSON":true,"styles":{"color":{"background":"${bg}","text":"#000"}}}` }, [], [['wp_theme', 'twentytwentythree', 'twentytwentythree']])
const nav = (title: string, content = '<!-- wp:navigation-link {"label":"Shop","url":"/shop"} /-->') => entity({ ID: '12', post_type: 'wp_navigation', post_name: 'header-navigation', post_title: title, post_content: content })

/** WooCommerce's settings as a shop has them (rows as its installer's schema holds them). */
function shop(): Record<string, Uint8Array> {
  return {
    [tab('woocommerce_tax_rates', '3')]: row({ tax_rate_id: '3', tax_rate_country: 'GB', tax_rate_state: '', tax_rate: '20.0000', tax_rate_name: 'Standard', tax_rate_priority: '1', tax_rate_class: '' }),
    [tab('woocommerce_tax_rate_locations', '1')]: row({ location_id: '1', location_code: 'SW1A 1AA', tax_rate_id: '3', location_type: 'postcode' }),
    [tab('woocommerce_tax_rate_locations', '2')]: row({ location_id: '2', location_code: 'LONDON', tax_rate_id: '3', location_type: 'city' }),
    [tab('woocommerce_shipping_zones', '2')]: row({ zone_id: '2', zone_name: 'Europe', zone_order: '1' }),
    [tab('woocommerce_shipping_zone_locations', '5')]: row({ location_id: '5', zone_id: '2', location_code: 'EU', location_type: 'continent' }),
    [tab('woocommerce_shipping_zone_methods', '3')]: row({ zone_id: '2', instance_id: '3', method_id: 'flat_rate', method_order: '1', is_enabled: '1' }),
    [tab('woocommerce_shipping_zone_methods', '9')]: row({ zone_id: '0', instance_id: '9', method_id: 'free_shipping', method_order: '1', is_enabled: '1' }),
    [tab('woocommerce_attribute_taxonomies', '1')]: row({ attribute_id: '1', attribute_name: 'colour', attribute_label: 'Colour', attribute_type: 'select', attribute_orderby: 'menu_order', attribute_public: '0' }),
    [tab('wc_webhooks', '1')]: row({ webhook_id: '1', status: 'active', name: 'Order created', user_id: '1', delivery_url: 'https://erp.example/hook?token=Zx8Kq2LmP9vR4tY7wQ3n', secret: 'whsec_not-for-anyone', topic: 'order.created', api_version: '3' }),
  }
}

describe('entities and WooCommerce rows in words', () => {
  it('says Site Editor entities as WordPress people do: template parts, templates, global styles, menus and fonts', () => {
    const before: Side = { files: THEMES, records: { [HEADER]: headerPart('<!-- wp:site-title /-->'), [STYLES]: styles('#ffffff'), [NAV]: nav('Header navigation') } }
    const after: Side = {
      files: THEMES,
      records: {
        [HEADER]: headerPart('<!-- wp:site-logo /-->'),
        [HOME]: entity({ ID: '13', post_type: 'wp_template', post_name: 'home' }, [], [['wp_theme', 'twentytwentythree', 'twentytwentythree']]),
        [STYLES]: styles('#000000'),
        [NAV]: nav('Header navigation', '<!-- wp:navigation-link {"label":"Sale","url":"/sale"} /-->'),
        [FONT]: entity({ ID: '14', post_type: 'wp_font_family', post_name: 'inter', post_title: 'Inter' }),
      },
    }
    assert.deepEqual(say(before, after), [
      { text: 'template “home” (Twenty Twenty-Three) added', items: [HOME] },
      { text: 'template part “header” (Twenty Twenty-Three) edited', items: [HEADER] },
      { text: 'global styles of Twenty Twenty-Three changed', items: [STYLES] },
      { text: 'navigation menu “Header navigation” edited', items: [NAV] },
      { text: 'font family “Inter” added', items: [FONT] },
    ])
    // deleted: a menu is named by the title it had
    assert.deepEqual(words(after, { files: THEMES, records: { [HEADER]: headerPart('<!-- wp:site-logo /-->'), [HOME]: after.records[HOME] as Uint8Array, [STYLES]: styles('#000000'), [FONT]: after.records[FONT] as Uint8Array } }), [
      'navigation menu “Header navigation” deleted',
    ])
  })

  it('falls back to the names the record key gives: a theme without style.css by its folder, a menu without a readable record by its slug', () => {
    const part = ent('wp_template_part', 'my-theme', 'footer')
    const broken = enc('peakguard-entity 1\nID\t99\n')
    assert.deepEqual(words({ records: { [NAV]: nav('Old') } }, { records: { [NAV]: broken, [part]: headerPart('x') } }), [
      'template part “footer” (my-theme) added',
      'navigation menu “header-navigation” edited',
    ])
  })

  it('shows a hostile slug or title as one bounded line of text', () => {
    const evil = entityName(enc('wp_template_part'), enc('twentytwentythree'), enc('../<img src=x onerror=alert(1)>\n\u0000"q"'))
    const long = `Menu\n${'x'.repeat(300)}`
    const p = words({ files: THEMES, records: {} }, { files: THEMES, records: { [evil]: headerPart('x'), [NAV]: nav(long) } })
    assert.deepEqual(p[0], 'template part “../<img src=x onerror=alert(1)> \\x00\"q\"” (Twenty Twenty-Three) added')
    assert.match(p[1] as string, /^navigation menu “Menu x+…” added$/)
    for (const text of p) assert.doesNotMatch(text, /[\u0000-\u001f]/)
    assert.ok([...(p[1] as string)].length < 120, 'a name is bounded')
  })

  it('says WooCommerce rows by what its screens call them, never a webhook’s secret or URL', () => {
    const before = shop()
    const after = {
      ...shop(),
      [tab('woocommerce_tax_rates', '3')]: row({ tax_rate_id: '3', tax_rate_country: 'GB', tax_rate_state: '', tax_rate: '21.5000', tax_rate_name: 'Standard', tax_rate_priority: '1', tax_rate_class: '' }),
      [tab('woocommerce_tax_rate_locations', '1')]: row({ location_id: '1', location_code: 'SW1A 2AA', tax_rate_id: '3', location_type: 'postcode' }),
      [tab('woocommerce_tax_rate_locations', '7')]: row({ location_id: '7', location_code: 'LEEDS', tax_rate_id: '3', location_type: 'city' }),
      [tab('woocommerce_shipping_zones', '4')]: row({ zone_id: '4', zone_name: 'Nordics', zone_order: '2' }),
      [tab('woocommerce_shipping_zone_locations', '5')]: row({ location_id: '5', zone_id: '2', location_code: 'CH', location_type: 'country' }),
      [tab('woocommerce_shipping_zone_methods', '3')]: row({ zone_id: '2', instance_id: '3', method_id: 'flat_rate', method_order: '1', is_enabled: '0' }),
      [tab('woocommerce_shipping_zone_methods', '9')]: row({ zone_id: '0', instance_id: '9', method_id: 'free_shipping', method_order: '2', is_enabled: '1' }),
      [tab('wc_webhooks', '1')]: row({ webhook_id: '1', status: 'active', name: 'Order created', user_id: '1', delivery_url: 'https://erp.example/hook?token=NEW8Kq2LmP9vR4tY7wQ3n', secret: 'whsec_rotated', topic: 'order.created', api_version: '3' }),
      [tab('acme_rules', '7', 'b')]: row({ id: '7', lang: 'b', rule: 'x' }),
    }
    delete after[tab('woocommerce_attribute_taxonomies', '1')]
    const p = say({ records: before }, { records: after })
    assert.deepEqual(p, [
      { text: 'tax rate #3 (GB Standard 21.5%) changed', items: [tab('woocommerce_tax_rates', '3')] },
      { text: 'tax rate #3 locations changed', items: [tab('woocommerce_tax_rate_locations', '1'), tab('woocommerce_tax_rate_locations', '7')] },
      { text: 'shipping zone “Nordics” added', items: [tab('woocommerce_shipping_zones', '4')] },
      { text: 'shipping zone “Europe” locations changed', items: [tab('woocommerce_shipping_zone_locations', '5')] },
      { text: 'shipping method Flat rate in zone “Europe” disabled', items: [tab('woocommerce_shipping_zone_methods', '3')] },
      { text: 'shipping method Free shipping in zone “Rest of the world” changed', items: [tab('woocommerce_shipping_zone_methods', '9')] },
      { text: 'product attribute “Colour” deleted', items: [tab('woocommerce_attribute_taxonomies', '1')] },
      { text: 'webhook “Order created” changed', items: [tab('wc_webhooks', '1')] },
      { text: 'acme_rules row 7, b added', items: [tab('acme_rules', '7', 'b')] },
    ])
    const all = p.map((x) => x.text).join('\n')
    assert.doesNotMatch(all, /whsec|token|erp\.example/)
  })

  it('counts many rows of one table, and says entities and rows beside the known settings, not as “other settings”', () => {
    const rates = (rate: string) => Object.fromEntries(Array.from({ length: 12 }, (_, i) => [tab('woocommerce_tax_rates', String(i + 1)), row({ tax_rate_id: String(i + 1), tax_rate_country: 'DE', tax_rate: rate, tax_rate_name: `Rate ${i + 1}` })]))
    const p = say({ files: THEMES, options: { blogname: 'Shop', some_plugin_thing: 'a' }, records: { ...rates('19.0000'), [HEADER]: headerPart('a') } }, {
      files: THEMES,
      options: { blogname: 'Campaign Shop', some_plugin_thing: 'b' },
      records: { ...rates('19.5000'), [HEADER]: headerPart('b') },
    })
    assert.deepEqual(p.map((x) => x.text), ['site title changed', 'template part “header” (Twenty Twenty-Three) edited', '12 tax rates changed', '1 other setting changed'])
    assert.equal(p[2]?.items.length, 12)
    assert.ok(p[2]?.items.every((i) => i.startsWith('table:woocommerce_tax_rates#')))
  })
})

/** A side of a diff over plain states: blobs from the built bytes. */
function side(label: string, b: { state: SiteState; bytes: Map<string, Uint8Array> }): DiffSide {
  const byBlob = new Map([...b.state.options.values()].map((o) => [o.blob, b.bytes.get(optionKey(o.table, o.name)) as Uint8Array]))
  return { label, state: b.state, load: async (blobs) => new Map(blobs.filter((x) => byBlob.has(x)).map((x) => [x, byBlob.get(x) as Uint8Array])) }
}

async function view(a: Side, b: Side): Promise<DiffItem[]> {
  const A = build(a)
  const B = build(b)
  return (await diffItems(diffStates(A.state, B.state), side('A', A), side('B', B))).items
}

const text = (i: DiffItem | undefined, field: string) => {
  const f = i?.fields?.find((x) => x.name === field)
  assert.ok(f, `field ${field} of ${i?.name}: ${JSON.stringify(i?.fields?.map((x) => x.name))}`)
  return f
}
const lines = (f: { lines: { kind: string; text: string }[] }, kind: 'add' | 'del') => f.lines.filter((l) => l.kind === kind).map((l) => l.text)

describe('the structured diff of entities and rows (state page)', () => {
  it('lists the changed post columns, meta values and terms; serialized meta unserialized, JSON content indented, secrets masked', async () => {
    const meta = (n: number, pass: string): [string, string | null][] => [
      ['origin', 'theme'],
      ['_acme_layout', `a:2:{s:5:"width";i:${n};s:7:"api_key";s:20:"${pass}";}`],
      ['_acme_token', pass],
    ]
    const a = entity({ post_name: 'header', post_content: '<!-- wp:group -->\n<div class="wp-block-group">\n<!-- wp:site-title /-->\n</div>\n<!-- /wp:group -->', post_password: 'hunter2', post_modified: '2026-11-20 10:00:00' }, meta(900, 'AAAAAAAAAAAAAAAAAAAA'), [['wp_theme', 'twentytwentythree', 'twentytwentythree']])
    const b = entity({ post_name: 'header', post_content: '<!-- wp:group -->\n<div class="wp-block-group">\n<!-- wp:site-logo /-->\n</div>\n<!-- /wp:group -->', post_password: 'hunter3', post_modified: '2026-11-21 03:12:00' }, meta(1200, 'BBBBBBBBBBBBBBBBBBBB'), [['wp_theme', 'twentytwentyfour', 'twentytwentyfour']])
    const items = await view({ records: { [HEADER]: a, [STYLES]: styles('#ffffff') } }, { records: { [HEADER]: b, [STYLES]: styles('#000000') } })
    const item = items.find((i) => i.name === HEADER)
    const stylesItem = items.find((i) => i.name === STYLES)

    assert.equal(item?.name, HEADER)
    assert.equal(item?.title, 'template part “header” (twentytwentythree)')
    assert.equal(item?.unit, HEADER, 'restore just this: the entity’s own selector')
    assert.deepEqual(item?.fields?.map((f) => `${f.change} ${f.name}`), ['modified post_content', 'modified post_password', 'modified post_modified', 'modified meta _acme_layout', 'modified meta _acme_token', 'modified terms'])
    const content = text(item, 'post_content')
    assert.deepEqual([lines(content, 'del'), lines(content, 'add')], [['<!-- wp:site-title /-->'], ['<!-- wp:site-logo /-->']])
    assert.deepEqual([lines(text(item, 'post_modified'), 'del'), lines(text(item, 'post_modified'), 'add')], [['2026-11-20 10:00:00'], ['2026-11-21 03:12:00']])
    const layout = text(item, 'meta _acme_layout')
    assert.equal(layout.unserialized, true)
    assert.deepEqual([lines(layout, 'del')[0], lines(layout, 'add')[0]], ['  "width": 900,', '  "width": 1200,'])
    assert.match(lines(layout, 'add')[1] as string, /^ {2}"api_key": "•••••• \(secret, hidden; #[0-9a-f]{4}\)"$/)
    for (const secret of [text(item, 'post_password'), text(item, 'meta _acme_token')]) assert.deepEqual([secret.masked, secret.lines], [true, []])
    assert.deepEqual([lines(text(item, 'terms'), 'del'), lines(text(item, 'terms'), 'add')], [['wp_theme: twentytwentythree'], ['wp_theme: twentytwentyfour']])
    const all = JSON.stringify(item)
    for (const s of ['hunter', 'AAAAAAAAAA', 'BBBBBBBBBB']) assert.ok(!all.includes(s), `${s} is not shown`)

    // global styles are one line of JSON: indented, the changed colour is one line
    const css = text(stylesItem, 'post_content')
    assert.deepEqual([lines(css, 'del'), lines(css, 'add')], [['      "background": "#ffffff",'], ['      "background": "#000000",']])
  })

  it('lists a row’s changed columns: a webhook’s secret masked by its column’s name, a token in its URL by shape, NULLs said', async () => {
    const hook = (secret: string, url: string, status: string | null) => row({ webhook_id: '1', status, name: 'Order created', delivery_url: url, secret, topic: 'order.created' })
    const [item] = await view(
      { records: { [tab('wc_webhooks', '1')]: hook('whsec_first-secret', 'https://erp.example/hook?token=Zx8Kq2LmP9vR4tY7wQ3n', 'active') } },
      { records: { [tab('wc_webhooks', '1')]: hook('whsec_second-secret', 'https://erp.example/hook2?token=Pq7Zx8Kq2LmP9vR4tY7w', null) } },
    )
    assert.equal(item?.title, 'wc_webhooks row 1')
    assert.equal(item?.unit, 'table:wc_webhooks#1')
    assert.deepEqual(item?.fields?.map((f) => f.name), ['status', 'delivery_url', 'secret'])
    assert.equal(text(item, 'secret').masked, true)
    assert.equal(text(item, 'status').note, 'now NULL')
    const url = text(item, 'delivery_url')
    assert.match(lines(url, 'add')[0] as string, /^https:\/\/erp\.example\/hook2\?token=•••••• \(secret, hidden; #[0-9a-f]{4}\)$/)
    const all = JSON.stringify(item)
    for (const s of ['first-secret', 'second-secret', 'Zx8Kq2LmP9vR4tY7wQ3n', 'Pq7Zx8Kq2LmP9vR4tY7w']) assert.ok(!all.includes(s), `${s} is not shown`)

    // a row added lists what it holds; a JSON column is indented
    const [added] = await view({ records: {} }, { records: { [tab('acme_rules', '1')]: row({ id: '1', empty: '', gone: null, rules: '{"max":3,"zones":["EU"]}' }) } })
    assert.deepEqual(added?.fields?.map((f) => `${f.change} ${f.name}`), ['added id', 'added rules'])
    assert.deepEqual(lines(text(added, 'rules'), 'add'), ['{', '  "max": 3,', '  "zones": [', '    "EU"', '  ]', '}'])
  })

  it('shows a hostile slug and meta key as text, and restores just it by its own selector', async () => {
    const evil = entityName(enc('wp_template_part'), enc('twentytwentythree'), enc('../<img src=x onerror=alert(1)>"\u0000'))
    const a = entity({ post_name: 'x', post_content: '<p>old</p>' }, [['<b>"k"\u0007', 'v1']])
    const b = entity({ post_name: 'x', post_content: '<p>new</p>' }, [['<b>"k"\u0007', 'v2']])
    const [item] = await view({ records: { [evil]: a } }, { records: { [evil]: b } })
    assert.equal(item?.name, 'entity:wp_template_part/twentytwentythree/..%2F%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%00')
    assert.equal(item?.title, 'template part “../<img src=x onerror=alert(1)>"\\x00” (twentytwentythree)')
    assert.deepEqual(item?.fields?.map((f) => f.name), ['post_content', 'meta <b>"k"\\x07'])

    const eta = new Eta({ views: path.join(REPO, 'web/templates'), autoEscape: true })
    const html = eta.render('diff', { items: [item], more: 0, restoreBase: '/sites/shop/restore?target=abc', canRestore: true })
    assert.doesNotMatch(html, /<img src=x|<b>"k"|<p>new<\/p>/)
    assert.match(html, /<strong>template part “\.\.\/&lt;img src=x onerror=alert\(1\)&gt;&quot;\\x00” \(twentytwentythree\)<\/strong>/)
    assert.match(html, /<code>meta &lt;b&gt;&quot;k&quot;\\x07<\/code>/)
    assert.match(html, /<span class="l-add">\+&lt;p&gt;new&lt;\/p&gt;<\/span>/)
    const href = /href="([^"]*)">Restore just this template part/.exec(html)?.[1] as string
    assert.ok(href, html)
    const only = new URLSearchParams(href.replace(/&amp;/g, '&').split('?')[1]).getAll('only')
    assert.deepEqual(only, [evil])
    // the restore preview route parses `only` with parseOnly: the selector is accepted and selects the entity
    const filter = parseOnly(only)
    assert.ok(filter && onlyIncludesOption(filter, evil))
    assert.ok(!onlyIncludesOption(filter, HEADER))
  })
})

describe('entities and WooCommerce rows on a real site: diff, list and show', function () {
  this.timeout(240_000)
  let site: TestSite
  let first = ''

  before(async () => {
    site = await createSite({ siteConfig: '    settingsTables: [woocommerce]\n' })
    // createSite's posts table is minimal: WordPress's own, so that Site Editor entities are recorded
    await installWordPressContentTables(site.db, 'wp_')
    await installWooCommerce(site.db, 'wp_')
    await insertEntityPost(site.db, 'wp_', { type: 'wp_template_part', slug: 'header', theme: 'twentytwentythree', area: 'header', title: 'Header', content: '<!-- wp:group -->\n<!-- wp:site-title /-->\n<!-- /wp:group -->' })
    const snap = await site.cli(['snapshot', '-m', 'before the night', '--json'])
    assert.equal(snap.code, 0, snap.stderr)
    first = snap.json.id
  })
  after(async () => site?.cleanup())

  it('prints the changed fields in `diff`, and the words in `list` and `show`', async () => {
    await site.db.query(`UPDATE wp_posts SET post_content = '<!-- wp:group -->\n<!-- wp:site-logo /-->\n<!-- /wp:group -->', post_modified = '2026-11-28 03:12:00' WHERE post_name = 'header'`)
    await site.db.query(`UPDATE wp_woocommerce_tax_rates SET tax_rate = '21.0000' WHERE tax_rate_id = 4`)
    await site.db.query(`UPDATE wp_woocommerce_shipping_zone_methods SET is_enabled = 1 WHERE instance_id = 4`)
    const snap = await site.cli(['snapshot', '-m', 'the night', '--json'])
    assert.equal(snap.code, 0, snap.stderr)

    const d = await site.cli(['diff', first, snap.json.id])
    assert.equal(d.code, 0, d.stderr)
    assert.match(d.stdout, /^~ entity entity:wp_template_part\/twentytwentythree\/header {2}\(template part “header” \(twentytwentythree\)\)$/m)
    assert.match(d.stdout, /^~ row {4}table:woocommerce_tax_rates#4 {2}\(woocommerce_tax_rates row 4\)$/m)
    assert.match(d.stdout, /^modified template part “header” \(twentytwentythree\): entity:wp_template_part\/twentytwentythree\/header$/m)
    assert.match(d.stdout, /^--- a\/entity:wp_template_part\/twentytwentythree\/header post_content\t/m)
    assert.match(d.stdout, /^-<!-- wp:site-title \/-->\n\+<!-- wp:site-logo \/-->$/m)
    assert.match(d.stdout, /^--- a\/entity:wp_template_part\/twentytwentythree\/header post_modified\t/m)
    assert.match(d.stdout, /^\+\+\+ b\/table:woocommerce_tax_rates#4 tax_rate\t/m)
    assert.match(d.stdout, /^-20\.0000\n\+21\.0000$/m)
    assert.doesNotMatch(d.stdout, /peakguard-entity 1|peakguard-row 1|^[+-]?(?:post_content|tax_rate)\t\d+$/m, 'no raw record bytes')

    const words = ['template part “header” (Twenty Twenty-Three) edited', 'tax rate #4 (GB VAT 21%) changed', 'shipping method Local pickup in zone “Europe” enabled']
    const list = await site.cli(['list', '--json'])
    assert.deepEqual(list.json[0].words, words)
    assert.match((await site.cli(['list'])).stdout.split('\n')[0] as string, /template part “header” \(Twenty Twenty-Three\) edited; tax rate #4 \(GB VAT 21%\) changed; shipping method Local pickup in zone “Europe” enabled/)
    const shown = await site.cli(['show', 'latest'])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, new RegExp(`^changed {2}${words.join('; ').replace(/[()#%]/g, '\\$&')}$`, 'm'))
    assert.match(shown.stdout, /^~ row {4}table:woocommerce_shipping_zone_methods#4 {2}\(woocommerce_shipping_zone_methods row 4\)$/m)
  })
})
