// Whether going back to a state crosses a database migration: the live schema and migration markers
// against the target's. Read from the database alone (no file walk), so a restore can refuse before it
// records or writes anything, and automation can ask before it acts.
import { crosses, layoutCrossing, markerRule, stateOf, schemaChangeText, schemaTables, type LayoutCrossing, type MarkerRule, type SiteState } from '../core/index.ts'
import { readLiveSettings } from './live.ts'
import type { Site } from './site.ts'

const DEFAULT_MARKERS = markerRule()

export function markersOf(site: Site): MarkerRule {
  return site.markers ?? DEFAULT_MARKERS
}

/** The live schema and settings rows as a snapshot would hold them (no file walk). */
async function liveLayout(site: Site): Promise<Pick<SiteState, 'schema' | 'options' | 'sources'>> {
  const { options, sources, schema } = await readLiveSettings(site)
  return { options: stateOf([], [], options).options, sources, schema }
}

/** What stands between the live site and `target` (see core/schema.ts layoutCrossing). */
export async function crossingTo(site: Site, target: SiteState, live?: SiteState): Promise<LayoutCrossing> {
  return layoutCrossing(live ?? (await liveLayout(site)), target, markersOf(site))
}

/** The crossing in one sentence for errors, alerts and notifications: tables and marker names, never values. */
export function crossingText(c: LayoutCrossing): string {
  const parts: string[] = []
  if (c.schema.length) parts.push(`the database schema changed since that state (${c.schema.map(schemaChangeText).join('; ')})`)
  if (c.markers.length) parts.push(`migration markers differ (${c.markers.map((m) => m.name).join(', ')})`)
  if (!parts.length && c.unknown) parts.push('that state was recorded before peakguard kept the database schema, so it cannot tell whether the schema changed since')
  return parts.join(', and ')
}

/** The tables a crossing names (for audits and notifications). */
export function crossingTables(c: LayoutCrossing): string[] {
  return schemaTables(c.schema)
}

export { crosses }
