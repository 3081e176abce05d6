// The tamper-evident audit log of one site: every entry carries the hash of the one before it, so an
// edited, removed or reordered entry breaks the chain at that point. Storage is a port (AuditStorePort);
// this file decides what an entry is, how it is hashed and how the chain is checked.
//
// Callers choose `details`, and must never put a secret or an option's value in it (a settings value can
// hold API keys): keys that name such things are refused outright, so a slip fails loudly in tests.
import { createHash } from 'node:crypto'
import { AUDIT_TYPES, shortId, visible, type AuditEntry, type AuditInput, type AuditStorePort, type AuditType } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'

/** Keys that would carry a secret or a settings value: never allowed anywhere inside details. */
const FORBIDDEN_KEYS = /^(value|values|old_?value|new_?value|option_?value|password|passwd|secret|token|bearer|authorization|cookie)$/i

export interface AuditProblem {
  /** the entry's seq when the line could be read */
  seq: number | null
  /** file:line */
  where: string
  problem: 'edited' | 'removed' | 'reordered' | 'unparseable'
  /** one line for people */
  message: string
}

export interface AuditVerifyReport {
  ok: boolean
  /** entries read (all lines, including bad ones) */
  entries: number
  first: { seq: number; time: string } | null
  last: { seq: number; time: string } | null
  firstBad: AuditProblem | null
}

export interface AuditQuery {
  /** epoch ms */
  since?: number
  until?: number
  actor?: string
  type?: string
}

/** JSON with object keys sorted at every depth: one text per value, so the hash does not depend on key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

export function entryHash(e: Omit<AuditEntry, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...rest } = e
  return createHash('sha256').update(canonicalJson(rest)).digest('hex')
}

function checkDetails(v: unknown, at: string): void {
  if (Array.isArray(v)) v.forEach((x, i) => checkDetails(x, `${at}[${i}]`))
  else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      if (FORBIDDEN_KEYS.test(k)) throw new PeakguardError('INTERNAL', `audit details must not carry secrets or option values (key ${at}.${k})`)
      checkDetails(x, `${at}.${k}`)
    }
}

function parse(line: string): AuditEntry | null {
  try {
    const e = JSON.parse(line) as AuditEntry
    return e && typeof e === 'object' && typeof e.seq === 'number' && typeof e.hash === 'string' ? e : null
  } catch {
    return null
  }
}

export class AuditLog {
  private readonly store: AuditStorePort
  private readonly now: () => Date

  constructor(store: AuditStorePort, now: () => Date = () => new Date()) {
    this.store = store
    this.now = now
  }

  /** Appends one entry under the store's lock; resolves once it is on disk. */
  async append(input: AuditInput): Promise<AuditEntry> {
    if (!(AUDIT_TYPES as readonly string[]).includes(input.type)) throw new PeakguardError('INTERNAL', `unknown audit type ${input.type}`)
    if (input.details !== undefined) checkDetails(input.details, 'details')
    const release = await this.store.lock()
    try {
      const prev = await this.lastEntry()
      const entry: Omit<AuditEntry, 'hash'> = {
        type: input.type,
        actor: input.actor,
        site: input.site,
        summary: input.summary,
        ...(input.details !== undefined ? { details: input.details } : {}),
        seq: prev ? prev.seq + 1 : 1,
        time: this.now().toISOString(),
        prev: prev ? prev.hash : '',
      }
      const full: AuditEntry = { ...entry, hash: entryHash(entry) }
      await this.store.append(canonicalJson(full))
      return full
    } finally {
      await release()
    }
  }

  /** The last readable entry: a torn or damaged last line does not stop the log (verify reports it). */
  private async lastEntry(): Promise<AuditEntry | null> {
    const line = await this.store.last()
    if (line === null) return null
    const e = parse(line)
    if (e) return e
    const all = await this.store.readAll()
    for (let i = all.length - 1; i >= 0; i--) {
      const x = parse((all[i] as { line: string }).line)
      if (x) return x
    }
    return null
  }

  /** Walks the chain from the first entry; reports the first line that breaks it. */
  async verify(): Promise<AuditVerifyReport> {
    const lines = await this.store.readAll()
    const parsed = lines.map((l) => parse(l.line))
    let expectSeq = 1
    let expectPrev = ''
    let first: AuditVerifyReport['first'] = null
    let last: AuditVerifyReport['last'] = null
    const bad = (i: number, seq: number | null, problem: AuditProblem['problem'], message: string): AuditVerifyReport => ({
      ok: false,
      entries: lines.length,
      first,
      last,
      firstBad: { seq, where: (lines[i] as { where: string }).where, problem, message: `${(lines[i] as { where: string }).where}: ${message}` },
    })
    for (let i = 0; i < lines.length; i++) {
      const e = parsed[i]
      if (!e) return bad(i, null, 'unparseable', 'the line is not an audit entry (damaged, or written by something else)')
      if (entryHash(e) !== e.hash) return bad(i, e.seq, 'edited', `entry seq ${e.seq} was edited: its content no longer matches its hash`)
      if (e.seq !== expectSeq) {
        // the missing entry further down means lines were moved; nowhere at all means it was taken out
        const later = parsed.slice(i + 1).some((x) => x?.seq === expectSeq)
        if (later || e.seq < expectSeq)
          return bad(i, e.seq, 'reordered', `entry seq ${e.seq} stands where seq ${expectSeq} belongs: entries were reordered`)
        return bad(i, e.seq, 'removed', `entry seq ${expectSeq}${e.seq - expectSeq > 1 ? `–${e.seq - 1}` : ''} was removed (found seq ${e.seq} next)`)
      }
      if (e.prev !== expectPrev) return bad(i, e.seq, 'edited', `entry seq ${e.seq} does not follow the entry before it (its prev hash differs): the log was rewritten`)
      first ??= { seq: e.seq, time: e.time }
      last = { seq: e.seq, time: e.time }
      expectSeq = e.seq + 1
      expectPrev = e.hash
    }
    return { ok: true, entries: lines.length, first, last, firstBad: null }
  }

  /** Readable entries that match every given filter, oldest first. */
  async query(q: AuditQuery = {}): Promise<AuditEntry[]> {
    const out: AuditEntry[] = []
    for (const { line } of await this.store.readAll()) {
      const e = parse(line)
      if (!e) continue
      const t = Date.parse(e.time)
      if (q.since !== undefined && !(t >= q.since)) continue
      if (q.until !== undefined && !(t <= q.until)) continue
      if (q.actor !== undefined && e.actor !== q.actor) continue
      if (q.type !== undefined && e.type !== (q.type as AuditType)) continue
      out.push(e)
    }
    return out
  }
}

// ---- refused requests ------------------------------------------------------------------------------
//
// What the UI and the API refused — a role too low (403), a missing or wrong CSRF token (403), a bad API
// token (401), a login while locked out (429), a wrong password (401) — as audit entries, rate limited by
// DenialRecorder so that a flood of refused requests cannot fill the disk: what is not written one by one
// is counted, and the count written as one entry per address when the minute ends.

type Entry = Omit<AuditInput, 'site'>

/**
 * Text taken from a request (a path, an address) as the audit log keeps it: printable ASCII only (anything
 * else, a newline or an escape sequence included, becomes '?'), at most `max` characters. Such text never
 * reaches a terminal or a page as the requester wrote it.
 */
export function requestText(s: string, max = 100): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?')
  return t.length > max ? `${t.slice(0, max)}...` : t
}

/** A refused request: what was tried and from where. */
export interface RefusedRequest {
  /** the method (through requestText) */
  method: string
  /** the route's pattern ('/api/sites/:site/restores'), else the path through requestText */
  route: string
  /** the remote address (through requestText) */
  ip: string
  /** the pages or /api */
  via: 'web' | 'api'
}

const attemptDetails = (r: RefusedRequest) => ({ method: r.method, route: r.route, ip: r.ip, channel: r.via })
/** 'POST /api/sites/:site/restores' */
const attempt = (r: RefusedRequest) => `${r.method} ${r.route}`

/** The audit entries of refused requests (the daemon's, and — for a wrong password or token — the CLI's). */
/**
 * A person's restore in the audit log: one shape, whether operate.ts writes it (a failure, or a site without
 * an audit log of its own) or the writer does, with the restore or after a crash (writer.ts). With `purges`
 * it lists each purge of what caches pages and how it ended (and the check of the page past the caches);
 * `step: 'caches'` makes it the entry that follows a restore's own with just that (the writer's: the purges
 * run after the restore's entry is written, see writer.ts).
 */
/** Tables and markers of an acknowledged crossing, for the audit summary (names only: never a value). */
function layoutSummary(l: { tables: readonly string[]; markers: readonly string[]; restored?: readonly string[] }): string {
  const parts = []
  if (l.tables.length) parts.push(`schema of ${l.tables.map((t) => visible(t)).join(', ')} kept`)
  if (l.markers.length) parts.push(`markers ${l.markers.map((m) => visible(m)).join(', ')} kept`)
  if (l.restored?.length) parts.push(`markers ${l.restored.map((m) => visible(m)).join(', ')} restored`)
  return parts.join('; ') || 'nothing differed by then'
}

export function restoreAudit(r: {
  actor: string
  site: string
  target: string
  /** the safety snapshot, null when the restore failed before it */
  from: string | null
  verified: boolean
  message?: string
  durationMs: number
  onlyText?: readonly string[]
  /** the start of the restore's intent: how the next writer knows the entry is written already */
  intent?: string
  /** each cache purge after the restore (names and details hold no secret: the purgers see to that) */
  purges?: readonly { name: string; kind: string; ok: boolean; detail: string }[]
  /** the check of the page past every cache, after the purges */
  probe?: { ok: boolean; detail: string } | null
  /** 'caches': the entry after the restore's own, for its purges */
  step?: 'caches'
  /** a restore across a database migration, acknowledged: the tables whose schema changed, the markers kept (or restored) */
  layout?: { tables: readonly string[]; markers: readonly string[]; restored?: readonly string[] }
}): AuditInput {
  const result = r.verified ? 'verified' : 'failed'
  const purges = r.purges?.length ? r.purges.map((p) => ({ name: p.name, kind: p.kind, ok: p.ok, detail: p.detail })) : null
  const caches = purges ? purgeSummary(purges, r.probe ?? null) : ''
  return {
    type: 'restore',
    actor: r.actor,
    site: r.site,
    summary:
      r.step === 'caches'
        ? `caches after ${r.actor}'s restore of ${shortId(r.target)}: ${caches}`
        : `${r.actor} restored ${shortId(r.target)}: ${result}${r.message ? ` (${r.message})` : ''}${r.layout ? `; across a schema change, acknowledged (${layoutSummary(r.layout)})` : ''}${caches ? `; caches: ${caches}` : ''}`,
    details: {
      from: r.from,
      to: r.target,
      result,
      ...(r.step ? { step: r.step } : {}),
      ...(r.message ? { message: r.message } : {}),
      durationMs: r.durationMs,
      ...(r.onlyText?.length ? { only: [...r.onlyText] } : {}),
      ...(r.layout ? { acrossSchemaChange: { tables: [...r.layout.tables], markersKept: [...r.layout.markers], markersRestored: [...(r.layout.restored ?? [])] } } : {}),
      ...(r.intent ? { intent: r.intent } : {}),
      ...(purges ? { purges } : {}),
      ...(purges && r.probe ? { probe: { ok: r.probe.ok, detail: r.probe.detail } } : {}),
    },
  }
}

/** "WP Super Cache purged, PURGE http://127.0.0.1:6081/ FAILED; page confirmed" — the details say why. */
function purgeSummary(purges: readonly { name: string; ok: boolean }[], probe: { ok: boolean } | null): string {
  const shown = purges.slice(0, 10).map((p) => `${p.name} ${p.ok ? 'purged' : 'FAILED'}`)
  if (purges.length > 10) shown.push(`${purges.length - 10} more`)
  return shown.join(', ') + (probe ? `; page ${probe.ok ? 'confirmed' : 'NOT confirmed'} past the caches` : '')
}

export const deniedAudit = {
  /** 403: the actor's role may not do this */
  role(r: RefusedRequest, who: { name: string; role: string; via: string }): Entry {
    return {
      type: 'access-denied',
      actor: who.name,
      summary: `refused ${attempt(r)} to ${who.name} (role ${who.role}, by ${who.via}) from ${r.ip}: the role may not do this (403)`,
      details: { kind: 'role', status: 403, ...attemptDetails(r), role: who.role, via: who.via },
    }
  },
  /** 403: a state-changing request without its form's CSRF token (a forged form, or one from an ended session) */
  csrf(r: RefusedRequest, who: string): Entry {
    return {
      type: 'access-denied',
      actor: who,
      summary: `refused ${attempt(r)} from ${r.ip}${who === 'anonymous' ? '' : ` (session of ${who})`}: missing or wrong CSRF token (403)`,
      details: { kind: 'csrf', status: 403, ...attemptDetails(r) },
    }
  },
  /** 429: a login while the name or the address is locked out (its password was not checked) */
  lockedOut(r: RefusedRequest, who: string): Entry {
    return {
      type: 'access-denied',
      actor: who,
      summary: `refused ${attempt(r)}${who === 'anonymous' ? '' : ` as ${who}`} from ${r.ip}: locked out after repeated failed logins (429)`,
      details: { kind: 'locked-out', status: 429, ...attemptDetails(r) },
    }
  },
  /**
   * 401 / exit 5: a wrong password or token, from the login page, the API or the CLI. `as` is the actor
   * recorded (a name only when such a user exists, else what the caller chose: 'unknown', 'anonymous');
   * `shown` how the summary names it. Never the secret.
   */
  loginFailed(o: { via: 'web' | 'password' | 'token'; as: string; shown?: string; ip?: string; osUser?: string; attempt?: RefusedRequest }): Entry {
    const where = o.attempt ? ` on ${attempt(o.attempt)}` : ''
    const ip = o.ip ?? o.attempt?.ip
    const from = o.osUser ? ` (OS user ${o.osUser})` : ip ? ` from ${ip}` : ''
    return {
      type: 'login-failed',
      actor: o.as,
      summary: `failed ${o.via} login as ${o.shown ?? o.as}${where}${from}`,
      details: {
        via: o.via,
        ...(o.attempt ? { ...attemptDetails(o.attempt), status: 401 } : o.ip ? { ip: o.ip } : {}),
        ...(o.osUser ? { osUser: o.osUser } : {}),
      },
    }
  },
}

/** How many refused requests are written one by one, per window. */
export interface DenialLimits {
  /** the window: counts start again after it */
  windowMs: number
  /** refused requests (role, CSRF, token, lockout) written per address */
  perAddress: number
  /** refused requests written from all addresses together */
  denials: number
  /** failed logins written from all addresses together (per address the login lockout already limits them) */
  logins: number
  /** addresses counted one by one; requests from further ones are counted together */
  addresses: number
  /** addresses named in a summary entry of their own at the window's end; the rest share one */
  summaries: number
}

export const DENIAL_LIMITS: DenialLimits = { windowMs: 60_000, perAddress: 10, denials: 20, logins: 20, addresses: 10_000, summaries: 5 }

interface Tally {
  ip: string
  written: number
  suppressed: number
  kinds: Record<string, number>
}

const countKind = (kinds: Record<string, number>, kind: string, n = 1) => void (kinds[kind] = (kinds[kind] ?? 0) + n)
const kindsText = (kinds: Record<string, number>) =>
  Object.entries(kinds)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')

/**
 * Writes the entries of refused requests, at most `perAddress` per address and `denials` in all (and
 * `logins` failed logins) per window; the rest are counted, and when the window ends one entry per address
 * (for the `summaries` busiest; one for all the others) says how many were left out: "M more refused requests
 * from ADDR suppressed". Memory stays bounded: at most `addresses` addresses are tracked per window. Writes
 * go one at a time; a failed write goes to `onError`, never to the request that was refused.
 */
export class DenialRecorder {
  private readonly write: (input: Entry) => Promise<void>
  private readonly limits: DenialLimits
  private readonly now: () => number
  private readonly onError: (e: unknown) => void
  /** when the window began (0: none yet) */
  private start = 0
  private denials = 0
  private logins = 0
  private readonly byAddress = new Map<string, Tally>()
  /** requests left out from addresses beyond `limits.addresses` */
  private untracked: { suppressed: number; kinds: Record<string, number> } = { suppressed: 0, kinds: {} }
  private timer: ReturnType<typeof setTimeout> | null = null
  private queue: Promise<void> = Promise.resolve()

  constructor(write: (input: Entry) => Promise<void>, o: { limits?: Partial<DenialLimits>; now?: () => number; onError?: (e: unknown) => void } = {}) {
    this.write = write
    this.limits = { ...DENIAL_LIMITS, ...o.limits }
    this.now = o.now ?? Date.now
    this.onError = o.onError ?? (() => undefined)
  }

  /**
   * Writes the entry `make` builds (it may look something up: it runs only when the entry is written), unless
   * the window's limits are reached; then it is only counted. `key` is what the per-address limit counts (an
   * IPv6 client's /64, say), `ip` how the address is shown, `kind` names the refusal in the summaries; `login`:
   * a failed login, counted against `logins` only. Resolves once the entry is written (at once when it is
   * not); never rejects.
   */
  record(r: { key: string; ip: string; kind: string; login?: boolean }, make: () => Entry | Promise<Entry>): Promise<void> {
    this.roll()
    const key = requestText(r.key, 64)
    let tally = this.byAddress.get(key)
    if (!tally && this.byAddress.size < this.limits.addresses) {
      tally = { ip: requestText(r.ip, 64), written: 0, suppressed: 0, kinds: {} }
      this.byAddress.set(key, tally)
    }
    const allowed = !!tally && (r.login ? this.logins < this.limits.logins : this.denials < this.limits.denials && tally.written < this.limits.perAddress)
    if (!allowed || !tally) {
      const into = tally ?? this.untracked
      into.suppressed++
      countKind(into.kinds, r.kind)
      this.arm()
      return Promise.resolve()
    }
    if (r.login) this.logins++
    else {
      this.denials++
      tally.written++
    }
    return this.enqueue(make)
  }

  /** Writes what is left out so far now, not at the window's end (a daemon that stops). */
  flush(): Promise<void> {
    this.roll(true)
    return this.queue
  }

  private enqueue(make: () => Entry | Promise<Entry>): Promise<void> {
    const done = this.queue.then(async () => this.write(await make())).catch((e: unknown) => this.onError(e))
    this.queue = done
    return done
  }

  /** A timer for the window's end, when something was left out: its count is written then, not at the next refusal. */
  private arm(): void {
    if (this.timer) return
    this.timer = setTimeout(
      () => {
        this.timer = null
        this.roll()
        if (this.untracked.suppressed || [...this.byAddress.values()].some((t) => t.suppressed)) this.arm()
      },
      Math.max(1, this.start + this.limits.windowMs - this.now() + 1),
    )
    this.timer.unref?.()
  }

  /** Ends the window once it is over (or now, with `force`): writes what it left out, and counts afresh. */
  private roll(force = false): void {
    const now = this.now()
    if (!force && this.start && now - this.start < this.limits.windowMs) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    const from = this.start
    const left = [...this.byAddress.values()].filter((t) => t.suppressed > 0).sort((a, b) => b.suppressed - a.suppressed)
    const named = left.slice(0, this.limits.summaries)
    const rest = { suppressed: this.untracked.suppressed, kinds: { ...this.untracked.kinds }, addresses: left.length - named.length, untracked: this.untracked.suppressed }
    for (const t of left.slice(this.limits.summaries)) {
      rest.suppressed += t.suppressed
      for (const [k, n] of Object.entries(t.kinds)) countKind(rest.kinds, k, n)
    }
    this.start = now
    this.denials = 0
    this.logins = 0
    this.byAddress.clear()
    this.untracked = { suppressed: 0, kinds: {} }
    if (!from) return
    const window = { since: new Date(from).toISOString(), until: new Date(Math.min(now, from + this.limits.windowMs)).toISOString() }
    const during = `between ${window.since} and ${window.until}`
    for (const t of named)
      void this.enqueue(() => ({
        type: 'access-denied',
        actor: 'peakguard',
        summary: `${t.suppressed} more denied request${t.suppressed === 1 ? '' : 's'} from ${t.ip} suppressed (${kindsText(t.kinds)}) ${during}`,
        details: { kind: 'suppressed', ip: t.ip, count: t.suppressed, kinds: t.kinds, ...window },
      }))
    if (rest.suppressed) {
      const whence = [rest.addresses ? `${rest.addresses} other address${rest.addresses === 1 ? '' : 'es'}` : '', rest.untracked ? `${rest.untracked} from addresses not tracked one by one` : '']
      void this.enqueue(() => ({
        type: 'access-denied',
        actor: 'peakguard',
        summary: `${rest.suppressed} more denied request${rest.suppressed === 1 ? '' : 's'} suppressed (${whence.filter(Boolean).join('; ')}: ${kindsText(rest.kinds)}) ${during}`,
        details: { kind: 'suppressed', ip: 'others', count: rest.suppressed, addresses: rest.addresses, untracked: rest.untracked, kinds: rest.kinds, ...window },
      }))
    }
  }
}
