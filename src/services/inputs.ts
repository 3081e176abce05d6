// What people type for times and durations, the same in the CLI's flags and the web UI's forms.
import ms from 'ms'
import { PeakguardError } from '../errors.ts'
import { parseTime } from './freeze-calendar.ts'

/** A duration as people write it (10m, 2h, 1d); USAGE naming the field otherwise. */
export function parseDuration(text: string, flag: string): number {
  const v = (ms as (s: string) => number | undefined)(text.trim())
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new PeakguardError('USAGE', `${flag} ${JSON.stringify(text)} is not a duration: write e.g. 30m, 2h or 1d`)
  return v
}

/**
 * An ISO time, or a duration meaning that long ago ("2h" = two hours ago; a number needs its unit). An ISO
 * time with an offset is that instant; without one it is wall-clock time in `zone` (the site's, as
 * `freeze start --until` reads it), and a date alone is its midnight there.
 */
export function parseWhen(text: string, flag: string, now: number, zone: string): number {
  const t = text.trim()
  if (/^\d+(\.\d+)?\s*[a-z]+$/i.test(t)) {
    const d = (ms as (s: string) => number | undefined)(t)
    if (typeof d === 'number' && Number.isFinite(d)) return now - d
  }
  try {
    return parseTime(t, zone)
  } catch {
    throw new PeakguardError('USAGE', `${flag} ${JSON.stringify(text)}: give an ISO time (2026-06-01T12:00Z, or 2026-06-01T14:00 in ${zone}) or a duration ago (30m, 2h, 7d)`)
  }
}
