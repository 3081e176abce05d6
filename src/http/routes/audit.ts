// The audit page: entries filtered and paged (newest first), exported as CSV or JSON (oldest first), with the
// hash chain's verification, reused for a short while since it hashes every entry.
import { Router } from 'express'
import { PeakguardError } from '../../errors.ts'
import { toCsv } from '../../services/reports.ts'
import { demand } from '../auth.ts'
import type { AppDeps, UiSite } from '../deps.ts'
import type { Views } from '../render.ts'
import { auditQuery, PAGE_SIZE } from '../site-actions.ts'
import { siteIn, str } from './page-context.ts'

/** How long the audit page reuses a verification of the chain (it hashes every entry). */
const VERIFY_TTL_MS = 30_000

export function auditRoutes(deps: AppDeps, views: Views): Router {
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

  r.get('/sites/:site/audit', async (req, res) => {
    demand(req, res, 'view')
    const s = siteIn(deps, req)
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

  return r
}
