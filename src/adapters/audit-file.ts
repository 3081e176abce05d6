// The audit log on disk (AuditStorePort): JSON Lines in <siteDataDir>/audit/. The current segment is
// audit.jsonl; once it would grow past `rotateBytes` it is renamed to audit-<its first seq, 12 digits>.jsonl
// and a new audit.jsonl begins. Segments are never rewritten or deleted here; the chain runs across them
// because each entry carries the previous entry's hash. Every append is fsynced (and the directory, when a
// file appears), so an entry reported written survives a power cut. The lock is handed in by the composition root (compose/sites.ts).
import fs from 'node:fs'
import path from 'node:path'
import type { AuditStorePort } from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { syncDir } from './durable-file.ts'
import { checkpoint } from '../core/checkpoints.ts'

export const DEFAULT_ROTATE_BYTES = 8 * 1024 * 1024
const CURRENT = 'audit.jsonl'
const SEGMENT = /^audit-(\d{12})\.jsonl$/

export class AuditFile implements AuditStorePort {
  readonly dir: string
  private readonly rotateBytes: number
  private readonly takeLock: () => Promise<() => Promise<void>>

  constructor(dir: string, lock: () => Promise<() => Promise<void>>, opts: { rotateBytes?: number } = {}) {
    this.dir = dir
    this.takeLock = lock
    this.rotateBytes = opts.rotateBytes ?? DEFAULT_ROTATE_BYTES
  }

  private get current(): string {
    return path.join(this.dir, CURRENT)
  }

  private ensureDir(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 })
  }

  async lock(): Promise<() => Promise<void>> {
    this.ensureDir()
    return this.takeLock()
  }

  /** Segments oldest first: the rotated ones by their first seq, then the current one. */
  private segments(): string[] {
    if (!fs.existsSync(this.dir)) return []
    const names = fs.readdirSync(this.dir)
    const rotated = names.filter((n) => SEGMENT.test(n)).sort()
    return [...rotated, ...(names.includes(CURRENT) ? [CURRENT] : [])].map((n) => path.join(this.dir, n))
  }

  async append(line: string): Promise<void> {
    if (line.includes('\n')) throw new PeakguardError('INTERNAL', 'an audit line must not contain a newline')
    try {
      this.ensureDir()
      let size = fs.statSync(this.current, { throwIfNoEntry: false })?.size ?? 0
      if (size > 0 && size + line.length + 1 > this.rotateBytes) {
        this.rotate()
        size = 0
      }
      const created = size === 0 && !fs.existsSync(this.current)
      const fd = fs.openSync(this.current, 'a+', 0o600) // a+: the last byte is read to spot a torn line
      try {
        // a torn last line (a crash mid-write) stays a line of its own, which verify reports, instead of
        // swallowing the start of this entry
        const torn = size > 0 && lastByte(fd, size) !== 0x0a
        fs.writeSync(fd, `${torn ? '\n' : ''}${line}\n`)
        fs.fsyncSync(fd)
      } finally {
        fs.closeSync(fd)
      }
      if (created) syncDir(this.dir)
      checkpoint('audit:append')
    } catch (e) {
      throw fsFailure(e, { doing: 'appending to', what: `the audit log in ${this.dir}` })
    }
  }

  /** Renames audit.jsonl to audit-<first seq>.jsonl; the caller holds the lock. */
  private rotate(): void {
    const first = firstLine(this.current)
    let seq: number | null = null
    try {
      seq = (JSON.parse(first ?? '') as { seq?: unknown }).seq as number
    } catch {
      /* an unparseable first line: name the segment by time instead, still sorted after older ones */
    }
    const name = typeof seq === 'number' && Number.isSafeInteger(seq) ? `audit-${String(seq).padStart(12, '0')}.jsonl` : null
    const target = path.join(this.dir, name ?? `audit-${String(Date.now()).padStart(12, '0').slice(-12)}.jsonl`)
    if (fs.existsSync(target)) throw new PeakguardError('FS_FAILED', `cannot rotate the audit log: ${target} already exists`)
    fs.renameSync(this.current, target)
    syncDir(this.dir)
  }

  async readAll(): Promise<{ line: string; where: string }[]> {
    const out: { line: string; where: string }[] = []
    for (const f of this.segments()) {
      const lines = fs.readFileSync(f, 'utf8').split('\n')
      if (lines[lines.length - 1] === '') lines.pop()
      lines.forEach((line, i) => out.push({ line, where: `${f}:${i + 1}` }))
    }
    return out
  }

  async last(): Promise<string | null> {
    const segs = this.segments()
    for (let i = segs.length - 1; i >= 0; i--) {
      const l = lastLine(segs[i] as string)
      if (l !== null) return l
    }
    return null
  }
}

function lastByte(fd: number, size: number): number {
  const b = Buffer.alloc(1)
  fs.readSync(fd, b, 0, 1, size - 1)
  return b[0] as number
}

function firstLine(file: string): string | null {
  const fd = fs.openSync(file, 'r')
  try {
    const buf = Buffer.alloc(64 * 1024)
    const n = fs.readSync(fd, buf, 0, buf.length, 0)
    const text = buf.subarray(0, n).toString('utf8')
    const i = text.indexOf('\n')
    return i < 0 ? text || null : text.slice(0, i)
  } finally {
    fs.closeSync(fd)
  }
}

/** The last non-empty line, read from the end in chunks (the file may be megabytes). */
function lastLine(file: string): string | null {
  let fd: number
  try {
    fd = fs.openSync(file, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
  try {
    const size = fs.fstatSync(fd).size
    let end = size
    let tail = Buffer.alloc(0)
    while (end > 0) {
      const start = Math.max(0, end - 64 * 1024)
      const chunk = Buffer.alloc(end - start)
      fs.readSync(fd, chunk, 0, chunk.length, start)
      tail = Buffer.concat([chunk, tail])
      end = start
      const text = tail.toString('utf8').replace(/\n+$/, '')
      const i = text.lastIndexOf('\n')
      if (i >= 0) return text.slice(i + 1)
      if (end === 0) return text || null
    }
    return null
  } finally {
    fs.closeSync(fd)
  }
}
