// One site's folder on S3 or any S3-compatible store (ObjectStorePort), through @aws-sdk/client-s3, with
// large objects in parts through @aws-sdk/lib-storage. With a key, every object is sealed client-side
// before it leaves the host: AES-256-GCM (node:crypto), a fresh 96-bit IV per object, the object's key
// as additional data (a sealed object moved to another name does not open), layout
//   "PGS1" | key id (8 bytes) | IV (12) | ciphertext | GCM tag (16)
// The master key never leaves the host; encryption, naming and the key id use separate keys derived from
// it with HKDF, so the key id printed in errors reveals nothing about the key.
// Writes are never retried by the SDK (maxAttempts 1): the replicator owns their retries, with backoff and
// jitter, each under a new key. Reads (recover, verify, prune) use the SDK's standard retries, since
// nothing else retries them. Every write carries an integrity checksum (Content-MD5, or CRC32 per part):
// a bucket with S3 Object Lock refuses uploads without one, and the server checks what arrived.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { PutObjectCommandInput, S3Client } from '@aws-sdk/client-s3'
import type { ObjectStorePort, RemoteObject } from '../core/index.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { PeakguardError } from '../errors.ts'

export interface S3Settings {
  bucket: string
  /** keys are <prefix>/<site>/…; '' puts the site folder at the bucket's root */
  prefix: string
  region: string
  endpoint: string | null
  forcePathStyle: boolean
  /** server-side encryption asked of S3 as well (none, AES256 = SSE-S3, aws:kms = SSE-KMS) */
  sse: 'none' | 'AES256' | 'aws:kms'
  kmsKeyId: string | null
  /** a request whose connection stays silent this long is abandoned (and retried by the replicator) */
  timeoutMs: number
}

/**
 * The AWS SDK, loaded by the first request: most commands on a site with a replica never talk to S3 (a restore
 * on a fleet's node, `status`), and loading the SDK is about a tenth of a second of their start.
 */
const sdk = async (): Promise<Sdk> => interop(await import('@aws-sdk/client-s3'), 'S3Client')
const storage = async (): Promise<typeof import('@aws-sdk/lib-storage')> => interop(await import('@aws-sdk/lib-storage'), 'Upload')
type Sdk = typeof import('@aws-sdk/client-s3')

/** A CommonJS package imported dynamically from the bundle (esbuild) is its module.exports under `default`. */
function interop<T extends object>(m: T, name: keyof T): T {
  return m[name] ? m : ((m as T & { default: T }).default)
}

const MAGIC = Buffer.from('PGS1')
const HEADER = MAGIC.length + 8 + 12
const TAG = 16
/** Objects larger than this go up in parts (lib-storage), 8 MB each, four at a time. */
const MULTIPART_AT = 16 * 1024 * 1024
const PART_SIZE = 8 * 1024 * 1024

/** The master key, read from a key file or an environment variable; 32 bytes as raw bytes, hex or base64. */
export function parseKey(bytes: Buffer, where: string): Buffer {
  if (bytes.length === 32) return bytes
  const text = bytes.toString('utf8').trim()
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex')
  const b64 = /^[A-Za-z0-9+/]{43}=?$/.test(text) ? Buffer.from(text, 'base64') : null
  if (b64?.length === 32) return b64
  throw new PeakguardError(
    'REPLICA_KEY',
    `${where} does not hold a 256-bit key (32 raw bytes, 64 hex digits or base64): create one with 'head -c 32 /dev/urandom > FILE && chmod 600 FILE', and keep a copy off this host`,
  )
}

/** Reads the key file; refuses one that other users may read. */
export function readKeyFile(file: string): Buffer {
  let st: fs.Stats
  try {
    st = fs.statSync(file)
  } catch (e) {
    throw new PeakguardError('REPLICA_KEY', `cannot read the replica key file ${file}: ${(e as NodeJS.ErrnoException).code}`, { cause: e })
  }
  if (st.mode & 0o077) throw new PeakguardError('REPLICA_KEY', `the replica key file ${file} can be read by other users (mode ${(st.mode & 0o777).toString(8)}): chmod 600 ${file}`)
  return parseKey(fs.readFileSync(file), file)
}

class Sealer {
  readonly id: Buffer
  private readonly enc: Buffer
  private readonly name: Buffer

  constructor(master: Buffer) {
    const derive = (info: string, n: number) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `peakguard/replica/${info}`, n))
    this.enc = derive('encrypt', 32)
    this.name = derive('name', 32)
    this.id = derive('key-id', 8)
  }

  contentId(sha256: string): string {
    return createHmac('sha256', this.name).update(sha256).digest('hex').slice(0, 16)
  }

  /** The sealed form as a stream of chunks: header, ciphertext, tag. */
  async *seal(aad: string, plain: AsyncIterable<Buffer> | Iterable<Buffer>): AsyncGenerator<Buffer> {
    const iv = randomBytes(12)
    const c = createCipheriv('aes-256-gcm', this.enc, iv)
    c.setAAD(Buffer.from(aad))
    yield Buffer.concat([MAGIC, this.id, iv])
    for await (const chunk of plain) yield c.update(chunk)
    yield c.final()
    yield c.getAuthTag()
  }

  /** Checks the header, then returns a decipher with its tag set (the tag is the last 16 bytes). */
  opener(header: Buffer, tag: Buffer, aad: string, where: string): ReturnType<typeof createDecipheriv> {
    if (!header.subarray(0, 4).equals(MAGIC)) throw new PeakguardError('REPLICA_KEY', `${where} is not encrypted, but a replica key is configured: refusing to trust it`)
    const id = header.subarray(4, 12)
    if (!id.equals(this.id))
      throw new PeakguardError('REPLICA_KEY', `wrong replica key: ${where} was encrypted with key id ${id.toString('hex')}, the configured key has id ${this.id.toString('hex')}`)
    const d = createDecipheriv('aes-256-gcm', this.enc, header.subarray(12, HEADER))
    d.setAAD(Buffer.from(aad))
    d.setAuthTag(tag)
    return d
  }
}

export class S3Store implements ObjectStorePort {
  readonly location: string
  readonly encrypted: boolean
  /** the SDK's clients, made at the first request: writes are never retried by the SDK, reads are */
  private clients: Promise<{ client: S3Client; reader: S3Client }> | null = null
  private readonly s: S3Settings
  private readonly root: string
  private readonly site: string
  private readonly sealer: Sealer | null

  constructor(s: S3Settings, site: string, key: Buffer | null) {
    this.s = s
    this.site = site
    const prefix = s.prefix.replace(/^\/+|\/+$/g, '')
    this.root = `${prefix ? `${prefix}/` : ''}${site}/`
    this.location = `s3://${s.bucket}/${this.root}`
    this.sealer = key ? new Sealer(key) : null
    this.encrypted = !!key
  }

  private connect(): Promise<{ client: S3Client; reader: S3Client }> {
    const s = this.s
    this.clients ??= sdk().then(({ S3Client }) => {
      const client = (maxAttempts: number) =>
        new S3Client({
          region: s.region,
          ...(s.endpoint ? { endpoint: s.endpoint } : {}),
          forcePathStyle: s.forcePathStyle,
          // S3-compatible servers (MinIO, Ceph, s3rver) store a streamed body with its aws-chunked framing, or
          // reject CRC32 trailers, when the SDK adds checksums it was not asked for
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
          maxAttempts,
          requestHandler: { connectionTimeout: 5000, socketTimeout: s.timeoutMs },
        })
      return { client: client(1), reader: client(4) }
    })
    return this.clients
  }

  storedSize(plainBytes: number): number {
    return plainBytes + (this.sealer ? HEADER + TAG : 0)
  }

  contentId(sha256: string): string {
    return this.sealer ? this.sealer.contentId(sha256) : sha256.slice(0, 16)
  }

  private aad(key: string): string {
    return `${this.site}/${key}`
  }

  private sse(): Partial<PutObjectCommandInput> {
    if (this.s.sse === 'none') return {}
    return { ServerSideEncryption: this.s.sse, ...(this.s.sse === 'aws:kms' && this.s.kmsKeyId ? { SSEKMSKeyId: this.s.kmsKeyId } : {}) }
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<{ bytes: number }> {
    const body = this.sealer ? await collect(this.sealer.seal(this.aad(key), [Buffer.from(bytes)])) : Buffer.from(bytes)
    await this.put(key, body)
    return { bytes: body.length }
  }

  async putFile(key: string, file: string): Promise<{ bytes: number }> {
    const size = this.storedSize(fs.statSync(file).size)
    if (size <= MULTIPART_AT) return this.putBytes(key, fs.readFileSync(file))
    const plain = fs.createReadStream(file, { highWaterMark: 1024 * 1024 })
    const body = this.sealer ? Readable.from(this.sealer.seal(this.aad(key), plain)) : plain
    try {
      const [{ Upload }, { client }] = await Promise.all([storage(), this.connect()])
      const up = new Upload({
        client,
        // CRC32 of each part, sent as a header (parts are buffers): Object Lock buckets require a checksum
        params: { Bucket: this.s.bucket, Key: this.root + key, Body: body, ChecksumAlgorithm: 'CRC32', ...this.sse() },
        partSize: PART_SIZE,
        queueSize: 4,
        leavePartsOnError: false, // a failed upload is aborted, not left to be billed
      })
      await up.done()
    } catch (e) {
      plain.destroy()
      throw this.fail('Upload', key, e)
    }
    return { bytes: size }
  }

  private async put(key: string, body: Buffer): Promise<void> {
    try {
      // If-None-Match: where the server honours it (AWS S3 since 2024), an object is never overwritten
      const md5 = createHash('md5').update(body).digest('base64')
      const [{ PutObjectCommand }, { client }] = await Promise.all([sdk(), this.connect()])
      await client.send(new PutObjectCommand({ Bucket: this.s.bucket, Key: this.root + key, Body: body, ContentLength: body.length, ContentMD5: md5, IfNoneMatch: '*', ...this.sse() }))
    } catch (e) {
      const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
      // 412: the key exists. Keys are never reused, so it can only be ours, written by a request whose
      // answer was lost: the content is the same
      if (status === 412) return
      throw this.fail('PutObject', key, e)
    }
  }

  async getBytes(key: string): Promise<Uint8Array> {
    let raw: Buffer
    try {
      const [{ GetObjectCommand }, { reader }] = await Promise.all([sdk(), this.connect()])
      const r = await reader.send(new GetObjectCommand({ Bucket: this.s.bucket, Key: this.root + key }))
      raw = Buffer.from(await r.Body!.transformToByteArray())
    } catch (e) {
      throw this.fail('GetObject', key, e)
    }
    return this.open(key, raw)
  }

  private open(key: string, raw: Buffer): Buffer {
    const where = this.location + key
    if (!this.sealer) {
      if (raw.subarray(0, 4).equals(MAGIC)) throw keyNeeded(where)
      return raw
    }
    if (raw.length < HEADER + TAG) throw new PeakguardError('REPLICA_INVALID', `${where} is truncated (${raw.length} bytes)`)
    const d = this.sealer.opener(raw.subarray(0, HEADER), raw.subarray(raw.length - TAG), this.aad(key), where)
    try {
      return Buffer.concat([d.update(raw.subarray(HEADER, raw.length - TAG)), d.final()])
    } catch (e) {
      throw authFailure(where, e)
    }
  }

  async getFile(key: string, file: string): Promise<void> {
    const where = this.location + key
    const sealed = `${file}.download`
    try {
      const [{ GetObjectCommand }, { reader }] = await Promise.all([sdk(), this.connect()])
      const r = await reader.send(new GetObjectCommand({ Bucket: this.s.bucket, Key: this.root + key }))
      await pipeline(r.Body as Readable, fs.createWriteStream(sealed, { mode: 0o600 }))
    } catch (e) {
      fs.rmSync(sealed, { force: true })
      throw this.fail('GetObject', key, e)
    }
    const tmp = `${file}.tmp`
    try {
      const size = fs.statSync(sealed).size
      const fd = fs.openSync(sealed, 'r')
      const head = Buffer.alloc(Math.min(size, HEADER))
      const tag = Buffer.alloc(TAG)
      try {
        fs.readSync(fd, head, 0, head.length, 0)
        if (size >= HEADER + TAG) fs.readSync(fd, tag, 0, TAG, size - TAG)
      } finally {
        fs.closeSync(fd)
      }
      if (!this.sealer) {
        if (head.subarray(0, 4).equals(MAGIC)) throw keyNeeded(where)
        fs.renameSync(sealed, file)
        return
      }
      if (size < HEADER + TAG) throw new PeakguardError('REPLICA_INVALID', `${where} is truncated (${size} bytes)`)
      const d = this.sealer.opener(head, tag, this.aad(key), where)
      try {
        // the plain text is only trusted (renamed into place) once final() has checked the tag
        await pipeline(fs.createReadStream(sealed, { start: HEADER, end: size - TAG - 1 }), d, fs.createWriteStream(tmp, { mode: 0o600 }))
      } catch (e) {
        throw authFailure(where, e)
      }
      fs.renameSync(tmp, file)
    } finally {
      fs.rmSync(sealed, { force: true })
      fs.rmSync(tmp, { force: true })
    }
  }

  async list(under: string): Promise<RemoteObject[]> {
    const out: RemoteObject[] = []
    try {
      const [{ paginateListObjectsV2 }, { reader }] = await Promise.all([sdk(), this.connect()])
      for await (const page of paginateListObjectsV2({ client: reader }, { Bucket: this.s.bucket, Prefix: this.root + under }))
        for (const o of page.Contents ?? [])
          if (o.Key) out.push({ key: o.Key.slice(this.root.length), size: o.Size ?? 0, lastModified: (o.LastModified ?? new Date(0)).toISOString() })
    } catch (e) {
      throw this.fail('ListObjectsV2', under, e)
    }
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  }

  async remove(keys: string[]): Promise<void> {
    for (const key of keys) {
      try {
        const [{ DeleteObjectCommand }, { client }] = await Promise.all([sdk(), this.connect()])
        await client.send(new DeleteObjectCommand({ Bucket: this.s.bucket, Key: this.root + key }))
        checkpoint('prune:object-deleted')
      } catch (e) {
        throw this.fail('DeleteObject', key, e)
      }
    }
  }

  /** An SDK failure as an error that names the request, the object, the endpoint and the cause. */
  private fail(op: string, key: string, e: unknown): PeakguardError {
    if (e instanceof PeakguardError) return e
    const err = e as Error & { $metadata?: { httpStatusCode?: number }; code?: string; Code?: string }
    const status = err.$metadata?.httpStatusCode
    const what = [err.name && err.name !== 'Error' ? err.name : null, err.code ?? null, status ? `HTTP ${status}` : null].filter(Boolean).join(', ')
    let hint = ''
    if (err.name === 'CredentialsProviderError') hint = ': give the daemon S3 credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role)'
    else if (status === 403) hint = ': check the credentials and the bucket policy (peakguard needs s3:PutObject, and s3:GetObject/s3:ListBucket to recover and verify)'
    else if (err.name === 'NoSuchBucket') hint = `: create the bucket ${this.s.bucket} first`
    // what retrying cannot fix until someone changes the credentials, the policy or the bucket
    const permanent = !!hint
    return new PeakguardError('S3_FAILED', `S3 ${op} of ${this.location}${key} failed${what ? ` (${what})` : ''}: ${err.message || 'no answer'}${hint}${this.s.endpoint ? ` [endpoint ${this.s.endpoint}]` : ''}`, {
      cause: e,
      details: { permanent },
    })
  }

  close(): void {
    void this.clients?.then(
      (c) => {
        c.client.destroy()
        c.reader.destroy()
      },
      () => undefined,
    )
  }
}

async function collect(chunks: AsyncIterable<Buffer>): Promise<Buffer> {
  const out: Buffer[] = []
  for await (const c of chunks) out.push(c)
  return Buffer.concat(out)
}

function keyNeeded(where: string): PeakguardError {
  return new PeakguardError('REPLICA_KEY', `${where} is encrypted: configure the replica key (s3.keyFile or PEAKGUARD_S3_KEY)`)
}

function authFailure(where: string, e: unknown): PeakguardError {
  if (e instanceof PeakguardError) return e
  return new PeakguardError('REPLICA_KEY', `${where} does not open with the configured key: it was encrypted with another key, or altered (${(e as Error).message})`, { cause: e })
}
