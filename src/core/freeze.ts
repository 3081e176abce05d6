// The rules of freezes that need no clock or calendar: what an allow-window's scope may name and what it
// covers, which of several active freezes governs, and how long finished allow-windows are kept. The
// calendar (cron, time zones, DST) lives in services/freeze-calendar.ts; the stored state in
// services/freeze.ts.
import { PeakguardError } from '../errors.ts'
import type { AllowWindow, FreezeSpan } from './governance.ts'
import { assertSafePath, DROP_INS, globToRegExp, SCOPE_DIRS } from './scope.ts'
import { canonicalSelector, checkRecordSelector, isRecordName, parseEntityName } from './records.ts'

/** What an allow-window's scope names: a unit below wp-content (as change items name them) or option names. */
export type AllowScope = { kind: 'path'; path: string } | { kind: 'option'; pattern: string }

const SCOPE_HELP =
  'write plugins/NAME, themes/NAME, mu-plugins/NAME, a drop-in file (e.g. object-cache.php), option:NAME (a * glob is allowed), theme:NAME, entity:TYPE/THEME/SLUG or table:NAME'

/**
 * Reads an allow-window's scope. A path scope names exactly one unit — a plugin or theme directory, a
 * single-file plugin, a mu-plugin, a drop-in — never a whole directory such as `plugins`: a pre-approval
 * is meant to be narrow. `theme:NAME` is `themes/NAME`. `wp-content/` in front and `/` behind are dropped.
 */
export function parseAllowScope(raw: string): AllowScope {
  const bad = (why: string): never => {
    throw new PeakguardError('USAGE', `--scope ${JSON.stringify(raw)}: ${why}; ${SCOPE_HELP}`)
  }
  const text = raw.trim()
  if (!text) bad('empty scope')
  if (text.startsWith('entity:') || text.startsWith('table:')) {
    // one Site Editor entity (a * glob in its slug is allowed), or a whole settings table
    if (text.length > 400 || /\s/.test(text)) bad('an entity or table scope is one name without spaces')
    if (text.startsWith('table:')) {
      if (text.includes('*')) bad('name one settings table: table:NAME (every row of it)')
      try {
        checkRecordSelector(text)
      } catch (e) {
        bad(e instanceof PeakguardError ? e.message : String(e))
      }
      return { kind: 'option', pattern: text.includes('#') ? canonicalSelector(text) : `${text}#*` }
    }
    if (!parseEntityName(text.replaceAll('*', 'x'))) bad('name an entity as entity:TYPE/THEME/SLUG (e.g. entity:wp_template_part/twentytwentythree/header)')
    if (text.includes('*') && !/^entity:[^/*]+\/[^/*]*\/[^*]{3,}/.test(text)) bad('an entity glob keeps its type, theme and 3 literal characters of the slug before its first *')
    return { kind: 'option', pattern: canonicalSelector(text) }
  }
  if (text.startsWith('option:')) {
    const pattern = text.slice('option:'.length)
    // WordPress option names are at most 191 characters and never hold whitespace in practice
    if (!pattern || pattern.length > 191 || /\s/.test(pattern)) bad('give an option name after option:')
    if (/^\*+$/.test(pattern)) bad('option:* would allow every setting, which is no longer a freeze')
    // a glob keeps a literal prefix of 3+ characters (woocommerce_*): 'a*' would open most settings
    if (pattern.includes('*') && !/^[^*]{3,}/.test(pattern)) bad('a glob needs at least 3 literal characters before its first * (e.g. option:woocommerce_*)')
    return { kind: 'option', pattern }
  }
  let p = text
  if (p.startsWith('theme:')) {
    const name = p.slice('theme:'.length)
    if (!name || name.includes('/')) bad('give a theme directory name after theme:')
    p = `themes/${name}`
  }
  p = p.replace(/^\.\//, '').replace(/^wp-content\//, '').replace(/\/+$/, '')
  if (/[*?]/.test(p)) bad('globs are allowed in option names only')
  if ((SCOPE_DIRS as readonly string[]).includes(p)) bad(`${p} as a whole is too broad for a pre-approval: name one unit in it`)
  try {
    assertSafePath(p)
  } catch (e) {
    bad(e instanceof PeakguardError ? e.message.replace(/^refusing journal entry "[^"]*": /, '') : String(e))
  }
  const parts = p.split('/')
  if (parts.length === 1 && !(DROP_INS as readonly string[]).includes(p)) bad('not a drop-in file')
  if (parts.length > 2) bad(`name the whole unit ${parts[0]}/${parts[1]}, not a file inside it`)
  return { kind: 'path', path: p }
}

/** The canonical text of a scope (`theme:x` → `themes/x`, `wp-content/plugins/y/` → `plugins/y`). */
export function normalizeAllowScope(raw: string): string {
  const s = parseAllowScope(raw)
  if (s.kind === 'path') return s.path
  if (s.pattern.startsWith('table:')) return s.pattern.replace(/#\*$/, '')
  return s.pattern.startsWith('entity:') ? s.pattern : `option:${s.pattern}`
}

/** Does one scope cover one item? A path item is a unit or a file path; an option item is an option name. */
export function scopeCovers(scope: AllowScope, item: { path: string } | { option: string }): boolean {
  if ('path' in item) {
    if (scope.kind !== 'path') return false
    return item.path === scope.path || item.path.startsWith(`${scope.path}/`)
  }
  if (scope.kind !== 'option') return false
  // an option glob never reaches an entity or a table row (option:tab* is no table:), nor they an option
  if (isRecordName(item.option) !== isRecordName(scope.pattern)) return false
  // an entity scope covers the other posts of its key too (`…#<post id>`), as --only does
  if (scope.pattern.startsWith('entity:') && !scope.pattern.includes('#')) return globToRegExp(scope.pattern).test(item.option.replace(/#\d+$/, ''))
  // multisite sitemeta rows are named `site_id:meta_key`: the scope names the key (as ignore rules do)
  const key = /^\d+:/.test(item.option) ? item.option.slice(item.option.indexOf(':') + 1) : item.option
  return globToRegExp(scope.pattern).test(key)
}

/** Is the window open at `now`? Start inclusive, end exclusive, like every span here. */
export function spanOpen(w: { start: number; end: number }, now: number): boolean {
  return w.start <= now && now < w.end
}

/**
 * The allow-window that covers `item` at `now`, or null. Of several, the one open longest (so the change
 * is attributed to the window that stays valid). A window whose stored scope no longer parses covers nothing.
 */
export function allowCovers(allows: readonly AllowWindow[], item: { path: string } | { option: string }, now: number): AllowWindow | null {
  let best: AllowWindow | null = null
  for (const w of allows) {
    if (!spanOpen(w, now)) continue
    let scope: AllowScope
    try {
      scope = parseAllowScope(w.scope)
    } catch {
      continue
    }
    if (scopeCovers(scope, item) && (!best || w.end > best.end)) best = w
  }
  return best
}

/** Allow-windows open at `now`. */
export function openAllows(allows: readonly AllowWindow[], now: number): AllowWindow[] {
  return allows.filter((w) => spanOpen(w, now))
}

/** How long a finished allow-window stays in the freeze document (status and attribution still show it). */
export const ALLOW_KEEP_MS = 24 * 3600_000

/** Drops allow-windows that ended more than ALLOW_KEEP_MS before `now`. */
export function pruneAllows(allows: readonly AllowWindow[], now: number): AllowWindow[] {
  return allows.filter((w) => w.end > now - ALLOW_KEEP_MS)
}

/**
 * The freeze that governs at `now` among several: of the active ones, the one ending last (its end is
 * when changes are free again); on a tie the earlier start, then the manual one. Null when none is active.
 */
export function governingSpan(spans: readonly FreezeSpan[], now: number): FreezeSpan | null {
  let best: FreezeSpan | null = null
  for (const s of spans) {
    if (!spanOpen(s, now)) continue
    if (!best || s.end > best.end || (s.end === best.end && (s.start < best.start || (s.start === best.start && s.source === 'manual')))) best = s
  }
  return best
}

/**
 * When changes are free again after `now`, and what holds the site frozen until then: the freezes open at
 * `now`, joined with every span that overlaps or touches them — a window that opens the moment another ends
 * keeps the site frozen — so `end` is the end of the whole chain, which can be later than any open span's
 * end. `after` are the spans not open yet that push the end further, by start. Null when none is open.
 * `spans` must hold every span that may start before the chain ends.
 */
export function freezeChain(spans: readonly FreezeSpan[], now: number): { end: number; open: FreezeSpan[]; after: FreezeSpan[] } | null {
  const open = spans.filter((s) => spanOpen(s, now))
  if (!open.length) return null
  let end = Math.max(...open.map((s) => s.end))
  const after: FreezeSpan[] = []
  for (;;) {
    // of the spans that start before the end and last beyond it, the earliest (then the longest) first
    let pick: FreezeSpan | null = null
    for (const s of spans)
      if (s.start <= end && s.end > end && (!pick || s.start < pick.start || (s.start === pick.start && s.end > pick.end))) pick = s
    if (!pick) return { end, open, after }
    after.push(pick)
    end = pick.end
  }
}
