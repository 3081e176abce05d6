// A change in words (core/words.ts) on plain states: what an operator reads in `list` and on the timeline
// for the shapes WordPress gives — active_plugins lists, network activation, parent and child themes,
// plugin headers, single-file plugins, mu-plugins, drop-ins, known settings and the rest counted — with
// names made safe to show. Each case fetches only what wordsNeeds asks for, as the service does.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import {
  changeInWords,
  diffStates,
  headerField,
  optionKey,
  parsePhp,
  stateOf,
  wordsLine,
  wordsNeeds,
  wordsOfTrailer,
  wordsTrailer,
  type FileEntry,
  type OptionEntry,
  type Phrase,
  type SiteState,
} from '../../src/core/index.ts'

/** PHP's serialize() for lists and maps of strings and numbers. */
function ser(v: unknown): string {
  if (typeof v === 'string') return `s:${Buffer.byteLength(v)}:"${v}";`
  if (typeof v === 'number') return `i:${v};`
  if (Array.isArray(v)) return `a:${v.length}:{${v.map((x, i) => `i:${i};${ser(x)}`).join('')}}`
  const o = v as Record<string, unknown>
  return `a:${Object.keys(o).length}:{${Object.entries(o).map(([k, x]) => `${ser(k)}${ser(x)}`).join('')}}`
}

const plugin = (name: string, version?: string) => `<?php\n/**\n * Plugin Name: ${name}\n${version ? ` * Version: ${version}\n` : ''} */\n`
const theme = (name: string, o: { version?: string; template?: string } = {}) =>
  `/*\nTheme Name: ${name}\n${o.template ? `Template: ${o.template}\n` : ''}${o.version ? `Version: ${o.version}\n` : ''}*/\nbody {}\n`

interface Site {
  /** path → content, or content with a mode */
  files: Record<string, string | { content: string; mode: number }>
  /** name (main table) or `table:name` → value; `[value, autoload]` for a row whose autoload flag matters */
  options: Record<string, string | [string, string]>
}

const blob = (s: string) => createHash('sha1').update(s).digest('hex')

function build(s: Site): { state: SiteState; bytes: Map<string, string> } {
  const bytes = new Map<string, string>()
  const files: FileEntry[] = Object.entries(s.files).map(([path, f]) => {
    const { content, mode } = typeof f === 'string' ? { content: f, mode: 0o644 } : f
    bytes.set(path, content)
    return { path, kind: 'file', blob: blob(content), mode, uid: 33, gid: 33 }
  })
  const options: OptionEntry[] = Object.entries(s.options).map(([key, v]) => {
    const m = /^([a-z0-9_]*(?:options|sitemeta)):(.*)$/.exec(key)
    const [table, name] = m ? [m[1] as string, m[2] as string] : ['wp_options', key]
    const [value, autoload] = typeof v === 'string' ? [v, 'yes'] : v
    bytes.set(optionKey(table, name), value)
    return { table, name, blob: blob(value), autoload }
  })
  return { state: stateOf(files, [], options), bytes }
}

/** The phrases from `a` to `b`, reading only what wordsNeeds names (and only the first 8 KiB of files). */
function say(a: Site, b: Site): Phrase[] {
  const A = build(a)
  const B = build(b)
  const diff = diffStates(A.state, B.state)
  const pick = (keys: string[], s: typeof A, max = Infinity) => new Map(keys.filter((k) => s.bytes.has(k)).map((k) => [k, (s.bytes.get(k) as string).slice(0, max)]))
  const rows = wordsNeeds(diff, A.state, B.state).options
  const values = { before: pick(rows, A), after: pick(rows, B) }
  const heads = wordsNeeds(diff, A.state, B.state, values).files
  return changeInWords(diff, A.state, B.state, { before: new Map([...values.before, ...pick(heads, A, 8192)]), after: new Map([...values.after, ...pick(heads, B, 8192)]) })
}
const words = (a: Site, b: Site) => say(a, b).map((p) => p.text)

/** A small shop: WooCommerce active, Demo Upsell installed but inactive, Hello Dolly, two themes. */
function shop(): Site {
  return {
    files: {
      'plugins/woocommerce/woocommerce.php': plugin('WooCommerce', '9.4.1'),
      'plugins/woocommerce/uninstall.php': '<?php\n// uninstall\n',
      'plugins/woocommerce/includes/class-wc.php': '<?php class WC {}\n',
      'plugins/demo-upsell/demo-upsell.php': plugin('Demo Upsell', '1.0.0'),
      'plugins/demo-upsell/readme.txt': '=== Demo Upsell ===\n',
      'plugins/hello.php': '<?php\n/*\nPlugin Name: Hello Dolly\nVersion: 1.7.2\n*/\n',
      'themes/twentytwentythree/style.css': theme('Twenty Twenty-Three', { version: '1.2' }),
      'themes/twentytwentythree/theme.json': '{}\n',
      'themes/twentytwentyone/style.css': theme('Twenty Twenty-One', { version: '1.7' }),
      'themes/twentytwentyone/functions.php': '<?php\n',
      'mu-plugins/00-loader.php': '<?php\n// loads things\n',
      'object-cache.php': '<?php\n// Redis object cache drop-in\n',
    },
    options: {
      siteurl: 'https://shop.example',
      home: 'https://shop.example',
      blogname: 'Shop',
      blogdescription: 'Just another WordPress site',
      template: 'twentytwentythree',
      stylesheet: 'twentytwentythree',
      active_plugins: ser(['woocommerce/woocommerce.php']),
      permalink_structure: '/%postname%/',
      woocommerce_currency: 'EUR',
    },
  }
}

/** `s` with changes applied (null removes). */
function change(s: Site, o: { files?: Record<string, string | { content: string; mode: number } | null>; options?: Record<string, string | [string, string] | null> }): Site {
  const files = { ...s.files }
  const options = { ...s.options }
  for (const [k, v] of Object.entries(o.files ?? {})) if (v === null) delete files[k]
  else files[k] = v
  for (const [k, v] of Object.entries(o.options ?? {})) if (v === null) delete options[k]
  else options[k] = v
  return { files, options }
}

describe('core: a change in words', () => {
  describe('plugins', () => {
    it('names a plugin activated or deactivated by its header, from the active_plugins list', () => {
      const before = shop()
      const on = change(before, { options: { active_plugins: ser(['woocommerce/woocommerce.php', 'demo-upsell/demo-upsell.php']) } })
      assert.deepEqual(say(before, on), [{ text: 'plugin Demo Upsell activated', items: ['option:active_plugins'] }])
      assert.deepEqual(words(on, before), ['plugin Demo Upsell deactivated'])
      const both = change(before, { options: { active_plugins: ser(['demo-upsell/demo-upsell.php', 'hello.php']) } })
      assert.deepEqual(words(before, both), ['plugin Demo Upsell activated', 'plugin Hello Dolly activated', 'plugin WooCommerce deactivated'])
    })

    it('says added and activated, or deactivated and removed, in one phrase that explains the files and the row', () => {
      const before = change(shop(), { files: { 'plugins/demo-upsell/demo-upsell.php': null, 'plugins/demo-upsell/readme.txt': null } })
      const after = change(shop(), { options: { active_plugins: ser(['woocommerce/woocommerce.php', 'demo-upsell/demo-upsell.php']) } })
      const p = say(before, after)
      assert.deepEqual(p.map((x) => x.text), ['plugin Demo Upsell added and activated'])
      assert.deepEqual([...(p[0]?.items ?? [])].sort(), ['option:active_plugins', 'plugins/demo-upsell/demo-upsell.php', 'plugins/demo-upsell/readme.txt'])
      assert.deepEqual(words(after, before), ['plugin Demo Upsell deactivated and removed'])
      assert.deepEqual(words(change(shop(), { files: { 'plugins/demo-upsell/demo-upsell.php': null, 'plugins/demo-upsell/readme.txt': null } }), shop()), ['plugin Demo Upsell added'])
      assert.deepEqual(words(shop(), change(shop(), { files: { 'plugins/demo-upsell/demo-upsell.php': null, 'plugins/demo-upsell/readme.txt': null } })), ['plugin Demo Upsell removed'])
    })

    it('says an update with both versions and how many files changed, and a downgrade as one', () => {
      const files: Record<string, string> = { 'plugins/woocommerce/woocommerce.php': plugin('WooCommerce', '9.5.0') }
      for (let i = 0; i < 1236; i++) files[`plugins/woocommerce/includes/part-${i}.php`] = `<?php // ${i}\n`
      const after = change(shop(), { files })
      assert.deepEqual(words(shop(), after), ['plugin WooCommerce updated 9.4.1 → 9.5.0 (1,237 files)'])
      assert.deepEqual(words(after, shop()), ['plugin WooCommerce downgraded 9.5.0 → 9.4.1 (1,237 files)'])
      const beta = change(shop(), { files: { 'plugins/woocommerce/woocommerce.php': plugin('WooCommerce', '9.5.0-beta.1') } })
      assert.deepEqual(words(beta, shop()), ['plugin WooCommerce updated 9.5.0-beta.1 → 9.4.1 (1 file)'], 'no order is claimed between versions that are not plain numbers')
    })

    it('reads only the headers of the changed plugin — its top-level PHP files — not the files of the update', () => {
      const files: Record<string, string> = { 'plugins/woocommerce/woocommerce.php': plugin('WooCommerce', '9.5.0') }
      for (let i = 0; i < 50; i++) files[`plugins/woocommerce/includes/part-${i}.php`] = `<?php // ${i}\n`
      const a = build(shop())
      const b = build(change(shop(), { files }))
      const diff = diffStates(a.state, b.state)
      assert.deepEqual(wordsNeeds(diff, a.state, b.state), { options: [], files: ['plugins/woocommerce/uninstall.php', 'plugins/woocommerce/woocommerce.php'] })
    })

    it('says files edited without a version change, and a change of mode or owner only', () => {
      const edited = change(shop(), { files: { 'plugins/woocommerce/includes/class-wc.php': '<?php class WC { /* patched */ }\n', 'plugins/woocommerce/uninstall.php': '<?php\n', 'plugins/woocommerce/new.php': '<?php\n' } })
      assert.deepEqual(words(shop(), edited), ['plugin WooCommerce: 3 files changed'])
      const chmod = change(shop(), { files: { 'plugins/hello.php': { content: shop().files['plugins/hello.php'] as string, mode: 0o600 } } })
      assert.deepEqual(words(shop(), chmod), ['plugin Hello Dolly: mode or owner changed'])
    })

    it('names a single-file plugin by its header; a PHP file with no header is named as a file', () => {
      const hello = change(shop(), { files: { 'plugins/hello.php': '<?php\n/*\nPlugin Name: Hello Dolly\nVersion: 1.7.3\n*/\n' } })
      assert.deepEqual(words(shop(), hello), ['plugin Hello Dolly updated 1.7.2 → 1.7.3'])
      assert.deepEqual(words(shop(), change(shop(), { files: { 'plugins/index.php': '<?php // Silence is golden.\n' } })), ['file plugins/index.php added'])
    })

    it('finds the main file among the top-level PHP files when it is not named after the folder, and falls back to the folder name', () => {
      const odd = change(shop(), { files: { 'plugins/seo/a-helpers.php': '<?php\n', 'plugins/seo/main-loader.php': plugin('Yoast SEO', '23.0'), 'plugins/seo/inc/x.php': '<?php\n' } })
      assert.deepEqual(words(shop(), odd), ['plugin Yoast SEO added'])
      assert.deepEqual(words(shop(), change(shop(), { files: { 'plugins/nameless/code.php': '<?php\n' } })), ['plugin nameless added'])
    })

    it('says network activation on a multisite from the sitemeta map, and activation on another site of the network', () => {
      const net: Site = {
        files: shop().files,
        options: {
          ...shop().options,
          'wp_2_options:blogname': 'Shop DE',
          'wp_2_options:active_plugins': ser([]),
          'wp_sitemeta:1:site_name': 'Shop Network',
          'wp_sitemeta:1:active_sitewide_plugins': ser({ 'woocommerce/woocommerce.php': 1764400000 }),
        },
      }
      const after = change(net, {
        options: {
          'wp_sitemeta:1:active_sitewide_plugins': ser({ 'woocommerce/woocommerce.php': 1764400000, 'demo-upsell/demo-upsell.php': 1764500000 }),
          'wp_2_options:active_plugins': ser(['hello.php']),
          'wp_2_options:blogname': 'Shop Deutschland',
          'wp_sitemeta:1:site_name': 'Shops',
        },
      })
      assert.deepEqual(words(net, after), ['plugin Demo Upsell network-activated', 'plugin Hello Dolly activated on site 2', 'site title changed on site 2', 'network title changed'])
      assert.deepEqual(words(after, net), ['plugin Demo Upsell network-deactivated', 'plugin Hello Dolly deactivated on site 2', 'site title changed on site 2', 'network title changed'])
    })

    it('says the active plugins changed when the row cannot be read as a list, and counts a mere reordering as a setting', () => {
      const broken = change(shop(), { options: { active_plugins: 'a:1:{i:0;s:99:"truncated' } })
      assert.deepEqual(say(shop(), broken), [{ text: 'active plugins changed', items: ['option:active_plugins'] }])
      const two = change(shop(), { options: { active_plugins: ser(['woocommerce/woocommerce.php', 'hello.php']) } })
      assert.deepEqual(words(two, change(two, { options: { active_plugins: ser(['hello.php', 'woocommerce/woocommerce.php']) } })), ['1 setting changed'])
    })

    it('counts the uninstall hook WordPress notes on activation as part of the activation', () => {
      const after = change(shop(), { options: { active_plugins: ser(['woocommerce/woocommerce.php', 'demo-upsell/demo-upsell.php']), uninstall_plugins: ser({ 'demo-upsell/demo-upsell.php': 'demo_uninstall' }) } })
      assert.deepEqual(say(shop(), after), [{ text: 'plugin Demo Upsell activated', items: ['option:active_plugins', 'option:uninstall_plugins'] }])
    })
  })

  describe('themes', () => {
    it('says a theme switch with both names, explaining the rows WordPress writes with it', () => {
      const after = change(shop(), { options: { template: 'twentytwentyone', stylesheet: 'twentytwentyone', current_theme: 'Twenty Twenty-One', theme_switched: 'twentytwentythree' } })
      const p = say(shop(), after)
      assert.deepEqual(p.map((x) => x.text), ['theme switched from Twenty Twenty-Three to Twenty Twenty-One'])
      assert.deepEqual([...(p[0]?.items ?? [])].sort(), ['option:current_theme', 'option:stylesheet', 'option:template', 'option:theme_switched'])
    })

    it('tells a child theme from its parent: stylesheet is the active theme, template its parent', () => {
      const child = theme('Shop Child', { template: 'twentytwentyone', version: '1.0' })
      const withChild = change(shop(), { files: { 'themes/shop-child/style.css': child, 'themes/shop-child/functions.php': '<?php\n' } })
      assert.deepEqual(words(shop(), withChild), ['child theme Shop Child added'])
      const onParent = change(withChild, { options: { template: 'twentytwentyone', stylesheet: 'twentytwentyone' } })
      const onChild = change(onParent, { options: { stylesheet: 'shop-child' } })
      assert.deepEqual(words(onParent, onChild), ['theme switched from Twenty Twenty-One to Shop Child'])
      const parentOnly = change(onChild, { options: { template: 'twentytwentythree' } })
      assert.deepEqual(words(onChild, parentOnly), ['parent theme switched from Twenty Twenty-One to Twenty Twenty-Three'])
      assert.deepEqual(words(withChild, change(withChild, { files: { 'themes/shop-child/style.css': child.replace('1.0', '1.1') } })), ['child theme Shop Child updated 1.0 → 1.1 (1 file)'])
    })

    it('says a theme update, an edit, and customizer settings by the theme’s name', () => {
      const up = change(shop(), { files: { 'themes/twentytwentyone/style.css': theme('Twenty Twenty-One', { version: '1.8' }), 'themes/twentytwentyone/functions.php': '<?php // 1.8\n' } })
      assert.deepEqual(words(shop(), up), ['theme Twenty Twenty-One updated 1.7 → 1.8 (2 files)'])
      assert.deepEqual(words(shop(), change(shop(), { files: { 'themes/twentytwentyone/functions.php': '<?php // patched\n' } })), ['theme Twenty Twenty-One: 1 file changed'])
      assert.deepEqual(words(shop(), change(shop(), { options: { theme_mods_twentytwentyone: ser({ custom_logo: 7 }) } })), ['customizer settings of theme Twenty Twenty-One changed'])
    })

    it('falls back to the folder name when a style.css has no name, or is not there', () => {
      const after = change(shop(), { options: { template: 'gone', stylesheet: 'gone' } })
      assert.deepEqual(words(shop(), after), ['theme switched from Twenty Twenty-Three to gone'])
    })
  })

  describe('mu-plugins, drop-ins', () => {
    it('says a mu-plugin added, changed or removed, by its header when it has one', () => {
      assert.deepEqual(words(shop(), change(shop(), { files: { 'mu-plugins/guard.php': plugin('Login Guard') } })), ['mu-plugin Login Guard added'])
      assert.deepEqual(words(shop(), change(shop(), { files: { 'mu-plugins/00-loader.php': '<?php // v2\n' } })), ['mu-plugin 00-loader.php changed'])
      assert.deepEqual(words(shop(), change(shop(), { files: { 'mu-plugins/00-loader.php': null } })), ['mu-plugin 00-loader.php removed'])
    })

    it('names drop-ins by their file', () => {
      const after = change(shop(), { files: { 'advanced-cache.php': '<?php // page cache\n', 'object-cache.php': '<?php // v2\n', 'db.php': null } })
      const before = change(shop(), { files: { 'db.php': '<?php // HyperDB\n' } })
      assert.deepEqual(words(before, after), ['drop-in advanced-cache.php added', 'drop-in db.php removed', 'drop-in object-cache.php changed'])
    })
  })

  describe('settings', () => {
    it('says the known settings WordPress people name, one phrase for rows that go together', () => {
      const after = change(shop(), {
        options: { blogname: 'Shop — Black Friday', blogdescription: '50 % off', siteurl: 'https://www.shop.example', home: 'https://www.shop.example', permalink_structure: '/%year%/%postname%/' },
      })
      const p = say(shop(), after)
      assert.deepEqual(p.map((x) => x.text), ['site title changed', 'tagline changed', 'site address changed', 'permalinks changed'])
      assert.deepEqual(p[2]?.items, ['option:home', 'option:siteurl'])
    })

    it('counts everything else, as "other" settings when something else was said', () => {
      const rows: Record<string, string> = {}
      for (let i = 0; i < 12; i++) rows[`demo_upsell_opt_${i}`] = String(i)
      assert.deepEqual(words(shop(), change(shop(), { options: { ...rows, blogname: 'New' } })), ['site title changed', '12 other settings changed'])
      assert.deepEqual(words(shop(), change(shop(), { options: { demo_upsell_opt_1: 'x' } })), ['1 setting changed'])
      assert.deepEqual(words(shop(), change(shop(), { options: { blogname: ['Shop', 'no'] } })), ['1 setting changed'], 'only the autoload flag changed: not the site title')
    })

    it('knows a few WooCommerce settings, and names a payment method’s settings row', () => {
      const after = change(shop(), { options: { woocommerce_currency: 'USD', woocommerce_stripe_settings: ser({ enabled: 'yes' }), woocommerce_calc_taxes: 'yes' } })
      assert.deepEqual(words(shop(), after), ['WooCommerce currency changed', 'WooCommerce tax settings changed', 'WooCommerce stripe settings changed'])
    })
  })

  it('puts the theme first, then plugins, themes, mu-plugins, drop-ins and settings', () => {
    const after = change(shop(), {
      files: { 'object-cache.php': null, 'mu-plugins/guard.php': plugin('Login Guard'), 'themes/twentytwentyone/functions.php': '<?php // x\n' },
      options: { stylesheet: 'twentytwentyone', template: 'twentytwentyone', active_plugins: ser([]), blogname: 'X', some_row: '1' },
    })
    assert.deepEqual(words(shop(), after), [
      'theme switched from Twenty Twenty-Three to Twenty Twenty-One',
      'plugin WooCommerce deactivated',
      'theme Twenty Twenty-One: 1 file changed',
      'mu-plugin Login Guard added',
      'drop-in object-cache.php removed',
      'site title changed',
      '1 other setting changed',
    ])
  })

  it('explains every raw item of the diff', () => {
    const after = change(shop(), {
      files: { 'plugins/demo-upsell/readme.txt': null, 'plugins/new/new.php': plugin('New'), 'object-cache.php': '<?php // 2\n' },
      options: { template: 'twentytwentyone', stylesheet: 'twentytwentyone', active_plugins: ser(['new/new.php']), blogname: 'X', a: '1', b: '2' },
    })
    const explained = new Set(say(shop(), after).flatMap((p) => p.items))
    const d = diffStates(build(shop()).state, build(after).state)
    for (const x of [...d.files.map((f) => f.path), ...d.options.map((o) => `option:${o.name}`)]) assert.ok(explained.has(x), x)
  })

  it('shows hostile names as one bounded, printable line', () => {
    const evil = change(shop(), { files: { 'plugins/evil/evil.php': plugin(`Evil\u001b[31m Plugin\u202e ${'x'.repeat(200)}`) } })
    const [text] = words(shop(), evil)
    assert.match(text as string, /^plugin Evil\\x1b\[31m Plugin\\u202e x+… added$/)
    assert.ok((text as string).length < 120, text)
    const ctl = change(shop(), { files: { 'plugins/we\nird/a.php': '<?php\n' } })
    assert.deepEqual(words(shop(), ctl), ['plugin we\\nird added'])
  })

  it('says nothing for no change', () => {
    assert.deepEqual(words(shop(), shop()), [])
  })
})

describe('core: plugin and theme headers', () => {
  it('reads a field as WordPress does: any comment style, any case, the first 8 KiB, the comment end cut', () => {
    assert.equal(headerField('<?php\n/**\n * Plugin Name: WooCommerce\n */', 'Plugin Name'), 'WooCommerce')
    assert.equal(headerField('<?php\n# plugin name:   Hash Style  \n', 'Plugin Name'), 'Hash Style')
    assert.equal(headerField('<?php /* Plugin Name: One Line */ ?>', 'Plugin Name'), 'One Line')
    assert.equal(headerField('<?php\r\n/*\r\nPlugin Name: Windows\r\nVersion: 2.0\r\n*/', 'Version'), '2.0')
    assert.equal(headerField('<?php\n// Plugin Name: Slashes\n', 'Plugin Name'), 'Slashes')
    assert.equal(headerField('<?php\n * Requires PHP Version: 8.1\n * Version: 3.1\n', 'Version'), '3.1', 'only the field at the start of a line')
    assert.equal(headerField(`<?php\n/*${' '.repeat(8200)}\nPlugin Name: Too Late\n*/`, 'Plugin Name'), null)
    assert.equal(headerField('<?php\n/* Plugin Name:   */', 'Plugin Name'), null)
    assert.equal(headerField('/*\nTheme Name: Twenty Twenty-One\nTemplate: twentytwenty\n*/', 'Template'), 'twentytwenty')
  })
})

describe('core: PHP serialized values', () => {
  it('reads lists and maps, counting string lengths in UTF-8 bytes as PHP does', () => {
    assert.deepEqual(parsePhp(ser(['a/a.php', 'hello.php'])), { entries: [[0, 'a/a.php'], [1, 'hello.php']] })
    assert.deepEqual(parsePhp(ser({ 'é/é.php': 1764400000 })), { entries: [['é/é.php', 1764400000]] })
    assert.deepEqual(parsePhp('a:2:{i:5;s:3:"x;y";s:1:"k";a:1:{i:0;b:1;}}'), { entries: [[5, 'x;y'], ['k', { entries: [[0, true]] }]] })
    assert.deepEqual(parsePhp('a:3:{i:0;N;i:1;d:1.5;i:2;b:0;}'), { entries: [[0, null], [1, 1.5], [2, false]] })
    assert.equal(parsePhp('s:2:"🎉";'), undefined, 'a length that cuts a character')
    assert.equal(parsePhp('s:4:"🎉";'), '🎉')
  })

  it('refuses what it does not read: objects, truncated or trailing text, plain strings', () => {
    for (const bad of ['O:8:"stdClass":0:{}', 'a:1:{i:0;s:5:"abc";}', 'a:2:{i:0;s:1:"a";}', 'a:0:{}x', 'twentytwentyone', '', 'a:1:{a:0:{}i:0;}', `${'a:1:{i:0;'.repeat(40)}N;${'}'.repeat(40)}`])
      assert.equal(parsePhp(bad), undefined, bad)
  })
})

describe('core: the words line and trailer', () => {
  it('joins phrases into one short line, saying how many more there are', () => {
    assert.equal(wordsLine([{ text: 'plugin Demo Upsell activated', items: [] }, 'site title changed', '12 other settings changed']), 'plugin Demo Upsell activated; site title changed; 12 other settings changed')
    assert.equal(wordsLine(['a', 'b', 'c', 'd', 'e', 'f'], 4), 'a; b; c; d; and 2 more')
    assert.equal(wordsLine([]), '')
  })

  it('stores phrases as one line of JSON and reads them back; a missing or damaged trailer reads as none', () => {
    const phrases = ['plugin A; B activated', 'theme switched from "X" to Y', 'plugin \u2028odd\\name added']
    const line = wordsTrailer(phrases)
    assert.ok(!/[\n\r]/.test(line))
    assert.deepEqual(wordsOfTrailer(line), phrases)
    assert.equal(wordsOfTrailer(undefined), null)
    assert.equal(wordsOfTrailer('[unterminated'), null)
    assert.equal(wordsOfTrailer('{"a":1}'), null)
    assert.deepEqual(wordsOfTrailer('["bell\\u0007"]'), ['bell\\x07'], 'control characters are shown, not sent')
    const many = Array.from({ length: 45 }, (_, i) => `p${i}`)
    const kept = wordsOfTrailer(wordsTrailer(many)) as string[]
    assert.equal(kept.length, 30)
    assert.equal(kept.at(-1), 'and 16 more')
  })
})
