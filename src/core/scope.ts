// What is in a site's state and what is noise: the scope of files below wp-content, the default
// ignore list for settings, and the path rules that keep a restore inside wp-content.
import { PeakguardError } from '../errors.ts'
import { canonicalSelector, checkRecordSelector, isRecordName, recordSelects } from './records.ts'

/** Directories below wp-content whose whole content is state. */
export const SCOPE_DIRS = ['themes', 'plugins', 'mu-plugins'] as const

/** Drop-in files directly in wp-content; present ones only. */
export const DROP_INS = [
  'advanced-cache.php',
  'object-cache.php',
  'db.php',
  'db-error.php',
  'install.php',
  'maintenance.php',
  'php-error.php',
  'fatal-error-handler.php',
  'sunrise.php',
] as const

/** Rows that change on their own and are not state (a site's config adds to these). */
export const DEFAULT_IGNORED_OPTIONS = [
  '_transient_*',
  '_site_transient_*',
  'cron',
  'rewrite_rules',
  'recovery_keys',
  'recently_activated',
  '*.lock',
  'https_detection_errors',
  'jpsq_*',
  'updraft_jobdata_*',
  'action_scheduler_lock_*',
  'wc_*_lock',
] as const

/**
 * Files that are never state wherever they are (editor droppings, VCS metadata), and peakguard's own
 * WordPress bridge: installing it is no change, and a restore never removes it.
 */
export const DEFAULT_IGNORED_FILES = ['**/.git/**', '**/.DS_Store', '**/*.swp', '**/.~pg-*.tmp', 'mu-plugins/peakguard-bridge.php'] as const

/** Temporary files the restorer writes before renaming them into place. */
export const TEMP_PREFIX = '.~pg-'
export const TEMP_SUFFIX = '.tmp'

/**
 * A glob as a RegExp: `*` matches within one path segment, `**` across segments, `?` one character.
 * For option names (no '/'), `*` matches anything.
 */
export function globToRegExp(glob: string): RegExp {
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++
        if (glob[i + 1] === '/') {
          i++
          re += '(?:.*/)?'
        } else re += '.*'
      } else re += '[^/]*'
    } else if (c === '?') re += '[^/]'
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&')
  }
  return new RegExp(`^${re}$`, 's')
}

export interface IgnoreRules {
  option(name: string): boolean
  file(path: string): boolean
}

export function ignoreRules(options: readonly string[], files: readonly string[]): IgnoreRules {
  const optionRes = options.map(globToRegExp)
  const fileRes = files.map(globToRegExp)
  return {
    // sitemeta rows are named `site_id:meta_key`; the rules apply to the key
    option: (name) => {
      const key = /^\d+:/.test(name) ? name.slice(name.indexOf(':') + 1) : name
      return optionRes.some((r) => r.test(key))
    },
    file: (path) => fileRes.some((r) => r.test(path)),
  }
}

/**
 * The unit a file belongs to: a theme or plugin directory, a single-file plugin, a mu-plugin,
 * or the drop-ins. Restores can be limited to one, and per-file metadata is stored per unit so that
 * an unchanged plugin costs nothing.
 */
export function componentOf(path: string): string {
  const parts = path.split('/')
  if (parts.length === 1) return 'drop-ins'
  return `${parts[0]}/${parts[1]}`
}

/** Throws unless `path` is a clean relative path inside the scope (no '..', not absolute, no empty segment). */
export function assertSafePath(path: string): void {
  const bad = (why: string): never => {
    throw new PeakguardError('UNSAFE_PATH', `refusing journal entry ${JSON.stringify(path)}: ${why}`)
  }
  if (path.length === 0) bad('empty path')
  if (path.includes('\u0000')) bad('NUL byte in path')
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) bad('absolute path')
  // a backslash is an ordinary character in a POSIX name (paths are joined with '/' only): a theme may
  // ship one, and refusing it here made every state that recorded it unreadable
  const parts = path.split('/')
  if (parts.some((p) => p === '' || p === '.' || p === '..')) bad("'..', '.' or empty segment")
  if (parts.length === 1) {
    if (!(DROP_INS as readonly string[]).includes(path)) bad('not a drop-in file')
  } else if (!(SCOPE_DIRS as readonly string[]).includes(parts[0] as string)) {
    bad(`outside ${SCOPE_DIRS.join(', ')} and the drop-ins`)
  }
}

/**
 * `--only` selectors: a path prefix below wp-content (a plugin/theme dir or file), `option:NAME`, a Site
 * Editor entity `entity:TYPE/THEME/SLUG`, or settings-table rows `table:NAME` / `table:NAME#KEY`.
 */
export interface OnlyFilter {
  paths: string[]
  options: string[]
}

export function parseOnly(items: readonly string[]): OnlyFilter | null {
  if (items.length === 0) return null
  const filter: OnlyFilter = { paths: [], options: [] }
  for (const raw of items) {
    if (raw.startsWith('entity:') || raw.startsWith('table:')) {
      checkRecordSelector(raw)
      filter.options.push(canonicalSelector(raw))
      continue
    }
    if (raw.startsWith('option:')) {
      const name = raw.slice('option:'.length)
      if (!name) throw new PeakguardError('USAGE', `--only ${raw}: give an option name after 'option:'`)
      filter.options.push(name)
      continue
    }
    const p = raw.replace(/^\.?\/+/, '').replace(/^wp-content\//, '').replace(/\/+$/, '')
    if (!(SCOPE_DIRS as readonly string[]).includes(p)) assertSafePath(p)
    filter.paths.push(p)
  }
  return filter
}

export function onlyIncludesPath(only: OnlyFilter | null, path: string): boolean {
  if (!only) return true
  return only.paths.some((p) => path === p || path.startsWith(`${p}/`))
}

export function onlyIncludesOption(only: OnlyFilter | null, name: string): boolean {
  if (!only) return true
  // entity:… and table:NAME[#KEY] select their rows (table:NAME all of the table's); an option by exact name
  return only.options.some((sel) => sel === name || (isRecordName(sel) && recordSelects(sel, name)))
}

/**
 * The unit a changed path belongs to, for a scan of only what changed: a theme or plugin directory (or a
 * single-file plugin), a drop-in, or a whole scope directory (`plugins` itself replaced). Null for a path
 * outside the scope: such a change needs a full scan.
 */
export function unitOf(path: string): string | null {
  const parts = path.split('/')
  if (parts.length === 1) return (SCOPE_DIRS as readonly string[]).includes(path) || (DROP_INS as readonly string[]).includes(path) ? path : null
  if (!(SCOPE_DIRS as readonly string[]).includes(parts[0] as string) || parts.some((p) => p === '' || p === '..')) return null
  return `${parts[0]}/${parts[1]}`
}

/** Is `path` (a file or link path) inside one of `units`? */
export function inUnits(path: string, units: ReadonlySet<string>): boolean {
  if (units.has(path)) return true
  const parts = path.split('/')
  return parts.length > 1 && (units.has(parts[0] as string) || units.has(`${parts[0]}/${parts[1]}`))
}
