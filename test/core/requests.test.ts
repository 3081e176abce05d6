// The two-person rule and what a change touches, as plain functions.
import assert from 'node:assert/strict'
import { assertMayDecide, changeItems, uncovered, type Actor, type ChangeRequest, type StateDiff } from '../../src/core/index.ts'

const request = (o: Partial<ChangeRequest> = {}): ChangeRequest => ({
  id: 'r1',
  site: 'shop',
  createdAt: '2026-11-27T03:00:00.000Z',
  base: 'a'.repeat(40),
  attempted: 'b'.repeat(40),
  items: { paths: ['plugins/hello.php'], options: [] },
  summary: 'plugins/hello.php',
  attribution: { kind: 'wordpress', who: 'alice', label: 'wp:alice (#2) from 10.0.0.5' },
  policy: 'revert',
  reverted: true,
  freeze: { source: 'manual', end: '2026-11-27T06:00:00.000Z' },
  requester: 'alice',
  status: 'pending',
  decision: null,
  outcome: null,
  ...o,
})
const actor = (name: string, o: Partial<Actor> = {}): Actor => ({ name, role: 'approver', via: 'token', ...o })

describe('two-person rule', () => {
  it('refuses the author of the change and the requester, case-insensitively; allows anyone else', () => {
    assert.throws(() => assertMayDecide(actor('Alice'), request(), null), (e: Error & { code?: string }) => e.code === 'TWO_PERSON_RULE' && /they made the change/.test(e.message))
    assert.throws(() => assertMayDecide(actor('bob'), request({ requester: 'bob' }), null), /they requested it \(bob\)/)
    assert.doesNotThrow(() => assertMayDecide(actor('bob'), request(), null))
  })
  it('counts the OS users mapped to the actor, and the OS user only of an unmanaged install', () => {
    const r = request({ attribution: { kind: 'outside', who: 'deploy', label: 'file owner deploy (outside WordPress)' }, requester: 'deploy' })
    assert.throws(() => assertMayDecide(actor('bob', { aliases: ['deploy'] }), r, null), /TWO|they made the change/)
    assert.doesNotThrow(() => assertMayDecide(actor('bob', { osUser: 'deploy' }), r, null), 'a shared shell user is not an identity')
    assert.throws(() => assertMayDecide(actor('deploy', { via: 'unmanaged', role: 'admin', osUser: 'deploy' }), r, null), /they made the change/)
  })
  it('break-glass: an admin only, with a reason', () => {
    assert.doesNotThrow(() => assertMayDecide(actor('alice', { role: 'admin' }), request(), { reason: 'checkout down' }))
    assert.throws(() => assertMayDecide(actor('alice'), request(), { reason: 'checkout down' }), /only an admin may break glass/)
    assert.throws(() => assertMayDecide(actor('alice', { role: 'admin' }), request(), { reason: ' ' }), /needs --reason/)
  })
})

describe('change items', () => {
  it('are the units and option names a diff touches; allow-windows cover some of them', () => {
    const f = (path: string) => ({ path, change: 'modified' as const, content: true })
    const d: StateDiff = { files: [f('plugins/woocommerce/a.php'), f('plugins/woocommerce/b/c.php'), f('plugins/hello.php')], links: [], options: [{ table: 'wp_options', name: 'blogname', change: 'modified', value: true }] } as unknown as StateDiff
    const items = changeItems(d)
    assert.deepEqual(items, { paths: ['plugins/hello.php', 'plugins/woocommerce'], options: ['blogname'] })
    const w = { id: 'w1', scope: 'plugins/woocommerce', start: 0, end: 1, reason: 'fix', actor: 'alice' }
    const { rest, coveredBy } = uncovered(items, (i) => ('path' in i && i.path === 'plugins/woocommerce' ? w : null))
    assert.deepEqual(rest, { paths: ['plugins/hello.php'], options: ['blogname'] })
    assert.deepEqual(coveredBy, [w])
  })
})
