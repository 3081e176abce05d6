// Users and API tokens (admins only): added, removed, created and revoked, each audited for every site. A new
// token's secret is shown once, on the page the POST redirects to.
import { Router } from 'express'
import { ROLES, type Actor } from '../../core/index.ts'
import { PeakguardError } from '../../errors.ts'
import { accessAudit } from '../../services/access.ts'
import { demand } from '../auth.ts'
import { emptyForm, parseBody, tokenForm, userForm } from '../bodies.ts'
import type { AppDeps } from '../deps.ts'
import type { Views } from '../render.ts'
import { flash, str, takeFlash } from './page-context.ts'

export function userRoutes(deps: AppDeps, views: Views): Router {
  const r = Router()

  r.get('/users', async (req, res) => {
    demand(req, res, 'users')
    const newToken = req.session.newToken ?? null
    req.session.newToken = undefined
    views.render(res, 'users', { title: 'Users and tokens', users: await deps.access.listUsers(), tokens: await deps.access.listTokens(), roles: ROLES, newToken, flash: takeFlash(req) })
  })

  r.post('/users', async (req, res) => {
    const actor = demand(req, res, 'users') as Actor
    const f = parseBody(userForm, req.body)
    const u = await deps.access.addUser({ name: f.name.trim(), role: f.role, password: f.password, wpUsers: splitList(f.wpUsers), osUsers: splitList(f.osUsers) })
    await deps.auditAll(accessAudit.userAdded(actor, u))
    flash(req, `Added ${u.name} (${u.role}).`)
    res.redirect(303, '/users')
  })

  r.post('/users/:name/remove', async (req, res) => {
    const actor = demand(req, res, 'users') as Actor
    parseBody(emptyForm, req.body)
    const name = String(req.params.name)
    if (name === actor.name) throw new PeakguardError('USAGE', 'you cannot remove yourself here: another admin can, or use peakguard user remove')
    const r2 = await deps.access.removeUser(name)
    await deps.auditAll(accessAudit.userRemoved(actor, name, r2.tokensRevoked))
    flash(req, `Removed ${name}${r2.tokensRevoked ? ` and revoked ${r2.tokensRevoked} token(s)` : ''}.`)
    res.redirect(303, '/users')
  })

  r.post('/tokens', async (req, res) => {
    const actor = demand(req, res, 'users') as Actor
    const f = parseBody(tokenForm, req.body)
    const note = (f.note ?? '').trim()
    const t = await deps.access.createToken(f.user.trim(), note)
    await deps.auditAll(accessAudit.tokenCreated(actor, t, note))
    req.session.newToken = t
    res.redirect(303, '/users')
  })

  r.post('/tokens/:id/revoke', async (req, res) => {
    const actor = demand(req, res, 'users') as Actor
    parseBody(emptyForm, req.body)
    const t = await deps.access.revokeToken(String(req.params.id))
    await deps.auditAll(accessAudit.tokenRevoked(actor, t))
    flash(req, `Revoked token ${t.id} of ${t.user}.`)
    res.redirect(303, '/users')
  })

  return r
}

function splitList(v: unknown): string[] {
  return (str(v) ?? '')
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean)
}
