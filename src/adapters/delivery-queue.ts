// Delivery of notifications to one destination (a webhook, a PagerDuty integration, a mail server): a
// bounded queue (the oldest is dropped, and counted, when it is full) and one sender that delivers in
// order, retrying with exponential backoff and jitter, honouring Retry-After, giving up after so many
// attempts or so much age, and stopping within a deadline at shutdown. Each destination only says how one
// attempt goes (`attempt(item)`: delivered, retry, or not retried). The caller never waits: push() only
// queues. A primitive the notification adapters share, like durable-file.ts for the file-keeping ones;
// it knows no destination, so no secret passes through it but the reasons it logs, which it scrubs.
import type { LogPort, MetricsPort } from '../core/index.ts'
import { readBounded } from './http-body.ts'

/** How one attempt went. `retryAfterMs` (429, 503): the destination's own wait, used instead of the backoff. */
export type AttemptResult = { ok: true } | { ok: false; retry: boolean; reason: string; retryAfterMs?: number | null }

/** Delivery settings; the defaults suit production, tests shorten them. */
export interface DeliveryTuning {
  /** notifications waiting per destination before the oldest is dropped */
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
  random?: () => number
}

export const DELIVERY_DEFAULTS: Required<Omit<DeliveryTuning, 'random'>> = {
  queueLimit: 500,
  attempts: 5,
  backoffMs: 1000,
  backoffMaxMs: 60_000,
  retryAfterMaxMs: 300_000,
  maxAgeMs: 3_600_000,
}

/** The tuning with every default filled in; numbers that make no sense fall back to the default. */
export function resolveTuning(t: DeliveryTuning = {}): Required<DeliveryTuning> {
  const pick = (k: keyof typeof DELIVERY_DEFAULTS, min: number) => {
    const v = t[k]
    return typeof v === 'number' && Number.isFinite(v) && v >= min ? v : DELIVERY_DEFAULTS[k]
  }
  return {
    queueLimit: Math.floor(pick('queueLimit', 1)),
    attempts: Math.floor(pick('attempts', 1)),
    backoffMs: pick('backoffMs', 0),
    backoffMaxMs: pick('backoffMaxMs', 0),
    retryAfterMaxMs: pick('retryAfterMaxMs', 0),
    maxAgeMs: pick('maxAgeMs', 0),
    random: t.random ?? Math.random,
  }
}

/** What a queue holds: the destination's own fields plus these two. */
export interface QueuedItem {
  event: string
  /** Date.now() at notify(): the age limit counts from here */
  queuedAt: number
}

export type DestinationKind = 'webhook' | 'pagerduty' | 'email'

const KIND_WORDS: Record<DestinationKind, string> = { webhook: 'webhook', pagerduty: 'pagerduty', email: 'e-mail' }

export interface DeliveryStats {
  /** 'webhook #1 hooks.slack.com': the kind, its place in the config and its host — never a path, key or password */
  destination: string
  kind: DestinationKind
  /** waiting, or being sent */
  queued: number
  /** attempts made, retries included */
  attempts: number
  delivered: number
  failed: number
  dropped: number
}

export interface DeliveryQueueOptions<T extends QueuedItem> {
  site: string
  kind: DestinationKind
  /** '#1 hooks.slack.com': its place in the config and its host, nothing secret */
  label: string
  tuning: Required<DeliveryTuning>
  log: LogPort
  metrics: Pick<MetricsPort, 'notification'> | null
  /** One attempt; `signal` aborts at shutdown. Should not throw (a throw counts as a retryable failure). */
  attempt(item: T, signal: AbortSignal): Promise<AttemptResult>
  /** Takes the destination's secrets out of a reason before it is logged (a second guard: attempt() should not put them there). */
  scrub?(text: string): string
}

/** The longest reason logged: an error text quoting a whole server answer helps nobody at 3 a.m. */
const REASON_MAX = 300

/** One destination: its queue and its sender. */
export class DeliveryQueue<T extends QueuedItem> {
  /** 'webhook #1 hooks.slack.com' */
  readonly name: string
  readonly label: string
  private readonly o: DeliveryQueueOptions<T>
  private readonly queue: T[] = []
  private readonly stopper = new AbortController()
  private sending: Promise<void> = Promise.resolve()
  private active = false
  private closing = false
  private dropping = false
  private failing = false
  private wake: (() => void) | null = null
  private current: T | null = null
  private attempts = 0
  private delivered = 0
  private failed = 0
  private dropped = 0

  constructor(o: DeliveryQueueOptions<T>) {
    this.o = o
    this.label = o.label
    this.name = `${KIND_WORDS[o.kind]} ${o.label}`
  }

  push(item: T): void {
    if (this.closing) return
    const t = this.o.tuning
    if (this.queue.length >= t.queueLimit) {
      const old = this.queue.shift()!
      this.dropped++
      this.o.metrics?.notification(this.o.site, 'dropped')
      // once per overflow, not once per notification: a dead destination under a burst would flood the log
      if (!this.dropping)
        this.o.log.warn(
          { site: this.o.site, destination: this.name, event: old.event, queueLimit: t.queueLimit },
          `${this.name}: ${t.queueLimit} notifications are waiting; dropping the oldest until it catches up`,
        )
      this.dropping = true
    }
    this.queue.push(item)
    // `active` is set and cleared synchronously with the queue check in drain(): no item is ever left behind
    if (!this.active) this.sending = this.drain()
  }

  stats(): DeliveryStats {
    return {
      destination: this.name,
      kind: this.o.kind,
      queued: this.queue.length + (this.current ? 1 : 0),
      attempts: this.attempts,
      delivered: this.delivered,
      failed: this.failed,
      dropped: this.dropped,
    }
  }

  /** No more retries: one more attempt for each waiting notification. */
  finish(): Promise<void> {
    this.closing = true
    this.wake?.()
    return this.sending
  }

  /** Gives up at once: what waits is dropped, the attempt under way is aborted. */
  halt(): void {
    this.closing = true
    if (this.queue.length) {
      this.o.log.warn({ site: this.o.site, destination: this.name, dropped: this.queue.length }, `${this.name}: ${this.queue.length} notifications not delivered at shutdown`)
      for (let i = 0; i < this.queue.length; i++) this.o.metrics?.notification(this.o.site, 'dropped')
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

  private async deliver(item: T): Promise<void> {
    const t = this.o.tuning
    for (let attempt = 1; ; attempt++) {
      const r = await this.once(item)
      if (r.ok) {
        this.delivered++
        this.o.metrics?.notification(this.o.site, 'delivered')
        if (this.failing) this.o.log.info({ site: this.o.site, destination: this.name }, `${this.name}: delivering again`)
        this.failing = false
        return
      }
      const age = Date.now() - item.queuedAt
      const wait = r.retryAfterMs ?? this.backoff(attempt)
      if (!r.retry || attempt >= t.attempts || this.closing || age + wait > t.maxAgeMs) {
        this.failed++
        this.failing = true
        this.o.metrics?.notification(this.o.site, 'failed')
        const why = !r.retry ? 'not retried' : this.closing ? 'shutting down' : attempt >= t.attempts ? 'no attempts left' : 'too old'
        this.o.log.warn(
          { site: this.o.site, destination: this.name, event: item.event, attempts: attempt, reason: r.reason },
          `${this.name}: ${item.event} notification not delivered after ${attempt} attempt${attempt === 1 ? '' : 's'} (${why}): ${r.reason}`,
        )
        return
      }
      this.o.log.debug({ site: this.o.site, destination: this.name, event: item.event, attempt, retryInMs: wait, reason: r.reason }, `${this.name}: attempt failed, retrying`)
      await this.sleep(wait)
    }
  }

  /** One attempt, its reason scrubbed and bounded, never a throw. */
  private async once(item: T): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string; retryAfterMs: number | null }> {
    this.attempts++
    let r: AttemptResult
    try {
      r = await this.o.attempt(item, this.stopper.signal)
    } catch (e) {
      // the message may quote what was sent: only the error's name and code go on
      const err = e as { name?: unknown; code?: unknown }
      r = { ok: false, retry: true, reason: `unexpected ${typeof err?.name === 'string' ? err.name : 'error'}${typeof err?.code === 'string' ? ` ${err.code}` : ''}` }
    }
    if (r.ok) return r
    const reason = this.stopper.signal.aborted ? 'stopped at shutdown' : oneLine(this.o.scrub ? this.o.scrub(r.reason) : r.reason, REASON_MAX)
    const after = r.retryAfterMs
    const retryAfterMs = typeof after === 'number' && Number.isFinite(after) ? Math.min(this.o.tuning.retryAfterMaxMs, Math.max(0, after)) : null
    return { ok: false, retry: r.retry, reason, retryAfterMs }
  }

  /** Equal jitter: half the doubled delay fixed, half random, so senders that failed together spread out. */
  private backoff(attempt: number): number {
    const t = this.o.tuning
    const d = Math.min(t.backoffMaxMs, t.backoffMs * 2 ** Math.min(attempt - 1, 30))
    return Math.round(d / 2 + (d / 2) * t.random())
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

/**
 * For shutdown: the queues take no new notifications, give what is queued one more attempt each (no more
 * backoff), and this resolves within `timeoutMs`; whatever is still undelivered then is dropped and logged.
 */
export async function closeQueues(queues: readonly Pick<DeliveryQueue<QueuedItem>, 'finish' | 'halt'>[], timeoutMs: number): Promise<void> {
  const idle = Promise.all(queues.map((q) => q.finish()))
  let timer: NodeJS.Timeout | undefined
  const late = await Promise.race([idle.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), Math.max(0, timeoutMs))))])
  clearTimeout(timer)
  if (late) {
    for (const q of queues) q.halt()
    await idle
  }
}

/** Retry-After in seconds or as an HTTP date, in milliseconds; null when absent or unreadable. */
export function retryAfterMs(v: string | null): number | null {
  if (!v) return null
  const ms = /^\s*\d{1,9}\s*$/.test(v) ? Number(v) * 1000 : Date.parse(v) - Date.now()
  return Number.isFinite(ms) ? Math.max(0, ms) : null
}

/**
 * One HTTP POST of a JSON document, classified: 2xx delivered; 408, 429 and 5xx (and no answer) retried,
 * with Retry-After on 429 and 503; a redirect and any other 4xx not retried (the request itself is wrong:
 * repeating it cannot help). The answer of a refusal is quoted briefly (PagerDuty says what is wrong with
 * the event); callers scrub it. Shared by the webhook and PagerDuty senders.
 */
export async function postJson(url: URL, body: string, o: { timeoutMs: number; signal: AbortSignal }): Promise<AttemptResult> {
  const timeout = AbortSignal.timeout(o.timeoutMs)
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'peakguard' },
      body,
      signal: AbortSignal.any([timeout, o.signal]),
      // a redirect would carry the document (and a routing key) to a host nobody configured
      redirect: 'manual',
    })
    const s = res.status
    if (s >= 200 && s < 300) {
      // the answer's body is not needed; cancelling it frees the connection
      void res.body?.cancel().catch(() => undefined)
      return { ok: true }
    }
    const after = s === 429 || s === 503 ? retryAfterMs(res.headers.get('retry-after')) : null
    if (s >= 300 && s < 400) {
      void res.body?.cancel().catch(() => undefined)
      return { ok: false, retry: false, reason: `HTTP ${s} (a redirect): configure the URL it leads to`, retryAfterMs: after }
    }
    if (s >= 400 && s < 500 && s !== 408 && s !== 429) {
      const said = await answerText(res)
      return { ok: false, retry: false, reason: `HTTP ${s}${said ? `: ${said}` : ''}`, retryAfterMs: after }
    }
    void res.body?.cancel().catch(() => undefined)
    return { ok: false, retry: true, reason: `HTTP ${s}`, retryAfterMs: after }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } }
    const reason = timeout.aborted ? `no answer within ${o.timeoutMs} ms` : (err.cause?.code ?? err.cause?.message ?? err.message)
    return { ok: false, retry: true, reason, retryAfterMs: null }
  }
}

/** The first bytes of a refusal, as one line: PagerDuty's {message, errors}, or the text itself. */
async function answerText(res: Response): Promise<string> {
  try {
    // at most 2 kB: a refusal is read, not a page
    const text = await readBounded(res, 2048)
    try {
      const j = JSON.parse(text) as { message?: unknown; errors?: unknown }
      const parts = [typeof j.message === 'string' ? j.message : '', ...(Array.isArray(j.errors) ? j.errors.filter((x): x is string => typeof x === 'string') : [])]
      const said = parts.filter(Boolean).join('; ')
      // whole: the queue scrubs the destination's secrets out of the reason before it cuts it
      if (said) return oneLine(said, 2048)
    } catch {
      // not JSON: the text as it is
    }
    return /^\s*</.test(text) ? '' : oneLine(text, 2048)
  } catch {
    return ''
  }
}

/** C0 and C1 controls (newlines included), DEL, and the bidi overrides and isolates. */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]+/gu

/**
 * `text` as one line of printable characters (every control, newline or bidi override becomes a space)
 * of at most `max` characters: what may go into a mail header, a log line or an incident's title.
 */
export function oneLine(text: string, max: number): string {
  const t = text.replace(UNPRINTABLE, ' ').replace(/\s{2,}/g, ' ').trim()
  const chars = [...t]
  return chars.length <= max ? t : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`
}

/** `text` with each secret (longer than one character) replaced by [redacted]. */
export function redactAll(text: string, secrets: readonly (string | null | undefined)[]): string {
  let out = text
  // the longest first: a secret that contains another is taken out whole
  for (const s of [...secrets].filter((x): x is string => typeof x === 'string' && x.length > 1).sort((a, b) => b.length - a.length)) out = out.split(s).join('[redacted]')
  return out
}
