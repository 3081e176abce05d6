// Free text at the input boundary (core cleanText): one printable line, bounded, named when refused.
import assert from 'node:assert/strict'
import { cleanText } from '../../src/core/index.ts'

describe('core: free text people type', () => {
  it('keeps printable text of any script, trimmed', () => {
    assert.equal(cleanText('  launch night — 50 % off 🎉 ', 'the reason'), 'launch night — 50 % off 🎉')
    assert.equal(cleanText('Прекращение; 停止; إيقاف', 'the reason'), 'Прекращение; 停止; إيقاف')
    assert.equal(cleanText(undefined, 'the note'), '')
  })

  it('refuses control characters, bidi overrides, wrong types, oversized and (when required) empty text, naming the field', () => {
    for (const [bad, want] of [
      ['two\nlines', /the reason holds a control character \(U\+000A\)/],
      ['tab\there', /U\+0009/],
      ['\u0000', /U\+0000/],
      ['\u001b[31mred', /U\+001B/],
      ['del\u007f', /U\+007F/],
      ['c1\u0085', /U\+0085/],
      ['abc\u202Etxt.exe', /U\+202E/],
      ['x'.repeat(1001), /the reason is longer than 1000 characters/],
    ] as const)
      assert.throws(() => cleanText(bad, 'the reason'), (e: Error & { code?: string }) => e.code === 'USAGE' && want.test(e.message), JSON.stringify(bad))
    assert.throws(() => cleanText('   ', 'the reason', { required: true, why: 'a freeze needs --reason TEXT' }), /a freeze needs --reason TEXT/)
    assert.throws(() => cleanText(['a'], 'the reason'), /the reason: give text, not a list/)
    assert.throws(() => cleanText(5, 'the note'), /the note: give text, not number/)
    assert.equal(cleanText('é'.repeat(1000), 'the reason').length, 1000, 'characters are counted, not bytes')
  })
})
