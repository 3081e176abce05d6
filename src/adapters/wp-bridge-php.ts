// The WordPress bridge, the must-use plugin peakguard writes to wp-content/mu-plugins/peakguard-bridge.php.
// Its PHP is wp-bridge.php beside this module, a real file so that `php -l` and PHP linters see it; this
// module fills in its placeholders at install time. Generated with the bridge folder's absolute path baked in,
// so WordPress never needs peakguard's config. PHP 7.0 syntax (WordPress 6.1 runs on it); every file read
// is silenced and checked, so a missing or broken state file never prints into a page or stops one.
// During a freeze it refuses installs, updates, deletions, file edits, (de)activations and theme switches of
// every plugin and theme that no allow window names exactly (the unit is read from each request as WordPress
// reads it; a request whose unit cannot be named is refused), the customizer, changes to settings that are
// state unless their option's window is open, Site Editor saves (the REST routes, and wp_insert_post() and the
// deletions underneath, whoever calls them) unless an entity:… window covers the entity, and WooCommerce
// settings saves (REST, admin-ajax, and as the last line any $wpdb write to a settings table peakguard records,
// named in state.json) unless table:NAME is allowed; always it appends what changed (never an option's value,
// entities and tables by their peakguard name) to events.jsonl, copied to events.jsonl.1 and emptied past 64 MB; `?peakguard-bridge=flush` from loopback,
// with the shared secret and no forwarding header, flushes opcache and the object cache; `?peakguard-bridge=purge`
// (same guard) calls each active page-cache plugin's purge function once plugins are loaded and answers with
// JSON listing each and its outcome. Before the upgrader writes any package (upgrader_pre_download) it asks the
// daemon (its loopback listener from state.json, with the shared secret) for a `pre-update` snapshot and waits
// for it a bounded time, then lets the update go on whatever happened; at the end it records each upgrade with
// its versions (event `upgraded`). Every string from
// state.json is escaped on its way into a page (the freeze reason is an approver's free text), and request
// input is read only when it is a string (`action[]=x` must not print PHP warnings into pages).
import fs from 'node:fs'
import { PeakguardError } from '../errors.ts'

/** Bumped whenever the generated PHP changes; `peakguard wp bridge-status` compares it with the installed one. */
export const BRIDGE_VERSION = 7

export const BRIDGE_FILE = 'peakguard-bridge.php'

/** A PHP single-quoted string literal. */
function phpLit(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

/**
 * The placeholders of wp-bridge.php and what fills each: `_TEXT` ones stand in a comment (the text as it is),
 * the others in code (a PHP literal). Filled in one pass, so a path that happens to hold a placeholder's
 * name is written as it is.
 */
const FILL = /__PEAKGUARD_(?:SITE_TEXT|DIR_TEXT|VERSION|DIR|SITE|IGNORED_OPTIONS)__/g

/** wp-bridge.php is read beside this module: src/adapters when tests run the .ts, dist/adapters in the build. */
const TEMPLATE = new URL('./wp-bridge.php', import.meta.url)

let template: string | undefined

function bridgeTemplate(): string {
  try {
    template ??= fs.readFileSync(TEMPLATE, 'utf8')
  } catch (e) {
    throw new PeakguardError('BRIDGE_FAILED', `the bridge's source ${TEMPLATE.pathname} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): reinstall peakguard`, { cause: e })
  }
  return template
}

/**
 * The mu-plugin for one site: wp-bridge.php with its placeholders filled. `ignoredOptions` (the site's full
 * ignore list) is baked in as well, so that an unreadable state.json does not turn every transient write
 * into an event line.
 */
export function bridgePhp(o: { dir: string; site: string; ignoredOptions: readonly string[] }): string {
  if (/[\r\n]|\*\//.test(o.dir + o.site)) throw new Error('the bridge folder and site id must be single-line paths without "*/"')
  const fills: Record<string, string> = {
    __PEAKGUARD_SITE_TEXT__: o.site,
    __PEAKGUARD_DIR_TEXT__: o.dir,
    __PEAKGUARD_VERSION__: String(BRIDGE_VERSION),
    __PEAKGUARD_DIR__: phpLit(o.dir),
    __PEAKGUARD_SITE__: phpLit(o.site),
    __PEAKGUARD_IGNORED_OPTIONS__: o.ignoredOptions.map(phpLit).join(', '),
  }
  return bridgeTemplate().replace(FILL, (name) => fills[name] as string)
}
