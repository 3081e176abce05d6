// Computes git blob ids of files — part of the wp-files adapter, run in short-lived child processes when
// many files need hashing (a first scan, a large plugin update), so reading and hashing use every core and
// the memory that reading thousands of files leaves behind goes back to the system when they exit.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { serveBatch } from './batch.worker.ts'

/**
 * The git blob id of a file's bytes, or null when the file is gone — or was swapped for a symlink since
 * it was listed: it is opened without following a final link, so a link planted in that moment is never
 * read through (the next scan records it as a link).
 */
export function hashFile(file: string): string | null {
  let fd: number
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ELOOP') return null
    throw e
  }
  try {
    // git's header needs the length first; the bytes then go through one buffer reused for every file:
    // reading each file into a new Buffer left hundreds of MB of freed-but-resident heap behind (glibc
    // keeps it in per-thread arenas), which a long-running daemon would carry for good
    const size = fs.fstatSync(fd).size
    const hash = createHash('sha1').update(`blob ${size}\0`)
    let total = 0
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, null)
      if (n === 0) break
      hash.update(chunk.subarray(0, n))
      total += n
    }
    // a file that grew or shrank while it was read: its header would lie; read as a whole again
    if (total !== size) return hashWhole(fd)
    return hash.digest('hex')
  } finally {
    fs.closeSync(fd)
  }
}

/** One read buffer per thread, allocated outside the per-file churn. */
const chunk = Buffer.allocUnsafeSlow(1 << 20)

function hashWhole(fd: number): string {
  const parts: Buffer[] = []
  for (let pos = 0; ; ) {
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos)
    if (n === 0) break
    parts.push(Buffer.from(chunk.subarray(0, n)))
    pos += n
  }
  const content = Buffer.concat(parts)
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}

serveBatch('file-hash', (files: string[]) => files.map(hashFile))
