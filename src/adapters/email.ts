// E-mail notifications (NotifyPort) over SMTP with nodemailer: plain text that says what happened, the
// change in words, who caused it, when, and the UI's link. notify() only queues and returns: each mail
// server has its own DeliveryQueue (bounded, one sender, retries with backoff and jitter; see
// delivery-queue.ts). The connection is encrypted (STARTTLS required, or TLS from the start) unless the
// server is on this host's loopback; the SMTP password comes from the environment and never reaches a log
// line. The subject is one line of printable characters: nothing a summary holds can add a header.
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import type { Transporter } from 'nodemailer'
import type SMTPTransport from 'nodemailer/lib/smtp-transport'
import type { LogPort, MetricsPort, NotifyPort } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { closeQueues, DeliveryQueue, oneLine, redactAll, resolveTuning, type AttemptResult, type DeliveryStats, type DeliveryTuning, type QueuedItem } from './delivery-queue.ts'

export interface EmailTarget {
  host: string
  port: number
  /** starttls: plain connection upgraded, the upgrade required; tls: TLS from the start; none: loopback only */
  security: 'starttls' | 'tls' | 'none'
  /** the environment variables holding the SMTP user and password; null: no auth */
  userEnv: string | null
  passwordEnv: string | null
  /** a PEM file of the CA that signed the server's certificate; null: the system's CAs */
  caFile: string | null
  from: string
  to: readonly string[]
  /** the events sent there; empty: all */
  events: readonly string[]
  /** milliseconds for connecting, the greeting, and each exchange after */
  timeout: number
}

export interface EmailOptions {
  /** the UI page an event is best looked at on (null: no link) */
  link?: (site: string, event: string) => string | null
  /** the host named in the message; default this machine's name */
  host?: string
  /** where userEnv and passwordEnv are looked up */
  env?: NodeJS.ProcessEnv
  /**
   * fail: a destination that cannot be used (a variable not set, the CA file unreadable, `none` to a
   * host that is not loopback) throws at construction (the daemon refuses to start); skip: it fails each
   * notification it is given, with a log line naming the problem (a CLI command must not fail for it)
   */
  missingSecret?: 'fail' | 'skip'
  tuning?: DeliveryTuning
  metrics?: Pick<MetricsPort, 'notification'> | null
}

type Notification = Parameters<NotifyPort['notify']>[0]

interface Item extends QueuedItem {
  subject: string
  text: string
}

/** Bounds: a subject fits on a phone's lock screen; a body is read, not scrolled. */
const SUBJECT_MAX = 200
const SUMMARY_MAX = 4000
const CHANGE_MAX = 2000
const WHO_MAX = 200

/** An event in words, for the subject and the body. */
export function eventWords(event: string, details?: Record<string, unknown>): string {
  switch (event) {
    case 'freeze-violation':
      return 'change during a freeze'
    case 'change-request':
      return 'approval requested'
    case 'approval':
      return 'change approved'
    case 'rejection':
      return 'change rejected'
    case 'break-glass':
      return 'BREAK-GLASS'
    case 'restore':
      return 'restore'
    case 'health-failure':
      return 'health probes failing'
    case 'health-recovered':
      return 'health probes pass again'
    case 'auto-rollback':
      return details?.rolledBack === true ? 'automatic rollback done' : 'automatic rollback FAILED or not done'
    case 'auto-rollback-blocked':
      return 'automatic rollback BLOCKED: database migration, decide by hand'
    case 'replication-lag':
      return 'S3 replica falling behind'
    case 'replication-lag-cleared':
      return 'S3 replica caught up'
    default:
      return oneLine(event, 64)
  }
}

/**
 * The message of one notification: the subject `[peakguard] <site>: <event in words>` as one line, and a
 * plain-text body. The time is UTC (ISO 8601): the reader's zone is not known here, and one form is
 * unambiguous in every inbox.
 */
export function emailMessage(n: Notification, o: { site: string; host: string; link: string | null; time: Date }): { subject: string; text: string } {
  const site = n.site ?? o.site
  const words = eventWords(n.event, n.details)
  const subject = oneLine(`[peakguard] ${oneLine(site, 64)}: ${words}`, SUBJECT_MAX)
  const change = typeof n.details?.change === 'string' ? oneLine(n.details.change, CHANGE_MAX) : ''
  const causedBy = typeof n.details?.causedBy === 'string' ? oneLine(n.details.causedBy, WHO_MAX) : ''
  const lines = [
    block(n.summary, SUMMARY_MAX) || words,
    '',
    ...(change ? [`What changed: ${change}`] : []),
    ...(causedBy ? [`Caused by:    ${causedBy}`] : []),
    `Event:        ${words} (${oneLine(n.event, 64)})`,
    `Site:         ${oneLine(site, 64)}`,
    `Time:         ${o.time.toISOString()} (UTC)`,
    `Host:         ${oneLine(o.host, 255)}`,
    '',
    ...(o.link ? [`Open in peakguard: ${o.link}`, ''] : []),
    '-- ',
    `Sent by peakguard on ${oneLine(o.host, 255)}. Change which events come here in notify.email of its config.`,
  ]
  return { subject, text: `${lines.join('\n')}\n` }
}

/** The e-mail destinations of one site: one transport, queue and sender per configured server. */
export class EmailNotifier implements NotifyPort {
  private readonly site: string
  private readonly host: string
  private readonly link: (site: string, event: string) => string | null
  private readonly dests: { target: EmailTarget; queue: DeliveryQueue<Item>; transport: () => Promise<Transporter> | null; opened: () => Transporter | null }[]
  private closed = false

  constructor(site: string, targets: readonly EmailTarget[], log: LogPort, o: EmailOptions = {}) {
    this.site = site
    this.host = oneLine(o.host ?? os.hostname(), 255) || 'peakguard'
    this.link = o.link ?? (() => null)
    const env = o.env ?? process.env
    const tuning = resolveTuning(o.tuning)
    this.dests = targets.map((target, i) => {
      const where = `site ${site}: notify.email[${i}]`
      const setup = prepare(where, target, env)
      if ('problem' in setup && (o.missingSecret ?? 'fail') === 'fail') throw new PeakguardError('CONFIG_INVALID', setup.problem)
      // nodemailer is loaded and the transport made at the first mail: a CLI command that sends none
      // (`status`) does not pay for loading it
      let made: Transporter | null = null
      let making: Promise<Transporter> | null = null
      const transport = 'problem' in setup ? () => null : () => (making ??= import('nodemailer').then((m) => (made = m.default.createTransport(setup.options))))
      const secrets = 'problem' in setup ? [] : setup.secrets
      const queue = new DeliveryQueue<Item>({
        site,
        kind: 'email',
        label: `#${i + 1} ${target.host}:${target.port}`,
        tuning,
        log,
        metrics: o.metrics ?? null,
        attempt: async (item, signal) => {
          const t = transport()
          return t ? send(await t, target, item, signal) : { ok: false, retry: false, reason: (setup as { problem: string }).problem }
        },
        scrub: (text) => redactAll(text, secrets),
      })
      return { target, queue, transport, opened: () => made }
    })
  }

  notify(n: Notification): void {
    try {
      if (this.closed) return
      const wanted = this.dests.filter((d) => !d.target.events.length || d.target.events.includes(n.event))
      if (!wanted.length) return
      const site = n.site ?? this.site
      const message = emailMessage(n, { site, host: this.host, link: this.link(site, n.event), time: new Date() })
      for (const d of wanted) d.queue.push({ event: n.event, queuedAt: Date.now(), ...message })
    } catch {
      // a notification is never worth an exception
    }
  }

  deliveryStats(): DeliveryStats[] {
    return this.dests.map((d) => d.queue.stats())
  }

  /** For shutdown: see closeQueues; the transports are released after. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true
    await closeQueues(
      this.dests.map((d) => d.queue),
      timeoutMs,
    )
    for (const d of this.dests) d.opened()?.close()
  }
}

/** The transport of one destination and the secrets to keep out of its log lines, or the problem in words. */
function prepare(where: string, t: EmailTarget, env: NodeJS.ProcessEnv): { options: SMTPTransport.Options; secrets: string[] } | { problem: string } {
  if (t.security === 'none' && !isLoopback(t.host))
    return {
      problem: `${where}.security: 'none' would send the mail (and any password) unencrypted to ${t.host}; it is only allowed to a relay on this host's loopback (127.0.0.1, ::1, localhost): use starttls or tls`,
    }
  let auth: { user: string; pass: string } | undefined
  if (t.userEnv !== null || t.passwordEnv !== null) {
    if (!t.userEnv || !t.passwordEnv) return { problem: `${where}: give both userEnv and passwordEnv, or neither` }
    for (const [key, name] of [['userEnv', t.userEnv], ['passwordEnv', t.passwordEnv]] as const)
      if (!env[name]) return { problem: `${where}.${key}: the environment variable ${name} is not set (or empty) in this process: set it where peakguard runs (systemd: Environment= or EnvironmentFile=)` }
    auth = { user: env[t.userEnv]!, pass: env[t.passwordEnv]! }
  }
  let ca: string | undefined
  if (t.caFile) {
    try {
      ca = fs.readFileSync(t.caFile, 'utf8')
    } catch (e) {
      return { problem: `${where}.caFile: cannot read ${t.caFile} (${(e as NodeJS.ErrnoException).code ?? 'error'})` }
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) return { problem: `${where}.caFile: ${t.caFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` }
  }
  const options: SMTPTransport.Options = {
    host: t.host,
    port: t.port,
    // tls: TLS from the first byte; starttls: the upgrade is required, a server (or someone in between)
    // that does not offer it gets nothing; none: no upgrade even when offered (a loopback relay)
    secure: t.security === 'tls',
    requireTLS: t.security === 'starttls',
    ignoreTLS: t.security === 'none',
    auth,
    // with credentials, log in even when the server does not advertise AUTH: sending unauthenticated
    // instead would fail later with a less telling answer, or be relayed as nobody
    forceAuth: auth !== undefined,
    tls: { ...(ca ? { ca } : {}), minVersion: 'TLSv1.2', rejectUnauthorized: true },
    connectionTimeout: t.timeout,
    greetingTimeout: t.timeout,
    socketTimeout: t.timeout,
    dnsTimeout: t.timeout,
    // no logger: nodemailer's would print the envelope; and never the protocol (it holds the AUTH exchange)
    logger: false,
    debug: false,
    // the message is text peakguard writes; it never reads a file or a URL into it
    disableFileAccess: true,
    disableUrlAccess: true,
  }
  const secrets = auth ? [auth.pass, b64(auth.pass), b64(`\u0000${auth.user}\u0000${auth.pass}`), b64(`${auth.user}\u0000${auth.user}\u0000${auth.pass}`)] : []
  return { options, secrets }
}

async function send(transport: Transporter, t: EmailTarget, item: Item, stop: AbortSignal): Promise<AttemptResult> {
  // the connection, the greeting and each exchange are bounded by `timeout`; this bounds the whole of a
  // server that answers every step just in time
  const overall = t.timeout * 3
  const deadline = AbortSignal.timeout(overall)
  try {
    await transport.sendMail({
      from: t.from,
      to: [...t.to],
      subject: item.subject,
      text: item.text,
      headers: { 'Auto-Submitted': 'auto-generated', 'X-Peakguard-Event': oneLine(item.event, 64) },
      signal: AbortSignal.any([deadline, stop]),
    })
    return { ok: true }
  } catch (e) {
    const err = e as Error & { code?: unknown; responseCode?: unknown }
    if (deadline.aborted && !stop.aborted) return { ok: false, retry: true, reason: `no answer within ${overall} ms` }
    const code = typeof err.code === 'string' ? err.code : 'error'
    const status = typeof err.responseCode === 'number' ? err.responseCode : null
    // a 5xx answer is permanent (wrong password, unknown recipient, relaying denied, STARTTLS refused):
    // repeating it cannot help. A certificate that fails is retried like a server that is down (the retries
    // are bounded, and someone may be fixing the relay right now); the log line says which
    const permanent = status !== null ? status >= 500 && status < 600 : code === 'EAUTH' || code === 'EENVELOPE'
    return { ok: false, retry: !permanent, reason: `${code}${status !== null && !String(err.message).includes(String(status)) ? ` ${status}` : ''}: ${err.message}` }
  }
}

function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64')
}

/** A host name that can only be this machine. */
function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost') return true
  if (net.isIPv4(h)) return h.startsWith('127.')
  return net.isIPv6(h) && (h === '::1' || /^(?:0{1,4}:){7}0{0,3}1$/.test(h))
}

/** Free text for the body: its own lines kept, every other control character a space, bounded. */
function block(text: string, max: number): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n').map((l) => oneLine(l, max))
  const joined = lines.join('\n').replace(/\n{3,}/g, '\n\n').trim()
  const chars = [...joined]
  return chars.length <= max ? joined : `${chars.slice(0, max - 1).join('')}…`
}
