// http: the Express app the daemon serves on ui.listen (built here, never listened on here). Routes call
// services; adapters are wired in by the composition root (src/compose/). Must never import adapters, main, mysql2 or simple-git.
//   /healthz, /metrics       open (bound to 127.0.0.1 by default): is the daemon up; Prometheus
//   /api/…                   JSON (api.ts): Bearer token, or the session with its CSRF token
//   /bridge/pre-update       the WordPress bridge, from loopback with its secret (routes/bridge.ts)
//   /login, /, /sites/…      the pages (pages.ts), rendered from web/templates
//   /static/…                web/static: CSS and a little JavaScript (no inline script: see the CSP)
import net from 'node:net'
import path from 'node:path'
import express, { type NextFunction, type Request, type Response } from 'express'
import helmet from 'helmet'
import { asPeakguardError, ERRORS, PeakguardError } from '../errors.ts'
import { apiRouter } from './api.ts'
import { DenialRecorder } from '../services/audit.ts'
import { bridgeRoutes } from './routes/bridge.ts'
import { bearer, csrf, identify, isApi, LoginCsrf, recordRefusal, sessions } from './auth.ts'
import type { AppDeps } from './deps.ts'
import type { DaemonSiteStatus } from '../services/index.ts'
import { pageRouter } from './pages.ts'
import { Views } from './render.ts'

export type { AppDeps, UiSite } from './deps.ts'

/** A failure Express or a body parser raised (http-errors: 400 bad JSON, 413 too large, 404 no such file) in words. */
function fromHttpError(e: unknown): PeakguardError | null {
  const status = (e as { status?: unknown }).status
  if (typeof status !== 'number' || status < 400 || status >= 500) return null
  if (status === 404) return new PeakguardError('NOT_FOUND', 'no such file: start from the overview at /')
  if (status === 413) return new PeakguardError('USAGE', 'the request is too large (at most 64 kB): send less')
  return new PeakguardError('USAGE', `the request could not be read (HTTP ${status}): send a form or a JSON object`)
}

/** The UI's app, and what it must write before the daemon stops (the counts of refused requests left out so far). */
export type UiApp = express.Express & { flush(): Promise<void> }

export function buildApp(deps: AppDeps): UiApp {
  const app = express()
  app.disable('x-powered-by')
  app.set('json spaces', 2)
  app.set('trust proxy', deps.trustProxy ?? false)
  const views = new Views(deps.webDir)
  // refused requests (role, CSRF, bad token, login lockout) and failed logins in every site's audit log, at
  // most so many a minute (services/audit.ts DENIAL_LIMITS): a flood of them cannot fill the disk
  const denials = new DenialRecorder((entry) => deps.auditAll(entry), {
    onError: (e) => deps.log?.error({ err: e instanceof Error ? e.message : String(e) }, 'cannot write a refused request to the audit log'),
  })
  const loginCsrf = new LoginCsrf()

  app.use(
    helmet({
      contentSecurityPolicy: {
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          styleSrc: ["'self'"],
          imgSrc: ["'self'", 'data:'],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
          // the UI is served over plain http on 127.0.0.1 by default: no upgrade to an https that is not there
          upgradeInsecureRequests: null,
        },
      },
      // a TLS proxy in front sets its own; on plain http HSTS would only confuse
      strictTransportSecurity: false,
    }),
  )

  // DNS rebinding: a page on attacker.example whose name now points at 127.0.0.1 reaches this port from
  // the victim's browser with 'Host: attacker.example'. Such a request never names an address or a name
  // peakguard was given, so answering only those stops it, for every route.
  // the WordPress bridge's pre-update request first: machine to machine, from loopback with the bridge's secret
  // (routes/bridge.ts checks both), before sessions and the CSRF check — and before the Host check, which answers
  // names a browser may use: the bridge names the daemon by its loopback address whatever ui.listen says
  app.use(bridgeRoutes(deps))
  if (deps.hosts) app.use(hostGuard(deps.hosts))

  // a node of a fleet whose files are not the fleet's state, or that cannot reach the database, is taken out of
  // the load balancer's rotation rather than serving a mix of versions
  const fleetFailing = (x: DaemonSiteStatus): { site: string; error: string }[] => {
    const f = x.fleet
    if (!f) return []
    if (f.dbError) return [{ site: x.site, error: `node ${f.node} cannot reach the fleet's database: ${f.dbError}` }]
    if (f.behind) return [{ site: x.site, error: `node ${f.node} has not had the fleet's newest state ${f.behind.head.slice(0, 12)} since ${f.behind.since} (its copy of the journal cannot catch up): its files cannot be compared` }]
    if (f.drift) return [{ site: x.site, error: `node ${f.node}: ${f.drift.count} file(s) differ from the fleet's state ${f.drift.desired.slice(0, 12)}: ${f.drift.paths.slice(0, 5).join(', ')}${f.drift.count > 5 ? ', …' : ''}` }]
    return []
  }
  app.get('/healthz', async (_req, res) => {
    const s = await deps.status()
    // a site that could not start, or whose changes cannot be recorded now, is not ok
    const failing = s.sites.flatMap((x) =>
      !x.started ? [{ site: x.site, error: x.startError }] : x.failing ? [{ site: x.site, error: `cannot snapshot: ${x.lastError?.message ?? 'unknown'}` }] : fleetFailing(x),
    )
    const warnings = s.sites.flatMap((x) => (x.lastSnapshot?.skipped ?? []).map((w) => ({ site: x.site, warning: `not recorded: ${w}` })))
    res.status(failing.length ? 503 : 200).json({ ok: failing.length === 0, pid: s.pid, startedAt: s.startedAt, failing, warnings })
  })

  app.get('/metrics', async (_req, res) => {
    const m = await deps.metrics()
    res.type(m.contentType).send(m.body)
  })

  app.use('/static', express.static(path.join(deps.webDir, 'static'), { index: false, maxAge: '1h' }))

  // nothing peakguard serves to a logged-in person may stay in a shared browser's cache (tokens, diffs)
  let warnedProxy = false
  app.use((req, res, next) => {
    res.set('Cache-Control', 'no-store')
    if (!deps.trustProxy && req.get('x-forwarded-for') && !warnedProxy) {
      warnedProxy = true
      // behind a proxy every request seems to come from the proxy: one address for everybody's login limit
      deps.log?.warn({}, 'requests arrive through a proxy (X-Forwarded-For) but ui.trustProxy is not set: set it to the proxy\'s address (e.g. loopback), or the login limits count everyone as one address and the session cookie is not marked Secure')
    }
    next()
  })
  app.use(express.urlencoded({ extended: false, limit: '64kb' }))
  app.use(express.json({ limit: '64kb' }))
  app.use(sessions())
  app.use(identify(deps))
  app.use((req, res, next) => {
    res.locals.siteIds = deps.sites.map((s) => s.id)
    // a page's forms carry the session's token, made when a page is rendered (not for every request: each
    // token lives in a session, and a session in memory); an API client with a session reads it from a page.
    // Only someone logged in gets one: for anyone else it would store a session (the login form has its own)
    const loggedIn = (res.locals.actor as { via?: string } | null)?.via === 'session'
    res.locals.csrfFor = () => (loggedIn && req.session?.user && !bearer(req) ? csrf.generateToken(req) : '')
    next()
  })
  app.use(loginCsrf.guard())
  app.use(csrf.csrfSynchronisedProtection)

  app.use('/api', apiRouter(deps))
  app.use(pageRouter(deps, views, { csrf: loginCsrf, denials }))

  app.use((_req, _res, next) => next(new PeakguardError('NOT_FOUND', 'no such page: start from the overview at /')))
  // one error → status mapping (errors.ts), with a message that never holds a value; pages get HTML
  // a refused request (role, CSRF, bad token) is audited first (rate limited; never delays beyond its write)
  app.use(async (e: unknown, req: Request, res: Response, _next: NextFunction) => {
    const csrfError = (e as { code?: string }).code === 'CSRF_INVALID'
    const err = csrfError ? new PeakguardError('CSRF_INVALID', (e as Error).message) : (fromHttpError(e) ?? asPeakguardError(e))
    if (err.code === 'INTERNAL') deps.log?.error({ path: req.path, err: err.cause instanceof Error ? err.cause.stack : String(err.cause) }, `web UI: ${err.message}`)
    await recordRefusal(denials, req, res, err.code)
    if (isApi(req) || bearer(req) || !req.accepts('html')) {
      res.status(err.httpStatus).json({ error: { code: err.code, message: err.message } })
      return
    }
    if (err.code === 'AUTH_REQUIRED' && !res.locals.open && req.method === 'GET') return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`)
    // every error page says what happened and what to do next, both from the error table
    const { what, advice } = ERRORS[err.code]
    views.render(res, 'error', { title: 'Something went wrong', code: err.code, what, message: err.message, advice }, err.httpStatus)
  })
  // a daemon that stops writes the counts of the refusals left out so far, not only at the minute's end
  return Object.assign(app, { flush: () => denials.flush() })
}

/**
 * Refuses (421) a request whose Host names anything but the listen address, localhost, or a name in
 * ui.hosts; on a wildcard listen address (0.0.0.0, ::) any IP address is accepted, since a rebinding page
 * always comes by a name.
 */
function hostGuard(hosts: NonNullable<AppDeps['hosts']>): express.RequestHandler {
  const names = new Set(['localhost', hosts.listen.toLowerCase(), ...hosts.names.map((n) => n.toLowerCase())])
  const wildcard = hosts.listen === '0.0.0.0' || hosts.listen === '::'
  return (req, _res, next) => {
    const raw = (req.headers.host ?? '').trim().toLowerCase()
    // host[:port], or [v6]:port
    const name = raw.startsWith('[') ? raw.slice(1, raw.indexOf(']')) : raw.replace(/:\d+$/, '')
    if (names.has(name) || (wildcard && net.isIP(name) !== 0)) return next()
    next(new PeakguardError('HOST_UNKNOWN', `this peakguard does not answer to the host ${JSON.stringify(raw.slice(0, 100))}: use ${[...names].join(' or ')}, or add the name to ui.hosts in the config`))
  }
}
