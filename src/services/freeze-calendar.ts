// The calendar of configured freeze windows: one-off windows (start/end with an offset, or wall-clock time
// in an IANA zone) and recurring ones (a cron expression in a zone, plus a duration) turned into spans of
// epoch milliseconds. croner does the cron arithmetic and the zone conversion; the DST rules it applies
// are the ones documented in README.md, "Freeze windows":
//
// - recurring, opening in a spring-forward gap (02:30 on a night that jumps 02:00 → 03:00): opens at the
//   first valid time after the gap, 03:00 (croner's fixed-time rule, as Vixie cron and OCPS 1.x do);
// - recurring, opening at a wall-clock time that happens twice (fall back): opens once, at the first of
//   the two instants (the summer-time one);
// - one-off wall-clock times: a time in a gap is moved forward by the gap (02:30 → 03:30), a repeated time
//   is the first instant — RFC 5545's and Temporal's 'compatible' rule;
// - a duration is elapsed time: a 22:00 window of 8 h on the fall-back night ends at 05:00 wall-clock, on
//   the spring-forward night at 07:00 — always 8 real hours.
import { Cron, CronDate } from 'croner'
import ms from 'ms'
import type { FreezePolicy, FreezeSpan } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'

export interface OneOffWindow {
  name: string
  start: string
  end: string
  zone: string
  reason: string
}

export interface RecurringWindow {
  name: string
  cron: string
  /** milliseconds */
  duration: number
  zone: string
  reason: string
}

export type FreezeWindowConfig = OneOffWindow | RecurringWindow

/** A site's `freeze` config section, as the services need it. */
export interface FreezeSettings {
  policy: FreezePolicy
  windows: readonly FreezeWindowConfig[]
  approvalUrl: string | null
  /** the zone times are shown in and `--until` is read in; null: the host's */
  zone?: string | null
}

export function isRecurring(w: FreezeWindowConfig): w is RecurringWindow {
  return 'cron' in w
}

/** Whether `zone` is an IANA time zone this Node knows (croner would silently treat an unknown one as UTC). */
export function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone })
    return true
  } catch {
    return false
  }
}

/** The host's zone: $TZ or /etc/localtime as Node sees it. */
export function hostZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'
}

/** The zone a site's times are shown in: freeze.zone, else the host's. */
export function siteZone(f: Pick<FreezeSettings, 'zone'>): string {
  return f.zone ?? hostZone()
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,3})?)?)?(Z|[+-]\d{2}:?\d{2})?$/

/**
 * An ISO date-time as epoch ms. With an offset (`Z`, `+01:00`) it is that instant; without one it is
 * wall-clock time in `zone` (a time in a DST gap moves forward by the gap, a repeated time is its first
 * instant). A date alone is its midnight. Throws USAGE naming the problem.
 */
export function parseTime(text: string, zone: string): number {
  const m = ISO.exec(text.trim())
  if (!m) throw new PeakguardError('USAGE', `${JSON.stringify(text)} is not an ISO date-time: write e.g. 2026-11-27T00:00 or 2026-11-27T00:00+01:00`)
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', offset] = m
  const year = Number(y), month = Number(mo), day = Number(d)
  const daysIn = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (month < 1 || month > 12 || day < 1 || day > daysIn || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    throw new PeakguardError('USAGE', `${JSON.stringify(text)} is not a real date and time`)
  const local = `${y}-${mo}-${d}T${h}:${mi}:${s}`
  if (offset) {
    const off = offset === 'Z' ? 'Z' : offset.replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')
    return Date.parse(`${local}${frac}${off}`)
  }
  if (!isZone(zone)) throw new PeakguardError('USAGE', `unknown time zone ${JSON.stringify(zone)}: use an IANA name such as Europe/Amsterdam`)
  return new CronDate(local, zone).getTime() + Math.round(Number(frac || 0) * 1000)
}

function cronOf(w: RecurringWindow): Cron {
  // no callback: croner only computes, it schedules nothing
  return new Cron(w.cron, { timezone: w.zone, mode: '5-part' })
}

/**
 * What is wrong with a configured window, as {field, message} (empty when it is fine): an unknown zone, a
 * cron expression croner refuses or that never fires, an unreadable date, an end not after its start, a
 * duration of zero.
 */
export function windowProblems(w: FreezeWindowConfig, now = Date.now()): { field: string; message: string }[] {
  const out: { field: string; message: string }[] = []
  const name = `freeze window ${JSON.stringify(w.name)}`
  if (!isZone(w.zone)) out.push({ field: 'zone', message: `${name}: unknown time zone ${JSON.stringify(w.zone)} (an IANA name such as Europe/Amsterdam)` })
  if (isRecurring(w)) {
    let c: Cron | null = null
    try {
      c = cronOf({ ...w, zone: isZone(w.zone) ? w.zone : 'UTC' })
    } catch (e) {
      out.push({ field: 'cron', message: `${name}: not a five-field cron expression (${(e as Error).message.replace(/^CronPattern: /, '')})` })
    }
    const first = c?.nextRun(new Date(now)) ?? null
    if (c && !first) out.push({ field: 'cron', message: `${name}: ${JSON.stringify(w.cron)} never fires` })
    if (!(w.duration > 0)) out.push({ field: 'duration', message: `${name}: the duration must be longer than zero` })
    else if (c && first) {
      // Occurrences that overlap or touch join into one freeze. One that never ends is a freeze forever with no
      // start to take a baseline at; one of more than MAX_JOINED_MS (a daily 24 h window in a zone with DST
      // joins into a year, broken only when the clocks go back) is a mistake. Both rules look at the whole
      // joined freeze around the next occurrence, whatever part of it 'now' falls in: the same config is
      // valid or not on any day.
      const s = mergedSpan(c, w.duration, first.getTime())
      const what = `every ${JSON.stringify(w.cron)} for ${ms(w.duration, { long: true })}`
      if (s.endless)
        out.push({ field: 'duration', message: `${name}: its occurrences (${what}) overlap one another ${MAX_STEPS} times or more in a row: it would never end, or be computed only in part; shorten the duration or write fewer, longer occurrences` })
      else if (s.end - s.start > MAX_JOINED_MS)
        out.push({ field: 'duration', message: `${name}: its occurrences (${what}) join into one freeze of ${Math.round((s.end - s.start) / 86_400_000)} days (${new Date(s.start).toISOString()} → ${new Date(s.end).toISOString()}), more than ${MAX_JOINED_MS / 86_400_000}; shorten the duration` })
    }
    return out
  }
  const zone = isZone(w.zone) ? w.zone : 'UTC'
  let start: number | null = null
  let end: number | null = null
  try {
    start = parseTime(w.start, zone)
  } catch (e) {
    out.push({ field: 'start', message: `${name}: start ${(e as Error).message}` })
  }
  try {
    end = parseTime(w.end, zone)
  } catch (e) {
    out.push({ field: 'end', message: `${name}: end ${(e as Error).message}` })
  }
  if (start !== null && end !== null && end <= start)
    out.push({ field: 'end', message: `${name}: ends (${new Date(end).toISOString()}) before it starts (${new Date(start).toISOString()})` })
  return out
}

/** Occurrences joined at most into one freeze; a window whose occurrences overlap more often is refused. */
const MAX_STEPS = 1000
/** The longest freeze a recurring window may join into (a one-off window is as long as it says). */
const MAX_JOINED_MS = 31 * 86_400_000

/**
 * The span opened by the occurrence at `run`, merged with every earlier and later occurrence that overlaps
 * or touches it (a daily window of 24 h is one long freeze, not many): so a span's start and end are the
 * same whatever the question that found it.
 */
function mergedSpan(c: Cron, dur: number, run: number): { start: number; end: number; endless: boolean } {
  let start = run
  let end = run + dur
  let back = 0
  for (; back < MAX_STEPS; back++) {
    const p = c.previousRuns(1, new Date(start))[0]
    if (!p || p.getTime() + dur < start) break
    start = p.getTime()
  }
  let cursor = run
  let ahead = 0
  for (; ahead < MAX_STEPS; ahead++) {
    const n = c.nextRun(new Date(cursor))
    if (!n || n.getTime() > end) break
    cursor = n.getTime()
    end = Math.max(end, cursor + dur)
  }
  // back + ahead + 1 occurrences are joined; at MAX_STEPS or more the walk may have stopped short
  return { start, end, endless: back + ahead + 1 >= MAX_STEPS }
}

function spanOf(w: FreezeWindowConfig, s: { start: number; end: number }): FreezeSpan {
  return { source: w.name, start: s.start, end: s.end, reason: w.reason }
}

/** Every span of the configured windows that overlaps [from, to), sorted by start. */
export function spansBetween(windows: readonly FreezeWindowConfig[], from: number, to: number): FreezeSpan[] {
  const out: FreezeSpan[] = []
  for (const w of windows) {
    if (!isRecurring(w)) {
      const start = parseTime(w.start, w.zone)
      const end = parseTime(w.end, w.zone)
      if (start < to && end > from) out.push(spanOf(w, { start, end }))
      continue
    }
    const c = cronOf(w)
    // an occurrence up to one duration before `from` may still be open: search back by the duration
    let next = c.nextRun(new Date(from - w.duration))
    for (let i = 0; next && next.getTime() < to && i < 10_000; i++) {
      const s = mergedSpan(c, w.duration, next.getTime())
      if (s.end > from) out.push(spanOf(w, s))
      next = c.nextRun(new Date(s.end))
    }
  }
  return out.sort((a, b) => a.start - b.start || a.source.localeCompare(b.source))
}

/** The configured spans open at `now` (start inclusive, end exclusive). */
export function spansAt(windows: readonly FreezeWindowConfig[], now: number): FreezeSpan[] {
  return spansBetween(windows, now, now + 1).filter((s) => s.start <= now && now < s.end)
}

/** The first configured span that starts after `after` (null when none ever does). */
export function nextSpan(windows: readonly FreezeWindowConfig[], after: number): FreezeSpan | null {
  let best: FreezeSpan | null = null
  for (const w of windows) {
    let cand: FreezeSpan | null = null
    if (!isRecurring(w)) {
      const start = parseTime(w.start, w.zone)
      if (start > after) cand = spanOf(w, { start, end: parseTime(w.end, w.zone) })
    } else {
      const c = cronOf(w)
      let run = c.nextRun(new Date(after))
      for (let i = 0; run && i < 100; i++) {
        const s = mergedSpan(c, w.duration, run.getTime())
        if (s.start > after) {
          cand = spanOf(w, s)
          break
        }
        run = c.nextRun(new Date(s.end))
      }
    }
    if (cand && (!best || cand.start < best.start)) best = cand
  }
  return best
}

/** `2026-11-29 14:40 CET` — a time as people at the site read it. */
export function formatInZone(ms: number, zone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'short',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  )
  const secs = parts.second === '00' ? '' : `:${parts.second}`
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}${secs} ${parts.timeZoneName} (${zone})`
}
