// Stored bytes as diffable text (core contentAsText), the one rule the CLI's diff and the state page share.
import assert from 'node:assert/strict'
import { contentAsText, MAX_TEXT_BYTES } from '../../src/core/content.ts'

const bytes = (s: string) => new TextEncoder().encode(s)

describe('core: content as text or binary', () => {
  it('UTF-8 text is text; an absent side is empty text', () => {
    assert.equal(contentAsText(bytes('<?php echo "héllo 🎉";\n')), '<?php echo "héllo 🎉";\n')
    assert.equal(contentAsText(undefined), '')
    assert.equal(contentAsText(new Uint8Array(0)), '')
  })

  it('a NUL near the start, bytes that are not UTF-8, or more than the limit is binary', () => {
    assert.equal(contentAsText(bytes('GIF89a\u0000\u0001')), null)
    assert.equal(contentAsText(new Uint8Array([0x3c, 0xff, 0xfe, 0x3e])), null)
    assert.equal(contentAsText(new Uint8Array(MAX_TEXT_BYTES + 1).fill(0x61)), null)
    assert.equal(contentAsText(new Uint8Array(MAX_TEXT_BYTES).fill(0x61))?.length, MAX_TEXT_BYTES)
  })

  it('a NUL only past the first 8000 bytes is still text (as git sniffs)', () => {
    const late = new Uint8Array(9000).fill(0x61)
    late[8500] = 0
    assert.equal(contentAsText(late)?.length, 9000)
  })
})
