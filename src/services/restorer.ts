// The restorer: plans and applies a restore — what differs between the live site and a state, writing it
// back (links, removals, files, directories, then all settings in one transaction), re-reading what it
// wrote, and putting the old state back when a write fails. When it runs, under which lock, and what is
// recorded before and after is the writer's business (writer.ts).
import {
  crosses,
  keepLayout,
  layoutCrossing,
  schemaChangeText,
  schemaTables,
  type LayoutCrossing,
  restoreTarget,
  countFiles,
  countOptions,
  diffStates,
  filterDiff,
  isEmptyDiff,
  optionKey,
  overlayState,
  type ChangeCounts,
  type DirEntry,
  type FileEntry,
  type HookResult,
  type OnlyFilter,
  type OptionValue,
  type PurgeResult,
  type RestoreIntent,
  type SiteState,
  type StateDiff,
} from '../core/index.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { shortId } from '../core/text.ts'
import type { OpNodeReport } from '../core/fleet.ts'
import { markersOf } from './layout.ts'
import { readLive } from './live.ts'
import { record, recordState, type SnapshotOptions } from './recorder.ts'
import type { Site } from './site.ts'

export interface RestoreOptions {
  target: string
  dryRun?: boolean
  only?: OnlyFilter | null
  /** who or what asked for it, and why: kept in the journal as trailers (the audit of the restore) */
  trigger?: 'manual' | 'auto-rollback'
  actor?: string
  reason?: string
  /** the change request this restore applies or reverts (the freeze gate accepts it as decided) */
  request?: string
  /** a restore by a person: its 'restore' audit entry is written with the restore, crash or not (see RestoreIntent.audit) */
  audit?: { actor: string; onlyText?: string[] }
  /**
   * a person acknowledged that the restore crosses a database migration (the live schema or a migration marker differs
   * from the target's): code and settings are restored, the live schema and markers kept. Without it such a restore is
   * refused (SCHEMA_CHANGE) before anything is written; an automatic rollback is always refused.
   */
  acrossSchemaChange?: boolean
  /** (admin) write the target's migration markers too: for whoever restored the tables themselves from a database backup */
  restoreMarkers?: boolean
  /** called once the site's lock is released, before the cache flush, commands and purges (the daemon's queue goes on then) */
  unlocked?: () => void
  /** on a node of a fleet: this node's part only (the fleet restore's leader writing the settings); else the whole fleet restores */
  here?: boolean
  /**
   * (a fleet restore's leader) called once the safety snapshot is taken and the plan checked, before anything
   * is written: it waits for the other nodes to stage and tells them to swap. A throw ends the restore with
   * nothing written.
   */
  ready?: () => Promise<void>
}

/** What a restore across a database migration does about it (RestoreReport.layout). */
export interface LayoutReport {
  /** the live schema or a migration marker differs from the target's */
  crosses: boolean
  /** what changed in the database since the target, one line per table ("table wp_x created") */
  schema: string[]
  /** the tables those lines name */
  tables: string[]
  /** migration markers whose live value differs from the target's and that stay as they are live */
  markers: string[]
  /** migration markers the restore writes from the target (--restore-markers, and selected by --only if given) */
  markersRestored: string[]
  /** the target has no recorded schema (recorded before peakguard kept one): whether it crosses cannot be told */
  unknown: boolean
  /** acknowledged (--across-schema-change): the restore goes ahead, keeping the live schema and markers */
  acknowledged: boolean
}

export interface RestoreReport {
  /** the snapshot of the live state taken before anything was written (null for a dry run) */
  safetySnapshot: string | null
  target: string
  /** the snapshot recording the restored live state */
  snapshot: string | null
  dryRun: boolean
  files: ChangeCounts
  options: ChangeCounts
  /** live == target within the restored scope, re-read after writing (null for a dry run) */
  verified: boolean | null
  /** what still differs after the restore, when not verified */
  mismatches: StateDiff | null
  plan: StateDiff
  /** set when this command first finished a restore that a crash had interrupted */
  recovered: string | null
  /** the post-restore commands and how each ended (empty for a dry run) */
  hooks: HookResult[]
  /** whether the writer wrote the restore's audit entry (a restore with `audit`, on a site with an audit log) */
  audited: boolean
  /** the WordPress bridge's cache flush (opcache, object cache); null without the bridge or for a dry run */
  caches: { ok: boolean; detail: string } | null
  /**
   * each purge of what caches pages (page-cache plugins, Varnish/nginx, Cloudflare) and how it ended, in the
   * order they ran; empty for a dry run or when nothing is there to purge. A failed purge never fails the restore.
   */
  purges: PurgeResult[]
  /** the check of the page past every cache, after the purges; null for a dry run or a site without one */
  probe: { ok: boolean; detail: string } | null
  /** whether the restore crosses a database migration and what it keeps live (see LayoutReport); null: it does not, and the target's schema is known */
  layout: LayoutReport | null
  /** on a fleet: the op and what each node did (written, verified, caches flushed) */
  fleet?: { op: string; nodes: OpNodeReport[] }
}

/** Runs the post-restore commands (reload php-fpm, flush caches); their outcome goes into the report. */
export async function runHooks(site: Site, r: { target: string; snapshot: string | null; safetySnapshot: string | null }): Promise<HookResult[]> {
  return site.hooks.postRestore({
    PEAKGUARD_SITE: site.id,
    PEAKGUARD_TARGET: r.target,
    PEAKGUARD_SNAPSHOT: r.snapshot ?? '',
    PEAKGUARD_SAFETY_SNAPSHOT: r.safetySnapshot ?? '',
  })
}

/** The restore an interrupted one left on disk, carried out again from what is live now (the caller holds the lock). */
export async function rollForward(site: Site, intent: RestoreIntent): Promise<{ post: { id: string }; mismatches: StateDiff | null }> {
  await site.files.removeTemporaries()
  const live = await readLive(site)
  // an interrupted restore across a migration keeps the live layout as it would have; one that was not
  // acknowledged never started, so a migration found now (it ran while peakguard was down) is kept live too
  const target = layoutGoal(site, live, await site.journal.readState(intent.target), intent.layout?.restoreMarkers === true)
  const plan = await planRestore(site, live, target, intent.only)
  await applyPlan(site, plan, target)
  return verify(site, live, plan, overlayState(live, target, intent.only), {
    trigger: 'recovery',
    message: `finished interrupted restore to ${shortId(intent.target)}`,
    trailers: {
      'Peakguard-Restore-Of': intent.target,
      'Peakguard-Safety-Snapshot': intent.safetySnapshot,
      ...(intent.request ? { 'Peakguard-Request': intent.request } : {}),
    },
  })
}

/**
 * What a restore to `target` may write, given the live layout: `target` itself, or — when the live schema or a
 * migration marker differs — `target` with the live schema, the live markers (unless `restoreMarkers`) and the live
 * rows of recorded tables whose schema changed (core/schema.ts keepLayout).
 */
export function layoutGoal(site: Site, live: SiteState, target: SiteState, restoreMarkers: boolean, c = layoutCrossing(live, target, markersOf(site))): SiteState {
  return crosses(c) ? keepLayout(live, target, c, markersOf(site), restoreMarkers) : target
}

/** The report's account of a crossing (null when there is none to tell). */
export function layoutReport(c: LayoutCrossing, o: { acknowledged: boolean; plan: StateDiff }): LayoutReport | null {
  if (!crosses(c) && !c.unknown) return null
  // what the plan really writes: a marker outside an `--only` selection is not restored, whatever was asked
  const written = new Set(o.plan.options.map((x) => optionKey(x.table, x.name)))
  const restored = c.markers.filter((m) => written.has(optionKey(m.table, m.name)))
  return {
    crosses: crosses(c),
    schema: c.schema.map(schemaChangeText),
    tables: schemaTables(c.schema),
    markers: c.markers.filter((m) => !restored.includes(m)).map((m) => m.name),
    markersRestored: restored.map((m) => m.name),
    unknown: c.unknown,
    acknowledged: o.acknowledged && crosses(c),
  }
}

/**
 * Puts `before` (the safety snapshot) back after a restore failed part-way (full disk, database error), so
 * the site is as it was. Throws when even that fails.
 */
export async function putBack(site: Site, before: SiteState, only: OnlyFilter | null): Promise<void> {
  const live = await readLive(site)
  const back = planFor(live, before, only)
  await assertWritable(site, back, before)
  await applyPlan(site, back, before)
}

/** What to write to go from `live` to `target`, checked writable before anything is written. */
export async function planRestore(site: Site, live: SiteState, target: SiteState, only: OnlyFilter | null): Promise<StateDiff> {
  const plan = planFor(live, target, only)
  await assertWritable(site, plan, target)
  return plan
}

/**
 * What to write to go from `live` to `target`: every path that differs, and — where a linked theme/plugin
 * directory becomes a real one — every file of the target below it, since unlinking leaves it empty.
 */
function planFor(live: SiteState, target: SiteState, only: OnlyFilter | null): StateDiff {
  // rows of a table only one side records stay as they are (see restoreTarget)
  const plan = filterDiff(diffStates(live, restoreTarget(live, target)), only)
  // a restore never writes the schema (peakguard never touches a table's definition): no plan has it
  delete plan.schema
  const unlinked = plan.links.filter((l) => l.change === 'removed').map((l) => `${l.path}/`)
  if (unlinked.length === 0) return plan
  const below = (p: string) => unlinked.some((u) => p.startsWith(u))
  plan.files = plan.files.filter((f) => !below(f.path) || f.change === 'removed')
  for (const f of target.files.values())
    if (below(f.path)) plan.files.push({ path: f.path, change: live.files.has(f.path) ? 'modified' : 'added', content: true, from: live.files.get(f.path), to: f })
  plan.files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
  return plan
}

async function assertWritable(site: Site, plan: StateDiff, target: SiteState): Promise<void> {
  const paths = [...plan.files.map((f) => f.path), ...plan.links.map((l) => l.path)]
  // a link the plan removes is gone before anything is written below it
  const allowed = new Map(target.links)
  for (const l of plan.links) if (l.change === 'removed' && l.from) allowed.set(l.path, l.from)
  const removedFirst = new Set(plan.files.filter((f) => f.change === 'removed').map((f) => f.path))
  // links are set (applyPlan) before any file is written
  const relinkedFirst = new Set(plan.links.filter((l) => l.change !== 'removed').map((l) => l.path))
  await site.files.assertWritable(paths, allowed, removedFirst, relinkedFirst)
}

/** Writes the plan: links, removals, file contents, metadata, then all settings rows in one transaction. */
export async function applyPlan(site: Site, plan: StateDiff, target: SiteState): Promise<void> {
  for (const l of plan.links) if (l.change === 'removed') await site.files.setLink(l.path, null)
  // a re-pointed link (current → versions/v2, recorded → versions/v1) is set back before anything is
  // removed: a removal through it would delete what its wrong target holds
  for (const l of plan.links) if (l.change === 'modified') await site.files.setLink(l.path, l.to ?? null)
  for (const f of plan.files) if (f.change === 'removed') await site.files.remove(f.path)
  // a real directory that becomes a link: its files are removed above, then the link replaces it
  for (const l of plan.links) if (l.change === 'added') await site.files.setLink(l.path, l.to ?? null)

  const byBlob = new Map<string, FileEntry[]>()
  for (const f of plan.files) {
    if (f.change === 'removed' || !f.to) continue
    if (!f.content) {
      await site.files.setMeta(f.to)
      continue
    }
    const list = byBlob.get(f.to.blob) ?? []
    list.push(f.to)
    byBlob.set(f.to.blob, list)
  }
  await site.journal.readBlobs([...byBlob.keys()], async (blob, bytes) => {
    for (const entry of byBlob.get(blob) ?? []) {
      await site.files.write(entry, bytes)
      checkpoint('restore:file')
    }
  })
  if (target.dirs) {
    for (const d of plan.dirs.filter((x) => x.change === 'removed').sort((a, b) => b.path.length - a.path.length)) await site.files.removeDirIfEmpty(d.path)
    for (const d of dirsToSet(plan, target.dirs)) await site.files.setDirMeta(d)
  }
  checkpoint('restore:after-files')

  const rows: OptionValue[] = []
  const wanted = new Map<string, string[]>()
  for (const o of plan.options) {
    if (o.change === 'removed' || !o.to) continue
    const keys = wanted.get(o.to.blob) ?? []
    keys.push(optionKey(o.table, o.name))
    wanted.set(o.to.blob, keys)
  }
  await site.journal.readBlobs([...wanted.keys()], (blob, bytes) => {
    for (const key of wanted.get(blob) ?? []) {
      const entry = target.options.get(key)
      if (entry) rows.push({ ...entry, value: bytes, blob })
    }
  })
  const removals = plan.options.filter((o) => o.change === 'removed').map((o) => ({ table: o.table, name: o.name }))
  if (rows.length || removals.length) await site.settings.apply(rows, removals)
  checkpoint('restore:after-settings')
}

/**
 * The directories a restore sets, parents first: those the plan adds or changes, and those of the target
 * that a file removal may have emptied and taken away.
 */
function dirsToSet(plan: StateDiff, dirs: Map<string, DirEntry>): DirEntry[] {
  const want = new Map<string, DirEntry>()
  for (const d of plan.dirs) if (d.change !== 'removed' && d.to) want.set(d.path, d.to)
  for (const a of ancestorsOf(plan)) {
    const d = dirs.get(a)
    if (d) want.set(a, d)
  }
  return [...want.values()].sort((a, b) => a.path.split('/').length - b.path.split('/').length || (a.path < b.path ? -1 : 1))
}

/** Every directory above a file the plan touches, below themes/, plugins/, mu-plugins/. */
function ancestorsOf(plan: StateDiff): Set<string> {
  const out = new Set<string>()
  for (const f of plan.files) {
    const parts = f.path.split('/')
    for (let i = 2; i < parts.length; i++) out.add(parts.slice(0, i).join('/'))
  }
  return out
}

/**
 * Re-reads what the restore wrote — every touched path, hashed again from disk, its links, and all
 * settings rows — and compares the result with what it should be. A clean result is recorded as the
 * restore's snapshot without walking the whole tree again; otherwise the whole live site is recorded, so
 * the journal shows what is really there, and the differences are returned.
 */
export async function verify(
  site: Site,
  before: SiteState,
  plan: StateDiff,
  expected: SiteState,
  snap: SnapshotOptions,
  fleet: SiteState | null = null,
): Promise<{ post: { id: string }; mismatches: StateDiff | null }> {
  // a link changed (or one the target records is not as recorded any more: its folder emptied and made
  // again, say): what is below it is what its target holds, so read the whole site
  const linksAsRecorded = await site.files.linksAre([...expected.links.values()])
  if (plan.links.length > 0 || !linksAsRecorded) {
    const post = await record(site, snap)
    // a fleet's node: compared as it is on disk (what it recorded is the fleet's view)
    const left = leftOver(expected, post.read ?? post.state)
    return { post, mismatches: isEmptyDiff(left) ? null : left }
  }
  const [files, rows] = await Promise.all([site.files.inspect(plan.files.map((f) => f.path)), site.settings.read()])
  // a restore never writes the schema: the state it recorded before is the one live after
  const after: SiteState = {
    files: new Map(before.files),
    links: new Map(before.links),
    options: new Map(before.options),
    ...(before.sources ? { sources: before.sources } : {}),
    ...(before.schema ? { schema: before.schema } : {}),
  }
  for (const [p, e] of files) {
    if (e) after.files.set(p, e)
    else after.files.delete(p)
  }
  if (expected.dirs && before.dirs) {
    after.dirs = new Map(before.dirs)
    for (const [p, d] of await site.files.inspectDirs([...new Set([...plan.dirs.map((d) => d.path), ...ancestorsOf(plan)])])) {
      if (d) after.dirs.set(p, d)
      else after.dirs.delete(p)
    }
  }
  // the rows the restore wrote or deleted, as they are now (rows it did not touch may change meanwhile)
  const planned = new Set(plan.options.map((o) => optionKey(o.table, o.name)))
  for (const key of planned) after.options.delete(key)
  for (const r of rows) if (planned.has(optionKey(r.table, r.name))) after.options.set(optionKey(r.table, r.name), r)
  const left = leftOver(expected, after)
  if (!isEmptyDiff(left)) {
    const post = await record(site, snap)
    const still = leftOver(expected, post.read ?? post.state)
    return { post, mismatches: isEmptyDiff(still) ? null : still }
  }
  // every file it wrote came from the journal, so none needs storing again
  const fromJournal = new Set(plan.files.flatMap((f) => (f.to ? [f.to.blob] : [])))
  // a fleet's node records the fleet's state: the restored scope as the target has it over the fleet's newest
  // state (its own disk may have drifted elsewhere, or already been the target where it wrote nothing)
  const recorded = fleet ? { ...fleet, options: after.options, ...(after.sources ? { sources: after.sources } : {}), ...(after.schema ? { schema: after.schema } : {}) } : after
  if (fleet) for (const f of fleet.files.values()) fromJournal.add(f.blob)
  const post = await recordState(site, recorded, snap, fromJournal).catch(() => record(site, snap))
  return { post, mismatches: null }
}

/**
 * What still differs from the expected state. A directory the target did not have that is still there
 * is not a difference: a restore removes such a directory only when empty, and one that holds files
 * peakguard ignores (a cache) stays, its recorded files compared one by one.
 */
function leftOver(expected: SiteState, actual: SiteState): StateDiff {
  // the schema is not the restore's to verify: it never writes it
  const { schema: _schema, ...d } = diffStates(expected, actual)
  return { ...d, dirs: d.dirs.filter((x) => x.change !== 'added') }
}

export function restoreReport(r: {
  safety: string | null
  target: string
  plan: StateDiff
  post: { id: string } | null
  mismatches: StateDiff | null
  recovered: string | null
  dryRun: boolean
}): RestoreReport {
  return {
    safetySnapshot: r.safety,
    target: r.target,
    snapshot: r.post?.id ?? null,
    dryRun: r.dryRun,
    files: countFiles(r.plan),
    options: countOptions(r.plan),
    verified: r.dryRun ? null : r.mismatches === null,
    mismatches: r.mismatches,
    plan: r.plan,
    recovered: r.recovered,
    hooks: [],
    caches: null,
    purges: [],
    probe: null,
    audited: false,
    layout: null,
  }
}
