// What the pages and the JSON API do for one site, written once: both front ends of the UI call these, and
// they call the same services as the CLI. Writes to the live site run in the daemon's per-site queue.
import { assertMayDecide, normalizeAllowScope, parseOnly, type Actor, type ChangeRequest } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import type { AuditQuery } from '../services/audit.ts'
import { parseTime, siteZone } from '../services/freeze-calendar.ts'
import { freezeStatus, openAllow, requireReason, startManual, stopManual } from '../services/freeze.ts'
import { decide, diffStatesOf, listRequests, listStates, LIVE, resolveState, type DaemonSiteStatus } from '../services/index.ts'
import { parseDuration, parseWhen } from '../services/inputs.ts'
import { restoreAs, restoreBlocker } from '../services/operate.ts'
import type { StateInfo } from '../core/index.ts'
import type { UiSite } from './deps.ts'


/** The overview of one site: health, freeze, the live state, what changed since the last known-good and by whom. */
export async function overview(s: UiSite, status: DaemonSiteStatus | null) {
  const now = Date.now()
  const [states, freeze, pending] = await Promise.all([listStates(s.site), freezeStatus(s.docs, s.freeze, now), listRequests(s.docs)])
  // newest first: the last known-good is the first marked one, and what came after it may have broken the site
  const goodIndex = states.findIndex((x) => x.knownGood)
  const good = goodIndex >= 0 ? (states[goodIndex] as StateInfo) : null
  const since = good ? states.slice(0, goodIndex) : states
  const live = good ? await liveDiff(s, good.id, states[0]?.id ?? null, status) : null
  const verdict = status?.health.live.verdict
  return {
    id: s.id,
    zone: s.zone,
    now,
    status,
    // the health of what is live now: a round that probed an earlier state says nothing about it
    healthy: verdict === 'healthy' ? true : verdict === 'unhealthy' ? false : null,
    health: status?.health ?? null,
    latest: states[0] ?? null,
    good,
    since: since.slice(0, 20),
    sinceCount: since.length,
    liveDiff: live,
    freeze,
    pending: pending.length,
    blocker: good ? await restoreBlocker(s.operate, good.id, good.time) : null,
  }
}

type LiveDiff = { files: number; options: number; items: string[]; unrecorded: number }

/** The last (known-good, head) comparison per site: the overview is loaded again and again during an incident. */
const liveDiffs = new WeakMap<UiSite, { key: string; diff: Omit<LiveDiff, 'unrecorded'> }>()

/**
 * How the live site differs from the last known-good, from what the daemon knows: its watcher and settings
 * poll keep the newest state equal to the live site, so the comparison is between two recorded states —
 * no walk of the live tree per page load — plus the number of changes seen and not yet recorded. Without
 * the daemon's status (a site that could not start), the live site is read.
 */
async function liveDiff(s: UiSite, good: string, head: string | null, status: DaemonSiteStatus | null): Promise<LiveDiff | null> {
  const unrecorded = status?.pendingChanges ?? 0
  const to = status?.started && head ? head : LIVE
  const key = `${good} ${to}`
  const cached = liveDiffs.get(s)
  if (cached?.key === key && to !== LIVE) return { ...cached.diff, unrecorded }
  const d = await diffStatesOf(s.site, good, to).then((r) => r.diff, () => null)
  if (!d) return null
  const diff = { files: d.files.length, options: d.options.length, items: [...d.files.map((f) => f.path), ...d.options.map((o) => `option:${o.name}`)].slice(0, 12) }
  if (to !== LIVE) liveDiffs.set(s, { key, diff })
  return { ...diff, unrecorded }
}

export interface TimelineFilter {
  actor?: string
  kind?: string
  since?: string
  until?: string
  page?: number
}

export const PAGE_SIZE = 50

export async function timeline(s: UiSite, f: TimelineFilter) {
  const now = Date.now()
  const since = f.since ? parseWhen(f.since, 'since', now, s.zone) : undefined
  const until = f.until ? parseWhen(f.until, 'until', now, s.zone) : undefined
  const all = await listStates(s.site)
  const kinds = [...new Set(all.map((x) => x.trigger))].sort()
  const match = (x: StateInfo) =>
    (!f.kind || x.trigger === f.kind) &&
    (!f.actor || (x.causedBy ?? '').toLowerCase().includes(f.actor.toLowerCase())) &&
    (since === undefined || Date.parse(x.time) >= since) &&
    (until === undefined || Date.parse(x.time) <= until)
  const hits = all.filter(match)
  const pages = Math.max(1, Math.ceil(hits.length / PAGE_SIZE))
  const page = Math.min(Math.max(1, f.page ?? 1), pages)
  return { states: hits.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE), total: hits.length, page, pages, kinds }
}

/** Parses the restore --only items a form or the API sent ("plugins/akismet", "option:blogname"). */
export function onlyOf(v: unknown): string[] {
  const list = Array.isArray(v) ? v : typeof v === 'string' && v ? [v] : []
  if (!list.every((x) => typeof x === 'string')) throw new PeakguardError('USAGE', 'only: give plugin/theme paths, option:NAME, entity:… or table:… as strings')
  return list as string[]
}

export interface RestoreInput {
  target: string
  only: string[]
  dryRun: boolean
  breakGlass: { reason: string } | null
  acrossSchemaChange?: boolean
  restoreMarkers?: boolean
}

/** A restore (or its dry run) by `actor`; the caller checked the role. */
export async function runRestore(s: UiSite, actor: Actor | null, input: RestoreInput) {
  if (typeof input.target !== 'string' || !input.target.trim()) throw new PeakguardError('USAGE', 'target: give the id of the state to restore (GET /api/sites/SITE/states lists them)')
  const only = parseOnly(input.only)
  const target = await resolveState(s.site, input.target)
  const req = { target, only, onlyText: input.only, dryRun: input.dryRun, breakGlass: input.breakGlass, acrossSchemaChange: input.acrossSchemaChange === true, restoreMarkers: input.restoreMarkers === true }
  // both take the site's lock (a dry run reads the live site under it): they wait for their turn in the
  // daemon's queue instead of racing a snapshot or the freeze gate for the lock
  // the queue goes on once the lock is released: the cache purges after a restore hold up no snapshot
  return s.exclusive((release) => restoreAs(s.operate, input.dryRun ? null : actor, { ...req, unlocked: release }))
}

/** Whether `actor` may decide `r`, and if not, why (the two-person rule, shown before anyone clicks). */
export function mayDecide(actor: Actor | null, r: ChangeRequest): { ok: boolean; why: string | null } {
  if (!actor) return { ok: false, why: 'log in to decide' }
  try {
    assertMayDecide(actor, r, null)
    return { ok: true, why: null }
  } catch (e) {
    return { ok: false, why: (e as Error).message }
  }
}

export async function decideRequest(s: UiSite, actor: Actor, id: string, approve: boolean, note: string, breakGlass: { reason: string } | null) {
  return s.exclusive(() => decide({ docs: s.docs, audit: s.audit, notify: s.notify }, s.site, { id, actor, approve, note: note.slice(0, 2000), breakGlass }))
}

export async function startFreeze(s: UiSite, actor: Actor, input: { until?: string; for?: string; reason?: string }) {
  const reason = requireReason(input.reason, 'a manual freeze')
  if (!!input.until === !!input.for) throw new PeakguardError('USAGE', 'give exactly one of: until (a time) or for (a duration such as 2h)')
  const zone = siteZone(s.freeze)
  const until = input.until ? parseTime(input.until, zone) : undefined
  const forMs = input.for ? parseDuration(input.for, 'for') : undefined
  const head = await s.site.journal.head()
  const r = await startManual(s.freezing, { until, forMs, reason, actor: actor.name, baseline: head })
  await s.syncBridge().catch(() => false) // the daemon writes it again on its next round
  return r
}

export async function stopFreeze(s: UiSite, actor: Actor, reasonText: string | undefined) {
  const reason = requireReason(reasonText, 'stopping a freeze')
  const r = await stopManual(s.freezing, s.freeze.windows, { reason, actor: actor.name })
  await s.syncBridge().catch(() => false)
  return r
}

export async function allow(s: UiSite, actor: Actor, input: { scope?: string; for?: string; reason?: string }) {
  const reason = requireReason(input.reason, 'an allow-window')
  if (!input.scope?.trim()) throw new PeakguardError('USAGE', 'scope: give plugins/NAME, themes/NAME, theme:NAME, a drop-in, option:NAME, entity:TYPE/THEME/SLUG or table:NAME')
  const forMs = parseDuration(input.for ?? '', 'for')
  const w = await openAllow(s.freezing, { scope: normalizeAllowScope(input.scope), forMs, reason, actor: actor.name })
  await s.syncBridge().catch(() => false)
  return w
}

export function auditQuery(q: { since?: string; until?: string; actor?: string; type?: string }, zone: string): AuditQuery {
  const now = Date.now()
  return {
    since: q.since ? parseWhen(q.since, 'since', now, zone) : undefined,
    until: q.until ? parseWhen(q.until, 'until', now, zone) : undefined,
    actor: q.actor || undefined,
    type: q.type || undefined,
  }
}
