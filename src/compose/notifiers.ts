// The notifications of one site (NotifyPort): one fan-out to the webhooks, PagerDuty integrations and
// mail servers its config lists (sites[].notify), each with its own queue and sender, so none of them —
// down, slow or refusing — delays the caller or another. Builds the UI links the messages carry (from
// ui.publicUrl, else http://<ui.listen>). The composition root makes one per site; a destination that
// cannot be used (a variable not set) stops the daemon's start, or, for a CLI command, only itself.
import path from 'node:path'
import type { LogPort, MetricsPort, NotifyPort } from '../core/index.ts'
import type { DeliveryStats, DeliveryTuning } from '../adapters/delivery-queue.ts'
import { EmailNotifier, type EmailTarget } from '../adapters/email.ts'
import { PagerDutyNotifier, type PagerDutyTarget } from '../adapters/pagerduty.ts'
import { WebhookNotifier, type WebhookTarget } from '../adapters/webhook.ts'

/** The parts of a site's config this needs (a ResolvedSite is one). */
export interface NotifySite {
  id: string
  dataDir: string
  notify: { webhooks: readonly WebhookTarget[]; pagerduty: readonly PagerDutyTarget[]; email: readonly EmailTarget[] }
}

/** The parts of the `ui` config the links need. */
export interface NotifyUi {
  listen: string
  publicUrl: string | null
}

export interface NotifiersOptions {
  metrics?: Pick<MetricsPort, 'notification'> | null
  /** where the secrets' environment variables are looked up; default process.env */
  env?: NodeJS.ProcessEnv
  /** fail (the daemon): a destination that cannot be used throws here; skip (a CLI command): only that destination fails, and says why in the log */
  missingSecret?: 'fail' | 'skip'
  /** keep PagerDuty's open incidents in <dataDir>/pagerduty-incidents.json across restarts (the daemon); false: in memory only */
  persistIncidents?: boolean
  /** delivery settings for every destination (tests shorten the backoff) */
  tuning?: DeliveryTuning
  /** the host name the messages name; default this machine's */
  host?: string
}

/** The file, in a site's data dir, that keeps its open PagerDuty incidents. */
export const INCIDENTS_FILE = 'pagerduty-incidents.json'

export class Notifiers implements NotifyPort {
  private readonly webhooks: WebhookNotifier
  private readonly pagerduty: PagerDutyNotifier
  private readonly email: EmailNotifier

  constructor(site: NotifySite, ui: NotifyUi, log: LogPort, o: NotifiersOptions = {}) {
    const base = uiBase(ui)
    const link = (s: string, event: string) => siteLink(base, s, event)
    const common = { env: o.env, missingSecret: o.missingSecret ?? 'fail', tuning: o.tuning, metrics: o.metrics ?? null, host: o.host, link }
    this.webhooks = new WebhookNotifier(site.id, site.notify.webhooks, log, { ...o.tuning, ...(o.host ? { host: o.host } : {}) }, o.metrics ?? null)
    this.pagerduty = new PagerDutyNotifier(site.id, site.notify.pagerduty, log, { ...common, stateFile: o.persistIncidents === false ? null : path.join(site.dataDir, INCIDENTS_FILE) })
    this.email = new EmailNotifier(site.id, site.notify.email, log, common)
  }

  notify(n: Parameters<NotifyPort['notify']>[0]): void {
    // each never throws and only queues
    this.webhooks.notify(n)
    this.pagerduty.notify(n)
    this.email.notify(n)
  }

  /** Every destination's queue and counts, webhooks first, in the config's order. */
  stats(): DeliveryStats[] {
    return [...this.webhooks.deliveryStats(), ...this.pagerduty.deliveryStats(), ...this.email.deliveryStats()]
  }

  /** The dedup keys of the PagerDuty incidents held open. */
  openIncidents(): { health: string | null; replication: string | null } {
    return this.pagerduty.openIncidents()
  }

  /** For shutdown: every destination gets the same `timeoutMs`, at the same time (see closeQueues). */
  async close(timeoutMs: number): Promise<void> {
    await Promise.all([this.webhooks.close(timeoutMs), this.pagerduty.close(timeoutMs), this.email.close(timeoutMs)])
  }
}

/** The UI's address as people open it, without a trailing slash. */
export function uiBase(ui: NotifyUi): string {
  return (ui.publicUrl ?? `http://${ui.listen}`).replace(/\/+$/, '')
}

/** The UI page an event is best looked at on. */
export function siteLink(base: string, site: string, event: string): string {
  const page =
    event === 'freeze-violation' || event === 'change-request' || event === 'approval' || event === 'rejection' ? 'requests' : event === 'break-glass' ? 'audit' : 'states'
  return `${base}/sites/${encodeURIComponent(site)}/${page}`
}
