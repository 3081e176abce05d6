// Server-side pages: Eta templates from web/templates (escaping every `<%= %>` by default), with the
// helpers every page uses. Times are shown in the site's zone, with UTC on hover and in `datetime`.
import path from 'node:path'
import type { Response } from 'express'
import { Eta } from 'eta'
import { roleAllows, shortId, type Action, type Actor } from '../core/index.ts'
import { formatInZone } from '../services/freeze-calendar.ts'

export function escapeHtml(s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string)
}

/** A time in the zone, marked up so that hovering (or a screen reader's title) gives UTC. */
export function timeHtml(t: string | number | null | undefined, zone: string): string {
  if (t === null || t === undefined || t === '') return '—'
  const ms = typeof t === 'number' ? t : Date.parse(t)
  if (Number.isNaN(ms)) return escapeHtml(t)
  const utc = new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
  const text = utc.replace('T', ' ').replace('Z', ' UTC')
  // hover (title) for a mouse; the hidden text for screen readers and touch, where there is no hover
  return `<time datetime="${utc}" title="${text}">${escapeHtml(formatInZone(ms, zone))}<span class="sr-only"> (${text})</span></time>`
}

/** "in 2 h 5 min" / "3 min ago": how far a time is from now, to the minute. */
export function relative(t: number, now = Date.now()): string {
  const d = Math.round((t - now) / 60_000)
  const abs = Math.abs(d)
  const text = abs < 1 ? 'less than a minute' : abs < 60 ? `${abs} min` : `${Math.floor(abs / 60)} h${abs % 60 ? ` ${abs % 60} min` : ''}`
  return d >= 0 ? `in ${text}` : `${text} ago`
}

export const short = (id: string | null | undefined): string => shortId(id) ?? ''

export class Views {
  private readonly eta: Eta

  constructor(webDir: string) {
    this.eta = new Eta({ views: path.join(webDir, 'templates'), cache: true, autoEscape: true })
  }

  /** Renders `name` with the layout's common data: who is logged in, the CSRF token, the site list. */
  render(res: Response, name: string, data: Record<string, unknown>, status = 200): void {
    const actor = (res.locals.actor as Actor | null) ?? null
    const html = this.eta.render(name, {
      ...data,
      actor,
      csrf: (res.locals.csrfFor as (() => string) | undefined)?.() ?? '',
      sites: res.locals.siteIds ?? [],
      h: { time: timeHtml, relative, short, escape: escapeHtml },
      // what the page offers follows the same rule the server enforces (core roleAllows)
      can: (action: Action) => !!actor && roleAllows(actor.role, action),
    })
    res.status(status).type('html').send(html)
  }
}
