// Reads the live site — files, settings rows within scope and the database schema — as a SiteState. Option
// values stay in the database until something needs their bytes (a snapshot storing a changed row, a diff
// showing one).
import { kindOfName, replaceUnits, stateOf, type OptionEntry, type SiteState } from '../core/index.ts'
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
  const rowsRead = started(readRows(site))
  const schemaRead = started(site.settings.schema())
  const scan = await site.files.scan()
  const { rows, sources } = await rowsRead
  const schema = await schemaRead
  const options: OptionEntry[] = rows.filter((row) => !ignored(site, row))
  return withSkipped({ ...stateOf(scan.files, scan.links, options, scan.dirs), sources, schema }, scan.skipped)
}

/** The settings rows and the tables they come from (read first: `read` checks the configured tables). */
async function readRows(site: Site): Promise<{ rows: OptionEntry[]; sources: ReadonlySet<string> }> {
  const rows = await site.settings.read()
  return { rows, sources: new Set(await site.settings.sources()) }
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
  const rowsRead = started(readRows(site))
  const schemaRead = started(site.settings.schema())
  const base = await site.journal.readState(head)
  const scan = await site.files.scan(units)
  const { rows, sources } = await rowsRead
  return replaceUnits(base, scan, units, rows.filter((row) => !ignored(site, row)), sources, await schemaRead)
}

/** Option ignore globs (`*.lock`, a site's own) are about options: they never hide an entity or a table row. */
function ignored(site: Site, row: OptionEntry): boolean {
  return kindOfName(row.name) === 'option' && site.ignore.option(row.name)
}
