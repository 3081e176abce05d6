// LiveFilesPort in memory: wp-content as maps of files, directories and linked theme/plugin directories.
// It keeps the rules the real WpFiles keeps where services rely on them: only themes/, plugins/,
// mu-plugins/ and the drop-ins are in scope; blob ids are git's; a write makes missing directories and
// replaces a directory in its way; a removal takes the directories it empties up to the unit; a path
// through a symlink the state does not record is refused with UNSAFE_PATH. What lives below a linked
// directory belongs to its target: unlinking puts it aside under the target, linking brings it back.
import path from 'node:path'
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
} from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { blobId, copyBytes } from './blob-id.ts'

interface Node {
  kind: 'file' | 'symlink'
  bytes: Uint8Array
  mode: number
  uid: number
  gid: number
}

/** What a linked directory's target holds, relative to it. */
interface Tree {
  nodes: Map<string, Node>
  dirs: Map<string, Omit<DirEntry, 'path'>>
}

const under = (p: string, dir: string) => p.startsWith(`${dir}/`)
const parentsOf = (p: string) => p.split('/').slice(0, -1).map((_, i, parts) => parts.slice(0, i + 1).join('/'))

export class MemoryFiles implements LiveFilesPort {
  /** where this wp-content "is": locate() answers below it, and link targets resolve against it */
  readonly root: string
  private readonly nodes = new Map<string, Node>()
  private readonly dirs = new Map<string, DirEntry>()
  private readonly links = new Map<string, string>()
  private readonly targets = new Map<string, Tree>()
  private readonly ignored: (p: string) => boolean
  private readonly followInto: string[]
  /** a test's fault: writes to matching paths fail as on a full disk */
  failWrites: ((path: string) => boolean) | null = null

  constructor(o: { root?: string; ignoreFiles?: readonly string[]; followLinksInto?: readonly string[] } = {}) {
    this.root = o.root ?? '/memory/wp-content'
    this.ignored = ignoreRules([], o.ignoreFiles ?? []).file
    this.followInto = [this.root, ...(o.followLinksInto ?? [])]
  }

  // ── the world outside the port: what a user (or a plugin update) does to wp-content ────────────────

  /** Writes a file as a user would: missing parent directories are made (0755, root). */
  put(p: string, content: string | Uint8Array, meta: { mode?: number; uid?: number; gid?: number } = {}): void {
    this.makeParents(p, meta.uid ?? 0, meta.gid ?? 0)
    this.nodes.set(p, { kind: 'file', bytes: typeof content === 'string' ? new TextEncoder().encode(content) : copyBytes(content), mode: meta.mode ?? 0o644, uid: meta.uid ?? 0, gid: meta.gid ?? 0 })
  }

  symlink(p: string, text: string): void {
    this.makeParents(p, 0, 0)
    this.nodes.set(p, { kind: 'symlink', bytes: new TextEncoder().encode(text), mode: 0o777, uid: 0, gid: 0 })
  }

  /** Puts content at a link target (a directory outside wp-content, like /usr/share/wordpress/themes/x). */
  fillTarget(target: string, files: Record<string, string>): void {
    const t: Tree = { nodes: new Map(), dirs: new Map([['', { mode: 0o755, uid: 0, gid: 0 }]]) }
    for (const [p, c] of Object.entries(files)) {
      t.nodes.set(p, { kind: 'file', bytes: new TextEncoder().encode(c), mode: 0o644, uid: 0, gid: 0 })
      for (const d of parentsOf(p)) t.dirs.set(d, { mode: 0o755, uid: 0, gid: 0 })
    }
    this.targets.set(target, t)
  }

  mkdir(p: string, mode = 0o755): void {
    this.makeParents(`${p}/x`, 0, 0)
    this.dirs.set(p, { path: p, mode, uid: 0, gid: 0 })
  }

  rm(p: string): void {
    this.nodes.delete(p)
    for (const k of [...this.nodes.keys()]) if (under(k, p)) this.nodes.delete(k)
    for (const k of [...this.dirs.keys()]) if (k === p || under(k, p)) this.dirs.delete(k)
    this.links.delete(p)
  }

  /** The bytes at a location locate() gave: what git reads when it stores a file. */
  contentAt(location: string): Uint8Array {
    const p = path.posix.relative(this.root, location)
    const n = this.nodes.get(p)
    if (!n || n.kind !== 'file') throw new PeakguardError('CHANGED_WHILE_RECORDING', `${p} was removed or replaced while it was being recorded`)
    return copyBytes(n.bytes)
  }

  // ── the port ───────────────────────────────────────────────────────────────────────────────────────

  private inScope(p: string): boolean {
    const parts = p.split('/')
    if (parts.some((s) => s.startsWith(TEMP_PREFIX))) return false
    if (this.ignored(p)) return false
    if (parts.length === 1) return (DROP_INS as readonly string[]).includes(p)
    return (SCOPE_DIRS as readonly string[]).includes(parts[0] as string)
  }

  async scan(units?: ReadonlySet<string>): Promise<LiveScan> {
    const wanted = (p: string) => !units || inUnits(p, units)
    const files: FileEntry[] = []
    for (const [p, n] of this.nodes) if (this.inScope(p) && wanted(p)) files.push(this.entry(p, n))
    const links = [...this.links].filter(([p]) => wanted(p)).map(([p, target]) => ({ path: p, target }))
    const dirs = [...this.dirs.values()].filter((d) => d.path.split('/').length >= 2 && this.inScope(d.path) && wanted(d.path)).map((d) => ({ ...d }))
    return { files, links, dirs, skipped: [] }
  }

  private entry(p: string, n: Node): FileEntry {
    return { path: p, kind: n.kind, blob: blobId(n.bytes), mode: n.kind === 'symlink' ? 0o777 : n.mode, uid: n.uid, gid: n.gid }
  }

  async read(p: string, limit?: number): Promise<Uint8Array> {
    const n = this.nodes.get(p)
    if (!n) throw new PeakguardError('FS_FAILED', `${this.locate(p)}: ENOENT: no such file or directory`)
    const bytes = copyBytes(n.bytes)
    return n.kind === 'file' && limit !== undefined ? bytes.subarray(0, limit) : bytes
  }

  locate(p: string): string {
    return path.posix.join(this.root, p)
  }

  async inspect(paths: string[]): Promise<Map<string, FileEntry | null>> {
    return new Map(paths.map((p) => [p, this.nodes.has(p) ? this.entry(p, this.nodes.get(p) as Node) : null]))
  }

  private symlinkAt(rel: string): string | null {
    const link = this.links.get(rel)
    if (link !== undefined) return link
    const n = this.nodes.get(rel)
    return n?.kind === 'symlink' ? new TextDecoder().decode(n.bytes) : null
  }

  private leadsInside(rel: string, target: string): boolean {
    const real = path.posix.resolve(path.posix.dirname(this.locate(rel)), target)
    return this.followInto.some((r) => real === r || real.startsWith(`${r}/`))
  }

  async assertWritable(paths: string[], links: Map<string, LinkedDir>, removedFirst: ReadonlySet<string> = new Set(), relinkedFirst: ReadonlySet<string> = new Set()): Promise<void> {
    for (const p of paths) {
      for (const rel of parentsOf(p)) {
        const target = this.symlinkAt(rel)
        if (target === null || removedFirst.has(rel)) continue
        const recorded = links.get(rel)
        const repointed = recorded && relinkedFirst.has(rel) && this.leadsInside(rel, recorded.target)
        if (!recorded || (recorded.target !== target && !repointed))
          throw new PeakguardError('UNSAFE_PATH', `refusing to restore ${p}: ${rel} is a symlink to ${target}${recorded ? ` (the state recorded ${recorded.target})` : ', which the state does not record'}: writing through it would leave wp-content`)
      }
    }
  }

  private makeParents(p: string, uid: number, gid: number): void {
    for (const d of parentsOf(p)) {
      const n = this.nodes.get(d)
      if (n?.kind === 'symlink') throw new PeakguardError('UNSAFE_PATH', `refusing to write below ${this.locate(d)}: it is a link`)
      if (n) this.nodes.delete(d) // a file where a directory must go
      if (!this.dirs.has(d) && !this.links.has(d)) this.dirs.set(d, { path: d, mode: 0o755, uid, gid })
    }
  }

  async write(entry: FileEntry, content: Uint8Array): Promise<void> {
    if (this.failWrites?.(entry.path)) throw new PeakguardError('DISK_FULL', `no space left on the device while writing ${this.locate(entry.path)}: free some space and run the restore again`)
    this.makeParents(entry.path, entry.uid, entry.gid)
    if (this.dirs.has(entry.path)) this.rm(entry.path) // a directory where the file goes: moved aside
    this.nodes.set(entry.path, { kind: entry.kind, bytes: copyBytes(content), mode: entry.kind === 'symlink' ? 0o777 : entry.mode, uid: entry.uid, gid: entry.gid })
  }

  async linksAre(links: LinkedDir[]): Promise<boolean> {
    return links.every((l) => this.links.get(l.path) === l.target)
  }

  async inspectDirs(paths: string[]): Promise<Map<string, DirEntry | null>> {
    return new Map(paths.map((p) => [p, this.dirs.has(p) ? { ...(this.dirs.get(p) as DirEntry) } : null]))
  }

  async setDirMeta(entry: DirEntry): Promise<void> {
    if (this.nodes.has(entry.path) || this.links.has(entry.path)) return
    const parent = path.posix.dirname(entry.path)
    if (!this.dirs.has(entry.path) && parent !== '.' && !this.dirs.has(parent) && !this.links.has(parent) && !(SCOPE_DIRS as readonly string[]).includes(parent))
      throw new PeakguardError('FS_FAILED', `${this.locate(entry.path)}: ENOENT: no such file or directory, mkdir`)
    this.dirs.set(entry.path, { ...entry })
  }

  private isEmpty(p: string): boolean {
    return ![...this.nodes.keys(), ...this.dirs.keys(), ...this.links.keys()].some((k) => under(k, p))
  }

  async removeDirIfEmpty(p: string): Promise<void> {
    if (this.dirs.has(p) && this.isEmpty(p)) this.dirs.delete(p)
  }

  async setMeta(entry: FileEntry): Promise<void> {
    const n = this.nodes.get(entry.path)
    if (!n) throw new PeakguardError('FS_FAILED', `${this.locate(entry.path)}: ENOENT: no such file or directory`)
    if (n.kind === 'file') n.mode = entry.mode
    n.uid = entry.uid
    n.gid = entry.gid
  }

  async remove(p: string): Promise<void> {
    this.nodes.delete(p)
    const parts = p.split('/')
    for (let i = parts.length - 1; i >= 2; i--) {
      const d = parts.slice(0, i).join('/')
      if (!this.dirs.has(d) || this.links.has(d) || !this.isEmpty(d)) break
      this.dirs.delete(d)
    }
  }

  async setLink(p: string, link: LinkedDir | null): Promise<void> {
    const current = this.links.get(p)
    if (current !== undefined && current === link?.target) return
    if (current !== undefined) this.putAside(p, current)
    else if (link) this.rm(p)
    this.links.delete(p)
    if (!link) return
    this.links.set(p, link.target)
    const t = this.targets.get(link.target)
    for (const [sub, n] of t?.nodes ?? []) this.nodes.set(`${p}/${sub}`, { ...n, bytes: copyBytes(n.bytes) })
    for (const [sub, d] of t?.dirs ?? []) this.dirs.set(sub ? `${p}/${sub}` : p, { path: sub ? `${p}/${sub}` : p, ...d })
  }

  /** What is below a link goes with it: kept under its target, out of wp-content's view. */
  private putAside(p: string, target: string): void {
    const t: Tree = { nodes: new Map(), dirs: new Map() }
    for (const [k, n] of this.nodes) if (under(k, p)) t.nodes.set(k.slice(p.length + 1), n)
    for (const [k, d] of this.dirs) if (k === p || under(k, p)) t.dirs.set(k === p ? '' : k.slice(p.length + 1), { mode: d.mode, uid: d.uid, gid: d.gid })
    this.targets.set(target, t)
    this.rm(p)
  }

  async removeTemporaries(): Promise<number> {
    let n = 0
    for (const p of [...this.nodes.keys()]) {
      const name = p.split('/').at(-1) as string
      if (name.startsWith(TEMP_PREFIX) && name.endsWith(TEMP_SUFFIX)) {
        this.nodes.delete(p)
        n++
      }
    }
    return n
  }
}
