// The git blob id of some bytes: what the real adapters compute (on disk, in MariaDB, in git), so a
// memory adapter's states are interchangeable with a real one's.
import { createHash } from 'node:crypto'

export function blobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex')
}

export const EMPTY_BLOB = blobId(new Uint8Array(0))

/** A copy of some bytes: a caller that reuses its buffer never changes what an adapter keeps. */
export function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b)
}
