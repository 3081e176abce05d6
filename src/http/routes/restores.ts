// Restoring a state: the preview (a dry run), the restore itself (POST, then redirect, so a reload does not
// restore again), and its result, shown once.
import { Router } from 'express'
import { shortId, type Actor } from '../../core/index.ts'
import { resolveState, showState, type RestoreReport } from '../../services/index.ts'
import { restoreBlocker } from '../../services/operate.ts'
import { demand } from '../auth.ts'
import { parseBody, restoreForm } from '../bodies.ts'
import type { AppDeps } from '../deps.ts'
import type { Views } from '../render.ts'
import { onlyOf, runRestore } from '../site-actions.ts'
import { siteIn, str } from './page-context.ts'

export function restoreRoutes(deps: AppDeps, views: Views): Router {
  const r = Router()

  r.get('/sites/:site/restore', async (req, res) => {
    demand(req, res, 'view')
    const s = siteIn(deps, req)
    const target = str(req.query.target) ?? ''
    const only = onlyOf(req.query.only)
    const plan = await runRestore(s, null, { target, only, dryRun: true, breakGlass: null })
    const state = await showState(s.site, plan.target)
    views.render(res, 'restore-preview', {
      title: `Restore ${shortId(plan.target)} · ${s.id}`,
      site: s.id,
      zone: s.zone,
      plan,
      only,
      state,
      blocker: await restoreBlocker(s.operate, plan.target, state.time),
    })
  })

  r.post('/sites/:site/restores', async (req, res) => {
    demand(req, res, 'view')
    const f = parseBody(restoreForm, req.body)
    const breakGlass = f.breakGlass === 'on' ? { reason: f.reason ?? '' } : null
    const restoreMarkers = f.restoreMarkers === 'on'
    const actor = demand(req, res, breakGlass || restoreMarkers ? 'break-glass' : 'restore') as Actor
    const s = siteIn(deps, req)
    const report = await runRestore(s, actor, { target: f.target, only: onlyOf(f.only), dryRun: false, breakGlass, acrossSchemaChange: f.acrossSchemaChange === 'on', restoreMarkers })
    // shown once on the result page (post, redirect, get: a reload does not restore again)
    req.session.restore = { site: s.id, report: { ...report, plan: undefined, mismatches: report.mismatches && { files: report.mismatches.files.map((x) => x.path), options: report.mismatches.options.map((x) => x.name) } } }
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/restores/${report.snapshot ?? report.target}`)
  })

  r.get('/sites/:site/restores/:id', async (req, res) => {
    demand(req, res, 'view')
    const s = siteIn(deps, req)
    const held = req.session?.restore
    const report = held && held.site === s.id && (held.report as RestoreReport).snapshot === req.params.id ? (held.report as RestoreReport) : null
    const d = await showState(s.site, await resolveState(s.site, String(req.params.id)))
    const st = (await deps.status()).sites.find((x) => x.site === s.id) ?? null
    views.render(res, 'restore-result', { title: `Restored · ${s.id}`, site: s.id, zone: s.zone, report, d, health: st?.health ?? null })
  })

  return r
}
