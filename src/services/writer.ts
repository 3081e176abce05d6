// The writer: the one way anything changes a site's journal or its live files and settings. Every write
// takes the site's single-writer lock, first finishes a restore that a crash interrupted, and then runs
// its steps in the order that makes it safe:
//   snapshot:  lock → finish an interrupted restore → record (recorder.ts)
//   restore:   lock → finish an interrupted restore → safety snapshot of the live state → plan (only what
//              differs) → [dry run stops here] → intent on disk → files → settings → verify by recording
//              the result → clear the intent; after the lock: cache flush, post-restore commands, purges of
//              what caches pages (plugins, then HTTP, then the CDN) and a check of the page past the caches
// A crash anywhere after the intent is written is finished by the next command that takes the lock
// (settle); a write that fails part-way is undone from the safety snapshot. recorder.ts reads and records,
// restorer.ts plans and applies; neither takes the lock nor imports the other's caller.
import { cleanText, crosses, layoutCrossing, overlayState, shortId as short, type LayoutCrossing, type SiteState } from '../core/index.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { PeakguardError } from '../errors.ts'
import { restoreAudit } from './audit.ts'
import { crossingText, crossingTo, markersOf } from './layout.ts'
import { readLive } from './live.ts'
import { record, type SnapshotOptions, type SnapshotResult } from './recorder.ts'
import { applyPlan, layoutGoal, layoutReport, planRestore, putBack, restoreReport, rollForward, runHooks, verify, type RestoreOptions, type RestoreReport } from './restorer.ts'
import type { Site } from './site.ts'
import type { PurgeResult, RestoreIntent } from '../core/index.ts'

/** Runs `fn` holding the site's single-writer lock (`pushAfter`: see SharedJournal.write). */
export async function withSiteLock<T>(site: Site, fn: () => Promise<T>, opts: { pushAfter?: boolean } = {}): Promise<T> {
  const release = await site.dir.lock(site.lockWaitMs)
  try {
    // a fleet's journal has one writer at a time, across the nodes: taken after this host's lock, always
    return await (site.shared ? site.shared.write(fn, opts) : fn())
  } finally {
    await release()
  }
}

/** Takes a snapshot under the site's lock (finishing an interrupted restore first). */
export async function snapshot(site: Site, opts: SnapshotOptions): Promise<SnapshotResult> {
  // a bad message is refused before the site is read, changed or not
  cleanText(opts.message, 'the message')
  return withSiteLock(site, async () => {
    // if an interrupted restore cannot be finished, the live state is still recorded and `status` tells what is pending
    const finished = await settle(site).catch(() => null)
    const r = await record(site, opts)
    return finished ? { ...r, finishedRestore: finished.note } : r
  })
}

/**
 * Restores a state (see the order above), then flushes caches, runs the post-restore commands, purges what
 * caches pages and checks the page past every cache.
 */
export async function restore(site: Site, opts: RestoreOptions): Promise<RestoreReport> {
  // a node of a fleet restores every node (fleet-restore.ts); the leader's part comes back here with `here`
  if (site.fleetRestore && !opts.dryRun && !opts.here) return site.fleetRestore(opts)
  // a fleet leader's part (`here`): its caches are flushed and its report made while the snapshot goes to S3
  const r = await withSiteLock(site, () => restoreLocked(site, opts), { pushAfter: opts.here === true })
  opts.unlocked?.()
  // outside the lock: a slow `systemctl reload` or purge must not hold up the next snapshot; none of these
  // steps makes the restore fail — each one's outcome goes into the report
  if (!r.dryRun) {
    const started = Date.now()
    // PHP may serve the old code from opcache and the old settings from the object cache until flushed
    r.caches = site.bridge && (await site.bridge.installed().catch(() => null)) ? await site.bridge.flushCaches().catch((e: Error) => ({ ok: false, detail: e.message })) : null
    r.hooks = await runHooks(site, r)
    // after the flush and the commands (a php-fpm reload): a page cached again after its purge is rendered by
    // the restored code and settings, not by PHP still holding the old ones
    r.purges = await purgeCaches(site)
    // last: what a visitor gets now, past every cache
    r.probe = site.confirm ? await site.confirm().catch((e: Error) => ({ ok: false, detail: `the check could not run: ${e.message}` })) : null
    await auditPurges(site, opts, r, started)
  }
  return r
}

/**
 * Every purge of the site's purgers, one purger after another in the site's order (inner caches first: a
 * cache in front purged before the one behind it would fill again from that one's stale copy). A purger
 * that throws (none should) is one failed result; nothing here throws.
 */
async function purgeCaches(site: Site): Promise<PurgeResult[]> {
  const out: PurgeResult[] = []
  for (const p of site.purgers ?? []) out.push(...(await p.purge().catch((e: Error): PurgeResult[] => [{ name: p.label, kind: p.kind, ok: false, detail: e.message }])))
  return out
}

/**
 * The purges in the audit log. The restore's own entry is written under the lock, before its intent is
 * cleared, so a crash cannot lose it — and before the purges, which run after the lock. So their outcome
 * follows in an entry of its own (step 'caches'), written only for a restore whose entry the writer wrote
 * and only when something was purged or tried: a site with nothing to purge gets no second entry.
 */
async function auditPurges(site: Site, opts: RestoreOptions, r: RestoreReport, started: number): Promise<void> {
  if (!r.audited || !site.audit || !opts.audit || !r.purges.length) return
  try {
    await site.audit.append(
      restoreAudit({
        actor: opts.audit.actor,
        site: site.id,
        target: r.target,
        from: r.safetySnapshot,
        verified: r.verified === true,
        durationMs: Date.now() - started,
        onlyText: opts.audit.onlyText,
        purges: r.purges,
        probe: r.probe,
        step: 'caches',
      }),
    )
  } catch {
    // the restore and its own entry are written; an audit log that cannot take this one more line is not a reason to report the restore failed
  }
}

/**
 * Refuses a restore that crosses a database migration unless a person acknowledged it; an automatic rollback never
 * crosses one, nor goes where it cannot tell (a target recorded before schemas were).
 */
function refuseCrossing(c: LayoutCrossing, opts: RestoreOptions, safetySnapshot?: string): void {
  const automatic = opts.trigger === 'auto-rollback'
  if (!(crosses(c) || (automatic && c.unknown))) return
  if (!automatic && opts.acrossSchemaChange === true) return
  const what = crossingText(c)
  throw new PeakguardError(
    'SCHEMA_CHANGE',
    automatic
      ? `an automatic rollback to ${short(opts.target)} is not done: ${what}. A person decides: 'peakguard restore ${short(opts.target)} --dry-run' shows what a restore would do`
      : `restoring ${short(opts.target)} crosses a database migration: ${what}. Nothing was written to the site${safetySnapshot ? ` (the database changed while the restore began: the live state is recorded as ${short(safetySnapshot)})` : ''}. peakguard can restore the code and settings and keep the live schema${c.markers.length ? ' and the live values of the migration markers' : ''}: repeat with --across-schema-change (in the UI: tick the acknowledgement)`,
  )
}

async function restoreLocked(site: Site, opts: RestoreOptions): Promise<RestoreReport> {
  const only = opts.only ?? null
  const recorded = await site.journal.readState(opts.target)
  const isMarker = markersOf(site)
  const acknowledged = opts.acrossSchemaChange === true && opts.trigger !== 'auto-rollback'
  const restoreMarkers = acknowledged && opts.restoreMarkers === true
  // what a restore may write when the live layout is not the target's
  const goal = (live: SiteState, c: LayoutCrossing) => layoutGoal(site, live, recorded, restoreMarkers, c)

  if (opts.dryRun) {
    // a dry run writes nothing, not even the rest of an interrupted restore; it shows what a restore would do, crossing or not
    const live = await readLive(site)
    const c = layoutCrossing(live, recorded, isMarker)
    const plan = await planRestore(site, live, goal(live, c), only)
    return { ...restoreReport({ safety: null, target: opts.target, plan, post: null, mismatches: null, recovered: null, dryRun: true }), layout: layoutReport(c, { acknowledged, plan }) }
  }

  // refused before anything is recorded or written: from the database alone, no file walk
  refuseCrossing(await crossingTo(site, recorded), opts)

  // an interrupted restore is finished first; if it cannot be, this restore (planned from what is live
  // now) takes its place — so an operator can always go back to the safety snapshot
  const recovered = await settle(site).then(
    (f) => f?.note ?? null,
    (e: unknown) => `could not finish an interrupted restore (${(e as Error).message}); this restore replaces it`,
  )

  const safety = await record(site, { trigger: 'pre-restore', message: `before restore to ${short(opts.target)}` })
  checkpoint('restore:after-safety-snapshot')
  // again on the state just recorded: a migration may have run since the check above
  const crossing = layoutCrossing(safety.state, recorded, isMarker)
  refuseCrossing(crossing, opts, safety.id)
  // a node of a fleet records the fleet's view (what changed on it, over the fleet's state): what it writes is
  // planned from its files as they are on its disk
  const live = safety.read ?? safety.state
  const target = goal(live, crossing)
  const plan = await planRestore(site, live, target, only)
  const layout = layoutReport(crossing, { acknowledged, plan })
  const intent: RestoreIntent = {
    target: opts.target,
    safetySnapshot: safety.id,
    only,
    startedAt: new Date().toISOString(),
    ...(opts.request ? { request: opts.request } : {}),
    ...(opts.audit ? { audit: opts.audit } : {}),
    ...(layout?.crosses ? { layout: { tables: layout.tables, markers: layout.markers, restored: layout.markersRestored, restoreMarkers } } : {}),
  }
  // a fleet's leader: the other nodes swap from here (or the restore stops before anything is written)
  await opts.ready?.()
  await site.dir.writeIntent(intent)
  checkpoint('restore:after-intent')

  try {
    await applyPlan(site, plan, target)
  } catch (e) {
    // put back as this host's disk was (a fleet's node: not the fleet's view of it)
    throw await undoAfterFailure(site, e, live, only)
  }
  // a fleet's node records the fleet's state after it: the restored scope over the fleet's view before it
  const fleetAfter = site.node ? overlayState(safety.state, goal(safety.state, crossing), only) : null
  const { post, mismatches } = await verify(site, live, plan, overlayState(live, target, only), {
    trigger: 'restore',
    message: `${opts.trigger === 'auto-rollback' ? 'automatic rollback' : 'restore'} to ${short(opts.target)}`,
    trailers: {
      'Peakguard-Restore-Of': opts.target,
      'Peakguard-Safety-Snapshot': safety.id,
      ...(opts.trigger ? { 'Peakguard-Restore-Trigger': opts.trigger } : {}),
      ...(opts.actor ? { 'Peakguard-Actor': opts.actor } : {}),
      ...(opts.reason ? { 'Peakguard-Reason': oneLine(opts.reason) } : {}),
      ...(opts.request ? { 'Peakguard-Request': opts.request } : {}),
      // JSON: a table name may hold any character
      ...(layout?.crosses ? { 'Peakguard-Across-Schema-Change': JSON.stringify({ tables: layout.tables, markers: layout.markers, markersRestored: layout.markersRestored }) } : {}),
    },
  }, fleetAfter)
  // the audit entry before the intent goes: a crash between the two finishes an empty restore and finds it written
  const audited = await auditRestore(site, intent, !mismatches)
  await site.dir.clearIntent()
  return { ...restoreReport({ safety: safety.id, target: opts.target, plan, post, mismatches, recovered, dryRun: false }), audited, layout }
}

/**
 * A restore that failed part-way (full disk, database error) puts back what it had written, from the
 * safety snapshot, so the site is as it was. If even that fails, the intent stays on disk and the next
 * command finishes the restore.
 */
async function undoAfterFailure(site: Site, failure: unknown, before: Parameters<typeof putBack>[1], only: RestoreOptions['only']): Promise<unknown> {
  if (!(failure instanceof PeakguardError)) return failure
  try {
    await putBack(site, before, only ?? null)
    await site.dir.clearIntent()
    return new PeakguardError(failure.code, `${failure.message} — the restore was stopped and undone: the site is as it was before`, { cause: failure })
  } catch (e) {
    return new PeakguardError(failure.code, `${failure.message} — the restore is incomplete and could not be undone (${(e as Error).message}); the next peakguard command will finish it`, { cause: failure })
  }
}

/** A restore a crash had interrupted, finished by the next writer. */
export interface Settlement {
  /** what was done, as `status` shows it (lastRecovery) */
  note: string
  intent: RestoreIntent
  /** the snapshot recording the finished restore */
  snapshot: string
  verified: boolean
}

/**
 * Finishes a restore that a crash interrupted (the caller holds the lock). Rolling forward is always
 * possible — the target is in the journal and the plan is recomputed from what is live now — and the
 * safety snapshot taken before it still allows going back. The note is written before the intent is
 * cleared: a crash between the two finishes the (now empty) restore again, and `status` never loses it.
 */
async function settle(site: Site): Promise<Settlement | null> {
  const intent = await site.dir.readIntent()
  if (!intent) return null
  const { post, mismatches } = await rollForward(site, intent)
  const what =
    `finished the restore to ${short(intent.target)} that was interrupted (started ${intent.startedAt}); ` +
    `the state before it is ${short(intent.safetySnapshot)}` +
    (mismatches ? `; ${mismatches.files.length + mismatches.options.length + mismatches.dirs.length} items still differ` : '') +
    ` — now ${short(post.id)}`
  await site.dir.noteRecovery({ at: new Date().toISOString(), what })
  if (!(await restoreAudited(site, intent))) await auditRestore(site, intent, !mismatches)
  await site.dir.clearIntent()
  // the finished restore changed code under php-fpm: its post-restore commands run as for any restore
  const hooks = await runHooks(site, { target: intent.target, snapshot: post.id, safetySnapshot: intent.safetySnapshot })
  const failedHooks = hooks.filter((h) => h.exitCode !== 0)
  const note = what + (failedHooks.length ? `; post-restore commands failed: ${failedHooks.map((h) => h.command).join(', ')}` : '')
  if (failedHooks.length) await site.dir.noteRecovery({ at: new Date().toISOString(), what: note })
  return { note, intent, snapshot: post.id, verified: !mismatches }
}

/**
 * Finishes an interrupted restore, if there is one, under the site's lock: for a caller that reads the live
 * site to decide what to write (a change request's decision) and must not mistake a half-done restore for
 * the site's state.
 */
export async function settleNow(site: Site): Promise<Settlement | null> {
  return withSiteLock(site, () => settle(site))
}

export interface Settled {
  /** a snapshot or restore running right now, if any */
  busy: string | null
  /** an interrupted restore that could not be finished: `restore <safetySnapshot>` goes back */
  pendingRestore: { target: string; safetySnapshot: string; error: string } | null
}

/** For `status`: finishes an interrupted restore unless another writer holds the lock — never waits behind one. */
export async function settleIfIdle(site: Site): Promise<Settled> {
  try {
    await withSiteLock({ ...site, lockWaitMs: 0 }, () => settle(site))
    return { busy: null, pendingRestore: null }
  } catch (e) {
    if (e instanceof PeakguardError && e.code === 'BUSY') return { busy: e.message, pendingRestore: null }
    const intent = await site.dir.readIntent()
    return { busy: null, pendingRestore: { target: intent?.target ?? '', safetySnapshot: intent?.safetySnapshot ?? '', error: (e as Error).message } }
  }
}

/** A person's restore in the audit log (see RestoreIntent.audit); false when there is nothing to write it to. */
async function auditRestore(site: Site, intent: RestoreIntent, verified: boolean): Promise<boolean> {
  if (!intent.audit || !site.audit) return false
  const { actor, onlyText } = intent.audit
  await site.audit.append(
    restoreAudit({
      ...(intent.layout ? { layout: intent.layout } : {}),
      actor,
      site: site.id,
      target: intent.target,
      from: intent.safetySnapshot,
      verified,
      message: verified ? undefined : 'the live site differs from the target after the restore',
      durationMs: Date.now() - Date.parse(intent.startedAt),
      onlyText,
      intent: intent.startedAt,
    }),
  )
  return true
}

/** Whether the entry of this restore is in the audit log already (written just before a crash). */
async function restoreAudited(site: Site, intent: RestoreIntent): Promise<boolean> {
  if (!intent.audit || !site.audit) return false
  const entries = await site.audit.query({ type: 'restore' })
  return entries.some((e) => {
    const d = e.details as { intent?: unknown; to?: unknown } | undefined
    return d?.intent === intent.startedAt && d.to === intent.target
  })
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim().slice(0, 500)
}
