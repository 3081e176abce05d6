// A restore as a person asks for it — from the CLI or the web UI — with everything around it: the freeze
// rule (during a freeze, only states recorded before it began, unless an admin breaks glass), the audit
// entries (break-glass, restore with its result and duration) and the notification. One place, so the
// two front ends can never disagree about what a restore by a person means.
import { cleanText, roleAllows, visible, selectorsMatchingNothing, shortId, type Actor, type AuditInput, type NotifyPort, type OnlyFilter } from '../core/index.ts'
import type { FreezeWindowConfig } from './freeze-calendar.ts'
import { PeakguardError } from '../errors.ts'
import { activeSpans, readFreezeDoc } from './freeze.ts'
import type { RestoreReport } from './restorer.ts'
import { restoreAudit } from './audit.ts'
import { restore } from './writer.ts'
import type { Site } from './site.ts'
import type { DocStorePort } from '../core/index.ts'

export interface OperateDeps {
  site: Site
  docs: DocStorePort
  audit: { append(input: AuditInput): Promise<unknown> }
  notify: NotifyPort
  /** the site's configured freeze windows (freeze.windows) */
  windows: readonly FreezeWindowConfig[]
  now?: () => number
}

export interface RestoreRequest {
  /** a full state id (resolveState first) */
  target: string
  only?: OnlyFilter | null
  /** the raw --only items, kept in the audit entry */
  onlyText?: string[]
  dryRun?: boolean
  /** admin only, during a freeze: restore a state recorded during it */
  breakGlass?: { reason: string } | null
  /** see RestoreOptions.acrossSchemaChange: the person acknowledged that the restore crosses a database migration */
  acrossSchemaChange?: boolean
  /** admin only: write the target's migration markers too (RestoreOptions.restoreMarkers) */
  restoreMarkers?: boolean
  /** see RestoreOptions.unlocked */
  unlocked?: () => void
}

/**
 * During a freeze a restore goes back to a state recorded before the freeze began (the rollback the night
 * shift needs); a state recorded during it would bring back a change no second person approved — that
 * takes an approval (peakguard approve) or an admin breaking glass. With several freezes open, 'the freeze
 * began' is when the first of them began. Returns the freeze that forbids it: the first open one the state
 * was recorded in (every open one when its time is unknown).
 */
export async function freezeForbidding(deps: OperateDeps, target: string, recordedAt?: string) {
  const now = deps.now?.() ?? Date.now()
  const open = activeSpans(deps.windows, await readFreezeDoc(deps.docs), now)
  if (!open.length) return null
  // the caller usually has the state's time already (a listing); the journal's log otherwise
  const at = Date.parse(recordedAt ?? (await deps.site.journal.log()).find((c) => c.id === target)?.time ?? '')
  return open.filter((f) => !(at < f.start)).sort((a, b) => a.start - b.start)[0] ?? null
}

/** What the web UI shows beside a Restore button: may this state be restored now, and if not, why. */
export async function restoreBlocker(deps: OperateDeps, target: string, recordedAt?: string): Promise<string | null> {
  const f = await freezeForbidding(deps, target, recordedAt)
  return f ? `freeze '${f.source}' is on until ${new Date(f.end).toISOString()} (${f.reason}) and this state was recorded during it` : null
}

/** Throws FROZEN when a freeze forbids restoring `target` and glass is not broken; the freeze otherwise. */
export async function assertMayRestore(deps: OperateDeps, target: string, breakGlass: boolean) {
  const frozen = await freezeForbidding(deps, target)
  if (frozen && !breakGlass)
    throw new PeakguardError(
      'FROZEN',
      `freeze '${frozen.source}' is on until ${new Date(frozen.end).toISOString()} (${frozen.reason}): ${shortId(target)} was recorded during it, so restoring it would bring back a change nobody approved. ` +
        `Restore a state from before the freeze (peakguard list; the freeze's baseline: peakguard freeze status), approve the change request, or — an admin, in an emergency — break glass with a reason (--break-glass --reason TEXT, or the break-glass box on the restore page)`,
    )
  return frozen
}

/**
 * A dry run (actor may be null: it writes nothing and leaves no audit entry) or a real restore by `actor`,
 * whose role the caller has checked ('restore', or 'break-glass' with breakGlass).
 */
export async function restoreAs(deps: OperateDeps, actor: Actor | null, req: RestoreRequest): Promise<RestoreReport> {
  const { site } = deps
  const { target } = req
  if (req.only) await assertSelects(site, target, req.only)
  if (req.restoreMarkers && !req.acrossSchemaChange) throw new PeakguardError('USAGE', '--restore-markers goes with --across-schema-change: markers are only kept live when a restore crosses a schema change')
  const layout = { acrossSchemaChange: req.acrossSchemaChange === true, restoreMarkers: req.restoreMarkers === true }
  if (req.dryRun || !actor) return restore(site, { target, dryRun: true, only: req.only ?? null, unlocked: req.unlocked, ...layout })
  // the markers say how the tables are laid out: writing old ones over new tables is for whoever restored the tables themselves
  if (layout.restoreMarkers && !roleAllows(actor.role, 'break-glass'))
    throw new PeakguardError('FORBIDDEN', `${actor.name} (${actor.role}) may not restore migration markers: that is for an admin who has restored the tables from a database backup`)
  if (req.breakGlass)
    req = { ...req, breakGlass: { reason: cleanText(req.breakGlass.reason, 'the break-glass reason', { required: true, why: 'breaking glass needs a reason: it is audited and notified, with its reason' }) } }
  const frozen = await assertMayRestore(deps, target, !!req.breakGlass)
  if (frozen && req.breakGlass) {
    const reason = req.breakGlass.reason
    await deps.audit.append({ type: 'break-glass', actor: actor.name, site: site.id, summary: `broke glass to restore ${shortId(target)} during freeze '${frozen.source}': ${reason}`, details: { target, freeze: frozen.source, reason } })
    deps.notify.notify({ event: 'break-glass', site: site.id, summary: `BREAK-GLASS by ${actor.name}: restore of ${shortId(target)} during freeze '${frozen.source}': ${reason}` })
  }
  const started = Date.now()
  const entry = (from: string | null, verified: boolean, message?: string) =>
    deps.audit.append(restoreAudit({ actor: actor.name, site: site.id, target, from, verified, message, durationMs: Date.now() - started, onlyText: req.onlyText }))
  let done: RestoreReport
  try {
    // the writer writes the entry with the restore itself, so a crash cannot lose it (a site without an audit log of its own: here)
    done = await restore(site, { target, dryRun: false, only: req.only ?? null, actor: actor.name, unlocked: req.unlocked, ...layout, audit: { actor: actor.name, ...(req.onlyText?.length ? { onlyText: req.onlyText } : {}) } })
  } catch (e) {
    await entry(null, false, (e as Error).message)
    throw e
  }
  if (!done.audited) await entry(done.safetySnapshot, !!done.verified, done.verified ? undefined : 'the live site differs from the target after the restore')
  deps.notify.notify({
    event: 'restore',
    site: site.id,
    summary: `${actor.name} restored ${shortId(target)}: ${done.verified ? 'verified' : 'NOT verified'}${done.layout?.crosses ? `; across a schema change (${[...done.layout.tables, ...done.layout.markers].map((n) => visible(n)).join(', ')} kept live${done.layout.markersRestored.length ? `; markers ${done.layout.markersRestored.map((n) => visible(n)).join(', ')} restored` : ''})` : ''}${done.caches ? `; caches ${done.caches.ok ? 'flushed' : `not flushed (${done.caches.detail})`}` : ''} (undo: peakguard restore ${shortId(done.safetySnapshot)})`,
    details: { target, safetySnapshot: done.safetySnapshot, snapshot: done.snapshot, verified: done.verified },
  })
  return done
}

/** An operator's `--only` that selects nothing in the target or the newest snapshot is refused, by name. */
async function assertSelects(site: Site, target: string, only: OnlyFilter): Promise<void> {
  const head = await site.journal.head()
  const states = [await site.journal.readState(target), ...(head && head !== target ? [await site.journal.readState(head)] : [])]
  const none = selectorsMatchingNothing(only, states)
  if (none.length)
    throw new PeakguardError(
      'USAGE',
      `--only ${none.join(', ')}: nothing of that name in state ${shortId(target)} or in the newest snapshot (peakguard show ${shortId(target)} lists what a state holds); nothing was written`,
    )
}
