// The freeze page: the current freeze and windows, a manual freeze started or stopped, and allow windows
// that let named changes through during one.
import { Router } from 'express'
import type { Actor } from '../../core/index.ts'
import { formatInZone } from '../../services/freeze-calendar.ts'
import { freezeStatus } from '../../services/freeze.ts'
import { demand } from '../auth.ts'
import { allowForm, freezeForm, parseBody, stopForm } from '../bodies.ts'
import type { AppDeps } from '../deps.ts'
import type { Views } from '../render.ts'
import { allow, startFreeze, stopFreeze } from '../site-actions.ts'
import { flash, siteIn, takeFlash } from './page-context.ts'

export function freezeRoutes(deps: AppDeps, views: Views): Router {
  const r = Router()

  r.get('/sites/:site/freeze', async (req, res) => {
    demand(req, res, 'view')
    const s = siteIn(deps, req)
    const status = await freezeStatus(s.docs, s.freeze, Date.now())
    views.render(res, 'freeze', { title: `Freeze · ${s.id}`, site: s.id, zone: s.zone, status, flash: takeFlash(req) })
  })

  r.post('/sites/:site/freeze/start', async (req, res) => {
    const actor = demand(req, res, 'freeze') as Actor
    const f = parseBody(freezeForm, req.body)
    const s = siteIn(deps, req)
    const r2 = await startFreeze(s, actor, { until: f.until || undefined, for: f.for || undefined, reason: f.reason })
    flash(req, `Frozen until ${formatInZone(r2.freeze.end, s.zone)}: ${r2.freeze.reason}`)
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/freeze`)
  })

  r.post('/sites/:site/freeze/stop', async (req, res) => {
    const actor = demand(req, res, 'freeze') as Actor
    const s = siteIn(deps, req)
    const r2 = await stopFreeze(s, actor, parseBody(stopForm, req.body).reason)
    flash(req, `Manual freeze stopped.${r2.stillFrozen ? ` Still frozen by window '${r2.stillFrozen.source}'.` : ''}`)
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/freeze`)
  })

  r.post('/sites/:site/allows', async (req, res) => {
    const actor = demand(req, res, 'freeze') as Actor
    const f = parseBody(allowForm, req.body)
    const s = siteIn(deps, req)
    const w = await allow(s, actor, { scope: f.scope, for: f.for, reason: f.reason })
    flash(req, `Allowed changes to ${w.scope} until ${formatInZone(w.end, s.zone)}`)
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/freeze`)
  })

  return r
}
