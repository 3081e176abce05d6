// http: the Express app the daemon serves (built here, never listened on here). Routes call services;
// adapters are wired in by src/main.ts. Must never import adapters, main, mysql2 or simple-git.
// For now: GET /healthz (is the daemon up, is every site recording), GET /metrics (Prometheus) and
// GET /api/status (what `peakguard status` shows). Bound to 127.0.0.1 by default (ui.listen). Once
// peakguard has users, /api needs `Authorization: Bearer TOKEN` (peakguard token create) and a role.
import express, { type NextFunction, type Request, type Response } from 'express'
import { roleAllows, type Action, type Actor } from '../core/index.ts'
import { asPeakguardError, PeakguardError } from '../errors.ts'
import type { DaemonStatus } from '../services/index.ts'

export interface AppDeps {
  status(): Promise<DaemonStatus>
  metrics(): Promise<{ contentType: string; body: string }>
  /** API tokens: `open` while there are no users (a single-operator install), `token` proves one */
  auth?: { open(): Promise<boolean>; token(token: string): Promise<Actor> }
}

/** /api routes: the Bearer token's user, checked against the role the action needs (401, 403). */
function requireRole(deps: AppDeps, action: Action) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!deps.auth || (await deps.auth.open())) return next()
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '')
      if (!m) {
        res.set('WWW-Authenticate', 'Bearer realm="peakguard"')
        throw new PeakguardError('AUTH_REQUIRED', "send 'Authorization: Bearer TOKEN' (a token from 'peakguard token create --user NAME')")
      }
      const actor = await deps.auth.token(m[1] as string).catch(() => {
        res.set('WWW-Authenticate', 'Bearer realm="peakguard", error="invalid_token"')
        throw new PeakguardError('AUTH_FAILED', 'the token is not valid (revoked, or never issued)')
      })
      if (!roleAllows(actor.role, action)) throw new PeakguardError('FORBIDDEN', `${actor.name} has role ${actor.role}, which may not do this`)
      res.locals.actor = actor
      next()
    } catch (e) {
      next(e)
    }
  }
}

export function buildApp(deps: AppDeps): express.Express {
  const app = express()
  app.disable('x-powered-by')
  app.set('json spaces', 2)

  app.get('/healthz', async (_req, res) => {
    const s = await deps.status()
    const failing = s.sites.filter((x) => !x.started).map((x) => ({ site: x.site, error: x.startError }))
    res.status(failing.length ? 503 : 200).json({ ok: failing.length === 0, pid: s.pid, startedAt: s.startedAt, failing })
  })

  app.get('/metrics', async (_req, res) => {
    const m = await deps.metrics()
    res.type(m.contentType).send(m.body)
  })

  app.get('/api/status', requireRole(deps, 'view'), async (_req, res) => {
    res.json(await deps.status())
  })

  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such page: try /healthz, /metrics or /api/status' } })
  })
  // one error → status mapping (errors.ts), with a message that never holds a value
  app.use((e: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const err = asPeakguardError(e)
    res.status(err.httpStatus).json({ error: { code: err.code, message: err.message } })
  })
  return app
}
