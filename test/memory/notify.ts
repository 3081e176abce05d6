// NotifyPort in memory: what would go over the wire, kept in order. A notification goes through JSON as
// a webhook's body does (one that cannot be serialised is dropped, never thrown).
import type { NotifyPort } from '../../src/core/index.ts'

export type Notification = Parameters<NotifyPort['notify']>[0]

export class MemoryNotifier implements NotifyPort {
  readonly sent: { event: string; site: string; summary: string; details: Record<string, unknown> }[] = []
  private readonly site: string

  constructor(site: string) {
    this.site = site
  }

  notify(n: Notification): void {
    try {
      this.sent.push(JSON.parse(JSON.stringify({ event: n.event, site: n.site ?? this.site, summary: n.summary, details: n.details ?? {} })))
    } catch {
      // as the webhook: a notification is never worth an exception
    }
  }

  events(): string[] {
    return this.sent.map((n) => n.event)
  }
}
