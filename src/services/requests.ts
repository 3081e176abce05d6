// Change requests: a change made during a freeze that no approval covered. Each is a document in the
// site's data directory (docs/requests/<id>.json); every step of its life is in the audit log. Deciding
// one applies the two-person rule, then puts the live site where the decision says: an approved change
// that was reverted is applied again, a rejected change that was kept live is reverted. Both are
// partial restores of exactly the request's items, so whatever else changed since is left alone. A request
// held for a schema change or a migration marker is decided on a page that said so: a rejection puts back the
// files and options peakguard can, across the schema change, and leaves the schema and the markers live.
import { randomBytes } from 'node:crypto'
import { assertMayDecide, cleanText, isEmptyItems, sameItems, visible, type Actor, type ChangeItems, type AuditInput, type ChangeRequest, type DocStorePort, type NotifyPort } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { markersOf } from './layout.ts'
import { readLive } from './live.ts'
import type { RestoreReport } from './restorer.ts'
import { shortId as short } from '../core/text.ts'
import { restore, settleNow } from './writer.ts'
import type { Site } from './site.ts'

export interface GovernanceDeps {
  docs: DocStorePort
  audit: { append(input: AuditInput): Promise<unknown> }
  notify: NotifyPort
}

function overlaps(a: ChangeItems, b: ChangeItems): boolean {
  return a.paths.some((p) => b.paths.includes(p)) || a.options.some((o) => b.options.includes(o))
}

/** Sortable by creation (time in base 36) and unguessable enough to be typed without collisions. */
export function newRequestId(now = Date.now()): string {
  return `${now.toString(36)}-${randomBytes(2).toString('hex')}`
}

const docName = (id: string) => `requests/${id}`

export async function saveRequest(docs: DocStorePort, r: ChangeRequest): Promise<void> {
  await docs.writeDoc(docName(r.id), r)
}

export async function listRequests(docs: DocStorePort, opts: { all?: boolean } = {}): Promise<ChangeRequest[]> {
  const out: ChangeRequest[] = []
  for (const name of await docs.listDocs('requests')) {
    const r = await docs.readDoc<ChangeRequest>(name)
    if (r && (opts.all || r.status === 'pending')) out.push(r)
  }
  return out.sort((a, b) => b.createdAt.localeCompare(a.createdAt))
}

/** A request by its id or an unambiguous prefix of it. */
export async function loadRequest(docs: DocStorePort, idText: string): Promise<ChangeRequest> {
  const id = idText.trim()
  if (!/^[0-9a-z-]{3,40}$/.test(id)) throw new PeakguardError('USAGE', `${JSON.stringify(idText)} is not a change request id: 'peakguard requests' lists them`)
  const names = (await docs.listDocs('requests')).filter((n) => n.slice('requests/'.length).startsWith(id))
  if (names.length > 1) throw new PeakguardError('USAGE', `change request id ${id} matches ${names.length} requests: give more characters`)
  const r = names[0] ? await docs.readDoc<ChangeRequest>(names[0]) : null
  if (!r) throw new PeakguardError('REQUEST_NOT_FOUND', `no change request ${id}: 'peakguard requests --all' lists them`)
  return r
}

/** The author of a detected change asks for its approval, with a reason (makes them its requester). */
export async function askForApproval(deps: GovernanceDeps, site: Site, idText: string, actor: Actor, reason: string): Promise<ChangeRequest> {
  reason = cleanText(reason, 'the reason', { required: true, why: 'a request for approval needs --reason TEXT: the approver decides on it' })
  const release = await deps.docs.lockDocs()
  try {
    const r = await loadRequest(deps.docs, idText)
    if (r.status !== 'pending') throw new PeakguardError('REQUEST_DECIDED', `change request ${r.id} was already ${r.status} by ${r.decision?.by}`)
    // the first to ask becomes the requester; everyone who asked stays barred from deciding it
    const askedBy = [...new Set([...(r.askedBy ?? []), actor.name])]
    const next: ChangeRequest = { ...r, requester: r.askedBy?.length ? r.requester : actor.name, askedBy, reason: reason.trim() }
    await saveRequest(deps.docs, next)
    await deps.audit.append({ type: 'change-request', actor: actor.name, site: site.id, summary: `asked for approval of ${r.id}: ${reason.trim()}`, details: { request: r.id, asked: true } })
    deps.notify.notify({ event: 'change-request', site: site.id, summary: `${actor.name} asks for approval of change ${r.id} (${r.summary}): ${reason.trim()}`, details: { request: r.id } })
    return next
  } finally {
    await release()
  }
}

export interface Decision {
  request: ChangeRequest
  /** the partial restore that applied or reverted the change; null when the live site was already right */
  restore: RestoreReport | null
}

/**
 * Approves or rejects a pending request. The decision is written (and audited) only after the live site
 * was put where it says; a restore that fails leaves the request pending, with the error reported.
 */
export async function decide(
  deps: GovernanceDeps,
  site: Site,
  o: { id: string; actor: Actor; approve: boolean; note: string; breakGlass: { reason: string } | null },
): Promise<Decision> {
  o = {
    ...o,
    note: cleanText(o.note, 'the note'),
    breakGlass: o.breakGlass && { reason: cleanText(o.breakGlass.reason, 'the break-glass reason', { required: true, why: 'breaking glass needs a reason: it is audited and notified, with its reason' }) },
  }
  const release = await deps.docs.lockDocs()
  try {
    const r = await loadRequest(deps.docs, o.id)
    if (r.status !== 'pending')
      throw new PeakguardError('REQUEST_DECIDED', `change request ${r.id} was already ${r.status} by ${r.decision?.by} at ${r.decision?.at}`)
    assertMayDecide(o.actor, r, o.breakGlass)
    // held for the database layout: the markers stay as they are live (restoring one without its schema is the
    // harm the hold avoids), and the person deciding was told the schema stays: the restore may cross it
    const held = !!r.held
    const isMarker = markersOf(site)
    const items = held ? { paths: r.items.paths, options: r.items.options.filter((n) => !isMarker(n)) } : r.items
    const kept = held ? keptLive(r, r.items.options.filter((n) => isMarker(n))) : ''
    const only = { paths: items.paths, options: items.options }
    let report: RestoreReport | null = null
    let outcome: string
    const why = `change request ${r.id} ${o.approve ? 'approved' : 'rejected'} by ${o.actor.name}${o.note ? `: ${o.note}` : ''}`
    // a restore a crash interrupted is finished first: a decision killed while applying itself is carried
    // out by the next one, and a half-written site is never taken for what is live
    const finished = await settleNow(site)
    const mine = finished?.intent.request === r.id && finished.intent.target === (o.approve ? r.attempted : r.base) ? finished : null
    // what the live site holds decides what to do, not what the request remembers: a revert may have been
    // cut short, and a later change or decision may have moved these items since
    const live = await readLive(site)
    const [base, attempted] = [await site.journal.readState(r.base), await site.journal.readState(r.attempted)]
    const want = o.approve ? attempted : base
    const from = o.approve ? base : attempted
    if (held && !o.approve && isEmptyItems(items)) outcome = 'nothing peakguard can revert'
    else if (mine && sameItems(live, want, items))
      // this decision's own restore, finished after a crash: the outcome is what it would have said
      outcome = o.approve
        ? `applied again (state ${short(mine.snapshot)}${mine.verified ? ', verified' : ', NOT verified'})`
        : `reverted to ${short(r.base)} (${mine.verified ? 'verified' : 'NOT verified'})`
    else if (sameItems(live, want, items)) outcome = o.approve ? 'kept live' : 'stays reverted'
    else if (sameItems(live, from, items)) {
      report = await restore(site, { target: o.approve ? r.attempted : r.base, only, actor: o.actor.name, reason: why, request: r.id, acrossSchemaChange: true })
      outcome = o.approve
        ? `applied again (state ${short(report.snapshot ?? r.attempted)}${report.verified ? ', verified' : ', NOT verified'})`
        : `reverted to ${short(r.base)} (${report.verified ? 'verified' : 'NOT verified'})`
    } else {
      const newer = (await listRequests(deps.docs)).filter((x) => x.id !== r.id && x.createdAt > r.createdAt && overlaps(x.items, r.items)).map((x) => x.id)
      throw new PeakguardError(
        'REQUEST_STALE',
        `change request ${r.id}: ${[...items.paths, ...items.options.map((n) => `option:${n}`)].join(', ')} changed since it was opened, so ${o.approve ? 'applying' : 'reverting'} it would overwrite a newer state` +
          (newer.length ? ` (see the newer request${newer.length > 1 ? 's' : ''} ${newer.join(', ')})` : '') +
          `; decide the newer one, or restore explicitly ('peakguard diff ${short(r.attempted)} live' shows the difference)`,
      )
    }
    if (kept && !o.approve) outcome = `${outcome}; ${kept}`
    const decided: ChangeRequest = {
      ...r,
      status: o.approve ? 'approved' : 'rejected',
      reverted: !o.approve,
      decision: { by: o.actor.name, at: new Date().toISOString(), note: o.note, breakGlass: !!o.breakGlass },
      outcome,
    }
    await saveRequest(deps.docs, decided)
    const details = { request: r.id, items: r.items, outcome, note: o.note, restore: report?.snapshot ?? mine?.snapshot ?? null, safetySnapshot: report?.safetySnapshot ?? mine?.intent.safetySnapshot ?? null }
    if (o.breakGlass) {
      await deps.audit.append({ type: 'break-glass', actor: o.actor.name, site: site.id, summary: `broke glass to ${o.approve ? 'approve' : 'reject'} ${r.id}: ${o.breakGlass.reason}`, details: { ...details, reason: o.breakGlass.reason } })
      deps.notify.notify({ event: 'break-glass', site: site.id, summary: `BREAK-GLASS by ${o.actor.name} on change ${r.id}: ${o.breakGlass.reason}`, details })
    }
    await deps.audit.append({ type: o.approve ? 'approval' : 'rejection', actor: o.actor.name, site: site.id, summary: `${why} — ${outcome}`, details })
    deps.notify.notify({ event: o.approve ? 'approval' : 'rejection', site: site.id, summary: `${why} — ${outcome}`, details })
    return { request: decided, restore: report }
  } finally {
    await release()
  }
}

/** What a rejection of a held request leaves live, in words: the schema changes and the markers (names, never values). */
function keptLive(r: ChangeRequest, markers: string[]): string {
  const parts: string[] = []
  if (r.schema?.length) parts.push(`the database schema (${r.schema.join('; ')})`)
  if (markers.length) parts.push(`the migration markers (${markers.map((n) => visible(n)).join(', ')})`)
  if (!parts.length) return ''
  return `${parts.join(' and ')} stay as they are live: ${r.schema?.length ? 'peakguard cannot revert a schema change' : 'peakguard does not put a marker back without the schema it describes'}`
}
