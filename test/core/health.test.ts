// judgeProbe's checks as plain values: must(Not)Contain in literal and regex form, reasons in words (bounded,
// on one line), the probe's name in its verdict, HEAD with body checks, and the order of the checks.
import assert from 'node:assert/strict'
import { judgeProbe, type ProbeRule } from '../../src/core/index.ts'

const CRITICAL = '<p>There has been a critical error on this website.</p>'
const PRODUCT = '<form class="cart"><button type="submit" name="add-to-cart" class="single_add_to_cart_button button alt">Add to cart</button></form>'

function judge(body: string, rule: Partial<ProbeRule>, o: { status?: number | null; latencyMs?: number; error?: string | null } = {}) {
  return judgeProbe(
    { url: 'https://shop.example/product/mug/', status: o.status === undefined ? 200 : o.status, latencyMs: o.latencyMs ?? 20, body, error: o.error ?? null },
    { status: [200], maxLatencyMs: 1000, ...rule },
  )
}

describe('core: judging a probe answer', () => {
  it('passes when every mustContain is on the page and no mustNotContain is', () => {
    const v = judge(PRODUCT, { mustContain: ['Add to cart', { regex: 'single_add_to_cart_button', flags: '' }], mustNotContain: ['No products were found'] })
    assert.deepEqual(v, { name: null, url: 'https://shop.example/product/mug/', ok: true, status: 200, latencyMs: 20, reason: null })
  })

  it('names what the page lacks and what it holds, literal in quotes and regex as /re/flags', () => {
    assert.equal(judge('<p>Sold out</p>', { mustContain: ['Add to cart'] }).reason, 'the page lacks "Add to cart"')
    assert.equal(judge('<p>No products were found matching your selection.</p>', { mustNotContain: ['No products were found'] }).reason, 'the page holds "No products were found"')
    assert.equal(judge('<p>Sold out</p>', { mustContain: [{ regex: 'add[-_]to[-_]cart', flags: 'i' }] }).reason, 'the page lacks /add[-_]to[-_]cart/i')
    // a regex that matched shows what it matched
    assert.equal(judge('<div class="notice">Maintenance MODE until 6am</div>', { mustNotContain: [{ regex: 'maintenance mode', flags: 'i' }] }).reason, 'the page holds /maintenance mode/i ("Maintenance MODE")')
    // literal text is case-sensitive; a regex with i is not
    assert.equal(judge('ADD TO CART', { mustContain: ['Add to cart'] }).ok, false)
    assert.equal(judge('ADD TO CART', { mustContain: [{ regex: 'add to cart', flags: 'i' }] }).ok, true)
    // regex flags s and m do what they say
    assert.equal(judge('<a>\n</a>', { mustContain: [{ regex: '<a>.</a>', flags: 's' }] }).ok, true)
    assert.equal(judge('x\nend', { mustContain: [{ regex: '^end$', flags: 'm' }] }).ok, true)
  })

  it('lists several failed checks, at most three and a count of the rest', () => {
    const v = judge('<p>empty</p>', { mustContain: ['a1', 'a2', 'a3', 'a4', 'a5'] })
    assert.equal(v.reason, 'the page lacks "a1"; the page lacks "a2"; the page lacks "a3"; and 2 more')
    const both = judge('<p>No products were found</p>', { mustContain: ['Add to cart'], mustNotContain: ['No products were found'] })
    assert.equal(both.reason, 'the page lacks "Add to cart"; the page holds "No products were found"')
  })

  it('keeps text in reasons on one line and bounded', () => {
    const v = judge('nothing', { mustContain: ['line one\nline two\t\u001b[31m\u202e'] })
    assert.equal(v.reason, 'the page lacks "line one\\nline two\\t\\x1b[31m\\u202e"')
    const long = 'x'.repeat(500)
    const r = judge('nothing', { mustContain: [long] }).reason!
    assert.equal(r, `the page lacks "${'x'.repeat(100)}…"`)
    const matched = judge(`<p>${'é'.repeat(300)}</p>`, { mustNotContain: [{ regex: 'é+', flags: 'u' }] }).reason!
    assert.equal(matched, `the page holds /é+/u ("${'é'.repeat(100)}…")`)
  })

  it('a pattern that is not a regular expression fails the probe, saying so', () => {
    const v = judge('page', { mustContain: [{ regex: '(unclosed', flags: '' }] })
    assert.equal(v.ok, false)
    assert.match(v.reason!, /^\/\(unclosed\/ is not a regular expression: /)
  })

  it('a regex with g or y gives the same answer every time', () => {
    const rule = { mustContain: [{ regex: 'cart', flags: 'gy' }] }
    assert.equal(judge('cart', rule).ok, true)
    assert.equal(judge('cart', rule).ok, true)
    assert.equal(judge('the cart', rule).ok, true)
  })

  it('names the probe in its verdict', () => {
    assert.equal(judge(PRODUCT, { name: 'product page' }).name, 'product page')
    assert.equal(judge(PRODUCT, { name: null }).name, null)
    assert.equal(judge(PRODUCT, {}).name, null)
    assert.equal(judge('', { name: 'checkout' }, { status: null, error: 'ECONNREFUSED' }).name, 'checkout')
  })

  it('a HEAD probe with body checks fails with a reason (a HEAD answer has no body); without them it passes', () => {
    const v = judge('', { method: 'HEAD', mustContain: ['Add to cart'] })
    assert.equal(v.ok, false)
    assert.equal(v.reason, 'mustContain/mustNotContain cannot be checked: a HEAD answer has no body (use method GET)')
    assert.equal(judge('', { method: 'HEAD', mustNotContain: ['x'] }).ok, false)
    assert.equal(judge('', { method: 'HEAD' }).ok, true)
    // the status is judged before: a HEAD that gets a 500 says so
    assert.equal(judge('', { method: 'HEAD', mustContain: ['x'] }, { status: 500 }).reason, 'HTTP 500, expected 200')
  })

  it('checks in order: an answer, a broken page, an error after the answer, the status, the text, the latency', () => {
    const rule = { mustContain: ['Add to cart'], maxLatencyMs: 100 }
    assert.equal(judge('', rule, { status: null, error: 'ECONNREFUSED: nothing accepts connections at 127.0.0.1:1' }).reason, 'no answer: ECONNREFUSED: nothing accepts connections at 127.0.0.1:1')
    assert.equal(judge(CRITICAL, rule, { status: 500, latencyMs: 5000 }).reason, "the page is WordPress's critical-error page (HTTP 500)")
    assert.equal(judge('<p>half a pa', rule, { error: 'the answer broke off: ECONNRESET' }).reason, 'the answer broke off: ECONNRESET (HTTP 200)')
    assert.equal(judge('<p>Sold out</p>', rule, { status: 404, latencyMs: 5000 }).reason, 'HTTP 404, expected 200')
    assert.equal(judge('<p>Sold out</p>', rule, { latencyMs: 5000 }).reason, 'the page lacks "Add to cart"')
    assert.equal(judge(PRODUCT, rule, { latencyMs: 5000 }).reason, 'answered in 5000 ms, more than the 100 ms allowed')
    assert.equal(judge(PRODUCT, rule, { latencyMs: 50 }).ok, true)
  })

  it('keeps the old rule shape working: status and maxLatencyMs only', () => {
    const v = judgeProbe({ url: 'u', status: 200, latencyMs: 10, body: 'ok', error: null }, { status: [200], maxLatencyMs: 1000 })
    assert.deepEqual(v, { name: null, url: 'u', ok: true, status: 200, latencyMs: 10, reason: null })
  })
})
