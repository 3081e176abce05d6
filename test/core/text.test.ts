// Free text at the input boundary (core cleanText): one printable line, bounded, named when refused.
import assert from 'node:assert/strict'
import { cleanText, visible } from '../../src/core/index.ts'

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

  it('visible(): every character cleanText refuses is shown as an escape, so the text stays one line a terminal does not interpret', () => {
    assert.equal(visible('two\nlines'), 'two\\nlines')
    assert.equal(visible('cr\rtab\t'), 'cr\\rtab\\t')
    assert.equal(visible('\u0000'), '\\x00')
    assert.equal(visible('wipe\u001b[2J\u001b]0;pwned\u0007'), 'wipe\\x1b[2J\\x1b]0;pwned\\x07')
    assert.equal(visible('del\u007f c1\u0085 csi\u009b31m'), 'del\\x7f c1\\x85 csi\\x9b31m')
    assert.equal(visible('abc\u202Etxt.exe \u2066x\u2069'), 'abc\\u202etxt.exe \\u2066x\\u2069')
    // printable text of any script, backslashes and the other Unicode spaces stay as they are
    for (const ok of ['launch night — 50 % off 🎉', 'Прекращение; 停止; إيقاف', 'C:\\path\\n', 'App\\Plugin', '\u00a0nbsp', ''])
      assert.equal(visible(ok), ok, JSON.stringify(ok))
    assert.equal(visible('\tcode\tline\r', { tab: true }), '\tcode\tline\\r', 'with tab, tabs stay (code in a diff)')
  })

  it('visible() leaves nothing cleanText would refuse, for any character', () => {
    for (let c = 0; c < 0x2100; c++) {
      const s = `a${String.fromCodePoint(c)}b`
      const v = visible(s)
      assert.doesNotThrow(() => cleanText(v, 'the text'), `U+${c.toString(16)} → ${JSON.stringify(v)}`)
      if (v !== s) assert.match(v, /^a\\(x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])b$/, `U+${c.toString(16)}`)
    }
  })
})
