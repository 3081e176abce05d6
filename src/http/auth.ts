// Who is asking, for every request: a browser session (login against the users file, cookie HttpOnly,
// SameSite=Strict, Secure behind TLS), or an API token (`Authorization: Bearer`, /api only). Logins are
// rate limited per address and locked out for a while per name and address after repeated failures
// (rate-limiter-flexible); state-changing requests from a session carry a CSRF token (csrf-sync), the login
// form a stateless one (a signed double-submit cookie): nothing is stored for anyone before they log in. The
// role is checked on the server for every route, whatever the page showed.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import session from 'express-session'
import createMemoryStore from 'memorystore'
import { csrfSync } from 'csrf-sync'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { roleAllows, type Action, type Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { aliasesOf } from '../services/access.ts'
import { deniedAudit, requestText, type DenialRecorder, type RefusedRequest } from '../services/audit.ts'
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
 * Sessions of people who logged in, and apart from them any session without a user, each store with its own
 * cap. Anonymous pages store no session at all (saveUninitialized: false, nothing is written into an
 * anonymous req.session, the login form's CSRF token is stateless), so the second store stays empty; it is
 * there so that, should some page ever write into an anonymous session, ten thousand anonymous requests could
 * push out only each other, never a logged-in operator.
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
    // a session that logged in or out moves: stored in its new place first, then taken out of the old one.
    // The other order left it in neither for an event-loop turn, and express-session sends the login's
    // redirect (with its cookie) before the store's callback: a browser fast enough to follow it in that
    // turn came back to the login page
    const other = into === this.people ? this.anonymous : this.people
    into.set(sid, sess, (err?: unknown) => other.destroy(sid, () => cb?.(err)))
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

/** A session without a user (none is stored: see SplitStore) would be kept this long. */
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

/** The CSRF token a request carries: a form's `_csrf` field, a JSON body's, or the X-CSRF-Token header. */
function sentToken(req: Request): string | undefined {
  const body = req.body as Record<string, unknown> | undefined
  return (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? req.get('x-csrf-token')
}

/**
 * Whether this is the login form being sent (Express matches routes case-insensitively and with or without a
 * trailing slash, so this does too). It alone is checked by its stateless token (loginCsrf), every other
 * POST by the session's: each POST meets exactly one of the two checks.
 */
function isLoginPost(req: Request): boolean {
  return req.method === 'POST' && /^\/login\/?$/i.test(req.path)
}

/**
 * The CSRF check of every POST made with a session; requests with a Bearer token carry no cookie to forge.
 * The token lives in the session, so only pages of someone logged in make one (Views: res.locals.csrfFor).
 */
export const csrf = csrfSync({
  getTokenFromRequest: sentToken,
  getTokenFromState: (req) => req.session?.csrfToken,
  storeTokenInState: (req, token) => {
    if (req.session) req.session.csrfToken = token
  },
  skipCsrfProtection: (req) => !!bearer(req) || isLoginPost(req),
  errorConfig: {
    statusCode: 403,
    code: 'CSRF_INVALID',
    message: 'this form expired or did not come from peakguard (its CSRF token is missing or wrong): reload the page and try again',
  },
})

/** How long a login form's token is good for. */
export const LOGIN_FORM_MS = 60 * 60_000

/**
 * The login form's CSRF token, stateless: nothing is kept on the server for a visitor who has not logged in,
 * so no number of anonymous visits can fill or flush the session store. GET /login makes (or reuses, see issue)
 * `v1.<issued, ms base 36>.<nonce>.<HMAC-SHA256 of both under a secret made at each start>` and sends it twice:
 * in a cookie (HttpOnly, SameSite=Strict, Secure and with the __Host- prefix over TLS; no Expires, as the
 * session cookie) and in the form's hidden `_csrf` field. POST /login is refused (403, CSRF_INVALID) unless
 * both came back, are equal, carry a valid HMAC and are at most LOGIN_FORM_MS old. A forged cross-site form
 * cannot read the cookie to copy it into the field, nor mint a token without the secret.
 */
export class LoginCsrf {
  private readonly secret = randomBytes(32)
  private readonly now: () => number

  constructor(now: () => number = Date.now) {
    this.now = now
  }

  private static cookieName(req: Request): string {
    return req.secure ? '__Host-peakguard.login' : 'peakguard.login'
  }

  private mac(issued: string, nonce: string): string {
    return createHmac('sha256', this.secret).update(`peakguard login form|v1|${issued}|${nonce}`).digest('base64url')
  }

  /**
   * The token for a login form: the one the browser already holds while it has at least half its time left
   * (two tabs, or a form sent again after a wrong password, must not void each other), else a new one, set in
   * the cookie. The caller puts it in the form.
   */
  issue(req: Request, res: Response): string {
    const held = cookieValue(req, LoginCsrf.cookieName(req))
    const age = held === null ? null : this.age(held)
    if (held !== null && age !== null && age <= LOGIN_FORM_MS / 2) return held
    const issued = this.now().toString(36)
    const nonce = randomBytes(16).toString('base64url')
    const token = `v1.${issued}.${nonce}.${this.mac(issued, nonce)}`
    res.cookie(LoginCsrf.cookieName(req), token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' })
    return token
  }

  /** Removes the cookie (after a login: the session's token takes over). */
  clear(req: Request, res: Response): void {
    res.clearCookie(LoginCsrf.cookieName(req), { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/' })
  }

  /** A token's age in ms when this daemon made it and it has not expired, else null. */
  private age(token: string): number | null {
    const m = /^v1\.([0-9a-z]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token)
    if (!m) return null
    const [, issued = '', nonce = '', mac = ''] = m
    if (!timingSafeEqual(Buffer.from(this.mac(issued, nonce)), Buffer.from(mac))) return null
    const age = this.now() - parseInt(issued, 36)
    // a little slack backwards: the clock may step back (NTP) between the form and its sending
    return age <= LOGIN_FORM_MS && age >= -5 * 60_000 ? Math.max(0, age) : null
  }

  /** Whether the request carries the same valid, unexpired token in its cookie and its form. */
  valid(req: Request): boolean {
    const sent = sentToken(req)
    const kept = cookieValue(req, LoginCsrf.cookieName(req))
    if (!sent || !kept || sent.length > 200) return false
    const a = Buffer.from(sent)
    const b = Buffer.from(kept)
    return a.length === b.length && timingSafeEqual(a, b) && this.age(sent) !== null
  }

  /** The check, as middleware: every POST /login without a valid token is refused before anything is done. */
  guard(): RequestHandler {
    return (req, _res, next) => {
      if (!isLoginPost(req) || this.valid(req)) return next()
      next(new PeakguardError('CSRF_INVALID', 'this login form expired or did not come from peakguard (its CSRF token is missing or wrong): reload the login page and try again'))
    }
  }
}

/** One cookie's value from the Cookie header (the first of that name), or null. */
function cookieValue(req: Request, name: string): string | null {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const i = part.indexOf('=')
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim()
  }
  return null
}

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

/**
 * A refused request as the audit log names it: the method and the route's pattern when Express matched one
 * ('POST /api/sites/:site/restores'), else the path (no query) through requestText; the remote address.
 */
export function refusedRequest(req: Request): RefusedRequest {
  const api = isApi(req)
  const route = (req.route as { path?: unknown } | undefined)?.path
  const where = typeof route === 'string' ? `${api ? '/api' : ''}${route}` : req.path
  return { method: requestText(req.method, 10), route: requestText(where), ip: requestText(req.ip ?? 'unknown', 64), via: api ? 'api' : 'web' }
}

/**
 * The audit entry of a refused request, if it is one the log keeps (a role too low, a CSRF token missing or
 * wrong, a bad API token), through the recorder's rate limit. Resolves once written or left out; never rejects.
 */
export function recordRefusal(denials: DenialRecorder, req: Request, res: Response, code: string): Promise<void> {
  const r = refusedRequest(req)
  // who: the session's or the token's user, else anonymous
  const who = (res.locals.actor as Actor | null | undefined) ?? null
  const key = addressKey(req.ip ?? 'unknown')
  if (code === 'FORBIDDEN' && who) return denials.record({ key, ip: r.ip, kind: 'role' }, () => deniedAudit.role(r, who))
  if (code === 'CSRF_INVALID') return denials.record({ key, ip: r.ip, kind: 'csrf' }, () => deniedAudit.csrf(r, who?.name ?? 'anonymous'))
  if (code === 'AUTH_FAILED' && res.locals.badToken)
    return denials.record({ key, ip: r.ip, kind: 'bad-token', login: true }, () => deniedAudit.loginFailed({ via: 'token', as: 'anonymous', shown: 'an unknown or revoked token', attempt: r }))
  return Promise.resolve()
}

export class LoginGuard {
  private readonly byAddress = new RateLimiterMemory({ points: PER_ADDRESS.failures, duration: PER_ADDRESS.seconds, blockDuration: PER_ADDRESS.seconds })
  private readonly byName = new RateLimiterMemory({ points: LOCKOUT.failures, duration: LOCKOUT.seconds, blockDuration: LOCKOUT.seconds })
  private readonly deps: AppDeps
  private readonly denials: DenialRecorder

  constructor(deps: AppDeps, denials: DenialRecorder) {
    this.deps = deps
    this.denials = denials
  }

  private static wait(e: unknown): number | null {
    return e instanceof RateLimiterRes ? Math.ceil(e.msBeforeNext / 60_000) : null
  }

  /** The name as the audit log may keep it: only when such a user exists (a password typed into the name field must not be kept forever). */
  private async known(name: string): Promise<boolean> {
    return (await this.deps.access.getUser(name).catch(() => null)) !== null
  }

  /**
   * The user, or AUTH_FAILED/LOCKED with what to do. Each attempt is counted before the password is checked,
   * so that parallel guesses cannot slip past the count; a success clears the name's count. Every failure and
   * every attempt refused while locked out is audited (the address, and the name only when such a user
   * exists), through the recorder's rate limit; never the password.
   */
  async login(name: string, password: string, req: Request): Promise<Actor> {
    const ip = addressKey(req.ip ?? 'unknown')
    const r = refusedRequest(req)
    const locked = async (e: unknown): Promise<never> => {
      const min = LoginGuard.wait(e)
      if (min === null) throw e
      await this.denials.record({ key: ip, ip: r.ip, kind: 'locked-out' }, async () => deniedAudit.lockedOut(r, (await this.known(name)) ? name : 'anonymous'))
      throw new PeakguardError('LOCKED', `too many failed logins: try again in ${min} min, or ask an admin to check the audit log (types login-failed and access-denied)`)
    }
    // a locked address is answered before anything is kept for the name it sends: a flood of new names from
    // one address must not grow memory. The name is kept as a fixed-size digest, whatever its length.
    const addr = await this.byAddress.get(ip)
    if (addr && addr.consumedPoints >= PER_ADDRESS.failures) await locked(addr)
    const key = `${createHash('sha256').update(name.toLowerCase()).digest('base64url').slice(0, 22)}|${ip}`
    await this.byName.consume(key).catch(locked)
    await this.byAddress.consume(ip).catch(async (e: unknown) => {
      await this.byName.reward(key, 1)
      await locked(e)
    })
    try {
      const actor = await this.deps.access.authenticatePassword(name, password)
      await this.byName.delete(key)
      await this.byAddress.reward(ip, 1)
      return actor
    } catch (e) {
      if (!(e instanceof PeakguardError) || e.code !== 'AUTH_FAILED') throw e
      const known = await this.known(name)
      await this.denials.record({ key: ip, ip: r.ip, kind: 'login-failed', login: true }, () =>
        deniedAudit.loginFailed({ via: 'web', as: known ? name : 'unknown', shown: known ? name : `an unknown name (${name.length} characters)`, ip: r.ip }),
      )
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
    // removed, its password changed, or simply too old: the session ends (destroyed, not kept without its
    // user); log in again
    await new Promise<void>((ok) => req.session.destroy(() => ok()))
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
          // audited by the error handler (recordRefusal), as the CLI audits a wrong PEAKGUARD_TOKEN
          res.locals.badToken = true
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
