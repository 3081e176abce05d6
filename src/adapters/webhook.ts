// Webhook notifications (NotifyPort) with Node's fetch. notify() only queues and returns: every webhook
// has its own bounded queue (the oldest is dropped, and counted, when it is full) and one sender that
// delivers in order, retrying with exponential backoff and jitter — so a webhook that refuses, hangs or
// answers 500 delays nobody: not the caller, not the other webhooks. A webhook URL is a secret (a Slack
// URL is its own credential): only its host ever reaches a log line.
import os from 'node:os'
import type { LogPort, MetricsPort, NotifyPort } from '../core/index.ts'

export interface WebhookTarget {
  url: string
  /** json: {event, site, summary, time, host, details}; slack: {text} */
  format: 'json' | 'slack'
  /** the events sent there; empty: all */
  events: readonly string[]
  /** milliseconds one request may take */
  timeout: number
}

/** Delivery settings; the defaults suit production, tests shorten them. */
export interface WebhookTuning {
  /** notifications waiting per webhook before the oldest is dropped */
  queueLimit?: number
  /** attempts per notification, the first one included */
  attempts?: number
  /** the wait before the first retry; it doubles with each one (with jitter) … */
  backoffMs?: number
  /** … up to this */
  backoffMaxMs?: number
  /** the longest Retry-After (429, 503) honoured */
  retryAfterMaxMs?: number
  /** a notification still undelivered this long after notify() is given up */
  maxAgeMs?: number
  /** the host name in the JSON document */
  host?: string
  random?: () => number
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

interface Item {
  event: string
  body: string
  queuedAt: number
}

type Attempt = { ok: true } | { ok: false; retry: boolean; reason: string; retryAfterMs: number | null }

const DEFAULTS: Required<Omit<WebhookTuning, 'host' | 'random'>> = {
  queueLimit: 500,
  attempts: 5,
  backoffMs: 1000,
  backoffMaxMs: 60_000,
  retryAfterMaxMs: 300_000,
  maxAgeMs: 3_600_000,
}

/** The notifier of one site: one queue and sender per configured webhook. */
export class WebhookNotifier implements NotifyPort {
  private readonly site: string
  private readonly host: string
  private readonly queues: WebhookQueue[]
  private closed = false

  constructor(site: string, targets: readonly WebhookTarget[], log: LogPort, tuning: WebhookTuning = {}, metrics: Pick<MetricsPort, 'notification'> | null = null) {
    this.site = site
    this.host = tuning.host ?? os.hostname()
    const t = { ...DEFAULTS, random: Math.random, ...tuning }
    this.queues = targets.map((target, i) => new WebhookQueue(site, i, target, t, log, metrics))
  }

  notify(n: Notification): void {
    try {
      if (this.closed) return
      const site = n.site ?? this.site
      const time = new Date().toISOString()
      let json: string | null = null
      let slack: string | null = null
      for (const q of this.queues) {
        if (!q.wants(n.event)) continue
        if (q.target.format === 'slack') slack ??= JSON.stringify({ text: `[peakguard] ${slackEscape(site)}: ${slackEscape(n.summary)}` })
        else json ??= JSON.stringify({ event: n.event, site, summary: n.summary, time, host: this.host, details: n.details ?? {} })
        q.push({ event: n.event, body: q.target.format === 'slack' ? slack! : json!, queuedAt: Date.now() })
      }
    } catch {
      // details that cannot be serialised (a cycle, a BigInt): a notification is never worth an exception
    }
  }

  stats(): WebhookStats[] {
    return this.queues.map((q) => q.stats())
  }

  /**
   * For shutdown: takes no new notifications, gives what is queued one more attempt each (no more
   * backoff), and resolves within `timeoutMs`; whatever is still undelivered then is dropped and logged.
   */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true
    const idle = Promise.all(this.queues.map((q) => q.finish()))
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([idle.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))])
    clearTimeout(timer)
    if (late) {
      for (const q of this.queues) q.halt()
      await idle
    }
  }
}

/** One webhook: its queue and its sender. */
class WebhookQueue {
  readonly target: WebhookTarget
  private readonly site: string
  private readonly label: string
  private readonly url: URL
  private readonly t: Required<Omit<WebhookTuning, 'host'>>
  private readonly log: LogPort
  private readonly metrics: Pick<MetricsPort, 'notification'> | null
  private readonly queue: Item[] = []
  private readonly stopper = new AbortController()
  private sending: Promise<void> = Promise.resolve()
  private active = false
  private closing = false
  private dropping = false
  private failing = false
  private wake: (() => void) | null = null
  private current: Item | null = null
  private attempts = 0
  private delivered = 0
  private failed = 0
  private dropped = 0

  constructor(site: string, index: number, target: WebhookTarget, t: Required<Omit<WebhookTuning, 'host'>>, log: LogPort, metrics: Pick<MetricsPort, 'notification'> | null) {
    this.site = site
    this.target = target
    this.url = new URL(target.url)
    this.label = `#${index + 1} ${this.url.host}`
    this.t = t
    this.log = log
    this.metrics = metrics
  }

  wants(event: string): boolean {
    return this.target.events.length === 0 || this.target.events.includes(event)
  }

  push(item: Item): void {
    if (this.queue.length >= this.t.queueLimit) {
      const old = this.queue.shift()!
      this.dropped++
      this.metrics?.notification(this.site, 'dropped')
      // once per overflow, not once per notification: a dead webhook under a burst would flood the log
      if (!this.dropping)
        this.log.warn(
          { site: this.site, webhook: this.label, event: old.event, queueLimit: this.t.queueLimit },
          `webhook ${this.label}: ${this.t.queueLimit} notifications are waiting; dropping the oldest until it catches up`,
        )
      this.dropping = true
    }
    this.queue.push(item)
    // `active` is set and cleared synchronously with the queue check in drain(): no item is ever left behind
    if (!this.active) this.sending = this.drain()
  }

  stats(): WebhookStats {
    return { webhook: this.label, queued: this.queue.length + (this.current ? 1 : 0), attempts: this.attempts, delivered: this.delivered, failed: this.failed, dropped: this.dropped }
  }

  /** No more retries: one more attempt for each waiting notification. */
  finish(): Promise<void> {
    this.closing = true
    this.wake?.()
    return this.sending
  }

  /** Gives up at once: what waits is dropped, the request under way is aborted. */
  halt(): void {
    if (this.queue.length) {
      this.log.warn({ site: this.site, webhook: this.label, dropped: this.queue.length }, `webhook ${this.label}: ${this.queue.length} notifications not delivered at shutdown`)
      for (let i = 0; i < this.queue.length; i++) this.metrics?.notification(this.site, 'dropped')
      this.dropped += this.queue.length
      this.queue.length = 0
    }
    this.stopper.abort()
    this.wake?.()
  }

  private async drain(): Promise<void> {
    this.active = true
    try {
      for (let item = this.queue.shift(); item; item = this.queue.shift()) {
        this.current = item
        await this.deliver(item)
        this.current = null
      }
    } finally {
      this.current = null
      this.active = false
      this.dropping = false
    }
  }

  private async deliver(item: Item): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const r = await this.attempt(item)
      if (r.ok) {
        this.delivered++
        this.metrics?.notification(this.site, 'delivered')
        if (this.failing) this.log.info({ site: this.site, webhook: this.label }, `webhook ${this.label}: delivering again`)
        this.failing = false
        return
      }
      const age = Date.now() - item.queuedAt
      const wait = r.retryAfterMs ?? this.backoff(attempt)
      if (!r.retry || attempt >= this.t.attempts || this.closing || age + wait > this.t.maxAgeMs) {
        this.failed++
        this.failing = true
        this.metrics?.notification(this.site, 'failed')
        const why = !r.retry ? 'not retried' : this.closing ? 'shutting down' : attempt >= this.t.attempts ? 'no attempts left' : 'too old'
        this.log.warn(
          { site: this.site, webhook: this.label, event: item.event, attempts: attempt, reason: r.reason },
          `webhook ${this.label}: ${item.event} notification not delivered after ${attempt} attempt${attempt === 1 ? '' : 's'} (${why}): ${r.reason}`,
        )
        return
      }
      this.log.debug({ site: this.site, webhook: this.label, event: item.event, attempt, retryInMs: wait, reason: r.reason }, `webhook ${this.label}: attempt failed, retrying`)
      await this.sleep(wait)
    }
  }

  private async attempt(item: Item): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.target.timeout)
    this.attempts++
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'peakguard' },
        body: item.body,
        signal: AbortSignal.any([timeout, this.stopper.signal]),
        // a redirect would carry the document to a host nobody configured
        redirect: 'manual',
      })
      // the answer's body is not needed; cancelling it frees the connection
      void res.body?.cancel().catch(() => undefined)
      const s = res.status
      if (s >= 200 && s < 300) return { ok: true }
      const retryAfterMs = s === 429 || s === 503 ? this.retryAfter(res.headers.get('retry-after')) : null
      if (s >= 300 && s < 400) return { ok: false, retry: false, reason: `HTTP ${s} (a redirect): configure the URL it leads to`, retryAfterMs }
      // 4xx says the request itself is wrong (a revoked Slack URL answers 404 or 410): repeating it cannot help
      if (s >= 400 && s < 500 && s !== 408 && s !== 429) return { ok: false, retry: false, reason: `HTTP ${s}`, retryAfterMs }
      return { ok: false, retry: true, reason: `HTTP ${s}`, retryAfterMs }
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } }
      const reason = this.stopper.signal.aborted
        ? 'stopped at shutdown'
        : timeout.aborted
          ? `no answer within ${this.target.timeout} ms`
          : (err.cause?.code ?? err.cause?.message ?? err.message)
      return { ok: false, retry: true, reason: this.scrub(reason), retryAfterMs: null }
    }
  }

  /** Equal jitter: half the doubled delay fixed, half random, so senders that failed together spread out. */
  private backoff(attempt: number): number {
    const d = Math.min(this.t.backoffMaxMs, this.t.backoffMs * 2 ** Math.min(attempt - 1, 30))
    return Math.round(d / 2 + (d / 2) * this.t.random())
  }

  /** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
  private retryAfter(v: string | null): number | null {
    if (!v) return null
    const ms = /^\s*\d+\s*$/.test(v) ? Number(v) * 1000 : Date.parse(v) - Date.now()
    return Number.isFinite(ms) ? Math.min(this.t.retryAfterMaxMs, Math.max(0, ms)) : null
  }

  /** An error text with the URL's path, query and credentials taken out (it holds the token of a Slack webhook). */
  private scrub(text: string): string {
    let out = text
    for (const secret of [this.target.url, this.url.href, this.url.pathname + this.url.search, this.url.search, this.url.username, this.url.password])
      if (secret.length > 1) out = out.split(secret).join('[redacted]')
    return out
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.wake = null
        resolve()
      }
      const timer = setTimeout(done, ms)
      // a waiting retry never keeps a CLI process alive; close() wakes it
      timer.unref()
      this.wake = done
    })
  }
}

/** Slack reads &, < and > as markup (links, mentions): a summary is shown as written. */
function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
