// The snapshot WordPress asks for before its upgrader writes a package (the bridge's upgrader_pre_download, over
// the daemon's loopback listener): the live state just before an update is always a state of its own in the
// journal — the daemon's pending changes included, never coalesced with the update that follows. It runs in the
// daemon's per-site queue, as the daemon's own snapshots do, and is attributed, audited, gated and replicated
// like them.
import type { LogPort, MetricsPort, StateDiff } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
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

/**
 * A snapshot is started only with this much of the bridge's wait left: a full reading takes well under a second
 * (the bench's nothing-changed snapshot of a 30,000-file tree: 0.5 s), and one still running when the bridge gives
 * up would read the upgrader's files half-written under the name "before …".
 */
const MARGIN_MS = 3000

/** The margin for a wait: 3 s, or a third of a shorter wait (a 2 s wait still gets its snapshot of a small site). */
const marginOf = (waitMs: number) => Math.min(MARGIN_MS, waitMs / 3)

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
  d: { metrics: MetricsPort | null; log: LogPort; waitMs: number },
  what: PreUpdateWhat,
  req: { received: number; gone: () => boolean },
): Promise<{ snapshot: string; created: boolean; message: string }> {
  const message = preUpdateMessage(what)
  // an update is under way from now: the prober does not count WordPress's 503 against the state meanwhile
  recording.preUpdateAt = req.received
  // a request that arrives while another waits in the queue, not started, joins it: nothing of the site was
  // written between the two (each upgrader waits for its answer), so one reading is the state before both
  const queued = queuedOf.get(recording)
  if (queued) return queued.then((r) => ({ ...r, message }))
  // the bridge is answered once the snapshot is committed; what the daemon does after its snapshots (audit, the
  // freeze gate) follows in the queue, not on the upgrader's clock
  let answer: (r: { snapshot: string; created: boolean; message: string }) => void = () => undefined
  let committed = false
  const answered = new Promise<{ snapshot: string; created: boolean; message: string }>((r) => (answer = r))
  const p = recording.exclusive(async () => {
    if (queuedOf.get(recording) === q) queuedOf.delete(recording)
    const left = req.received + d.waitMs - marginOf(d.waitMs) - Date.now()
    // the bridge has gone on (or is about to): whatever is read now may be the update, half-written
    if (req.gone() || left <= 0) {
      d.log.warn({ site: recording.site.id, message }, 'pre-update snapshot not taken: the upgrader stopped waiting before it could start (bridge.preUpdateWait)')
      throw new PeakguardError('BUSY', `too late for a snapshot before the update: the site was busy for the whole of bridge.preUpdateWait (${d.waitMs / 1000} s)`)
    }
    const gov = recording.governance
    // the pending changes this snapshot records happened after the daemon's last snapshot
    const last = recording.status().lastSnapshot
    const since = last ? Date.parse(last.at) : Date.now() - EVENTS_BACK_MS
    const started = performance.now()
    // the site's lock for no longer than the wait left: a CLI restore holding it is no reason to read later
    const r = await snapshot({ ...recording.site, lockWaitMs: Math.min(recording.site.lockWaitMs, left) }, {
      trigger: 'pre-update',
      message,
      whenDbDown: 'carry',
      describe: gov ? (d: StateDiff) => gov.describe(d, since) : undefined,
    })
    const seconds = (performance.now() - started) / 1000
    d.metrics?.snapshot(recording.site.id, seconds, r.created, 'pre-update')
    // as the daemon's own snapshots are logged; 'created: false': the newest snapshot is the state before
    d.log.info({ site: recording.site.id, state: r.id, trigger: 'pre-update', created: r.created, message, ...(r.words?.length ? { words: r.words } : {}), ms: Math.round(seconds * 1000) }, 'pre-update snapshot')
    committed = true
    answer({ snapshot: r.id, created: r.created, message })
    await gov?.afterRecord(r, 'pre-update')
    if (r.created) recording.afterSnapshot?.()
    return { snapshot: r.id, created: r.created, message }
  })
  // the answer once committed, or the job's failure if it failed before that
  const q = Promise.race([answered, p])
  queuedOf.set(recording, q)
  // a failed job is the answer to whoever joined it; the next request starts afresh. A failure after the answer
  // (the audit log, the gate) is the daemon's to log, as for its own snapshots
  p.catch((e: Error) => {
    if (committed) d.log.error({ site: recording.site.id, message }, `after the pre-update snapshot: ${e.message}`)
  }).finally(() => {
    if (queuedOf.get(recording) === q) queuedOf.delete(recording)
  })
  return q
}

/** Per site, the pre-update snapshot waiting in the queue and not yet started. */
const queuedOf = new WeakMap<SiteRecording, Promise<{ snapshot: string; created: boolean; message: string }>>()
