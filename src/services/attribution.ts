// Attribution: who caused a change. The WordPress bridge reports what happened inside WordPress (user,
// IP, WP-CLI, cron), naming a Site Editor entity or a settings table the way peakguard names their rows; a
// change with no matching WordPress event was made outside it (SFTP, a deploy script, SQL), and for files
// the owner of the changed files is the best witness left. An upgrade names what WordPress's upgrader wrote,
// from which version to which (the bridge's `upgraded` events). The result goes into the snapshot's commit
// trailers, so `list`, `show` and the audit log all read the same answer.
import type { Attribution, StateDiff, UserNamesPort, WpEvent, WpEventsPort } from '../core/index.ts'
import { kindOfName, parseTableRowName, unitOf } from '../core/index.ts'

/** How far back from the end of the event file the daemon starts reading (a few thousand events). */
const START_BACK_BYTES = 2 * 1024 * 1024

/** How long events are kept for attribution: the longest a change can wait before it is recorded, and then some. */
const KEEP_MS = 10 * 60 * 1000

/** Which options an event that is not an option event touches. */
function optionsOf(e: WpEvent): string[] {
  switch (e.event) {
    case 'activated_plugin':
    case 'deactivated_plugin':
      return ['active_plugins', 'active_sitewide_plugins']
    case 'switch_theme':
      return ['template', 'stylesheet', 'current_theme']
    case 'customize_save_after':
      return ['*theme_mods_*']
    case 'updated_option':
    case 'added_option':
    case 'deleted_option':
      return [e.subject]
    default:
      return []
  }
}

/**
 * The units an upgrader run names ("plugin update a/a.php,b.php", "theme update twentytwentyone"): only those. A
 * translation or core run, or an upload that names nothing yet, explains no file (their own `upgraded` events do).
 */
function upgradedUnits(subject: string): string[] {
  const m = /^(plugin|theme) (?:update|install) (.+)$/.exec(subject)
  if (!m) return []
  return (m[2] as string)
    .split(',')
    .filter(Boolean)
    .map((n) => (m[1] === 'theme' ? `themes/${n.split('/')[0]}` : (unitOf(`plugins/${n}`) ?? `plugins/${n}`)))
}

/** Which wp-content units an event touches (a plugin's folder or single file, a theme). */
function unitsOf(e: WpEvent): string[] {
  switch (e.event) {
    case 'upgrader_process_complete':
      return upgradedUnits(e.subject)
    case 'deleted_plugin':
    case 'activated_plugin':
    case 'deactivated_plugin': {
      // subjects such as 'woocommerce/woocommerce.php', 'hello.php', 'plugin:akismet', 'theme:twentytwentythree'
      const s = e.subject.replace(/^(plugins?|themes?):/, '')
      if (/^themes?:/.test(e.subject)) return [`themes/${s.split('/')[0]}`]
      return s ? [unitOf(`plugins/${s}`) ?? `plugins/${s}`] : []
    }
    case 'switch_theme':
      return [`themes/${e.subject}`]
    default:
      return []
  }
}

/**
 * The changed settings rows an event about a Site Editor entity or a settings table can stand for: the entities
 * (each under its name without the `#<post id>` of a duplicate, which the bridge cannot know) and the tables
 * (table:NAME) among the changed names.
 */
interface RecordKeys {
  entities: Set<string>
  tables: Set<string>
}

function recordKeys(names: Iterable<string>): RecordKeys {
  const keys: RecordKeys = { entities: new Set(), tables: new Set() }
  for (const n of names) {
    const kind = kindOfName(n)
    if (kind === 'entity') keys.entities.add(n.replace(/#\d+$/, ''))
    else if (kind === 'row') {
      const r = parseTableRowName(n)
      if (r) keys.tables.add(`table:${r.table}`)
    }
  }
  return keys
}

/**
 * Whether an event of the bridge names a changed entity (entity_saved / entity_deleted with the entity's name)
 * or a table with changed rows (table_write with table:NAME: every row of it).
 */
function recordMatches(e: WpEvent, keys: RecordKeys): boolean {
  switch (e.event) {
    case 'entity_saved':
    case 'entity_deleted':
      return keys.entities.has(e.subject)
    case 'table_write':
      return keys.tables.has(e.subject)
    default:
      return false
  }
}

/**
 * An `upgraded` event of the bridge (WordPress's upgrader finished a package): "plugin FILE: OLD → NEW",
 * "theme SLUG: NEW installed", "core: OLD → NEW", "translation LOCALE TYPE SLUG: VERSION". The unit it wrote
 * (null for core and translations, which write outside the recorded folders) and what happened to it.
 */
export function upgradeOf(subject: string): { unit: string | null; what: string } | null {
  const m = /^(plugin|theme) (.+): ([^:]+)$/.exec(subject)
  if (m) {
    const name = m[2] as string
    const unit = m[1] === 'theme' ? `themes/${name.split('/')[0]}` : (unitOf(`plugins/${name}`) ?? `plugins/${name}`)
    return { unit, what: subject }
  }
  return /^(core|translation)\b/.test(subject) ? { unit: null, what: subject } : null
}

function matches(e: WpEvent, paths: Set<string>, options: Set<string>, records: RecordKeys): boolean {
  if (e.event === 'upgraded') {
    const u = upgradeOf(e.subject)
    // core and translations write outside the recorded folders: a core update is seen by its database version;
    // a translation leaves nothing peakguard records, so it explains no change (an SQL edit in the same window
    // must stay "outside WordPress")
    return !!u && (u.unit ? paths.has(u.unit) : u.what.startsWith('core') && options.has('db_version'))
  }
  if (unitsOf(e).some((u) => paths.has(u))) return true
  if (recordMatches(e, records)) return true
  return optionsOf(e).some((o) => (o.startsWith('*') ? [...options].some((n) => n.includes(o.replaceAll('*', ''))) : options.has(o)))
}

function label(kind: Attribution['kind'], e: WpEvent | null, owners: string[]): string {
  if (kind === 'wordpress' && e) return `wp:${e.user ?? '?'}${e.userId ? ` (#${e.userId})` : ''}${e.ip ? ` from ${e.ip}` : ''}`
  if (kind === 'wp-cli') return `wp-cli${e?.user ? ` as ${e.user}` : ''}`
  if (kind === 'cron') return 'wp-cron'
  if (kind === 'outside') return `file owner ${owners.join(', ')} (outside WordPress)`
  return 'outside WordPress (no WordPress event: SQL, a script or a database restore)'
}

function eventKind(e: WpEvent): Attribution['kind'] {
  return e.cli ? 'wp-cli' : e.cron ? 'cron' : e.user ? 'wordpress' : 'unknown'
}

/** Who is behind one WordPress event, as a snapshot's cause says it. */
function eventLabel(e: WpEvent): string {
  const kind = eventKind(e)
  return kind === 'unknown' ? `WordPress (no logged-in user${e.ip ? `, from ${e.ip}` : ''})` : label(kind, e, [])
}

/**
 * Who caused `diff`, from the WordPress events between `fromMs` and `toMs`, and the owners of the changed
 * files. The events that touch what changed win; among them the newest. The caller chooses `fromMs`: a
 * little before the first change was seen, never before the previous snapshot began (its events are its).
 */
export function attribute(diff: StateDiff, events: readonly WpEvent[], fromMs: number, toMs: number, names: UserNamesPort): Attribution {
  const paths = new Set<string>()
  const owners = new Set<string>()
  for (const f of diff.files) {
    paths.add(unitOf(f.path) ?? f.path)
    const entry = f.to ?? f.from
    if (entry) owners.add(names.userName(entry.uid))
  }
  for (const l of diff.links) paths.add(unitOf(l.path) ?? l.path)
  const options = new Set(diff.options.map((o) => o.name))
  const records = recordKeys(options)
  const hits = events.filter((e) => e.time * 1000 >= fromMs && e.time * 1000 <= toMs + 1000 && matches(e, paths, options, records))
  const e = hits.at(-1) ?? null
  if (e) {
    const kind = eventKind(e)
    return {
      kind,
      who: e.user,
      wpUserId: e.userId,
      ip: e.ip,
      // an upgrade names its own actor: the snapshot's cause may be a later request (the plugin's migration on the next page load)
      events: [...new Set(hits.map((h) => `${h.event} ${h.subject}${h.event === 'upgraded' ? ` (WordPress upgrader, ${eventLabel(h)})` : ''}`))].slice(0, 10),
      label: eventLabel(e),
    }
  }
  if (owners.size > 0) return { kind: 'outside', who: [...owners].join(', '), label: label('outside', null, [...owners].sort()) }
  return { kind: 'unknown', who: null, label: label('unknown', null, []) }
}

/** The commit trailers that carry an attribution. */
export function attributionTrailers(a: Attribution): Record<string, string> {
  return {
    'Peakguard-Caused-By': a.label,
    'Peakguard-Caused-By-Kind': a.kind,
    ...(a.who ? { 'Peakguard-Caused-By-Who': a.who } : {}),
    ...(a.ip ? { 'Peakguard-Caused-By-IP': a.ip } : {}),
    ...(a.events?.length ? { 'Peakguard-Events': a.events.join('; ') } : {}),
    ...upgradeTrailer(a),
  }
}

/**
 * What WordPress's upgrader did in this snapshot, from which version to which, and by whom: "plugin
 * hello-migrate/hello-migrate.php: 1.0 → 2.0 (WordPress upgrader, wp:admin (#1) from 127.0.0.1)". The words say
 * the same from the plugin headers when the files are in the snapshot; this is the upgrader's own account, and
 * the only one for core and translations, whose files are not.
 */
function upgradeTrailer(a: Attribution): Record<string, string> {
  const ups = (a.events ?? []).filter((e) => e.startsWith('upgraded ')).map((e) => e.slice('upgraded '.length))
  return ups.length ? { 'Peakguard-Upgrade': ups.join('; ') } : {}
}

/** The attribution a snapshot's trailers hold, or null for a snapshot from before attribution. */
export function attributionFromTrailers(t: Record<string, string>): Attribution | null {
  const label = t['Peakguard-Caused-By']
  if (!label) return null
  return {
    kind: (t['Peakguard-Caused-By-Kind'] ?? 'unknown') as Attribution['kind'],
    who: t['Peakguard-Caused-By-Who'] ?? null,
    ip: t['Peakguard-Caused-By-IP'] ?? null,
    events: t['Peakguard-Events'] ? t['Peakguard-Events'].split('; ') : [],
    label,
  }
}

/**
 * The daemon's memory of recent WordPress events: it tails the bridge's event file and keeps the last
 * minutes, enough to attribute the changes still waiting for their snapshot.
 */
export class RecentEvents {
  private readonly source: WpEventsPort
  private offset = 0
  private events: WpEvent[] = []
  private primed = false

  constructor(source: WpEventsPort) {
    this.source = source
  }

  /**
   * Reads what was appended since the last call. The first call starts near the end: only the last minutes
   * count, and a long history would hold the daemon up (a line cut at the start is skipped).
   */
  async refresh(now = Date.now()): Promise<void> {
    if (!this.primed && this.source.end) this.offset = Math.max(0, (await this.source.end()) - START_BACK_BYTES)
    const r = await this.source.read(this.offset)
    this.offset = r.offset
    const cutoff = now - KEEP_MS
    this.events = [...this.events, ...r.events].filter((e) => e.time * 1000 >= cutoff)
    this.primed = true
  }

  all(): readonly WpEvent[] {
    return this.events
  }
}
