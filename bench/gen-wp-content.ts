// bench/gen-wp-content.ts — the bench's synthetic wp-content: deterministic by seed, realistic in shape.
//
//   npx node bench/gen-wp-content.ts --out DIR/wp-content [--seed 42] [--scale 1] [--quiet]
//   npx node bench/gen-wp-content.ts --out DIR/wp-content --update PLUGIN --update-seed K
//                                    [--changed N] [--added N] [--removed N]
//   npx node bench/gen-wp-content.ts --plan [--seed 42] [--scale 1]      (counts only, writes nothing)
//
// At scale 1: ~30k files, ~580 MB, ~5.9k directories — 40 plugins and 5 themes whose file and directory
// counts are those of real shipped copies (WooCommerce, Jetpack, Yoast, Elementor, …), file sizes drawn per
// file class from the size distribution of ~38k real plugin/theme files, text that compresses like real
// PHP/JS/CSS (identifiers reused within a file, repeated lines), incompressible images/fonts/archives; plus
// what peakguard must leave alone or record beside them: mu-plugins, drop-ins, languages, uploads.
// The same --seed and --scale give the same bytes on every run (mtimes aside): every file's content comes
// from its own random stream keyed by seed, path and version, so no file depends on the order of writing.
//
// --update rewrites one plugin the way WordPress's upgrader does: the new version is unpacked into
// <out>/upgrade/<plugin>.tmp, the old directory removed and the new one renamed in — every file gets a new
// inode; by default round(300 × scale) files get new content, round(10 × scale) are removed and as many added
// (half of them the removed files moved elsewhere: renames), and the main file's version header changes.
// --update-seed 0 writes the pristine plugin back. Plain writes in chunks of at most CHUNK bytes: memory
// stays flat whatever the file sizes.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'

// ── deterministic randomness ─────────────────────────────────────────────────────────────────────

/** sfc32, seeded from SHA-256 of a key: independent, reproducible streams per file and purpose. */
class Rng {
  private a: number
  private b: number
  private c: number
  private d: number
  constructor(key: string) {
    const h = createHash('sha256').update(key).digest()
    this.a = h.readUInt32LE(0)
    this.b = h.readUInt32LE(4)
    this.c = h.readUInt32LE(8)
    this.d = h.readUInt32LE(12)
    for (let i = 0; i < 12; i++) this.u32()
  }
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = ((this.c << 21) | (this.c >>> 11)) + t
    this.c |= 0
    return t >>> 0
  }
  /** [0, 1) */
  f(): number {
    return this.u32() / 4294967296
  }
  int(n: number): number {
    return Math.floor(this.f() * n)
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T
  }
  /** index skewed towards 0, like word frequencies */
  skew(n: number): number {
    const u = this.f()
    return Math.floor(n * u * u * u)
  }
  normal(): number {
    const u = this.f() || 1e-12
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.f())
  }
  weighted<T>(pairs: readonly (readonly [T, number])[]): T {
    let total = 0
    for (const p of pairs) total += p[1]
    let u = this.f() * total
    for (const [v, w] of pairs) if ((u -= w) <= 0) return v
    return (pairs[pairs.length - 1] as readonly [T, number])[0]
  }
}

// ── what real plugins and themes look like ───────────────────────────────────────────────────────

/** [slug, files, directories] of shipped copies found in public site repositories (2021-2025). */
const PLUGINS: readonly (readonly [string, number, number])[] = [
  ['woocommerce', 4738, 997], ['jetpack', 2902, 660], ['wpforms-lite', 1617, 328], ['revslider', 1627, 75],
  ['wp-mail-smtp-pro', 1577, 307], ['wordpress-seo', 1237, 192], ['woocommerce-payments', 1213, 173],
  ['elementor', 1145, 302], ['wp-asset-clean-up-pro', 1011, 194], ['wp-rocket', 855, 192], ['ajax-search-pro', 752, 130],
  ['advanced-custom-fields-pro', 748, 61], ['wordfence', 708, 106], ['ocean-extra', 674, 110], ['elementor-pro', 659, 187],
  ['woocommerce-products-filter', 553, 228], ['ultimate-addons-for-gutenberg', 514, 132], ['wp-migrate-db-pro', 471, 143],
  ['pixel-caffeine', 460, 116], ['elementskit-lite', 449, 146], ['optinmonster', 369, 35], ['wp-menu-icons', 361, 104],
  ['miniorange-oauth-oidc-single-sign-on', 339, 69], ['cmb2', 339, 9], ['facebook-for-woocommerce', 335, 89],
  ['translatepress-multilingual', 328, 28], ['leadin', 313, 57], ['yith-infinite-scrolling', 299, 58],
  ['google-analytics-for-wordpress', 297, 48], ['schema-and-structured-data-for-wp', 289, 40], ['kirki', 260, 43],
  ['webp-converter-for-media', 241, 55], ['cloudflare', 221, 39], ['mailchimp-for-wp', 196, 49], ['redirection', 178, 15],
  ['insert-headers-and-footers', 127, 17], ['query-monitor', 113, 13], ['contact-form-7', 95, 20],
  ['mailchimp-for-woocommerce', 86, 19], ['akismet', 27, 4],
]
const THEMES: readonly (readonly [string, number, number])[] = [
  ['oceanwp', 615, 113], ['storefront', 192, 41], ['twentytwentyfive', 231, 22], ['twentytwentyfour', 106, 13], ['oceanwp-child', 26, 7],
]

type Cls = 'php' | 'js' | 'css' | 'img' | 'text' | 'svg' | 'json' | 'bin' | 'font' | 'po' | 'mo' | 'map'

/** Percentiles at which the size quantiles below are given. */
const PCT = [0, 1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 93, 95, 97, 98, 99, 99.5, 99.9, 100]
/** Share of files and size quantiles (bytes) per class, measured on 38,285 real plugin and theme files. */
const CLASSES: Record<Cls, { share: number; q: readonly number[] }> = {
  php: { share: 0.55795, q: [0, 95, 126, 218, 381, 571, 769, 964, 1197, 1445, 1723, 2027, 2411, 2893, 3465, 4178, 5150, 6374, 8112, 10702, 15436, 20147, 25203, 35522, 45847, 72421, 112902, 258858, 1004808] },
  js: { share: 0.15724, q: [0, 57, 85, 150, 335, 478, 625, 786, 942, 1147, 1385, 1686, 2035, 2533, 3214, 4082, 5414, 7384, 12043, 21880, 43609, 75005, 112816, 178514, 240202, 413766, 677038, 1259393, 3818527] },
  css: { share: 0.07922, q: [0, 47, 69, 131, 275, 443, 658, 849, 1201, 1517, 1933, 2491, 3345, 4435, 5513, 7302, 9251, 13369, 18411, 26988, 41069, 61380, 99021, 137376, 179562, 267157, 430489, 991291, 991378] },
  img: { share: 0.06172, q: [42, 89, 110, 236, 413, 630, 926, 1150, 1459, 1849, 2404, 3217, 4017, 4983, 6992, 9779, 11416, 11801, 15609, 25433, 44409, 68524, 89769, 136058, 177336, 277826, 418587, 869684, 956898] },
  text: { share: 0.04171, q: [0, 8, 34, 104, 213, 414, 711, 1059, 1086, 1367, 1976, 2506, 3422, 5597, 9114, 17478, 19104, 35823, 77492, 136367, 152890, 179325, 193433, 204558, 216345, 226679, 413568, 1046156, 2007756] },
  svg: { share: 0.03161, q: [118, 149, 168, 215, 313, 399, 461, 509, 585, 654, 770, 920, 1159, 1529, 2185, 2878, 3618, 4734, 6521, 9989, 18519, 38269, 109805, 239245, 447050, 751262, 918990, 927335, 1553843] },
  json: { share: 0.01909, q: [0, 63, 152, 414, 567, 607, 627, 674, 737, 817, 945, 1270, 1760, 2687, 5783, 6731, 10823, 14798, 20318, 27358, 38674, 52499, 57255, 61322, 133676, 354569, 612560, 3596245, 3596245] },
  bin: { share: 0.01528, q: [0, 153, 215, 441, 13063, 13515, 14913, 15036, 15270, 15647, 15714, 15801, 15992, 16348, 16751, 17236, 17733, 18696, 20085, 23185, 29952, 37170, 70730, 206255, 1177408, 1177572, 3691407, 3691407, 3691407] },
  font: { share: 0.01298, q: [1056, 1164, 1304, 1792, 3344, 5548, 9684, 13548, 18172, 24852, 34034, 46608, 61640, 77160, 83588, 98673, 109688, 136516, 154984, 193964, 251932, 345996, 356088, 428448, 643292, 705684, 757076, 803384, 803384] },
  po: { share: 0.01105, q: [0, 2203, 2695, 3567, 6019, 6323, 11429, 11474, 11587, 11644, 11775, 14964, 22761, 60362, 79859, 85455, 90140, 93766, 102885, 117237, 153553, 169425, 183616, 209261, 248540, 305794, 390153, 1630027, 1630027] },
  mo: { share: 0.00943, q: [292, 479, 873, 889, 1088, 1332, 1587, 1672, 1828, 3182, 3652, 3781, 6207, 9449, 31602, 46170, 50278, 58355, 61538, 63704, 72181, 79362, 93241, 108540, 110624, 119003, 128721, 190575, 190575] },
  map: { share: 0.00272, q: [227, 320, 486, 786, 4488, 4494, 4648, 4680, 4772, 4797, 4825, 4835, 4861, 4881, 4937, 4995, 4995, 7861, 31387, 93985, 192207, 203185, 299558, 578128, 1112931, 1297165, 1791660, 1791660, 1791660] },
}
const CLASS_NAMES = Object.keys(CLASSES) as Cls[]
const EXTS: Record<Cls, readonly (readonly [string, number])[]> = {
  php: [['php', 1]],
  js: [['js', 0.72], ['min.js', 0.18], ['ts', 0.05], ['tsx', 0.05]],
  css: [['css', 0.7], ['min.css', 0.12], ['scss', 0.18]],
  img: [['png', 0.55], ['jpg', 0.12], ['gif', 0.05], ['webp', 0.25], ['ico', 0.03]],
  text: [['txt', 0.3], ['md', 0.2], ['html', 0.15], ['xml', 0.1], ['csv', 0.1], ['twig', 0.15]],
  svg: [['svg', 1]],
  json: [['json', 1]],
  bin: [['dat', 0.5], ['pdf', 0.3], ['zip', 0.2]],
  font: [['woff2', 0.35], ['woff', 0.25], ['ttf', 0.3], ['eot', 0.1]],
  po: [['po', 0.8], ['pot', 0.2]],
  mo: [['mo', 1]],
  map: [['js.map', 1]],
}

/** Inverse CDF of a class's sizes, log-linear between the measured quantiles. */
function sizeFor(cls: Cls, u: number): number {
  const q = CLASSES[cls].q
  const p = Math.min(99.999, u * 100)
  let i = 0
  while (i < PCT.length - 2 && (PCT[i + 1] as number) < p) i++
  const lo = PCT[i] as number
  const t = Math.min(1, Math.max(0, (p - lo) / ((PCT[i + 1] as number) - lo)))
  const a = Math.log((q[i] as number) + 16)
  const b = Math.log((q[i + 1] as number) + 16)
  return Math.max(0, Math.round(Math.exp(a + (b - a) * t) - 16))
}

// ── options ──────────────────────────────────────────────────────────────────────────────────────

const { values: argv } = parseArgs({
  options: {
    out: { type: 'string' },
    seed: { type: 'string', default: '42' },
    scale: { type: 'string', default: '1' },
    plan: { type: 'boolean', default: false },
    update: { type: 'string' },
    'update-seed': { type: 'string', default: '1' },
    changed: { type: 'string' },
    added: { type: 'string' },
    removed: { type: 'string' },
    quiet: { type: 'boolean', default: false },
  },
  strict: true,
})
const SEED = argv.seed
const SCALE = Number(argv.scale)
const UPDATE_SEED = Number(argv['update-seed'])
function usage(msg: string): never {
  process.stderr.write(`gen-wp-content: ${msg}\nusage: gen-wp-content.ts --out DIR [--seed S] [--scale X] [--quiet] | --out DIR --update PLUGIN --update-seed K [--changed N --added N --removed N] | --plan\n`)
  process.exit(2)
}
if (!(SCALE > 0)) usage('--scale must be a positive number')
if (!(Number.isInteger(UPDATE_SEED) && UPDATE_SEED >= 0)) usage('--update-seed must be an integer ≥ 0')
const count = (v: string | undefined, atScale1: number, min: number): number => {
  if (v === undefined) return Math.max(min, Math.round(atScale1 * SCALE))
  const n = Number(v)
  if (!(Number.isInteger(n) && n >= 0)) usage(`not a count: ${v}`)
  return n
}
const N_CHANGED = count(argv.changed, 300, 1)
const N_ADDED = count(argv.added, 10, 1)
const N_REMOVED = count(argv.removed, 10, 1)

// ── words ────────────────────────────────────────────────────────────────────────────────────────

const SYL = ('wc get set post meta order item cart user field form block data list view admin option query cache key value args id ' +
  'type product price tax term page settings render init hook filter action ajax nonce rest route api url path file image size style ' +
  'script asset handle version status label title content excerpt slug name email count total line shipping payment gateway customer ' +
  'session coupon discount stock variation attribute widget section control element template layout column row wrapper button icon ' +
  'link menu nav modal popup tab panel').split(' ')
const WORDS = ('the a to of and is for this that with be if not on when order product returns value string array bool int null ' +
  'object settings field user should can will default option filter hook callback instance data post page checkout cart customer ' +
  'payment email form').split(' ')
const CSS_PROPS = ('margin padding color background border display position top left width height font-size line-height font-weight ' +
  'z-index opacity transition transform box-shadow border-radius flex align-items justify-content text-align overflow max-width ' +
  'min-height cursor content background-color').split(' ')
const COLORS = ['fff', '000', '333', '666', 'ccc', 'e2e2e2', 'f1f1f1', '0073aa', '7f54b3', 'd63638', '2271b1', '1e1e1e']
const LOCALES = ['de_DE', 'fr_FR', 'es_ES', 'it_IT', 'nl_NL', 'pt_BR', 'ja', 'ru_RU', 'pl_PL', 'sv_SE', 'da_DK', 'nb_NO']

/** The site-wide vocabulary: snake_case identifiers, short ones frequent, and their camelCase forms. */
const VOCAB: string[] = []
{
  const r = new Rng(`vocab:${SEED}`)
  for (let i = 0; i < 3000; i++) {
    if (i < 500) {
      VOCAB.push(r.pick(SYL) + (i % 7 === 0 ? 's' : ''))
      continue
    }
    let w = r.pick(SYL)
    const parts = r.f() < 0.6 ? 2 : r.f() < 0.7 ? 1 : 3
    for (let k = 0; k < parts; k++) w += '_' + r.pick(SYL)
    VOCAB.push(w)
  }
}
const CAMEL = VOCAB.map((w) => w.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase()))
const kebab = (w: string) => w.replace(/_/g, '-')

// ── content ──────────────────────────────────────────────────────────────────────────────────────

const CHUNK = 1 << 18
const buf = Buffer.allocUnsafe(CHUNK)

/**
 * Where one file's bytes go: into a fixed buffer, flushed to the file descriptor when full, cut off at the
 * file's exact size. `done` tells the generators to stop.
 */
class Sink {
  private pos = 0
  private left: number
  private readonly fd: number
  /** the last RECENT lines, for repeating one (real code repeats itself a lot, which is why it compresses) */
  private readonly recent: string[] = new Array(256)
  private lines = 0
  constructor(fd: number, size: number) {
    this.fd = fd
    this.left = size
  }
  get done(): boolean {
    return this.left <= 0
  }
  put(s: string): void {
    if (this.left <= 0) return
    if (s.length > this.left) s = s.slice(0, this.left)
    if (this.pos + s.length > CHUNK) this.flush()
    this.pos += buf.write(s, this.pos, 'latin1')
    this.left -= s.length
    this.recent[this.lines++ & 255] = s
  }
  /** With probability p, one of the last ~200 lines again (null when there is none yet or the draw says no). */
  again(r: Rng, p: number): string | null {
    if (p <= 0 || this.lines <= 8 || r.f() >= p) return null
    return this.recent[(this.lines - 1 - r.int(Math.min(200, this.lines - 1))) & 255] as string
  }
  /** Raw bytes: `fill(target, n)` writes n bytes into buf at `at` (n ≤ free space). */
  bytes(n: number, fill: (at: number, n: number) => void): void {
    n = Math.min(n, this.left)
    while (n > 0) {
      if (this.pos === CHUNK) this.flush()
      const k = Math.min(n, CHUNK - this.pos)
      fill(this.pos, k)
      this.pos += k
      this.left -= k
      n -= k
    }
  }
  flush(): void {
    let off = 0
    while (off < this.pos) off += fs.writeSync(this.fd, buf, off, this.pos - off)
    this.pos = 0
  }
}

/** Per-file word choice: a small local vocabulary used with probability `local`, else the site's. */
class Words {
  private readonly r: Rng
  private readonly snake: string[] = []
  private readonly camel: string[] = []
  private readonly local: number
  constructor(r: Rng, local: number) {
    this.r = r
    this.local = local
    for (let i = 0; i < 48; i++) {
      const k = r.skew(VOCAB.length)
      this.snake.push(VOCAB[k] as string)
      this.camel.push(CAMEL[k] as string)
    }
  }
  w(): string {
    const r = this.r
    return r.f() < this.local ? (this.snake[r.skew(48)] as string) : (VOCAB[r.skew(VOCAB.length)] as string)
  }
  c(): string {
    const r = this.r
    return r.f() < this.local ? (this.camel[r.skew(48)] as string) : (CAMEL[r.skew(CAMEL.length)] as string)
  }
  sentence(n: number): string {
    const r = this.r
    let s = ''
    for (let i = 0; i < n; i++) s += (i ? ' ' : '') + (r.f() < 0.7 ? WORDS[r.skew(WORDS.length)] : this.w())
    return s
  }
}

/** How strongly each text class sticks to its own identifiers, and how often it repeats a recent line. */
const LOCAL: Partial<Record<Cls, number>> = { php: 0.6, js: 0.75, css: 0.93, json: 0.9, po: 0.75, mo: 0.5, text: 0.5 }
const REPEAT: Partial<Record<Cls, number>> = { php: 0.3, js: 0.35, css: 0.55, json: 0.5, po: 0.45, mo: 0.3, text: 0.3, svg: 0.2, map: 0.3 }
const TABS = ['\t', '\t\t', '\t\t\t']
const pascal = (slug: string) => slug.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase())

function php(s: Sink, r: Rng, W: Words, pkg: string, p: number, header = `<?php\n/**\n * ${W.sentence(8)}\n *\n * @package ${pkg}\n */\n\n`): void {
  s.put(`${header}namespace ${pascal(pkg)}\\${W.c()};\n\ndefined( 'ABSPATH' ) || exit;\n\n`)
  while (!s.done) {
    const again = s.again(r, p)
    if (again !== null) {
      s.put(again)
      continue
    }
    const t = TABS[r.int(3)] as string
    switch (r.int(12)) {
      case 0: s.put(`${t}/**\n${t} * ${W.sentence(6 + r.int(8))}\n${t} *\n${t} * @param ${r.pick(['string', 'array', 'int', 'bool', 'WC_Order'])} $${W.w()} ${W.sentence(5)}.\n${t} * @return ${r.pick(['string', 'array', 'bool', 'void'])}\n${t} */\n`); break
      case 1: s.put(`${t}public function ${W.w()}( $${W.w()}, $${W.w()} = ${r.pick(['null', 'array()', "''", 'false', '0'])} ) {\n`); break
      case 2: s.put(`${t}$${W.w()} = $this->${W.w()}( '${W.w()}', $${W.w()} );\n`); break
      case 3: s.put(`${t}if ( ! empty( $${W.w()}['${W.w()}'] ) && ${r.pick(['is_array', 'is_string', 'isset', 'is_numeric'])}( $${W.w()} ) ) {\n`); break
      case 4: s.put(`${t}return apply_filters( '${pkg}_${W.w()}', $${W.w()}, $this );\n${t.slice(1)}}\n\n`); break
      case 5: s.put(`${t}}\n`); break
      case 6: s.put(`${t}$${W.w()}['${W.w()}'] = ${r.pick(['sanitize_text_field', 'absint', 'wc_clean', 'esc_attr', 'esc_html'])}( wp_unslash( $_POST['${W.w()}'] ) );\n`); break
      case 7: s.put(`${t}do_action( '${pkg}_${W.w()}', $${W.w()}, $${W.w()} );\n`); break
      case 8: s.put(`${t}// ${W.sentence(4 + r.int(10))}.\n`); break
      case 9: s.put(`${t}foreach ( $${W.w()} as $${W.w()} => $${W.w()} ) {\n`); break
      case 10: s.put(`${t}echo '<div class="${W.w()}">' . esc_html__( '${W.sentence(3 + r.int(5))}', '${pkg}' ) . '</div>';\n`); break
      default: s.put(`${t}$${W.w()} = ${r.int(2) ? `new ${W.c()}()` : `get_option( '${pkg}_${W.w()}', ${r.int(1000)} )`};\n`)
    }
  }
}

/** Mostly minified bundles: short variable names, long lines. */
function js(s: Sink, r: Rng, W: Words, p: number): void {
  const v = () => String.fromCharCode(97 + r.int(26)) + (r.f() < 0.3 ? String.fromCharCode(65 + r.int(26)) : '')
  while (!s.done) {
    const again = s.again(r, p)
    if (again !== null) {
      s.put(again)
      continue
    }
    switch (r.int(7)) {
      case 0: s.put(`function ${W.c()}(${v()},${v()}){var ${v()}=${v()}.${W.c()}(${v()});return ${v()}&&${v()}.${W.c()}?${v()}(${v()}):null}`); break
      case 1: s.put(`${v()}.${W.c()}=function(${v()}){return"${W.w()}-${W.w()}"===${v()}.${W.c()}};`); break
      case 2: s.put(`const ${v()}=(0,${v()}.__)("${W.sentence(2 + r.int(5))}","${W.w()}");`); break
      case 3: s.put(`${v()}.createElement(${v()}.${W.c()},{className:"${W.w()}__${W.w()}",onChange:${v()},value:${v()}.${W.c()}})`); break
      case 4: s.put(`,${r.int(99999)}:function(${v()},${v()},${v()}){"use strict";${v()}.d(${v()},{${W.c()}:function(){return ${v()}}})}`); break
      case 5: s.put(`if(${v()}.${W.c()}>${r.int(500)})for(var ${v()}=0;${v()}<${v()}.length;${v()}++)${v()}[${v()}]=${v()}.${W.c()}[${v()}];`); break
      default: s.put(r.f() < 0.2 ? '\n' : `${v()}=${v()}.${W.c()}||{},`)
    }
  }
}

function css(s: Sink, r: Rng, W: Words, p: number): void {
  while (!s.done) {
    const again = s.again(r, p)
    if (again !== null) {
      s.put(again)
      continue
    }
    let rule = `.${kebab(W.w())}${r.f() < 0.5 ? ' .' + kebab(W.w()) : ''}${r.f() < 0.2 ? ':hover' : ''} {\n`
    for (let i = 1 + r.int(6); i > 0; i--) {
      const value = r.f() < 0.4 ? r.int(24) + r.pick(['px', 'em', '%', 'rem']) : r.f() < 0.3 ? '#' + COLORS[r.skew(COLORS.length)]
        : r.pick(['none', 'block', 'flex', 'inherit', 'auto', '0', 'relative', 'absolute', 'center'])
      rule += `\t${CSS_PROPS[r.skew(CSS_PROPS.length)]}: ${value};\n`
    }
    s.put(rule + '}\n')
  }
}

function json(s: Sink, r: Rng, W: Words, p: number): void {
  s.put('{\n')
  while (!s.done) {
    const again = s.again(r, p)
    if (again !== null) {
      s.put(again)
      continue
    }
    const value = r.f() < 0.5 ? `"${W.sentence(1 + r.int(4))}"` : r.f() < 0.5 ? String(r.int(100000)) : `{ "${W.w()}": "${W.w()}", "${W.w()}": ${r.f() < 0.5} }`
    s.put(`\t"${W.w()}": ${value},\n`)
  }
}

function svg(s: Sink, r: Rng, p: number): void {
  s.put('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path d="M')
  while (!s.done) s.put(s.again(r, p) ?? `${r.pick(['c', 'l', 'C', 'L', 's', 'h', 'v', 'z'])}${(r.int(48) / 2).toFixed(1)} ${(r.int(240) / 10).toFixed(1)} `)
}

function po(s: Sink, r: Rng, W: Words, p: number): void {
  s.put(`msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n`)
  while (!s.done) s.put(s.again(r, p) ?? `#: ${W.w()}/${W.w()}.php:${r.int(2000)}\nmsgid "${W.sentence(2 + r.int(9))}"\nmsgstr "${W.sentence(2 + r.int(9))}"\n\n`)
}

/** A .mo: its magic number, then NUL-separated strings (the tables are noise to every tool here). */
function mo(s: Sink, r: Rng, W: Words, p: number): void {
  s.put('\xde\x12\x04\x95\x00\x00\x00\x00')
  while (!s.done) s.put(s.again(r, p) ?? `${W.sentence(2 + r.int(9))}\x00${W.sentence(2 + r.int(9))}\x00`)
}

function text(s: Sink, r: Rng, W: Words, p: number): void {
  while (!s.done) s.put(s.again(r, p) ?? (r.f() < 0.1 ? `\n== ${W.sentence(3)} ==\n` : '') + W.sentence(6 + r.int(14)) + '.\n')
}

function sourceMap(s: Sink, r: Rng, W: Words): void {
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  s.put(`{"version":3,"sources":["webpack://${W.w()}"],"mappings":"`)
  while (!s.done) {
    let seg = ''
    for (let i = 2 + r.int(5); i > 0; i--) seg += B64[r.f() < 0.6 ? r.int(12) : r.int(64)]
    s.put(seg + (r.f() < 0.1 ? ';' : ','))
  }
}

/** Magic bytes, so that `file` and MIME sniffing see what the extension says. */
const MAGIC: Record<string, string> = {
  png: '\x89PNG\r\n\x1a\n', jpg: '\xff\xd8\xff\xe0', gif: 'GIF89a', webp: 'RIFF\0\0\0\0WEBPVP8 ', ico: '\0\0\x01\0',
  woff2: 'wOF2', woff: 'wOFF', ttf: '\0\x01\0\0', pdf: '%PDF-1.5\n', zip: 'PK\x03\x04',
}
/**
 * Share of 64-byte blocks that repeat one of the last 512: 0 for compressed formats (PNG, JPEG, WebP, WOFF2,
 * ZIP stay incompressible), more for TTF/EOT/PDF, which compress ~1.7-3× in reality.
 */
const BLOCK_REPEAT: Record<string, number> = { png: 0.08, gif: 0.2, ico: 0.3, woff: 0.15, ttf: 0.42, eot: 0.42, pdf: 0.7, dat: 0.5 }
const ring = Buffer.alloc(64 * 512)

function binary(s: Sink, r: Rng, ext: string): void {
  const magic = MAGIC[ext]
  if (magic) s.put(magic)
  const rep = BLOCK_REPEAT[ext] ?? 0
  let blocks = 0
  s.bytes(Number.MAX_SAFE_INTEGER, (at, n) => {
    let i = at
    const end = at + n
    for (; i + 64 <= end; i += 64, blocks++) {
      const slot = (blocks & 511) * 64
      if (blocks > 0 && r.f() < rep) {
        const back = ((blocks - 1 - r.int(Math.min(512, blocks))) & 511) * 64
        ring.copy(buf, i, back, back + 64)
        if (back !== slot) ring.copy(ring, slot, back, back + 64)
      } else {
        for (let k = 0; k < 64; k += 4) buf.writeUInt32LE(r.u32(), i + k)
        buf.copy(ring, slot, i, i + 64)
      }
    }
    for (; i < end; i++) buf[i] = r.u32() & 0xff
  })
}

// ── the plan: which files, where, which class and size ──────────────────────────────────────────

interface Entry {
  /** path relative to the unit's directory (or to wp-content for loose files) */
  rel: string
  cls: Cls
  size: number
  /** content version: 0 pristine, K after update K */
  ver: number
  /** where the bytes come from: usually rel; a renamed file keeps its old key, hence its old bytes */
  key: string
  /** fixed bytes instead of generated ones */
  fixed?: string
  /** the plugin's main file or the theme's style.css: carries the name and version header */
  main?: true
}
interface Unit {
  /** directory under wp-content ('' for the drop-ins, which sit at the top) */
  dir: string
  name: string
  /** package name in generated PHP (text domain, hook prefix) */
  pkg: string
  files: Entry[]
}

const SILENCE = '<?php\n// Silence is golden.\n'
const TOPDIRS = ['includes', 'assets', 'src', 'vendor', 'languages', 'templates', 'admin', 'build', 'lib', 'public', 'modules', 'packages',
  'i18n', 'core', 'classes', 'views', 'inc', 'js', 'css', 'images', 'fonts', 'blocks', 'app', 'dist', 'legacy']
const SUBDIRS = ['js', 'css', 'images', 'img', 'admin', 'src', 'Internal', 'Abstracts', 'Utilities', 'frontend', 'components', 'fonts',
  'icons', 'lib', 'partials', 'widgets', 'controls', 'data', 'Admin', 'Blocks', 'Rest', 'Integrations', 'emails', 'settings']

const scaled = (n: number) => Math.max(1, Math.round(n * SCALE))

/** A plugin or theme shaped like the real one: a random directory tree, files spread heavy-tailed over it. */
function packageUnit(kind: 'plugins' | 'themes', name: string, nFiles: number, nDirs: number): Unit {
  const r = new Rng(`plan:${SEED}:${kind}:${name}`)
  const W = new Words(r, 0)
  const files = scaled(nFiles)
  const dirCount = Math.max(1, Math.min(files, Math.round(nDirs * SCALE)))
  const dirs: { rel: string; depth: number; names: Set<string> }[] = [{ rel: '', depth: 0, names: new Set() }]
  for (let k = 1; k < dirCount; k++) {
    let parent = dirs[r.int(dirs.length)] as (typeof dirs)[number]
    while (parent.depth >= 9) parent = dirs[r.int(dirs.length)] as (typeof dirs)[number]
    const base = parent.depth === 0 ? r.pick(TOPDIRS) : r.f() < 0.5 ? r.pick(SUBDIRS) : r.f() < 0.5 ? W.c() : kebab(W.w())
    let nm = base
    for (let i = 2; parent.names.has(nm); i++) nm = `${base}-${i}`
    parent.names.add(nm)
    dirs.push({ rel: parent.rel ? `${parent.rel}/${nm}` : nm, depth: parent.depth + 1, names: new Set() })
  }
  // each package has its own mix of classes (a JS-heavy builder, a PHP-heavy shop) around the global one
  const mix = CLASS_NAMES.map((c) => [c, CLASSES[c].share * Math.exp(0.5 * r.normal())] as const)
  const pull = dirs.map((_d, i) => [i, Math.pow(r.f() + 0.02, -1.2)] as const)
  const langDir = dirs.findIndex((d) => d.rel === 'languages')
  const out: Entry[] = []
  const add = (di: number, cls: Cls, fname: string, fixed?: string) => {
    const names = (dirs[di] as (typeof dirs)[number]).names
    let nm = fname
    const dot = fname.indexOf('.')
    for (let i = 2; names.has(nm); i++) nm = `${fname.slice(0, dot)}-${i}${fname.slice(dot)}`
    names.add(nm)
    const rel = di ? `${(dirs[di] as (typeof dirs)[number]).rel}/${nm}` : nm
    out.push({ rel, cls, size: 0, ver: 0, key: rel, ...(fixed === undefined ? {} : { fixed }) })
  }
  add(0, kind === 'themes' ? 'css' : 'php', kind === 'themes' ? 'style.css' : `${name}.php`)
  ;(out[0] as Entry).main = true
  if (files > 1) add(0, 'text', 'readme.txt')
  if (files > 2) add(0, 'php', 'index.php', SILENCE)
  if (kind === 'themes' && files > 3) add(0, 'php', 'functions.php')
  if (kind === 'themes' && files > 4) add(0, 'img', 'screenshot.png')
  const fileName = (cls: Cls) => {
    const ext = r.weighted(EXTS[cls])
    const stem = cls === 'php' ? (r.f() < 0.5 ? `class-${kebab(W.w())}` : pascal(kebab(W.c())))
      : cls === 'img' || cls === 'svg' ? kebab(W.w()) + (r.f() < 0.3 ? '@2x' : '')
        : cls === 'po' || cls === 'mo' ? `${name}-${r.pick(LOCALES)}` : kebab(W.w())
    return `${stem}.${ext}`
  }
  // every directory holds at least one file, as in the shipped zips; the rest goes heavy-tailed
  const order: number[] = []
  for (let di = 1; di < dirs.length && out.length + order.length < files; di++) order.push(di)
  while (out.length + order.length < files) order.push(r.weighted(pull))
  order.forEach((di, i) => {
    if (r.f() < 0.04 && !(dirs[di] as (typeof dirs)[number]).names.has('index.php')) return add(di, 'php', 'index.php', SILENCE)
    const cls = r.weighted(mix)
    // translations live in languages/ when there is one (not in a directory that needs its one file)
    add((cls === 'po' || cls === 'mo') && langDir > 0 && i >= dirs.length - 1 ? langDir : di, cls, fileName(cls))
  })
  for (const f of out) f.size = f.fixed !== undefined ? f.fixed.length : f.rel === 'screenshot.png' ? 150_000 + r.int(450_000) : sizeFor(f.cls, r.f())
  return { dir: `${kind}/${name}`, name, pkg: name, files: out }
}

/** Must-use plugins: a loader and a few site-specific ones, one with its own folder. */
function muPlugins(): Unit {
  const r = new Rng(`plan:${SEED}:mu-plugins`)
  const files: Entry[] = [
    { rel: 'shop-loader.php', cls: 'php', size: 1800, ver: 0, key: 'shop-loader.php' },
    { rel: 'disable-xmlrpc.php', cls: 'php', size: 420, ver: 0, key: 'disable-xmlrpc.php' },
    { rel: 'shop-checkout-tweaks.php', cls: 'php', size: 6400, ver: 0, key: 'shop-checkout-tweaks.php' },
  ]
  const n = Math.max(2, Math.round(24 * SCALE))
  const sub = ['', 'includes', 'includes/admin', 'assets']
  for (let i = 0; i < n; i++) {
    const d = sub[i % sub.length] as string
    const cls: Cls = d === 'assets' ? r.pick(['js', 'css'] as const) : 'php'
    const rel = `shop-core/${d ? d + '/' : ''}${i === 0 ? 'shop-core' : `part-${i}`}.${cls}`
    files.push({ rel, cls, size: sizeFor(cls, r.f() * 0.95), ver: 0, key: rel })
  }
  return { dir: 'mu-plugins', name: 'mu-plugins', pkg: 'shop', files }
}

/** Drop-ins at the top of wp-content (a page cache's, an object cache's, a custom database error page). */
function dropIns(): Unit {
  return {
    dir: '',
    name: 'drop-ins',
    pkg: 'dropin',
    files: [
      { rel: 'advanced-cache.php', cls: 'php', size: 2900, ver: 0, key: 'advanced-cache.php' },
      { rel: 'object-cache.php', cls: 'php', size: 71_000, ver: 0, key: 'object-cache.php' },
      { rel: 'db-error.php', cls: 'php', size: 1200, ver: 0, key: 'db-error.php' },
      { rel: 'index.php', cls: 'php', size: SILENCE.length, ver: 0, key: 'index.php', fixed: SILENCE },
    ],
  }
}

/** wp-content/languages: core, plugin and theme translations (never part of a snapshot). */
function languages(): Unit {
  const r = new Rng(`plan:${SEED}:languages`)
  const files: Entry[] = []
  const pair = (rel: string) => {
    files.push({ rel: `${rel}.po`, cls: 'po', size: sizeFor('po', 0.3 + 0.6 * r.f()), ver: 0, key: `${rel}.po` })
    files.push({ rel: `${rel}.mo`, cls: 'mo', size: sizeFor('mo', 0.3 + 0.6 * r.f()), ver: 0, key: `${rel}.mo` })
  }
  for (const core of ['de_DE', 'admin-de_DE', 'admin-network-de_DE', 'continents-cities-de_DE']) pair(core)
  for (const [name] of PLUGINS) if (r.f() < 0.7 * Math.min(1, SCALE)) pair(`plugins/${name}-de_DE`)
  for (const [name] of THEMES.slice(0, 3)) pair(`themes/${name}-de_DE`)
  return { dir: 'languages', name: 'languages', pkg: 'languages', files }
}

/**
 * wp-content/uploads: three years of media with their generated sizes, and what plugins keep there. Kept
 * small (~4% of the bytes): git and restic store it, peakguard must not, and real media libraries are far
 * larger than any code — a bench that mirrored them would measure media, not code and settings.
 */
function uploads(): Unit {
  const r = new Rng(`plan:${SEED}:uploads`)
  const W = new Words(r, 0)
  const files: Entry[] = []
  const originals = Math.max(1, Math.round(108 * SCALE))
  for (let i = 0; i < originals; i++) {
    const month = i % 36
    const d = `${2023 + Math.floor(month / 12)}/${String((month % 12) + 1).padStart(2, '0')}`
    const stem = `${kebab(W.w())}-${r.int(900) + 100}`
    const ext = r.f() < 0.7 ? 'jpg' : 'png'
    const full = 40_000 + r.int(160_000)
    files.push({ rel: `${d}/${stem}.${ext}`, cls: 'img', size: full, ver: 0, key: `${d}/${stem}.${ext}` })
    for (const [w, h] of [[150, 150], [300, 200], [768, 512], [1024, 683]] as const)
      files.push({ rel: `${d}/${stem}-${w}x${h}.${ext}`, cls: 'img', size: Math.round(full * (w * h) / (1600 * 1067)) + 900, ver: 0, key: `${d}/${stem}-${w}x${h}.${ext}` })
  }
  const css = Math.max(1, Math.round(40 * SCALE))
  for (let i = 0; i < css; i++) files.push({ rel: `elementor/css/post-${100 + i * 7}.css`, cls: 'css', size: sizeFor('css', r.f() * 0.9), ver: 0, key: `elementor/css/post-${100 + i * 7}.css` })
  files.push({ rel: 'wc-logs/index.html', cls: 'text', size: 0, ver: 0, key: 'wc-logs/index.html', fixed: '' })
  files.push({ rel: 'woocommerce_uploads/.htaccess', cls: 'text', size: 14, ver: 0, key: 'woocommerce_uploads/.htaccess', fixed: 'deny from all\n' })
  return { dir: 'uploads', name: 'uploads', pkg: 'uploads', files }
}

function plan(): Unit[] {
  return [
    ...PLUGINS.map(([n, f, d]) => packageUnit('plugins', n, f, d)),
    ...THEMES.map(([n, f, d]) => packageUnit('themes', n, f, d)),
    muPlugins(),
    dropIns(),
    languages(),
    uploads(),
  ]
}

/** The next version of a plugin: changed, removed, renamed and added files, all drawn from the update seed. */
function updated(unit: Unit, useed: number): Unit {
  if (useed === 0) return unit
  const r = new Rng(`update:${SEED}:${unit.name}:${useed}`)
  const W = new Words(r, 0)
  const files = unit.files.map((f) => ({ ...f }))
  // never the main file (it changes anyway: its version header) nor the "Silence is golden" stubs
  const idx = files.map((_f, i) => i).filter((i) => i > 0 && (files[i] as Entry).fixed === undefined)
  for (let i = idx.length - 1; i > 0; i--) {
    const j = r.int(i + 1)
    ;[idx[i], idx[j]] = [idx[j] as number, idx[i] as number]
  }
  const nChanged = Math.min(N_CHANGED, idx.length)
  const nRemoved = Math.min(N_REMOVED, idx.length - nChanged)
  for (const i of idx.slice(0, nChanged)) {
    const f = files[i] as Entry
    f.ver = useed
    f.size = Math.max(1, Math.round(f.size * (0.85 + 0.35 * r.f())))
  }
  const removed = idx.slice(nChanged, nChanged + nRemoved).map((i) => files[i] as Entry)
  const gone = new Set(removed)
  const kept = files.filter((f) => !gone.has(f))
  const taken = new Set(kept.map((f) => f.rel))
  const dirs = [...new Set(files.map((f) => path.posix.dirname(f.rel)))].sort()
  for (let k = 0; k < N_ADDED; k++) {
    const d = r.pick(dirs)
    const at = (base: string) => (d === '.' ? base : `${d}/${base}`)
    // the first half of the additions are the removed files moved (a class moved to another namespace)
    const moved = k < Math.floor(N_ADDED / 2) ? removed[k] : undefined
    let rel = moved ? at(path.posix.basename(moved.rel)) : at(`new-${useed}-${k}-${kebab(W.w())}.${r.f() < 0.7 ? 'php' : 'js'}`)
    for (let i = 2; taken.has(rel) || (moved && rel === moved.rel); i++) rel = rel.replace(/(-\d+)?(\.[^./]+)$/, `-${i}$2`)
    taken.add(rel)
    if (moved) kept.push({ ...moved, rel })
    else {
      const cls: Cls = rel.endsWith('.php') ? 'php' : 'js'
      kept.push({ rel, cls, size: sizeFor(cls, r.f()), ver: useed, key: rel })
    }
  }
  ;(kept[0] as Entry).ver = useed
  return { ...unit, files: kept }
}

// ── writing ──────────────────────────────────────────────────────────────────────────────────────

function writeFile(file: string, f: Entry, pkg: string): void {
  const fd = fs.openSync(file, 'w', 0o644)
  try {
    const s = new Sink(fd, f.size)
    if (f.fixed !== undefined) s.put(f.fixed)
    else {
      const r = new Rng(`content:${SEED}:${pkg}:${f.key}:${f.ver}`)
      const ext = f.rel.slice(f.rel.lastIndexOf('.') + 1)
      const local = LOCAL[f.cls]
      const W = new Words(r, local ?? 0)
      const p = REPEAT[f.cls] ?? 0
      // the header WordPress reads a plugin's or theme's name and version from; an update bumps the version
      const version = `${3 + f.ver}.${r.int(10)}.${r.int(10)}`
      if (f.main && f.cls === 'css') s.put(`/*\nTheme Name: ${pascal(pkg)}\nVersion: ${version}\nText Domain: ${pkg}\n*/\n`)
      const header = f.main ? `<?php\n/**\n * Plugin Name: ${pascal(pkg)}\n * Version: ${version}\n * Text Domain: ${pkg}\n */\n\n` : undefined
      switch (f.cls) {
        case 'php': php(s, r, W, pkg, p, header); break
        case 'js': js(s, r, W, p); break
        case 'css': css(s, r, W, p); break
        case 'json': json(s, r, W, p); break
        case 'svg': svg(s, r, p); break
        case 'po': po(s, r, W, p); break
        case 'mo': mo(s, r, W, p); break
        case 'text': text(s, r, W, p); break
        case 'map': sourceMap(s, r, W); break
        default: binary(s, r, ext)
      }
    }
    s.flush()
  } finally {
    fs.closeSync(fd)
  }
}

/** Writes a unit's files below `root`; returns the bytes written. */
function writeUnit(root: string, unit: Unit): number {
  const made = new Set<string>()
  let bytes = 0
  for (const f of unit.files) {
    const file = path.join(root, f.rel)
    const d = path.dirname(file)
    if (!made.has(d)) {
      fs.mkdirSync(d, { recursive: true })
      made.add(d)
    }
    writeFile(file, f, unit.pkg)
    bytes += f.size
  }
  return bytes
}

function main(): void {
  const t0 = performance.now()
  const units = plan()
  if (argv.plan) {
    let files = 2 // plugins/index.php, themes/index.php
    let bytes = 0
    const all = new Set(['', 'plugins', 'themes'])
    for (const u of units) {
      const b = u.files.reduce((s, f) => s + f.size, 0)
      const dirs = new Set<string>()
      for (const f of u.files)
        for (let d = path.posix.dirname(u.dir ? `${u.dir}/${f.rel}` : f.rel); d !== '.'; d = path.posix.dirname(d)) dirs.add(d)
      files += u.files.length
      bytes += b
      for (const d of dirs) all.add(d)
      process.stdout.write(`${u.dir || '(drop-ins)'}\tfiles=${u.files.length}\tdirs=${u.dir ? [...dirs].filter((d) => d === u.dir || d.startsWith(u.dir + '/')).length : 0}\tMB=${(b / 1e6).toFixed(1)}\n`)
    }
    // wp-content itself counted, as `find -type d` does
    process.stdout.write(`TOTAL\tfiles=${files}\tdirs=${all.size}\tMB=${(bytes / 1e6).toFixed(1)}\tunits=${units.length}\n`)
    return
  }
  const out = argv.out
  if (!out) usage('--out DIR is required')
  if (argv.update !== undefined) {
    const unit = units.find((u) => u.dir === `plugins/${argv.update}`)
    if (!unit) usage(`no such plugin: ${argv.update} (plugins: ${PLUGINS.map((p) => p[0]).join(', ')})`)
    const next = updated(unit, UPDATE_SEED)
    // as WordPress's upgrader: unpack beside, remove the old version, rename the new one in, clean up
    const dst = path.join(out, 'plugins', unit.name)
    const tmp = path.join(out, 'upgrade', `${unit.name}.tmp`)
    fs.rmSync(tmp, { recursive: true, force: true })
    const bytes = writeUnit(tmp, next)
    fs.rmSync(dst, { recursive: true, force: true })
    fs.renameSync(tmp, dst)
    fs.rmSync(path.join(out, 'upgrade'), { recursive: true, force: true })
    const n = UPDATE_SEED ? { changed: Math.min(N_CHANGED, unit.files.length), added: N_ADDED, removed: N_REMOVED } : { changed: 0, added: 0, removed: 0 }
    if (!argv.quiet)
      process.stdout.write(`updated plugins/${unit.name} seed=${UPDATE_SEED}: files=${next.files.length} changed=${n.changed} added=${n.added} removed=${n.removed} bytes=${bytes} in ${(performance.now() - t0).toFixed(0)} ms\n`)
    return
  }
  let files = 0
  let bytes = 0
  for (const u of units) {
    bytes += writeUnit(u.dir ? path.join(out, u.dir) : out, u)
    files += u.files.length
  }
  for (const d of ['plugins', 'themes']) {
    fs.writeFileSync(path.join(out, d, 'index.php'), SILENCE)
    files++
  }
  if (!argv.quiet)
    process.stdout.write(`wrote ${files} files, ${(bytes / 1e6).toFixed(1)} MB under ${out} in ${((performance.now() - t0) / 1000).toFixed(1)} s (seed=${SEED} scale=${SCALE})\n`)
}

main()
