// What makes a probe answer healthy: an expected status code, a body that is not one of WordPress's or
// PHP's error pages, and an answer within the latency threshold.
import type { ProbeResponse } from './ports.ts'

export interface ProbeRule {
  status: readonly number[]
  maxLatencyMs: number
}

export interface ProbeVerdict {
  url: string
  ok: boolean
  status: number | null
  latencyMs: number
  /** why it failed, in words an operator understands; null when it passed */
  reason: string | null
}

/** Bodies that mean the site is broken whatever the status code says (themes can turn a fatal into a 200). */
const BROKEN_PAGES: readonly [RegExp, string][] = [
  [/There has been a critical error on (?:this|your) website/i, "WordPress's critical-error page"],
  [/<b>(?:Fatal|Parse) error<\/b>:/i, 'a PHP fatal error'],
  [/(?:PHP )?(?:Fatal|Parse) error: /, 'a PHP fatal error'],
  [/Error establishing a database connection/i, "WordPress's database-connection error page"],
]

export function judgeProbe(r: ProbeResponse, rule: ProbeRule): ProbeVerdict {
  const verdict = (reason: string | null): ProbeVerdict => ({ url: r.url, ok: reason === null, status: r.status, latencyMs: Math.round(r.latencyMs), reason })
  if (r.status === null) return verdict(`no answer: ${r.error ?? 'unknown error'}`)
  for (const [re, what] of BROKEN_PAGES) if (re.test(r.body)) return verdict(`the page is ${what} (HTTP ${r.status})`)
  if (!rule.status.includes(r.status)) return verdict(`HTTP ${r.status}, expected ${rule.status.join(' or ')}`)
  if (r.latencyMs > rule.maxLatencyMs) return verdict(`answered in ${Math.round(r.latencyMs)} ms, more than the ${rule.maxLatencyMs} ms allowed`)
  return verdict(null)
}
