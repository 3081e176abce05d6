// Cache purges over HTTP after a restore (PurgePort): a request to each configured URL — a Varnish or nginx
// PURGE/BAN with its headers — and then Cloudflare's purge-everything for the zone, with the API token read
// from the environment when the purge runs. Each request has the configured timeout, follows no redirect
// (its headers and the token go to the configured address only) and ends as a result, never a rejection.
// What is shown of them — names, details, errors — never holds a secret: a URL is shown as its origin
// (the path and query may be the secret of a purge endpoint, credentials are dropped) and every configured
// header value, URL credential and the token are cut out of any text that came back.
import type { PurgePort, PurgeResult } from '../core/index.ts'
import { readBounded } from './http-body.ts'

export interface HttpPurgeTarget {
  url: string
  method: string
  headers: Readonly<Record<string, string>>
}

export interface CloudflareTarget {
  /** 32 hex digits */
  zoneId: string
  /** the environment variable that holds the API token */
  tokenEnv: string
  /** https://api.cloudflare.com/client/v4, or a stand-in */
  apiUrl: string
}

export interface HttpPurgeOptions {
  http: readonly HttpPurgeTarget[]
  cloudflare: CloudflareTarget | null
  /** per request */
  timeoutMs: number
  /** where the token is read, when the purge runs (default process.env) */
  env?: Readonly<Record<string, string | undefined>>
}

/** The most of an answer read: Cloudflare's JSON is small; a purge endpoint's page is only quoted. */
const ANSWER_MAX = 64 * 1024
/** How much of a refusing purge endpoint's answer is quoted. */
const QUOTE_MAX = 120

/** A URL as shown: scheme, host and port; "/…" for any path or query (they may be the secret), never credentials. */
export function shownUrl(text: string): string {
  try {
    const u = new URL(text)
    return `${u.protocol}//${u.host}/${u.pathname !== '/' || u.search ? '…' : ''}`
  } catch {
    return 'an unreadable URL'
  }
}

/** Printable ASCII on one line, at most `max` characters. */
function oneLine(text: string, max: number): string {
  const t = text.replace(/[^\x20-\x7e]+/g, ' ').replace(/ {2,}/g, ' ').trim()
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}

/** Why a request failed, in words (a code such as ECONNREFUSED where Node gives one). */
function failure(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } }
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return `no answer within ${timeoutMs} ms (purge.timeout)`
  const code = err.cause?.code
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): nothing listens there'
  if (code === 'ENOTFOUND') return 'host not found (ENOTFOUND)'
  return code ?? err.cause?.message ?? err.message
}


export class HttpPurge implements PurgePort {
  readonly label = 'HTTP purges'
  readonly kind = 'http'
  private readonly o: HttpPurgeOptions

  constructor(o: HttpPurgeOptions) {
    this.o = o
  }

  async purge(): Promise<PurgeResult[]> {
    const names = this.names()
    // the origin's caches together (each has its own timeout), then the CDN: purged first, it would fill
    // again from a cache behind it that still held the old pages
    const http = await Promise.all(this.o.http.map((t, i) => this.purgeUrl(t, names[i] as string)))
    const cf = this.o.cloudflare ? [await this.purgeCloudflare(this.o.cloudflare)] : []
    return [...http, ...cf]
  }

  /** "PURGE http://127.0.0.1:6081/", numbered when two targets would read the same. */
  private names(): string[] {
    const plain = this.o.http.map((t) => `${t.method} ${shownUrl(t.url)}`)
    return plain.map((n, i) => (plain.indexOf(n) !== plain.lastIndexOf(n) ? `${n} (#${i + 1})` : n))
  }

  private async purgeUrl(t: HttpPurgeTarget, name: string): Promise<PurgeResult> {
    const secrets = Object.values(t.headers)
    const result = (ok: boolean, detail: string): PurgeResult => ({ name, kind: 'http', ok, detail: scrub(detail, secrets) })
    let url: URL
    try {
      url = new URL(t.url)
    } catch {
      return result(false, 'not a URL')
    }
    // the path and query are not shown (see shownUrl): nor where an answer quotes them
    secrets.push(url.pathname, url.search)
    const headers: Record<string, string> = { 'user-agent': 'peakguard-purge', ...t.headers }
    if (url.username || url.password) {
      // fetch refuses a URL with credentials: they travel as HTTP basic auth (unless a header says otherwise)
      const user = decodeURIComponent(url.username)
      const pass = decodeURIComponent(url.password)
      secrets.push(user, pass, url.username, url.password)
      const basic = Buffer.from(`${user}:${pass}`).toString('base64')
      secrets.push(basic)
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) headers.authorization = `Basic ${basic}`
      url.username = ''
      url.password = ''
    }
    try {
      const res = await fetch(url, { method: t.method, headers, redirect: 'manual', signal: AbortSignal.timeout(this.o.timeoutMs) })
      const text = await readBounded(res, ANSWER_MAX)
      if (res.status >= 200 && res.status < 300) return result(true, `HTTP ${res.status}`)
      // secrets out before the quote is cut: a cut through a token would leave its prefix unrecognised
      const said = oneLine(scrub(text.replace(/<[^>]*>/g, ' '), secrets), QUOTE_MAX)
      const why =
        res.status >= 300 && res.status < 400
          ? ' (a redirect: not followed, the purge and its headers go to the configured address only)'
          : res.status === 404
            ? ' (nothing cached under that URL, or no purge handler there)'
            : res.status === 405 || res.status === 403
              ? ` (the cache does not accept ${t.method} from this host? check its ACL)`
              : ''
      return result(false, `HTTP ${res.status}${why}${said ? `: ${said}` : ''}`)
    } catch (e) {
      return result(false, failure(e, this.o.timeoutMs))
    }
  }

  private async purgeCloudflare(cf: CloudflareTarget): Promise<PurgeResult> {
    const name = `Cloudflare zone ${cf.zoneId}`
    const token = (this.o.env ?? process.env)[cf.tokenEnv]
    const secrets = token ? [token] : []
    const result = (ok: boolean, detail: string): PurgeResult => ({ name, kind: 'cloudflare', ok, detail: scrub(detail, secrets) })
    if (!token) return result(false, `the environment variable ${cf.tokenEnv} (the API token) is not set for this process: set it where peakguard runs (the daemon's unit, and the shell of a CLI restore)`)
    // a header value with a control character would make fetch fail with a message that quotes it
    if (!/^[\x21-\x7e]+$/.test(token)) return result(false, `the API token in ${cf.tokenEnv} holds characters an HTTP header cannot carry (a line break or a space?)`)
    const where = shownUrl(cf.apiUrl)
    let url: URL
    try {
      url = new URL(`${cf.apiUrl.replace(/\/+$/, '')}/zones/${encodeURIComponent(cf.zoneId)}/purge_cache`)
    } catch {
      return result(false, 'apiUrl is not a URL')
    }
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'user-agent': 'peakguard-purge' },
        body: JSON.stringify({ purge_everything: true }),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
      })
      const text = await readBounded(res, ANSWER_MAX)
      const body = ((): { success?: unknown; errors?: unknown } | null => {
        try {
          const b = JSON.parse(text) as unknown
          return b && typeof b === 'object' ? (b as { success?: unknown; errors?: unknown }) : null
        } catch {
          return null // not Cloudflare's JSON: said below
        }
      })()
      if (res.status >= 200 && res.status < 300 && body?.success === true) return result(true, `purge everything accepted (HTTP ${res.status})`)
      const first = Array.isArray(body?.errors) ? (body.errors[0] as { code?: unknown; message?: unknown } | undefined) : undefined
      const said = first && typeof first === 'object' ? oneLine(scrub(`${typeof first.code === 'number' ? `${first.code} ` : ''}${typeof first.message === 'string' ? first.message : ''}`, secrets), QUOTE_MAX) : ''
      return result(false, `${where} answered HTTP ${res.status}${body ? ` with success ${String(body.success === true)}` : ', not with the API\'s JSON'}${said ? `: ${said}` : ''}`)
    } catch (e) {
      return result(false, `${where}: ${failure(e, this.o.timeoutMs)}`)
    }
  }
}

/** `text` with every secret (of 4 characters or more: shorter ones would cut up ordinary words) cut out. */
function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const s of [...secrets].filter((x) => x.length >= 4).sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]')
  return out
}
