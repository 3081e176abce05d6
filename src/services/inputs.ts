// What people type for times and durations, the same in the CLI's flags and the web UI's forms.
import ms from 'ms'
import { PeakguardError } from '../errors.ts'

/** A duration as people write it (10m, 2h, 1d); USAGE naming the field otherwise. */
export function parseDuration(text: string, flag: string): number {
  const v = (ms as (s: string) => number | undefined)(text.trim())
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new PeakguardError('USAGE', `${flag} ${JSON.stringify(text)} is not a duration: write e.g. 30m, 2h or 1d`)
  return v
}

/** An ISO time, or a duration meaning that long ago ("2h" = two hours ago). */
export function parseWhen(text: string, flag: string, now = Date.now()): number {
  const d = ms(text as ms.StringValue) as number | undefined
  if (typeof d === 'number' && Number.isFinite(d) && /^\d/.test(text.trim())) return now - d
  const t = Date.parse(text)
  if (Number.isNaN(t)) throw new PeakguardError('USAGE', `${flag} ${text}: give an ISO time (2025-06-01T12:00:00Z) or a duration ago (30m, 2h, 7d)`)
  return t
}
