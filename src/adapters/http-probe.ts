// Health probes over HTTP(S) (ProbePort), with node:http and node:tls rather than fetch so that every option a
// shop behind a proxy needs can be set: any Host header (TLS SNI and the certificate's name follow it), basic
// auth, a CA file, a self-signed certificate accepted only on a loopback URL, redirects followed by hand (at
// most 10, relative Locations, http↔https, credentials never carried to another origin) or judged as they are,
// and a probe past every page cache (bypassCache). The latency is the whole answer, redirects and body
// included; the body is kept up to 256 KiB (a HEAD has none). Errors are words for the operator, and neither
// they nor the returned URL ever hold the basic-auth password.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import net, { type LookupFunction } from 'node:net'
import { pipeline, type Readable } from 'node:stream'
import tls from 'node:tls'
import zlib from 'node:zlib'
import { visible, type ProbePort, type ProbeResponse, type ProbeSpec } from '../core/index.ts'

const BODY_LIMIT = 256 * 1024
/** Redirects followed before the probe gives up. */
export const MAX_REDIRECTS = 10
/** The query parameter a cache-bypassing probe adds, with a value no cache has seen. */
export const BYPASS_PARAM = 'peakguard-probe'
const REDIRECT_CODES = new Set([301, 302, 303, 307, 308])
/** Request headers that carry credentials: never sent to another origin than the probe's own. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie'])
const USER_AGENT = 'peakguard-probe'

/** A probe that failed, in words; `status` and `body` when an answer had come before it failed. */
class ProbeFailure extends Error {
  readonly status: number | null
  readonly body: string
  constructor(message: string, status: number | null = null, body = '') {
    super(message)
    this.status = status
    this.body = body
  }
}

/** Where one request of a probe goes: the address connected to, the Host header, and whether credentials go along. */
interface Hop {
  url: URL
  host: string | null
  /** on the probe's own site (its URL's origin, or the origin its Host header names): basic auth and cookies go along */
  own: boolean
}

/**
 * Whether `hostname` (as a URL holds it: an IPv6 address in brackets or not) is a loopback address —
 * 127.0.0.0/8, ::1 (also IPv4-mapped 127/8) — or the name localhost. Only these may present a self-signed
 * certificate under tls.selfSignedOnLoopback: any other name could be answered by another machine.
 */
export function isLoopbackHost(hostname: string): boolean {
  let h = hostname.trim().toLowerCase()
  if (h.endsWith('.')) h = h.slice(0, -1)
  if (h === 'localhost') return true
  const bare = h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h
  let normal: string
  try {
    // the URL parser normalises every spelling of an address (127.1, 0x7f.0.0.1, 0:0:0:0:0:0:0:1)
    normal = new URL(`http://${net.isIPv6(bare) ? `[${bare}]` : bare}/`).hostname
  } catch {
    return false
  }
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(normal)) return true
  if (normal === '[::1]') return true
  // IPv4-mapped: ::ffff:127.x.y.z, which the parser writes as ::ffff:7fxx:yyzz
  return /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(normal)
}

export interface HttpProbeOptions {
  /** how host names are resolved (tests map a name to 127.0.0.1); default: the system's resolver */
  lookup?: LookupFunction
}

export class HttpProbe implements ProbePort {
  private readonly lookup: LookupFunction | undefined
  /** CA files read, by path: read again only when the file changes (size or modification time) */
  private readonly cas = new Map<string, { size: number; mtimeMs: number; pem: string }>()

  constructor(o: HttpProbeOptions = {}) {
    this.lookup = o.lookup
  }

  async fetch(spec: ProbeSpec): Promise<ProbeResponse> {
    const started = performance.now()
    const url = shownUrl(spec.url)
    const auth = credentials(spec)
    const secrets = auth ? secretForms(auth) : []
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(), spec.timeoutMs)
    try {
      const { status, body } = await this.run(spec, auth, abort.signal)
      return { url, status, latencyMs: performance.now() - started, body, error: null }
    } catch (e) {
      const f = e instanceof ProbeFailure ? e : new ProbeFailure(words(e, null))
      const error = abort.signal.aborted ? (f.status === null ? `no answer within ${spec.timeoutMs} ms` : `the page did not finish within ${spec.timeoutMs} ms`) : f.message
      return { url, status: f.status, latencyMs: performance.now() - started, body: f.body, error: scrub(error, secrets) }
    } finally {
      clearTimeout(timer)
    }
  }

  /** The probe's requests, one per redirect followed: the status and body of the answer judged. */
  private async run(spec: ProbeSpec, auth: { user: string; password: string } | null, signal: AbortSignal): Promise<{ status: number; body: string }> {
    let first: URL
    try {
      first = new URL(spec.url)
    } catch {
      throw new ProbeFailure('the probe URL is not a URL')
    }
    if (first.protocol !== 'http:' && first.protocol !== 'https:') throw new ProbeFailure(`the probe URL is not http:// or https:// (${first.protocol})`)
    first.username = ''
    first.password = ''
    first.hash = ''
    if (spec.bypassCache) first.search = `${first.search ? `${first.search}&` : '?'}${BYPASS_PARAM}=${randomBytes(8).toString('hex')}`

    const hostHeader = Object.entries(spec.headers).find(([k]) => k.toLowerCase() === 'host')?.[1] ?? null
    // the probe's own site: the origin connected to and, behind a proxy, the origin its Host header names
    const ownOrigins = new Set([first.origin])
    const named = hostHeader === null ? null : originOf(`${first.protocol}//${hostHeader}/`)
    if (named) ownOrigins.add(named)

    let hop: Hop = { url: first, host: hostHeader, own: true }
    let method = spec.method
    const seen = new Set<string>()
    for (let redirects = 0; ; redirects++) {
      seen.add(`${method} ${hop.url.href} ${hop.host ?? ''}`)
      const res = await this.send(hop, method, spec, auth, signal)
      const status = res.statusCode ?? 0
      const location = res.headers.location
      if (!spec.followRedirects || !REDIRECT_CODES.has(status) || location === undefined) {
        if (method === 'HEAD') {
          res.resume()
          return { status, body: '' }
        }
        const { body, error } = await readBody(res, hop.url)
        if (error !== null) throw new ProbeFailure(error, status, body)
        return { status, body }
      }
      res.destroy()

      let next: URL
      try {
        // relative to the URL as the site sees it (behind a proxy: the Host header's name)
        next = new URL(location, named && hop.own ? `${named}${hop.url.pathname}${hop.url.search}` : hop.url)
      } catch {
        throw new ProbeFailure(`a redirect (HTTP ${status}) to something that is not a URL: ${quoted(location)}`, status)
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new ProbeFailure(`a redirect (HTTP ${status}) to a URL that is not http(s): ${shown(next)}`, status)
      // credentials in a Location are never used (nor shown): the probe's own are sent to its own site only
      next.username = ''
      next.password = ''
      next.hash = ''
      if (ownOrigins.has(next.origin)) {
        // its own site is reached where the probe's URL points (the proxy), with its Host header
        const there = new URL(first.href)
        there.pathname = next.pathname
        there.search = next.search
        hop = { url: there, host: hostHeader, own: true }
      } else hop = { url: next, host: null, own: false }
      // a 303 asks for a GET; so do 301 and 302 after a POST (as every browser does); 307 and 308 keep the method
      if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) method = 'GET'
      if (seen.has(`${method} ${hop.url.href} ${hop.host ?? ''}`)) throw new ProbeFailure(`redirect loop: back to ${shown(next)}`, status)
      if (redirects + 1 > MAX_REDIRECTS) throw new ProbeFailure(`too many redirects (${MAX_REDIRECTS})`, status)
    }
  }

  /** One request; resolves with the answer's head (its body still to read). */
  private async send(hop: Hop, method: string, spec: ProbeSpec, auth: { user: string; password: string } | null, signal: AbortSignal): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' }
    for (const [k, v] of Object.entries(spec.headers)) {
      const key = k.toLowerCase()
      if (key === 'host' || (!hop.own && CREDENTIAL_HEADERS.has(key))) continue
      headers[key] = v
    }
    if (hop.host !== null) headers.host = hop.host
    if (auth && hop.own) headers.authorization = `Basic ${Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64')}`
    if (spec.bypassCache) {
      headers['cache-control'] = 'no-cache'
      headers.pragma = 'no-cache'
    }
    // a probe sends no body
    if (method === 'POST') headers['content-length'] = '0'
    else delete headers['content-length']

    const host = bareHost(hop.url.hostname)
    const port = Number(hop.url.port) || (hop.url.protocol === 'https:' ? 443 : 80)
    // one connection per request, never pooled: a connection made under one probe's TLS options serves no other
    const options: http.RequestOptions = { method, host, port, path: `${hop.url.pathname}${hop.url.search}`, headers, signal }
    try {
      if (hop.url.protocol === 'https:') {
        // no agent: the request goes over this connection, whose certificate was checked (an agent, even
        // `agent: false`, would open its own)
        const socket = await this.secureSocket(hop, spec, host, port, signal)
        options.createConnection = () => socket
      } else {
        options.agent = false
        options.lookup = this.lookup
      }
      return await new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.request(options)
        req.on('error', reject)
        req.once('response', (res) => {
          res.on('error', () => undefined) // reported where the body is read
          resolve(res)
        })
        req.end()
      })
    } catch (e) {
      throw e instanceof ProbeFailure ? e : new ProbeFailure(words(e, hop.url))
    }
  }

  /**
   * A TLS connection whose certificate was checked before a byte of the request (its Authorization header)
   * is sent: trusted by the system's CAs or tls.caFile for the name the request is for (the Host header's,
   * else the URL's), or self-signed on a loopback URL under tls.selfSignedOnLoopback.
   */
  private async secureSocket(hop: Hop, spec: ProbeSpec, host: string, port: number, signal: AbortSignal): Promise<tls.TLSSocket> {
    const name = hop.host !== null ? hostName(hop.host) : host
    const ca = spec.tls.caFile === null ? undefined : [...tls.rootCertificates, await this.readCa(spec.tls.caFile)]
    signal.throwIfAborted()
    return new Promise<tls.TLSSocket>((resolve, reject) => {
      const socket = tls.connect({
        host,
        port,
        servername: net.isIP(name) ? undefined : name,
        ca,
        // checked below, once the handshake is done and before the request is written
        rejectUnauthorized: false,
        checkServerIdentity: (_h, cert) => tls.checkServerIdentity(name, cert),
        ALPNProtocols: ['http/1.1'],
        lookup: this.lookup,
      })
      const onAbort = () => socket.destroy(signal.reason as Error)
      signal.addEventListener('abort', onAbort, { once: true })
      socket.on('error', (e) => {
        signal.removeEventListener('abort', onAbort)
        reject(e)
      })
      socket.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort)
        const problem = certificateProblem(socket, hop.url, name, spec)
        if (problem === null) return resolve(socket)
        socket.destroy()
        reject(new ProbeFailure(problem))
      })
    })
  }

  /** The PEM text of a CA file, read once per path (again only when the file changed); its problem in words. */
  private async readCa(file: string): Promise<string> {
    let st: fs.Stats
    try {
      st = await fs.promises.stat(file)
    } catch (e) {
      throw new ProbeFailure(`tls.caFile ${quoted(file)} cannot be read: ${fileProblem(e)}`)
    }
    const known = this.cas.get(file)
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs) return known.pem
    let pem: string
    try {
      pem = await fs.promises.readFile(file, 'utf8')
    } catch (e) {
      throw new ProbeFailure(`tls.caFile ${quoted(file)} cannot be read: ${fileProblem(e)}`)
    }
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new ProbeFailure(`tls.caFile ${quoted(file)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`)
    try {
      tls.createSecureContext({ ca: pem })
    } catch (e) {
      throw new ProbeFailure(`tls.caFile ${quoted(file)} is not a valid PEM certificate: ${(e as Error).message}`)
    }
    this.cas.set(file, { size: st.size, mtimeMs: st.mtimeMs, pem })
    return pem
  }
}

/** Why the certificate of a finished handshake is not accepted, in words; null when it is. */
function certificateProblem(socket: tls.TLSSocket, url: URL, name: string, spec: ProbeSpec): string | null {
  if (socket.authorized) return null
  const code = String(socket.authorizationError)
  switch (code) {
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
      if (!spec.tls.selfSignedOnLoopback) return 'TLS: self-signed certificate — set tls.caFile, or tls.selfSignedOnLoopback for a loopback URL'
      // the URL names a loopback address, and the connection did reach one
      if (isLoopbackHost(url.hostname) && socket.remoteAddress !== undefined && isLoopbackHost(socket.remoteAddress)) return null
      return `TLS: self-signed certificate — tls.selfSignedOnLoopback applies only to a loopback URL (127.0.0.0/8, ::1, localhost), not ${url.hostname}: set tls.caFile`
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'UNABLE_TO_GET_ISSUER_CERT':
    case 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY':
      return "TLS: the certificate's issuer is not trusted — set tls.caFile to the PEM certificate of the CA that signed it"
    case 'CERT_HAS_EXPIRED':
      return 'TLS: the certificate has expired'
    case 'CERT_NOT_YET_VALID':
      return 'TLS: the certificate is not valid yet (is the clock right?)'
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `TLS: the certificate is not for ${name}${name !== bareHost(url.hostname) ? ' (the name of the Host header)' : ''}`
    default:
      return `TLS: the certificate is not trusted (${code})`
  }
}

/**
 * The first 256 KiB of the body, decompressed and decoded; with what cut it short, in words, if something did
 * (the connection broke off, a compressed body that does not decompress).
 */
async function readBody(res: http.IncomingMessage, url: URL): Promise<{ body: string; error: string | null }> {
  const encoding = String(res.headers['content-encoding'] ?? '')
    .trim()
    .toLowerCase()
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip' ? zlib.createGunzip() : encoding === 'deflate' ? zlib.createInflate() : encoding === 'br' ? zlib.createBrotliDecompress() : null
  let broken: unknown = null
  res.on('error', (e) => (broken ??= e))
  const source: Readable = decoder ?? res
  if (decoder) pipeline(res, decoder, () => undefined)
  const chunks: Buffer[] = []
  let size = 0
  let error: string | null = null
  try {
    for await (const chunk of source) {
      chunks.push(chunk as Buffer)
      size += (chunk as Buffer).length
      if (size >= BODY_LIMIT) break
    }
  } catch (e) {
    error = broken !== null || !decoder ? `the answer broke off: ${words(broken ?? e, url)}` : `the ${encoding} body cannot be decompressed (${(e as { code?: string }).code ?? (e as Error).message})`
  }
  res.destroy()
  return { body: decode(Buffer.concat(chunks).subarray(0, BODY_LIMIT), res.headers['content-type']), error }
}

/** Bytes as text in the charset the answer names (UTF-8 when it names none, or one unknown here). */
function decode(bytes: Buffer, contentType: string | undefined): string {
  const charset = /charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]
  let decoder: TextDecoder
  try {
    decoder = new TextDecoder(charset ?? 'utf-8')
  } catch {
    decoder = new TextDecoder('utf-8')
  }
  return decoder.decode(bytes)
}

/** A network error in words, naming the address (host:port) it concerns. */
function words(e: unknown, url: URL | null): string {
  const err = e as Error & { code?: string; errors?: { code?: string }[] }
  const code = err?.code ?? err?.errors?.[0]?.code
  const where = url ? `${url.hostname}:${Number(url.port) || (url.protocol === 'https:' ? 443 : 80)}` : 'the server'
  switch (code) {
    case 'ECONNREFUSED':
      return `ECONNREFUSED: nothing accepts connections at ${where}`
    case 'ENOTFOUND':
      return `ENOTFOUND: the host name ${url?.hostname ?? ''} does not resolve`
    case 'EAI_AGAIN':
      return `EAI_AGAIN: the host name ${url?.hostname ?? ''} cannot be resolved now (DNS)`
    case 'ECONNRESET':
      return `ECONNRESET: ${where} closed the connection`
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${code}: no route to ${where}`
    case 'ETIMEDOUT':
      return `ETIMEDOUT: ${where} did not accept the connection in time`
    case 'EPROTO':
      return `EPROTO: the TLS handshake with ${where} failed — is it serving HTTPS on that port?`
  }
  if (code?.startsWith('HPE_')) return `the answer of ${where} is not valid HTTP (${code})`
  if (code?.startsWith('ERR_SSL_')) return `TLS: the handshake with ${where} failed (${code}) — is it serving HTTPS on that port?`
  const message = err instanceof Error ? err.message : String(e)
  return code && !message.includes(code) ? `${code}: ${message}` : message
}

function fileProblem(e: unknown): string {
  const code = (e as { code?: string }).code
  if (code === 'ENOENT') return 'no such file'
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied'
  if (code === 'EISDIR') return 'it is a directory'
  return code ?? (e as Error).message
}

/** The basic-auth credentials: basicAuth, else a user and password written into the URL. */
function credentials(spec: ProbeSpec): { user: string; password: string } | null {
  if (spec.basicAuth) return spec.basicAuth
  try {
    const u = new URL(spec.url)
    if (u.username || u.password) return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) }
  } catch {
    // not a URL: reported by run()
  }
  return null
}

/** Every form in which a password could show up in text: as is, percent-encoded, inside the Basic token. */
function secretForms(auth: { user: string; password: string }): string[] {
  if (auth.password.length < 4) return []
  return [auth.password, encodeURIComponent(auth.password), Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64')]
}

function scrub(text: string, secrets: string[]): string {
  let out = text
  for (const s of secrets) out = out.split(s).join('********')
  return out
}

/** The probe's URL as it is shown: a user and password written into it removed. */
function shownUrl(raw: string): string {
  try {
    const u = new URL(raw)
    if (!u.username && !u.password) return raw
    u.username = ''
    u.password = ''
    return u.href
  } catch {
    return raw.replace(/\/\/[^/?#]*@/, '//')
  }
}

/** A URL for an error message: on one line, bounded. */
function shown(u: URL): string {
  return quoted(u.href)
}

function quoted(text: string): string {
  return visible(text.length > 200 ? `${text.slice(0, 200)}…` : text)
}

function originOf(text: string): string | null {
  try {
    const o = new URL(text).origin
    return o === 'null' ? null : o
  } catch {
    return null
  }
}

/** An IPv6 host without its brackets, as sockets want it. */
function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
}

/** The name in a Host header ("shop.example:8443" → "shop.example"). */
function hostName(hostHeader: string): string {
  try {
    return bareHost(new URL(`http://${hostHeader}/`).hostname)
  } catch {
    return hostHeader
  }
}
