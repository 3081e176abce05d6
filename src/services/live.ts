// Reads the live site — files and settings rows within scope — as a SiteState, keeping the option
// values so a snapshot can store them without a second query.
import { optionKey, stateOf, type OptionEntry, type SiteState } from '../core/index.ts'
import type { Site } from './site.ts'

export interface LiveSite {
  state: SiteState
  /** exact bytes of every in-scope option, by optionKey */
  values: Map<string, Uint8Array>
}

export async function readLive(site: Site): Promise<LiveSite> {
  // start the query first: the file walk is mostly synchronous, and the rows arrive meanwhile
  const rowsRead = site.settings.read()
  const scan = await site.files.scan().catch(async (e: unknown) => {
    await rowsRead.catch(() => undefined)
    throw e
  })
  const rows = await rowsRead
  const values = new Map<string, Uint8Array>()
  const options: OptionEntry[] = []
  for (const row of rows) {
    if (site.ignore.option(row.name)) continue
    options.push({ table: row.table, name: row.name, blob: row.blob, autoload: row.autoload })
    values.set(optionKey(row.table, row.name), row.value)
  }
  return { state: stateOf(scan.files, scan.links, options), values }
}
