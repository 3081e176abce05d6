// Property-based round trips through the real CLI: generated file trees — names as arbitrary bytes, symlinks
// with any text, file and directory modes and owners, linked theme/plugin directories — and settings tables —
// arbitrary bytes, NULLs, names held by several rows, autoload flags as a hand-edited table may spell them — go
// through snapshot → random change → restore. Every run must end in a byte-exact round trip of what peakguard
// records, with what it cannot record (a name or link text that is not UTF-8) reported by the snapshot and
// left exactly as the restore found it; or, for settings, in a clean refusal (a JSON error that names the
// problem, no stack trace) that changed nothing. Never a crash, and never a write outside wp-content (links
// lead to a directory beside the site that must stay as it is).
//   PEAKGUARD_PROP_SEED=N      another seed (the default is fixed: the runs are the same on every machine)
//   PEAKGUARD_PROP_RUNS=N      runs per property (default 12 for files, 8 per settings site: what `npm test` affords; more
//                              with this, e.g. 200 before a release)
//   PEAKGUARD_PROP_SHRINK=1    shrink a counterexample (slow: every step runs the CLI three times)
//   PEAKGUARD_PROP_PATH=P      with the seed of a failure, replay only its case (P: the `path` fast-check prints)
// Directories inside theme/plugin directories are compared too (mode and owner): recorded ones come back, and a
// directory that appeared since may stay only while it holds something peakguard does not record.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import fc from 'fast-check'
import type mysql from 'mysql2/promise'
import { BASE_OPTIONS, createSite, optionsTableSql, type CliResult, type TestSite } from './harness/site.ts'

const SEED = Number(process.env.PEAKGUARD_PROP_SEED ?? 20261206)
const RUNS = process.env.PEAKGUARD_PROP_RUNS ? Number(process.env.PEAKGUARD_PROP_RUNS) : null
const SHRINK = !!process.env.PEAKGUARD_PROP_SHRINK
/** fast-check's `path` of a failure ("Property failed … { seed, path }"): with its seed, replays just that case */
const REPLAY = process.env.PEAKGUARD_PROP_PATH
const FILE_RUNS = RUNS ?? 12
const OPTION_RUNS = RUNS ?? 8
function params<T>(numRuns: number): fc.Parameters<T> {
  return { seed: SEED, numRuns, endOnFailure: !SHRINK, ...(SHRINK ? { interruptAfterTimeLimit: 15 * 60_000 } : {}), ...(REPLAY ? { path: REPLAY } : {}) }
}
/** the CLI starts faster with a compile cache (as under `npm test`) */
const CLI_ENV = { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'peakguard-node-cache') }

const SCOPE = ['themes', 'plugins', 'mu-plugins'] as const
const TEMP_PREFIX = '.~pg-'

// ── bytes ─────────────────────────────────────────────────────────────────────────────────────────

const b = (s: string) => Buffer.from(s, 'utf8')
const SLASH = b('/')
const joinB = (parts: readonly Buffer[]) => Buffer.concat(parts.flatMap((p, i) => (i ? [SLASH, p] : [p])))
const isUtf8 = (x: Buffer) => Buffer.from(x.toString('utf8'), 'utf8').equals(x)
/** Bytes as peakguard shows them in messages: printable ASCII as is, every other byte as \xNN. */
const shown = (x: Buffer) => [...x].map((c) => (c >= 0x20 && c < 0x7f && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`)).join('')
/** A path or text as a map key and in failure messages: JSON for UTF-8, \xNN bytes otherwise (never ambiguous). */
const label = (x: Buffer) => (isUtf8(x) ? JSON.stringify(x.toString('utf8')) : `bytes:${shown(x)}`)
const digest = (x: Uint8Array) => `${x.length}b sha1:${createHash('sha1').update(x).digest('hex').slice(0, 12)}`

/** Content as a short description, so that a counterexample prints small even when the bytes are large. */
type Content = { small: Uint8Array } | { large: number }
const bytesOf = (c: Content): Uint8Array => ('small' in c ? c.small : new Uint8Array(c.large).map((_, i) => (i * 131 + (i >> 8) + c.large) & 0xff))
const contentArb: fc.Arbitrary<Content> = fc.oneof(
  { weight: 8, arbitrary: fc.uint8Array({ maxLength: 700 }).map((small) => ({ small })) },
  { weight: 1, arbitrary: fc.constant({ small: new Uint8Array(0) }) },
  { weight: 1, arbitrary: fc.integer({ min: 20_000, max: 300_000 }).map((large) => ({ large })) },
)

function assertNoCrash(r: CliResult, what: string): void {
  assert.equal(r.stderr.includes('    at ') || r.stdout.includes('    at '), false, `${what}: a stack trace\n${r.stderr}${r.stdout}`)
  assert.notEqual(r.code, 137, `${what}: killed`)
}

/** A refusal: non-zero exit, one JSON error naming the problem, no stack trace. */
function assertCleanRefusal(r: CliResult, what: string): { code: string; message: string } {
  assertNoCrash(r, what)
  assert.notEqual(r.code, 0)
  const err = r.json?.error
  assert.ok(err && typeof err.code === 'string' && typeof err.message === 'string', `${what}: exit ${r.code} without a JSON error: ${r.stdout}${r.stderr}`)
  assert.ok(err.message.length > 10, `${what}: an empty message: ${err.message}`)
  // a bare driver code or an unrendered value does not tell an operator what is wrong
  assert.doesNotMatch(err.message, /: (?:ER_[A-Z_]+|E[A-Z]+|unknown)$|\bundefined\b|\bNaN\b|\[object /, `${what}: the message does not name the problem: ${err.message}`)
  return err
}

// ── file trees ────────────────────────────────────────────────────────────────────────────────────

/** Names peakguard leaves out on purpose (ignore rules, its own temporary names): not generated. */
const ignoredName = (n: Buffer, dir: boolean) => {
  const s = n.toString('latin1')
  return s === '.' || s === '..' || s === '.DS_Store' || s.endsWith('.swp') || s.startsWith(TEMP_PREFIX) || (dir && s === '.git')
}

const ODD_NAMES = [
  'a\\b.css', 'new\nline.php', '"quoted".php', 'tab\there.php', '%41 percent.php', 'ünïcödé 🎉.php', '-dash.php', ' lead space.php',
  'trailing space ', 'cr\r', '.hidden', '.git', '.gitmodules', '...', '*', '?', '[x]', 'x:y', 'del\x7f', 'nbsp\u00a0', 'e\u0301',
  '\u202eRTL.php', 'CON', 'index.php', '%', '~', '😀', 'a'.repeat(255),
]
const nameArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[A-Za-z0-9_.-]{1,10}$/).map(b) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 6 }).map((s) => b(s.replace(/[/\0]/g, '_'))) },
  // arbitrary bytes: mostly not UTF-8
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }).map((u) => Buffer.from(u.map((c) => (c === 0 || c === 0x2f ? 0x5f : c)))) },
  { weight: 2, arbitrary: fc.constantFrom(...ODD_NAMES).map(b) },
)
const fileName = nameArb.filter((n) => !ignoredName(n, false))
const dirName = nameArb.filter((n) => !ignoredName(n, true))

const ODD_LINK_TEXTS = ['.', '..', '../..', 'missing.php', 'x\ny', 'a\\b', ' ', '\t', '%2F', '😀', 'e\u0301', '../../../../../../../../..', 'a/'.repeat(500)]
/**
 * A symlink's text: to another generated entry (relative), any bytes, or an absolute path into a directory outside
 * the site that no restore may write (`outside`: a path below it). Absolute texts lead only there, and arbitrary
 * bytes hold no '/': a peakguard that wrote through a link must not reach this machine's own files.
 */
type LinkTo = { to: number } | { text: Uint8Array } | { outside: string }
const OUTSIDE_FILES = ['hostname', 'passwd', 'dir/keep.php']
const outsideArb = fc.constantFrom('', ...OUTSIDE_FILES, 'dir', 'missing').map((outside) => ({ outside }))
const linkTextArb: fc.Arbitrary<{ text: Uint8Array } | { outside: string }> = fc.oneof(
  fc.constantFrom(...ODD_LINK_TEXTS).map((t) => ({ text: b(t) })),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((u) => ({ text: u.map((c) => (c === 0 || c === 0x2f ? 0x5f : c)) })),
  outsideArb,
)
const linkArb: fc.Arbitrary<LinkTo> = fc.oneof({ weight: 3, arbitrary: fc.nat().map((to) => ({ to })) }, { weight: 2, arbitrary: linkTextArb })

const MODES = [0o644, 0o600, 0o755, 0o640, 0o444, 0o664, 0o700, 0o4755, 0o2750, 0o000]
const OWNERS: [number, number][] = [
  [0, 0],
  [33, 33],
  [1000, 1000],
  [33, 0],
]
const modeArb = fc.constantFrom(...MODES)
const DIR_MODES = [0o755, 0o750, 0o700, 0o775, 0o2775, 0o555, 0o1777, 0o711]
const dirModeArb = fc.constantFrom(...DIR_MODES)
const ownerArb = fc.nat({ max: OWNERS.length - 1 })

interface EntrySpec {
  /** index into units; -1: a single file directly in the scope directory (a one-file plugin) */
  unit: number
  topScope: 'plugins' | 'themes'
  /** indexes into the tree's pool of directory names */
  dirs: number[]
  name: Buffer
  kind: 'file' | 'link'
  content: Content
  mode: number
  owner: number
  link: LinkTo
}
interface TreeSpec {
  units: { scope: 'plugins' | 'themes'; name: Buffer }[]
  pool: Buffer[]
  entries: EntrySpec[]
  /** a theme/plugin directory that is a symlink to one of the generated units (as Debian's packages do) */
  linkedUnit: { scope: 'plugins' | 'themes'; name: Buffer; to: number } | null
  /** modes and owners for the generated directories, in turn (mkdir's 0755 root where there are fewer) */
  dirMeta: { mode: number; owner: number }[]
}

const scopeArb = fc.constantFrom<'plugins' | 'themes'>('plugins', 'themes')
const entryArb: fc.Arbitrary<EntrySpec> = fc.record({
  unit: fc.oneof({ weight: 8, arbitrary: fc.nat({ max: 5 }) }, { weight: 1, arbitrary: fc.constant(-1) }),
  topScope: scopeArb,
  dirs: fc.array(fc.nat({ max: 5 }), { maxLength: 2 }),
  name: fileName,
  kind: fc.constantFrom<'file' | 'link'>('file', 'file', 'file', 'link'),
  content: contentArb,
  mode: modeArb,
  owner: ownerArb,
  link: linkArb,
})
const treeArb: fc.Arbitrary<TreeSpec> = fc.record({
  units: fc.uniqueArray(fc.record({ scope: scopeArb, name: dirName }), { minLength: 1, maxLength: 3, selector: (u) => `${u.scope}/${u.name.toString('hex')}` }),
  pool: fc.array(dirName, { minLength: 1, maxLength: 3 }),
  entries: fc.array(entryArb, { minLength: 1, maxLength: 10 }),
  linkedUnit: fc.option(fc.record({ scope: scopeArb, name: dirName, to: fc.nat() }), { freq: 3 }),
  dirMeta: fc.array(fc.record({ mode: dirModeArb, owner: ownerArb }), { maxLength: 4 }),
})

type Change =
  | { op: 'delete' | 'touch'; i: number }
  | { op: 'rewrite' | 'todir'; i: number; content: Content }
  | { op: 'chmod'; i: number; mode: number }
  | { op: 'chown'; i: number; owner: number }
  /** a directory's mode or owner (a theme/plugin directory's own included) */
  | { op: 'chmoddir'; dir: number; mode: number }
  | { op: 'chowndir'; dir: number; owner: number }
  | { op: 'relink'; i: number; text: { text: Uint8Array } | { outside: string } }
  | { op: 'add'; unit: number; dirs: Buffer[]; name: Buffer; content: Content; mode: number }
  /** a theme/plugin directory removed, replaced by a file, or replaced by a symlink (`text`); `gen`: one of the generated ones */
  | { op: 'rmunit' | 'unitfile'; unit: number; gen: boolean }
  | { op: 'unitlink'; unit: number; gen: boolean; text: LinkText }
  /** a directory inside a theme/plugin replaced by a symlink */
  | { op: 'dirlink'; dir: number; text: LinkText }
/** UTF-8 text for a link that replaces a directory (one that is not UTF-8 is not recorded, and a restore must then refuse to write through it) */
type LinkText = { text: string } | { unit: number } | { outside: string }
const dirLinkTextArb: fc.Arbitrary<LinkText> = fc.oneof(
  fc.constantFrom('.', '..', '../..', '../themes', 'missing', '../../uploads', 'e\u0301').map((text) => ({ text })),
  fc.nat().map((unit) => ({ unit })),
  outsideArb,
)
const changeArb: fc.Arbitrary<Change[]> = fc.array(
  fc.oneof(
    fc.record({ op: fc.constantFrom<'delete' | 'touch'>('delete', 'touch'), i: fc.nat() }),
    fc.record({ op: fc.constantFrom<'rewrite' | 'todir'>('rewrite', 'rewrite', 'todir'), i: fc.nat(), content: contentArb }),
    fc.record({ op: fc.constant<'chmod'>('chmod'), i: fc.nat(), mode: modeArb }),
    fc.record({ op: fc.constant<'chown'>('chown'), i: fc.nat(), owner: ownerArb }),
    fc.record({ op: fc.constant<'chmoddir'>('chmoddir'), dir: fc.nat(), mode: dirModeArb }),
    fc.record({ op: fc.constant<'chowndir'>('chowndir'), dir: fc.nat(), owner: ownerArb }),
    fc.record({ op: fc.constant<'relink'>('relink'), i: fc.nat(), text: linkTextArb }),
    fc.record({ op: fc.constant<'add'>('add'), unit: fc.nat(), dirs: fc.array(dirName, { maxLength: 2 }), name: fileName, content: contentArb, mode: modeArb }),
    fc.record({ op: fc.constantFrom<'rmunit' | 'unitfile'>('rmunit', 'rmunit', 'unitfile'), unit: fc.nat(), gen: fc.boolean() }),
    fc.record({ op: fc.constant<'unitlink'>('unitlink'), unit: fc.nat(), gen: fc.boolean(), text: dirLinkTextArb }),
    fc.record({ op: fc.constant<'dirlink'>('dirlink'), dir: fc.nat(), text: dirLinkTextArb }),
  ),
  { minLength: 1, maxLength: 6 },
)

interface Item {
  /** path below wp-content, as segments of bytes */
  segs: Buffer[]
  kind: 'file' | 'link'
  /** what a byte-exact comparison compares: content, mode and owner, or link text and owner */
  desc: string
  /** peakguard can record it: every name on the way and a link's text are UTF-8 */
  recordable: boolean
}

/**
 * Every file and symlink below `dir` (symlinks are not followed), by label of their path: a byte-level
 * treeOf() — names that are not UTF-8 must be read as bytes. peakguard's own names (.~pg-…) are left out.
 */
function itemsOf(dir: string, skip: (segs: Buffer[]) => boolean = () => false): Map<string, Item> {
  const out = new Map<string, Item>()
  const walk = (abs: Buffer, segs: Buffer[]) => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name as unknown as Buffer
      if (name.toString('latin1').startsWith(TEMP_PREFIX)) continue
      const a = joinB([abs, name])
      const s = [...segs, name]
      if (skip(s)) continue
      const st = fs.lstatSync(a)
      const names = s.every(isUtf8)
      if (st.isSymbolicLink()) {
        const text = fs.readlinkSync(a, { encoding: 'buffer' })
        out.set(label(joinB(s)), { segs: s, kind: 'link', desc: `link ${st.uid}:${st.gid} -> ${label(text)}`, recordable: names && isUtf8(text) })
      } else if (st.isDirectory()) walk(a, s)
      else if (st.isFile()) out.set(label(joinB(s)), { segs: s, kind: 'file', desc: `file ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${digest(fs.readFileSync(a))}`, recordable: names })
    }
  }
  walk(b(dir), [])
  return out
}

const descs = (items: Map<string, Item>) => new Map([...items].map(([k, v]) => [k, v.desc]))

interface DirItem {
  segs: Buffer[]
  desc: string
  /** peakguard records it: every name on the way is UTF-8 */
  recordable: boolean
  empty: boolean
}

/** Every directory inside a theme/plugin directory, the unit's own included (links not followed), by label. */
function dirsOf(wpContent: string): Map<string, DirItem> {
  const out = new Map<string, DirItem>()
  const walk = (abs: Buffer, segs: Buffer[]) => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name as unknown as Buffer
      if (!d.isDirectory() || name.toString('latin1').startsWith(TEMP_PREFIX)) continue
      const a = joinB([abs, name])
      const s = [...segs, name]
      const st = fs.lstatSync(a)
      out.set(label(joinB(s)), { segs: s, desc: `dir ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`, recordable: s.every(isUtf8), empty: fs.readdirSync(a).length === 0 })
      walk(a, s)
    }
  }
  for (const dir of SCOPE) walk(b(path.join(wpContent, dir)), [b(dir)])
  return out
}

/**
 * What a snapshot must report as not recorded: the first name on a path that is not UTF-8, and symlinks
 * whose text is not UTF-8 — walked as peakguard walks (theme/plugin directories linked into wp-content are
 * followed, nothing else is).
 */
function expectedSkipped(wpContent: string): string[] {
  const out: string[] = []
  const real = fs.realpathSync(wpContent)
  const badText = (rel: string, abs: Buffer) => {
    if (isUtf8(fs.readlinkSync(abs, { encoding: 'buffer' }))) return false
    out.push(`${rel}: the link's target is not UTF-8, so it cannot be recorded or restored exactly`)
    return true
  }
  const walk = (abs: Buffer, rel: string) => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name as unknown as Buffer
      if (!isUtf8(name)) {
        out.push(`${rel}/${shown(name)}: the name is not UTF-8, so it cannot be recorded or restored exactly`)
        continue
      }
      const n = name.toString('utf8')
      if (n.startsWith(TEMP_PREFIX)) continue
      const a = joinB([abs, name])
      if (d.isDirectory()) walk(a, `${rel}/${n}`)
      else if (d.isSymbolicLink()) badText(`${rel}/${n}`, a)
    }
  }
  for (const dir of SCOPE) {
    const abs = b(path.join(wpContent, dir))
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name as unknown as Buffer
      if (!isUtf8(name)) {
        out.push(`${dir}/${shown(name)}: the name is not UTF-8, so it cannot be recorded or restored exactly`)
        continue
      }
      const rel = `${dir}/${name.toString('utf8')}`
      if (name.toString('utf8').startsWith(TEMP_PREFIX)) continue
      const a = joinB([abs, name])
      if (d.isDirectory()) walk(a, rel)
      else if (d.isSymbolicLink()) {
        let target: string | null = null
        try {
          target = fs.statSync(a).isDirectory() ? fs.realpathSync(a) : null
        } catch {
          target = null
        }
        const followed = target !== null && (target === real || target.startsWith(`${real}/`))
        if (!badText(rel, a) && followed) walk(a, rel)
      }
    }
  }
  return out.sort()
}

/** Removes what earlier runs generated: every theme/plugin entry the base site does not have, and peakguard's set-asides. */
function resetTree(wpContent: string, base: BaseNames): void {
  for (const dir of SCOPE) {
    const abs = b(path.join(wpContent, dir))
    for (const name of fs.readdirSync(abs, { encoding: 'buffer' }) as unknown as Buffer[])
      if (!base.get(dir)?.has(name.toString('hex'))) fs.rmSync(joinB([abs, name]), { recursive: true, force: true })
  }
  const sweep = (abs: Buffer) => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const a = joinB([abs, d.name as unknown as Buffer])
      if ((d.name as unknown as Buffer).toString('latin1').startsWith(TEMP_PREFIX)) fs.rmSync(a, { recursive: true, force: true })
      else if (d.isDirectory()) sweep(a)
    }
  }
  sweep(b(wpContent))
}

const exists = (p: Buffer) => {
  try {
    fs.lstatSync(p)
    return true
  } catch {
    return false
  }
}
const startsWithSegs = (long: Buffer[], short: Buffer[]) => short.length < long.length && short.every((s, i) => s.equals(long[i] as Buffer))
const sameSegs = (x: Buffer[], y: Buffer[]) => x.length === y.length && x.every((s, i) => s.equals(y[i] as Buffer))
/** A path that is, or is inside, or holds one of `paths`: writing a file there would replace or bury it. */
const clashes = (segs: Buffer[], paths: Iterable<Buffer[]>) => {
  for (const p of paths) if (sameSegs(segs, p) || startsWithSegs(segs, p) || startsWithSegs(p, segs)) return true
  return false
}
/** A symlink's text from the directory `fromDir` to `to` (both below wp-content). */
function relativeLink(fromDir: Buffer[], to: Buffer[]): Buffer {
  let i = 0
  while (i < fromDir.length && i < to.length - 1 && (fromDir[i] as Buffer).equals(to[i] as Buffer)) i++
  return joinB([...Array.from({ length: fromDir.length - i }, () => b('..')), ...to.slice(i)])
}

function writeFile(abs: Buffer, content: Content, mode: number, owner: number): void {
  fs.writeFileSync(abs, bytesOf(content))
  fs.chmodSync(abs, mode)
  const [uid, gid] = OWNERS[owner] as [number, number]
  fs.chownSync(abs, uid, gid)
}

/** The site of the files property: its wp-content, the base site's theme/plugin names, and a directory outside it. */
interface FilesSite {
  wpContent: string
  base: BaseNames
  /** outside the site: links may lead here, nothing may be written here */
  outside: string
}

/** Writes the generated tree; entries that would land on or inside another one are left out. */
function writeTree(fsite: FilesSite, spec: TreeSpec): void {
  const wpContent = fsite.wpContent
  const root = b(wpContent)
  const units: Buffer[][] = []
  for (const u of spec.units) {
    const segs = [b(u.scope), u.name]
    if (exists(joinB([root, ...segs]))) continue // one of the base site's themes or plugins
    fs.mkdirSync(joinB([root, ...segs]))
    units.push(segs)
  }
  const placed: { segs: Buffer[]; e: EntrySpec }[] = []
  for (const e of spec.entries) {
    const unit = e.unit < 0 || units.length === 0 ? [b(e.topScope)] : (units[e.unit % units.length] as Buffer[])
    const segs = [...unit, ...(unit.length === 1 ? [] : e.dirs.map((d) => spec.pool[d % spec.pool.length] as Buffer)), e.name]
    if (clashes(segs, placed.map((p) => p.segs)) || exists(joinB([root, ...segs]))) continue
    placed.push({ segs, e })
  }
  for (const { segs, e } of placed) {
    const abs = joinB([root, ...segs])
    fs.mkdirSync(joinB([root, ...segs.slice(0, -1)]), { recursive: true })
    // a link in the scope directory itself could lead to a directory, and be followed: only files there
    if (e.kind === 'file' || segs.length === 2) writeFile(abs, e.content, e.mode, e.owner)
    else {
      const to = placed[('to' in e.link ? e.link.to : 0) % placed.length] as { segs: Buffer[] }
      fs.symlinkSync('to' in e.link ? relativeLink(segs.slice(0, -1), to.segs) : 'text' in e.link ? Buffer.from(e.link.text) : path.join(fsite.outside, e.link.outside), abs)
      const [uid, gid] = OWNERS[e.owner] as [number, number]
      fs.lchownSync(abs, uid, gid)
    }
  }
  const made = [...dirsOf(wpContent).values()].filter((d) => !fsite.base.get((d.segs[0] as Buffer).toString('latin1'))?.has((d.segs[1] as Buffer).toString('hex')))
  made.forEach((d, i) => {
    const m = spec.dirMeta[i]
    if (!m) return
    const [uid, gid] = OWNERS[m.owner] as [number, number]
    fs.chownSync(joinB([root, ...d.segs]), uid, gid)
    fs.chmodSync(joinB([root, ...d.segs]), m.mode)
  })
  const l = spec.linkedUnit
  if (l && units.length > 0) {
    const segs = [b(l.scope), l.name]
    const to = units[l.to % units.length] as Buffer[]
    if (!exists(joinB([root, ...segs]))) fs.symlinkSync(relativeLink([b(l.scope)], to), joinB([root, ...segs]))
  }
}

type BaseNames = Map<string, Set<string>>

/** The theme/plugin directories (and links to them) there are now; `gen`: only those the run generated. */
function unitsOf(wpContent: string, base: BaseNames, gen: boolean): Buffer[][] {
  const out: Buffer[][] = []
  for (const dir of ['plugins', 'themes']) {
    const abs = b(path.join(wpContent, dir))
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name as unknown as Buffer
      if ((d.isDirectory() || d.isSymbolicLink()) && !(gen && base.get(dir)?.has(name.toString('hex')))) out.push([b(dir), name])
    }
  }
  return out.sort((x, y) => Buffer.compare(joinB(x), joinB(y)))
}

/** The directories inside theme/plugin directories (not the units themselves), links not followed. */
function innerDirsOf(wpContent: string): Buffer[][] {
  const out: Buffer[][] = []
  const walk = (abs: Buffer, segs: Buffer[]) => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = d.name as unknown as Buffer
      if (!d.isDirectory() || name.toString('latin1').startsWith(TEMP_PREFIX)) continue
      if (segs.length >= 2) out.push([...segs, name])
      walk(joinB([abs, name]), [...segs, name])
    }
  }
  for (const dir of ['plugins', 'themes']) walk(b(path.join(wpContent, dir)), [b(dir)])
  return out.sort((x, y) => Buffer.compare(joinB(x), joinB(y)))
}

/** A link's text: as given, or to one of the generated theme/plugin directories (relative, from `fromDir`). */
function linkText(t: LinkText, fromDir: Buffer[], fsite: FilesSite): Buffer {
  if ('text' in t) return b(t.text)
  if ('outside' in t) return b(path.join(fsite.outside, t.outside))
  const units = unitsOf(fsite.wpContent, fsite.base, true).filter((u) => u.every(isUtf8))
  const to = units[t.unit % Math.max(units.length, 1)]
  return to ? relativeLink(fromDir, to) : b('missing')
}

/** Applies a change to the live tree, as a plugin update, an editor or a careless admin would. */
function applyChange(fsite: FilesSite, changes: Change[], recorded: Item[]): void {
  const { wpContent, base } = fsite
  const root = b(wpContent)
  for (const c of changes) {
    const items = [...itemsOf(wpContent).values()].filter((it) => (SCOPE as readonly string[]).includes((it.segs[0] as Buffer).toString('latin1')) && it.segs.length > 1)
    if ('i' in c) {
      const it = items[c.i % Math.max(items.length, 1)]
      if (!it) continue
      const abs = joinB([root, ...it.segs])
      const st = fs.lstatSync(abs)
      switch (c.op) {
        case 'delete':
          fs.rmSync(abs)
          break
        case 'touch':
          if (it.kind === 'file') {
            fs.writeFileSync(abs, fs.readFileSync(abs))
            fs.utimesSync(abs, st.atime, new Date(st.mtimeMs + 5000))
          }
          break
        case 'rewrite':
          if (it.kind === 'link') {
            fs.rmSync(abs)
            writeFile(abs, c.content, 0o644, 0)
          } else fs.writeFileSync(abs, bytesOf(c.content))
          break
        case 'chmod':
          if (it.kind === 'file') fs.chmodSync(abs, c.mode)
          break
        case 'chown': {
          // a linked theme/plugin directory is recorded as its path and text, not its owner (a link's owner means nothing to Linux)
          if (it.kind === 'link' && it.segs.length === 2) break
          const [uid, gid] = OWNERS[c.owner] as [number, number]
          fs.lchownSync(abs, uid, gid)
          break
        }
        case 'relink':
          // never in the scope directory itself: a link there to a directory is a linked theme/plugin
          if (it.segs.length > 2) {
            fs.rmSync(abs)
            fs.symlinkSync('text' in c.text ? Buffer.from(c.text.text) : path.join(fsite.outside, c.text.outside), abs)
          }
          break
        case 'todir':
          fs.rmSync(abs)
          fs.mkdirSync(abs)
          writeFile(joinB([abs, b('inside.php')]), c.content, 0o644, 0)
          break
      }
    } else if (c.op === 'chmoddir' || c.op === 'chowndir') {
      const dirs = [...dirsOf(wpContent).values()]
      const d = dirs[c.dir % Math.max(dirs.length, 1)]
      if (!d) continue
      const abs = joinB([root, ...d.segs])
      if (c.op === 'chmoddir') fs.chmodSync(abs, c.mode)
      else fs.chownSync(abs, ...(OWNERS[c.owner] as [number, number]))
    } else if (c.op === 'rmunit' || c.op === 'unitfile' || c.op === 'unitlink') {
      const units = unitsOf(wpContent, base, c.gen)
      const u = units[c.unit % Math.max(units.length, 1)]
      if (!u) continue
      const abs = joinB([root, ...u])
      fs.rmSync(abs, { recursive: true, force: true })
      if (c.op === 'unitfile') writeFile(abs, { small: b('<?php // a single-file plugin now\n') }, 0o644, 1)
      if (c.op === 'unitlink') fs.symlinkSync(linkText(c.text, u.slice(0, -1), fsite), abs)
    } else if (c.op === 'dirlink') {
      const dirs = innerDirsOf(wpContent)
      const d = dirs[c.dir % Math.max(dirs.length, 1)]
      if (!d) continue
      const abs = joinB([root, ...d])
      fs.rmSync(abs, { recursive: true, force: true })
      fs.symlinkSync(linkText(c.text, d.slice(0, -1), fsite), abs)
    } else if (c.op === 'add') {
      const units = unitsOf(wpContent, base, false)
      const segs = [...(units[c.unit % units.length] as Buffer[]), ...c.dirs, c.name]
      // never on or inside a recorded path, nor where something is: that would be a different test (a set-aside)
      if (clashes(segs, [...recorded, ...items].map((it) => it.segs))) continue
      const notDir = (n: number) => exists(joinB([root, ...segs.slice(0, n)])) && !fs.lstatSync(joinB([root, ...segs.slice(0, n)])).isDirectory()
      if (segs.some((_, n) => n >= 2 && notDir(n)) || exists(joinB([root, ...segs]))) continue
      fs.mkdirSync(joinB([root, ...segs.slice(0, -1)]), { recursive: true })
      writeFile(joinB([root, ...segs]), c.content, c.mode, 0)
    }
  }
}

// ── settings tables ───────────────────────────────────────────────────────────────────────────────

/** Option names peakguard leaves out by default (DEFAULT_IGNORED_OPTIONS): generated names avoid them. */
const IGNORED_OPTION = /^(?:_transient_|_site_transient_|jpsq_|updraft_jobdata_|action_scheduler_lock_)|^(?:cron|rewrite_rules|recovery_keys|recently_activated|https_detection_errors)$|\.lock$|^wc_.*_lock$/s
const ignoredOption = (name: string) => IGNORED_OPTION.test(name) || IGNORED_OPTION.test(name.replace(/^\d+:/, ''))

const AUTOLOADS = ['yes', 'no', 'on', 'off', 'auto', 'auto-on', 'auto-off']
/** spellings a hand-edited table may hold: MariaDB compares them as equal to the usual ones (case, trailing spaces) */
const ODD_AUTOLOADS = ['YES', 'On', 'yes ', 'NO']
/**
 * What wp_load_alloptions() loads: `WHERE autoload IN ('yes', 'on', 'auto-on', 'auto')` — compared by the column's
 * collation, so without regard to case or trailing spaces (the generated flags differ from the usual ones in no other way).
 */
const autoloaded = (a: unknown) => a !== null && ['yes', 'on', 'auto-on', 'auto'].includes(String(a).toLowerCase().replace(/ +$/, ''))

type Value = { text: string } | { bytes: Uint8Array } | { repeat: number } | null
const valueBytes = (v: NonNullable<Value>): Buffer => ('text' in v ? b(v.text) : 'bytes' in v ? Buffer.from(v.bytes) : Buffer.alloc(v.repeat, 'x'))
/** characters a latin1 column holds (MariaDB's latin1 is cp1252: U+0080…U+009F are mostly not in it) */
const latin1Char = fc.oneof(fc.integer({ min: 0x00, max: 0x7f }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c))
const chars = (s: string) => [...s].length

function names(latin1: boolean): fc.Arbitrary<string> {
  const short = latin1 ? fc.string({ unit: latin1Char, maxLength: 12 }) : fc.string({ unit: 'binary', maxLength: 12 })
  const odd = fc.constantFrom('', ' ', 'blogname', 'Blogname', 'a b', 'trailing ', '%', '%41', '.', '..', 'a/b', '1:x', 'x\0y', '\n', "quote'", 'back\\slash', 'ünï', latin1 ? 'ÿ'.repeat(191) : '😀'.repeat(191))
  return fc
    .oneof({ weight: 4, arbitrary: fc.stringMatching(/^[a-z_]{1,12}$/) }, { weight: 4, arbitrary: short }, { weight: 2, arbitrary: odd })
    .filter((n) => chars(n) <= 191 && !ignoredOption(n))
}
function values(latin1: boolean): fc.Arbitrary<NonNullable<Value>> {
  return fc.oneof(
    { weight: 6, arbitrary: latin1 ? fc.uint8Array({ maxLength: 400 }).map((bytes) => ({ bytes })) : fc.string({ unit: 'binary', maxLength: 200 }).map((text) => ({ text })) },
    { weight: 1, arbitrary: fc.constantFrom({ text: '' }, { text: 'a:1:{s:3:"key";s:2:"\u0000x";}' }, { bytes: Uint8Array.from([0xc3, 0x28, 0xff, 0x00, 0xa0]) }).filter((v) => latin1 || 'text' in v) },
    { weight: 1, arbitrary: fc.integer({ min: 50_000, max: 400_000 }).map((repeat) => ({ repeat })) },
  )
}

interface RowSpec {
  /** a new name, or the name of an earlier row (a second copy: only where the table has no UNIQUE key) */
  name: { fresh: string } | { copyOf: number }
  value: Value
  autoload: string | null
}
interface MetaSpec {
  site: number
  /** nullKey: a row whose meta_key is NULL (the column allows it; add_network_option(null, …) writes one) */
  key: { fresh: string } | { copyOf: number } | { nullKey: true }
  value: Value
}
interface TablesSpec {
  unique: boolean
  nullable: boolean
  rows: RowSpec[]
  meta: MetaSpec[]
}
type OptionChange =
  | { op: 'value'; i: number; value: Value }
  | { op: 'autoload'; i: number; autoload: string | null }
  | { op: 'delrow' | 'delname'; i: number }
  | { op: 'insert'; row: RowSpec }
  | { op: 'ignored'; name: string; value: string }
  | { op: 'metavalue'; i: number; value: Value }
  | { op: 'metadel'; i: number }
  | { op: 'metainsert'; row: MetaSpec }

function tablesArb(latin1: boolean): fc.Arbitrary<TablesSpec> {
  const name = fc.oneof({ weight: 4, arbitrary: names(latin1).map((fresh) => ({ fresh })) }, { weight: 1, arbitrary: fc.nat().map((copyOf) => ({ copyOf })) })
  const value: fc.Arbitrary<Value> = fc.option(values(latin1), { freq: 6 })
  const autoload = fc.option(fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...AUTOLOADS) }, { weight: 1, arbitrary: fc.constantFrom(...ODD_AUTOLOADS) }), { freq: 8 })
  const metaKey: fc.Arbitrary<MetaSpec['key']> = fc.oneof(
    { weight: 6, arbitrary: names(false).map((fresh) => ({ fresh })) },
    { weight: 2, arbitrary: fc.nat().map((copyOf) => ({ copyOf })) },
    { weight: 1, arbitrary: fc.constant({ nullKey: true as const }) },
  )
  return fc.record({
    unique: fc.boolean(),
    nullable: fc.boolean(),
    rows: fc.array(fc.record({ name, value, autoload }), { maxLength: 10 }),
    meta: fc.array(fc.record({ site: fc.constantFrom(1, 1, 2), key: metaKey, value: fc.option(values(false), { freq: 5 }) }), { maxLength: 5 }),
  })
}
function optionChangesArb(latin1: boolean): fc.Arbitrary<OptionChange[]> {
  const row = tablesArb(latin1).map((t) => t.rows[0] ?? { name: { fresh: 'added_later' }, value: { text: 'v' }, autoload: 'yes' })
  const value: fc.Arbitrary<Value> = fc.option(values(latin1), { freq: 6 })
  return fc.array(
    fc.oneof(
      { weight: 4, arbitrary: fc.record({ op: fc.constant<'value'>('value'), i: fc.nat(), value }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant<'autoload'>('autoload'), i: fc.nat(), autoload: fc.option(fc.constantFrom(...AUTOLOADS, ...ODD_AUTOLOADS), { freq: 6 }) }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constantFrom<'delrow' | 'delname'>('delrow', 'delname'), i: fc.nat() }) },
      { weight: 2, arbitrary: fc.record({ op: fc.constant<'insert'>('insert'), row }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant<'ignored'>('ignored'), name: fc.constantFrom('cron', '_transient_doing_cron', '_transient_pg_prop'), value: fc.stringMatching(/^[ -~]{0,20}$/) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant<'metavalue'>('metavalue'), i: fc.nat(), value: fc.option(values(false), { freq: 5 }) }) },
      { weight: 1, arbitrary: fc.record({ op: fc.constant<'metadel'>('metadel'), i: fc.nat() }) },
      { weight: 1, arbitrary: tablesArb(false).map((t) => ({ op: 'metainsert' as const, row: t.meta[0] ?? { site: 1, key: { fresh: 'added_later' }, value: { text: 'v' } } })) },
    ),
    { minLength: 1, maxLength: 6 },
  )
}

const SITEMETA_SQL = `CREATE TABLE wp_sitemeta (meta_id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, site_id bigint unsigned NOT NULL DEFAULT 0, meta_key varchar(255) DEFAULT NULL, meta_value longtext, KEY meta_key (meta_key(191)), KEY site_id (site_id)) DEFAULT CHARSET utf8mb4`

async function q<T extends mysql.RowDataPacket[] | mysql.ResultSetHeader>(db: mysql.Connection, sql: string, args: unknown[] = []): Promise<T> {
  const [r] = await db.query<T>(sql, args)
  return r
}

/**
 * The settings tables of one run, and the rule that keeps generated names apart: a name is admitted only if the
 * column's collation tells it from every name already there (MariaDB compares names without regard to case,
 * accents or trailing spaces, and WordPress's `WHERE option_name = …` with them). A second copy of a name is an
 * exact copy, and only where the table has no UNIQUE key.
 */
class Tables {
  readonly names: string[] = []
  readonly metaKeys: { site: number; key: string | null }[] = []
  private readonly db: mysql.Connection
  private readonly latin1: boolean
  readonly unique: boolean
  readonly nullable: boolean
  constructor(db: mysql.Connection, latin1: boolean, unique: boolean, nullable: boolean) {
    this.db = db
    this.latin1 = latin1
    this.unique = unique
    this.nullable = nullable
  }

  static async create(site: TestSite, latin1: boolean, spec: { unique: boolean; nullable: boolean }): Promise<Tables> {
    const db = site.db
    await db.query('DROP TABLE IF EXISTS wp_options, wp_sitemeta')
    await db.query(latin1 ? optionsTableSql('wp_options', 'latin1', 'latin1_swedish_ci') : optionsTableSql('wp_options'))
    if (!spec.unique) await db.query('ALTER TABLE wp_options DROP INDEX option_name')
    if (spec.nullable) await db.query(`ALTER TABLE wp_options MODIFY option_value longtext NULL, MODIFY autoload varchar(20) NULL DEFAULT 'yes'`)
    await db.query(SITEMETA_SQL)
    const columns = await q<mysql.RowDataPacket[]>(
      db,
      `SELECT TABLE_NAME AS t, CHARACTER_SET_NAME AS cs, COLLATION_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND ((TABLE_NAME = 'wp_options' AND COLUMN_NAME = 'option_name') OR (TABLE_NAME = 'wp_sitemeta' AND COLUMN_NAME = 'meta_key'))`,
    )
    const col = (t: string) => columns.find((r) => r.t === t) as mysql.RowDataPacket
    await db.query('DROP TEMPORARY TABLE IF EXISTS pg_prop_names, pg_prop_keys')
    await db.query(`CREATE TEMPORARY TABLE pg_prop_names (n varchar(191) NOT NULL, UNIQUE KEY (n)) CHARACTER SET ${col('wp_options').cs} COLLATE ${col('wp_options').c}`)
    await db.query(`CREATE TEMPORARY TABLE pg_prop_keys (s bigint NOT NULL, k varchar(255) NOT NULL, UNIQUE KEY (s, k)) CHARACTER SET ${col('wp_sitemeta').cs} COLLATE ${col('wp_sitemeta').c}`)
    const t = new Tables(db, latin1, spec.unique, spec.nullable)
    for (const [n, v, a] of BASE_OPTIONS) await t.insertRow({ name: { fresh: n }, value: { text: latin1 ? v.replace(/[^\x00-\xff]/gu, '?') : v }, autoload: a })
    for (const [k, v] of [
      ['site_name', 'Shop Network'],
      ['active_sitewide_plugins', 'a:0:{}'],
      ['_site_transient_update_core', 'x'],
    ] as const)
      await t.insertMeta({ site: 1, key: { fresh: k }, value: { text: v } })
    return t
  }

  private async admit(name: string): Promise<boolean> {
    const r = await q<mysql.ResultSetHeader>(this.db, 'INSERT IGNORE INTO pg_prop_names (n) VALUES (?)', [name])
    return r.affectedRows === 1
  }

  /** The row's name, or null when it cannot be added (a collation twin, or a copy where names are unique). */
  private async nameFor(n: RowSpec['name']): Promise<string | null> {
    if ('copyOf' in n) return !this.unique && this.names.length ? (this.names[n.copyOf % this.names.length] as string) : null
    if (this.names.includes(n.fresh)) return this.unique ? null : n.fresh
    return (await this.admit(n.fresh)) ? n.fresh : null
  }

  async insertRow(r: RowSpec): Promise<void> {
    const name = await this.nameFor(r.name)
    if (name === null) return
    const value = r.value === null && this.nullable ? null : r.value === null ? Buffer.alloc(0) : valueBytes(r.value)
    const autoload = r.autoload === null && !this.nullable ? 'yes' : r.autoload
    if (!this.latin1 && value) assert.ok(isUtf8(value))
    await this.db.query('INSERT INTO wp_options (option_name, option_value, autoload) VALUES (?, ?, ?)', [name, value, autoload])
    this.names.push(name)
  }

  async insertMeta(m: MetaSpec): Promise<void> {
    let site = m.site
    let key: string | null
    if ('nullKey' in m.key) key = null
    else if ('copyOf' in m.key) {
      // an exact second row of a network option (wp_sitemeta has no UNIQUE key at all)
      const copy = this.metaKeys[m.key.copyOf % Math.max(this.metaKeys.length, 1)]
      if (!copy) return
      ;({ site, key } = copy)
    } else {
      key = m.key.fresh
      if (!this.metaKeys.some((x) => x.site === site && x.key === key)) {
        const r = await q<mysql.ResultSetHeader>(this.db, 'INSERT IGNORE INTO pg_prop_keys (s, k) VALUES (?, ?)', [site, key])
        if (r.affectedRows !== 1) return
      }
    }
    await this.db.query('INSERT INTO wp_sitemeta (site_id, meta_key, meta_value) VALUES (?, ?, ?)', [site, key, m.value === null ? null : valueBytes(m.value)])
    this.metaKeys.push({ site, key })
  }

  async rowIds(table: 'wp_options' | 'wp_sitemeta'): Promise<number[]> {
    const id = table === 'wp_options' ? 'option_id' : 'meta_id'
    return (await q<mysql.RowDataPacket[]>(this.db, `SELECT ${id} AS id FROM ${table} ORDER BY ${id}`)).map((r) => Number(r.id))
  }

  async apply(c: OptionChange): Promise<void> {
    const db = this.db
    const pick = async (table: 'wp_options' | 'wp_sitemeta', i: number) => {
      const ids = await this.rowIds(table)
      return ids.length ? (ids[i % ids.length] as number) : null
    }
    switch (c.op) {
      case 'value': {
        const id = await pick('wp_options', c.i)
        const value = c.value === null ? (this.nullable ? null : Buffer.from('was null')) : valueBytes(c.value)
        if (id !== null) await db.query('UPDATE wp_options SET option_value = ? WHERE option_id = ?', [value, id])
        break
      }
      case 'autoload': {
        const id = await pick('wp_options', c.i)
        if (id !== null) await db.query('UPDATE wp_options SET autoload = ? WHERE option_id = ?', [c.autoload === null && !this.nullable ? 'no' : c.autoload, id])
        break
      }
      case 'delrow': {
        const id = await pick('wp_options', c.i)
        if (id !== null) await db.query('DELETE FROM wp_options WHERE option_id = ?', [id])
        break
      }
      case 'delname': {
        const id = await pick('wp_options', c.i)
        const [row] = id === null ? [] : await q<mysql.RowDataPacket[]>(db, 'SELECT option_name AS n FROM wp_options WHERE option_id = ?', [id])
        // by exact name (BINARY): its collation twins are other names, and none were admitted anyway
        if (row) await db.query('DELETE FROM wp_options WHERE BINARY option_name = BINARY ?', [String(row.n)])
        break
      }
      case 'insert':
        await this.insertRow(c.row)
        break
      case 'ignored':
        await db.query('UPDATE wp_options SET option_value = ? WHERE option_name = ?', [c.value, c.name])
        if (c.name === '_transient_pg_prop') await this.insertRow({ name: { fresh: c.name }, value: { text: c.value }, autoload: 'no' })
        break
      case 'metavalue': {
        const id = await pick('wp_sitemeta', c.i)
        if (id !== null) await db.query('UPDATE wp_sitemeta SET meta_value = ? WHERE meta_id = ?', [c.value === null ? null : valueBytes(c.value), id])
        break
      }
      case 'metadel': {
        const id = await pick('wp_sitemeta', c.i)
        if (id !== null) await db.query('DELETE FROM wp_sitemeta WHERE meta_id = ?', [id])
        break
      }
      case 'metainsert':
        await this.insertMeta(c.row)
        break
    }
  }
}

/**
 * Every settings name as WordPress reads it: for a name held by several rows of an options table the last
 * autoloaded one by option_id, else the first; for a network option the first row. Value bytes (or NULL) and
 * the autoload flag of the row read.
 */
async function wordpressReading(db: mysql.Connection): Promise<Map<string, string>> {
  const out = new Map<string, string>()
  const show = (v: Buffer | null) => (v === null ? 'NULL' : `${digest(v)} ${v.subarray(0, 24).toString('hex')}`)
  for (const table of ['wp_options', 'wp_2_options']) {
    const rows = await q<mysql.RowDataPacket[]>(db, `SELECT option_name AS n, CAST(option_value AS BINARY) AS v, autoload AS a FROM ${table} ORDER BY option_id`)
    const groups = new Map<string, mysql.RowDataPacket[]>()
    for (const r of rows) groups.set(String(r.n), [...(groups.get(String(r.n)) ?? []), r])
    for (const [name, g] of groups) {
      const loaded = g.filter((r) => autoloaded(r.a))
      const r = (loaded.length ? loaded[loaded.length - 1] : g[0]) as mysql.RowDataPacket
      out.set(`${table} ${JSON.stringify(name)}`, `autoload ${r.a === null ? 'NULL' : JSON.stringify(String(r.a))} value ${show(r.v as Buffer | null)}`)
    }
  }
  const meta = await q<mysql.RowDataPacket[]>(db, 'SELECT site_id AS s, meta_key AS k, CAST(meta_value AS BINARY) AS v FROM wp_sitemeta ORDER BY meta_id')
  const nullKeys: string[] = []
  for (const r of meta) {
    if (r.k === null) nullKeys.push(`site ${r.s} value ${show(r.v as Buffer | null)}`)
    else if (!out.has(`wp_sitemeta ${JSON.stringify(`${r.s}:${r.k}`)}`)) out.set(`wp_sitemeta ${JSON.stringify(`${r.s}:${r.k}`)}`, `value ${show(r.v as Buffer | null)}`)
  }
  // rows WordPress cannot ask for (meta_key NULL): kept apart; a restore may put them back or leave them as it found them
  if (nullKeys.length) out.set(NULL_KEYS, nullKeys.sort().join(' | '))
  return out
}
const NULL_KEYS = 'wp_sitemeta rows with meta_key NULL'

const nameOfKey = (key: string) => {
  if (key === NULL_KEYS) return ''
  const name = JSON.parse(key.slice(key.indexOf(' ') + 1)) as string
  return key.startsWith('wp_sitemeta ') ? name.slice(name.indexOf(':') + 1) : name
}

// ── the properties ────────────────────────────────────────────────────────────────────────────────

describe(`round trips of generated trees and settings through the CLI (seed ${SEED}; PEAKGUARD_PROP_SEED/RUNS/SHRINK)`, function () {
  this.timeout(600_000)

  it(`files: any names, links, modes and owners come back byte-exact, what cannot be recorded is reported and left alone (${FILE_RUNS} runs)`, async () => {
    const site = await createSite()
    const cli = (args: string[]) => site.cli(args, CLI_ENV)
    const base: BaseNames = new Map(SCOPE.map((d) => [d as string, new Set((fs.readdirSync(b(path.join(site.wpContent, d)), { encoding: 'buffer' }) as unknown as Buffer[]).map((n) => n.toString('hex')))]))
    const fsite: FilesSite = { wpContent: site.wpContent, base, outside: path.join(site.base, 'outside') }
    for (const f of OUTSIDE_FILES) {
      fs.mkdirSync(path.dirname(path.join(fsite.outside, f)), { recursive: true })
      fs.writeFileSync(path.join(fsite.outside, f), `outside the site: ${f}\n`)
    }
    // everything of the site but wp-content and peakguard's own data: no restore may change any of it
    const rest = () => descs(itemsOf(site.base, (s) => s.length === 1 ? s[0]?.toString('latin1') === 'data' : s.length === 2 && joinB(s).toString('latin1') === 'www/wp-content'))
    const untouched = rest()
    try {
      await fc.assert(
        fc.asyncProperty(treeArb, changeArb, async (tree, changes) => {
          resetTree(site.wpContent, base)
          writeTree(fsite, tree)
          const skipped = expectedSkipped(site.wpContent)
          const atSnapshot = itemsOf(site.wpContent)
          const dirsAtSnapshot = dirsOf(site.wpContent)

          const snap = await cli(['snapshot', '--json'])
          assertNoCrash(snap, 'snapshot')
          assert.equal(snap.code, 0, `snapshot failed: ${snap.stdout}${snap.stderr}`)
          assert.deepEqual(snap.json.skipped, skipped, 'the snapshot reports exactly the names and link texts that are not UTF-8')
          assert.deepEqual(descs(itemsOf(site.wpContent)), descs(atSnapshot), 'the snapshot changed the tree')

          applyChange(fsite, changes, [...atSnapshot.values()].filter((it) => it.recordable))
          const beforeRestore = itemsOf(site.wpContent)
          const dirsBeforeRestore = dirsOf(site.wpContent)

          const r = await cli(['restore', snap.json.id, '--yes', '--json'])
          assertNoCrash(r, 'restore')
          assert.equal(r.code, 0, `restore failed: ${r.stdout}${r.stderr}`)
          assert.equal(r.json.verified, true, `restore not verified: ${r.stdout}`)

          // what the snapshot recorded is back; what it could not record is as the restore found it
          const expected = new Map<string, string>()
          for (const [k, it] of atSnapshot) if (it.recordable) expected.set(k, it.desc)
          for (const [k, it] of beforeRestore) if (!it.recordable && !atSnapshot.get(k)?.recordable) expected.set(k, it.desc)
          assert.deepEqual(descs(itemsOf(site.wpContent)), expected, 'the restored tree differs from the snapshot')
          assert.deepEqual(rest(), untouched, 'a file outside wp-content was changed')

          // directories likewise; one that appeared since stays only while it holds what peakguard does not record
          const expectedDirs = new Map<string, string>()
          for (const [k, d] of dirsAtSnapshot) if (d.recordable) expectedDirs.set(k, d.desc)
          for (const [k, d] of dirsBeforeRestore) if (!d.recordable && !dirsAtSnapshot.get(k)?.recordable) expectedDirs.set(k, d.desc)
          const kept = new Set<string>()
          const dirsAfter = new Map<string, string>()
          for (const [k, d] of dirsOf(site.wpContent)) {
            if (!expectedDirs.has(k) && d.recordable && !d.empty && dirsBeforeRestore.get(k)?.desc === d.desc) kept.add(k)
            else dirsAfter.set(k, d.desc)
          }
          assert.deepEqual(dirsAfter, expectedDirs, 'the restored directories differ from the snapshot')

          const d = await cli(['diff', snap.json.id, '--json'])
          assertNoCrash(d, 'diff')
          assert.equal(d.code, 0, `diff failed: ${d.stdout}${d.stderr}`)
          // (diff --json has no links: the byte comparison above is what checks them)
          const dirsLeft = (d.json.dirs ?? []).filter((x: { path: string; change: string }) => !(x.change === 'added' && kept.has(JSON.stringify(x.path))))
          assert.deepEqual({ files: d.json.files, options: d.json.options, links: d.json.links ?? [], dirs: dirsLeft }, { files: [], options: [], links: [], dirs: [] }, 'diff after the restore')
        }),
        params(FILE_RUNS),
      )
    } finally {
      await site.cleanup()
    }
  })

  for (const latin1 of [true, false]) {
    const what = latin1 ? 'arbitrary bytes in a latin1 wp_options' : 'any UTF-8 in a utf8mb4 wp_options'
    it(`settings: ${what}, NULLs and duplicated names read back as WordPress read them, or a clean refusal that changed nothing (${OPTION_RUNS} runs)`, async () => {
      const site = await createSite({ latin1, multisite: true })
      const cli = (args: string[]) => site.cli(args, CLI_ENV)
      const refusals: string[] = []
      try {
        await fc.assert(
          fc.asyncProperty(tablesArb(latin1), optionChangesArb(latin1), async (spec, changes) => {
            const t = await Tables.create(site, latin1, spec)
            for (const r of spec.rows) await t.insertRow(r)
            for (const m of spec.meta) await t.insertMeta(m)
            const atSnapshot = await wordpressReading(site.db)

            const snap = await cli(['snapshot', '--json'])
            assertNoCrash(snap, 'snapshot')
            if (snap.code !== 0) {
              const err = assertCleanRefusal(snap, 'snapshot')
              assert.deepEqual(await wordpressReading(site.db), atSnapshot, 'a refused snapshot changed the settings')
              refusals.push(`snapshot ${err.code}: ${err.message}`)
              return
            }

            for (const c of changes) await t.apply(c)
            const beforeRestore = await wordpressReading(site.db)

            const r = await cli(['restore', snap.json.id, '--yes', '--json'])
            assertNoCrash(r, 'restore')
            if (r.code !== 0) {
              const err = assertCleanRefusal(r, 'restore')
              assert.deepEqual(await wordpressReading(site.db), beforeRestore, `a refused restore (${err.message}) changed the settings`)
              refusals.push(`restore ${err.code}: ${err.message}`)
              return
            }
            assert.equal(r.json.verified, true, `restore not verified: ${r.stdout}`)

            // every recorded name reads as it did at the snapshot; names peakguard ignores are as the restore found them
            const expected = new Map<string, string>()
            for (const [k, v] of atSnapshot) if (!ignoredOption(nameOfKey(k))) expected.set(k, v)
            for (const [k, v] of beforeRestore) if (ignoredOption(nameOfKey(k))) expected.set(k, v)
            const after = await wordpressReading(site.db)
            expected.delete(NULL_KEYS)
            const nullKeys = after.get(NULL_KEYS)
            assert.ok(nullKeys === atSnapshot.get(NULL_KEYS) || nullKeys === beforeRestore.get(NULL_KEYS), `rows with a NULL meta_key were changed into something else: ${nullKeys}`)
            after.delete(NULL_KEYS)
            assert.deepEqual(after, expected, 'the settings as WordPress reads them differ from the snapshot')

            const d = await cli(['diff', snap.json.id, '--json'])
            assertNoCrash(d, 'diff')
            assert.equal(d.code, 0, `diff failed: ${d.stdout}${d.stderr}`)
            assert.deepEqual({ files: d.json.files, options: d.json.options }, { files: [], options: [] }, 'diff after the restore')
          }),
          params(OPTION_RUNS),
        )
      } finally {
        if (refusals.length) console.log(`    clean refusals (${refusals.length}):\n${refusals.map((x) => `      ${x}`).join('\n')}`)
        await site.cleanup()
      }
    })
  }
})
