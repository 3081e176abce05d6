// Deciding change requests on the memory adapters: a change made during a freeze needs the approval of
// someone who neither made nor requested it; approving a reverted change applies it again, rejecting a
// held one reverts it — only the request's items; a request is decided once; a stale one is refused.
import assert from 'node:assert/strict'
import { allowCovers, type Actor, type Attribution, type ChangeRequest, type FreezePolicy } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { askForApproval, attributionTrailers, decide, Gate, listRequests, loadRequest, snapshot } from '../../src/services/index.ts'
import { liveOf, memorySite, type MemorySite } from '../memory/site.ts'

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
const MALLORY: Attribution = { kind: 'wordpress', who: 'mallory', label: 'wp:mallory (#3) from 10.0.0.9' }
const actor = (name: string, role: Actor['role'] = 'approver'): Actor => ({ name, role, via: 'token' })
const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code

describe('change requests (memory adapters)', () => {
  let m: MemorySite
  let before: Awaited<ReturnType<typeof liveOf>>
  let after: Awaited<ReturnType<typeof liveOf>>

  /** A freeze, mallory's change during it, and the gate's request for it under `policy`. */
  async function requestFor(policy: FreezePolicy): Promise<ChangeRequest> {
    const gate = new Gate({
      ...m.governance,
      site: m.site,
      log: quiet,
      policy,
      freezeAt: async (now) => ({ source: 'manual', start: now - 1000, end: now + 3600_000, reason: 'peak' }),
      coverage: async (now) => (item) => allowCovers([], item, now),
      identities: async () => (u) => [u],
    })
    await snapshot(m.site, { trigger: 'manual' })
    await gate.check(m.clock.advance(1000))
    before = await liveOf(m)
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0\n')
    m.settings.set('blogname', 'Mallory’s Shop')
    await snapshot(m.site, { trigger: 'watch', trailers: attributionTrailers(MALLORY) })
    after = await liveOf(m)
    const [r] = await gate.check(m.clock.advance(1000))
    assert.ok(r)
    m.audit.length = 0
    m.notify.sent.length = 0
    return r
  }

  beforeEach(() => (m = memorySite()))

  it('refuses the author of the change and whoever asked for its approval (TWO_PERSON_RULE), and changes nothing', async () => {
    const r = await requestFor('revert')
    await assert.rejects(decide(m.governance, m.site, { id: r.id, actor: actor('Mallory'), approve: true, note: '', breakGlass: null }), isCode('TWO_PERSON_RULE'))
    await askForApproval(m.governance, m.site, r.id, actor('carol', 'operator'), 'the new Hello Dolly fixes a checkout bug')
    await assert.rejects(decide(m.governance, m.site, { id: r.id, actor: actor('carol'), approve: true, note: '', breakGlass: null }), isCode('TWO_PERSON_RULE'))
    assert.deepEqual(await liveOf(m), before)
    assert.equal((await loadRequest(m.governance.docs, r.id)).status, 'pending')
    assert.deepEqual(m.audit.map((e) => e.type), ['change-request'])
    assert.deepEqual(m.notify.events(), ['change-request'])
  })

  it('approved by someone else, a reverted change is applied again — exactly its items — audited and notified', async () => {
    const r = await requestFor('revert')
    m.settings.set('template', 'other') // changed since, not part of the request: left alone
    const d = await decide(m.governance, m.site, { id: r.id, actor: actor('bob'), approve: true, note: 'ok for tonight', breakGlass: null })
    assert.deepEqual([d.request.status, d.request.decision?.by, d.request.decision?.note, d.request.reverted], ['approved', 'bob', 'ok for tonight', false])
    assert.match(d.request.outcome ?? '', /^applied again \(state [0-9a-f]{12}, verified\)$/)
    const live = await liveOf(m)
    assert.deepEqual(live.files, after.files)
    assert.equal(m.settings.get('blogname'), 'Mallory’s Shop')
    assert.equal(m.settings.get('template'), 'other')
    assert.deepEqual(m.audit.map((e) => e.type), ['approval'])
    assert.deepEqual(m.notify.events(), ['approval'])
    assert.deepEqual(await listRequests(m.governance.docs), [], 'no longer pending')
    await assert.rejects(decide(m.governance, m.site, { id: r.id, actor: actor('dave'), approve: false, note: '', breakGlass: null }), isCode('REQUEST_DECIDED'))
  })

  it('rejected, a held change is reverted to the state before it', async () => {
    const r = await requestFor('hold')
    assert.deepEqual(await liveOf(m), after)
    const d = await decide(m.governance, m.site, { id: r.id.slice(0, 6), actor: actor('bob'), approve: false, note: 'not during the sale', breakGlass: null })
    assert.deepEqual([d.request.status, d.request.reverted], ['rejected', true])
    assert.match(d.request.outcome ?? '', /^reverted to [0-9a-f]{12} \(verified\)$/)
    assert.deepEqual(await liveOf(m), before)
    assert.deepEqual(m.notify.events(), ['rejection'])
  })

  it('decides without a restore when the live site is already as decided', async () => {
    const r = await requestFor('revert')
    const d = await decide(m.governance, m.site, { id: r.id, actor: actor('bob'), approve: false, note: '', breakGlass: null })
    assert.deepEqual([d.restore, d.request.outcome], [null, 'stays reverted'])
  })

  it('refuses a request whose items changed since (REQUEST_STALE), writing nothing', async () => {
    const r = await requestFor('hold')
    m.settings.set('blogname', 'Yet another name')
    const live = await liveOf(m)
    await assert.rejects(decide(m.governance, m.site, { id: r.id, actor: actor('bob'), approve: false, note: '', breakGlass: null }), isCode('REQUEST_STALE'))
    assert.deepEqual(await liveOf(m), live)
  })

  it('lets an admin break glass on their own change, with a reason, loudly; nobody else', async () => {
    const r = await requestFor('revert')
    await assert.rejects(decide(m.governance, m.site, { id: r.id, actor: actor('mallory', 'approver'), approve: true, note: '', breakGlass: { reason: 'site down' } }), isCode('FORBIDDEN'))
    const d = await decide(m.governance, m.site, { id: r.id, actor: actor('mallory', 'admin'), approve: true, note: '', breakGlass: { reason: 'checkout broken without it' } })
    assert.equal(d.request.decision?.breakGlass, true)
    assert.deepEqual(m.audit.map((e) => e.type), ['break-glass', 'approval'])
    assert.deepEqual(m.notify.events(), ['break-glass', 'approval'])
  })

  it('names an unknown request (REQUEST_NOT_FOUND) and a malformed id (USAGE)', async () => {
    await requestFor('hold')
    await assert.rejects(loadRequest(m.governance.docs, 'zzzzzz'), isCode('REQUEST_NOT_FOUND'))
    await assert.rejects(loadRequest(m.governance.docs, '../x'), isCode('USAGE'))
  })
})
