// A site's freeze state: the manual freeze (peakguard freeze start/stop), the allow-windows (peakguard
// allow) and the baselines (the state at each freeze's start), kept in the document 'freeze' of the site's
// DocStorePort; the configured windows come from the config (freeze-calendar.ts). Every function takes
// its collaborators as parameters, so the CLI and the daemon share them. Every change is audited.
import { randomBytes } from 'node:crypto'
import {
  cleanText,
  freezeChain,
  governingSpan,
  spanOpen,
  normalizeAllowScope,
  openAllows,
  pruneAllows,
  type AllowWindow,
  type AuditInput,
  type BridgeState,
  type DocStorePort,
  type FreezePolicy,
  type FreezeSpan,
} from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { nextSpan, siteZone, spansAt, spansBetween, type FreezeSettings, type FreezeWindowConfig } from './freeze-calendar.ts'

export const FREEZE_DOC = 'freeze'

/** A manual freeze is at most a week: a longer one is a forgotten one; long freezes belong in the config, where they are reviewed. */
export const MANUAL_MAX_MS = 7 * 24 * 3600_000
/** An allow-window is at most a day: a pre-approval is for one change, not a hole in the freeze. */
export const ALLOW_MAX_MS = 24 * 3600_000
/** Baselines kept in the document (the audit log keeps every one). */
const BASELINES_KEPT = 50

export interface ManualFreeze {
  start: number
  end: number
  reason: string
  actor: string
}

/** The state at a freeze's start, which a rollback during or after it can go back to. */
export interface FreezeBaseline {
  /** 'manual' or the configured window's name */
  source: string
  /** the freeze's start (epoch ms): with source, names the freeze */
  start: number
  /** the journal's head state id then (null: the journal was still empty) */
  state: string | null
  recordedAt: number
}

export interface FreezeDoc {
  version: 1
  manual: ManualFreeze | null
  allows: AllowWindow[]
  baselines: FreezeBaseline[]
}

/** What the freeze functions work with: where the state is, where audit entries go, and the time. */
export interface FreezeDeps {
  site: string
  docs: DocStorePort
  audit: { append(input: AuditInput): Promise<unknown> }
  now: () => number
}

export function emptyFreezeDoc(): FreezeDoc {
  return { version: 1, manual: null, allows: [], baselines: [] }
}

export async function readFreezeDoc(docs: DocStorePort): Promise<FreezeDoc> {
  const d = await docs.readDoc<Partial<FreezeDoc>>(FREEZE_DOC)
  return { ...emptyFreezeDoc(), ...(d ?? {}), version: 1 }
}

/** Read-modify-write of the document under the documents' lock (the daemon and commands share it). */
async function update<T>(docs: DocStorePort, fn: (d: FreezeDoc) => Promise<{ doc: FreezeDoc; result: T }>): Promise<T> {
  const release = await docs.lockDocs()
  try {
    const { doc, result } = await fn(await readFreezeDoc(docs))
    await docs.writeDoc(FREEZE_DOC, doc)
    return result
  } finally {
    await release()
  }
}

function manualSpan(m: ManualFreeze | null): FreezeSpan | null {
  return m ? { source: 'manual', start: m.start, end: m.end, reason: m.reason } : null
}

/** Every freeze open at `now`: the configured windows and the manual freeze. */
export function activeSpans(windows: readonly FreezeWindowConfig[], doc: FreezeDoc, now: number): FreezeSpan[] {
  const m = manualSpan(doc.manual)
  return [...spansAt(windows, now), ...(m && spanOpen(m, now) ? [m] : [])]
}

/** The freeze that governs at `now` (manual or configured; of several, the one ending last), or null. */
export function activeFreeze(windows: readonly FreezeWindowConfig[], doc: FreezeDoc, now: number): FreezeSpan | null {
  return governingSpan(activeSpans(windows, doc, now), now)
}

/** The reason a freeze action needs (USAGE saying why when it is missing); the CLI asks before any password. */
export function requireReason(reason: string | undefined, what: string): string {
  return cleanText(reason, `the reason for ${what}`, {
    required: true,
    why: `${what} needs --reason TEXT: the reason is recorded in the audit log and shown to everyone the freeze stops, so they know why and whom to ask`,
  })
}

export interface StartManualInput {
  /** epoch ms; or forMs */
  until?: number
  forMs?: number
  reason: string
  actor: string
  /** the journal's head now: the freeze's baseline */
  baseline: string | null
}

export interface StartManualResult {
  freeze: FreezeSpan
  /** true when a manual freeze was already on: it keeps its start and baseline, its end and reason change */
  replaced: boolean
  baseline: FreezeBaseline
}

/**
 * Starts a manual freeze now, until `until` or for `forMs`. The reason is required; the end must be in the
 * future and at most MANUAL_MAX_MS away. Records the baseline and audits freeze-start and freeze-baseline.
 */
export async function startManual(deps: FreezeDeps, input: StartManualInput): Promise<StartManualResult> {
  const reason = requireReason(input.reason, 'a manual freeze')
  const now = deps.now()
  if ((input.until === undefined) === (input.forMs === undefined)) throw new PeakguardError('USAGE', 'give exactly one of --until TIME or --for DURATION')
  const end = input.until ?? now + (input.forMs as number)
  if (!Number.isFinite(end) || end <= now) throw new PeakguardError('USAGE', `the freeze would end ${Number.isFinite(end) ? new Date(end).toISOString() : 'never'}, which is not in the future`)
  if (end - now > MANUAL_MAX_MS)
    throw new PeakguardError('USAGE', `a manual freeze lasts at most 7 days (a longer one is easily forgotten): for a longer one add a window to the site's freeze.windows in the config`)
  const r = await update(deps.docs, async (doc) => {
    const prev = doc.manual && spanOpen(doc.manual, now) ? doc.manual : null
    const manual: ManualFreeze = { start: prev?.start ?? now, end, reason, actor: input.actor }
    let baseline = doc.baselines.find((b) => b.source === 'manual' && b.start === manual.start)
    const newBaseline = !baseline
    if (!baseline) baseline = { source: 'manual', start: manual.start, state: input.baseline, recordedAt: now }
    const baselines = newBaseline ? [...doc.baselines, baseline].slice(-BASELINES_KEPT) : doc.baselines
    return { doc: { ...doc, manual, baselines, allows: pruneAllows(doc.allows, now) }, result: { freeze: manualSpan(manual) as FreezeSpan, replaced: !!prev, baseline, newBaseline, prev } }
  })
  await deps.audit.append({
    type: 'freeze-start',
    actor: input.actor,
    site: deps.site,
    summary: `${r.replaced ? 'changed the manual freeze' : 'manual freeze'} until ${new Date(end).toISOString()}: ${reason}`,
    details: { source: 'manual', start: new Date(r.freeze.start).toISOString(), end: new Date(end).toISOString(), reason, ...(r.prev ? { previousEnd: new Date(r.prev.end).toISOString() } : {}) },
  })
  if (r.newBaseline) await auditBaseline(deps, r.baseline, input.actor)
  return { freeze: r.freeze, replaced: r.replaced, baseline: r.baseline }
}

async function auditBaseline(deps: FreezeDeps, b: FreezeBaseline, actor: string): Promise<void> {
  await deps.audit.append({
    type: 'freeze-baseline',
    actor,
    site: deps.site,
    summary: `baseline of the ${b.source === 'manual' ? 'manual freeze' : `freeze window ${b.source}`} from ${new Date(b.start).toISOString()}: ${b.state ?? 'empty journal'}`,
    details: { source: b.source, start: new Date(b.start).toISOString(), state: b.state },
  })
}

/**
 * Records the state at a freeze's start once (the daemon calls it when a configured window opens; a manual
 * freeze records its own). Returns the baseline, and whether it was new; an existing one is kept as it is.
 */
export async function recordBaseline(
  deps: FreezeDeps,
  input: { source: string; start: number; state: string | null; actor: string },
): Promise<{ baseline: FreezeBaseline; recorded: boolean }> {
  const now = deps.now()
  const r = await update(deps.docs, async (doc) => {
    const found = doc.baselines.find((b) => b.source === input.source && b.start === input.start)
    if (found) return { doc, result: { baseline: found, recorded: false } }
    const baseline: FreezeBaseline = { source: input.source, start: input.start, state: input.state, recordedAt: now }
    return { doc: { ...doc, baselines: [...doc.baselines, baseline].slice(-BASELINES_KEPT) }, result: { baseline, recorded: true } }
  })
  if (r.recorded) await auditBaseline(deps, r.baseline, input.actor)
  return r
}

export interface StopManualResult {
  stopped: FreezeSpan
  /** a configured window still open after the manual freeze stopped */
  stillFrozen: FreezeSpan | null
}

/**
 * Ends the manual freeze now. Refused without a reason, and when no manual freeze is on; a configured
 * window is not stopped by this (FROZEN, saying what overrides it: an allow-window or break-glass).
 */
export async function stopManual(
  deps: FreezeDeps,
  windows: readonly FreezeWindowConfig[],
  input: { reason: string; actor: string },
): Promise<StopManualResult> {
  const reason = requireReason(input.reason, 'stopping a freeze')
  const now = deps.now()
  const r = await update(deps.docs, async (doc) => {
    const m = doc.manual && spanOpen(doc.manual, now) ? doc.manual : null
    if (!m) {
      const configured = governingSpan(spansAt(windows, now), now)
      if (configured)
        throw new PeakguardError(
          'FROZEN',
          `no manual freeze is on; the configured freeze window ${configured.source} (until ${new Date(configured.end).toISOString()}) cannot be stopped with 'freeze stop': ` +
            `pre-approve a change with 'peakguard allow --scope S --for 30m --reason TEXT', or — an admin, in an emergency — break glass with --break-glass --reason TEXT; to drop the window, edit the config`,
        )
      throw new PeakguardError('USAGE', 'no freeze is on: there is nothing to stop')
    }
    return { doc: { ...doc, manual: null, allows: pruneAllows(doc.allows, now) }, result: { stopped: manualSpan(m) as FreezeSpan } }
  })
  const stillFrozen = governingSpan(spansAt(windows, now), now)
  await deps.audit.append({
    type: 'freeze-stop',
    actor: input.actor,
    site: deps.site,
    summary: `stopped the manual freeze (planned until ${new Date(r.stopped.end).toISOString()}): ${reason}`,
    details: { source: 'manual', start: new Date(r.stopped.start).toISOString(), plannedEnd: new Date(r.stopped.end).toISOString(), reason, stillFrozen: stillFrozen?.source ?? null },
  })
  return { stopped: r.stopped, stillFrozen }
}

/** Opens an allow-window now: changes inside `scope` are accepted (and attributed to it) for `forMs`. */
export async function openAllow(deps: FreezeDeps, input: { scope: string; forMs: number; reason: string; actor: string }): Promise<AllowWindow> {
  const reason = requireReason(input.reason, 'an allow-window')
  const scope = normalizeAllowScope(input.scope)
  if (!Number.isFinite(input.forMs) || input.forMs <= 0) throw new PeakguardError('USAGE', '--for must be a duration longer than zero, e.g. 30m')
  if (input.forMs > ALLOW_MAX_MS) throw new PeakguardError('USAGE', 'an allow-window lasts at most 24h: a pre-approval is for one change; open a new one when needed')
  const now = deps.now()
  const w: AllowWindow = { id: `a${now.toString(36)}${randomBytes(2).toString('hex')}`, scope, start: now, end: now + input.forMs, reason, actor: input.actor }
  await update(deps.docs, async (doc) => ({ doc: { ...doc, allows: [...pruneAllows(doc.allows, now), w] }, result: null }))
  await deps.audit.append({
    type: 'allow-window',
    actor: input.actor,
    site: deps.site,
    summary: `allowed changes to ${scope} until ${new Date(w.end).toISOString()}: ${reason}`,
    details: { id: w.id, scope, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString(), reason },
  })
  return w
}

/**
 * When changes are free again after `now` (null when no freeze is open), and the freezes not open yet that
 * keep the site frozen until then (freezeChain). Looks further ahead until the chain stops growing, at most
 * MAX_CHAIN_LOOKS times (config validation already refuses a window whose occurrences never end).
 */
export function freeAgain(
  windows: readonly FreezeWindowConfig[],
  doc: FreezeDoc,
  now: number,
  open: readonly FreezeSpan[] = activeSpans(windows, doc, now),
): { end: number; after: FreezeSpan[] } | null {
  const m = manualSpan(doc.manual)
  let chain = freezeChain(open, now)
  for (let i = 0; chain && i < MAX_CHAIN_LOOKS; i++) {
    const ahead = [...spansBetween(windows, now, chain.end + 1), ...(m && m.end > now ? [m] : [])]
    const next = freezeChain(ahead, now)
    if (!next || next.end <= chain.end) break
    chain = next
  }
  return chain && { end: chain.end, after: chain.after }
}
const MAX_CHAIN_LOOKS = 50

export interface FreezeStatus {
  /** the governing freeze (of several open, the one ending last: its baseline is shown), or null */
  active: FreezeSpan | null
  /**
   * when changes are free again, epoch ms: the end of every open freeze joined with the windows that open
   * before it ends — never earlier than the latest end in `open`
   */
  endsAt: number | null
  /** every freeze open now (several can overlap), sorted by start */
  open: FreezeSpan[]
  /** freezes not open yet that open before the open ones end and keep the site frozen longer, by start */
  following: FreezeSpan[]
  /** the next freeze that starts once changes are free again (or after now) */
  next: FreezeSpan | null
  /** allow-windows open now */
  allowed: AllowWindow[]
  policy: FreezePolicy
  /** the baseline of the first open freeze to begin (the state before the site froze), when recorded */
  baseline: FreezeBaseline | null
  approvalUrl: string | null
}

/** What `freeze status` shows: the freeze on now, its end, the next one, the allow-windows, policy, baseline. */
export async function freezeStatus(docs: DocStorePort, freeze: FreezeSettings, now: number): Promise<FreezeStatus> {
  const doc = await readFreezeDoc(docs)
  const open = activeSpans(freeze.windows, doc, now).sort((a, b) => a.start - b.start || a.source.localeCompare(b.source))
  const active = governingSpan(open, now)
  const free = freeAgain(freeze.windows, doc, now, open)
  const endsAt = free?.end ?? null
  const following = free?.after ?? []
  const after = endsAt === null ? now : endsAt - 1
  const manual = manualSpan(doc.manual)
  const candidates = [nextSpan(freeze.windows, after), manual && manual.start > after ? manual : null].filter((s): s is FreezeSpan => !!s)
  const next = candidates.sort((a, b) => a.start - b.start)[0] ?? null
  // the state before the site froze: of the open freezes, the baseline of the first to begin that has one
  const baseline = open.map((f) => doc.baselines.find((b) => b.source === f.source && b.start === f.start)).find((b) => !!b) ?? null
  return { active, endsAt, open, following, next, allowed: openAllows(doc.allows, now), policy: freeze.policy, baseline, approvalUrl: freeze.approvalUrl }
}

/** How far ahead the bridge's state file lists freezes: enough to keep enforcing through a long daemon outage. */
export const BRIDGE_HORIZON_MS = 3 * 24 * 3600_000

/**
 * The bridge's state with the settings tables the site records (names without the prefix): the bridge watches
 * $wpdb's writes to them, records them and, during a freeze, cancels them.
 */
/**
 * The state file the WordPress bridge enforces from (spans in epoch SECONDS): the freezes open now or
 * starting in the next 3 days, and the allow-windows not yet ended. The daemon writes it when anything
 * changes and at least every few hours, so the horizon never runs out while it is up.
 */
export async function bridgeState(
  docs: DocStorePort,
  site: {
    id: string
    freeze: FreezeSettings
    protectedOptions: readonly string[]
    ignoredOptions: readonly string[]
    settingsTables?: readonly { table: string; ignoreColumns: readonly string[] }[]
    /** the daemon's loopback URL and the bridge's wait for a pre-update snapshot (bridge.preUpdateWait), see daemonForBridge */
    daemon?: { url: string; waitSeconds: number } | null
  },
  now: number,
): Promise<BridgeState> {
  const doc = await readFreezeDoc(docs)
  const to = now + BRIDGE_HORIZON_MS
  const m = manualSpan(doc.manual)
  const spans = [...spansBetween(site.freeze.windows, now, to), ...(m && m.end > now && m.start < to ? [m] : [])].sort((a, b) => a.start - b.start)
  const secs = (ms: number, up: boolean) => (up ? Math.ceil(ms / 1000) : Math.floor(ms / 1000))
  return {
    version: 1,
    site: site.id,
    freezes: spans.map((s) => ({ source: s.source, start: secs(s.start, false), end: secs(s.end, true), reason: s.reason })),
    // an allow-window shortens nothing: its end is rounded down, its start up
    allows: doc.allows.filter((w) => w.end > now).map((w) => ({ scope: w.scope, start: secs(w.start, true), end: secs(w.end, false) })),
    approvalUrl: site.freeze.approvalUrl,
    zone: siteZone(site.freeze),
    protectedOptions: [...site.protectedOptions],
    ignoredOptions: [...site.ignoredOptions],
    settingsTables: (site.settingsTables ?? []).map((t) => t.table),
    selfChangingTables: (site.settingsTables ?? []).filter((t) => t.ignoreColumns.length > 0).map((t) => t.table),
    daemon: site.daemon ?? null,
    writtenAt: secs(now, false),
  }
}

/**
 * Where the bridge reaches the daemon for a pre-update snapshot: ui.listen ({host, port}) as a loopback URL — a
 * wildcard address (0.0.0.0, ::) or localhost is asked on 127.0.0.1 — and the wait in seconds; null when the
 * daemon listens on an address that is not this host's loopback (the request carries the bridge's secret).
 */
export function daemonForBridge(listen: { host: string; port: number }, waitMs: number): { url: string; waitSeconds: number } | null {
  const h = listen.host.toLowerCase()
  const host = h === '0.0.0.0' || h === '::' || h === 'localhost' ? '127.0.0.1' : /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) ? h : h === '::1' ? '[::1]' : null
  if (!host || !(listen.port > 0 && listen.port < 65536)) return null
  return { url: `http://${host}:${listen.port}`, waitSeconds: waitMs / 1000 }
}
