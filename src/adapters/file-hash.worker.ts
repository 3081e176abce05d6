// Computes git blob ids of files — part of the wp-files adapter, run on worker threads when many files
// need hashing (a first scan, or one after the stat cache was lost), so reading and hashing use every core.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'

/**
 * The git blob id of a file's bytes, or null when the file is gone — or was swapped for a symlink since
 * it was listed: it is opened without following a final link, so a link planted in that moment is never
 * read through (the next scan records it as a link).
 */
export function hashFile(file: string): string | null {
  let content: Buffer
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
    try {
      content = fs.readFileSync(fd)
    } finally {
      fs.closeSync(fd)
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ELOOP') return null
    throw e
  }
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}

if (!isMainThread && parentPort) {
  const files = workerData as string[]
  parentPort.postMessage(files.map(hashFile))
}
