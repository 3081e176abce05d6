// Writes file contents into the journal as a git pack — part of the git-journal adapter, run in child
// processes for large batches (batch.worker.ts). Node hashes with OpenSSL's SHA-1 and deflates on several cores into one
// sequentially written file per thread, where `git add` or `git fast-import` hash with git's slower
// collision-detecting SHA-1, compress on one core, and (git add) create one file per object: an initial
// snapshot of a 30k-file wp-content is several times faster this way, and leaves no loose objects.
// The pack and its index (version 2) are written under temporary names and renamed into place, index last,
// so git never sees half a pack. Format: git's Documentation/gitformat-pack.txt.
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { serveBatch } from './batch.worker.ts'

export interface ObjectJob {
  /** absolute path of the live file */
  file: string
  /** the blob id the scan computed */
  blob: string
}

export interface ObjectResult {
  written: number
  bytes: number
  /** files whose content no longer hashes to the blob the scan computed: they changed while recording */
  changed: string[]
  /** a write error (full disk, read-only journal) as errno code and message */
  error: { code: string; message: string } | null
}

const OBJ_BLOB = 3
const MAX_PACK = 2 ** 31 - 1 // offsets stay 31-bit: a larger batch is split into several packs

/** Media and archives: deflating them costs time and saves nothing. */
function incompressible(b: Buffer): boolean {
  if (b.length < 8192) return false
  const sample = b.subarray(0, 8192)
  return zlib.deflateRawSync(sample, { level: 1 }).length > sample.length * 0.9
}

/** The pack's per-object header: type and size in a little-endian base-128 varint. */
function objectHeader(type: number, size: number): Buffer {
  const bytes: number[] = []
  let c = (type << 4) | (size & 0x0f)
  size = Math.floor(size / 16)
  while (size > 0) {
    bytes.push(c | 0x80)
    c = size & 0x7f
    size = Math.floor(size / 128)
  }
  bytes.push(c)
  return Buffer.from(bytes)
}

class PackWriter {
  private readonly fd: number
  private readonly sum = createHash('sha1')
  private offset = 0
  readonly entries: { id: Buffer; crc: number; offset: number }[] = []
  readonly tmp: string
  readonly packDir: string

  constructor(packDir: string, count: number) {
    this.packDir = packDir
    this.tmp = path.join(packDir, `tmp_pg_${randomBytes(6).toString('hex')}`)
    this.fd = fs.openSync(`${this.tmp}.pack`, 'wx', 0o444)
    const head = Buffer.alloc(12)
    head.write('PACK', 0, 'latin1')
    head.writeUInt32BE(2, 4)
    head.writeUInt32BE(count, 8)
    this.put(head)
  }

  private put(b: Buffer): void {
    for (let done = 0; done < b.length; ) done += fs.writeSync(this.fd, b, done)
    this.sum.update(b)
    this.offset += b.length
  }

  add(id: string, content: Buffer): number {
    const header = objectHeader(OBJ_BLOB, content.length)
    // level 1 with the largest hash table: the fastest deflate, ~8% faster than the default memLevel
    const z = zlib.deflateSync(content, { level: incompressible(content) ? 0 : 1, memLevel: 9 })
    this.entries.push({ id: Buffer.from(id, 'hex'), crc: zlib.crc32(z, zlib.crc32(header)), offset: this.offset })
    this.put(header)
    this.put(z)
    return header.length + z.length
  }

  /** Writes the trailer and the index, then renames both into place; returns the pack's name. */
  finish(): string {
    const packSum = this.sum.digest()
    for (let done = 0; done < packSum.length; ) done += fs.writeSync(this.fd, packSum, done)
    fs.fsyncSync(this.fd)
    fs.closeSync(this.fd)
    const sorted = [...this.entries].sort((a, b) => Buffer.compare(a.id, b.id))
    const n = sorted.length
    const idx = Buffer.alloc(8 + 256 * 4 + n * 28 + 40)
    idx.writeUInt32BE(0xff744f63, 0)
    idx.writeUInt32BE(2, 4)
    const fanout = new Uint32Array(256)
    for (const e of sorted) fanout[e.id[0] as number]!++
    let acc = 0
    for (let i = 0; i < 256; i++) idx.writeUInt32BE((acc += fanout[i] as number), 8 + i * 4)
    let o = 8 + 1024
    for (const e of sorted) o += e.id.copy(idx, o)
    for (const e of sorted) o = idx.writeUInt32BE(e.crc >>> 0, o)
    for (const e of sorted) o = idx.writeUInt32BE(e.offset, o)
    o += packSum.copy(idx, o)
    createHash('sha1').update(idx.subarray(0, o)).digest().copy(idx, o)
    const name = `pack-${packSum.toString('hex')}`
    const idxTmp = `${this.tmp}.idx`
    const fd = fs.openSync(idxTmp, 'wx', 0o444)
    try {
      for (let done = 0; done < idx.length; ) done += fs.writeSync(fd, idx, done)
      fs.fsyncSync(fd) // on disk before the ref can point at its objects
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(`${this.tmp}.pack`, path.join(this.packDir, `${name}.pack`))
    fs.renameSync(idxTmp, path.join(this.packDir, `${name}.idx`))
    return name
  }

  abandon(): void {
    try {
      fs.closeSync(this.fd)
    } catch {
      /* closed already */
    }
    fs.rmSync(`${this.tmp}.pack`, { force: true })
    fs.rmSync(`${this.tmp}.idx`, { force: true })
  }
}

/** Jobs in groups whose packs stay below 2 GiB even if nothing compresses (a pack header needs its count). */
function groups(jobs: ObjectJob[]): ObjectJob[][] {
  const out: ObjectJob[][] = [[]]
  let bytes = 0
  for (const job of jobs) {
    let size = 0
    try {
      size = fs.statSync(job.file).size
    } catch {
      /* reported when read */
    }
    const worst = size + Math.ceil(size / 16000) * 5 + 64
    if (bytes + worst > MAX_PACK && (out.at(-1) as ObjectJob[]).length > 0) {
      out.push([])
      bytes = 0
    }
    bytes += worst
    ;(out.at(-1) as ObjectJob[]).push(job)
  }
  return out
}

/** Stores every job's file as a blob in new pack(s) in `gitDir`. Jobs must have distinct blobs. */
export function writePack(gitDir: string, jobs: ObjectJob[]): ObjectResult {
  const result: ObjectResult = { written: 0, bytes: 0, changed: [], error: null }
  const packDir = path.join(gitDir, 'objects/pack')
  for (const group of groups(jobs)) {
    writeGroup(packDir, group, result)
    if (result.changed.length || result.error) break
  }
  return result
}

function writeGroup(packDir: string, jobs: ObjectJob[], result: ObjectResult): void {
  if (jobs.length === 0) return
  let pack: PackWriter | null = null
  try {
    pack = new PackWriter(packDir, jobs.length)
    for (const job of jobs) {
      let content: Buffer
      try {
        // never through a final symlink: a file swapped for one since the scan has changed
        const fd = fs.openSync(job.file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
        try {
          content = fs.readFileSync(fd)
        } finally {
          fs.closeSync(fd)
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'ENOENT' && code !== 'ELOOP') throw e
        result.changed.push(job.file) // removed or replaced since the scan
        break
      }
      const id = createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
      if (id !== job.blob) {
        result.changed.push(job.file)
        break
      }
      result.bytes += pack.add(id, content)
      result.written++
    }
    if (result.changed.length) pack.abandon()
    else pack.finish()
  } catch (e) {
    pack?.abandon()
    const err = e as NodeJS.ErrnoException
    result.error = { code: err.code ?? 'EIO', message: err.message }
  }
}

serveBatch('git-objects', ({ gitDir, jobs }: { gitDir: string; jobs: ObjectJob[] }) => writePack(gitDir, jobs))
