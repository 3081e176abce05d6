// Free text people type — reasons, notes, messages — as peakguard stores and shows it: one line of
// printable characters. A newline would forge a line in `peakguard audit` and in git trailers, an escape
// sequence would reach the next operator's terminal through `freeze status`, a bidi override would make a
// reason read backwards: refused at the input boundary, naming the field, before anything is written.
// What was stored before that rule, and what comes by other routes (WordPress logins, paths, option names,
// error messages quoting them), is made visible on output instead (visible()): the CLI prints no raw
// control character, so a value can neither split a line nor drive the operator's terminal.
import { PeakguardError } from '../errors.ts'

/** C0 controls (tab and newline included), DEL, C1 controls, and the Unicode bidi overrides and isolates. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u

/** Every character of UNPRINTABLE, for visible(). */
const UNPRINTABLE_ALL = new RegExp(UNPRINTABLE.source, 'gu')

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/**
 * `text` with every character cleanText refuses shown as an escape a terminal does not interpret: newline,
 * carriage return and tab as `\n` `\r` `\t`, the other C0 controls, DEL and the C1 controls as `\xHH`,
 * the bidi overrides and isolates as `\uHHHH` — so the result is one line that reads as stored. With
 * `tab`, tabs stay (code in a diff). A backslash stays as it is (paths, PHP namespaces read as they are):
 * the --json output holds the exact text.
 */
export function visible(text: string, o: { tab?: boolean } = {}): string {
  return text.replace(UNPRINTABLE_ALL, (c) => {
    if (c === '\t' && o.tab) return c
    const code = c.codePointAt(0)!
    return NAMED[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`)
  })
}

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

/** How many hex digits of a state (commit) id people see: unique in any one journal, short enough to type. */
const SHORT_ID = 12

/** A state id as people see and type it (any unique prefix is accepted back). */
export function shortId(id: string): string
export function shortId(id: string | null | undefined): string | undefined
export function shortId(id: string | null | undefined): string | undefined {
  return id?.slice(0, SHORT_ID)
}
