// The gate: the freeze enforced outside WordPress. After every snapshot the daemon asks it whether the
// newest state moved away from the last state it accepted while a freeze is on. A change that no
// allow-window covers becomes a change request and, under the default policy, is reverted at once (a
// partial restore of exactly what it touched); under `hold` it stays live, flagged; under `alert` it is
// only recorded and notified. Restores are authorized on their own (role-checked, audited), so a restore
// commit is accepted as it is.
import {
  changeItems,
  diffStates,
  isEmptyItems,
  uncovered,
  type AllowWindow,
  type ChangeRequest,
  type FreezePolicy,
  type FreezeSpan,
  type LogPort,
} from '../core/index.ts'
import { attributionFromTrailers } from './attribution.ts'
import { newRequestId, saveRequest, type GovernanceDeps } from './requests.ts'
import { restore, short } from './restorer.ts'
import type { Site } from './site.ts'

export interface GateDeps extends GovernanceDeps {
  site: Site
  log: LogPort
  policy: FreezePolicy
  /** the freeze governing `now`, or null */
  freezeAt(now: number): Promise<FreezeSpan | null>
  /** which allow-window covers an item at `now` */
  coverage(now: number): Promise<(item: { path: string } | { option: string }) => AllowWindow | null>
}

/** What the gate remembers: the newest state it accepted. */
interface GateDoc {
  checked: string
  at: string
}

export class Gate {
  private readonly d: GateDeps

  constructor(deps: GateDeps) {
    this.d = deps
  }

  /**
   * Looks at what changed since the last accepted state. Returns the change request it opened, or null.
   * Call it after each snapshot, inside the daemon's one-at-a-time queue for the site.
   */
  async check(now = Date.now()): Promise<ChangeRequest | null> {
    const { site, docs } = this.d
    const head = await site.journal.head()
    if (!head) return null
    const doc = await docs.readDoc<GateDoc>('gate')
    if (doc?.checked === head) return null
    const accept = async (id: string) => docs.writeDoc('gate', { checked: id, at: new Date(now).toISOString() } satisfies GateDoc)
    if (!doc) return accept(head).then(() => null)
    const freeze = await this.d.freezeAt(now)
    // the commits since the last accepted state, newest first; a restore among them is the new base
    const log = await site.journal.log()
    const since = log.slice(0, Math.max(0, log.findIndex((c) => c.id === doc.checked)))
    const top = since[0]
    if (!freeze || !top || top.trailers['Peakguard-Restore-Of']) return accept(head).then(() => null)
    const restoreCommit = since.find((c) => c.trailers['Peakguard-Restore-Of'])
    const base = restoreCommit?.id ?? (log.some((c) => c.id === doc.checked) ? doc.checked : (since.at(-1)?.id ?? head))
    if (base === head) return accept(head).then(() => null)
    const diff = diffStates(await site.journal.readState(base), await site.journal.readState(head))
    const { rest, coveredBy } = uncovered(changeItems(diff), await this.d.coverage(now))
    if (isEmptyItems(rest)) {
      if (coveredBy.length)
        await this.d.audit.append({
          type: 'snapshot',
          actor: top.trailers['Peakguard-Caused-By-Who'] ?? top.trailers['Peakguard-Caused-By'] ?? 'unknown',
          site: site.id,
          summary: `change during the freeze accepted under allow-window ${coveredBy.map((w) => `${w.scope} (${w.reason}, by ${w.actor})`).join(', ')}`,
          details: { state: head, allowWindows: coveredBy.map((w) => w.id) },
        })
      return accept(head).then(() => null)
    }
    const attribution = attributionFromTrailers(top.trailers) ?? { kind: 'unknown' as const, who: null, label: 'unknown (recorded before attribution)' }
    const policy = this.d.policy
    const summary = [rest.paths.length ? rest.paths.join(', ') : '', rest.options.length ? `options ${rest.options.join(', ')}` : ''].filter(Boolean).join('; ')
    let request: ChangeRequest = {
      id: newRequestId(now),
      site: site.id,
      createdAt: new Date(now).toISOString(),
      base,
      attempted: head,
      items: rest,
      summary,
      attribution,
      policy,
      reverted: false,
      freeze: { source: freeze.source, end: new Date(freeze.end).toISOString() },
      requester: attribution.who ?? attribution.label,
      status: 'pending',
      decision: null,
      outcome: null,
    }
    const release = await docs.lockDocs()
    try {
      await saveRequest(docs, request)
      await this.d.audit.append({
        type: 'change-request',
        actor: attribution.who ?? attribution.label,
        site: site.id,
        summary: `change during freeze '${freeze.source}' without approval: ${summary} — by ${attribution.label}; policy ${policy}`,
        details: { request: request.id, base, attempted: head, items: rest, attribution, policy, freeze: request.freeze },
      })
      this.d.notify.notify({
        event: 'freeze-violation',
        site: site.id,
        summary: `change during freeze '${freeze.source}': ${summary} by ${attribution.label} — ${policy === 'revert' ? 'reverted, waiting for approval' : policy === 'hold' ? 'kept live, held for approval' : 'recorded'} (request ${request.id})`,
        details: { request: request.id, policy },
      })
      if (policy === 'revert') {
        const started = Date.now()
        const r = await restore(site, { target: base, only: { paths: rest.paths, options: rest.options }, actor: 'peakguard', reason: `freeze '${freeze.source}': change request ${request.id} reverted until approved` })
        request = { ...request, reverted: true, outcome: `reverted to ${short(base)} (${r.verified ? 'verified' : 'NOT verified'})` }
        await saveRequest(docs, request)
        await this.d.audit.append({
          type: 'revert',
          actor: 'peakguard',
          site: site.id,
          summary: `reverted change request ${request.id} (${summary}) to ${short(base)}: ${r.verified ? 'verified' : 'NOT verified'}`,
          details: { request: request.id, from: r.safetySnapshot, to: base, result: r.verified ? 'verified' : 'not verified', durationMs: Date.now() - started, snapshot: r.snapshot },
        })
        this.d.log.warn({ site: site.id, request: request.id, items: rest, ms: Date.now() - started }, 'freeze: change reverted, waiting for approval')
      } else this.d.log.warn({ site: site.id, request: request.id, items: rest, policy }, 'freeze: change held for approval')
      await accept((await site.journal.head()) ?? head)
      return request
    } finally {
      await release()
    }
  }
}
