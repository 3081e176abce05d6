// Who is asking, for every request: a browser session (login against the users file, cookie HttpOnly,
// SameSite=Strict, Secure behind TLS), or an API token (`Authorization: Bearer`, /api only). Logins are
// rate limited per address and locked out for a while per name and address after repeated failures
// (rate-limiter-flexible); state-changing requests from a session carry a CSRF token (csrf-sync). The role
// is checked on the server for every route, whatever the page showed.
import { randomBytes } from 'node:crypto'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import session from 'express-session'
import createMemoryStore from 'memorystore'
import { csrfSync } from 'csrf-sync'
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import { roleAllows, type Action, type Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import type { AppDeps } from './deps.ts'

declare module 'express-session' {
  interface SessionData {
    user?: string
    /** the last restore's report, shown once on its result page */
    restore?: { site: string; report: unknown }
    /** a token just created: shown once, on the next page */
    newToken?: { id: string; token: string; user: string }
    flash?: string
  }
}

/** Sessions end after this long without a request (a phone left on the desk at 3 a.m.). */
export const IDLE_MS = 8 * 3600_000
/** Failed logins per name and address before a lockout; its length. */
export const LOCKOUT = { failures: 5, seconds: 15 * 60 }
/** Failed logins per address per hour before that address must wait. */
export const PER_ADDRESS = { failures: 30, seconds: 3600 }

export function sessions(): RequestHandler {
  const MemoryStore = createMemoryStore(session)
  return session({
    name: 'peakguard.sid',
    // a new secret each start: sessions do not outlive the daemon, and no secret sits in a file
    secret: randomBytes(32).toString('hex'),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    store: new MemoryStore({ checkPeriod: 10 * 60_000 }),
    // Secure whenever the request came over TLS (directly, or through a trusted proxy: ui.trustProxy)
    cookie: { httpOnly: true, sameSite: 'strict', secure: 'auto', maxAge: IDLE_MS, path: '/' },
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

function bearer(req: Request): string | null {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')
  return m ? (m[1] as string) : null
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

  /** The user, or AUTH_FAILED/LOCKED with what to do; every failure is audited (name, address, never the password). */
  async login(name: string, password: string, ip: string): Promise<Actor> {
    const key = `${name.toLowerCase()}|${ip}`
    const [a, n] = await Promise.all([this.byAddress.get(ip), this.byName.get(key)])
    const blocked = [a, n].find((r) => r && r.remainingPoints <= 0 && r.msBeforeNext > 0)
    if (blocked)
      throw new PeakguardError('LOCKED', `too many failed logins: try again in ${Math.ceil(blocked.msBeforeNext / 60_000)} min, or ask an admin to check the audit log (type login-failed)`)
    try {
      const actor = await this.deps.access.authenticatePassword(name, password)
      await this.byName.delete(key)
      return actor
    } catch (e) {
      const waits = await Promise.all([this.byAddress.consume(ip).then(() => null, LoginGuard.wait), this.byName.consume(key).then(() => null, LoginGuard.wait)])
      await this.deps.auditAll({ type: 'login-failed', actor: name.slice(0, 64) || 'unknown', summary: `failed web login as ${name.slice(0, 64)} from ${ip}`, details: { via: 'web', ip } })
      const wait = waits.find((w) => w !== null)
      if (wait) throw new PeakguardError('LOCKED', `too many failed logins: try again in ${wait} min, or ask an admin to check the audit log (type login-failed)`)
      throw e instanceof PeakguardError && e.code !== 'INTERNAL' ? new PeakguardError('AUTH_FAILED', 'wrong name or password') : e
    }
  }
}

/** The session's user (re-read each request, so a removed user or a changed role counts at once), else null. */
async function sessionActor(deps: AppDeps, req: Request): Promise<Actor | null> {
  const name = req.session?.user
  if (!name) return null
  const u = await deps.access.getUser(name)
  if (!u) {
    req.session.user = undefined
    return null
  }
  return { name: u.name, role: u.role, via: 'session', ...(u.osUsers?.length || u.wpUsers?.length ? { aliases: [...(u.osUsers ?? []), ...(u.wpUsers ?? [])] } : {}) }
}

/** Finds who is asking and keeps it in res.locals.actor (null: nobody). */
export function identify(deps: AppDeps): RequestHandler {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const token = bearer(req)
      if (token) {
        if (!req.originalUrl.startsWith('/api/')) throw new PeakguardError('AUTH_FAILED', 'API tokens are for /api only; log in at /login for the pages')
        const actor = await deps.access.authenticateToken(token).catch(() => {
          res.set('WWW-Authenticate', 'Bearer realm="peakguard", error="invalid_token"')
          throw new PeakguardError('AUTH_FAILED', 'the token is not valid (revoked, or never issued): create one with peakguard token create --user NAME')
        })
        const u = await deps.access.getUser(actor.name)
        res.locals.actor = { ...actor, via: 'token', ...(u && (u.osUsers?.length || u.wpUsers?.length) ? { aliases: [...(u.osUsers ?? []), ...(u.wpUsers ?? [])] } : {}) }
      } else res.locals.actor = await sessionActor(deps, req)
      res.locals.open = !(await deps.access.hasUsers())
      next()
    } catch (e) {
      next(e)
    }
  }
}

/**
 * Throws unless the request's actor may do `action`: AUTH_REQUIRED (401) without one, FORBIDDEN (403) for a
 * role too low. With no users at all (a fresh install) reading is open on the UI's address, as `peakguard
 * status` always was, and acting needs the first admin user (peakguard user add).
 */
export function demand(req: Request, res: Response, action: Action): Actor | null {
  const actor = res.locals.actor as Actor | null
  const api = req.originalUrl.startsWith('/api/')
  if (!actor) {
    if (res.locals.open && action === 'view') return null
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
