// The pages: server-rendered HTML forms that work without JavaScript (web/static/app.js only adds progress
// and confirmation niceties). Every POST carries the session's CSRF token (the login form a stateless one:
// LoginCsrf); every route checks the role here, whatever the page showed.
import { Router, type Request, type Response } from 'express'
import { ROLES, type Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { diffStatesOf, listRequests, listStates, LIVE, resolveState, showState, type RestoreReport } from '../services/index.ts'
import { formatInZone } from '../services/freeze-calendar.ts'
import { freezeStatus } from '../services/freeze.ts'
import { accessAudit } from '../services/access.ts'
import type { DenialRecorder } from '../services/audit.ts'
import { restoreBlocker } from '../services/operate.ts'
import { toCsv } from '../services/reports.ts'
import { demand, LoginGuard, type LoginCsrf } from './auth.ts'
import { siteOf } from './api.ts'
import type { AppDeps, UiSite } from './deps.ts'
import { diffItems } from './diff-view.ts'
import type { Views } from './render.ts'
import { allowForm, decideForm, emptyForm, freezeForm, loginForm, logoutForm, parseBody, restoreForm, stopForm, tokenForm, userForm } from './bodies.ts'
import { allow, auditQuery, decideRequest, mayDecide, onlyOf, operateDeps, overview, PAGE_SIZE, runRestore, startFreeze, stopFreeze, timeline } from './site-actions.ts'

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

/** How long the audit page reuses a verification of the chain (it hashes every entry). */
const VERIFY_TTL_MS = 30_000

export function pageRouter(deps: AppDeps, views: Views, login: { csrf: LoginCsrf; denials: DenialRecorder }): Router {
  const r = Router()
  const verifications = new Map<string, { at: number; report: Promise<Awaited<ReturnType<UiSite['audit']['verify']>>> }>()
  const verified = (s: UiSite) => {
    const hit = verifications.get(s.id)
    if (hit && Date.now() - hit.at < VERIFY_TTL_MS) return hit.report
    const report = s.audit.verify()
    verifications.set(s.id, { at: Date.now(), report })
    report.catch(() => verifications.delete(s.id))
    return report
  }
  const guard = new LoginGuard(deps, login.denials)
  const site = (req: Request) => siteOf(deps, req.params.site)
  const flash = (req: Request, text: string) => void (req.session.flash = text)
  const takeFlash = (req: Request) => {
    const f = req.session?.flash
    if (f) req.session.flash = undefined
    return f ?? null
  }

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

  r.get('/', async (req, res) => {
    demand(req, res, 'view')
    const st = await deps.status()
    const sites = await Promise.all(deps.sites.map((s) => overview(s, st.sites.find((x) => x.site === s.id) ?? null)))
    views.render(res, 'overview', { title: 'Overview', list: sites, flash: takeFlash(req) })
  })

  r.get('/sites/:site/states', async (req, res) => {
    demand(req, res, 'view')
    const s = site(req)
    const f = { actor: str(req.query.actor), kind: str(req.query.kind), since: str(req.query.since), until: str(req.query.until), page: Number(req.query.page) || 1 }
    let t: Awaited<ReturnType<typeof timeline>>
    let error: string | null = null
    try {
      t = await timeline(s, f)
    } catch (e) {
      if (!(e instanceof PeakguardError) || e.code !== 'USAGE') throw e
      error = e.message
      t = await timeline(s, { page: 1 })
    }
    views.render(res, 'timeline', { title: `Timeline · ${s.id}`, site: s.id, zone: s.zone, f, t, error, pageSize: PAGE_SIZE })
  })

  r.get('/sites/:site/states/:id', async (req, res) => {
    demand(req, res, 'view')
    const s = site(req)
    const id = await resolveState(s.site, String(req.params.id))
    const d = await showState(s.site, id)
    const against = str(req.query.against) || LIVE
    // the state against the live site (what a restore of it would change) or against another state
    const r = await diffStatesOf(s.site, against, id)
    const { items, more } = await diffItems(r.diff, r.from, r.to)
    const states = (await listStates(s.site)).slice(0, 200)
    views.render(res, 'state', { title: `State ${id.slice(0, 12)} · ${s.id}`, site: s.id, zone: s.zone, d, against, againstLabel: r.from.label, items, more, states, blocker: await restoreBlocker(operateDeps(s), id, d.time) })
  })

  r.get('/sites/:site/restore', async (req, res) => {
    demand(req, res, 'view')
    const s = site(req)
    const target = str(req.query.target) ?? ''
    const only = onlyOf(req.query.only)
    const plan = await runRestore(s, null, { target, only, dryRun: true, breakGlass: null })
    const state = await showState(s.site, plan.target)
    views.render(res, 'restore-preview', {
      title: `Restore ${plan.target.slice(0, 12)} · ${s.id}`,
      site: s.id,
      zone: s.zone,
      plan,
      only,
      state,
      blocker: await restoreBlocker(operateDeps(s), plan.target, state.time),
    })
  })

  r.post('/sites/:site/restores', async (req, res) => {
    demand(req, res, 'view')
    const f = parseBody(restoreForm, req.body)
    const breakGlass = f.breakGlass === 'on' ? { reason: f.reason ?? '' } : null
    const actor = demand(req, res, breakGlass ? 'break-glass' : 'restore') as Actor
    const s = site(req)
    const report = await runRestore(s, actor, { target: f.target, only: onlyOf(f.only), dryRun: false, breakGlass })
    // shown once on the result page (post, redirect, get: a reload does not restore again)
    req.session.restore = { site: s.id, report: { ...report, plan: undefined, mismatches: report.mismatches && { files: report.mismatches.files.map((x) => x.path), options: report.mismatches.options.map((x) => x.name) } } }
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/restores/${report.snapshot ?? report.target}`)
  })

  r.get('/sites/:site/restores/:id', async (req, res) => {
    demand(req, res, 'view')
    const s = site(req)
    const held = req.session?.restore
    const report = held && held.site === s.id && (held.report as RestoreReport).snapshot === req.params.id ? (held.report as RestoreReport) : null
    const d = await showState(s.site, await resolveState(s.site, String(req.params.id)))
    const st = (await deps.status()).sites.find((x) => x.site === s.id) ?? null
    views.render(res, 'restore-result', { title: `Restored · ${s.id}`, site: s.id, zone: s.zone, report, d, health: st?.health ?? null })
  })

  r.get('/sites/:site/requests', async (req, res) => {
    const actor = demand(req, res, 'view')
    const s = site(req)
    const all = await listRequests(s.docs, { all: true })
    const pending = await Promise.all(
      all
        .filter((x) => x.status === 'pending')
        .map(async (x) => {
          // one request whose states cannot be read (pruned, damaged) must not take the page down with it
          const diff = await diffStatesOf(s.site, x.base, x.attempted)
            .then((d) => diffItems(d.diff, d.from, d.to))
            .catch((e: Error) => ({ items: [], more: 0, error: e.message }))
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
      const s = site(req)
      const d = await decideRequest(s, actor, String(req.params.id), verb === 'approve', f.note ?? '', breakGlass)
      flash(req, `${verb === 'approve' ? 'Approved' : 'Rejected'} ${d.request.id}: ${d.request.outcome}${d.restore?.caches ? `; caches ${d.restore.caches.ok ? 'flushed' : `NOT flushed (${d.restore.caches.detail})`}` : ''}`)
      res.redirect(303, `/sites/${encodeURIComponent(s.id)}/requests`)
    })

  r.get('/sites/:site/freeze', async (req, res) => {
    demand(req, res, 'view')
    const s = site(req)
    const status = await freezeStatus(s.docs, s.freeze, Date.now())
    views.render(res, 'freeze', { title: `Freeze · ${s.id}`, site: s.id, zone: s.zone, status, flash: takeFlash(req) })
  })

  r.post('/sites/:site/freeze/start', async (req, res) => {
    const actor = demand(req, res, 'freeze') as Actor
    const f = parseBody(freezeForm, req.body)
    const s = site(req)
    const r2 = await startFreeze(s, actor, { until: f.until || undefined, for: f.for || undefined, reason: f.reason })
    flash(req, `Frozen until ${formatInZone(r2.freeze.end, s.zone)}: ${r2.freeze.reason}`)
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/freeze`)
  })

  r.post('/sites/:site/freeze/stop', async (req, res) => {
    const actor = demand(req, res, 'freeze') as Actor
    const s = site(req)
    const r2 = await stopFreeze(s, actor, parseBody(stopForm, req.body).reason)
    flash(req, `Manual freeze stopped.${r2.stillFrozen ? ` Still frozen by window '${r2.stillFrozen.source}'.` : ''}`)
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/freeze`)
  })

  r.post('/sites/:site/allows', async (req, res) => {
    const actor = demand(req, res, 'freeze') as Actor
    const f = parseBody(allowForm, req.body)
    const s = site(req)
    const w = await allow(s, actor, { scope: f.scope, for: f.for, reason: f.reason })
    flash(req, `Allowed changes to ${w.scope} until ${formatInZone(w.end, s.zone)}`)
    res.redirect(303, `/sites/${encodeURIComponent(s.id)}/freeze`)
  })

  r.get('/sites/:site/audit', async (req, res) => {
    demand(req, res, 'view')
    const s = site(req)
    const f = { since: str(req.query.since) ?? '', until: str(req.query.until) ?? '', actor: str(req.query.actor) ?? '', type: str(req.query.type) ?? '' }
    let error: string | null = null
    let entries: Awaited<ReturnType<typeof s.audit.query>> = []
    try {
      entries = await s.audit.query(auditQuery(f, s.zone))
    } catch (e) {
      if (!(e instanceof PeakguardError) || e.code !== 'USAGE') throw e
      error = e.message
    }
    // exports oldest first, as `peakguard audit` prints them; the page newest first
    if (req.query.format === 'csv') return void res.type('text/csv').attachment(`peakguard-audit-${s.id}.csv`).send(toCsv(entries))
    if (req.query.format === 'json') return void res.attachment(`peakguard-audit-${s.id}.json`).json({ entries })
    entries.reverse()
    const pages = Math.max(1, Math.ceil(entries.length / PAGE_SIZE))
    const page = Math.min(Math.max(1, Number(req.query.page) || 1), pages)
    const verify = await verified(s)
    const query = new URLSearchParams(Object.entries(f).filter(([, v]) => v)).toString()
    views.render(res, 'audit', { title: `Audit · ${s.id}`, site: s.id, zone: s.zone, f, error, entries: entries.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), total: entries.length, page, pages, verify, query })
  })

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

/** Where to go after logging in: only a path on this server (never an open redirect). */
function safeNext(v: string | undefined): string {
  return v && /^\/(?!\/)[^\s\\]*$/.test(v) ? v : '/'
}
