// Reads the live site — files, settings rows within scope and the database schema — as a SiteState. Option
// values stay in the database until something needs their bytes (a snapshot storing a changed row, a diff
// showing one).
import { kindOfName, replaceUnits, stateOf, type OptionEntry, type SchemaInfo, type SiteState } from '../core/index.ts'
import type { Site } from './site.ts'

/**
 * Starts `p` and keeps its failure for whoever awaits it later. A promise that rejects while nobody awaits it
 * yet (the settings query failing while the file walk runs on a worker) is an unhandled rejection, which
 * ends the process with a stack trace instead of the error the caller would have reported.
 */
function started<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined)
  return p
}

export async function readLive(site: Site): Promise<SiteState> {
  // start the queries first: the file walk is mostly synchronous, and the rows and the schema arrive meanwhile
  const settingsRead = started(readLiveSettings(site))
  const scan = await site.files.scan()
  const { options, sources, schema } = await settingsRead
  return withSkipped({ ...stateOf(scan.files, scan.links, options, scan.dirs), sources, schema }, scan.skipped)
}

/**
 * The settings part of the live state, from the database alone: the rows in scope (ignored options left out, as
 * a snapshot leaves them out), the tables they come from (read after the rows: `read` checks the configured
 * tables) and the schema.
 */
export async function readLiveSettings(site: Site): Promise<{ options: OptionEntry[]; sources: ReadonlySet<string>; schema: SchemaInfo }> {
  const schemaRead = started(site.settings.schema())
  const rows = await site.settings.read()
  const sources = new Set(await site.settings.sources())
  return { options: rows.filter((row) => !ignored(site, row)), sources, schema: await schemaRead }
}

function withSkipped(state: SiteState, skipped: string[]): SiteState {
  return skipped.length ? { ...state, skipped } : state
}

/** The files in scope only (the settings part empty): for recording code while the database is down. */
export async function readLiveFiles(site: Site): Promise<SiteState> {
  const scan = await site.files.scan()
  return withSkipped(stateOf(scan.files, scan.links, [], scan.dirs), scan.skipped)
}

/**
 * The live site read from what changed: the units the watcher reported, walked again; every other file
 * and link as the newest snapshot holds it; the settings rows read in full (a few ms). The daemon's
 * periodic full comparison catches anything the watcher did not report.
 */
export async function readLiveUnits(site: Site, units: ReadonlySet<string>): Promise<SiteState> {
  const head = await site.journal.head()
  if (!head) return readLive(site)
  const settingsRead = started(readLiveSettings(site))
  const base = await site.journal.readState(head)
  const scan = await site.files.scan(units)
  const { options, sources, schema } = await settingsRead
  return replaceUnits(base, scan, units, options, sources, schema)
}

/** Option ignore globs (`*.lock`, a site's own) are about options: they never hide an entity or a table row. */
function ignored(site: Site, row: OptionEntry): boolean {
  return kindOfName(row.name) === 'option' && site.ignore.option(row.name)
}
