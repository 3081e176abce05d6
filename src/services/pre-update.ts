// The snapshot WordPress asks for before its upgrader writes a package (the bridge's upgrader_pre_download, over
// the daemon's loopback listener): the live state just before an update is always a state of its own in the
// journal — the daemon's pending changes included, never coalesced with the update that follows. It runs in the
// daemon's per-site queue, as the daemon's own snapshots do, and is attributed, audited, gated and replicated
// like them.
import type { LogPort, MetricsPort, StateDiff } from '../core/index.ts'
import type { SiteRecording } from './site-daemon.ts'
import { snapshot } from './writer.ts'

/** What the upgrader is about to write, as the bridge names it (checked and bounded by the HTTP layer). */
export interface PreUpdateWhat {
  type: 'plugin' | 'theme' | 'core' | 'translation' | 'other'
  action: 'update' | 'install'
  /** the plugin's main file (hello/hello.php) of a plugin update */
  plugin?: string
  /** the theme's folder of a theme update */
  theme?: string
  /** the package's file name (hello-2.0.zip), from a URL or a local path */
  package?: string
  /** the version installed now, and the one the update brings when WordPress knows it */
  from?: string
  to?: string
  /** a translation's locale and text domain */
  language?: string
  slug?: string
}

/** How far back WordPress events may explain the pending changes when the daemon has taken no snapshot yet. */
const EVENTS_BACK_MS = 10 * 60 * 1000

const versions = (w: PreUpdateWhat) => (w.from ? ` ${w.from}` : '') + (w.to ? ` → ${w.to}` : '')

/**
 * The snapshot's message, naming the upgrade: "before plugin update hello/hello.php 1.0 → 1.1", "before core
 * update 6.1.9", "before installing a plugin from hello-2.0.zip", "before translation update de_DE (akismet)".
 */
export function preUpdateMessage(w: PreUpdateWhat): string {
  const kind = w.type === 'other' ? 'package' : w.type
  if (w.action === 'install') {
    const named = w.plugin ?? w.theme
    return `before installing a ${kind}${named ? ` ${named}` : ''}${w.package ? ` from ${w.package}` : ''}${w.to ? ` ${w.to}` : ''}`
  }
  if (w.type === 'translation') return `before translation update${w.language ? ` ${w.language}` : ''}${w.slug ? ` (${w.slug})` : ''}${w.to ? ` ${w.to}` : ''}`
  const named = w.plugin ?? w.theme ?? (w.type === 'other' ? w.package : undefined)
  return `before ${kind} update${named ? ` ${named}` : ''}${versions(w)}`
}

/**
 * Takes the pre-update snapshot of `recording`'s site: a full reading under the site's lock, in the daemon's
 * queue (after a snapshot in progress, before the next), then what the daemon does after its own snapshots.
 * `created` is false when the newest snapshot already holds the live state: that one is the state before.
 */
export function preUpdateSnapshot(
  recording: SiteRecording,
  d: { metrics: MetricsPort | null; log: LogPort },
  what: PreUpdateWhat,
): Promise<{ snapshot: string; created: boolean; message: string }> {
  const message = preUpdateMessage(what)
  return recording.exclusive(async () => {
    const gov = recording.governance
    // the pending changes this snapshot records happened after the daemon's last snapshot
    const last = recording.status().lastSnapshot
    const since = last ? Date.parse(last.at) : Date.now() - EVENTS_BACK_MS
    const started = performance.now()
    const r = await snapshot(recording.site, {
      trigger: 'pre-update',
      message,
      whenDbDown: 'carry',
      describe: gov ? (d: StateDiff) => gov.describe(d, since) : undefined,
    })
    const seconds = (performance.now() - started) / 1000
    d.metrics?.snapshot(recording.site.id, seconds, r.created, 'pre-update')
    // as the daemon's own snapshots are logged; 'created: false': the newest snapshot is the state before
    d.log.info({ site: recording.site.id, state: r.id, trigger: 'pre-update', created: r.created, message, ...(r.words?.length ? { words: r.words } : {}), ms: Math.round(seconds * 1000) }, 'pre-update snapshot')
    await gov?.afterRecord(r, 'pre-update')
    if (r.created) recording.afterSnapshot?.()
    return { snapshot: r.id, created: r.created, message }
  })
}
