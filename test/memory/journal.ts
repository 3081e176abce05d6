// JournalPort in memory: commits in an array, blobs in a map. Like the git journal it stores the bytes it
// is handed (re-hashing files, refusing one that changed since the scan), answers unknown ids with
// GIT_FAILED and keeps marks by commit id. Files are read through `readLocated`, the memory counterpart
// of git reading the path `filePath` names (see MemoryFiles.contentAt).
import { createHash } from 'node:crypto'
import type { CommitRecord, CommitRequest, JournalPort, Mark, SiteState } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { blobId, copyBytes } from './blob-id.ts'

interface Commit {
  id: string
  parent: string | null
  state: SiteState
  record: CommitRecord
}

export function cloneState(s: SiteState): SiteState {
  return {
    files: new Map([...s.files].map(([k, v]) => [k, { ...v }])),
    links: new Map([...s.links].map(([k, v]) => [k, { ...v }])),
    options: new Map([...s.options].map(([k, v]) => [k, { ...v }])),
    ...(s.dirs && s.dirs.size ? { dirs: new Map([...s.dirs].map(([k, v]) => [k, { ...v }])) } : {}),
    ...(s.sources ? { sources: new Set(s.sources) } : {}),
    // a schema is never changed in place: sharing it is safe
    ...(s.schema ? { schema: s.schema } : {}),
  }
}

// as the git journal's: control characters never reach a message or a trailer
const clean = (t: string) => t.replace(/[\x00-\x1f\x7f]+/g, ' ').replace(/\s+/g, ' ').trim()

export class MemoryJournal implements JournalPort {
  private readonly commits: Commit[] = []
  private readonly blobs = new Map<string, Uint8Array>()
  private readonly good = new Map<string, Mark>()
  private readonly readLocated: (location: string) => Uint8Array
  private readonly now: () => number
  private seq = 0

  constructor(readLocated: (location: string) => Uint8Array, now: () => number = Date.now) {
    this.readLocated = readLocated
    this.now = now
  }

  async head(): Promise<string | null> {
    return this.commits.at(-1)?.id ?? null
  }

  private find(id: string): Commit {
    const c = this.commits.find((x) => x.id === id)
    if (!c) throw new PeakguardError('GIT_FAILED', `git ls-tree failed: fatal: not a tree object: ${id}`)
    return c
  }

  async readState(id: string): Promise<SiteState> {
    return cloneState(this.find(id).state)
  }

  async commit(req: CommitRequest): Promise<string> {
    const added = new Map<string, Uint8Array>()
    for (const f of req.diff.files) {
      if (!f.content || !f.to) continue
      if (this.blobs.has(f.to.blob) || added.has(f.to.blob) || (f.to.kind === 'file' && req.existingBlobs?.has(f.to.blob))) continue
      const bytes = f.to.kind === 'file' ? this.readLocated(req.filePath(f.path)) : await req.fileContent(f.path)
      if (blobId(bytes) !== f.to.blob) throw new PeakguardError('CHANGED_WHILE_RECORDING', `${f.path} changed while it was being recorded; nothing was recorded`)
      added.set(f.to.blob, copyBytes(bytes))
    }
    const state = cloneState(req.state)
    for (const o of req.diff.options) {
      if (o.change === 'removed' || !o.value) continue
      const bytes = copyBytes(req.optionValue(o.table, o.name))
      const id = blobId(bytes)
      added.set(id, bytes)
      // the journal holds the bytes it was given: their id is the row's blob from now on
      const key = `${o.table}\u0000${o.name}`
      const entry = state.options.get(key)
      if (entry) state.options.set(key, { ...entry, blob: id })
    }
    for (const [id, b] of added) this.blobs.set(id, b)
    const id = createHash('sha1').update(`${req.parent}\n${++this.seq}\n${Math.random()}`).digest('hex')
    const time = new Date(Math.floor(this.now() / 1000) * 1000).toISOString()
    const trailers = Object.fromEntries(Object.entries(req.trailers).map(([k, v]) => [k, clean(v)]))
    this.commits.push({ id, parent: req.parent, state, record: { id, time, subject: clean(req.subject), trailers } })
    return id
  }

  async readBlobs(ids: string[], each: (id: string, bytes: Uint8Array) => Promise<void> | void): Promise<void> {
    for (const id of ids) {
      const b = this.blobs.get(id)
      if (!b) throw new PeakguardError('GIT_FAILED', `journal object ${id} is missing or not a blob (${id} missing)`)
      await each(id, copyBytes(b))
    }
  }

  async log(): Promise<CommitRecord[]> {
    return this.commits.map((c) => ({ ...c.record, trailers: { ...c.record.trailers } })).reverse()
  }

  async resolvePrefix(prefix: string): Promise<string[]> {
    return (await this.log()).map((c) => c.id).filter((id) => id.startsWith(prefix))
  }

  async marks(): Promise<Mark[]> {
    return [...this.good.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((m) => ({ ...m }))
  }

  async mark(id: string, note: string): Promise<void> {
    this.find(id)
    this.good.set(id, { id, note: note.trim() === 'known-good' ? '' : note.trim(), time: new Date(Math.floor(this.now() / 1000) * 1000).toISOString() })
  }

  async unmark(id: string): Promise<boolean> {
    return this.good.delete(id)
  }

  async check(): Promise<string[]> {
    const problems: string[] = []
    for (const c of this.commits) for (const f of c.state.files.values()) if (!this.blobs.has(f.blob)) problems.push(`missing blob ${f.blob} (${f.path} in ${c.id})`)
    return problems
  }

  async maintain(): Promise<null> {
    return null
  }
}
