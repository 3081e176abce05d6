// A TCP proxy the tests put between an S3 client and s3rver: it injects network faults (reset, refused,
// stalled, an error status, a reset after the server has done the work) and records the HTTP requests it
// carries, with the status the server answered, so a test can assert what reached the server.
// It works on bytes, not through node:http, so a fault looks to the client exactly like a broken network.
import http from 'node:http'
import net from 'node:net'

export type Fault =
  | { kind: 'none' }
  /** Every connection, open or new, is reset (RST): the client sees ECONNRESET (or EPIPE while writing). */
  | { kind: 'reset' }
  /** The request reaches the server and is processed; the client's connection is reset as the response
   *  starts, so the client cannot know whether it succeeded. The log holds the server's status. */
  | { kind: 'reset-after-request' }
  /** The proxy answers every new request itself with this status and an S3-style XML error, Connection: close.
   *  Nothing is forwarded. */
  | { kind: 'status'; status: number }
  /** Bytes are held for `ms` before being forwarded: the request by default, or the response, or both. */
  | { kind: 'stall'; ms: number; direction?: 'request' | 'response' | 'both' }
  /** Nothing listens on the port: new connections fail with ECONNREFUSED; open ones are reset. */
  | { kind: 'refuse' }

export interface ProxiedRequest {
  method: string
  /** URL path without the leading '/' and without the query, percent-decoded: 'bucket/a/b'. */
  key: string
  /** Raw query string without '?': 'list-type=2&max-keys=2'. */
  query: string
  /** The status line's code: the server's, or the injected one for a 'status' fault; null if none arrived
   *  (connection broken first). Interim 1xx responses (100 Continue) are not counted. */
  status: number | null
  /** Date.now() when the request's headers had passed through. */
  at: number
  /** The fault that acted on this request ('none' if it passed untouched). */
  fault: Fault['kind']
  /** The request's headers, names in lower case (for asserting what a client asked of the server). */
  headers: Record<string, string>
}

const CRLFCRLF = Buffer.from('\r\n\r\n')
const CRLF = Buffer.from('\r\n')
const EMPTY = Buffer.alloc(0)
// Past these sizes the stream is not HTTP as we know it: stop parsing and just forward.
const MAX_HEAD = 64 * 1024
const MAX_LINE = 4096

interface Head {
  line: string
  headers: Map<string, string>
}

/** How the body after a head is delimited; 'stop' ends parsing of this stream for good. */
type Framing = { kind: 'length'; n: number } | { kind: 'chunked' } | { kind: 'close' } | { kind: 'stop' }

/** The body framing that the headers declare (RFC 9112 §6.3); `fallback` when they declare none. */
function declaredFraming(h: Head, fallback: Framing): Framing {
  const te = h.headers.get('transfer-encoding')
  if (te !== undefined) return /(?:^|,)\s*chunked\s*$/i.test(te) ? { kind: 'chunked' } : { kind: 'close' }
  const cl = h.headers.get('content-length')
  if (cl === undefined) return fallback
  const n = Number(cl.split(',')[0]?.trim())
  return Number.isSafeInteger(n) && n >= 0 ? { kind: 'length', n } : { kind: 'stop' }
}

function parseHead(text: string): Head {
  const lines = text.split('\r\n')
  const headers = new Map<string, string>()
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    if (i <= 0) continue
    const name = l.slice(0, i).trim().toLowerCase()
    const value = l.slice(i + 1).trim()
    const prev = headers.get(name)
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`)
  }
  return { line: lines[0] ?? '', headers }
}

/**
 * Incremental HTTP/1.1 message framing for one direction of a connection. It only finds where messages
 * start and end (heads are reported, bodies are skipped by length or chunking, never searched), so a
 * binary body that happens to contain "GET /" is never taken for a request.
 * feed() returns how many bytes it has settled; the caller keeps the rest (an incomplete head or chunk-size
 * line) and feeds it again in front of the next chunk, so heads split across TCP chunks are seen whole.
 */
class HttpFramer {
  private state: 'head' | 'body' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailer' | 'raw' = 'head'
  private remaining = 0
  private readonly onHead: (h: Head, start: number) => Framing

  constructor(onHead: (h: Head, start: number) => Framing) {
    this.onHead = onHead
  }

  feed(buf: Buffer): number {
    let pos = 0
    while (pos < buf.length) {
      switch (this.state) {
        case 'raw':
          return buf.length
        case 'head': {
          // Stray CRLFs between messages are allowed (RFC 9112 §2.2).
          while (pos < buf.length && (buf[pos] === 13 || buf[pos] === 10)) pos++
          if (pos >= buf.length) return pos
          const end = buf.indexOf(CRLFCRLF, pos)
          if (end < 0) {
            if (buf.length - pos > MAX_HEAD) this.state = 'raw'
            return this.state === 'raw' ? buf.length : pos
          }
          const framing = this.onHead(parseHead(buf.toString('latin1', pos, end)), pos)
          pos = end + 4
          this.begin(framing)
          break
        }
        case 'body':
        case 'chunk-data':
        case 'chunk-end': {
          const take = Math.min(this.remaining, buf.length - pos)
          pos += take
          this.remaining -= take
          if (this.remaining === 0) {
            if (this.state === 'chunk-data') {
              this.state = 'chunk-end'
              this.remaining = 2
            } else {
              this.state = this.state === 'body' ? 'head' : 'chunk-size'
            }
          }
          break
        }
        case 'chunk-size':
        case 'trailer': {
          const eol = buf.indexOf(CRLF, pos)
          if (eol < 0) {
            if (buf.length - pos > MAX_LINE) this.state = 'raw'
            return this.state === 'raw' ? buf.length : pos
          }
          const line = buf.toString('latin1', pos, eol)
          pos = eol + 2
          if (this.state === 'trailer') {
            if (line === '') this.state = 'head'
          } else {
            const size = parseInt(line.split(';')[0] ?? '', 16)
            if (!Number.isSafeInteger(size) || size < 0) this.state = 'raw'
            else if (size === 0) this.state = 'trailer'
            else {
              this.state = 'chunk-data'
              this.remaining = size
            }
          }
          break
        }
      }
    }
    return pos
  }

  private begin(f: Framing): void {
    if (f.kind === 'length') {
      this.remaining = f.n
      this.state = f.n > 0 ? 'body' : 'head'
    } else if (f.kind === 'chunked') {
      this.state = 'chunk-size'
    } else {
      // 'close' (body runs to the end of the stream) and 'stop' both leave nothing more to frame.
      this.state = 'raw'
    }
  }
}

/**
 * One direction of a proxied connection: frames the bytes, lets the framer's handler cut the stream (drop
 * everything from an offset on), delays bytes when a stall is on, and forwards them with backpressure.
 */
class Pipe {
  private held: Buffer = EMPTY
  private cutAt: number | null = null
  private cut = false
  private stopped = false
  private afterCut: (() => void) | null = null
  private readonly queue: { data: Buffer | null; at: number }[] = []
  private timer: NodeJS.Timeout | null = null
  private lastAt = 0
  private waitingDrain = false
  private readonly framer: HttpFramer
  /** The socket to pause while `dest` is full (set late for the server side, which connects lazily). */
  src: net.Socket | null
  private readonly dest: () => net.Socket | null
  private readonly delay: () => number
  private readonly onEnd: () => void

  constructor(opts: { src: net.Socket | null; dest: () => net.Socket | null; delay: () => number; onHead: (h: Head, start: number) => Framing; onEnd: () => void }) {
    this.src = opts.src
    this.dest = opts.dest
    this.delay = opts.delay
    this.onEnd = opts.onEnd
    this.framer = new HttpFramer(opts.onHead)
  }

  /** Called from the head handler: forward nothing from `start` (an offset in the buffer being framed) on. */
  cutFrom(start: number, then?: () => void): void {
    this.cutAt = start
    this.afterCut = then ?? null
  }

  push(chunk: Buffer): void {
    if (this.cut) return
    const buf = this.held.length ? Buffer.concat([this.held, chunk]) : chunk
    const settled = this.framer.feed(buf)
    if (this.cutAt !== null) {
      this.cut = true
      this.held = EMPTY
      if (this.cutAt > 0) this.enqueue(buf.subarray(0, this.cutAt))
      const then = this.afterCut
      this.afterCut = null
      then?.()
      return
    }
    this.held = buf.subarray(settled)
    if (settled > 0) this.enqueue(buf.subarray(0, settled))
  }

  /** Bytes of the proxy's own (an injected response): they go after whatever is queued, unframed. */
  inject(data: Buffer): void {
    this.enqueue(data)
  }

  /** The source ended: forward what is held (an incomplete message is still the client's bytes), then end. */
  end(): void {
    if (this.stopped) return
    if (!this.cut && this.held.length) this.enqueue(this.held)
    this.held = EMPTY
    this.queue.push({ data: null, at: Math.max(this.lastAt, Date.now()) })
    this.drain()
  }

  /** Stop forwarding for good (the connection is being torn down). */
  stop(): void {
    this.cut = true
    this.stopped = true
    this.queue.length = 0
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
  }

  private enqueue(data: Buffer): void {
    if (this.stopped) return
    // Never release a chunk before the one in front of it, even when the stall ends midway.
    this.lastAt = Math.max(this.lastAt, Date.now() + this.delay())
    this.queue.push({ data, at: this.lastAt })
    this.drain()
  }

  private drain(): void {
    if (this.timer || this.stopped) return
    const now = Date.now()
    while (this.queue.length && this.queue[0]!.at <= now) {
      const { data } = this.queue.shift()!
      if (data === null) {
        this.onEnd()
        continue
      }
      const dest = this.dest()
      if (!dest || dest.destroyed) continue
      if (!dest.write(data) && !this.waitingDrain) {
        // Backpressure: a 12 MB upload must not sit in the proxy's memory twice over.
        const src = this.src
        this.waitingDrain = true
        src?.pause()
        dest.once('drain', () => {
          this.waitingDrain = false
          src?.resume()
        })
      }
    }
    if (this.queue.length) {
      this.timer = setTimeout(() => {
        this.timer = null
        this.drain()
      }, this.queue[0]!.at - now)
    }
  }
}

function decodePath(p: string): string {
  try {
    return decodeURIComponent(p)
  } catch {
    return p
  }
}

const S3_CODES: Record<number, string> = {
  400: 'BadRequest',
  403: 'AccessDenied',
  404: 'NoSuchKey',
  409: 'OperationAborted',
  412: 'PreconditionFailed',
  429: 'SlowDown',
  500: 'InternalError',
  501: 'NotImplemented',
  503: 'SlowDown',
}

function injectedResponse(status: number, method: string, key: string): Buffer {
  const code = S3_CODES[status] ?? 'InjectedFault'
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>fault injected by the test proxy</Message><Resource>/${key.replace(/[<>&]/g, '_')}</Resource><RequestId>FAULTPROXY</RequestId></Error>`
  const head = [
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Injected'}`,
    'Content-Type: application/xml',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'x-amz-request-id: FAULTPROXY',
    `Date: ${new Date().toUTCString()}`,
    'Connection: close',
  ]
  // A HEAD response carries the length of the body it would have had, and no body.
  return Buffer.from(`${head.join('\r\n')}\r\n\r\n${method === 'HEAD' ? '' : body}`)
}

/** Whether a stall fault holds the bytes going in `dir`. */
function stallMs(f: Fault, dir: 'request' | 'response'): number {
  if (f.kind !== 'stall') return 0
  const d = f.direction ?? 'request'
  return d === dir || d === 'both' ? f.ms : 0
}

/** One client connection and its (lazily opened) connection to the server. */
class Conn {
  readonly client: net.Socket
  private upstream: net.Socket | null = null
  private readonly pending: ProxiedRequest[] = []
  private readonly c2s: Pipe
  private readonly s2c: Pipe
  private closed = false
  private readonly proxy: FaultProxy
  private readonly onGone: () => void

  constructor(proxy: FaultProxy, client: net.Socket, onGone: () => void) {
    this.proxy = proxy
    this.client = client
    this.onGone = onGone
    this.c2s = new Pipe({
      src: client,
      dest: () => this.openUpstream(),
      delay: () => stallMs(proxy.fault, 'request'),
      onHead: (h, start) => this.onRequest(h, start),
      onEnd: () => (this.upstream ? this.upstream.end() : this.client.end()),
    })
    this.s2c = new Pipe({
      src: null,
      dest: () => this.client,
      delay: () => stallMs(proxy.fault, 'response'),
      onHead: (h, start) => this.onResponse(h, start),
      onEnd: () => this.client.end(),
    })
    client.on('data', (d: Buffer) => this.c2s.push(d))
    client.on('end', () => this.c2s.end())
    client.on('error', () => this.destroy())
    client.on('close', () => this.destroy())
  }

  /** Connect to the server on the first byte to forward, so a 'status' fault answers even with the server down. */
  private openUpstream(): net.Socket | null {
    if (this.closed) return null
    if (this.upstream) return this.upstream
    const up = net.connect({ host: this.proxy.target.host, port: this.proxy.target.port, allowHalfOpen: true })
    this.upstream = up
    this.s2c.src = up
    up.on('data', (d: Buffer) => {
      if (this.upstream === up) this.s2c.push(d)
    })
    up.on('end', () => {
      if (this.upstream === up) this.s2c.end()
    })
    // The server is gone or broke the connection: the client must see a broken connection too.
    up.on('error', () => {
      if (this.upstream === up) this.reset()
    })
    return up
  }

  private onRequest(h: Head, start: number): Framing {
    const [method = '', target = ''] = h.line.split(' ')
    let p = target
    if (/^https?:\/\//i.test(p)) p = p.replace(/^https?:\/\/[^/]*/i, '') || '/'
    const q = p.indexOf('?')
    const rec: ProxiedRequest = {
      method: method.toUpperCase(),
      key: decodePath((q < 0 ? p : p.slice(0, q)).replace(/^\//, '')),
      query: q < 0 ? '' : p.slice(q + 1),
      status: null,
      at: Date.now(),
      fault: 'none',
      headers: Object.fromEntries(h.headers),
    }
    this.proxy.requests.push(rec)
    const f = this.proxy.fault
    if (f.kind === 'status') {
      rec.status = f.status
      rec.fault = 'status'
      this.c2s.cutFrom(start, () => this.answer(injectedResponse(f.status, rec.method, rec.key)))
      return { kind: 'stop' }
    }
    if (stallMs(f, 'request') > 0) rec.fault = 'stall'
    this.pending.push(rec)
    // A request without Content-Length or chunking has no body (RFC 9112 §6.3, rule 7).
    return declaredFraming(h, { kind: 'length', n: 0 })
  }

  private onResponse(h: Head, start: number): Framing {
    const code = Number(h.line.split(' ')[1])
    if (!Number.isInteger(code)) return { kind: 'stop' }
    // 100 Continue (the SDK sends Expect: 100-continue on big PUTs) is interim: the real answer follows.
    if (code >= 100 && code < 200) return code === 101 ? { kind: 'stop' } : { kind: 'length', n: 0 }
    const rec = this.pending.shift()
    if (rec) rec.status = code
    const f = this.proxy.fault
    if (f.kind === 'reset-after-request') {
      // The server has answered, so it has done the work; the client is cut off before it hears so.
      if (rec) rec.fault = 'reset-after-request'
      this.s2c.cutFrom(start, () => this.reset())
      return { kind: 'stop' }
    }
    if (rec && stallMs(f, 'response') > 0) rec.fault = 'stall'
    if (rec?.method === 'HEAD' || code === 204 || code === 304) return { kind: 'length', n: 0 }
    return declaredFraming(h, { kind: 'close' })
  }

  /** Answer the client ourselves, then close: nothing more of this connection goes to the server. */
  private answer(response: Buffer): void {
    const up = this.upstream
    this.upstream = null
    up?.destroy()
    this.s2c.inject(response)
    this.s2c.end()
    // Keep reading (and dropping) what the client still sends, so closing does not RST our own answer away.
    this.client.resume()
    setTimeout(() => this.destroy(), 10_000).unref()
  }

  /** Break the connection the way a network does: RST to the client. */
  reset(): void {
    if (this.closed) return
    if (!this.client.destroyed) this.client.resetAndDestroy()
    this.destroy()
  }

  destroy(): void {
    if (this.closed) return
    this.closed = true
    this.c2s.stop()
    this.s2c.stop()
    const up = this.upstream
    this.upstream = null
    up?.destroy()
    if (!this.client.destroyed) this.client.destroy()
    this.onGone()
  }
}

export class FaultProxy {
  readonly target: { host: string; port: number }
  readonly port: number
  readonly endpoint: string
  readonly requests: ProxiedRequest[] = []
  private current: Fault = { kind: 'none' }
  private server: net.Server | null = null
  private readonly conns = new Set<Conn>()

  private constructor(target: { host: string; port: number }, port: number) {
    this.target = target
    this.port = port
    this.endpoint = `http://127.0.0.1:${port}`
  }

  /** A proxy on 127.0.0.1 in front of `target`, on `port` or one the kernel picks. */
  static async start(target: { host: string; port: number }, port = 0): Promise<FaultProxy> {
    const server = await FaultProxy.listen(port)
    const p = new FaultProxy(target, (server.address() as net.AddressInfo).port)
    p.attach(server)
    return p
  }

  get fault(): Fault {
    return this.current
  }

  /**
   * Switch the fault. Await it: it resolves once the fault is in force — the port closed or listening
   * again, open connections reset — and the client (if in this process) has had a turn of the event loop
   * to notice its pooled connections died, so the next request does not race a dying keep-alive socket.
   */
  async setFault(f: Fault): Promise<void> {
    this.current = f
    if (f.kind === 'reset' || f.kind === 'refuse') for (const c of [...this.conns]) c.reset()
    if (f.kind === 'refuse' && this.server) {
      const s = this.server
      this.server = null
      await new Promise<void>((resolve) => s.close(() => resolve()))
    } else if (f.kind !== 'refuse' && !this.server) {
      // The same port again: the client keeps its endpoint across the outage.
      this.attach(await FaultProxy.listen(this.port))
    }
    await new Promise((r) => setTimeout(r, 20))
  }

  /** Forget the recorded requests (e.g. after a test's setup traffic). */
  clearRequests(): void {
    this.requests.length = 0
  }

  async close(): Promise<void> {
    for (const c of [...this.conns]) c.destroy()
    const s = this.server
    this.server = null
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }

  private static listen(port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const s = net.createServer({ allowHalfOpen: true })
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        s.off('error', reject)
        resolve(s)
      })
    })
  }

  private attach(server: net.Server): void {
    this.server = server
    server.on('connection', (sock: net.Socket) => {
      if (this.current.kind === 'reset' || this.current.kind === 'refuse') {
        sock.on('error', () => {})
        sock.resetAndDestroy()
        return
      }
      const c = new Conn(this, sock, () => this.conns.delete(c))
      this.conns.add(c)
    })
  }
}
