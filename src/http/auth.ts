// Who is asking, for every request: a browser session (login against the users file, cookie HttpOnly,
// SameSite=Strict, Secure behind TLS), or an API token (`Authorization: Bearer`, /api only). Logins are
// rate limited per address and locked out for a while per name and address after repeated failures
// (rate-limiter-flexible); state-changing requests from a session carry a CSRF token (csrf-sync). The role
// is checked on the server for every route, whatever the page showed.
import { createHash, randomBytes } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import session from 'express-session'
import createMemoryStore from 'memorystore'
import { csrfSync } from 'csrf-sync'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { roleAllows, type Action, type Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { aliasesOf } from '../services/access.ts'
import type { AppDeps } from './deps.ts'

declare module 'express-session' {
  interface SessionData {
    user?: string
    /** Access.sessionStamp at login: a changed password ends the session */
    stamp?: string
    /** epoch ms of the login: no session lives longer than MAX_AGE_MS, however active */
    since?: number
    /** the last restore's report, shown once on its result page */
    restore?: { site: string; report: unknown }
    /** a token just created: shown once, on the next page */
    newToken?: { id: string; token: string; user: string }
    flash?: string
  }
}

/** Sessions end after this long without a request (a phone left on the desk at 3 a.m.). */
export const IDLE_MS = 8 * 3600_000
/** …and this long after the login, however active. */
export const MAX_AGE_MS = 24 * 3600_000
/** At most this many sessions are kept (oldest dropped first): a flood of logins cannot exhaust memory. */
const MAX_SESSIONS = 10_000
/** Failed logins per name and address before a lockout; its length. */
export const LOCKOUT = { failures: 5, seconds: 15 * 60 }
/** Failed logins per address per hour before that address must wait. */
export const PER_ADDRESS = { failures: 30, seconds: 3600 }

/**
 * Sessions of people who logged in and sessions of anonymous visitors (a login form's CSRF token) in two
 * stores, each with its own cap: ten thousand anonymous GET /login can push out only other anonymous
 * sessions, never a logged-in operator's.
 */
class SplitStore extends session.Store {
  private readonly people: session.Store
  private readonly anonymous: session.Store

  constructor() {
    super()
    const MemoryStore = createMemoryStore(session)
    this.people = new MemoryStore({ checkPeriod: 10 * 60_000, max: MAX_SESSIONS, ttl: IDLE_MS })
    this.anonymous = new MemoryStore({ checkPeriod: 10 * 60_000, max: MAX_SESSIONS, ttl: ANONYMOUS_TTL_MS })
  }

  private storeOf(sess: session.SessionData): session.Store {
    return sess.user ? this.people : this.anonymous
  }

  get(sid: string, cb: (err: unknown, sess?: session.SessionData | null) => void): void {
    this.people.get(sid, (err, sess) => (err || sess ? cb(err, sess) : this.anonymous.get(sid, cb)))
  }

  set(sid: string, sess: session.SessionData, cb?: (err?: unknown) => void): void {
    const into = this.storeOf(sess)
    // a session that logged in or out moves: it is never in both
    const other = into === this.people ? this.anonymous : this.people
    other.destroy(sid, () => into.set(sid, sess, cb))
  }

  destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.people.destroy(sid, () => this.anonymous.destroy(sid, cb))
  }

  override touch(sid: string, sess: session.SessionData, cb?: () => void): void {
    const into = this.storeOf(sess)
    if (into.touch) into.touch(sid, sess, cb ?? (() => undefined))
    else cb?.()
  }
}

/** An anonymous session (a login form not yet sent) is kept this long. */
const ANONYMOUS_TTL_MS = 30 * 60_000

export function sessions(): RequestHandler {
  return session({
    name: 'peakguard.sid',
    // a new secret each start: sessions do not outlive the daemon, and no secret sits in a file
    secret: randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    store: new SplitStore(),
    // Secure whenever the request came over TLS (directly, or through a trusted proxy: ui.trustProxy)
    // no Expires or Max-Age: the cookie lasts until the browser closes, and the server alone decides when a
    // session ends (8 idle hours: the stores' TTL, renewed by each request; 24 h after login) — so a browser
    // whose clock is wrong can neither keep a session alive nor lose it early
    cookie: { httpOnly: true, sameSite: 'strict', secure: 'auto', path: '/' },
  })
}

/** The CSRF check of every POST made with a session; requests with a Bearer token carry no cookie to forge. */
export const csrf = csrfSync({
  getTokenFromRequest: (req) => {
    const body = req.body as Record<string, unknown> | undefined
    return (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? req.get('x-csrf-token')
  },
  skipCsrfProtection: (req) => !!bearer(req),
  errorConfig: {
    statusCode: 403,
    code: 'CSRF_INVALID',
    message: 'this form expired or did not come from peakguard (its CSRF token is missing or wrong): reload the page and try again',
  },
})

/** Whether the request is for /api (Express matches routes case-insensitively, so this does too). */
export function isApi(req: Request): boolean {
  return req.originalUrl.toLowerCase().startsWith('/api/')
}

export function bearer(req: Request): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')
  return m ? (m[1] as string) : null
}

/**
 * The address a login limit counts: an IPv4 address, or an IPv6 client's /64 (one host usually holds a whole
 * /64, and could otherwise take a fresh address for every guess).
 */
export function addressKey(ip: string): string {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)
  if (v4) return v4[1] as string
  if (!ip.includes(':')) return ip
  const [head = '', tail = ''] = ip.split('::')
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = ip.includes('::') ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h
  return `${groups
    .slice(0, 4)
    .map((g) => g.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}

export class LoginGuard {
  private readonly byAddress = new RateLimiterMemory({ points: PER_ADDRESS.failures, duration: PER_ADDRESS.seconds, blockDuration: PER_ADDRESS.seconds })
  private readonly byName = new RateLimiterMemory({ points: LOCKOUT.failures, duration: LOCKOUT.seconds, blockDuration: LOCKOUT.seconds })
  private readonly deps: AppDeps

  constructor(deps: AppDeps) {
    this.deps = deps
  }

  private static wait(e: unknown): number | null {
    return e instanceof RateLimiterRes ? Math.ceil(e.msBeforeNext / 60_000) : null
  }

  /**
   * The user, or AUTH_FAILED/LOCKED with what to do. Each attempt is counted before the password is checked,
   * so that parallel guesses cannot slip past the count; a success clears the name's count. Every failure is
   * audited (the address, and the name only when such a user exists: a password typed into the name field
   * must not be kept forever), never the password.
   */
  async login(name: string, password: string, remote: string): Promise<Actor> {
    const ip = addressKey(remote)
    const locked = (e: unknown): never => {
      const min = LoginGuard.wait(e)
      if (min === null) throw e
      throw new PeakguardError('LOCKED', `too many failed logins: try again in ${min} min, or ask an admin to check the audit log (type login-failed)`)
    }
    // a locked address is answered before anything is kept for the name it sends: a flood of new names from
    // one address must not grow memory. The name is kept as a fixed-size digest, whatever its length.
    const addr = await this.byAddress.get(ip)
    if (addr && addr.consumedPoints >= PER_ADDRESS.failures) locked(addr)
    const key = `${createHash('sha256').update(name.toLowerCase()).digest('base64url').slice(0, 22)}|${ip}`
    await this.byName.consume(key).catch(locked)
    await this.byAddress.consume(ip).catch(async (e: unknown) => {
      await this.byName.reward(key, 1)
      locked(e)
    })
    try {
      const actor = await this.deps.access.authenticatePassword(name, password)
      await this.byName.delete(key)
      await this.byAddress.reward(ip, 1)
      return actor
    } catch (e) {
      if (!(e instanceof PeakguardError) || e.code !== 'AUTH_FAILED') throw e
      const known = (await this.deps.access.getUser(name).catch(() => null)) !== null
      const who = known ? name : 'unknown'
      await this.deps.auditAll({ type: 'login-failed', actor: who, summary: `failed web login as ${known ? name : `an unknown name (${name.length} characters)`} from ${remote}`, details: { via: 'web', ip: remote } })
      throw new PeakguardError('AUTH_FAILED', 'wrong name or password')
    }
  }
}

/** The session's user (re-read each request, so a removed user or a changed role counts at once), else null. */
async function sessionActor(deps: AppDeps, req: Request): Promise<Actor | null> {
  const name = req.session?.user
  if (!name) return null
  const found = await deps.access.sessionUser(name)
  const u = found?.user
  if (!u || found.stamp !== req.session.stamp || Date.now() - (req.session.since ?? 0) > MAX_AGE_MS) {
    // removed, its password changed, or simply too old: log in again
    req.session.user = undefined
    return null
  }
  return { name: u.name, role: u.role, via: 'session', ...aliasesOf(u) }
}

/** Finds who is asking and keeps it in res.locals.actor (null: nobody). */
export function identify(deps: AppDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = bearer(req)
      if (token) {
        if (!isApi(req)) throw new PeakguardError('AUTH_FAILED', 'API tokens are for /api only; log in at /login for the pages')
        const actor = await deps.access.authenticateToken(token).catch(() => {
          res.set('WWW-Authenticate', 'Bearer realm="peakguard", error="invalid_token"')
          throw new PeakguardError('AUTH_FAILED', 'the token is not valid (revoked, or never issued): create one with peakguard token create --user NAME')
        })
        const u = await deps.access.getUser(actor.name)
        res.locals.actor = { ...actor, via: 'token', ...aliasesOf(u) }
      } else res.locals.actor = await sessionActor(deps, req)
      // someone proved who they are: there are users; otherwise ask the users file
      res.locals.open = res.locals.actor ? false : !(await deps.access.hasUsers())
      next()
    } catch (e) {
      next(e)
    }
  }
}

/**
 * Throws unless the request's actor may do `action`: AUTH_REQUIRED (401) without one, FORBIDDEN (403) for a
 * role too low. With no users at all (a fresh install) reading /api is open on the UI's address, as
 * `peakguard status` always was; the pages and every action need the first admin user (peakguard user add).
 */
export function demand(req: Request, res: Response, action: Action): Actor | null {
  const actor = res.locals.actor as Actor | null
  const api = isApi(req)
  if (!actor) {
    // `peakguard status` and scripts read /api with no users set up; the pages, which show option values, never
    if (res.locals.open && action === 'view' && api) return null
    if (api) res.set('WWW-Authenticate', 'Bearer realm="peakguard"')
    throw new PeakguardError(
      'AUTH_REQUIRED',
      res.locals.open
        ? "peakguard has no users yet: create the first admin with 'peakguard user add NAME --role admin --password-stdin', then log in"
        : api
          ? "send 'Authorization: Bearer TOKEN' (a token from 'peakguard token create --user NAME'), or log in at /login"
          : 'log in first',
    )
  }
  if (!roleAllows(actor.role, action)) throw new PeakguardError('FORBIDDEN', `${actor.name} has role ${actor.role}, which may not do this: ask someone with a higher role, or an admin`)
  return actor
}

/** The route's role check, as middleware. */
export function requireRole(action: Action): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    try {
      demand(req, res, action)
      next()
    } catch (e) {
      next(e)
    }
  }
}
