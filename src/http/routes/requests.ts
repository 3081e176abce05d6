// Change requests: the held or reverted changes of a freeze, each with its diff, and an approver's decision.
import { Router } from 'express'
import type { Actor } from '../../core/index.ts'
import { diffStatesOf, listRequests } from '../../services/index.ts'
import { demand } from '../auth.ts'
import { decideForm, parseBody } from '../bodies.ts'
import type { AppDeps } from '../deps.ts'
import { diffItems } from '../diff-view.ts'
import type { Views } from '../render.ts'
import { decideRequest, mayDecide } from '../site-actions.ts'
import { flash, siteIn, takeFlash } from './page-context.ts'

export function requestRoutes(deps: AppDeps, views: Views): Router {
  const r = Router()

  r.get('/sites/:site/requests', async (req, res) => {
    const actor = demand(req, res, 'view')
    const s = siteIn(deps, req)
    const all = await listRequests(s.docs, { all: true })
    const pending = await Promise.all(
      all
        .filter((x) => x.status === 'pending')
        .map(async (x) => {
          // one request whose states cannot be read (pruned, damaged) must not take the page down with it
          const diff = await diffStatesOf(s.site, x.base, x.attempted)
            .then((d) => diffItems(d.diff, d.from, d.to))
            .catch((e: Error) => ({ items: [], more: 0, schema: [], error: e.message }))
          return { r: x, may: mayDecide(actor, x), diff }
        }),
    )
    views.render(res, 'requests', {
      title: `Change requests · ${s.id}`,
      site: s.id,
      zone: s.zone,
      pending,
      decided: all.filter((x) => x.status !== 'pending').slice(0, 30),
      flash: takeFlash(req),
    })
  })

  for (const verb of ['approve', 'reject'] as const)
    r.post(`/sites/:site/requests/:id/${verb}`, async (req, res) => {
      demand(req, res, 'view')
      const f = parseBody(decideForm, req.body)
      const breakGlass = f.breakGlass === 'on' ? { reason: f.reason ?? '' } : null
      const actor = demand(req, res, breakGlass ? 'break-glass' : 'approve') as Actor
      const s = siteIn(deps, req)
      const d = await decideRequest(s, actor, String(req.params.id), verb === 'approve', f.note ?? '', breakGlass)
      flash(req, `${verb === 'approve' ? 'Approved' : 'Rejected'} ${d.request.id}: ${d.request.outcome}${d.restore?.caches ? `; caches ${d.restore.caches.ok ? 'flushed' : `NOT flushed (${d.restore.caches.detail})`}` : ''}`)
      res.redirect(303, `/sites/${encodeURIComponent(s.id)}/requests`)
    })

  return r
}
