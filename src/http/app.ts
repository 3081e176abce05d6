// http: the Express app the daemon serves (built here, never listened on here). Routes call services;
// adapters are wired in by src/main.ts. Must never import adapters, main, mysql2 or simple-git.
// For now: GET /healthz (is the daemon up, is every site recording), GET /metrics (Prometheus) and
// GET /api/status (what `peakguard status` shows). Bound to 127.0.0.1 by default (ui.listen).
import express, { type NextFunction, type Request, type Response } from 'express'
import { asPeakguardError } from '../errors.ts'
import type { DaemonStatus } from '../services/index.ts'

export interface AppDeps {
  status(): Promise<DaemonStatus>
  metrics(): Promise<{ contentType: string; body: string }>
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

  app.get('/api/status', async (_req, res) => {
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
