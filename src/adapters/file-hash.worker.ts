// Computes git blob ids of files — part of the wp-files adapter, run on worker threads when many files
// need hashing (a first scan, or one after the stat cache was lost), so reading and hashing use every core.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'

/** The git blob id of a file's bytes, or null when the file is gone. */
export function hashFile(file: string): string | null {
  let content: Buffer
  try {
    content = fs.readFileSync(file)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex')
}

if (!isMainThread && parentPort) {
  const files = workerData as string[]
  parentPort.postMessage(files.map(hashFile))
}
