// The address a login limit counts: IPv6 clients by their /64, so that rotating through one's own prefix
// does not give a fresh count of guesses.
import assert from 'node:assert/strict'
import { addressKey } from '../../src/http/auth.ts'

describe('login limits: the address counted', () => {
  it('is the IPv4 address itself, also when mapped into IPv6', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7')
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7')
  })

  it('is the /64 of an IPv6 address, however it is written', () => {
    const k = addressKey('2001:db8:85a3:1:aaaa:bbbb:cccc:dddd')
    assert.equal(k, '2001:db8:85a3:1::/64')
    assert.equal(addressKey('2001:0db8:85a3:0001::1'), k)
    assert.equal(addressKey('2001:DB8:85A3:1:ffff::'), k)
    assert.notEqual(addressKey('2001:db8:85a3:2::1'), k)
    assert.equal(addressKey('::1'), '0:0:0:0::/64')
  })
})
