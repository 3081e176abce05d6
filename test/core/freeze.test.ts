// The pure freeze rules in src/core/freeze.ts: what an allow-window's scope may say and what it covers,
// which freeze governs when several are open, and how long finished allow-windows are kept.
import assert from 'node:assert/strict'
import { allowCovers, freezeChain, governingSpan, normalizeAllowScope, parseAllowScope, pruneAllows, type AllowWindow, type FreezeSpan } from '../../src/core/index.ts'

const T = Date.parse('2026-11-27T12:00:00Z')
const MIN = 60_000

function allow(scope: string, start = T - MIN, end = T + 30 * MIN, id = scope): AllowWindow {
  return { id, scope, start, end, reason: 'launch fix', actor: 'carol' }
}

describe('core: freeze scopes and allow-windows', () => {
  it('reads every scope form the CLI documents, canonically', () => {
    assert.equal(normalizeAllowScope('plugins/woocommerce'), 'plugins/woocommerce')
    assert.equal(normalizeAllowScope('wp-content/plugins/woocommerce/'), 'plugins/woocommerce')
    assert.equal(normalizeAllowScope('plugins/hello.php'), 'plugins/hello.php')
    assert.equal(normalizeAllowScope('themes/storefront'), 'themes/storefront')
    assert.equal(normalizeAllowScope('theme:storefront'), 'themes/storefront')
    assert.equal(normalizeAllowScope('mu-plugins/00-loader.php'), 'mu-plugins/00-loader.php')
    assert.equal(normalizeAllowScope('object-cache.php'), 'object-cache.php')
    assert.equal(normalizeAllowScope('option:blogname'), 'option:blogname')
    assert.deepEqual(parseAllowScope('option:woocommerce_*'), { kind: 'option', pattern: 'woocommerce_*' })
  })

  it('refuses scopes that are too broad, outside the site state, or malformed, saying what to write', () => {
    for (const [bad, why] of [
      ['', /empty scope/],
      ['plugins', /too broad/],
      ['wp-content/themes/', /too broad/],
      ['uploads/2026', /outside themes, plugins, mu-plugins/],
      ['plugins/../../etc', /'\.\.'/],
      ['/etc/passwd', /absolute/],
      ['wp-config.php', /not a drop-in/],
      ['plugins/woocommerce/woocommerce.php', /name the whole unit plugins\/woocommerce/],
      ['plugins/*', /globs are allowed in option names only/],
      ['option:', /give an option name/],
      ['option:*', /every setting/],
      ['option:a*', /at least 3 literal characters/],
      ['option:*_key', /at least 3 literal characters/],
      ['theme:', /theme directory name/],
      ['theme:a/b', /theme directory name/],
    ] as const)
      assert.throws(
        () => parseAllowScope(bad),
        (e: Error & { code?: string }) => e.code === 'USAGE' && why.test(e.message) && /plugins\/NAME, themes\/NAME/.test(e.message),
        bad,
      )
  })

  it('covers the unit it names and the files inside it, and nothing else', () => {
    const ws = [allow('plugins/woocommerce'), allow('plugins/hello.php'), allow('themes/storefront'), allow('object-cache.php')]
    assert.equal(allowCovers(ws, { path: 'plugins/woocommerce' }, T)?.id, 'plugins/woocommerce')
    assert.equal(allowCovers(ws, { path: 'plugins/woocommerce/includes/a.php' }, T)?.id, 'plugins/woocommerce')
    assert.equal(allowCovers(ws, { path: 'plugins/hello.php' }, T)?.id, 'plugins/hello.php')
    assert.equal(allowCovers(ws, { path: 'themes/storefront/style.css' }, T)?.id, 'themes/storefront')
    assert.equal(allowCovers(ws, { path: 'object-cache.php' }, T)?.id, 'object-cache.php')
    // a prefix of a name is another unit; a whole scope directory replaced is not one unit
    assert.equal(allowCovers(ws, { path: 'plugins/woocommerce-payments' }, T), null)
    assert.equal(allowCovers(ws, { path: 'plugins/hello.php.bak' }, T), null)
    assert.equal(allowCovers(ws, { path: 'plugins' }, T), null)
    assert.equal(allowCovers(ws, { path: 'advanced-cache.php' }, T), null)
    // a path scope never covers an option and the other way round
    assert.equal(allowCovers(ws, { option: 'woocommerce' }, T), null)
    assert.equal(allowCovers([allow('option:plugins')], { path: 'plugins/x' }, T), null)
  })

  it('covers options by name or glob, sitemeta keys too', () => {
    const ws = [allow('option:blogname'), allow('option:woocommerce_*', T - MIN, T + MIN, 'wc')]
    assert.equal(allowCovers(ws, { option: 'blogname' }, T)?.id, 'option:blogname')
    assert.equal(allowCovers(ws, { option: 'blogname2' }, T), null)
    assert.equal(allowCovers(ws, { option: 'woocommerce_stripe_settings' }, T)?.id, 'wc')
    assert.equal(allowCovers(ws, { option: '1:woocommerce_x' }, T)?.id, 'wc')
    assert.equal(allowCovers(ws, { option: 'active_plugins' }, T), null)
  })

  it('covers only while open (start inclusive, end exclusive), and prefers the window open longest', () => {
    const w = allow('plugins/akismet', T, T + 30 * MIN)
    assert.equal(allowCovers([w], { path: 'plugins/akismet' }, T - 1), null)
    assert.equal(allowCovers([w], { path: 'plugins/akismet' }, T)?.id, 'plugins/akismet')
    assert.equal(allowCovers([w], { path: 'plugins/akismet' }, T + 30 * MIN - 1)?.id, 'plugins/akismet')
    assert.equal(allowCovers([w], { path: 'plugins/akismet' }, T + 30 * MIN), null)
    const short = allow('plugins/akismet', T, T + 5 * MIN, 'short')
    const long = allow('theme:x', T, T + 60 * MIN, 'long')
    const longer = allow('plugins/akismet', T, T + 60 * MIN, 'longer')
    assert.equal(allowCovers([short, long, longer], { path: 'plugins/akismet/a.php' }, T)?.id, 'longer')
    // a stored window whose scope no longer parses covers nothing (and does not throw)
    assert.equal(allowCovers([allow('plugins')], { path: 'plugins/a' }, T), null)
  })

  it('keeps finished allow-windows for a day, then drops them', () => {
    const DAY = 24 * 60 * MIN
    const ws = [allow('plugins/a', T - 2 * DAY, T - DAY - 1, 'old'), allow('plugins/b', T - DAY, T - DAY + MIN, 'recent'), allow('plugins/c', T, T + MIN, 'open')]
    assert.deepEqual(pruneAllows(ws, T).map((w) => w.id), ['recent', 'open'])
  })

  it('of several open freezes the one ending last governs; none open → null', () => {
    const span = (source: string, start: number, end: number): FreezeSpan => ({ source, start, end, reason: source })
    const a = span('black-friday', T - 60 * MIN, T + 60 * MIN)
    const m = span('manual', T - MIN, T + 120 * MIN)
    const later = span('next-week', T + 1000 * MIN, T + 2000 * MIN)
    assert.equal(governingSpan([a, m, later], T)?.source, 'manual')
    assert.equal(governingSpan([a, later], T)?.source, 'black-friday')
    assert.equal(governingSpan([a, m], T + 60 * MIN)?.source, 'manual')
    assert.equal(governingSpan([a], T + 60 * MIN), null)
    assert.equal(governingSpan([later], T), null)
    assert.equal(governingSpan([span('x', T, T + MIN), span('manual', T, T + MIN)], T)?.source, 'manual')
  })
  it('changes are free again when the open freezes and every freeze opening before they end are over', () => {
    const span = (source: string, start: number, end: number): FreezeSpan => ({ source, start, end, reason: source })
    const bf = span('black-friday', T - 60 * MIN, T + 60 * MIN)
    const night = span('nightly', T - 10 * MIN, T + 30 * MIN)
    const inside = span('inside', T + 10 * MIN, T + 20 * MIN) // opens and ends within black-friday: extends nothing
    const touching = span('touching', T + 60 * MIN, T + 90 * MIN) // opens the moment black-friday ends
    const overlapping = span('overlapping', T + 80 * MIN, T + 120 * MIN)
    const apart = span('apart', T + 121 * MIN, T + 200 * MIN) // a minute of freedom before it
    const c = freezeChain([apart, overlapping, touching, inside, night, bf], T)!
    assert.deepEqual(c.open.map((s) => s.source).sort(), ['black-friday', 'nightly'])
    assert.deepEqual(c.after.map((s) => s.source), ['touching', 'overlapping'])
    assert.equal(c.end, T + 120 * MIN)
    assert.equal(freezeChain([bf, night], T)!.end, T + 60 * MIN, 'no window after: the latest open end')
    assert.equal(freezeChain([apart, touching], T), null, 'nothing open now')
    assert.equal(freezeChain([bf], T + 60 * MIN), null, 'the end is exclusive')
  })
})
