// Secrets in values that are about to be shown to someone (option values on the state and requests pages):
// found by the name they are kept under — at any depth, in parsed values and in raw text alike — and by
// their shape (known key prefixes, private keys, JWTs, passwords in URLs, long random tokens). Pure: the
// caller says how a hidden secret is written (`Mask`, e.g. with a short hash). When in doubt, hidden.

/** How a hidden secret is written; it gets the secret's text (for a fingerprint that shows a change). */
export type Mask = (secret: string) => string

/** Structures deeper than this are not walked: what lies below is hidden whole. */
export const SECRET_DEPTH = 32
/** Objects and arrays walked in one value at most; the rest is hidden whole. */
const SECRET_NODES = 100_000

/**
 * Names (of options, keys, fields, variables) whose values are secrets. A substring test, so `api_key`,
 * `stripe_secret`, `smtp_pass`, `AUTH_SALT`, `access_token`, `sentry_dsn` all hit; `author` does not.
 */
const SECRET_NAME = /key|secret|pass|pwd|token|salt|auth(?!or)|credential|private|signature|bearer|cookie|session|nonce|dsn/i

export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name)
}

/** Secrets recognised by their shape: the key formats of well-known services. */
const KNOWN: RegExp[] = [
  // PEM private keys (RSA, EC, OpenSSH, PKCS#8, encrypted): to the END line, or to the end of the text
  /-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|$)/g,
  // Stripe secret, restricted and publishable keys, webhook signing secrets
  /(?<![A-Za-z0-9])(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{6,}/g,
  /(?<![A-Za-z0-9])whsec_[A-Za-z0-9]{16,}/g,
  // AWS access key ids (long-term and temporary)
  /(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/g,
  // GitHub tokens
  /(?<![A-Za-z0-9])(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}/g,
  /(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{20,}/g,
  // GitLab, Slack, Google API, npm, PyPI, OpenAI/Anthropic, SendGrid, Shopify, Mailgun
  /(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{16,}/g,
  /(?<![A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}/g,
  /(?<![A-Za-z0-9])xapp-[A-Za-z0-9-]{10,}/g,
  /(?<![A-Za-z0-9])AIza[A-Za-z0-9_-]{30,}/g,
  /(?<![A-Za-z0-9])npm_[A-Za-z0-9]{30,}/g,
  /(?<![A-Za-z0-9])pypi-[A-Za-z0-9_-]{30,}/g,
  /(?<![A-Za-z0-9])sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}/g,
  /(?<![A-Za-z0-9])SG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/g,
  /(?<![A-Za-z0-9])shp(?:at|ss|ca|pa)_[A-Fa-f0-9]{32}/g,
  /(?<![A-Za-z0-9])key-[A-Fa-f0-9]{32}/g,
  // JSON web tokens (a signed session or API token: header.payload.signature, the signature may be empty)
  /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g,
  // webhook URLs whose path is the secret
  /hooks\.slack\.com\/(?:services|workflows|triggers)\/[A-Za-z0-9/_-]+/g,
  /discord(?:app)?\.com\/api\/webhooks\/[A-Za-z0-9/_-]+/g,
]

/** A password in a URL (`scheme://user:password@host`): the password. */
const URL_PASSWORD = /((?<![a-z0-9+.-])[a-z][a-z0-9+.-]{0,30}:\/\/[^\s:@/"'<>\\]{0,256}:)([^\s@"'<>\\]{1,256})(?=@)/gi
/** The credentials after an HTTP authorization scheme. */
const AUTH_SCHEME = /(\b(?:Bearer|Basic|Digest|Token)\s+)([A-Za-z0-9._~+/=-]{8,})/g
/** Candidates for a long random token: base64 (also URL-safe; `=` only as its padding), hex and the like. */
const TOKEN = /[A-Za-z0-9_\-+/]{19,}={0,3}/g
/** License-key style groups: ABCD-1234-EFGH-5678. */
const GROUPED = /^[A-Z0-9]{4,8}(?:-[A-Z0-9]{4,8}){3,}$/

/** Shannon entropy of `s` in bits per character. */
export function entropy(s: string): number {
  const n = new Map<string, number>()
  for (const c of s) n.set(c, (n.get(c) ?? 0) + 1)
  let h = 0
  for (const k of n.values()) {
    const p = k / s.length
    h -= p * Math.log2(p)
  }
  return h
}

/**
 * A long random-looking token: ≥ 32 hex digits mixing digits and letters; license-key style groups
 * (`ABCD-1234-EFGH-5678`, upper-case UUIDs); or ≥ 24 characters of base64 or URL-safe text with a run of
 * ≥ 10 between separators, mixing letters and digits (or both cases), with ≥ 3 bits of entropy a
 * character, and not made of words. Words, slugs, paths, identifiers (`WooCommercePaymentGateway2`),
 * short ids and version numbers stay visible. A heuristic: about 1 random token in 1000 reads as words.
 */
export function isRandomToken(tok: string): boolean {
  const t = tok.replace(/^[-_+/=]+|[-_+/=]+$/g, '')
  if (GROUPED.test(t)) return /\d/.test(t) && /[A-Z]/.test(t)
  if (t.length < 24) return false
  if (/^[0-9a-f]+$/i.test(t)) return t.length >= 32 && /\d/.test(t) && /[a-f]/i.test(t) && entropy(t) >= 2.5
  const run = t.split(/[-_/.]/).reduce((n, x) => Math.max(n, x.length), 0)
  if (run < 10 || wordy(t)) return false
  const lower = /[a-z]/.test(t)
  const upper = /[A-Z]/.test(t)
  const digit = /\d/.test(t)
  if (!((lower || upper) && digit) && !(lower && upper)) return false
  return entropy(t) >= 3
}

/**
 * Made of words, as identifiers, slugs and paths are: split at separators, digits and case humps, every
 * part of letters is a word (`word`) or a short acronym, the words average ≥ 3.5 letters, at most one is
 * a single letter — `WooCommercePaymentGateway`, `Version9Point4`, `wp-content/themes/child`, not
 * `Zx8Kq2LmP9vR4tY7` or `yczaj60jyqdmebpla5ymk3qu`.
 */
function wordy(t: string): boolean {
  // one case and no separators, letters parted only by digits here and there: not how names are written
  if (!/[-_/+=.]/.test(t) && !(/[a-z]/.test(t) && /[A-Z]/.test(t)) && (t.match(/\d+/g) ?? []).length > 1) return false
  const parts = t.split(/[-_/+=.]+|(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])/).filter(Boolean)
  const words = parts.filter((p) => !/^\d+$/.test(p))
  if (!words.length || words.reduce((n, p) => n + p.length, 0) / words.length < 3.5 || words.filter((p) => p.length === 1).length > 1) return false
  return parts.every((p) => /^\d{1,4}$/.test(p) || /^[A-Z]{1,4}$/.test(p) || (/^[A-Z]?[a-z]+$/.test(p) && word(p)))
}

/**
 * Reads as a word: a vowel in all but the shortest (≤ 4 letters: an abbreviation, `css`, `html`), no 5
 * consonants in a row, and a long one a fifth vowels or more.
 */
function word(p: string): boolean {
  const vowels = p.replace(/[^aeiou]/gi, '').length
  if (!vowels) return p.length <= 4
  if (/[^aeiouy]{5}/i.test(p)) return false
  return p.length < 8 || vowels / p.length >= 0.2
}

/** Whether `text` holds anything of a secret's shape (a known key format, a password in a URL, a random token). */
export function hasSecretShape(text: string): boolean {
  let found = false
  redactShapes(text, (s) => ((found = true), s))
  return found
}

// Placeholders for what is already hidden, so that a later rule neither matches inside nor reveals it.
const OPEN = '\uE000'
const CLOSE = '\uE001'
const PLACEHOLDER = /\uE000(\d+)\uE001/g

class Hider {
  readonly found: string[] = []
  /** The original text of `s`, any placeholders in it put back. */
  raw(s: string): string {
    return s.replace(PLACEHOLDER, (m, i: string) => (this.found[Number(i)] !== undefined ? this.raw(this.found[Number(i)] as string) : m))
  }
  hide = (s: string): string => {
    this.found.push(this.raw(s))
    return `${OPEN}${this.found.length - 1}${CLOSE}`
  }
  finish(text: string, mask: Mask): string {
    return text.replace(PLACEHOLDER, (m, i: string) => (this.found[Number(i)] !== undefined ? mask(this.found[Number(i)] as string) : m))
  }
}

function redactShapes(text: string, hide: (s: string) => string): string {
  let t = text
  for (const re of KNOWN) t = t.replace(re, hide)
  t = t.replace(URL_PASSWORD, (_m, pre: string, pw: string) => pre + hide(pw))
  t = t.replace(AUTH_SCHEME, (m, pre: string, cred: string) => (/^[a-z]+$/.test(cred) ? m : pre + hide(cred)))
  t = t.replace(TOKEN, (m) => (isRandomToken(m) ? hide(m) : m))
  return t
}

/** Values that hold nothing to hide: showing them tells that a secret was set, cleared or switched on. */
const BLANK = /^(?:|""|''|null|NULL|true|false|N;|b:[01];|s:0:"";|\\"\\"|\[\]|\{\}|a:0:\{\})$/

/**
 * The end of the value starting at `i` in raw text (JSON, a PHP array literal, ini or query text): a quoted
 * string (also one escaped inside another string), a bracketed structure, or a bare word. Unterminated: the
 * end of the text — when in doubt, hidden.
 */
function valueEnd(t: string, i: number): number {
  const c = t[i]
  if (c === '{' || c === '[') return bracketEnd(t, i)
  let b = 0
  while (t[i + b] === '\\' && b < 8) b++
  const q = t[i + b]
  if (q === '"' || q === "'") {
    const close = '\\'.repeat(b) + q
    let j = i + b + 1
    for (;;) {
      const k = t.indexOf(close, j)
      if (k < 0) return t.length
      // an unescaped quote: not preceded by a backslash beyond the escaping the string itself carries
      if (b === 0 && isEscaped(t, k)) {
        j = k + 1
        continue
      }
      return k + close.length
    }
  }
  const m = /^[^\s,;&}\])<>"']*/.exec(t.slice(i))
  return i + (m?.[0].length ?? 0)
}

function isEscaped(t: string, k: number): boolean {
  let n = 0
  while (t[k - 1 - n] === '\\') n++
  return n % 2 === 1
}

/** The end of the bracketed structure opening at `i`, quoted strings skipped; unbalanced: the end of the text. */
function bracketEnd(t: string, i: number): number {
  let depth = 0
  for (let j = i; j < t.length; j++) {
    const c = t[j]
    if (c === '"' && !isEscaped(t, j)) {
      let k = j + 1
      while (k < t.length && !(t[k] === '"' && !isEscaped(t, k))) k++
      j = k
    } else if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      depth--
      if (depth === 0) return j + 1
    }
  }
  return t.length
}

/** The index in `t` that lies `bytes` UTF-8 bytes after `start` (or past the end). */
function byteOffset(t: string, start: number, bytes: number): number {
  let j = start
  for (let n = 0; n < bytes && j < t.length; j++) {
    const c = t.codePointAt(j) as number
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
    if (c >= 0x10000) j++
  }
  return j
}

/** `s:N:"name";` — a key in PHP's serialize() format. */
const SERIALIZED_KEY = /s:\d+:"([^"]{0,200})";/g
/** Where a serialized value may end: before the next item, the end of its array, or the end of the text. */
const SERIALIZED_NEXT = /";(?=[sidbaOCNrR][:;]|\}|$)/g

/** The end of the serialized value starting at `i` (wrong lengths allowed); unreadable: the end of the text. */
function serializedEnd(t: string, i: number): number {
  const rest = t.slice(i)
  const str = /^s:(\d+):"/.exec(rest)
  if (str) {
    // the declared length (in UTF-8 bytes) when it ends the string, or the first `";` before another item:
    // the further of the two, so that a wrong length (either way) hides too much rather than too little
    const start = i + str[0].length
    const declared = byteOffset(t, start, Number(str[1]))
    SERIALIZED_NEXT.lastIndex = start
    const m = SERIALIZED_NEXT.exec(t)
    const guessed = m ? m.index + 2 : t.length
    return t.startsWith('";', declared) ? Math.max(declared + 2, guessed) : guessed
  }
  const scalar = /^(?:[idb]:[^;]*;|N;)/.exec(rest)
  if (scalar) return i + scalar[0].length
  const nested = /^(?:a:\d+:|[OC]:\d+:"[^"]*":\d+:)\{/.exec(rest)
  if (nested) {
    let depth = 0
    for (let j = i + nested[0].length - 1; j < t.length; j++) {
      if (t[j] === '{') depth++
      else if (t[j] === '}' && --depth === 0) return j + 1
    }
    return t.length
  }
  // not a serialized value after all: the next item, else the rest
  const semi = t.indexOf(';', i)
  return semi < 0 ? t.length : semi + 1
}

/** Pairs `"name": value`, `'name' => value`, `name=value`, `NAME: value` (the name is tested by the caller). */
const NAMED_PAIR = /(\\{0,8}"([^"\\\n]{1,120})\\{0,8}"|'([^'\\\n]{1,120})'|\b([A-Za-z_][\w.-]{0,119}))\s*(?:=>|:(?!\/\/|:)|=(?!=|>))[ \t]*/g

/**
 * Hides the value after each key that `keys` finds and `secret` accepts, up to `endOf`; blank values stay.
 * Built in one pass (a hostile value with thousands of keys costs no more than its length).
 */
function hideAfterKeys(t: string, keys: RegExp, secret: (m: RegExpExecArray) => boolean, endOf: (t: string, at: number) => number, hide: (s: string) => string): string {
  const out: string[] = []
  let pos = 0
  for (let from = 0; from < t.length; ) {
    keys.lastIndex = from
    const m = keys.exec(t)
    if (!m) break
    const at = m.index + m[0].length
    from = Math.max(at, m.index + 1)
    if (!secret(m) || at >= t.length) continue
    const end = endOf(t, at)
    const value = t.slice(at, end)
    if (BLANK.test(value.trim())) continue
    out.push(t.slice(pos, at), hide(value))
    pos = from = Math.max(end, from)
  }
  out.push(t.slice(pos))
  return out.join('')
}

/** PHP's `define('NAME', value)`. */
const DEFINE = /\bdefine\(\s*(['"])([^'"\n]{1,120})\1\s*,\s*/g

function redactPairs(text: string, hide: (s: string) => string): string {
  // serialized pairs first: their key is followed by `;`, not by a separator
  let t = hideAfterKeys(text, SERIALIZED_KEY, (m) => isSecretName(m[1] as string), serializedEnd, hide)
  t = hideAfterKeys(t, NAMED_PAIR, (m) => isSecretName(m[2] ?? m[3] ?? m[4] ?? ''), valueEnd, hide)
  t = hideAfterKeys(t, DEFINE, (m) => isSecretName(m[2] as string), valueEnd, hide)
  // <password>…</password>
  return t.replace(/<([A-Za-z_][\w.-]{0,60})>([^<]+)<\/\1>/g, (m, tag: string, v: string) => (isSecretName(tag) ? `<${tag}>${hide(v)}</${tag}>` : m))
}

/** What every rule needs one of: a separator, a tag, a run of token characters, a PEM line, an authorization scheme. */
const MAYBE = /[:=<,]|[A-Za-z0-9_\-+/=]{12,}|-----BEGIN|Bearer|Basic|Digest|Token/

/**
 * `text` with its secrets hidden: values kept under a secret's name (JSON, serialize() — also broken, with
 * wrong lengths —, PHP array literals, ini, env and query text, XML) and anything of a secret's shape. For
 * raw text that could not be parsed, and for every string inside a parsed value.
 */
export function redactText(text: string, mask: Mask): string {
  if (!MAYBE.test(text)) return text
  const h = new Hider()
  let t = text
  // private keys first: their base64 body must not be cut into pieces by the pair rules
  t = t.replace(KNOWN[0] as RegExp, h.hide)
  t = t.replace(AUTH_SCHEME, (m, pre: string, cred: string) => (/^[a-z]+$/.test(cred) ? m : pre + h.hide(cred)))
  t = redactPairs(t, h.hide)
  t = redactShapes(t, h.hide)
  return h.finish(t, mask)
}

/**
 * `text` with only what has a secret's shape hidden, not values by their key's name: for source code, where
 * `$key = sanitize_key( $name );` is code to read, not a secret.
 */
export function redactShapesIn(text: string, mask: Mask): string {
  const h = new Hider()
  return h.finish(redactShapes(text, h.hide), mask)
}

/** The text a hidden structure is fingerprinted by. */
function sourceOf(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return String(v)
  }
}

const blank = (x: unknown) =>
  x === '' || x === null || x === undefined || typeof x === 'boolean' || (Array.isArray(x) && !x.length) || (typeof x === 'object' && x !== null && !Array.isArray(x) && !Object.keys(x).length)

/**
 * A parsed value (JSON, unserialized PHP) with its secrets hidden: every value under a key named like a
 * secret (at any depth; empty values and booleans stay visible), every key and string of a secret's shape
 * or holding secret pairs (`redactText`), and whatever lies deeper than SECRET_DEPTH or past the walk's
 * budget. Objects of a class other than Object (PHP's, as unserialized) are shown with `__class`.
 */
export function redactValue(v: unknown, mask: Mask): unknown {
  const budget = { nodes: SECRET_NODES }
  const walk = (x: unknown, depth: number): unknown => {
    if (typeof x === 'string') return redactText(x, mask)
    if (x === null || typeof x !== 'object') return x
    if (depth >= SECRET_DEPTH || --budget.nodes < 0) return mask(sourceOf(x))
    if (Array.isArray(x)) return x.map((y) => walk(y, depth + 1))
    const out = Object.create(null) as Record<string, unknown>
    const cls = (Object.getPrototypeOf(x) as { constructor?: { name?: string } } | null)?.constructor?.name
    if (cls && cls !== 'Object') out.__class = cls
    for (const [k, y] of Object.entries(x as Record<string, unknown>)) {
      out[redactText(k, mask)] = isSecretName(k) && !blank(y) ? mask(sourceOf(y)) : walk(y, depth + 1)
    }
    return out
  }
  return walk(v, 0)
}
