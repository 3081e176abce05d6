// The model of settings rows beyond options (src/core/records.ts) on plain values: entity and table-row
// names with hostile bytes, records encoded and read back, damaged records refused naming the row,
// `--only` selectors, allow-window scopes (src/core/freeze.ts) and the rule that a restore leaves the
// rows of a table only one side records as they are (restoreTarget, src/core/diff.ts).
import assert from 'node:assert/strict'
import {
  allowCovers,
  canonicalSelector,
  selectorsMatchingNothing,
  stateOf,
  checkRecordSelector,
  decodePart,
  decodeRecord,
  diffStates,
  encodePart,
  encodeRecord,
  ENTITY_HEADER,
  entityName,
  entityRecord,
  isRecordName,
  kindOfName,
  normalizeAllowScope,
  onlyIncludesOption,
  optionKey,
  overlayState,
  parseAllowScope,
  parseEntityName,
  parseOnly,
  parseTableRowName,
  recordLabel,
  recordSelects,
  restoreTarget,
  ROW_HEADER,
  rowRecord,
  scopeCovers,
  tableRowName,
  type AllowWindow,
  type OptionEntry,
  type RecordField,
  type SiteState,
} from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'

const b = (s: string) => new TextEncoder().encode(s)
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const hex = (u: Uint8Array | null | undefined) => (u ? Buffer.from(u).toString('hex') : String(u))

/** Asserts `fn` throws a PeakguardError of `code` whose message matches `re`. */
function throwsCode(fn: () => unknown, code: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PeakguardError, String(e))
    assert.equal(e.code, code, e.message)
    assert.match(e.message, re)
    return true
  })
}

describe('record names', () => {
  it('every byte survives a name part, and a part never holds the characters that structure a name', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const enc = encodePart(all)
    assert.match(enc, /^[A-Za-z0-9._~%-]*$/)
    assert.deepEqual(decodePart(enc), all)
    assert.equal(encodePart(new Uint8Array()), '')
    assert.equal(encodePart(b('header-dark_v2.1~x')), 'header-dark_v2.1~x', 'a plain slug stays readable')
  })

  it('an entity name round-trips a slug that is a path, HTML, NUL bytes, separators or emoji', () => {
    for (const slug of ['../../etc/passwd', '<script>alert(1)</script>', 'a\0b', 'x/y#z,w%20', '🛒 checkout', ' ', '.', '..', '%2F']) {
      const name = entityName(b('wp_template_part'), b('twentytwentythree'), b(slug))
      assert.equal(name.split('/').length, 3, `${JSON.stringify(slug)} adds no '/' to the name`)
      assert.ok(!name.includes('#') && !/[\0<>\s]/.test(name), name)
      assert.deepEqual(parseEntityName(name), { type: 'wp_template_part', theme: 'twentytwentythree', slug })
      assert.equal(kindOfName(name), 'entity')
      assert.equal(isRecordName(name), true)
    }
    assert.equal(entityName(b('wp_navigation'), new Uint8Array(), b('navigation')), 'entity:wp_navigation//navigation')
    assert.deepEqual(parseEntityName('entity:wp_navigation//navigation'), { type: 'wp_navigation', theme: '', slug: 'navigation' })
    const dup = entityName(b('wp_template'), b('tt3'), b('index'), 42)
    assert.equal(dup, 'entity:wp_template/tt3/index#42')
    assert.deepEqual(parseEntityName(dup), { type: 'wp_template', theme: 'tt3', slug: 'index', dupId: 42 })
    for (const bad of ['entity:a/b', 'entity:a/b/c/d', 'entity:a/b/c#x', 'entity:a/b/c#', 'table:x#1', 'blogname']) assert.equal(parseEntityName(bad), null, bad)
  })

  it('a settings-table row name round-trips composite keys holding commas, #, NUL, empty parts and non-UTF-8 bytes', () => {
    const key = [b('1'), b('a,b#c'), new Uint8Array(), latin1('\0\xff\xfe'), b('../x')]
    const name = tableRowName('acme_blocks', key)
    assert.equal(name, 'table:acme_blocks#1,a%2Cb%23c,,%00%FF%FE,..%2Fx')
    const back = parseTableRowName(name)
    assert.equal(back?.table, 'acme_blocks')
    assert.deepEqual(back?.key.map(hex), key.map(hex))
    assert.equal(kindOfName(name), 'row')
    assert.equal(kindOfName('blogname'), 'option')
    assert.equal(kindOfName('1:site_name'), 'option')
    assert.equal(isRecordName('table_prefix_option'), false)
    assert.equal(parseTableRowName('table:bad-name#1'), null)
    assert.equal(parseTableRowName('table:woocommerce_tax_rates'), null, 'a row names its key')
  })

  it('labels name rows as people say them, with control bytes made visible', () => {
    assert.equal(recordLabel('entity:wp_template_part/twentytwentythree/header'), 'template part “header” (twentytwentythree)')
    assert.equal(recordLabel('entity:wp_global_styles/twentytwentythree/wp-global-styles-twentytwentythree'), 'global styles (twentytwentythree)')
    assert.equal(recordLabel('entity:wp_navigation//navigation'), 'navigation menu “navigation”')
    assert.equal(recordLabel('entity:wp_template/tt3/index#42'), 'template “index” (tt3) [post 42]')
    assert.equal(recordLabel('entity:wp_block/tt3/x'), 'wp_block entity “x” (tt3)')
    assert.equal(recordLabel(entityName(b('wp_template'), b('tt3'), b('a\nb\0<i>'))), 'template “a\\x0ab\\x00<i>” (tt3)')
    assert.equal(recordLabel('table:woocommerce_tax_rates#3'), 'woocommerce_tax_rates row 3')
    assert.equal(recordLabel(tableRowName('acme', [b('1'), b('x\ty')])), 'acme row 1, x\\x09y')
    assert.equal(recordLabel('blogname'), 'blogname')
  })
})

describe('records', () => {
  const fields: RecordField[] = [
    { label: 'tax_rate_id', value: b('2') },
    { label: 'tax_rate_name', value: latin1('MwSt.\0\n\t\xff') },
    { label: 'tax_rate_state', value: new Uint8Array() },
    { label: 'tax_rate_class', value: null },
    { label: 'tax_rate', value: b('19.0000\n') },
  ]

  it('encode and decode are exact: NULL, empty, NUL, newlines, tabs and non-UTF-8 bytes', () => {
    const bytes = encodeRecord(ROW_HEADER, fields)
    assert.equal(
      Buffer.from(bytes).toString('latin1'),
      'peakguard-row 1\ntax_rate_id\t1\n2\ntax_rate_name\t9\nMwSt.\0\n\t\xff\ntax_rate_state\t0\n\ntax_rate_class\t-\ntax_rate\t8\n19.0000\n\n',
    )
    const back = decodeRecord(bytes, 'woocommerce_tax_rates row 2')
    assert.equal(back.header, ROW_HEADER)
    assert.deepEqual(back.fields.map((f) => [f.label, hex(f.value)]), fields.map((f) => [f.label, hex(f.value)]))
    const row = rowRecord(bytes, 'woocommerce_tax_rates row 2')
    assert.deepEqual([...row.keys()], fields.map((f) => f.label), 'in table order')
    assert.equal(row.get('tax_rate_class'), null)
    assert.equal(hex(row.get('tax_rate_state')), '')
    assert.deepEqual(decodeRecord(encodeRecord(ROW_HEADER, []), 'x').fields, [], 'a record of no columns')
  })

  it('an entity record reads back as the post, its meta pairs in order and its terms', () => {
    const bytes = encodeRecord(ENTITY_HEADER, [
      { label: 'ID', value: b('17') },
      { label: 'post_type', value: b('wp_template_part') },
      { label: 'post_name', value: b('../header') },
      { label: 'post_content', value: b('<!-- wp:site-title /-->') },
      { label: 'meta', value: b('origin') },
      { label: 'meta_value', value: b('theme') },
      { label: 'meta', value: null },
      { label: 'meta_value', value: latin1('\0') },
      { label: 'term', value: b('wp_theme\0twentytwentythree\0twentytwentythree') },
      { label: 'term', value: b('wp_template_part_area\0header\0Header') },
    ])
    const e = entityRecord(bytes, 'template part “../header”')
    assert.equal(new TextDecoder().decode(e.post.get('post_name') as Uint8Array), '../header')
    assert.deepEqual(e.meta.map((m) => [hex(m.key), hex(m.value)]), [[hex(b('origin')), hex(b('theme'))], ['null', '00']])
    assert.deepEqual(e.terms.map((t) => [t.taxonomy, new TextDecoder().decode(t.slug), new TextDecoder().decode(t.name)]), [
      ['wp_theme', 'twentytwentythree', 'twentytwentythree'],
      ['wp_template_part_area', 'header', 'Header'],
    ])
  })

  it('a damaged record is a GIT_FAILED error naming the row, never a crash or a guess', () => {
    const what = 'woocommerce_tax_rates row 2'
    const re = /the recorded value of woocommerce_tax_rates row 2/
    const cases: [Uint8Array, RegExp][] = [
      [b(''), /no header/],
      [b('19.0000'), /no header/],
      [b('peakguard-row 2\n'), /unknown header/],
      [b('peakguard-row 1\ntax_rate'), /a field without its length/],
      [b('peakguard-row 1\ntax_rate\n'), /a field without its length/],
      [b('peakguard-row 1\ntax_rate\tx\n'), /field tax_rate: length "x"/],
      [b('peakguard-row 1\ntax_rate\t-1\n'), /field tax_rate: length "-1"/],
      [b('peakguard-row 1\ntax_rate\t9\n19.0000\n'), /field tax_rate is cut short/],
      [b('peakguard-row 1\ntax_rate\t7\n19.0000X'), /field tax_rate is cut short/],
    ]
    for (const [bytes, why] of cases) {
      throwsCode(() => rowRecord(bytes, what), 'GIT_FAILED', re)
      throwsCode(() => rowRecord(bytes, what), 'GIT_FAILED', why)
    }
    throwsCode(() => rowRecord(encodeRecord(ENTITY_HEADER, [{ label: 'ID', value: b('1') }]), what), 'GIT_FAILED', /woocommerce_tax_rates row 2 is not a settings-table row/)
    const label = 'template part “header” (twentytwentythree)'
    throwsCode(() => entityRecord(encodeRecord(ROW_HEADER, []), label), 'GIT_FAILED', /template part “header” \(twentytwentythree\) is not a Site Editor entity/)
    const post = [
      { label: 'ID', value: b('5') },
      { label: 'post_type', value: b('wp_template_part') },
      { label: 'post_name', value: b('header') },
    ]
    throwsCode(() => entityRecord(encodeRecord(ENTITY_HEADER, [...post, { label: 'meta', value: b('k') }]), label), 'GIT_FAILED', /header.*has a meta key without its value/)
    throwsCode(() => entityRecord(encodeRecord(ENTITY_HEADER, [...post, { label: 'term', value: b('wp_theme\0only-two') }]), label), 'GIT_FAILED', /has a malformed term/)
    throwsCode(() => entityRecord(encodeRecord(ENTITY_HEADER, [...post, { label: 'term', value: b('a\0b\0c\0d') }]), label), 'GIT_FAILED', /has a malformed term/)
    throwsCode(() => entityRecord(encodeRecord(ENTITY_HEADER, post.slice(1)), label), 'GIT_FAILED', /has no ID/)
    throwsCode(() => entityRecord(encodeRecord(ENTITY_HEADER, [post[0]!, post[1]!, { label: 'post_name', value: null }]), label), 'GIT_FAILED', /has no post_name/)
  })
})

describe('record selectors (--only)', () => {
  it('table:NAME selects every row of that table and no other; table:NAME#KEY exactly one; entity:… one entity with its duplicates', () => {
    assert.equal(recordSelects('table:woocommerce_tax_rates', 'table:woocommerce_tax_rates#2'), true)
    assert.equal(recordSelects('table:woocommerce_tax_rates', 'table:woocommerce_tax_rates#1,2'), true)
    assert.equal(recordSelects('table:woocommerce_tax_rate', 'table:woocommerce_tax_rates#2'), false, 'a prefix of a table name is another table')
    assert.equal(recordSelects('table:woocommerce_tax_rates', 'table:woocommerce_tax_rate_locations#2'), false)
    assert.equal(recordSelects('table:woocommerce_tax_rates#2', 'table:woocommerce_tax_rates#2'), true)
    assert.equal(recordSelects('table:woocommerce_tax_rates#2', 'table:woocommerce_tax_rates#20'), false)
    assert.equal(recordSelects('entity:wp_template_part/tt3/header', 'entity:wp_template_part/tt3/header'), true)
    // the other posts of the key come along: writing one replaces the live posts of its key
    assert.equal(recordSelects('entity:wp_template_part/tt3/header', 'entity:wp_template_part/tt3/header#9'), true)
    assert.equal(recordSelects('entity:wp_template_part/tt3/header#9', 'entity:wp_template_part/tt3/header'), false)
    assert.equal(recordSelects('entity:wp_template_part/tt3/head', 'entity:wp_template_part/tt3/header'), false)
  })

  it('--only takes entity: and table: selectors beside paths and options; malformed ones are a USAGE error naming them', () => {
    const only = parseOnly(['table:woocommerce_tax_rates', 'entity:wp_navigation//navigation', 'option:blogname'])
    assert.equal(onlyIncludesOption(only, 'table:woocommerce_tax_rates#4'), true)
    assert.equal(onlyIncludesOption(only, 'table:wc_webhooks#1'), false)
    assert.equal(onlyIncludesOption(only, 'entity:wp_navigation//navigation'), true)
    assert.equal(onlyIncludesOption(only, 'entity:wp_navigation//footer'), false)
    assert.equal(onlyIncludesOption(only, 'blogname'), true)
    assert.equal(onlyIncludesOption(only, 'table:x'), false, 'an option named like a selector is not selected by it')
    for (const bad of ['table:', 'table:bad-name', 'table:a b#1', 'table:#1', 'entity:wp_template', 'entity:a/b', 'entity:a/b/c/d', 'tables:x']) {
      if (bad.startsWith('entity:') || bad.startsWith('table:')) throwsCode(() => parseOnly([bad]), 'USAGE', new RegExp(JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      throwsCode(() => checkRecordSelector(bad), 'USAGE', /entity|table/)
    }
    checkRecordSelector('table:woocommerce_tax_rates#1,%00')
    checkRecordSelector('entity:wp_global_styles/twentytwentythree/wp-global-styles-twentytwentythree')
  })

  it('a selector typed without the encoding selects the same row as the encoded one; a glob keeps its *', () => {
    const utf8 = (t: string) => new TextEncoder().encode(t)
    const stored = entityName(utf8('wp_template'), utf8('twentytwentythree'), utf8('café'))
    assert.equal(onlyIncludesOption(parseOnly(['entity:wp_template/twentytwentythree/café']), stored), true)
    assert.equal(onlyIncludesOption(parseOnly(['entity:wp_template/twentytwentythree/caf%c3%a9']), stored), true, 'lower-case hex too')
    assert.equal(onlyIncludesOption(parseOnly(['table:acme_rules#EU,Stand ard']), 'table:acme_rules#EU,Stand%20ard'), true)
    assert.equal(canonicalSelector('entity:wp_template/tt3/caf*'), 'entity:wp_template/tt3/caf*')
    assert.equal(canonicalSelector('entity:wp_template/tt3/é*x'), 'entity:wp_template/tt3/%C3%A9*x')
  })

  it('names the selectors that select nothing in any of the states, so a typo is not a restore that did nothing', () => {
    const state = stateOf([{ path: 'plugins/akismet/akismet.php', kind: 'file', blob: 'a'.repeat(40), mode: 0o644, uid: 0, gid: 0 }], [], [
      { table: 'wp_options', name: 'blogname', blob: 'b'.repeat(40), autoload: 'yes' },
      { table: 'wp_woocommerce_tax_rates', name: 'table:woocommerce_tax_rates#4', blob: 'c'.repeat(40), autoload: null },
    ])
    const only = parseOnly(['plugins/akismet', 'plugins/akismett', 'option:blogname', 'option:blognme', 'table:woocommerce_tax_rates', 'table:woocommerce_tax_rates#5', 'entity:wp_template/tt3/home'])
    assert.deepEqual(selectorsMatchingNothing(only as NonNullable<typeof only>, [state]), ['plugins/akismett', 'option:blognme', 'table:woocommerce_tax_rates#5', 'entity:wp_template/tt3/home'])
  })
})

describe('allow-window scopes for entities and settings tables', () => {
  const win = (scope: string): AllowWindow => ({ id: 'w1', scope, start: 0, end: 1000, reason: 'tax fix', actor: 'alice' })

  it('table:NAME covers every row of that table, and only of that table', () => {
    assert.deepEqual(parseAllowScope('table:woocommerce_tax_rates'), { kind: 'option', pattern: 'table:woocommerce_tax_rates#*' })
    assert.equal(normalizeAllowScope(' table:woocommerce_tax_rates '), 'table:woocommerce_tax_rates')
    const s = parseAllowScope('table:woocommerce_tax_rates')
    assert.equal(scopeCovers(s, { option: 'table:woocommerce_tax_rates#2' }), true)
    assert.equal(scopeCovers(s, { option: 'table:woocommerce_tax_rates#1,%2F..%2F' }), true, 'any key, composite or encoded')
    assert.equal(scopeCovers(s, { option: 'table:woocommerce_tax_rate_locations#2' }), false)
    assert.equal(scopeCovers(s, { option: 'table:woocommerce_tax_rates_backup#2' }), false)
    assert.equal(scopeCovers(s, { option: 'woocommerce_tax_rates' }), false, 'an option is not a row')
    assert.equal(scopeCovers(s, { path: 'plugins/woocommerce' }), false)
    assert.equal(scopeCovers(parseAllowScope('table:wc_webhooks#1'), { option: 'table:wc_webhooks#1' }), true)
    assert.equal(scopeCovers(parseAllowScope('table:wc_webhooks#1'), { option: 'table:wc_webhooks#12' }), false)
    assert.equal(allowCovers([win('table:woocommerce_tax_rates')], { option: 'table:woocommerce_tax_rates#2' }, 500)?.id, 'w1')
    assert.equal(allowCovers([win('table:woocommerce_tax_rates')], { option: 'table:woocommerce_tax_rates#2' }, 1000), null, 'closed at its end')
  })

  it('entity:TYPE/THEME/SLUG covers that entity; a * glob in the slug keeps three literal characters before it', () => {
    assert.equal(normalizeAllowScope('entity:wp_template_part/twentytwentythree/header'), 'entity:wp_template_part/twentytwentythree/header')
    const one = parseAllowScope('entity:wp_template_part/twentytwentythree/header')
    assert.equal(scopeCovers(one, { option: 'entity:wp_template_part/twentytwentythree/header' }), true)
    assert.equal(scopeCovers(one, { option: 'entity:wp_template_part/twentytwentythree/header-dark' }), false)
    assert.equal(scopeCovers(one, { option: 'entity:wp_template_part/twentytwentythree/header#31' }), true, 'the other posts of its key')
    // an option glob never reaches a row or an entity
    assert.equal(scopeCovers(parseAllowScope('option:tab*'), { option: 'table:woocommerce_tax_rates#4' }), false)
    assert.equal(scopeCovers(parseAllowScope('option:ent*'), { option: 'entity:wp_template_part/twentytwentythree/header' }), false)
    assert.equal(scopeCovers(one, { option: 'entity:wp_template_part/twentytwentyfour/header' }), false)
    const glob = parseAllowScope('entity:wp_template_part/twentytwentythree/head*')
    assert.equal(scopeCovers(glob, { option: 'entity:wp_template_part/twentytwentythree/header' }), true)
    assert.equal(scopeCovers(glob, { option: 'entity:wp_template_part/twentytwentythree/header-dark#31' }), true)
    assert.equal(scopeCovers(glob, { option: 'entity:wp_template/twentytwentythree/header' }), false)
    assert.equal(scopeCovers(glob, { option: 'entity:wp_template_part/twentytwentyfour/header' }), false)
    const nav = parseAllowScope('entity:wp_navigation//navigation')
    assert.equal(scopeCovers(nav, { option: 'entity:wp_navigation//navigation' }), true)
  })

  it('refuses scopes that would name too much, or nothing, with the way to write them', () => {
    const cases: [string, RegExp][] = [
      ['table:woocommerce_*', /name one settings table: table:NAME/],
      ['table:bad-name', /table:NAME/],
      ['table:woo commerce', /one name without spaces/],
      ['entity:wp_template_part/twentytwentythree/h*', /3 literal characters of the slug/],
      ['entity:wp_template_part/*/header', /keeps its type, theme and 3 literal characters/],
      ['entity:*/twentytwentythree/header', /keeps its type, theme and 3 literal characters/],
      ['entity:wp_template_part', /entity:TYPE\/THEME\/SLUG/],
      [`entity:wp_template/tt3/${'x'.repeat(400)}`, /one name without spaces/],
    ]
    for (const [raw, re] of cases) throwsCode(() => parseAllowScope(raw), 'USAGE', re)
    // a window whose stored scope no longer parses covers nothing
    assert.equal(allowCovers([win('entity:wp_template_part/*/header')], { option: 'entity:wp_template_part/x/header' }, 1), null)
  })
})

describe('restoreTarget: a restore touches a table’s rows only where live and the recorded state both record it', () => {
  const row = (table: string, name: string, blob = 'a'): OptionEntry => ({ table, name, blob: blob.padEnd(40, '0'), autoload: null })
  const opt = (name: string, blob = 'a'): OptionEntry => ({ table: 'wp_options', name, blob: blob.padEnd(40, '0'), autoload: 'yes' })
  const state = (rows: OptionEntry[], sources?: string[]): SiteState => ({
    files: new Map(),
    links: new Map(),
    options: new Map(rows.map((o) => [optionKey(o.table, o.name), o])),
    ...(sources ? { sources: new Set(sources) } : {}),
  })
  const plan = (live: SiteState, target: SiteState) =>
    diffStates(live, restoreTarget(live, target)).options.map((o) => `${o.change} ${o.table}.${o.name}`).sort()

  const rate2 = (blob: string) => row('wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#2', blob)
  const header = (blob: string) => row('wp_posts', 'entity:wp_template_part/tt3/header', blob)

  it('a state recorded before entities and settings tables were (no sources) restores options only', () => {
    const live = state([opt('blogname', 'live'), rate2('live'), header('live')], ['wp_options', 'wp_posts', 'wp_woocommerce_tax_rates'])
    const old = state([opt('blogname', 'old')])
    assert.deepEqual(plan(live, old), ['modified wp_options.blogname'], 'the rate and the header are never deleted by an old state')
  })

  it('a table the config no longer names: its recorded rows are not written back, its live rows not deleted', () => {
    const live = state([opt('blogname'), header('live')], ['wp_options', 'wp_posts'])
    const target = state([opt('blogname'), rate2('old'), header('old')], ['wp_options', 'wp_posts', 'wp_woocommerce_tax_rates'])
    assert.deepEqual(plan(live, target), ['modified wp_posts.entity:wp_template_part/tt3/header'])
  })

  it('a table both record: rows are written, added back and deleted as recorded', () => {
    const sources = ['wp_options', 'wp_woocommerce_tax_rates']
    const live = state([opt('blogname'), rate2('live'), row('wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#5')], sources)
    const target = state([opt('blogname'), rate2('old'), row('wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#4')], sources)
    assert.deepEqual(plan(live, target), [
      'added wp_woocommerce_tax_rates.table:woocommerce_tax_rates#4',
      'modified wp_woocommerce_tax_rates.table:woocommerce_tax_rates#2',
      'removed wp_woocommerce_tax_rates.table:woocommerce_tax_rates#5',
    ])
    assert.equal(restoreTarget(live, target), target, 'nothing to leave out: the target itself')
  })

  it('a live reading without sources (an old reader) covers options only, and a partial restore follows the same rule', () => {
    const live = state([opt('blogname', 'live')])
    const target = state([opt('blogname', 'old'), rate2('old')], ['wp_options', 'wp_woocommerce_tax_rates'])
    assert.deepEqual(plan(live, target), ['modified wp_options.blogname'])
    const covered = state([opt('blogname', 'live'), rate2('live')], ['wp_options', 'wp_woocommerce_tax_rates'])
    const after = overlayState(covered, target, parseOnly(['table:woocommerce_tax_rates#2']))
    assert.equal(after.options.get(optionKey('wp_options', 'blogname'))?.blob, 'live'.padEnd(40, '0'), 'not selected: stays live')
    assert.equal(after.options.get(optionKey('wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#2'))?.blob, 'old'.padEnd(40, '0'))
  })
})
