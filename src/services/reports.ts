// The JSON shapes of peakguard's results: what `--json` prints and what the web UI's /api answers, built
// in one place so that a script written against the CLI works against the API unchanged.
import type { AllowWindow, AuditEntry, FreezeSpan, StateInfo } from '../core/index.ts'
import type { StateDetail, DiffSide } from './catalog.ts'
import { schemaChangeText, type StateDiff } from '../core/index.ts'
import type { FreezeBaseline, FreezeStatus, StartManualResult, StopManualResult } from './freeze.ts'
import type { RestoreReport } from './restorer.ts'

/** One entry of `peakguard list --json` and GET /api/sites/:site/states */
export function stateJson({ id, time, trigger, message, summary, knownGood, causedBy, words }: StateInfo) {
  return { id, time, trigger, message, summary, knownGood, causedBy, words }
}

/** `peakguard show --json` and GET /api/sites/:site/states/:id */
export function stateDetailJson(d: StateDetail) {
  return {
    id: d.id,
    time: d.time,
    trigger: d.trigger,
    message: d.message,
    summary: d.summary,
    knownGood: d.knownGood,
    causedBy: d.causedBy,
    words: d.words,
    note: d.note,
    parent: d.parent,
    trailers: d.trailers,
    counts: d.counts,
    health: d.health,
    changes: {
      files: d.changes.files.map((f) => ({ path: f.path, change: f.change })),
      options: d.changes.options.map((x) => ({ table: x.table, name: x.name, change: x.change })),
    },
  }
}

/** `peakguard diff --json` and GET /api/sites/:site/diff */
export function diffJson(r: { from: DiffSide; to: DiffSide; diff: StateDiff }) {
  return {
    from: r.from.label,
    to: r.to.label,
    files: r.diff.files.map((f) => ({ path: f.path, change: f.change })),
    options: r.diff.options.map((x) => ({ table: x.table, name: x.name, change: x.change })),
    links: r.diff.links.map((l) => ({ path: l.path, change: l.change, ...(l.to ? { target: l.to.target } : {}) })),
    dirs: r.diff.dirs.map((x) => ({ path: x.path, change: x.change, ...(x.to ? { mode: x.to.mode.toString(8).padStart(4, '0'), uid: x.to.uid, gid: x.to.gid } : {}) })),
    schema: (r.diff.schema ?? []).map((c) => ({ table: c.table, change: c.change, ...(c.from ? { from: c.from } : {}), details: c.details, text: schemaChangeText(c) })),
  }
}

/** `peakguard restore --json` and POST /api/sites/:site/restores */
export function restoreJson(r: RestoreReport) {
  return {
    safetySnapshot: r.safetySnapshot,
    target: r.target,
    snapshot: r.snapshot,
    dryRun: r.dryRun,
    files: r.files,
    options: r.options,
    verified: r.verified,
    ...(r.dryRun
      ? {
          plan: {
            files: r.plan.files.map((f) => ({ path: f.path, change: f.change })),
            options: r.plan.options.map((x) => ({ table: x.table, name: x.name, change: x.change })),
          },
        }
      : {}),
    ...(r.mismatches
      ? { mismatches: { files: r.mismatches.files.map((f) => f.path), options: r.mismatches.options.map((x) => `${x.table}.${x.name}`), dirs: r.mismatches.dirs.map((d) => d.path) } }
      : {}),
    ...(r.recovered ? { recovered: r.recovered } : {}),
    // null: the restore crosses no database migration (and the target's schema is known)
    layout: r.layout,
    ...(r.dryRun ? {} : { hooks: r.hooks, caches: r.caches, purges: r.purges, probe: r.probe }),
    // a fleet's restore: the op and what each node did
    ...(r.fleet ? { fleet: r.fleet } : {}),
  }
}

export function spanJson(s: FreezeSpan | null) {
  return s && { source: s.source, start: new Date(s.start).toISOString(), end: new Date(s.end).toISOString(), reason: s.reason }
}

export function allowJson(w: AllowWindow) {
  return { ...w, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() }
}

function baselineJson(b: FreezeBaseline) {
  return { ...b, start: new Date(b.start).toISOString(), recordedAt: new Date(b.recordedAt).toISOString() }
}

/** `peakguard freeze status --json` and GET /api/sites/:site/freeze */
export function freezeStatusJson(site: string, s: FreezeStatus, zone: string, now: number) {
  return {
    site,
    now: new Date(now).toISOString(),
    zone,
    frozen: !!s.active,
    active: spanJson(s.active),
    endsAt: s.endsAt === null ? null : new Date(s.endsAt).toISOString(),
    open: s.open.map(spanJson),
    following: s.following.map(spanJson),
    next: spanJson(s.next),
    allowed: s.allowed.map(allowJson),
    policy: s.policy,
    baseline: s.baseline && baselineJson(s.baseline),
    approvalUrl: s.approvalUrl,
  }
}

/** `peakguard freeze start --json` */
export function freezeStartJson(r: StartManualResult, zone: string) {
  return { freeze: spanJson(r.freeze), replaced: r.replaced, baseline: baselineJson(r.baseline), zone }
}

/** `peakguard freeze stop --json` */
export function freezeStopJson(r: StopManualResult) {
  return { stopped: spanJson(r.stopped), stillFrozen: spanJson(r.stillFrozen) }
}

/** `peakguard approve|reject --json` */
export function decisionJson(d: { request: unknown; restore: RestoreReport | null }) {
  const r = d.restore
  return { request: d.request, restore: r && { snapshot: r.snapshot, safetySnapshot: r.safetySnapshot, verified: r.verified, caches: r.caches, hooks: r.hooks, purges: r.purges, probe: r.probe } }
}

/** The audit log as CSV (`peakguard audit --csv`, the UI's export) */
function csvCell(v: unknown): string {
  let s = v === undefined || v === null ? '' : typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v)
  // a cell a spreadsheet would run as a formula (a WordPress login can be anything) is kept as text
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

const CSV_COLUMNS = ['seq', 'time', 'type', 'actor', 'site', 'summary', 'details', 'prev', 'hash'] as const

export function toCsv(entries: AuditEntry[]): string {
  const rows = entries.map((e) => CSV_COLUMNS.map((c) => csvCell(e[c])).join(','))
  return [CSV_COLUMNS.join(','), ...rows].join('\r\n')
}
