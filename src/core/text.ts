// Free text people type — reasons, notes, messages — as peakguard stores and shows it: one line of
// printable characters. A newline would forge a line in `peakguard audit` and in git trailers, an escape
// sequence would reach the next operator's terminal through `freeze status`, a bidi override would make a
// reason read backwards: refused at the input boundary, naming the field, before anything is written.
import { PeakguardError } from '../errors.ts'

/** C0 controls (tab and newline included), DEL, C1 controls, and the Unicode bidi overrides and isolates. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u

/** The longest free text kept (a reason is read at 3 a.m., not an essay). */
export const TEXT_MAX = 1000

/**
 * `text` trimmed, or USAGE naming `field` when it holds a control character, is longer than `max`
 * characters, or — with `required` — is empty.
 */
export function cleanText(text: unknown, field: string, o: { required?: boolean; max?: number; why?: string } = {}): string {
  if (text !== undefined && text !== null && typeof text !== 'string') throw new PeakguardError('USAGE', `${field}: give text, not ${Array.isArray(text) ? 'a list' : typeof text}`)
  const t = (text ?? '').trim()
  const max = o.max ?? TEXT_MAX
  if (UNPRINTABLE.test(t)) {
    const c = UNPRINTABLE.exec(t)![0].codePointAt(0)!
    throw new PeakguardError('USAGE', `${field} holds a control character (U+${c.toString(16).toUpperCase().padStart(4, '0')}): write it on one line, printable characters only`)
  }
  if ([...t].length > max) throw new PeakguardError('USAGE', `${field} is longer than ${max} characters`)
  if (o.required && !t) throw new PeakguardError('USAGE', o.why ?? `${field} is empty`)
  return t
}
