// The tamper-evident audit log of one site: every entry carries the hash of the one before it, so an
// edited, removed or reordered entry breaks the chain at that point. Storage is a port (AuditStorePort);
// this file decides what an entry is, how it is hashed and how the chain is checked.
//
// Callers choose `details`, and must never put a secret or an option's value in it (a settings value can
// hold API keys): keys that name such things are refused outright, so a slip fails loudly in tests.
import { createHash } from 'node:crypto'
import { AUDIT_TYPES, type AuditEntry, type AuditInput, type AuditStorePort, type AuditType } from '../core/index.ts'
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
