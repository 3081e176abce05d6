// /api: everything the pages do, as JSON in the CLI's `--json` shapes (services/reports.ts). Authenticated
// by a Bearer token (peakguard token create) or by the browser session plus its CSRF token (header
// X-CSRF-Token); 401 without credentials, 403 for a role that may not act.
import { Router, type Request, type Response } from 'express'
import type { Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { diffStatesOf, listRequests, listStates, LIVE, loadRequest, resolveState, showState } from '../services/index.ts'
import { siteZone } from '../services/freeze-calendar.ts'
import { freezeStatus } from '../services/freeze.ts'
import { allowJson, decisionJson, diffJson, freezeStartJson, freezeStatusJson, freezeStopJson, restoreJson, stateDetailJson, stateJson, toCsv } from '../services/reports.ts'
import { demand, requireRole } from './auth.ts'
import type { AppDeps, UiSite } from './deps.ts'
import { allowBody, decideBody, freezeBody, parseBody, restoreBody, stopBody } from './bodies.ts'
import { allow, auditQuery, decideRequest, runRestore, startFreeze, stopFreeze } from './site-actions.ts'

export function siteOf(deps: AppDeps, id: string | string[] | undefined): UiSite {
  const s = deps.sites.find((x) => x.id === id)
  if (!s) throw new PeakguardError('SITE_UNKNOWN', `no site ${String(id)} (sites: ${deps.sites.map((x) => x.id).join(', ')})`)
  return s
}

const actorOf = (res: Response) => res.locals.actor as Actor
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export function apiRouter(deps: AppDeps): Router {
  const r = Router()
  const site = (req: Request) => siteOf(deps, req.params.site)

  r.get('/status', requireRole('view'), async (_req, res) => {
    res.json(await deps.status())
  })

  r.get('/sites', requireRole('view'), async (_req, res) => {
    const st = await deps.status()
    res.json(deps.sites.map((s) => ({ id: s.id, zone: s.zone, status: st.sites.find((x) => x.site === s.id) ?? null })))
  })

  r.get('/sites/:site/states', requireRole('view'), async (req, res) => {
    res.json((await listStates(site(req).site)).map(stateJson))
  })

  r.get('/sites/:site/states/:id', requireRole('view'), async (req, res) => {
    const s = site(req).site
    res.json(stateDetailJson(await showState(s, await resolveState(s, String(req.params.id)))))
  })

  r.get('/sites/:site/diff', requireRole('view'), async (req, res) => {
    const from = str(req.query.from)
    if (!from) throw new PeakguardError('USAGE', 'from: give a state id (and to: another, default the live site)')
    res.json(diffJson(await diffStatesOf(site(req).site, from, str(req.query.to) || LIVE)))
  })

  r.post('/sites/:site/restores', async (req, res) => {
    // a dry run writes nothing: a viewer may see the plan; a restore needs operator (break-glass: admin)
    demand(req, res, 'view')
    const b = parseBody(restoreBody, req.body)
    const breakGlass = b.dryRun ? null : (b.breakGlass ?? null)
    const actor = demand(req, res, b.dryRun ? 'view' : breakGlass || b.restoreMarkers ? 'break-glass' : 'restore')
    const report = await runRestore(site(req), actor, { target: b.target, only: b.only ?? [], dryRun: b.dryRun, breakGlass, acrossSchemaChange: b.acrossSchemaChange, restoreMarkers: b.restoreMarkers })
    res.status(b.dryRun ? 200 : 201).json(restoreJson(report))
  })

  r.get('/sites/:site/requests', requireRole('view'), async (req, res) => {
    res.json(await listRequests(site(req).docs, { all: req.query.all === '1' || req.query.all === 'true' }))
  })

  r.get('/sites/:site/requests/:id', requireRole('view'), async (req, res) => {
    res.json(await loadRequest(site(req).docs, String(req.params.id)))
  })

  for (const verb of ['approve', 'reject'] as const)
    r.post(`/sites/:site/requests/:id/${verb}`, async (req, res) => {
      demand(req, res, 'view')
      const b = parseBody(decideBody, req.body)
      const breakGlass = b.breakGlass ?? null
      const actor = demand(req, res, breakGlass ? 'break-glass' : 'approve') as Actor
      res.json(decisionJson(await decideRequest(site(req), actor, String(req.params.id), verb === 'approve', b.note ?? '', breakGlass)))
    })

  r.get('/sites/:site/freeze', requireRole('view'), async (req, res) => {
    const s = site(req)
    const now = Date.now()
    res.json(freezeStatusJson(s.id, await freezeStatus(s.docs, s.freeze, now), siteZone(s.freeze), now))
  })

  r.post('/sites/:site/freeze', requireRole('freeze'), async (req, res) => {
    const b = parseBody(freezeBody, req.body)
    const s = site(req)
    res.status(201).json(freezeStartJson(await startFreeze(s, actorOf(res), { until: b.until, for: b.for, reason: b.reason }), siteZone(s.freeze)))
  })

  r.post('/sites/:site/freeze/stop', requireRole('freeze'), async (req, res) => {
    res.json(freezeStopJson(await stopFreeze(site(req), actorOf(res), parseBody(stopBody, req.body).reason)))
  })

  r.post('/sites/:site/allows', requireRole('freeze'), async (req, res) => {
    const b = parseBody(allowBody, req.body)
    res.status(201).json({ allow: allowJson(await allow(site(req), actorOf(res), { scope: b.scope, for: b.for, reason: b.reason })) })
  })

  r.get('/sites/:site/audit', requireRole('view'), async (req, res) => {
    const entries = await site(req).audit.query(auditQuery({ since: str(req.query.since), until: str(req.query.until), actor: str(req.query.actor), type: str(req.query.type) }, site(req).zone))
    if (req.query.format === 'csv') {
      res.type('text/csv').attachment(`peakguard-audit-${site(req).id}.csv`).send(toCsv(entries))
      return
    }
    res.json({ entries })
  })

  r.get('/sites/:site/audit/verify', requireRole('view'), async (req, res) => {
    res.json(await site(req).audit.verify())
  })

  r.get('/users', requireRole('users'), async (_req, res) => {
    res.json(await deps.access.listUsers())
  })

  r.get('/tokens', requireRole('users'), async (_req, res) => {
    res.json(await deps.access.listTokens())
  })

  r.use((_req, _res, next) => next(new PeakguardError('NOT_FOUND', 'no such API route: see the README (Web UI and API)')))
  return r
}
