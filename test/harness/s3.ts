// A real S3-compatible server for the tests: s3rver (a devDependency) in a child process, over real HTTP
// on 127.0.0.1, storing objects in a directory. A child process rather than in-process so that stop() is a
// real outage (connections refused, sockets dropped) and the test's event loop never serves S3 itself.
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { GetObjectCommand, ListObjectsV2Command, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { freePort } from './mariadb.ts'

const READY_TIMEOUT_MS = 15_000
const STOP_TIMEOUT_MS = 5_000

/** s3rver's CLI script, or an error that says how to get it. */
function s3rverBin(): string {
  try {
    const pkg = createRequire(import.meta.url).resolve('s3rver/package.json')
    const bin = path.join(path.dirname(pkg), 'bin', 's3rver.js')
    if (fs.existsSync(bin)) return bin
  } catch {
    // fall through to the error below
  }
  throw new Error("s3rver is not installed (it is a devDependency of peakguard): run 'npm ci'")
}

// Children still running when the test process exits (a failed run, a forgotten stop()) are killed, so
// no stray server keeps the port or the directory.
const live = new Set<ChildProcess>()
let exitHookInstalled = false
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.on('exit', () => {
      for (const c of live) c.kill('SIGKILL')
    })
  }
  live.add(child)
  child.once('exit', () => live.delete(child))
}

/** An HTTP GET of the service root (unsigned, which s3rver allows): the bucket list, or null if no answer. */
function getServiceRoot(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('end', () => resolve(body))
      res.on('error', () => resolve(null))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve(null))
  })
}

export interface StoredObject {
  key: string
  size: number
  lastModified: Date
}

export class S3Server {
  readonly port: number
  readonly endpoint: string
  readonly dir: string
  readonly bucket: string
  private child: ChildProcess | null = null
  private output = ''
  private own: S3Client | null = null
  private readonly clients: S3Client[] = []

  private constructor(dir: string, port: number, bucket: string) {
    this.dir = dir
    this.port = port
    this.bucket = bucket
    this.endpoint = `http://127.0.0.1:${port}`
  }

  /**
   * Start s3rver on 127.0.0.1 with `bucket` (default 'peakguard-test') created. `dir` defaults to a new
   * temporary directory; an existing one keeps its objects (s3rver stores them as plain files).
   */
  static async start(opts: { dir?: string; port?: number; bucket?: string } = {}): Promise<S3Server> {
    s3rverBin()
    const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pg-s3rver-'))
    const s = new S3Server(dir, opts.port ?? (await freePort()), opts.bucket ?? 'peakguard-test')
    try {
      await s.restart()
    } catch (e) {
      if (!opts.dir) fs.rmSync(dir, { recursive: true, force: true })
      throw e
    }
    return s
  }

  /** Start again on the same port and directory (after stop(): the end of a simulated outage). */
  async restart(): Promise<void> {
    if (this.child) throw new Error('s3rver is already running')
    // --openssl-legacy-provider: s3rver encrypts ListObjectsV2 continuation tokens with DES, which
    // OpenSSL 3 only has in its legacy provider; without it every second page of a listing fails.
    const args = ['--openssl-legacy-provider', s3rverBin(), '--directory', this.dir, '--address', '127.0.0.1', '--port', String(this.port), '--silent', '--configure-bucket', this.bucket]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    this.output = ''
    track(child)
    const keep = (d: Buffer): void => {
      this.output = (this.output + d.toString()).slice(-4000)
    }
    child.stdout?.on('data', keep)
    child.stderr?.on('data', keep)
    let spawnError: Error | null = null
    child.once('error', (e) => (spawnError = e))
    // Neither the child nor its pipes may keep mocha alive: the exit hook kills a forgotten server.
    child.unref()
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.()

    const deadline = Date.now() + READY_TIMEOUT_MS
    while (Date.now() < deadline) {
      if (spawnError || child.exitCode !== null || child.signalCode !== null) break
      // Ready when it answers with our bucket in its list: that is s3rver (not some other server that
      // took the port meanwhile) and it has created the bucket.
      const body = await getServiceRoot(this.port)
      if (body?.includes(`<Name>${this.bucket}</Name>`) && child.exitCode === null) return
      await new Promise((r) => setTimeout(r, 50))
    }
    const why = spawnError
      ? `could not run ${process.execPath}: ${String(spawnError)}`
      : child.exitCode !== null || child.signalCode !== null
        ? `it exited (${child.exitCode ?? child.signalCode})`
        : `it did not answer within ${READY_TIMEOUT_MS / 1000} s`
    await this.stop()
    throw new Error(`s3rver on 127.0.0.1:${this.port} did not start: ${why}; its output:\n${this.output.trim() || '(none)'}`)
  }

  /** Kill the server and wait until it has exited; the directory and its objects stay. */
  async stop(): Promise<void> {
    const child = this.child
    this.child = null
    if (!child || child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await exited
    clearTimeout(timer)
  }

  /** stop(), destroy the clients made by client(), and delete the directory. */
  async destroy(): Promise<void> {
    await this.stop()
    for (const c of this.clients.splice(0)) c.destroy()
    this.own = null
    fs.rmSync(this.dir, { recursive: true, force: true })
  }

  get running(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null
  }

  /** The server's recent stdout and stderr (for a failing test's message). */
  get log(): string {
    return this.output
  }

  /**
   * An S3 client for this server, or for `endpoint` (a FaultProxy in front of it). `config` overrides
   * the defaults, e.g. { maxAttempts: 1 } to see a fault instead of the SDK's retry.
   */
  client(endpoint?: string, config: S3ClientConfig = {}): S3Client {
    const c = new S3Client({
      endpoint: endpoint ?? this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      // s3rver predates flexible checksums: with them the SDK sends aws-chunked bodies with trailing
      // checksums, which s3rver would store verbatim (framing included) as the object's bytes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...config,
    })
    this.clients.push(c)
    return c
  }

  private direct(): S3Client {
    this.own ??= this.client()
    return this.own
  }

  /**
   * Every object under `prefix`, following continuation tokens across pages, sorted by key in S3's order
   * (UTF-8 bytes). Sorted here because s3rver lists in its directory-walk order ('a/b' before 'a-b' before
   * 'a'), and beware: for the same reason its pages past the first can skip keys (see the harness test).
   */
  async listKeys(prefix?: string): Promise<StoredObject[]> {
    const out: StoredObject[] = []
    let token: string | undefined
    do {
      const page = await this.direct().send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }))
      for (const o of page.Contents ?? []) out.push({ key: o.Key ?? '', size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) })
      token = page.IsTruncated ? page.NextContinuationToken : undefined
    } while (token)
    return out.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)))
  }

  /** An object's bytes, read straight from the server (not through any proxy). */
  async getBytes(key: string): Promise<Buffer> {
    const r = await this.direct().send(new GetObjectCommand({ Bucket: this.bucket, Key: key }))
    if (!r.Body) throw new Error(`GetObject ${key}: no body`)
    return Buffer.from(await r.Body.transformToByteArray())
  }
}
