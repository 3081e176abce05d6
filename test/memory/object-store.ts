// ObjectStorePort in memory: one site's folder of an S3 bucket as a map of keys to bytes, shared by every
// store made on the same `bucket` (a second site's folder sits beside it). Plain, unencrypted objects:
// the stored size is the plain size and a content id is the SHA-256's first 16 hex digits, as S3Store
// without a key. A missing key fails with S3_FAILED, as S3's NoSuchKey does.
import fs from 'node:fs'
import type { ObjectStorePort, RemoteObject } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { copyBytes } from './blob-id.ts'

export type MemoryBucket = Map<string, { bytes: Uint8Array; lastModified: string }>

export class MemoryObjectStore implements ObjectStorePort {
  readonly location: string
  readonly encrypted = false
  private readonly bucket: MemoryBucket
  private readonly root: string

  constructor(site: string, bucket: MemoryBucket = new Map(), prefix = '') {
    this.bucket = bucket
    this.root = `${prefix ? `${prefix}/` : ''}${site}/`
    this.location = `memory://bucket/${this.root}`
  }

  storedSize(plainBytes: number): number {
    return plainBytes
  }

  contentId(sha256: string): string {
    return sha256.slice(0, 16)
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<{ bytes: number }> {
    this.bucket.set(this.root + key, { bytes: copyBytes(bytes), lastModified: new Date().toISOString() })
    return { bytes: bytes.length }
  }

  async putFile(key: string, file: string): Promise<{ bytes: number }> {
    return this.putBytes(key, fs.readFileSync(file))
  }

  private object(key: string): Uint8Array {
    const o = this.bucket.get(this.root + key)
    if (!o) throw new PeakguardError('S3_FAILED', `S3 GetObject of ${this.location}${key} failed (NoSuchKey, HTTP 404): The specified key does not exist.`, { details: { permanent: false } })
    return copyBytes(o.bytes)
  }

  async getBytes(key: string): Promise<Uint8Array> {
    return this.object(key)
  }

  async getFile(key: string, file: string): Promise<void> {
    const bytes = this.object(key)
    fs.writeFileSync(`${file}.tmp`, bytes, { mode: 0o600 })
    fs.renameSync(`${file}.tmp`, file)
  }

  async list(under: string): Promise<RemoteObject[]> {
    const out: RemoteObject[] = []
    for (const [k, o] of this.bucket) if (k.startsWith(this.root + under)) out.push({ key: k.slice(this.root.length), size: o.bytes.length, lastModified: o.lastModified })
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  async remove(keys: string[]): Promise<void> {
    for (const k of keys) this.bucket.delete(this.root + k)
  }
}
