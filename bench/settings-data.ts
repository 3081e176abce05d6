// bench/settings-data.ts — the rows of the settings bench (bench/settings.ts): a shop's database beyond its
// options, deterministic (the same bytes on every run):
//   - WordPress's own posts, postmeta, terms, term_taxonomy and term_relationships tables, created with
//     WordPress's DDL (schema.php, as test/harness/woocommerce.ts holds it), holding 300 Site Editor
//     entities (global styles, templates and template parts of four block themes with 2–20 KB of block
//     markup, navigation menus, font families and faces; a few postmeta each, their wp_theme and
//     wp_template_part_area terms) among the content a shop keeps beside them (products, variations,
//     attachments, posts, pages, revisions — including revisions of the templates — with their meta and terms);
//   - five WooCommerce settings tables of 1,000 rows each, with WooCommerce's installer schema (its
//     WC_Install::get_schema() as published): tax rates, tax rate locations, shipping zones, zone methods,
//     webhooks.
// Rows are inserted in batches; post ids interleave entities with content, as on a site that grew over time.
import type mysql from 'mysql2/promise'
import { WOOCOMMERCE_TABLES } from '../src/core/index.ts'
import { wooSettingsTablesSql, wordpressContentTablesSql } from '../test/harness/woocommerce.ts'
import { prng } from './common.ts'

/** The five tables the bench creates, as the woocommerce preset names them: its ignored columns come with them. */
const BENCH_TABLE_NAMES = ['woocommerce_tax_rates', 'woocommerce_tax_rate_locations', 'woocommerce_shipping_zones', 'woocommerce_shipping_zone_methods', 'wc_webhooks']

/** The settings tables the bench names (without prefix) and the columns the woocommerce preset ignores. */
export const BENCH_TABLES: { table: string; ignoreColumns: string[] }[] = BENCH_TABLE_NAMES.map((table) => {
  const preset = WOOCOMMERCE_TABLES.find((t) => t.table === table)
  if (!preset) throw new Error(`settings bench: ${table} is not in the woocommerce preset any more`)
  return { table, ignoreColumns: [...preset.ignoreColumns] }
})

export const ROWS_PER_TABLE = 1000

/** The active theme, and the template part the "one changed entity" run edits. */
export const ACTIVE_THEME = 'twentytwentythree'
export const CHANGED_ENTITY = `entity:wp_template_part/${ACTIVE_THEME}/header`

// ── deterministic randomness (prng: bench/common.ts) ─────────────────────────────────────────────

type R = () => number
const int = (r: R, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))
const pick = <T>(r: R, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T

const WORDS = (
  'summer sale shop cart checkout shipping free returns about contact journal story collection new arrivals ' +
  'bestsellers gift cards account wishlist search newsletter sign up follow us instagram delivery payment secure ' +
  'organic handmade linen cotton ceramic candle lamp chair table vase plate bowl mug blanket cushion rug mirror'
).split(' ')
const words = (r: R, n: number) => Array.from({ length: n }, () => pick(r, WORDS)).join(' ')
const COLORS = ['#1a1a1a', '#f6f3ee', '#c2410c', '#0f766e', '#fde68a', '#334155', '#ffffff', '#9f1239']

// The DDL — WordPress's content tables (schema.php) and WooCommerce's settings tables (its installer's schema) —
// is the tests' (test/harness/woocommerce.ts, which cites its sources): one copy of each in the project.

// ── content of the entities ──────────────────────────────────────────────────────────────────────

/** Block markup of about `bytes`: nested groups, columns, headings, paragraphs, images, buttons. */
function blockMarkup(r: R, bytes: number, part: string): string {
  const out: string[] = []
  let size = 0
  const push = (s: string) => {
    out.push(s)
    size += s.length + 1
  }
  const tag = part === 'header' || part.startsWith('header') ? 'header' : part.startsWith('footer') ? 'footer' : 'div'
  push(`<!-- wp:group {"tagName":"${tag}","style":{"spacing":{"padding":{"top":"var:preset|spacing|40","bottom":"var:preset|spacing|40"}}},"backgroundColor":"base","layout":{"type":"constrained"}} -->`)
  push(`<${tag} class="wp-block-group has-base-background-color has-background" style="padding-top:var(--wp--preset--spacing--40);padding-bottom:var(--wp--preset--spacing--40)">`)
  while (size < bytes) {
    const k = r()
    if (k < 0.2) {
      const level = int(r, 2, 4)
      push(`<!-- wp:heading {"level":${level},"style":{"typography":{"fontStyle":"normal","fontWeight":"600"}}} -->`)
      push(`<h${level} class="wp-block-heading" style="font-style:normal;font-weight:600">${words(r, int(r, 2, 6))}</h${level}>`)
      push('<!-- /wp:heading -->')
    } else if (k < 0.45) {
      push(`<!-- wp:paragraph {"style":{"color":{"text":"${pick(r, COLORS)}"}},"fontSize":"small"} -->`)
      push(`<p class="has-text-color has-small-font-size" style="color:${pick(r, COLORS)}">${words(r, int(r, 8, 40))}</p>`)
      push('<!-- /wp:paragraph -->')
    } else if (k < 0.6) {
      const id = int(r, 100, 9000)
      push(`<!-- wp:image {"id":${id},"sizeSlug":"large","linkDestination":"none","className":"is-style-rounded"} -->`)
      push(`<figure class="wp-block-image size-large is-style-rounded"><img src="https://shop.example/wp-content/uploads/2026/0${int(r, 1, 9)}/${pick(r, WORDS)}-${id}.jpg" alt="${words(r, 3)}" class="wp-image-${id}"/></figure>`)
      push('<!-- /wp:image -->')
    } else if (k < 0.72) {
      push('<!-- wp:buttons {"layout":{"type":"flex","justifyContent":"center"}} -->')
      push('<div class="wp-block-buttons"><!-- wp:button {"backgroundColor":"contrast","textColor":"base","style":{"border":{"radius":"4px"}}} -->')
      push(`<div class="wp-block-button"><a class="wp-block-button__link has-base-color has-contrast-background-color has-text-color has-background wp-element-button" href="https://shop.example/${pick(r, WORDS)}/" style="border-radius:4px">${words(r, 2)}</a></div>`)
      push('<!-- /wp:button --></div>')
      push('<!-- /wp:buttons -->')
    } else if (k < 0.85) {
      push('<!-- wp:columns {"verticalAlignment":"center"} -->')
      push('<div class="wp-block-columns are-vertically-aligned-center">')
      for (let c = int(r, 2, 4); c > 0; c--) {
        push('<!-- wp:column {"verticalAlignment":"center"} --><div class="wp-block-column is-vertically-aligned-center">')
        push(`<!-- wp:paragraph --><p>${words(r, int(r, 4, 16))}</p><!-- /wp:paragraph -->`)
        push('</div><!-- /wp:column -->')
      }
      push('</div>')
      push('<!-- /wp:columns -->')
    } else {
      const which = pick(r, ['site-logo', 'site-title', 'navigation {"ref":' + int(r, 10, 900) + ',"layout":{"type":"flex","justifyContent":"right"}}', 'woocommerce/mini-cart', 'search {"label":"Search","showLabel":false,"buttonUseIcon":true}', 'post-title', 'post-content {"layout":{"type":"constrained"}}', 'query-pagination'])
      push(`<!-- wp:${which} /-->`)
    }
  }
  push(`</${tag}>`)
  push('<!-- /wp:group -->')
  return out.join('\n')
}

/** The user's theme.json (global styles) of about `bytes`. */
function globalStyles(r: R, bytes: number): string {
  const styles: Record<string, unknown> = { color: { background: pick(r, COLORS), text: pick(r, COLORS) }, elements: {}, blocks: {} }
  const blocks = styles.blocks as Record<string, unknown>
  const names = ['core/paragraph', 'core/heading', 'core/button', 'core/navigation', 'core/group', 'core/columns', 'core/image', 'core/quote', 'core/post-title', 'core/site-title', 'woocommerce/product-price', 'woocommerce/mini-cart', 'woocommerce/checkout', 'core/search', 'core/separator', 'core/list', 'core/table', 'core/cover']
  let i = 0
  while (JSON.stringify(styles).length < bytes - 400) {
    blocks[`${pick(r, names)}-${i++}`] = {
      color: { text: pick(r, COLORS), background: pick(r, COLORS) },
      typography: { fontFamily: 'var:preset|font-family|inter', fontSize: `${int(r, 12, 48)}px`, lineHeight: String(1 + r()).slice(0, 4), letterSpacing: `${int(r, 0, 3)}px` },
      spacing: { padding: { top: `${int(r, 0, 64)}px`, bottom: `${int(r, 0, 64)}px` }, margin: { top: '0', bottom: `${int(r, 0, 32)}px` } },
      border: { radius: `${int(r, 0, 12)}px`, width: '1px', color: pick(r, COLORS) },
    }
  }
  return JSON.stringify({ version: 2, isGlobalStylesUserThemeJSON: true, styles, settings: { color: { palette: { custom: COLORS.map((c, j) => ({ slug: `c${j}`, color: c, name: `Color ${j}` })) } } } })
}

function navigationMarkup(r: R, bytes: number): string {
  const out: string[] = []
  let size = 0
  while (size < bytes) {
    const id = int(r, 10, 900)
    const label = words(r, int(r, 1, 3))
    const s =
      r() < 0.2
        ? `<!-- wp:navigation-submenu {"label":"${label}","type":"page","id":${id},"url":"https://shop.example/${label.replaceAll(' ', '-')}/","kind":"post-type"} -->\n<!-- wp:navigation-link {"label":"${words(r, 2)}","type":"product_cat","id":${int(r, 10, 90)},"url":"https://shop.example/category/${pick(r, WORDS)}/","kind":"taxonomy"} /-->\n<!-- /wp:navigation-submenu -->`
        : `<!-- wp:navigation-link {"label":"${label}","type":"page","id":${id},"url":"https://shop.example/${label.replaceAll(' ', '-')}/","kind":"post-type"} /-->`
    out.push(s)
    size += s.length + 1
  }
  return out.join('\n')
}

// ── posts ────────────────────────────────────────────────────────────────────────────────────────

interface Post {
  id: number
  type: string
  status: string
  name: string
  title: string
  content: string
  excerpt: string
  parent: number
  mime: string
  date: string
  meta: [string, string][]
  /** term_taxonomy ids */
  terms: number[]
}

interface Term {
  id: number
  taxonomy: string
  name: string
  slug: string
}

export interface SettingsData {
  posts: number
  entities: number
  entityBytes: number
  postmeta: number
  terms: number
  relationships: number
  rows: Record<string, number>
  /** the header part's record size (post_content bytes) and the entity types' counts */
  changedEntityContent: number
  byType: Record<string, number>
}

const THEMES = [ACTIVE_THEME, 'twentytwentyfour', 'twentytwentyfive', 'shopfront-block']
const TEMPLATES = [
  'index', 'home', 'front-page', 'single', 'single-product', 'page', 'archive', 'archive-product', 'search', '404',
  'taxonomy-product_cat', 'taxonomy-product_tag', 'page-cart', 'page-checkout', 'order-confirmation', 'product-search-results',
  'blank', 'page-no-title', 'page-wide', 'single-post-no-sidebar', 'category', 'tag', 'author', 'date', 'privacy-policy', 'page-sale',
]
const PARTS: [string, string][] = [
  ['header', 'header'], ['footer', 'footer'], ['header-large', 'header'], ['header-minimal', 'header'], ['footer-minimal', 'footer'],
  ['checkout-header', 'header'], ['mini-cart', 'uncategorized'], ['sidebar', 'uncategorized'], ['comments', 'uncategorized'],
  ['post-meta', 'uncategorized'], ['newsletter', 'uncategorized'], ['footer-newsletter', 'footer'], ['promo-bar', 'header'], ['product-meta', 'uncategorized'],
]
const FONTS = ['Inter', 'Manrope', 'DM Sans', 'Fraunces', 'Playfair Display', 'Source Serif 4', 'IBM Plex Mono', 'Jost', 'Literata', 'Outfit']

const day = (n: number) => {
  const d = new Date(Date.UTC(2024, 0, 1) + n * 3_600_000 * 7)
  return d.toISOString().slice(0, 19).replace('T', ' ')
}

/**
 * Creates the tables and fills them. The database must hold the options table already (bench/run.ts's);
 * the settings tables are created without prefix checks (the caller names them in its config).
 */
export async function fillSettingsDatabase(db: mysql.Connection, prefix: string): Promise<SettingsData> {
  for (const sql of [...wordpressContentTablesSql(prefix), ...wooSettingsTablesSql(prefix)]) await db.query(sql)
  const r = prng(20261214)

  // terms
  const terms: Term[] = []
  const term = (taxonomy: string, name: string, slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-')) => {
    const t = { id: terms.length + 1, taxonomy, name, slug }
    terms.push(t)
    return t.id
  }
  const themeTerm = new Map(THEMES.map((t) => [t, term('wp_theme', t, t)]))
  const areaTerm = new Map(['header', 'footer', 'uncategorized'].map((a) => [a, term('wp_template_part_area', a, a)]))
  const productCats = Array.from({ length: 80 }, (_, i) => term('product_cat', `${words(r, 2)} ${i}`))
  const productTags = Array.from({ length: 150 }, (_, i) => term('product_tag', `${pick(r, WORDS)} ${i}`))
  const productTypes = ['simple', 'variable', 'grouped', 'external'].map((n) => term('product_type', n))
  const categories = Array.from({ length: 20 }, (_, i) => term('category', `${words(r, 1)} ${i}`))
  const postTags = Array.from({ length: 60 }, (_, i) => term('post_tag', `${pick(r, WORDS)} tag ${i}`))
  const some = (r: R, xs: number[], n: number) => [...new Set(Array.from({ length: n }, () => pick(r, xs)))]

  // what the site holds, in creation order: content and entities interleaved
  type Make = (id: number) => Post
  const makes: Make[] = []
  const base = (id: number, type: string, name: string, title: string, content: string, extra: Partial<Post> = {}): Post => ({
    id, type, status: 'publish', name, title, content, excerpt: '', parent: 0, mime: '', date: day(id), meta: [], terms: [], ...extra,
  })
  const entityIds: number[] = []
  const entity = (make: Make): void => {
    makes.push((id) => {
      entityIds.push(id)
      return make(id)
    })
  }
  // the Site Editor: per theme its global styles and 40 customised templates and parts
  for (const theme of THEMES) {
    entity((id) => base(id, 'wp_global_styles', `wp-global-styles-${theme}`, 'Custom Styles', globalStyles(r, int(r, 3000, 15000)), { terms: [themeTerm.get(theme) as number] }))
    for (const slug of TEMPLATES)
      entity((id) =>
        base(id, 'wp_template', slug, slug.replaceAll('-', ' '), blockMarkup(r, int(r, 2000, 20000), slug), {
          excerpt: `Displays ${words(r, 4)}`,
          meta: [['origin', 'theme'], ...(r() < 0.3 ? [['is_wp_suggestion', '1'] as [string, string]] : [])],
          terms: [themeTerm.get(theme) as number],
        }),
      )
    for (const [slug, area] of PARTS)
      entity((id) =>
        base(id, 'wp_template_part', slug, slug.replaceAll('-', ' '), blockMarkup(r, slug === 'header' && theme === ACTIVE_THEME ? 8000 : int(r, 2000, 20000), slug), {
          meta: [['origin', 'theme']],
          terms: [themeTerm.get(theme) as number, areaTerm.get(area) as number],
        }),
      )
  }
  for (let i = 0; i < 36; i++)
    entity((id) => base(id, 'wp_navigation', i === 0 ? 'navigation' : `navigation-${i + 1}`, i === 0 ? 'Navigation' : `Menu ${i + 1}`, navigationMarkup(r, int(r, 1000, 8000)), { meta: [['_wp_ignored_hooked_blocks', '["woocommerce/customer-account","woocommerce/mini-cart"]']] }))
  for (const font of FONTS) {
    const slug = font.toLowerCase().replaceAll(' ', '-')
    let familyId = 0
    entity((id) => {
      familyId = id
      return base(id, 'wp_font_family', slug, font, JSON.stringify({ name: font, slug, fontFamily: `"${font}", sans-serif` }))
    })
    for (const [style, weight] of [['normal', 300], ['normal', 400], ['normal', 500], ['normal', 600], ['normal', 700], ['italic', 400], ['italic', 700], ['normal', 800], ['italic', 300]] as const)
      entity((id) =>
        base(id, 'wp_font_face', `${slug}-${style}-${weight}`, `${font};${style};${weight};100%;U+0-10FFFF`, JSON.stringify({ fontFamily: `"${font}"`, fontStyle: style, fontWeight: String(weight), src: `https://shop.example/wp-content/uploads/fonts/${slug}_${style}_${weight}.woff2` }), {
          parent: familyId,
          meta: [['_wp_font_face_file', `${slug}_${style}_${weight}.woff2`]],
        }),
      )
  }

  // the shop's content, which the entity queries must skip
  const content: Make[] = []
  const serializedAttrs = (r: R) => `a:2:{s:8:"pa_color";a:6:{s:4:"name";s:8:"pa_color";s:5:"value";s:0:"";s:8:"position";i:0;s:10:"is_visible";i:1;s:12:"is_variation";i:1;s:11:"is_taxonomy";i:1;}s:7:"pa_size";a:6:{s:4:"name";s:7:"pa_size";s:5:"value";s:${String(int(r, 10, 99)).length}:"${int(r, 10, 99)}";s:8:"position";i:1;s:10:"is_visible";i:1;s:12:"is_variation";i:1;s:11:"is_taxonomy";i:1;}}`
  for (let i = 0; i < 1000; i++)
    content.push((id) =>
      base(id, 'product', `${pick(r, WORDS)}-${pick(r, WORDS)}-${i}`, words(r, 3), `<!-- wp:paragraph --><p>${words(r, int(r, 40, 200))}</p><!-- /wp:paragraph -->`, {
        excerpt: words(r, 20),
        meta: [
          ['_sku', `SKU-${i}`], ['_price', String(int(r, 5, 500))], ['_regular_price', String(int(r, 5, 500))], ['_sale_price', ''], ['_stock_status', 'instock'],
          ['_stock', String(int(r, 0, 80))], ['_manage_stock', 'yes'], ['_thumbnail_id', String(int(r, 1, 5000))], ['_product_attributes', serializedAttrs(r)],
          ['total_sales', String(int(r, 0, 900))], ['_tax_status', 'taxable'], ['_tax_class', ''], ['_wc_average_rating', '4.50'], ['_wc_review_count', String(int(r, 0, 40))],
          ['_product_version', '9.4.2'], ['_edit_last', '1'],
        ],
        terms: [...some(r, productCats, 2), ...some(r, productTags, 3), pick(r, productTypes)],
      }),
    )
  for (let i = 0; i < 1000; i++)
    content.push((id) =>
      base(id, 'product_variation', `variation-${i}`, `${words(r, 3)} - ${pick(r, ['S', 'M', 'L', 'XL'])}`, '', {
        status: 'publish',
        meta: [['_sku', `SKU-V-${i}`], ['_price', String(int(r, 5, 500))], ['_regular_price', String(int(r, 5, 500))], ['_stock_status', 'instock'], ['attribute_pa_size', pick(r, ['s', 'm', 'l', 'xl'])], ['attribute_pa_color', pick(r, ['red', 'blue', 'sand'])], ['_variation_description', ''], ['total_sales', '0']],
      }),
    )
  for (let i = 0; i < 1500; i++)
    content.push((id) =>
      base(id, 'attachment', `${pick(r, WORDS)}-${i}`, words(r, 2), '', {
        status: 'inherit',
        mime: 'image/jpeg',
        meta: [['_wp_attached_file', `2026/0${int(r, 1, 9)}/${pick(r, WORDS)}-${i}.jpg`], ['_wp_attachment_metadata', `a:5:{s:5:"width";i:2000;s:6:"height";i:1500;s:4:"file";s:20:"2026/03/img-${String(i).padStart(4, '0')}.jpg";s:8:"filesize";i:${int(r, 90000, 900000)};s:5:"sizes";a:${words(r, 60).length}:{}}`]],
      }),
    )
  for (let i = 0; i < 200; i++)
    content.push((id) => base(id, 'post', `${pick(r, WORDS)}-story-${i}`, words(r, 5), blockMarkup(r, int(r, 1500, 9000), 'post'), { meta: [['_edit_last', '1'], ['_thumbnail_id', String(int(r, 1, 5000))]], terms: [pick(r, categories), ...some(r, postTags, 3)] }))
  for (let i = 0; i < 30; i++) content.push((id) => base(id, 'page', `page-${i}`, words(r, 2), blockMarkup(r, int(r, 1000, 6000), 'page'), { meta: [['_wp_page_template', 'default']] }))

  // interleave: the entities spread evenly among the content, in order
  const order: Make[] = []
  let ci = 0
  for (const [k, m] of makes.entries()) {
    const until = Math.round(((k + 1) * content.length) / (makes.length + 1))
    while (ci < until) order.push(content[ci++] as Make)
    order.push(m)
  }
  while (ci < content.length) order.push(content[ci++] as Make)
  const posts = order.map((m, i) => m(i + 1))
  // revisions last (they are written when the entities and posts are edited): 2 per template/part of the
  // active theme and one per post — all of post type revision, which no entity query may read
  const byId = new Map(posts.map((p) => [p.id, p]))
  let next = posts.length + 1
  for (const p of [...posts]) {
    const n = p.type === 'post' ? 1 : (p.type === 'wp_template' || p.type === 'wp_template_part') && p.terms[0] === themeTerm.get(ACTIVE_THEME) ? 2 : 0
    for (let k = 1; k <= n; k++)
      posts.push(base(next++, 'revision', `${p.id}-revision-v${k}`, p.title, (byId.get(p.id) as Post).content, { status: 'inherit', parent: p.id }))
  }

  // write
  const P = (t: string) => `\`${prefix}${t}\``
  await db.query(`INSERT INTO ${P('terms')} (term_id, name, slug, term_group) VALUES ?`, [terms.map((t) => [t.id, t.name, t.slug, 0])])
  const counts = new Map<number, number>()
  for (const p of posts) for (const t of p.terms) counts.set(t, (counts.get(t) ?? 0) + 1)
  await db.query(`INSERT INTO ${P('term_taxonomy')} (term_taxonomy_id, term_id, taxonomy, description, parent, count) VALUES ?`, [terms.map((t) => [t.id, t.id, t.taxonomy, '', 0, counts.get(t.id) ?? 0])])
  const postRow = (p: Post) => {
    const gmt = p.date
    return [p.id, 1, p.date, gmt, p.content, p.title, p.excerpt, p.status, 'closed', 'closed', '', p.name, '', '', p.date, gmt, '', p.parent, `https://shop.example/?p=${p.id}`, 0, p.type, p.mime, 0]
  }
  const cols = 'ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_password, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_parent, guid, menu_order, post_type, post_mime_type, comment_count'
  await batched(posts, (p) => p.content.length + 500, (chunk) => db.query(`INSERT INTO ${P('posts')} (${cols}) VALUES ?`, [chunk.map(postRow)]))
  const meta = posts.flatMap((p) => p.meta.map(([k, v]) => [p.id, k, v] as const))
  await batched(meta, (m) => m[2].length + 60, (chunk) => db.query(`INSERT INTO ${P('postmeta')} (post_id, meta_key, meta_value) VALUES ?`, [chunk]))
  const rel = posts.flatMap((p) => p.terms.map((t) => [p.id, t, 0] as const))
  await batched(rel, () => 30, (chunk) => db.query(`INSERT INTO ${P('term_relationships')} (object_id, term_taxonomy_id, term_order) VALUES ?`, [chunk]))

  const rows = await fillWoocommerce(db, prefix)
  const ents = posts.filter((p) => entityIds.includes(p.id))
  const byType: Record<string, number> = {}
  for (const p of ents) byType[p.type] = (byType[p.type] ?? 0) + 1
  const header = ents.find((p) => p.type === 'wp_template_part' && p.name === 'header' && p.terms[0] === themeTerm.get(ACTIVE_THEME)) as Post
  return {
    posts: posts.length,
    entities: ents.length,
    entityBytes: ents.reduce((n, p) => n + Buffer.byteLength(p.content), 0),
    postmeta: meta.length,
    terms: terms.length,
    relationships: rel.length,
    rows,
    changedEntityContent: Buffer.byteLength(header.content),
    byType,
  }
}

async function batched<T>(xs: readonly T[], size: (x: T) => number, write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  let chunk: T[] = []
  let bytes = 0
  for (const x of xs) {
    chunk.push(x)
    bytes += size(x)
    if (bytes > 1_000_000 || chunk.length >= 2000) {
      await write(chunk)
      chunk = []
      bytes = 0
    }
  }
  if (chunk.length) await write(chunk)
}

/** 1,000 rows in each of the five WooCommerce tables, shaped like a shop selling across the EU and the US. */
async function fillWoocommerce(db: mysql.Connection, prefix: string): Promise<Record<string, number>> {
  const r = prng(20261215)
  const n = ROWS_PER_TABLE
  const countries = ['US', 'DE', 'FR', 'AT', 'NL', 'IT', 'ES', 'BE', 'SE', 'PL', 'CA', 'GB']
  const states = ['CA', 'NY', 'TX', 'WA', 'FL', 'IL', 'BY', 'BE', 'HH', 'ON', 'QC', '']
  const P = (t: string) => `\`${prefix}${t}\``
  await db.query(`INSERT INTO ${P('woocommerce_tax_rates')} (tax_rate_id, tax_rate_country, tax_rate_state, tax_rate, tax_rate_name, tax_rate_priority, tax_rate_compound, tax_rate_shipping, tax_rate_order, tax_rate_class) VALUES ?`, [
    Array.from({ length: n }, (_, i) => [i + 1, pick(r, countries), pick(r, states), (r() * 25).toFixed(4), pick(r, ['VAT', 'Sales Tax', 'GST', 'County Tax', 'City Tax']), int(r, 1, 3), r() < 0.05 ? 1 : 0, r() < 0.9 ? 1 : 0, i, pick(r, ['', 'reduced-rate', 'zero-rate'])]),
  ])
  await db.query(`INSERT INTO ${P('woocommerce_tax_rate_locations')} (location_id, location_code, tax_rate_id, location_type) VALUES ?`, [
    Array.from({ length: n }, (_, i) => (r() < 0.7 ? [i + 1, `${int(r, 10000, 99999)}${r() < 0.3 ? '*' : ''}`, int(r, 1, n), 'postcode'] : [i + 1, pick(r, ['VIENNA', 'BERLIN', 'SEATTLE', 'AUSTIN', 'LYON', 'MILANO']), int(r, 1, n), 'city'])),
  ])
  await db.query(`INSERT INTO ${P('woocommerce_shipping_zones')} (zone_id, zone_name, zone_order) VALUES ?`, [
    Array.from({ length: n }, (_, i) => [i + 1, `${pick(r, countries)} ${words(r, 2)} ${i}`, i]),
  ])
  await db.query(`INSERT INTO ${P('woocommerce_shipping_zone_methods')} (zone_id, instance_id, method_id, method_order, is_enabled) VALUES ?`, [
    Array.from({ length: n }, (_, i) => [int(r, 0, n), i + 1, pick(r, ['flat_rate', 'free_shipping', 'local_pickup', 'table_rate', 'wc_shipping_dhl']), int(r, 1, 4), r() < 0.85 ? 1 : 0]),
  ])
  const hex = (k: number) => Array.from({ length: k }, () => Math.floor(r() * 16).toString(16)).join('')
  await db.query(`INSERT INTO ${P('wc_webhooks')} (webhook_id, status, name, user_id, delivery_url, secret, topic, date_created, date_created_gmt, date_modified, date_modified_gmt, api_version, failure_count, pending_delivery) VALUES ?`, [
    Array.from({ length: n }, (_, i) => {
      const d = day(i)
      return [i + 1, pick(r, ['active', 'active', 'paused', 'disabled']), `${pick(r, ['Order created', 'Order updated', 'Product updated', 'Customer created'])} → ${pick(r, ['ERP', 'CRM', 'Warehouse', 'Zapier'])} ${i}`, 1, `https://hooks.${pick(r, ['erp', 'crm', 'wms'])}.example/wc/${hex(16)}`, `${hex(40)}`, pick(r, ['order.created', 'order.updated', 'product.updated', 'customer.created']), d, d, d, d, 3, 0, 0]
    }),
  ])
  return Object.fromEntries(BENCH_TABLES.map((t) => [t.table, n]))
}
