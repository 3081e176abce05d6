// The journal: one bare git repository per site. A snapshot is one commit on refs/heads/main whose tree is
//   files/<path>               content of each file in scope (symlinks as git links)
//   meta/files/<unit>          "mode uid gid<TAB>path" per file of one theme/plugin/mu-plugin/drop-ins
//   meta/links                 "path<TAB>target" for followed symlinked theme/plugin dirs
//   options/<table>/<name>     exact bytes of each settings row (name percent-encoded)
//   meta/options/<table>       "name<TAB>autoload" per row
//   meta/sources               the settings tables the state covers, one per line (absent before entities
//                              and settings tables were recorded: such a state covers options only)
//   meta/schema                the database schema of the prefix's tables (core/schema.ts encodeSchema; absent
//                              before schemas were recorded)
// so identical content is stored once and a plugin update touches only that plugin's objects.
// Commits are written with `git fast-import` (one process, straight into a pack: no loose objects) and
// blobs read with `git cat-file --batch`; simple-git runs every other command. Known-good marks are
// annotated tags refs/tags/good/<id>. snapshots/README.md documents the format.
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import { simpleGit, type SimpleGit } from 'simple-git'
import {
  assertSafePath,
  SCOPE_DIRS,
  componentOf,
  decodeSchema,
  encodeSchema,
  optionKey,
  schemaOf,
  type BundlePort,
  type CommitRecord,
  type CommitRequest,
  type DirEntry,
  type FileEntry,
  type JournalPort,
  type LinkedDir,
  type Mark,
  type OptionEntry,
  type SiteState,
  type TableDef,
} from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { syncDir } from './durable-file.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { inChild } from './batch.worker.ts'
import { writePack, type ObjectJob, type ObjectResult } from './git-objects.worker.ts'

const BRANCH = 'refs/heads/main'
const GOOD = 'refs/tags/good/'
/** A timestamp younger than this may hide a second change made in the same tick of the file system's clock. */
const RACY_MS = 100
const FORMAT = '1'
const IDENT_NAME = 'peakguard'
/** where storeFolder keeps the audit log, for messages */
const AUDIT_HINT = 'refs/peakguard/audit (git --git-dir JOURNAL show refs/peakguard/audit:FILE)'
const IDENT_EMAIL = 'peakguard@localhost'

/** The environment git runs with: only what we mean to pass (simple-git refuses unknown GIT_* variables). */
/** The journal is packed (git gc) once this many packs or loose objects have piled up. */
const MAINTAIN_PACKS = 40
const MAINTAIN_LOOSE = 5000
/** A git temporary pack file older than this is a leftover of a killed process, not one being written. */
const LEFTOVER_AGE_MS = 60 * 60 * 1000
/** How many commits before the previous push an increment leaves out the objects of (besides known-good states). */
const HISTORY_EXCLUDED = 500

function gitEnv(): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: os.tmpdir(),
    LANG: 'C',
    LC_ALL: 'C',
  }
}

/** -c options for every git call: journals are root-owned but may sit beside www-data trees. */
const GIT_CONFIG = [
  'safe.directory=*',
  `user.name=${IDENT_NAME}`,
  `user.email=${IDENT_EMAIL}`,
  // level 1: several times faster than the default 6 on PHP/JS for ~15% more bytes; gc repacks later
  'core.compression=1',
  'pack.compression=1',
]

export class GitJournal implements JournalPort, BundlePort {
  private readonly git: SimpleGit
  private readonly states = new Map<string, SiteState>()

  readonly dir: string
  readonly siteId: string

  private constructor(dir: string, siteId: string) {
    this.dir = dir
    this.siteId = siteId
    this.git = simpleGit({ baseDir: dir, binary: 'git', config: GIT_CONFIG, maxConcurrentProcesses: 4 }).env(gitEnv())
  }

  /**
   * Opens the journal of `siteId` at `dir`, creating it (mode 0700) when the directory is missing or empty.
   * A directory that holds anything else is refused, never written into.
   */
  static async open(dir: string, siteId: string): Promise<GitJournal> {
    const abs = path.resolve(dir)
    let entries: string[] = []
    try {
      entries = fs.readdirSync(abs)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOTDIR')
        throw new PeakguardError('NOT_A_JOURNAL', `${abs} is a file, not a peakguard journal directory`)
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, abs)
    }
    if (entries.length === 0) {
      try {
        fs.mkdirSync(abs, { recursive: true, mode: 0o700 })
        fs.chmodSync(abs, 0o700)
      } catch (e) {
        throw fsError(e, abs)
      }
      const j = new GitJournal(abs, siteId)
      await j.run(['init', '--bare', '-q', '--initial-branch=main', abs])
      for (const [k, v] of [
        ['peakguard.site', siteId],
        ['peakguard.format', FORMAT],
        ['gc.auto', '0'],
        ['core.logAllRefUpdates', 'true'],
      ] as const)
        await j.run(['config', k, v])
      return j
    }
    const j = new GitJournal(abs, siteId)
    const owner = fs.existsSync(path.join(abs, 'HEAD')) && fs.existsSync(path.join(abs, 'objects'))
      ? await j.git.raw(['config', '--get', 'peakguard.site']).then((s) => s.trim(), () => '')
      : ''
    if (!owner)
      throw new PeakguardError('NOT_A_JOURNAL', `${abs} is not a peakguard journal (not empty, and no peakguard.site in a git config there): point the site's data dir at an empty or peakguard-made directory`)
    if (owner !== siteId)
      throw new PeakguardError('NOT_A_JOURNAL', `${abs} is the journal of site ${owner}, not of site ${siteId}`)
    return j
  }

  private async run(args: string[]): Promise<string> {
    try {
      return await this.git.raw(args)
    } catch (e) {
      throw gitError(e, args)
    }
  }

  /** The branch's commit, read from the ref file (or packed-refs after a gc): no git process needed. */
  async head(): Promise<string | null> {
    try {
      const id = fs.readFileSync(path.join(this.dir, BRANCH), 'utf8').trim()
      if (/^[0-9a-f]{40}$/.test(id)) return id
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fsError(e, path.join(this.dir, BRANCH))
    }
    const out = await this.git.raw(['rev-parse', '--verify', '-q', `${BRANCH}^{commit}`]).catch(() => '')
    return out.trim() || null
  }

  async readState(id: string): Promise<SiteState> {
    const cached = this.states.get(id) ?? this.loadHeadState(id)
    if (cached) return cached
    const head = await this.head()
    const base = head && head !== id ? (this.states.get(head) ?? this.loadHeadState(head)) : null
    const state = base && head ? await this.derive(head, base, id) : await this.parseState(id)
    this.remember(id, state)
    return state
  }

  /**
   * A state as a known one plus what git reports differs between the two commits' trees: for a rollback
   * to a recent state that is a few hundred lines, where listing the whole tree is 30k.
   */
  private async derive(baseId: string, base: SiteState, id: string): Promise<SiteState> {
    const out = await this.run(['diff-tree', '-r', '-z', '--no-renames', baseId, id])
    const state: SiteState = {
      files: new Map(base.files),
      links: new Map(base.links),
      options: new Map(base.options),
      ...(base.dirs ? { dirs: new Map(base.dirs) } : {}),
      ...(base.sources ? { sources: base.sources } : {}),
      ...(base.schema ? { schema: base.schema } : {}),
    }
    const meta: { path: string; blob: string }[] = []
    const parts = out.split('\0')
    for (let i = 0; i + 1 < parts.length; i += 2) {
      const head = parts[i] as string
      const p = parts[i + 1] as string
      if (!head.startsWith(':')) {
        i-- // the first field of `diff-tree A B` output has no commit line; resynchronise on headers
        continue
      }
      const [, newMode, , newBlob, status] = head.slice(1).split(' ') as [string, string, string, string, string]
      const removed = status === 'D'
      if (p.startsWith('files/')) {
        const fp = p.slice(6)
        assertSafePath(fp)
        if (removed) state.files.delete(fp)
        else state.files.set(fp, fileFromTree(fp, newMode, newBlob, state.files.get(fp)))
      } else if (p.startsWith('options/')) {
        const o = optionFromTree(p, newBlob)
        const key = optionKey(o.table, o.name)
        if (removed) state.options.delete(key)
        else {
          const old = state.options.get(key)
          state.options.set(key, { ...o, autoload: old?.autoload ?? null, ...(old?.nullValue ? { nullValue: true as const } : {}) })
        }
      } else if (p.startsWith('meta/dirs/') && removed) dropDirsOf(state, p.slice('meta/dirs/'.length))
      else if (p.startsWith('meta/') && !removed) meta.push({ path: p, blob: newBlob })
      else if (p === 'meta/links') state.links.clear()
      else if (p === 'meta/sources') delete state.sources
      else if (p === 'meta/schema') delete state.schema
    }
    const texts = new Map<string, string>()
    await this.readBlobs([...new Set(meta.map((m) => m.blob))], (blob, bytes) => void texts.set(blob, Buffer.from(bytes).toString('utf8')))
    for (const m of meta) this.applyMeta(state, m.path, texts.get(m.blob) ?? '', id)
    return state
  }

  /** Applies one meta blob (file modes and owners, links, option autoload flags) to a state. */
  private applyMeta(state: SiteState, p: string, text: string, id: string): void {
    if (p.startsWith('meta/files/')) {
      for (const line of lines(text)) {
        const tab = line.indexOf('\t')
        const [mode, uid, gid] = line.slice(0, tab).split(' ') as [string, string, string]
        const fp = decodeField(line.slice(tab + 1))
        const f = state.files.get(fp) // shared with the base state: replaced, never changed in place
        if (f) state.files.set(fp, { ...f, mode: parseInt(mode, 8), uid: Number(uid), gid: Number(gid) })
      }
    } else if (p === 'meta/links') {
      state.links.clear()
      for (const line of lines(text)) {
        const [lp, target] = line.split('\t').map(decodeField) as [string, string]
        // only a scope root or a theme/plugin directory can be a recorded link
        if (lp.split('/').length > 2 || !(SCOPE_DIRS as readonly string[]).includes(lp.split('/')[0] as string))
          throw new PeakguardError('UNSAFE_PATH', `refusing journal state ${id}: it records ${JSON.stringify(lp)} as a linked theme/plugin directory`)
        if (lp.includes('/')) assertSafePath(`${lp}/x`)
        state.links.set(lp, { path: lp, target })
      }
    } else if (p.startsWith('meta/dirs/')) {
      const unit = p.slice('meta/dirs/'.length)
      dropDirsOf(state, unit)
      state.dirs ??= new Map()
      for (const line of lines(text)) {
        const tab = line.indexOf('\t')
        const [mode, uid, gid] = line.slice(0, tab).split(' ') as [string, string, string]
        const dp = decodeField(line.slice(tab + 1))
        if (unitOfDir(dp) !== unit) throw new PeakguardError('UNSAFE_PATH', `refusing journal state ${id}: its directories of ${unit} list ${JSON.stringify(dp)}`)
        assertSafePath(`${dp}/x`)
        state.dirs.set(dp, { path: dp, mode: parseInt(mode, 8) & 0o7777, uid: Number(uid), gid: Number(gid) })
      }
    } else if (p === 'meta/sources') {
      state.sources = new Set(lines(text).map(decodeField))
    } else if (p === 'meta/schema') {
      try {
        state.schema = decodeSchema(text)
      } catch (e) {
        throw new PeakguardError('GIT_FAILED', `journal state ${id}: ${(e as Error).message}`, { cause: e })
      }
    } else if (p.startsWith('meta/options/')) {
      const table = p.slice('meta/options/'.length)
      for (const line of lines(text)) {
        // name, autoload (\N: NULL) and, for a value that is SQL NULL, a third field `null`
        const [enc, autoload, isNull] = line.split('\t') as [string, string, string | undefined]
        const name = decodeName(enc)
        const o = state.options.get(optionKey(table, name))
        if (!o) throw new PeakguardError('GIT_FAILED', `journal state ${id} lists option ${table}.${name} without its value`)
        const { nullValue: _, ...rest } = o
        state.options.set(optionKey(table, name), { ...rest, autoload: autoload === '\\N' ? null : decodeField(autoload), ...(isNull === 'null' ? { nullValue: true as const } : {}) })
      }
    }
  }

  /** A state read from the commit's whole tree. */
  private async parseState(id: string): Promise<SiteState> {
    const listing = await this.run(['ls-tree', '-r', '-z', '--full-tree', id])
    const state: SiteState = { files: new Map(), links: new Map(), options: new Map() }
    const meta: { path: string; blob: string }[] = []
    for (const rec of listing.split('\0')) {
      if (!rec) continue
      const tab = rec.indexOf('\t')
      const [mode, , blob] = rec.slice(0, tab).split(' ') as [string, string, string]
      const p = rec.slice(tab + 1)
      if (p.startsWith('files/')) {
        const fp = p.slice(6)
        assertSafePath(fp) // a journal entry must never lead outside the scope, whoever wrote it
        state.files.set(fp, fileFromTree(fp, mode, blob))
      } else if (p.startsWith('meta/')) meta.push({ path: p, blob })
      else if (p.startsWith('options/')) {
        const o = optionFromTree(p, blob)
        state.options.set(optionKey(o.table, o.name), o)
      }
    }
    const texts = new Map<string, string>()
    await this.readBlobs([...new Set(meta.map((m) => m.blob))], (blob, bytes) => void texts.set(blob, Buffer.from(bytes).toString('utf8')))
    for (const m of meta) this.applyMeta(state, m.path, texts.get(m.blob) ?? '', id)
    return state
  }

  private get headStateFile(): string {
    return path.join(this.dir, 'peakguard-head-state.v8')
  }

  /**
   * The state of the newest snapshot, kept beside the journal in V8's serialization: reading it is ~10×
   * faster than listing and parsing the commit's tree, which every snapshot needs. Only a cache: it is
   * used only for the commit id it names, and rebuilt from git otherwise.
   */
  private loadHeadState(id: string): SiteState | null {
    try {
      const c = v8.deserialize(fs.readFileSync(this.headStateFile)) as {
        v: number
        id: string
        files: FileEntry[]
        links: LinkedDir[]
        options: OptionEntry[]
        dirs: DirEntry[] | null
        sources: string[] | null
        schema: TableDef[] | null
      }
      if (c.v !== 4 || c.id !== id) return null
      const state: SiteState = {
        files: new Map(c.files.map((f) => [f.path, f])),
        links: new Map(c.links.map((l) => [l.path, l])),
        options: new Map(c.options.map((o) => [optionKey(o.table, o.name), o])),
        ...(c.dirs ? { dirs: new Map(c.dirs.map((d) => [d.path, d])) } : {}),
        ...(c.sources ? { sources: new Set(c.sources) } : {}),
        ...(c.schema ? { schema: schemaOf(c.schema) } : {}),
      }
      this.remember(id, state)
      return state
    } catch {
      return null
    }
  }

  /** Written behind the commit, like the stat cache: it only saves work. */
  private saveHeadState(id: string, state: SiteState): void {
    setImmediate(() => this.writeHeadState(id, state))
  }

  private writeHeadState(id: string, state: SiteState): void {
    const tmp = `${this.headStateFile}.${process.pid}.tmp`
    try {
      const data = {
        v: 4,
        id,
        files: [...state.files.values()],
        links: [...state.links.values()],
        options: [...state.options.values()],
        dirs: state.dirs ? [...state.dirs.values()] : null,
        sources: state.sources ? [...state.sources] : null,
        schema: state.schema ? [...state.schema.tables.values()] : null,
      }
      fs.writeFileSync(tmp, v8.serialize(data), { mode: 0o600 })
      fs.renameSync(tmp, this.headStateFile)
      checkpoint('journal:head-cache')
    } catch {
      fs.rmSync(tmp, { force: true }) // a full disk costs speed, not correctness
    }
  }

  private remember(id: string, state: SiteState): void {
    this.states.set(id, state)
    if (this.states.size > 4) this.states.delete(this.states.keys().next().value as string)
  }

  async commit(req: CommitRequest): Promise<string> {
    this.removeLeftovers() // from a snapshot that was killed
    // file contents go in as loose objects written by Node; fast-import then only builds trees and the commit
    const jobs = new Map<string, ObjectJob>() // one per distinct content
    for (const f of req.diff.files)
      if (f.content && f.to?.kind === 'file' && !req.existingBlobs?.has(f.to.blob) && !jobs.has(f.to.blob))
        jobs.set(f.to.blob, { file: req.filePath(f.path), blob: f.to.blob })
    await this.writeObjects(req.parent ? await this.missing([...jobs.values()]) : [...jobs.values()])
    checkpoint('journal:objects')
    const proc = gitChild(this.dir, ['fast-import', '--quiet', '--done', '--depth=0'], { stdin: true, stdout: 'ignore', config: GIT_CONFIG })
    let stderr = ''
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number>((resolve) => proc.on('close', (code) => resolve(code ?? 1)))
    proc.stdin.on('error', () => undefined) // reported through the exit code and stderr

    const write = async (chunk: string | Uint8Array): Promise<void> => {
      if (!proc.stdin.write(chunk)) await new Promise<void>((r) => proc.stdin.once('drain', r))
    }
    const data = async (bytes: Uint8Array): Promise<void> => {
      await write(`data ${bytes.length}\n`)
      await write(bytes)
      await write('\n')
    }

    // control characters never reach the message: \x1e/\x1f separate records and fields when the log is
    // parsed, and a trailer value can come from outside (a WordPress login in the bridge's event file)
    const clean = (t: string) => t.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ')
    const message = `${clean(req.subject)}\n\n${Object.entries(req.trailers)
      .map(([k, v]) => `${k}: ${clean(v)}`)
      .join('\n')}\n`
    const when = Math.floor(Date.now() / 1000)
    try {
      await write(`commit ${BRANCH}\ncommitter ${IDENT_NAME} <${IDENT_EMAIL}> ${when} +0000\n`)
      await data(Buffer.from(message))
      if (req.parent) await write(`from ${req.parent}\n`)

      const units = new Set<string>()
      for (const f of req.diff.files) {
        units.add(componentOf(f.path))
        if (f.change === 'removed') await write(`D ${quote(`files/${f.path}`)}\n`)
        else if (f.content && f.to?.kind === 'file') await write(`M ${f.to.mode & 0o111 ? '100755' : '100644'} ${f.to.blob} ${quote(`files/${f.path}`)}\n`)
        else if (f.content && f.to) {
          const text = await req.fileContent(f.path)
          if (createHash('sha1').update(`blob ${text.length}\0`).update(text).digest('hex') !== f.to.blob)
            throw new PeakguardError('CHANGED_WHILE_RECORDING', `symlink ${f.path} changed while it was being recorded`)
          await write(`M 120000 inline ${quote(`files/${f.path}`)}\n`)
          await data(text)
        }
      }
      /** "MODE UID GID<TAB>PATH" per entry, one blob per unit, rewritten for `changed` units (removed when it has none) */
      const writeModes = async (dir: string, changed: Set<string>, all: Iterable<FileEntry | DirEntry>, unitOf: (p: string) => string) => {
        const byUnit = new Map<string, (FileEntry | DirEntry)[]>()
        for (const e of all) {
          const u = unitOf(e.path)
          if (!changed.has(u)) continue
          const list = byUnit.get(u)
          if (list) list.push(e)
          else byUnit.set(u, [e])
        }
        for (const u of changed) {
          const entries = byUnit.get(u)
          const p = quote(`${dir}/${u}`)
          if (!entries) await write(`D ${p}\n`)
          else {
            entries.sort((a, b) => (a.path < b.path ? -1 : 1))
            await write(`M 100644 inline ${p}\n`)
            await data(Buffer.from(entries.map((e) => `${e.mode.toString(8)} ${e.uid} ${e.gid}\t${encodeField(e.path)}\n`).join('')))
          }
        }
      }
      await writeModes('meta/files', units, req.state.files.values(), componentOf)
      if (req.diff.links.length || !req.parent) {
        const links = [...req.state.links.values()].sort((a, b) => (a.path < b.path ? -1 : 1))
        await write('M 100644 inline meta/links\n')
        await data(Buffer.from(links.map((l) => `${encodeField(l.path)}\t${encodeField(l.target)}\n`).join('')))
      }
      // directories' modes and owners, for the units whose directories changed
      if (req.state.dirs) await writeModes('meta/dirs', new Set(req.diff.dirs.map((d) => unitOfDir(d.path))), req.state.dirs.values(), unitOfDir)

      const tables = new Set<string>()
      for (const o of req.diff.options) {
        tables.add(o.table)
        const p = quote(`options/${o.table}/${encodeName(o.name)}`)
        if (o.change === 'removed') await write(`D ${p}\n`)
        else if (o.value) {
          await write(`M 100644 inline ${p}\n`)
          await data(req.optionValue(o.table, o.name))
        }
      }
      const byTable = new Map<string, OptionEntry[]>()
      for (const o of req.state.options.values()) if (tables.has(o.table)) byTable.set(o.table, [...(byTable.get(o.table) ?? []), o])
      for (const t of tables) {
        const rows = byTable.get(t)
        if (!rows) await write(`D meta/options/${t}\n`)
        else {
          const text = rows
            .map((o) => `${encodeName(o.name)}\t${o.autoload === null ? '\\N' : encodeField(o.autoload)}${o.nullValue ? '\tnull' : ''}\n`)
            .sort()
            .join('')
          await write(`M 100644 inline meta/options/${t}\n`)
          await data(Buffer.from(text))
        }
      }
      // the same text makes the same blob: writing it every time costs nothing and keeps it right
      if (req.state.sources) {
        await write('M 100644 inline meta/sources\n')
        await data(Buffer.from([...req.state.sources].sort().map((t) => `${encodeField(t)}\n`).join('')))
      }
      // likewise the schema; a state handed over without one keeps none in its tree either (what a fresh reading
      // gives back is what was committed), and the next reading of the live site records the schema again
      if (req.state.schema) {
        await write('M 100644 inline meta/schema\n')
        await data(Buffer.from(encodeSchema(req.state.schema)))
      } else if (req.parent) await write('D meta/schema\n')
      await write('\ndone\n')
      proc.stdin.end()
    } catch (e) {
      proc.kill('SIGKILL')
      await exited
      this.removeLeftovers()
      throw e
    }
    const code = await exited
    if (code !== 0) this.removeLeftovers()
    if (code !== 0) throw classifyGitFailure(`git fast-import failed (exit ${code}): ${stderr.trim().slice(0, 500)}`, stderr)
    checkpoint('journal:commit')
    const id = (await this.head()) as string
    this.remember(id, req.state)
    this.saveHeadState(id, req.state)
    return id
  }

  /** The jobs whose blob the journal does not hold yet (a file put back to an earlier content costs nothing). */
  private async missing(jobs: ObjectJob[]): Promise<ObjectJob[]> {
    if (jobs.length === 0) return jobs
    const out = await new Promise<string>((resolve, reject) => {
      const p = gitChild(this.dir, ['cat-file', '--batch-check=%(objectname)'], { stdin: true, stdout: 'pipe', stderr: 'ignore' })
      let text = ''
      p.stdout.on('data', (d: Buffer) => (text += d.toString()))
      p.on('error', reject)
      p.on('close', () => resolve(text))
      p.stdin.on('error', () => undefined)
      p.stdin.end(jobs.map((j) => j.blob).join('\n') + '\n')
    })
    const present = new Set(out.split('\n').filter((l) => /^[0-9a-f]{40}$/.test(l)))
    return jobs.filter((j) => !present.has(j.blob))
  }

  /** Writes the objects, in child processes when the batch is large (an initial snapshot), inline otherwise. */
  private async writeObjects(jobs: ObjectJob[]): Promise<void> {
    if (jobs.length === 0) return
    const procs = Math.min(os.availableParallelism(), 4)
    let results: ObjectResult[]
    if (jobs.length < 512 || procs < 2) results = [writePack(this.dir, jobs)]
    else {
      const here = fileURLToPath(import.meta.url)
      const url = new URL(`./git-objects.worker${path.extname(here)}`, import.meta.url)
      const shares = Array.from({ length: procs }, (_, i) => jobs.filter((_, j) => j % procs === i))
      results = await Promise.all(shares.map((share) => inChild<ObjectResult>(url, 'git-objects', { gitDir: this.dir, jobs: share })))
    }
    const changed = results.flatMap((r) => r.changed)
    if (changed.length)
      throw new PeakguardError('CHANGED_WHILE_RECORDING', `${changed.length} file(s) changed while they were being recorded (${changed.slice(0, 3).join(', ')}); nothing was recorded`)
    const failed = results.find((r) => r.error)?.error
    if (failed) throw fsFailure(Object.assign(new Error(failed.message), { code: failed.code }), { doing: 'writing', what: `the journal ${this.dir}`, otherwise: 'GIT_FAILED' })
  }

  /**
   * A fast-import that failed or was killed leaves a partial pack and a crash report; neither is part of
   * the journal (fsck ignores them) but on a full disk they hold the space the next try needs.
   * Called with the writer lock held, so no other fast-import is running.
   */
  private removeLeftovers(): void {
    const packs = path.join(this.dir, 'objects/pack')
    try {
      for (const f of fs.readdirSync(packs)) {
        // tmp_pg_*: ours, written under the writer lock, so any found now is a killed snapshot's. tmp_pack_*
        // may also be a running `git gc`'s (the daemon's maintenance runs beside snapshots, or an
        // operator's): only an old one is a leftover
        const p = path.join(packs, f)
        if (f.startsWith('tmp_pg_')) fs.rmSync(p, { force: true })
        else if (f.startsWith('tmp_pack_') && Date.now() - (fs.statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > LEFTOVER_AGE_MS)
          fs.rmSync(p, { force: true })
      }
      for (const f of fs.readdirSync(this.dir)) if (f.startsWith('fast_import_crash_')) fs.rmSync(path.join(this.dir, f), { force: true })
      fs.rmSync(path.join(this.dir, `${BRANCH}.lock`), { force: true }) // a ref update that was killed
    } catch (e) {
      throw fsError(e, this.dir)
    }
  }

  async readBlobs(ids: string[], each: (id: string, bytes: Uint8Array) => Promise<void> | void): Promise<void> {
    if (ids.length === 0) return
    const proc = gitChild(this.dir, ['cat-file', '--batch'], { stdin: true, stdout: 'pipe' })
    let stderr = ''
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number>((resolve) => proc.on('close', (code) => resolve(code ?? 1)))
    proc.stdin.on('error', () => undefined)
    proc.stdin.end(ids.join('\n') + '\n')

    let buf: Buffer = Buffer.alloc(0)
    let i = 0
    let want: { id: string; size: number } | null = null
    // a large blob arrives in many chunks: gather them and join once (not on every chunk)
    let parts: Buffer[] = []
    let partsLength = 0
    try {
      for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
        if (want && partsLength + buf.length + chunk.length < want.size + 1) {
          if (buf.length) parts.push(buf)
          parts.push(chunk)
          partsLength += buf.length + chunk.length
          buf = Buffer.alloc(0)
          continue
        }
        if (parts.length) {
          buf = Buffer.concat([...parts, buf, chunk])
          parts = []
          partsLength = 0
        } else buf = buf.length ? Buffer.concat([buf, chunk]) : chunk
        for (;;) {
          if (!want) {
            const nl = buf.indexOf(10)
            if (nl < 0) break
            const header = buf.subarray(0, nl).toString()
            buf = buf.subarray(nl + 1)
            const [id, type, size] = header.split(' ')
            if (type !== 'blob' || !id || size === undefined)
              throw new PeakguardError('GIT_FAILED', `journal object ${ids[i] ?? '?'} is missing or not a blob (${header}): run 'git fsck' on ${this.dir}`)
            want = { id, size: Number(size) }
          }
          if (buf.length < want.size + 1) break
          const bytes = Buffer.from(buf.subarray(0, want.size))
          buf = buf.subarray(want.size + 1)
          const got = want
          want = null
          i++
          await each(got.id, bytes)
        }
      }
    } finally {
      if (proc.exitCode === null) proc.kill()
      await exited
    }
    if (i !== ids.length) throw new PeakguardError('GIT_FAILED', `git cat-file returned ${i} of ${ids.length} objects: ${stderr.trim()}`)
  }

  /** The history as of a head: a journal only grows, so it is read again only when the head moved. */
  private history: { head: string; records: CommitRecord[] } | null = null

  async log(): Promise<CommitRecord[]> {
    const head = await this.head()
    if (!head) return []
    if (this.history?.head === head) return this.history.records
    const out = await this.run(['log', '--format=%H%x1f%cI%x1f%s%x1f%(trailers:only,unfold)%x1e', BRANCH])
    const records: CommitRecord[] = []
    for (const rec of out.split('\x1e')) {
      const r = rec.replace(/^\n/, '')
      if (!r) continue
      const [id, time, subject, trailerText] = r.split('\x1f') as [string, string, string, string]
      const trailers: Record<string, string> = {}
      for (const line of (trailerText ?? '').split('\n')) {
        const m = /^([A-Za-z0-9-]+): (.*)$/.exec(line)
        if (m) trailers[m[1] as string] = m[2] as string
      }
      records.push({ id, time: new Date(time).toISOString(), subject, trailers })
    }
    this.history = { head, records }
    return records
  }

  async resolvePrefix(prefix: string): Promise<string[]> {
    return (await this.log()).map((c) => c.id).filter((id) => id.startsWith(prefix))
  }

  /**
   * The marks, read again only when the refs that hold them changed: the overview asks on every load, and a
   * git process per page is most of its cost. A change by another process (the CLI's mark-good) shows in
   * the mtime of the folder of the loose refs or of packed-refs; a key younger than RACY_MS is not trusted,
   * since a second change within the file system's timestamp granularity would leave it unchanged.
   */
  async marks(): Promise<Mark[]> {
    const key = this.marksKey()
    if (key !== null && this.markCache?.key === key) return this.markCache.marks
    const marks = await this.readMarks()
    this.markCache = key === null ? null : { key, marks }
    return marks
  }

  private markCache: { key: string; marks: Mark[] } | null = null

  private marksKey(): string | null {
    const stamp = (p: string) => {
      try {
        const st = fs.statSync(p, { bigint: true })
        return { ns: st.mtimeNs, text: `${st.mtimeNs}:${st.size}:${st.ino}` }
      } catch {
        return { ns: 0n, text: '-' }
      }
    }
    const loose = stamp(path.join(this.dir, GOOD))
    const packed = stamp(path.join(this.dir, 'packed-refs'))
    const newest = loose.ns > packed.ns ? loose.ns : packed.ns
    if (BigInt(Date.now()) * 1_000_000n - newest < BigInt(RACY_MS) * 1_000_000n) return null
    return `${loose.text} ${packed.text}`
  }

  private async readMarks(): Promise<Mark[]> {
    const out = await this.run(['for-each-ref', '--format=%(refname)%1f%(contents)%1f%(taggerdate:iso-strict)%1e', GOOD])
    return out
      .split('\x1e')
      .map((r) => r.replace(/^\n/, ''))
      .filter(Boolean)
      .map((r) => {
        const [ref, note, time] = r.split('\x1f') as [string, string, string]
        return { id: ref.slice(GOOD.length), note: note.trim() === 'known-good' ? '' : note.trim(), time: time ? new Date(time).toISOString() : '' }
      })
  }

  async mark(id: string, note: string): Promise<void> {
    this.markCache = null
    await this.run(['tag', '-f', '-a', '-m', note.trim() || 'known-good', `good/${id}`, id])
    checkpoint('journal:mark')
  }

  async unmark(id: string): Promise<boolean> {
    const exists = await this.git.raw(['rev-parse', '--verify', '-q', `${GOOD}${id}`]).then((s) => s.trim() !== '', () => false)
    if (!exists) return false
    this.markCache = null
    await this.run(['update-ref', '-d', `${GOOD}${id}`])
    checkpoint('journal:unmark')
    return true
  }

  async maintain(): Promise<{ packsBefore: number; looseBefore: number; ms: number } | null> {
    const counts = Object.fromEntries(
      (await this.git.raw(['count-objects', '-v'])).split('\n').flatMap((l) => {
        const [k, v] = l.split(':')
        return k && v ? [[k.trim(), Number(v.trim())]] : []
      }),
    ) as Record<string, number>
    const packs = counts.packs ?? 0
    const loose = counts.count ?? 0
    // every snapshot adds a pack or two: reading slows down as they pile up
    if (packs < MAINTAIN_PACKS && loose < MAINTAIN_LOOSE) return null
    const started = performance.now()
    // nice/ionice: a gc of a 30k-file journal takes half a minute and must not slow the shop
    await spawnGit(this.dir, ['gc', '--quiet'], { what: 'git gc of the journal', under: ['nice', '-n', '19', 'ionice', '-c', '3'] })
    return { packsBefore: packs, looseBefore: loose, ms: Math.round(performance.now() - started) }
  }

  // ── folders kept beside the snapshots (the audit log) ──────────────────────────────────────────────

  /**
   * Keeps the files of `dir` (flat: the audit log's segments) as the tree of a new commit on `ref` when
   * they changed since the last one; false when nothing changed. The replicator carries every ref, so
   * they leave the host with the snapshots, and `recover --from-s3` brings them back.
   */
  async storeFolder(ref: string, dir: string, message: string): Promise<boolean> {
    const names = (fs.existsSync(dir) ? fs.readdirSync(dir, { withFileTypes: true }) : [])
      .filter((e) => e.isFile() && !e.name.endsWith('.tmp') && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort()
    if (names.length === 0) return false
    const ids = lines(await this.run(['hash-object', '-w', '--no-filters', '--', ...names.map((n) => path.join(dir, n))]))
    const tree = (await gitCapture(this.dir, ['mktree'], names.map((n, i) => `100644 blob ${ids[i]}\t${n}`).join('\n') + '\n')).trim()
    const old = (await this.git.raw(['rev-parse', '--verify', '-q', ref]).catch(() => '')).trim()
    if (old && (await this.run(['rev-parse', `${old}^{tree}`])).trim() === tree) return false
    if (old) await this.assertAppendOnly(old, dir, names)
    const commit = (await this.run(['-c', `user.name=${IDENT_NAME}`, '-c', `user.email=${IDENT_NAME}@localhost`, 'commit-tree', tree, ...(old ? ['-p', old] : []), '-m', message])).trim()
    // compare-and-swap: of two processes storing at once, the second fails rather than losing the first
    await this.run(['update-ref', ref, commit, old || '0'.repeat(40)])
    checkpoint('journal:folder')
    return true
  }

  /**
   * The folder is append-only (the audit log): every file stored before must still be there as the start
   * of a file now — under its name, or under another after a rotation renamed it. A hash chain alone
   * cannot tell an entry rewritten together with every later hash; this copy (replicated off the host)
   * can, so storing stops with AUDIT_TAMPERED and replication says so until someone looks.
   */
  private async assertAppendOnly(commit: string, dir: string, names: string[]): Promise<void> {
    for (const line of lines(await this.run(['ls-tree', '-l', commit]))) {
      const [meta, name] = line.split('\t') as [string, string]
      const [, , blob, size] = meta.split(/\s+/) as [string, string, string, string]
      const n = Number(size)
      const candidates = [name, ...names.filter((x) => x !== name)]
      const kept = candidates.some((c) => {
        const file = path.join(dir, c)
        const st = fs.statSync(file, { throwIfNoEntry: false })
        if (!st || st.size < n) return false
        const head = Buffer.alloc(n)
        const fd = fs.openSync(file, 'r')
        try {
          fs.readSync(fd, head, 0, n, 0)
        } finally {
          fs.closeSync(fd)
        }
        return createHash('sha1').update(`blob ${n}\0`).update(head).digest('hex') === blob
      })
      if (!kept)
        throw new PeakguardError(
          'AUDIT_TAMPERED',
          `the audit log in ${dir} no longer holds ${name} as it was stored (${n} bytes, in the journal's ${AUDIT_HINT}): an entry was edited, removed or reordered; 'peakguard audit verify' names it, and the stored copy shows what it was`,
        )
    }
  }

  /** The files stored on `ref` by storeFolder, by name; null when the ref does not exist. */
  async readFolder(ref: string): Promise<Map<string, Buffer> | null> {
    const old = (await this.git.raw(['rev-parse', '--verify', '-q', ref]).catch(() => '')).trim()
    if (!old) return null
    const out = new Map<string, Buffer>()
    for (const line of lines(await this.run(['ls-tree', old]))) {
      const [meta, name] = line.split('\t') as [string, string]
      const blob = meta.split(' ')[2] as string
      out.set(name, Buffer.from(await gitCapture(this.dir, ['cat-file', 'blob', blob]), 'binary'))
    }
    return out
  }

  // ── replication (BundlePort): git bundles carry new objects to the remote ───────────────────────────

  async refs(): Promise<Record<string, string>> {
    const out = await this.run(['for-each-ref', '--format=%(objectname) %(refname)'])
    const refs: Record<string, string> = {}
    for (const line of out.split('\n')) {
      const sp = line.indexOf(' ')
      if (sp > 0) refs[line.slice(sp + 1)] = line.slice(0, sp)
    }
    return refs
  }

  /** Every loose ref file's name, inode, size and mtime, and packed-refs': a few stat calls, no git. */
  refsStamp(): string {
    const parts: string[] = []
    const walk = (dir: string, rel: string): void => {
      let entries: fs.Dirent[]
      try {
        entries = fs.readdirSync(dir, { withFileTypes: true })
      } catch {
        return
      }
      for (const e of entries) {
        const p = path.join(dir, e.name)
        if (e.isDirectory()) walk(p, `${rel}${e.name}/`)
        else {
          const st = fs.statSync(p, { throwIfNoEntry: false })
          if (st) parts.push(`${rel}${e.name}:${st.ino}:${st.size}:${st.mtimeMs}`)
        }
      }
    }
    walk(path.join(this.dir, 'refs'), 'refs/')
    const packed = fs.statSync(path.join(this.dir, 'packed-refs'), { throwIfNoEntry: false })
    if (packed) parts.push(`packed-refs:${packed.ino}:${packed.size}:${packed.mtimeMs}`)
    return parts.sort().join('\n')
  }

  /**
   * A git bundle (v2), written here rather than by `git bundle create`: its header, then a pack from
   * `git pack-objects --thin --shallow`. For an increment, --shallow (git's --objects-edge-aggressive)
   * leaves out every object of every excluded commit, where `git bundle create` leaves out only what the
   * newest excluded snapshot holds: a plugin update that puts files back to an earlier content, and every
   * rollback, would otherwise send those files again (measured: 2.2× restic's bytes over 100 updates).
   * Excluded are the previous push's tips (its known-good states, the usual rollback targets, among them)
   * and the last HISTORY_EXCLUDED commits before them; the previous tips are the bundle's prerequisites.
   * zlib level 6 (objects recompressed: the journal's own packs are level 1 for speed), niced.
   */
  async createBundle(file: string, include: string[], exclude: string[]): Promise<{ heads: Record<string, string>; bundle: { size: number; sha256: string } | null }> {
    const now = await this.refs()
    const heads: Record<string, string> = {}
    for (const name of include) if (now[name]) heads[name] = now[name]
    if (Object.keys(heads).length === 0) return { heads, bundle: null }
    const tips = [...new Set(Object.values(heads))]
    let prerequisites: string[] = []
    let negatives: string[] = []
    if (exclude.length) {
      // the excluded tips as commits (a mark's tag object peeled; one git may have pruned since an unmark
      // is skipped): prerequisites must be commits
      prerequisites = [...new Set((await this.run(['rev-list', '--no-walk', '--ignore-missing', ...exclude])).split('\n').filter(Boolean))]
      // only what the remote has: the excluded tips (every pushed known-good state among them) and their
      // ancestors. Never a mark made since the last push: its snapshot may not be on the remote yet
      const recent = prerequisites.length ? (await this.run(['rev-list', `--max-count=${HISTORY_EXCLUDED}`, ...prerequisites])).split('\n').filter(Boolean) : []
      negatives = [...new Set([...prerequisites, ...recent])]
      // nothing new (a mark removed, a ref moved to something the remote has): no bundle
      const fresh = prerequisites.length ? await this.run(['rev-list', '--objects', '--max-count=1', ...tips, '--not', ...prerequisites]) : 'x'
      if (!fresh.trim()) return { heads, bundle: null }
    }
    fs.rmSync(file, { force: true })
    const header = ['# v2 git bundle', ...prerequisites.map((c) => `-${c}`), ...Object.entries(heads).map(([r, id]) => `${id} ${r}`), '', ''].join('\n')
    const out = fs.openSync(file, 'w', 0o600)
    try {
      fs.writeSync(out, header)
      await spawnGit(this.dir, ['-c', 'pack.compression=6', 'pack-objects', '--stdout', '-q', '--revs', '--delta-base-offset', '--no-reuse-object', ...(negatives.length ? ['--thin', '--shallow'] : [])], {
        what: 'git pack-objects for a bundle',
        under: ['nice', '-n', '10'],
        input: [...tips, ...negatives.map((c) => `^${c}`)].join('\n') + '\n',
        stdout: out,
      })
      // durable before replica.json names it: after a power cut the push resumes from this very file
      fs.fsyncSync(out)
    } catch (e) {
      fs.closeSync(out)
      fs.rmSync(file, { force: true })
      throw e
    }
    fs.closeSync(out)
    syncDir(path.dirname(file))
    checkpoint('journal:bundle')
    return { heads, bundle: sha256File(file) }
  }

  async bundleDigest(file: string): Promise<{ size: number; sha256: string } | null> {
    return fs.existsSync(file) ? sha256File(file) : null
  }

  async importBundle(file: string, sha256: string): Promise<void> {
    const got = sha256File(file).sha256
    if (got !== sha256) throw new PeakguardError('REPLICA_INVALID', `bundle ${path.basename(file)} has SHA-256 ${got}, its manifest says ${sha256}: the object was altered or damaged`)
    await this.run(['bundle', 'verify', '-q', file])
    await this.run(['bundle', 'unbundle', file])
    checkpoint('journal:bundle-imported')
  }

  async setRefs(refs: Record<string, string>): Promise<void> {
    const now = await this.refs()
    const lines = [
      ...Object.keys(now).filter((r) => !(r in refs)).map((r) => `delete ${r}`),
      ...Object.entries(refs).map(([r, id]) => `update ${r} ${id}`),
    ]
    if (lines.length === 0) return
    await spawnGit(this.dir, ['update-ref', '--stdin'], { what: "setting the journal's refs", input: lines.join('\n') + '\n' })
    checkpoint('journal:refs-set')
    this.history = null
    this.states.clear()
    fs.rmSync(this.headStateFile, { force: true })
  }

  async isAncestor(ancestor: string, id: string): Promise<boolean> {
    // `git merge-base --is-ancestor` answers "no" with exit 1 and nothing on stderr, which simple-git's raw() takes
    // for success: spawnGit rejects on any exit but 0
    return spawnGit(this.dir, ['merge-base', '--is-ancestor', ancestor, id], { what: 'git merge-base' }).then(
      () => true,
      () => false,
    )
  }

  async firstCommitAfter(since: string | null): Promise<string | null> {
    const range = since ? `${since}..${BRANCH}` : BRANCH
    const out = await this.git.raw(['log', '--reverse', '--format=%cI', range]).catch(() => '')
    const first = out.split('\n').find(Boolean)
    return first ? new Date(first).toISOString() : null
  }

  async check(): Promise<string[]> {
    try {
      const out = await this.git.raw(['fsck', '--no-progress', '--no-dangling', '--connectivity-only'])
      return out.split('\n').filter((l) => l.trim())
    } catch (e) {
      return [(e as Error).message.trim()]
    }
  }
}

/**
 * Every git process the journal starts besides simple-git's (those that stream: stdin, stdout into a file
 * or a parser, a `nice` in front): one place for the flags, the environment and the pipes. stderr is piped
 * unless ignored, for the error message.
 */
function gitChild(
  dir: string,
  args: readonly string[],
  o: { stdin?: boolean; stdout?: 'pipe' | 'ignore' | number; stderr?: 'pipe' | 'ignore'; under?: readonly string[]; config?: readonly string[] } = {},
) {
  const cmd = [...(o.under ?? []), 'git', ...(o.config ?? ['safe.directory=*']).flatMap((c) => ['-c', c]), '--git-dir', dir, ...args]
  return spawn(cmd[0]!, cmd.slice(1), { env: gitEnv(), stdio: [o.stdin ? 'pipe' : 'ignore', o.stdout ?? 'ignore', o.stderr ?? 'pipe'] }) as ChildProcessByStdio<Writable, Readable, Readable>
}

/** A git command's stdout (as binary-safe latin1 text), with `input` on its stdin. */
function gitCapture(dir: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = gitChild(dir, args, { stdin: input !== undefined, stdout: 'pipe' })
    const out: Buffer[] = []
    let err = ''
    p.stdout!.on('data', (d: Buffer) => out.push(d))
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString('binary')) : reject(classifyGitFailure(`git ${args[0]} failed (exit ${code}): ${err.trim().slice(-500)}`, err))))
    if (input !== undefined) {
      p.stdin!.on('error', () => undefined)
      p.stdin!.end(input)
    }
  })
}

/** A git command that must succeed: resolves when it exits 0, else rejects naming `what`, with git's stderr. */
function spawnGit(dir: string, args: string[], o: { what: string; under?: string[]; input?: string; stdout?: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = gitChild(dir, args, { stdin: o.input !== undefined, stdout: o.stdout ?? 'ignore', under: o.under })
    let err = ''
    p.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve() : reject(classifyGitFailure(`${o.what} failed (exit ${code}): ${err.trim().slice(-500)}`, err))))
    if (o.input !== undefined) {
      p.stdin!.on('error', () => undefined) // reported through the exit code
      p.stdin!.end(o.input)
    }
  })
}

function sha256File(file: string): { size: number; sha256: string } {
  const hash = createHash('sha256')
  const fd = fs.openSync(file, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  let size = 0
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; size += n) hash.update(buf.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  return { size, sha256: hash.digest('hex') }
}

/** A file entry from a tree entry; mode, owner and group come from the meta blobs (or an older entry). */
function fileFromTree(path: string, gitMode: string, blob: string, old?: FileEntry): FileEntry {
  const kind = gitMode === '120000' ? 'symlink' : 'file'
  const mode = old?.mode ?? (gitMode === '100755' ? 0o755 : kind === 'symlink' ? 0o777 : 0o644)
  return { path, kind, blob, mode, uid: old?.uid ?? 0, gid: old?.gid ?? 0 }
}

/** An option entry from `options/<table>/<encoded name>`; the autoload flag comes from the meta blob. */
function optionFromTree(treePath: string, blob: string): OptionEntry {
  const rest = treePath.slice('options/'.length)
  const slash = rest.indexOf('/')
  return { table: rest.slice(0, slash), name: decodeName(rest.slice(slash + 1)), blob, autoload: null }
}

/** The theme/plugin directory a recorded directory belongs to (itself, for a unit's own directory). */
function unitOfDir(p: string): string {
  return componentOf(`${p}/x`)
}

function dropDirsOf(state: SiteState, unit: string): void {
  if (!state.dirs) return
  for (const p of [...state.dirs.keys()]) if (unitOfDir(p) === unit) state.dirs.delete(p)
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0)
}

/** Tab, newline, CR and % inside a meta field. */
function encodeField(s: string): string {
  return s.replace(/[%\t\n\r]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`)
}

function decodeField(s: string): string {
  return s.replace(/%([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
}

/** Option names as tree entry names: anything but [A-Za-z0-9_.-] (and a leading dot) is %XX of its UTF-8. */
export function encodeName(name: string): string {
  const enc = Array.from(Buffer.from(name, 'utf8'))
    .map((b) => (/[A-Za-z0-9_.-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0').toUpperCase()}`))
    .join('')
  return enc.startsWith('.') ? `%2E${enc.slice(1)}` : enc || '%'
}

export function decodeName(enc: string): string {
  if (enc === '%') return ''
  const bytes: number[] = []
  for (let i = 0; i < enc.length; i++) {
    if (enc[i] === '%') {
      bytes.push(parseInt(enc.slice(i + 1, i + 3), 16))
      i += 2
    } else bytes.push(enc.charCodeAt(i))
  }
  return Buffer.from(bytes).toString('utf8')
}

/** A path for fast-import: C-style quoted when it holds anything fast-import would misread. */
function quote(p: string): string {
  if (!/["\\\n\r\t\u0000-\u001f\u007f]/.test(p) && !p.startsWith('"')) return p
  let out = '"'
  for (const b of Buffer.from(p, 'utf8')) {
    if (b === 0x22) out += '\\"'
    else if (b === 0x5c) out += '\\\\'
    else if (b < 0x20 || b === 0x7f || b >= 0x80) out += `\\${b.toString(8).padStart(3, '0')}`
    else out += String.fromCharCode(b)
  }
  return out + '"'
}

function gitError(e: unknown, args: string[]): PeakguardError {
  const msg = e instanceof Error ? e.message : String(e)
  return classifyGitFailure(`git ${args[0]} failed: ${msg.trim().slice(0, 500)}`, msg, e)
}

function classifyGitFailure(message: string, stderr: string, cause?: unknown): PeakguardError {
  if (/No space left on device|Out of diskspace/i.test(stderr)) return new PeakguardError('DISK_FULL', `the journal's disk is full: ${message}`, { cause })
  if (/Read-only file system|Permission denied/i.test(stderr)) return new PeakguardError('READ_ONLY', `the journal cannot be written: ${message}`, { cause })
  return new PeakguardError('GIT_FAILED', message, { cause })
}

function fsError(e: unknown, p: string): PeakguardError {
  return fsFailure(e, { doing: 'writing', what: p })
}

