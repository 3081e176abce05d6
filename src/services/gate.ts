// The gate: the freeze enforced outside WordPress. After every snapshot (and every few seconds) the
// daemon asks it whether the journal moved away from the last state it accepted while a freeze is on. A
// change that no allow-window covers becomes a change request and, under the default policy, is reverted
// at once (a partial restore of exactly what it touched); under `hold` it stays live, flagged; under
// `alert` it is only recorded and notified. A change that includes a database schema change or a migration
// marker is held whatever the policy: peakguard cannot revert a schema change, and a marker put back without
// its schema makes a plugin believe its tables are what they are not.
//
// Restores are authorized on their own (role-checked, audited; during a freeze only to states from before
// it), but only for what they restored: a restore's safety snapshot also records whatever else changed
// unnoticed just before it, and that is gated like any change. So the gate walks the journal from the
// last accepted state restore by restore: the changes up to a restore's safety snapshot that the restore
// did not put back are gated; what the restore wrote is accepted; then on to the next one.
import {
  changeItems,
  changesBetween,
  isEmptyUserStyles,
  schemaChangeText,
  schemaTables,
  visible,
  type SchemaChange,
  parseEntityName,
  type OptionEntry,
  type SiteState,
  type StateDiff,
  isEmptyItems,
  minusItems,
  sameItems,
  uncovered,
  wordsLine,
  wordsOfTrailer,
  type AllowWindow,
  type Attribution,
  type ChangeItems,
  type ChangeRequest,
  type CommitRecord,
  type FreezePolicy,
  type FreezeSpan,
  type LogPort,
} from '../core/index.ts'
import { attributionFromTrailers } from './attribution.ts'
import { markersOf } from './layout.ts'
import { listRequests, newRequestId, saveRequest, type GovernanceDeps } from './requests.ts'
import { shortId as short } from '../core/text.ts'
import { restore } from './writer.ts'
import type { Site } from './site.ts'

export interface GateDeps extends GovernanceDeps {
  site: Site
  log: LogPort
  policy: FreezePolicy
  /** the freeze governing `now`, or null */
  freezeAt(now: number): Promise<FreezeSpan | null>
  /** which allow-window covers an item at `now` */
  coverage(now: number): Promise<(item: { path: string } | { option: string }) => AllowWindow | null>
  /** every name a peakguard user acts under: theirs, and the OS users and WordPress logins mapped to them */
  identities(): Promise<(user: string) => readonly string[]>
}

/** What the gate remembers: the newest state it accepted. */
interface GateDoc {
  checked: string
  at: string
}

/** How many restores one check walks past before it leaves the rest to the next check. */
const MAX_STEPS = 20

export class Gate {
  private readonly d: GateDeps

  constructor(deps: GateDeps) {
    this.d = deps
  }

  /**
   * Looks at what changed since the last accepted state; returns the change requests it opened. Call it
   * inside the daemon's one-at-a-time queue for the site. Holds the governance documents' lock, so a
   * decision from the CLI never interleaves with it.
   */
  async check(now = Date.now()): Promise<ChangeRequest[]> {
    const release = await this.d.docs.lockDocs()
    try {
      const opened: ChangeRequest[] = []
      for (let step = 0; step < MAX_STEPS; step++) {
        const r = await this.step(now)
        if (r === 'done') break
        if (r) opened.push(r)
      }
      return opened
    } finally {
      await release()
    }
  }

  private async accept(id: string, now: number): Promise<'done'> {
    await this.d.docs.writeDoc('gate', { checked: id, at: new Date(now).toISOString() } satisfies GateDoc)
    return 'done'
  }

  /**
   * What changed from `from` to `to` that a freeze gates: the changes in tables both record, less the empty
   * user global-styles post WordPress makes when an editor loads (reverting it would only have WordPress make it
   * again at the next load, and open a request each time).
   */
  private async gated(from: SiteState, to: SiteState): Promise<StateDiff> {
    const d = changesBetween(from, to)
    const added = d.options.filter((o) => o.change === 'added' && o.to && parseEntityName(o.name)?.type === 'wp_global_styles')
    if (added.length === 0) return d
    const empty = new Set<string>()
    const byBlob = new Map(added.map((o) => [(o.to as OptionEntry).blob, o.name]))
    await this.d.site.journal.readBlobs([...byBlob.keys()], (blob, bytes) => {
      const name = byBlob.get(blob)
      if (name && isEmptyUserStyles(name, bytes)) empty.add(name)
    })
    return empty.size ? { ...d, options: d.options.filter((o) => !(o.change === 'added' && empty.has(o.name))) } : d
  }

  /** One segment: up to the next restore (or the head). 'done' when the head is accepted. */
  private async step(now: number): Promise<ChangeRequest | null | 'done'> {
    const { site, docs } = this.d
    const head = await site.journal.head()
    if (!head) return 'done'
    const doc = await docs.readDoc<GateDoc>('gate')
    if (doc?.checked === head) return 'done'
    // the first look: start from here; no freeze: everything is accepted (without reading the history)
    if (!doc) return this.accept(head, now)
    const freeze = await this.d.freezeAt(now)
    if (!freeze) return this.accept(head, now)
    const log = await site.journal.log()
    const at = log.findIndex((c) => c.id === doc.checked)
    // a journal rebuilt without the accepted state (recover --from-s3 of an older chain): start from here
    if (at < 0) return this.accept(head, now)
    const since = log.slice(0, at).reverse() // oldest first
    const restoreAt = since.findIndex((c) => c.trailers['Peakguard-Restore-Of'])
    const checked = doc.checked
    if (restoreAt >= 0) {
      const r = since[restoreAt] as CommitRecord
      const safety = r.trailers['Peakguard-Safety-Snapshot'] ?? checked
      // what the restore wrote is authorized; what changed before it and survived it is not
      const restored = changeItems(changesBetween(await site.journal.readState(safety), await site.journal.readState(r.id)))
      const changed = await this.gated(await site.journal.readState(checked), await site.journal.readState(safety))
      const authors = since.slice(0, restoreAt + 1)
      const opened = await this.gate(freeze, checked, safety, minusItems(changeItems(changed), restored), authors, now, changed.schema ?? [])
      // accept the restore; a revert by the gate just now is a restore after it, walked in the next step
      await this.accept(r.id, now)
      return opened
    }
    const changed = await this.gated(await site.journal.readState(checked), await site.journal.readState(head))
    const opened = await this.gate(freeze, checked, head, changeItems(changed), since, now, changed.schema ?? [])
    if (!opened || opened.policy !== 'revert') return (await this.accept(head, now), opened)
    // the revert (a restore commit after head) is walked in the next step: what changed meanwhile is gated there
    await this.accept(head, now)
    return opened
  }

  /**
   * Gates the change `items` (and `schema`, how the database schema changed with them) made between `base` and
   * `attempted`; returns the request, or null when all is covered. An allow-window never covers a schema change.
   */
  private async gate(freeze: FreezeSpan, base: string, attempted: string, items: ChangeItems, commits: CommitRecord[], now: number, schema: SchemaChange[]): Promise<ChangeRequest | null> {
    const { site, docs } = this.d
    if (isEmptyItems(items) && !schema.length) return null
    const attribution = attributionOf(commits)
    const covers = await this.d.coverage(now)
    const who = (attribution.who ?? '').toLowerCase()
    const namesOf = await this.d.identities()
    // an allow-window never covers a change by whoever opened it — by their peakguard name, their OS user or
    // their WordPress login: that would be approving your own change
    const { rest, coveredBy } = uncovered(items, (item) => {
      const w = covers(item)
      return w && !namesOf(w.actor).some((n) => n.toLowerCase() === who) ? w : null
    })
    if (coveredBy.length)
      await this.d.audit.append({
        type: 'snapshot',
        actor: attribution.who ?? attribution.label,
        site: site.id,
        summary: `change during the freeze accepted under allow-window ${coveredBy.map((w) => `${w.scope} (${w.reason}, by ${w.actor})`).join(', ')}`,
        details: { state: attempted, allowWindows: coveredBy.map((w) => w.id) },
      })
    if (isEmptyItems(rest) && !schema.length) return null
    const schemaWords = schema.map(schemaChangeText)
    const isMarker = markersOf(site)
    const held = heldWhy(schemaWords, rest.options.filter((n) => isMarker(n)))
    const policy: FreezePolicy = held ? 'hold' : this.d.policy
    // in words when the commits say it and all of their change is gated; the raw items stay in `items`
    const words = coveredBy.length ? [] : [...new Set(commits.flatMap((c) => wordsOfTrailer(c.trailers['Peakguard-Words']) ?? []))]
    const summary = words.length
      ? wordsLine(words, 6)
      : [rest.paths.join(', '), rest.options.length ? `options ${rest.options.map((n) => visible(n)).join(', ')}` : '', schemaWords.join('; ')].filter(Boolean).join('; ')
    // a request opened before a crash (or a failed revert) is resumed, never opened twice
    const existing = (await listRequests(docs)).find((x) => x.attempted === attempted && x.base === base)
    let request: ChangeRequest = existing ?? {
      id: newRequestId(now),
      site: site.id,
      createdAt: new Date(now).toISOString(),
      base,
      attempted,
      items: rest,
      ...(schemaWords.length ? { schema: schemaWords } : {}),
      ...(held ? { held } : {}),
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
    if (!existing) {
      await saveRequest(docs, request)
      await this.d.audit.append({
        type: 'change-request',
        actor: attribution.who ?? attribution.label,
        site: site.id,
        summary: `change during freeze '${freeze.source}' without approval: ${summary} — by ${attribution.label}; ${held ? `holds: ${held}` : `policy ${policy}`}`,
        details: { request: request.id, base, attempted, items: rest, attribution, policy, freeze: request.freeze, ...(held ? { held, schema: schemaWords } : {}) },
      })
      this.d.notify.notify({
        event: 'freeze-violation',
        site: site.id,
        summary: `change during freeze '${freeze.source}': ${summary} by ${attribution.label} — ${held ? `holds: ${held}; kept live, held for a decision` : policy === 'revert' ? 'reverted, waiting for approval' : policy === 'hold' ? 'kept live, held for approval' : 'recorded'} (request ${request.id})`,
        details: { request: request.id, policy, ...(held ? { held, schema: schemaWords, tables: schemaTables(schema) } : {}) },
      })
    }
    if (policy !== 'revert' || request.status !== 'pending') {
      if (!existing) this.d.log.warn({ site: site.id, request: request.id, items: rest, policy, ...(held ? { heldFor: schema.length ? 'schema change' : 'migration marker' } : {}) }, 'freeze: change held for approval')
      return request
    }
    // revert what is still as attempted (what changed again since is the next step's business)
    const live = await site.journal.readState((await site.journal.head()) ?? attempted)
    if (!sameItems(live, await site.journal.readState(attempted), rest)) return request
    const started = Date.now()
    const r = await restore(site, {
      target: base,
      only: { paths: rest.paths, options: rest.options },
      actor: 'peakguard',
      request: request.id,
      reason: `freeze '${freeze.source}': change request ${request.id} reverted until approved`,
      // what it reverts holds no schema change and no marker (those are held, above): a migration accepted earlier
      // (an allow-window) stays as it is live, as keepLayout keeps it — the revert must not stall the gate on it
      acrossSchemaChange: true,
    })
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
    return request
  }
}

/**
 * Why a change is held whatever the policy, in words a request, its audit entry and its notification show; null when
 * the policy decides. Tables and marker names only, never a value.
 */
export function heldWhy(schema: readonly string[], markers: readonly string[]): string | null {
  const parts: string[] = []
  if (schema.length) parts.push(`the database schema changed (${schema.join('; ')}); peakguard cannot revert a schema change`)
  if (markers.length) parts.push(`migration markers changed (${markers.map((n) => visible(n)).join(', ')}); peakguard does not put a marker back without the schema it describes`)
  return parts.length ? parts.join(', and ') : null
}

/** Who caused the changes in these commits: the newest attributed one (a snapshot before attribution: unknown). */
function attributionOf(commits: CommitRecord[]): Attribution {
  for (const c of [...commits].reverse()) {
    const a = attributionFromTrailers(c.trailers)
    if (a) return a
  }
  return { kind: 'unknown', who: null, label: 'unknown (no attribution recorded)' }
}
