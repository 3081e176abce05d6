// The rules of change requests: what a change touches (its items), which of them an allow-window
// covers, and the two-person rule. Pure functions over plain values.
import { PeakguardError } from '../errors.ts'
import { changesBetween, filterDiff, isEmptyDiff, type StateDiff } from './diff.ts'
import type { SiteState } from './state.ts'
import type { Actor, AllowWindow, ChangeRequest } from './governance.ts'
import { unitOf } from './scope.ts'

export interface ChangeItems {
  /** theme/plugin units (plugins/x, themes/y, a single-file plugin, a drop-in) */
  paths: string[]
  /** option names */
  options: string[]
}

/** What a change touches, at the granularity a revert and an allow-window work with. */
export function changeItems(d: StateDiff): ChangeItems {
  const paths = new Set<string>()
  for (const f of d.files) paths.add(unitOf(f.path) ?? f.path)
  for (const l of d.links) paths.add(unitOf(l.path) ?? l.path)
  return { paths: [...paths].sort(), options: [...new Set(d.options.map((o) => o.name))].sort() }
}

export function isEmptyItems(i: ChangeItems): boolean {
  return i.paths.length === 0 && i.options.length === 0
}

/** Items in `a` but not in `b`. */
export function minusItems(a: ChangeItems, b: ChangeItems): ChangeItems {
  return { paths: a.paths.filter((p) => !b.paths.includes(p)), options: a.options.filter((o) => !b.options.includes(o)) }
}

/** Whether two states agree on these items (files below the units, option rows by name). */
export function sameItems(a: SiteState, b: SiteState, items: ChangeItems): boolean {
  return isEmptyDiff(filterDiff(changesBetween(a, b), { paths: items.paths, options: items.options }))
}

/**
 * The items no allow-window covers at `now`, and the windows that covered the others. `covers` decides
 * one item (see allowCovers in freeze.ts).
 */
export function uncovered(
  items: ChangeItems,
  covers: (item: { path: string } | { option: string }) => AllowWindow | null,
): { rest: ChangeItems; coveredBy: AllowWindow[] } {
  const by = new Map<string, AllowWindow>()
  const rest: ChangeItems = { paths: [], options: [] }
  for (const p of items.paths) {
    const w = covers({ path: p })
    if (w) by.set(w.id, w)
    else rest.paths.push(p)
  }
  for (const o of items.options) {
    const w = covers({ option: o })
    if (w) by.set(w.id, w)
    else rest.options.push(o)
  }
  return { rest, coveredBy: [...by.values()] }
}

/**
 * The two-person rule: whoever decides a request is neither who requested it nor who made the change
 * (as attribution found it: a WordPress login, a file owner). Names compare case-insensitively; the OS
 * users mapped to the actor in the users file count as the actor, and so does the OS user of an
 * unmanaged install (no users: the OS user is all the identity there is). The OS user a proved user
 * happens to run the CLI as does not: night shifts share root shells. An admin may break glass, with a
 * reason.
 */
export function assertMayDecide(actor: Actor, r: ChangeRequest, breakGlass: { reason: string } | null): void {
  const names = [actor.name, ...(actor.aliases ?? []), actor.via === 'unmanaged' ? (actor.osUser ?? '') : '']
  const me = new Set(names.filter(Boolean).map((n) => n.toLowerCase()))
  const mine = (names: string) => names.split(/,\s*/).some((n) => n && me.has(n.toLowerCase()))
  const made = mine(r.attribution.who ?? '')
  const asked = [r.requester, ...(r.askedBy ?? [])].find(mine)
  if (!made && !asked) return
  if (breakGlass) {
    if (actor.role !== 'admin') throw new PeakguardError('FORBIDDEN', `only an admin may break glass; ${actor.name} is ${actor.role}`)
    if (!breakGlass.reason.trim()) throw new PeakguardError('USAGE', 'break-glass needs --reason TEXT: it is audited and notified')
    return
  }
  throw new PeakguardError(
    'TWO_PERSON_RULE',
    `${actor.name} cannot decide change request ${r.id}: ${made ? `they made the change (${r.attribution.label})` : `they requested it (${asked})`}. ` +
      `Ask another approver, or — an admin, in an emergency — break glass with a reason (--break-glass --reason TEXT, or the break-glass form on the requests page)`,
  )
}
