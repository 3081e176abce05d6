// The live wp-content of one site (LiveFilesPort): walks themes, plugins, mu-plugins and the drop-ins,
// following symlinked theme/plugin directories (Debian's wordpress package links them) and recording that
// they were links, and writes restored files atomically with their owner, group and mode.
// A stat cache (size, mtime, ctime, inode → blob id) in the site's data dir means only files whose stat
// changed are read and hashed, the same trick git's index uses.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import v8 from 'node:v8'
import { Worker } from 'node:worker_threads'
import {
  DROP_INS,
  ignoreRules,
  inUnits,
  SCOPE_DIRS,
  TEMP_PREFIX,
  TEMP_SUFFIX,
  type DirEntry,
  type FileEntry,
  type LinkedDir,
  type LiveFilesPort,
  type LiveScan,
} from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { FIELDS, KIND_DIR, KIND_FILE, KIND_SYMLINK, linkTextOf, nameIn, walkUnits, type WalkRequest, type WalkResult } from './tree-walk.worker.ts'
import { inChild } from './batch.worker.ts'
import { hashFile } from './file-hash.worker.ts'

type CacheRow = [size: number, mtimeMs: number, ctimeMs: number, ino: number, blob: string]

interface StatCache {
  v: 2
  root: string
  entries: Map<string, CacheRow>
}

/** Entries modified this recently are not cached: a write in the same clock tick could go unseen. */
const RACY_MS = 2000

function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

export class WpFiles implements LiveFilesPort {
  readonly root: string
  private readonly cacheFile: string
  private readonly ignoreFiles: readonly string[]
  private readonly ignored: (path: string) => boolean
  /** the stat cache as of the last scan: a long-lived process (the daemon) reads its file only once */
  private memo: Map<string, CacheRow> | null = null
  private walker: Worker | null = null
  private walkerIdle: NodeJS.Timeout | null = null

  private readonly followRoots: string[]

  constructor(wpContent: string, cacheFile: string, ignoreFiles: readonly string[], followLinksInto: readonly string[] = []) {
    this.root = path.resolve(wpContent)
    this.followRoots = [this.root, ...followLinksInto].map((p) => {
      try {
        return fs.realpathSync(p)
      } catch {
        return path.resolve(p)
      }
    })
    this.cacheFile = cacheFile
    this.ignoreFiles = ignoreFiles
    this.ignored = ignoreRules([], ignoreFiles).file
  }

  private scanning: Promise<unknown> = Promise.resolve()

  /** One scan at a time per site: the walker thread and the stat cache serve one reading at a time. */
  scan(units?: ReadonlySet<string>): Promise<LiveScan> {
    const next = this.scanning.then(() => this.scanOnce(units ?? null), () => this.scanOnce(units ?? null))
    // keep the order, not the result (30k entries)
    this.scanning = next.then(
      () => undefined,
      () => undefined,
    )
    return next
  }

  private async scanOnce(only: ReadonlySet<string> | null): Promise<LiveScan> {
    if (!isDir(this.root)) throw new PeakguardError('FS_FAILED', `wp-content directory ${this.root} does not exist or is not a directory`)
    const old = this.loadCache()
    // a scan of some units keeps what the cache knows about the others
    const fresh = new Map<string, CacheRow>()
    if (only && old) for (const [p, c] of old) if (!inUnits(p, only)) fresh.set(p, c)
    const wanted = (rel: string) => !only || inUnits(rel, only)
    const files: FileEntry[] = []
    const links: LinkedDir[] = []
    const dirs: DirEntry[] = []
    const skipped: string[] = []
    const racyAfter = Date.now() - RACY_MS
    const pending: { entry: FileEntry; size: number; mtimeMs: number; ctimeMs: number; ino: number }[] = []

    const visit = (rel: string, n: ArrayLike<number>, at: number, linkText: string | undefined): void => {
      const [kind, size, mtimeMs, ctimeMs, ino, mode, uid, gid] = [n[at], n[at + 1], n[at + 2], n[at + 3], n[at + 4], n[at + 5], n[at + 6], n[at + 7]] as number[] as [number, number, number, number, number, number, number, number]
      if (kind === KIND_DIR) {
        dirs.push({ path: rel, mode, uid, gid })
        return
      }
      if (kind === KIND_SYMLINK) {
        files.push({ path: rel, kind: 'symlink', blob: gitBlobId(Buffer.from(linkText ?? '')), mode: 0o777, uid, gid })
        return
      }
      const c = old?.get(rel)
      const entry: FileEntry = { path: rel, kind: 'file', blob: '', mode, uid, gid }
      if (c && c[0] === size && c[1] === mtimeMs && c[2] === ctimeMs && c[3] === ino) {
        entry.blob = c[4]
        if (mtimeMs < racyAfter && ctimeMs < racyAfter) fresh.set(rel, c)
      } else pending.push({ entry, size, mtimeMs, ctimeMs, ino })
      files.push(entry)
    }
    const linkText = (rel: string, abs: string): string | null => linkTextOf(rel, abs, skipped)
    const visitStat = (rel: string, abs: string, st: fs.Stats): void => {
      if (!st.isFile() && !st.isSymbolicLink()) return
      const kind = st.isSymbolicLink() ? KIND_SYMLINK : KIND_FILE
      const text = kind === KIND_SYMLINK ? linkText(rel, abs) : undefined
      if (text === null) return
      visit(rel, [kind, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.mode & 0o7777, st.uid, st.gid], 0, text)
    }

    // the top level here; each theme/plugin directory below is a unit for the walkers
    const units: string[] = []
    try {
      for (const dir of SCOPE_DIRS) {
        if (only && !only.has(dir) && ![...only].some((u) => u.startsWith(`${dir}/`))) continue
        const abs = path.join(this.root, dir)
        const st = lstatOrNull(abs)
        if (!st) continue
        if (st.isSymbolicLink()) {
          if (!isDir(abs)) continue
          const target = linkText(dir, abs)
          if (target === null) continue
          if (wanted(dir)) links.push({ path: dir, target })
          // plugins/ (or themes/, mu-plugins/) itself linked elsewhere is read only where a theme or plugin
          // link may lead: wp-content or a followLinksInto place. Planted to /root or /etc it is recorded
          // as a link, and nothing behind it is read
          if (!this.mayFollow(abs)) continue
        } else if (!st.isDirectory()) continue
        for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
          const name = nameIn(dir, d.name, skipped)
          if (name === null) continue
          const rel = `${dir}/${name}`
          if (isTemp(name) || this.ignored(rel) || !wanted(rel)) continue
          const a = `${abs}/${name}`
          if (d.isDirectory()) units.push(rel)
          else if (d.isSymbolicLink() && isDir(a) && this.mayFollow(a)) {
            // a symlinked theme/plugin dir: record the link, record its content as if it were here
            const target = linkText(rel, a)
            if (target === null) continue
            links.push({ path: rel, target })
            units.push(rel)
          } else visitStat(rel, a, fs.lstatSync(a))
        }
      }
      for (const name of DROP_INS) {
        if (!wanted(name)) continue
        const abs = path.join(this.root, name)
        const st = lstatOrNull(abs)
        if (st && !this.ignored(name)) visitStat(name, abs, st)
      }
    } catch (e) {
      throw fsError(e, this.root, 'reading')
    }

    const req: WalkRequest = { root: this.root, units, next: new Int32Array(new SharedArrayBuffer(4)), ignoreFiles: this.ignoreFiles }
    const remote = units.length >= 8 && os.availableParallelism() > 1 ? this.walkElsewhere(req) : null
    const results = [walkUnits(req)]
    if (remote) results.push(await remote)
    for (const r of results) {
      // a file that vanished mid-walk is a plugin update in progress: the recorder scans again
      if (r.error?.code === 'ENOENT') throw new PeakguardError('CHANGED_WHILE_RECORDING', `${r.error.path} vanished while wp-content was being read`)
      if (r.error) throw fsError(Object.assign(new Error(r.error.message), { code: r.error.code }), r.error.path, 'reading')
      skipped.push(...r.skipped)
      r.paths.forEach((rel, i) => visit(rel, r.nums, i * FIELDS, r.linkTexts[i]))
    }

    const blobs = await hashFiles(pending.map((p) => path.join(this.root, p.entry.path)))
    pending.forEach(({ entry, size, mtimeMs, ctimeMs, ino }, i) => {
      const blob = blobs[i]
      // gone, or swapped for a symlink, since it was listed: a plugin update in progress; the recorder scans again
      if (!blob) throw new PeakguardError('CHANGED_WHILE_RECORDING', `${entry.path} was removed or replaced while wp-content was being read`)
      entry.blob = blob
      if (mtimeMs < racyAfter && ctimeMs < racyAfter) fresh.set(entry.path, [size, mtimeMs, ctimeMs, ino, blob])
    })
    this.memo = fresh
    if (pending.length > 0 || !old || old.size !== fresh.size) this.saveCache(fresh)
    return { files, links, dirs, skipped: skipped.sort() }
  }

  /** Whether a link at `abs` with this text would lead into wp-content or a followLinksInto place. */
  private leadsInside(abs: string, target: string): boolean {
    let dir = path.resolve(path.dirname(abs), target)
    const rest: string[] = []
    // the target may not exist yet: its nearest existing ancestor decides where it really is
    while (!fs.existsSync(dir) && dir !== path.dirname(dir)) {
      rest.unshift(path.basename(dir))
      dir = path.dirname(dir)
    }
    let real: string
    try {
      real = path.join(fs.realpathSync(dir), ...rest)
    } catch {
      return false
    }
    return this.followRoots.some((r) => real === r || real.startsWith(`${r}/`))
  }

  /**
   * A symlinked theme/plugin directory is followed only into wp-content or a configured place (Debian's
   * /usr/share/wordpress): one planted elsewhere (to /root, /etc) is recorded as a link, its target never read.
   */
  private mayFollow(abs: string): boolean {
    let real: string
    try {
      real = fs.realpathSync(abs)
    } catch {
      return false
    }
    // never wp-content itself or a folder holding the link (themes/current → ..): that is no theme or
    // plugin, and reading it would record uploads and the rest of wp-content as its files
    const here = path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs))
    if (real === this.followRoots[0] || here.startsWith(`${real}/`)) return false
    return this.followRoots.some((r) => real === r || real.startsWith(`${r}/`))
  }

  /**
   * The same walk on a worker thread, kept for a few seconds after its last walk (a restore scans twice
   * in a row) and then ended: an idle daemon does full walks only every few minutes, and a parked V8
   * isolate would cost it ~10 MB for nothing.
   */
  private walkElsewhere(req: WalkRequest): Promise<WalkResult> {
    if (this.walkerIdle) clearTimeout(this.walkerIdle)
    if (!this.walker) {
      const here = fileURLToPath(import.meta.url)
      this.walker = new Worker(new URL(`./tree-walk.worker${path.extname(here)}`, import.meta.url))
    }
    const w = this.walker
    w.ref() // keep the process alive while it works; unref'd after, so it never holds an exit
    return new Promise<WalkResult>((resolve, reject) => {
      const done = () => {
        w.off('message', onMessage)
        w.off('error', onError)
        w.unref()
        this.walkerIdle = setTimeout(() => {
          if (this.walker === w) this.walker = null
          void w.terminate()
        }, WALKER_IDLE_MS)
        this.walkerIdle.unref()
      }
      const onMessage = (r: WalkResult) => {
        done()
        resolve(r)
      }
      const onError = (e: Error) => {
        done()
        this.walker = null
        reject(e)
      }
      w.on('message', onMessage)
      w.on('error', onError)
      w.postMessage(req)
    })
  }

  private loadCache(): Map<string, CacheRow> | null {
    if (this.memo) return this.memo
    try {
      const c = v8.deserialize(fs.readFileSync(this.cacheFile)) as StatCache
      return c.v === 2 && c.root === this.root ? c.entries : null
    } catch {
      return null
    }
  }

  /**
   * Written behind the scan (the next turn of the event loop, still before the process exits): the cache
   * only saves work, so neither its cost nor a failure to write it (full disk) holds up a snapshot.
   */
  private saveCache(entries: Map<string, CacheRow>): void {
    setImmediate(() => this.writeCache(entries))
  }

  private writeCache(entries: Map<string, CacheRow>): void {
    if (this.memo !== entries) return // a newer scan has replaced it
    try {
      const tmp = `${this.cacheFile}.${process.pid}.tmp`
      fs.writeFileSync(tmp, v8.serialize({ v: 2, root: this.root, entries } satisfies StatCache), { mode: 0o600 })
      fs.renameSync(tmp, this.cacheFile)
    } catch {
      fs.rmSync(`${this.cacheFile}.${process.pid}.tmp`, { force: true })
    }
  }

  async inspect(paths: string[]): Promise<Map<string, FileEntry | null>> {
    const out = new Map<string, FileEntry | null>()
    for (const rel of paths) {
      const abs = path.join(this.root, rel)
      const st = lstatOrNull(abs)
      if (st?.isSymbolicLink()) {
        const text = fs.readlinkSync(abs)
        out.set(rel, { path: rel, kind: 'symlink', blob: gitBlobId(Buffer.from(text)), mode: 0o777, uid: st.uid, gid: st.gid })
      } else if (st?.isFile()) {
        const blob = hashFile(abs)
        out.set(rel, blob ? { path: rel, kind: 'file', blob, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } : null)
      } else out.set(rel, null)
    }
    return out
  }

  async linksAre(links: LinkedDir[]): Promise<boolean> {
    return links.every((l) => {
      const abs = path.join(this.root, l.path)
      return lstatOrNull(abs)?.isSymbolicLink() === true && fs.readlinkSync(abs) === l.target
    })
  }

  async inspectDirs(paths: string[]): Promise<Map<string, DirEntry | null>> {
    const out = new Map<string, DirEntry | null>()
    for (const rel of paths) {
      const abs = path.join(this.root, rel)
      // a unit's own directory is read through its link, as the scan reads it
      const st = rel.split('/').length === 2 ? statOrNull(abs) : lstatOrNull(abs)
      out.set(rel, st?.isDirectory() ? { path: rel, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid } : null)
    }
    return out
  }

  async setDirMeta(entry: DirEntry): Promise<void> {
    const abs = path.join(this.root, entry.path)
    try {
      let st = lstatOrNull(abs)
      if (!st) {
        fs.mkdirSync(abs, { mode: 0o700 }) // parents come first (the caller sorts); mode and owner follow
        st = fs.lstatSync(abs)
      }
      if (!st.isDirectory()) return // a link or a file in its place: theirs is the FileChange's to handle
      // through a descriptor opened without following links (a directory swapped for a link since the
      // lstat must not lend root's chown to its target)
      const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_DIRECTORY)
      try {
        const now = fs.fstatSync(fd)
        if (now.uid !== entry.uid || now.gid !== entry.gid) fs.fchownSync(fd, entry.uid, entry.gid)
        if ((now.mode & 0o7777) !== entry.mode) fs.fchmodSync(fd, entry.mode)
      } finally {
        fs.closeSync(fd)
      }
    } catch (e) {
      throw fsError(e, abs)
    }
  }

  async removeDirIfEmpty(rel: string): Promise<void> {
    const abs = path.join(this.root, rel)
    try {
      const st = lstatOrNull(abs)
      if (st?.isDirectory() && fs.readdirSync(abs).length === 0) fs.rmdirSync(abs)
    } catch (e) {
      throw fsError(e, abs)
    }
  }

  locate(rel: string): string {
    return path.join(this.root, rel)
  }

  async read(rel: string, limit?: number): Promise<Uint8Array> {
    const abs = path.join(this.root, rel)
    try {
      const st = fs.lstatSync(abs)
      if (st.isSymbolicLink()) return Buffer.from(fs.readlinkSync(abs))
      if (limit === undefined || st.size <= limit) return fs.readFileSync(abs)
      // only the head: a plugin's header is in its first 8 KiB, its main file may be megabytes
      const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
      try {
        const buf = Buffer.alloc(limit)
        return buf.subarray(0, fs.readSync(fd, buf, 0, limit, 0))
      } finally {
        fs.closeSync(fd)
      }
    } catch (e) {
      throw fsError(e, abs, 'reading')
    }
  }

  async assertWritable(paths: string[], links: Map<string, LinkedDir>, removedFirst: ReadonlySet<string> = new Set(), relinkedFirst: ReadonlySet<string> = new Set()): Promise<void> {
    const checked = new Map<string, string | null>() // dir rel → problem or null
    for (const p of paths) {
      const parts = p.split('/')
      for (let i = 1; i < parts.length; i++) {
        const rel = parts.slice(0, i).join('/')
        let problem = checked.get(rel)
        if (problem === undefined) {
          problem = null
          const abs = path.join(this.root, rel)
          const st = lstatOrNull(abs)
          if (st?.isSymbolicLink() && !removedFirst.has(rel)) {
            const target = fs.readlinkSync(abs)
            const recorded = links.get(rel)
            // a link the plan re-points first (current → versions/v2 back to versions/v1) is written through
            // as recorded: allowed where the recorded target leads into wp-content or a followLinksInto place
            const repointed = recorded && relinkedFirst.has(rel) && this.leadsInside(abs, recorded.target)
            if (!recorded || (recorded.target !== target && !repointed))
              problem = `${rel} is a symlink to ${target}${recorded ? ` (the state recorded ${recorded.target})` : ', which the state does not record'}: writing through it would leave wp-content`
          }
          checked.set(rel, problem)
        }
        if (problem) throw new PeakguardError('UNSAFE_PATH', `refusing to restore ${p}: ${problem}`)
      }
    }
    // a read-only file system (or a non-root daemon without rights) is found before anything is written
    const dirs = new Set(paths.map((p) => this.existingAncestor(path.dirname(path.join(this.root, p)))))
    for (const d of dirs) {
      try {
        fs.accessSync(d, fs.constants.W_OK)
      } catch (e) {
        throw fsError(e, d)
      }
    }
  }

  private existingAncestor(dir: string): string {
    let d = dir
    while (d.startsWith(this.root) && d !== this.root && !isDir(d)) d = path.dirname(d)
    return d
  }

  async write(entry: FileEntry, content: Uint8Array): Promise<void> {
    const abs = path.join(this.root, entry.path)
    const dir = path.dirname(abs)
    const tmp = path.join(dir, `${TEMP_PREFIX}${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`)
    try {
      if (entry.kind === 'symlink') {
        this.inDir(dir, entry, () => fs.symlinkSync(Buffer.from(content).toString('utf8'), tmp))
        fs.lchownSync(tmp, entry.uid, entry.gid)
      } else {
        // owner and mode set on the open descriptor, before the file is visible under its name
        const fd = this.inDir(dir, entry, () => fs.openSync(tmp, 'wx', 0o600))
        try {
          for (let done = 0; done < content.length; ) done += fs.writeSync(fd, content, done)
          fs.fchownSync(fd, entry.uid, entry.gid)
          fs.fchmodSync(fd, entry.mode)
        } finally {
          fs.closeSync(fd)
        }
      }
      try {
        fs.renameSync(tmp, abs)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e
        moveAside(abs) // a directory where the file goes
        fs.renameSync(tmp, abs)
      }
    } catch (e) {
      fs.rmSync(tmp, { force: true })
      throw fsError(e, abs)
    }
  }

  /** Runs `create` in `dir`, making the directory first when it is missing (the common case needs no stat). */
  private inDir<T>(dir: string, entry: FileEntry, create: () => T): T {
    try {
      return create()
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw e
      this.makeDirs(dir, entry)
      return create()
    }
  }

  /** Creates missing directories with the owner of the file that needs them. */
  private makeDirs(dir: string, entry: FileEntry): void {
    if (isDir(dir)) return
    const missing: string[] = []
    for (let d = dir; d.startsWith(this.root) && !isDir(d); d = path.dirname(d)) {
      const st = lstatOrNull(d)
      if (st?.isSymbolicLink()) {
        // a linked theme/plugin directory whose folder is gone (assertWritable let the link through: it
        // is recorded): the folder is made again where the link leads, and the link stays a link
        const text = fs.readlinkSync(d)
        if (!this.leadsInside(d, text)) throw new PeakguardError('UNSAFE_PATH', `refusing to write below ${d}: it is a link to ${text}, outside wp-content`)
        this.makeDirs(path.resolve(path.dirname(d), text), entry)
        break
      }
      if (st) fs.rmSync(d) // a file where a directory must go
      missing.unshift(d)
    }
    for (const d of missing) {
      fs.mkdirSync(d, { mode: 0o755 })
      fs.chownSync(d, entry.uid, entry.gid)
    }
  }

  async setMeta(entry: FileEntry): Promise<void> {
    const abs = path.join(this.root, entry.path)
    try {
      if (entry.kind === 'symlink') fs.lchownSync(abs, entry.uid, entry.gid)
      else {
        // through a descriptor opened without following links: a file swapped for a symlink since the
        // scan (by anyone who can write wp-content) must not lend root's chown to its target
        const fd = fs.openSync(abs, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK)
        try {
          if (!fs.fstatSync(fd).isFile()) throw Object.assign(new Error(`${abs} is no longer a regular file`), { code: 'ECHANGED' })
          fs.fchownSync(fd, entry.uid, entry.gid)
          fs.fchmodSync(fd, entry.mode)
        } finally {
          fs.closeSync(fd)
        }
      }
    } catch (e) {
      throw fsError(e, abs)
    }
  }

  async remove(rel: string): Promise<void> {
    const abs = path.join(this.root, rel)
    try {
      fs.rmSync(abs, { force: true })
      // drop directories the removal emptied, up to (not including) themes/, plugins/, mu-plugins/
      const parts = rel.split('/')
      for (let i = parts.length - 1; i >= 2; i--) {
        const d = path.join(this.root, ...parts.slice(0, i))
        const st = lstatOrNull(d)
        if (!st?.isDirectory() || fs.readdirSync(d).length > 0) break
        fs.rmdirSync(d)
      }
    } catch (e) {
      throw fsError(e, abs)
    }
  }

  async setLink(rel: string, link: LinkedDir | null): Promise<void> {
    const abs = path.join(this.root, rel)
    try {
      const st = lstatOrNull(abs)
      if (!link) {
        if (st?.isSymbolicLink()) fs.unlinkSync(abs)
        return
      }
      if (st?.isSymbolicLink() && fs.readlinkSync(abs) === link.target) return
      if (st?.isSymbolicLink()) fs.unlinkSync(abs)
      else if (st) moveAside(abs)
      fs.mkdirSync(path.dirname(abs), { recursive: true })
      fs.symlinkSync(link.target, abs)
    } catch (e) {
      throw fsError(e, abs)
    }
  }

  async removeTemporaries(): Promise<number> {
    let n = 0
    const walk = (abs: string, depth: number): void => {
      for (const d of safeReaddir(abs)) {
        const p = `${abs}/${d.name}`
        if (isTemp(d.name) && d.name.endsWith(TEMP_SUFFIX)) {
          fs.rmSync(p, { force: true })
          n++
        } else if (d.isDirectory() || (depth === 0 && d.isSymbolicLink() && isDir(p) && this.mayFollow(p))) walk(p, depth + 1)
      }
    }
    // never into a place a scan would not read (a scope directory or unit linked out of the confinement)
    for (const dir of SCOPE_DIRS) {
      const abs = path.join(this.root, dir)
      if (isDir(abs) && (!lstatOrNull(abs)?.isSymbolicLink() || this.mayFollow(abs))) walk(abs, 0)
    }
    for (const d of safeReaddir(this.root)) if (isTemp(d.name) && d.name.endsWith(TEMP_SUFFIX)) fs.rmSync(path.join(this.root, d.name), { force: true })
    return n
  }
}

/** How long the walker thread waits for the next walk before it is ended. */
const WALKER_IDLE_MS = 5_000

/** Blob ids of many files: in child processes when there are many (a first scan), inline otherwise. */
async function hashFiles(files: string[]): Promise<(string | null)[]> {
  const procs = Math.min(os.availableParallelism(), 4)
  try {
    if (files.length < 512 || procs < 2) return files.map(hashFile)
    const here = fileURLToPath(import.meta.url)
    const url = new URL(`./file-hash.worker${path.extname(here)}`, import.meta.url)
    const shares = Array.from({ length: procs }, (_, i) => files.filter((_, j) => j % procs === i))
    const results = await Promise.all(shares.map((share) => inChild<(string | null)[]>(url, 'file-hash', share)))
    return files.map((_, j) => (results[j % procs] as (string | null)[])[Math.floor(j / procs)] ?? null)
  } catch (e) {
    throw fsError(e, (e as NodeJS.ErrnoException).path ?? 'wp-content', 'reading')
  }
}

/** peakguard's own names (temporary files, directories moved aside): never state, never walked. */
function isTemp(name: string): boolean {
  return name.startsWith(TEMP_PREFIX)
}

/**
 * A directory that a restore replaces (by a file or a link) is renamed to a hidden sibling instead of
 * deleted: the safety snapshot holds what was in scope, but not ignored files such as a theme's .git.
 * WordPress skips hidden directories, and the scan skips peakguard's names.
 */
function moveAside(abs: string): void {
  fs.renameSync(abs, path.join(path.dirname(abs), `${TEMP_PREFIX}replaced-${path.basename(abs)}-${Date.now()}`))
}

function statOrNull(p: string): fs.Stats | null {
  try {
    return fs.statSync(p)
  } catch {
    return null
  }
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p)
  } catch {
    return null
  }
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

function safeReaddir(p: string): fs.Dirent[] {
  try {
    return fs.readdirSync(p, { withFileTypes: true })
  } catch {
    return []
  }
}

/** The error for a failed file operation; `doing` tells a refused read ("cannot read") from a refused write. */
function fsError(e: unknown, p: string, doing: 'reading' | 'writing' = 'writing'): PeakguardError {
  // a walk names the file it was refused (deep inside `p`) in the error itself
  if (doing === 'reading') return fsFailure(e, { doing, what: (e as NodeJS.ErrnoException).path ?? p, hint: { refused: "peakguard must be able to read all of wp-content (run it as root or as the site's owner)" } })
  return fsFailure(e, { doing, what: p, hint: { full: 'free some space and run the restore again' } })
}
