// What makes a probe answer healthy: an answer at all, a body that is not one of WordPress's or PHP's error
// pages, an expected status code, the text the page must (and must not) hold, and an answer within the
// latency threshold — checked in that order, the first failure is the reason. A HEAD answer has no body:
// a HEAD probe configured with mustContain/mustNotContain fails with a reason saying so (loud rather than a
// probe that silently checks less than its operator believes).
import type { ProbeResponse, TextMatch } from './ports.ts'
import { visible } from './text.ts'

/** What judgeProbe checks; a ProbeSpec is one. Only status and maxLatencyMs are required. */
export interface ProbeRule {
  status: readonly number[]
  maxLatencyMs: number
  /** shown in the verdict; null or missing: the URL names the probe */
  name?: string | null
  /** HEAD: the answer has no body, so body checks cannot be made */
  method?: 'GET' | 'HEAD' | 'POST'
  /** each must be on the page: literal text (case-sensitive) or a regular expression */
  mustContain?: readonly TextMatch[]
  /** none may be on the page */
  mustNotContain?: readonly TextMatch[]
}

export interface ProbeVerdict {
  /** the probe's name as configured; null: the URL names it */
  name: string | null
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

/**
 * WordPress's own maintenance page (the `.maintenance` file its upgrader writes while it replaces a package): the site
 * is being updated, not broken — a round that meets it says nothing about the state's health. (WordPress ignores a
 * `.maintenance` older than 10 minutes, so a stuck update shows the site again rather than this page forever.)
 */
export function isMaintenancePage(r: ProbeResponse): boolean {
  return r.status === 503 && /Briefly unavailable for scheduled maintenance/i.test(r.body)
}

/** The longest piece of configured or page text quoted in a reason. */
const QUOTE_MAX = 100
/** How many failed text checks one reason names before it counts the rest. */
const LIST_MAX = 3

export function judgeProbe(r: ProbeResponse, rule: ProbeRule): ProbeVerdict {
  const verdict = (reason: string | null): ProbeVerdict => ({
    name: rule.name ?? null,
    url: r.url,
    ok: reason === null,
    status: r.status,
    latencyMs: Math.round(r.latencyMs),
    reason,
  })
  if (r.status === null) return verdict(`no answer: ${r.error ?? 'unknown error'}`)
  for (const [re, what] of BROKEN_PAGES) if (re.test(r.body)) return verdict(`the page is ${what} (HTTP ${r.status})`)
  // an answer came but could not be read to the end (the connection broke off, a redirect loop)
  if (r.error !== null) return verdict(`${r.error} (HTTP ${r.status})`)
  if (!rule.status.includes(r.status)) return verdict(`HTTP ${r.status}, expected ${rule.status.join(' or ')}`)
  const text = textProblems(r.body, rule)
  if (text) return verdict(text)
  if (r.latencyMs > rule.maxLatencyMs) return verdict(`answered in ${Math.round(r.latencyMs)} ms, more than the ${rule.maxLatencyMs} ms allowed`)
  return verdict(null)
}

/** What the page lacks or holds against the rule's text checks, in words; null when all pass. */
function textProblems(body: string, rule: ProbeRule): string | null {
  const must = rule.mustContain ?? []
  const mustNot = rule.mustNotContain ?? []
  if (!must.length && !mustNot.length) return null
  if (rule.method === 'HEAD') return 'mustContain/mustNotContain cannot be checked: a HEAD answer has no body (use method GET)'
  const problems: string[] = []
  for (const m of must) {
    const found = find(body, m)
    if (found.error) problems.push(found.error)
    else if (found.match === null) problems.push(`the page lacks ${describe(m)}`)
  }
  for (const m of mustNot) {
    const found = find(body, m)
    if (found.error) problems.push(found.error)
    else if (found.match !== null) problems.push(`the page holds ${describe(m)}${typeof m === 'string' ? '' : ` (${quote(found.match)})`}`)
  }
  if (!problems.length) return null
  const more = problems.length - LIST_MAX
  return problems.slice(0, LIST_MAX).join('; ') + (more > 0 ? `; and ${more} more` : '')
}

/** The first occurrence of `m` in `body` (null: none), or why the pattern cannot be used. */
function find(body: string, m: TextMatch): { match: string | null; error?: string } {
  if (typeof m === 'string') return { match: body.includes(m) ? m : null }
  let re: RegExp
  try {
    // g and y would make test() depend on the last call; the config allows neither
    re = new RegExp(m.regex, m.flags.replace(/[gy]/g, ''))
  } catch (e) {
    return { match: null, error: `${describe(m)} is not a regular expression: ${(e as Error).message}` }
  }
  return { match: re.exec(body)?.[0] ?? null }
}

/** A text check as the operator wrote it: "literal" or /regex/flags, bounded and on one line. */
function describe(m: TextMatch): string {
  return typeof m === 'string' ? quote(m) : `/${bounded(m.regex)}/${visible(m.flags)}`
}

function quote(text: string): string {
  return `"${bounded(text)}"`
}

/** At most QUOTE_MAX characters (cut ones shown as …), control characters shown as escapes. */
function bounded(text: string): string {
  const chars = [...text]
  return visible(chars.length > QUOTE_MAX ? `${chars.slice(0, QUOTE_MAX).join('')}…` : text)
}
