// PagerDuty notifications (NotifyPort) through the Events API v2: the events that should wake someone
// open an incident, repeats land in the same incident (one dedup key per site and incident), recovery
// resolves it. notify() only queues and returns: each integration has its own DeliveryQueue (bounded, one
// sender, retries with backoff and jitter; see delivery-queue.ts). The routing key is a credential: it
// never reaches a log line or an error. Which incidents are open survives a daemon restart in a small
// JSON file of the site's data dir, so the recovery after a restart still resolves the incident.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { LogPort, MetricsPort, NotifyPort } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { writeFileDurably } from './durable-file.ts'
import { closeQueues, DeliveryQueue, oneLine, postJson, redactAll, resolveTuning, type DeliveryStats, type DeliveryTuning, type QueuedItem } from './delivery-queue.ts'

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue'

export interface PagerDutyTarget {
  /** the environment variable holding the integration's routing key (one of these two is set) */
  routingKeyEnv: string | null
  routingKey: string | null
  /** the Events API v2 enqueue URL */
  url: string
  /** the events sent there; empty: all */
  events: readonly string[]
  severity: 'critical' | 'error' | 'warning' | 'info'
  /** milliseconds one request may take */
  timeout: number
}

export interface PagerDutyOptions {
  /** the UI page a responder opens for an event (null: no link) */
  link?: (site: string, event: string) => string | null
  /** `payload.source`; default this machine's name */
  host?: string
  /** the JSON file that keeps the open incidents across restarts; null: kept in memory only */
  stateFile?: string | null
  /** where routingKeyEnv is looked up */
  env?: NodeJS.ProcessEnv
  /**
   * fail: a routing key variable that is not set throws at construction (the daemon refuses to start);
   * skip: that integration fails each notification it is given, with a log line naming the variable (a
   * CLI command run from a shell without the daemon's environment must not fail for it)
   */
  missingSecret?: 'fail' | 'skip'
  tuning?: DeliveryTuning
  metrics?: Pick<MetricsPort, 'notification'> | null
}

type Notification = Parameters<NotifyPort['notify']>[0]

/** The incidents that open and resolve: health (probes, automatic rollbacks) and replication lag. */
type IncidentKind = 'health' | 'replication'

interface OpenIncident {
  key: string
  /** epoch ms: part of the key, so tonight's incident is not last week's (whose resolve may have been lost) */
  openedAt: number
}

type Book = Record<IncidentKind, OpenIncident | null>

/** What one notification does in PagerDuty. */
interface Step {
  action: 'trigger' | 'resolve'
  key: string
}

interface Item extends QueuedItem {
  /** the event document without the routing key: it is added at the last moment, so no queued copy holds it */
  doc: Record<string, unknown>
}

/** PagerDuty's limit on `payload.summary`. */
const SUMMARY_MAX = 1024
/** custom_details beyond this (as JSON) is cut: PagerDuty refuses events over 512 kB, and nobody reads that much at night */
const DETAILS_MAX = 16_000
/** PagerDuty's limit on dedup_key */
const KEY_MAX = 255
const STATE_VERSION = 1

/** The PagerDuty integrations of one site, sharing one book of open incidents. */
export class PagerDutyNotifier implements NotifyPort {
  private readonly site: string
  private readonly log: LogPort
  private readonly host: string
  private readonly link: (site: string, event: string) => string | null
  private readonly stateFile: string | null
  private readonly dests: { target: PagerDutyTarget; queue: DeliveryQueue<Item> }[]
  private book: Book = { health: null, replication: null }
  private saving: Promise<void> = Promise.resolve()
  private saveFailed = false
  private lastOpenedAt = 0
  private closed = false

  constructor(site: string, targets: readonly PagerDutyTarget[], log: LogPort, o: PagerDutyOptions = {}) {
    this.site = site
    this.log = log
    this.host = oneLine(o.host ?? os.hostname(), 255) || 'peakguard'
    this.link = o.link ?? (() => null)
    this.stateFile = targets.length ? (o.stateFile ?? null) : null
    const env = o.env ?? process.env
    const tuning = resolveTuning(o.tuning)
    this.dests = targets.map((target, i) => {
      const url = new URL(target.url)
      const found = routingKey(site, i, target, env)
      if (typeof found !== 'string' && (o.missingSecret ?? 'fail') === 'fail') throw new PeakguardError('CONFIG_INVALID', found.problem)
      const key = typeof found === 'string' ? found : null
      const problem = typeof found === 'string' ? '' : found.problem
      // the routing key and anything a proxy URL may carry (query, credentials): never in a log line
      const secrets = [key, url.search, url.username, url.password]
      const queue = new DeliveryQueue<Item>({
        site,
        kind: 'pagerduty',
        label: `#${i + 1} ${url.host}`,
        tuning,
        log,
        metrics: o.metrics ?? null,
        attempt: async (item, signal) => {
          if (key === null) return { ok: false, retry: false, reason: problem }
          // PagerDuty answers 202; 400 (an invalid event) is not retried, 429 and 5xx are
          return postJson(url, JSON.stringify({ routing_key: key, ...item.doc }), { timeoutMs: target.timeout, signal })
        },
        scrub: (text) => redactAll(text, secrets),
      })
      return { target, queue }
    })
    if (this.stateFile) this.book = this.load(this.stateFile)
    this.lastOpenedAt = Math.max(this.book.health?.openedAt ?? 0, this.book.replication?.openedAt ?? 0)
  }

  notify(n: Notification): void {
    try {
      if (this.closed || !this.dests.length) return
      const wants = (d: (typeof this.dests)[number]) => !d.target.events.length || d.target.events.includes(n.event)
      const resolving = n.event === 'health-recovered' || n.event === 'replication-lag-cleared'
      // the book of open incidents changes only for what some destination gets, or for a recovery
      if (!resolving && !this.dests.some(wants)) return
      const step = this.step(n)
      if (!step) return
      const site = n.site ?? this.site
      // a resolve goes to every destination: one that did not ask for recoveries may hold the incident open
      const wanted = step.action === 'resolve' ? this.dests : this.dests.filter(wants)
      for (const d of wanted) d.queue.push({ event: n.event, queuedAt: Date.now(), doc: this.document(n, site, step, d.target) })
    } catch {
      // a notification is never worth an exception
    }
  }

  /** The dedup keys of the incidents this notifier holds open (for tests and status pages). */
  openIncidents(): { health: string | null; replication: string | null } {
    return { health: this.book.health?.key ?? null, replication: this.book.replication?.key ?? null }
  }

  deliveryStats(): DeliveryStats[] {
    return this.dests.map((d) => d.queue.stats())
  }

  /** For shutdown: see closeQueues; the book of open incidents is written before it resolves. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true
    await closeQueues(
      this.dests.map((d) => d.queue),
      timeoutMs,
    )
    await this.saving
  }

  /**
   * The incident rules. Health: health-failure opens the site's health incident (or adds to the open one);
   * an automatic rollback that failed or could not be done adds to it (or opens it: it needs a person);
   * so does one blocked because it would cross a database migration (auto-rollback-blocked);
   * one that succeeded is added to the open incident so the responder sees it, and is skipped when none is
   * open (the site was put right: nobody is woken for that); health-recovered resolves it. Replication:
   * replication-lag opens or adds, replication-lag-cleared resolves. Freeze violations of a site share one
   * incident that only a person resolves; so does any other event listed in `events`.
   */
  private step(n: Notification): Step | null {
    const ev = n.event
    if (ev === 'health-failure' || ev === 'auto-rollback-blocked' || (ev === 'auto-rollback' && n.details?.rolledBack !== true)) return { action: 'trigger', key: this.open('health') }
    if (ev === 'auto-rollback') return this.book.health ? { action: 'trigger', key: this.book.health.key } : null
    if (ev === 'health-recovered') return this.resolve('health')
    if (ev === 'replication-lag') return { action: 'trigger', key: this.open('replication') }
    if (ev === 'replication-lag-cleared') return this.resolve('replication')
    return { action: 'trigger', key: dedupKey(this.site, ev) }
  }

  private open(kind: IncidentKind): string {
    const current = this.book[kind]
    if (current) return current.key
    // never the time of an incident before: a failure right after a recovery is a new incident
    const openedAt = Math.max(Date.now(), this.lastOpenedAt + 1)
    this.lastOpenedAt = openedAt
    const key = dedupKey(this.site, `${kind}:${openedAt}`)
    this.book = { ...this.book, [kind]: { key, openedAt } }
    this.save()
    return key
  }

  private resolve(kind: IncidentKind): Step | null {
    const current = this.book[kind]
    // nothing open (or it was opened before a restart that lost the book): there is nothing to resolve
    if (!current) return null
    this.book = { ...this.book, [kind]: null }
    this.save()
    return { action: 'resolve', key: current.key }
  }

  private document(n: Notification, site: string, step: Step, target: PagerDutyTarget): Record<string, unknown> {
    if (step.action === 'resolve') return { event_action: 'resolve', dedup_key: step.key }
    const href = this.link(site, n.event)
    return {
      event_action: 'trigger',
      dedup_key: step.key,
      payload: {
        summary: oneLine(`${site}: ${n.summary}`, SUMMARY_MAX) || `${site}: ${n.event}`,
        source: this.host,
        severity: target.severity,
        component: site,
        group: 'peakguard',
        class: n.event,
        custom_details: boundedDetails(n.details ?? {}),
      },
      ...(href ? { links: [{ href, text: `peakguard: ${site}` }], client: 'peakguard', client_url: href } : { client: 'peakguard' }),
    }
  }

  /** The book from its file; a missing, unreadable or strange file is an empty book (and said so, unless missing). */
  private load(file: string): Book {
    let text: string
    try {
      text = fs.readFileSync(file, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ site: this.site, file, code: (e as NodeJS.ErrnoException).code }, `pagerduty: cannot read the open incidents from ${file}; starting with none open`)
      return { health: null, replication: null }
    }
    const book: Book = { health: null, replication: null }
    try {
      const j = JSON.parse(text) as { version?: unknown; open?: Record<string, unknown> }
      if (j.version !== STATE_VERSION || typeof j.open !== 'object' || j.open === null) throw new Error('unknown shape')
      for (const kind of ['health', 'replication'] as const) {
        const v = j.open[kind] as { key?: unknown; openedAt?: unknown } | null | undefined
        if (v === null || v === undefined) continue
        const prefix = dedupKey(this.site, `${kind}:`)
        if (typeof v.key !== 'string' || !v.key.startsWith(prefix) || v.key.length > KEY_MAX || !/^[\x21-\x7e]+$/.test(v.key)) throw new Error(`a ${kind} key of another shape`)
        if (typeof v.openedAt !== 'number' || !Number.isFinite(v.openedAt)) throw new Error(`a ${kind} incident without its time`)
        book[kind] = { key: v.key, openedAt: v.openedAt }
      }
      return book
    } catch (e) {
      this.log.warn({ site: this.site, file, problem: (e as Error).message }, `pagerduty: ${file} is not a book of open incidents (${(e as Error).message}); starting with none open`)
      return { health: null, replication: null }
    }
  }

  /**
   * Writes the book after the caller has returned (notify() never waits for a disk), one write after the
   * other, each of the book as it is then. A failure is logged once and the book lives on in memory.
   */
  private save(): void {
    const file = this.stateFile
    if (!file) return
    this.saving = this.saving.then(
      () =>
        new Promise<void>((resolve) =>
          setImmediate(() => {
            try {
              fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
              const open = { health: this.book.health, replication: this.book.replication }
              // the process id in the temporary name: a CLI command and the daemon never share one
              writeFileDurably(file, `${JSON.stringify({ version: STATE_VERSION, site: this.site, open }, null, 2)}\n`, { mode: 0o600, tmp: `${file}.${process.pid}.tmp` })
              this.saveFailed = false
            } catch (e) {
              if (!this.saveFailed)
                this.log.warn(
                  { site: this.site, file, code: (e as NodeJS.ErrnoException).code },
                  `pagerduty: cannot write the open incidents to ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'}); after a restart a recovery will not resolve them`,
                )
              this.saveFailed = true
            }
            resolve()
          }),
        ),
    )
  }
}

/** `peakguard:<site>:<rest>`, limited to what PagerDuty accepts. */
function dedupKey(site: string, rest: string): string {
  return `peakguard:${site}:${rest}`.replace(/[^\x21-\x7e]/g, '_').slice(0, KEY_MAX)
}

/** The routing key of integration `i`, or the problem in words (naming the variable, never a value). */
function routingKey(site: string, i: number, t: PagerDutyTarget, env: NodeJS.ProcessEnv): string | { problem: string } {
  const where = `site ${site}: notify.pagerduty[${i}]`
  if (t.routingKey !== null) {
    const k = t.routingKey.trim()
    return usable(k) ? k : { problem: `${where}.routingKey is empty or holds a space or control character` }
  }
  const name = t.routingKeyEnv
  if (!name) return { problem: `${where}: give routingKeyEnv (the name of an environment variable holding the routing key) or routingKey` }
  const v = env[name]?.trim()
  if (!v) return { problem: `${where}.routingKeyEnv: the environment variable ${name} is not set (or empty) in this process: set it where peakguard runs (systemd: Environment= or EnvironmentFile=)` }
  if (!usable(v)) return { problem: `${where}.routingKeyEnv: the environment variable ${name} holds a space or control character, or is longer than 200 characters` }
  return v
}

function usable(key: string): boolean {
  return key.length > 0 && key.length <= 200 && /^[\x21-\x7e]+$/.test(key)
}

/** The details as PagerDuty shows them, cut when they are too large to read. */
function boundedDetails(details: Record<string, unknown>): Record<string, unknown> {
  let json: string
  try {
    json = JSON.stringify(details)
  } catch {
    // a cycle or a BigInt: the page still goes out, without them (waking someone matters more)
    return { note: 'the details could not be written as JSON' }
  }
  if (json.length <= DETAILS_MAX) return JSON.parse(json) as Record<string, unknown>
  return { truncated: `details were ${json.length} characters as JSON; the first ${DETAILS_MAX} follow`, json: json.slice(0, DETAILS_MAX) }
}
