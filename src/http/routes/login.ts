// The login form (with its stateless CSRF token: LoginCsrf, no session is stored for a visitor) and logout.
import { Router, type Request, type Response } from 'express'
import { PeakguardError } from '../../errors.ts'
import type { DenialRecorder } from '../../services/audit.ts'
import { LoginGuard, type LoginCsrf } from '../auth.ts'
import { loginForm, logoutForm, parseBody } from '../bodies.ts'
import type { AppDeps } from '../deps.ts'
import type { Views } from '../render.ts'
import { str } from './page-context.ts'

export function loginRoutes(deps: AppDeps, views: Views, login: { csrf: LoginCsrf; denials: DenialRecorder }): Router {
  const r = Router()
  const guard = new LoginGuard(deps, login.denials)

  /** The login form with its stateless CSRF token (LoginCsrf.issue: the cookie's, or a new one): no session is stored for it. */
  const loginPage = (req: Request, res: Response, data: { error: string | null; name: string; next: string }, status = 200) => {
    const token = login.csrf.issue(req, res)
    res.locals.csrfFor = () => token
    views.render(res, 'login', { title: 'Log in', open: res.locals.open, ...data }, status)
  }

  r.get('/login', async (req, res) => {
    if (res.locals.actor) return res.redirect(303, '/')
    loginPage(req, res, { error: null, name: '', next: safeNext(str(req.query.next)) })
  })

  r.post('/login', async (req, res) => {
    const f = parseBody(loginForm, req.body)
    const name = f.name.trim()
    const password = f.password
    const next = safeNext(f.next)
    try {
      if (!name || !password) throw new PeakguardError('AUTH_FAILED', 'give your peakguard user name and password')
      const actor = await guard.login(name, password, req)
      // a new session id at login: a session id planted before it is worth nothing after it. Through the
      // store: a stale session ended earlier in this request (identify) leaves no req.session to call it on
      await new Promise<void>((ok, fail) => req.sessionStore.regenerate(req, (e: unknown) => (e ? fail(e as Error) : ok())))
      login.csrf.clear(req, res)
      req.session.user = actor.name
      req.session.stamp = (await deps.access.sessionStamp(actor.name)) ?? undefined
      req.session.since = Date.now()
      res.redirect(303, next)
    } catch (e) {
      const known = e instanceof PeakguardError && ['AUTH_FAILED', 'LOCKED'].includes(e.code)
      // anything else (the users file unreadable…) is for the daemon's log, not for whoever is at the login page
      if (!known) deps.log?.error({ err: (e as Error).message }, 'web login failed')
      const err = known ? (e as PeakguardError) : new PeakguardError('INTERNAL', 'login is unavailable right now: see the daemon log (journalctl -u peakguard)')
      loginPage(req, res, { error: err.message, name, next }, err.httpStatus)
    }
  })

  r.post('/logout', async (req, res) => {
    parseBody(logoutForm, req.body)
    await new Promise<void>((ok) => req.session.destroy(() => ok()))
    res.clearCookie('peakguard.sid')
    res.redirect(303, '/login')
  })

  return r
}

/** Where to go after logging in: only a path on this server (never an open redirect). */
function safeNext(v: string | undefined): string {
  return v && /^\/(?!\/)[^\s\\]*$/.test(v) ? v : '/'
}
