// Webhook notifications (NotifyPort) with Node's fetch. notify() only queues and returns: every webhook
// has its own DeliveryQueue (bounded, one sender, retries with backoff and jitter, see delivery-queue.ts)
// — so a webhook that refuses, hangs or answers 500 delays nobody: not the caller, not the other
// webhooks. A webhook URL is a secret (a Slack URL is its own credential): only its host ever reaches a
// log line.
import os from 'node:os'
import type { LogPort, MetricsPort, NotifyPort } from '../core/index.ts'
import { closeQueues, DeliveryQueue, postJson, redactAll, resolveTuning, type DeliveryStats, type DeliveryTuning, type QueuedItem } from './delivery-queue.ts'

export interface WebhookTarget {
  url: string
  /** json: {event, site, summary, time, host, details}; slack: {text} */
  format: 'json' | 'slack'
  /** the events sent there; empty: all */
  events: readonly string[]
  /** milliseconds one request may take */
  timeout: number
}

/** Delivery settings (see DeliveryTuning); the defaults suit production, tests shorten them. */
export interface WebhookTuning extends DeliveryTuning {
  /** the host name in the JSON document */
  host?: string
}

export type Notification = Parameters<NotifyPort['notify']>[0]

export interface WebhookStats {
  /** '#1 hooks.slack.com': the webhook's place in the config and its host, never its path */
  webhook: string
  /** waiting, or being sent */
  queued: number
  /** requests made, retries included */
  attempts: number
  delivered: number
  failed: number
  dropped: number
}

interface Item extends QueuedItem {
  body: string
}

/** The webhooks of one site: one queue and sender per configured webhook. */
export class WebhookNotifier implements NotifyPort {
  private readonly site: string
  private readonly host: string
  private readonly hooks: { target: WebhookTarget; queue: DeliveryQueue<Item> }[]
  private closed = false

  constructor(site: string, targets: readonly WebhookTarget[], log: LogPort, tuning: WebhookTuning = {}, metrics: Pick<MetricsPort, 'notification'> | null = null) {
    this.site = site
    this.host = tuning.host ?? os.hostname()
    const t = resolveTuning(tuning)
    this.hooks = targets.map((target, i) => {
      const url = new URL(target.url)
      // the URL's path, query and credentials hold a Slack webhook's token: an error text never shows them
      const secrets = [target.url, url.href, url.pathname + url.search, url.search, url.username, url.password].filter((s) => s !== '/')
      const queue = new DeliveryQueue<Item>({
        site,
        kind: 'webhook',
        label: `#${i + 1} ${url.host}`,
        tuning: t,
        log,
        metrics,
        attempt: (item, signal) => postJson(url, item.body, { timeoutMs: target.timeout, signal }),
        scrub: (text) => redactAll(text, secrets),
      })
      return { target, queue }
    })
  }

  notify(n: Notification): void {
    try {
      if (this.closed) return
      const site = n.site ?? this.site
      const time = new Date().toISOString()
      let json: string | null = null
      let slack: string | null = null
      for (const { target, queue } of this.hooks) {
        if (target.events.length && !target.events.includes(n.event)) continue
        if (target.format === 'slack') slack ??= JSON.stringify({ text: `[peakguard] ${slackEscape(site)}: ${slackEscape(n.summary)}` })
        else json ??= JSON.stringify({ event: n.event, site, summary: n.summary, time, host: this.host, details: n.details ?? {} })
        queue.push({ event: n.event, body: target.format === 'slack' ? slack! : json!, queuedAt: Date.now() })
      }
    } catch {
      // details that cannot be serialised (a cycle, a BigInt): a notification is never worth an exception
    }
  }

  stats(): WebhookStats[] {
    return this.hooks.map(({ queue }) => {
      const { destination: _d, kind: _k, ...s } = queue.stats()
      return { webhook: queue.label, ...s }
    })
  }

  /** The same numbers in the shape every destination kind shares (Notifiers.stats()). */
  deliveryStats(): DeliveryStats[] {
    return this.hooks.map(({ queue }) => queue.stats())
  }

  /**
   * For shutdown: takes no new notifications, gives what is queued one more attempt each (no more
   * backoff), and resolves within `timeoutMs`; whatever is still undelivered then is dropped and logged.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true
    await closeQueues(
      this.hooks.map((h) => h.queue),
      timeoutMs,
    )
  }
}

/** Slack reads &, < and > as markup (links, mentions): a summary is shown as written. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
