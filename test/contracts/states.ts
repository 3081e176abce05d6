// Site states for the contract suites: what a journal must give back, with every shape that has tripped
// a real adapter up — empty and binary files, modes and owners, symlinks, linked theme directories,
// directories, NULL and binary option values, names with spaces, tabs, quotes, non-ASCII and nothing at all.
import { createHash } from 'node:crypto'
import { ENTITY_HEADER, ROW_HEADER, diffStates, encodeRecord, optionKey, stateOf, type CommitRequest, type DirEntry, type FileEntry, type LinkedDir, type OptionEntry, type SiteState } from '../../src/core/index.ts'
import { blobId } from '../memory/blob-id.ts'

export const enc = (s: string) => new TextEncoder().encode(s)
export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

/** Bytes every byte value appears in, NULs included. */
export const BINARY = Uint8Array.from({ length: 1024 }, (_, i) => (i * 7) % 256)

/** A state plus the bytes behind its blobs. */
export interface Fixture {
  state: SiteState
  content: Map<string, Uint8Array>
  values: Map<string, Uint8Array>
}

export function build(files: [string, string | Uint8Array, Partial<FileEntry>?][], links: LinkedDir[], options: [string, string, string | Uint8Array, string | null, boolean?][], dirs: DirEntry[]): Fixture {
  const content = new Map<string, Uint8Array>()
  const values = new Map<string, Uint8Array>()
  const fe: FileEntry[] = files.map(([path, c, meta]) => {
    const bytes = typeof c === 'string' ? enc(c) : c
    content.set(path, bytes)
    const kind = meta?.kind ?? 'file'
    return { path, kind, blob: blobId(bytes), mode: kind === 'symlink' ? 0o777 : 0o644, uid: 0, gid: 0, ...meta }
  })
  const oe: OptionEntry[] = options.map(([table, name, v, autoload, isNull]) => {
    const bytes = typeof v === 'string' ? enc(v) : v
    values.set(optionKey(table, name), bytes)
    return { table, name, blob: blobId(bytes), autoload, ...(isNull ? { nullValue: true as const } : {}) }
  })
  return { state: stateOf(fe, links, oe, dirs), content, values }
}

/** records as the database builds them (core/records.ts): NUL and a line break inside values */
export const ENTITY_RECORD = encodeRecord(ENTITY_HEADER, [
  { label: 'ID', value: enc('12') },
  { label: 'post_content', value: enc('<!-- wp:paragraph -->\n<p>Header\u0000</p>\n<!-- /wp:paragraph -->') },
  { label: 'post_type', value: enc('wp_template_part') },
  { label: 'post_name', value: enc('../header\u0000') },
  { label: 'meta', value: enc('origin') },
  { label: 'meta_value', value: null },
  { label: 'term', value: enc('wp_theme\u0000twentytwentythree\u0000twentytwentythree') },
])
export const ROW_RECORD = encodeRecord(ROW_HEADER, [
  { label: 'tax_rate_id', value: enc('7') },
  { label: 'tax_rate', value: enc('20.0000') },
  { label: 'tax_rate_name', value: null },
])

export const ODD_FILE = 'plugins/odd/name with spaces, "quotes", back\\slash, tab\there & ünïcødé 🛒.php'
export const ODD_OPTION = 'ünïcødé 🛒 with spaces/slash %25 "quotes"'

export function first(): Fixture {
  const f = build(
    [
      ['plugins/akismet/akismet.php', '<?php // akismet 5.0\n', { uid: 33, gid: 33 }],
      ['plugins/akismet/empty.txt', ''],
      ['plugins/akismet/bin/tool', BINARY, { mode: 0o750, uid: 33, gid: 0 }],
      ['plugins/akismet/readme', '<?php // akismet 5.0\n', { mode: 0o600 }],
      ['plugins/akismet/current', '../hello.php', { kind: 'symlink', uid: 33, gid: 33 }],
      ['plugins/hello.php', '<?php // Hello Dolly\n', { mode: 0o640 }],
      ['themes/twentytwo/style.css', '/* Theme Name: Twenty Twenty-Two */\n'],
      ['object-cache.php', '<?php // drop-in\n'],
      [ODD_FILE, 'odd'],
      ['plugins/odd/new\nline\r%0A.php', 'a name with a line break'],
    ],
    [{ path: 'themes/twentytwo', target: '/usr/share/wordpress/wp-content/themes/twentytwo' }],
    [
      ['wp_options', 'blogname', 'Shop', 'yes'],
      ['wp_options', 'siteurl', 'https://shop.example', 'yes'],
      ['wp_options', 'binary', BINARY, 'no'],
      ['wp_options', 'nulled', '', 'yes', true],
      ['wp_options', 'empty', '', 'auto'],
      ['wp_options', '', 'a row without a name', 'no'],
      ['wp_options', '.dotted', 'x', 'yes'],
      ['wp_options', ODD_OPTION, 'odd', 'yes'],
      ['wp_sitemeta', '1:site_name', 'Shop Network', null],
      // a Site Editor entity and a settings-table row: records whose names hold encoded odd bytes
      ['wp_posts', 'entity:wp_template_part/twentytwentythree/%2E%2E%2Fheader%00', ENTITY_RECORD, null],
      ['wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#7', ROW_RECORD, null],
    ],
    [
      { path: 'plugins/akismet', mode: 0o755, uid: 33, gid: 33 },
      { path: 'plugins/akismet/bin', mode: 0o750, uid: 33, gid: 0 },
      { path: 'plugins/odd', mode: 0o700, uid: 0, gid: 0 },
      { path: 'themes/twentytwo', mode: 0o755, uid: 0, gid: 0 },
    ],
  )
  f.state.sources = new Set(['wp_options', 'wp_sitemeta', 'wp_posts', 'wp_woocommerce_tax_rates'])
  return f
}

/** `first` changed every way a snapshot can change it. */
export function second(): Fixture {
  const f = first()
  const s = f.state
  const put = (path: string, bytes: Uint8Array, meta: Partial<FileEntry> = {}) => {
    f.content.set(path, bytes)
    s.files.set(path, { path, kind: 'file', blob: blobId(bytes), mode: 0o644, uid: 0, gid: 0, ...meta })
  }
  put('plugins/akismet/akismet.php', enc('<?php // akismet 5.1\n'), { uid: 33, gid: 33 })
  s.files.set('plugins/hello.php', { ...(s.files.get('plugins/hello.php') as FileEntry), mode: 0o600, uid: 1000 })
  s.files.delete('plugins/akismet/empty.txt')
  put('plugins/new/new.php', enc('<?php // Hello Dolly\n')) // content the journal holds already
  s.dirs?.set('plugins/new', { path: 'plugins/new', mode: 0o755, uid: 0, gid: 0 })
  s.dirs?.set('plugins/odd', { path: 'plugins/odd', mode: 0o755, uid: 0, gid: 0 })
  s.links.set('themes/twentytwo', { path: 'themes/twentytwo', target: '/usr/share/wordpress/wp-content/themes/twentytwo-v2' })
  const opt = (name: string, v: Uint8Array | null, autoload: string | null, table = 'wp_options') => {
    const key = optionKey(table, name)
    if (!v) return void s.options.delete(key)
    f.values.set(key, v)
    s.options.set(key, { table, name, blob: blobId(v), autoload })
  }
  opt('blogname', enc('Shop — Black Friday'), 'yes')
  opt('binary', BINARY, 'yes') // the autoload flag only
  opt('nulled', null, null)
  opt('added', enc('a:1:{s:3:"new";b:1;}'), 'no')
  opt('table:wc_webhooks#1', encodeRecord(ROW_HEADER, [{ label: 'webhook_id', value: enc('1') }, { label: 'secret', value: null }]), null, 'wp_wc_webhooks')
  // a table recorded from now on, and one no longer
  s.sources = new Set([...(s.sources ?? []), 'wp_wc_webhooks'].filter((t) => t !== 'wp_sitemeta'))
  return f
}

/** A commit request from `from` to `to.state`; `located` puts bytes where the journal reads files from. */
export function commitRequest(parent: string | null, from: SiteState, to: Fixture, located: (bytes: Uint8Array) => string, subject = 'a snapshot', trailers: Record<string, string> = { 'Peakguard-Trigger': 'manual' }): CommitRequest {
  const bytes = (path: string) => {
    const b = to.content.get(path)
    if (!b) throw new Error(`no content for ${path}`)
    return b
  }
  return {
    parent,
    state: to.state,
    diff: diffStates(from, to.state),
    filePath: (path) => located(bytes(path)),
    fileContent: async (path) => bytes(path),
    optionValue: (table, name) => {
      const v = to.values.get(optionKey(table, name))
      if (!v) throw new Error(`no value for ${table}.${name}`)
      return v
    },
    subject,
    trailers,
  }
}

/** A state as plain sorted data, for deepEqual: no directories and an empty set of them are the same. */
export function plain(s: SiteState) {
  const sorted = <T>(m: Map<string, T> | undefined) => [...(m ?? new Map<string, T>()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v)
  return {
    files: sorted(s.files),
    links: sorted(s.links),
    options: sorted(s.options).map((o) => ({ table: o.table, name: o.name, blob: o.blob, autoload: o.autoload, nullValue: !!o.nullValue })),
    dirs: sorted(s.dirs),
    sources: s.sources ? [...s.sources].sort() : null,
  }
}

export const sha1 = (s: string) => createHash('sha1').update(s).digest('hex')
