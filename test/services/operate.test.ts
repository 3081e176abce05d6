// A restore as a person asks for it (restoreAs), on the memory adapters and a hand-driven clock: during a
// freeze a state from before it may be restored, one recorded during it only by an admin breaking glass;
// every real restore is audited with its result and notified with how to undo it; a dry run leaves no trace.
import assert from 'node:assert/strict'
import type { Actor } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { snapshot } from '../../src/services/index.ts'
// not re-exported by services/index.ts: the front ends import it from its own file
import { restoreAs, restoreBlocker, type OperateDeps } from '../../src/services/operate.ts'
import { liveOf, memorySite, type MemorySite } from '../memory/site.ts'

const HOUR = 3600_000
const alice: Actor = { name: 'alice', role: 'operator', via: 'password' }
const root: Actor = { name: 'root-admin', role: 'admin', via: 'token' }
const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code

describe('restore as a person (memory adapters)', () => {
  let m: MemorySite
  let deps: OperateDeps
  let beforeFreeze: string
  let duringFreeze: string
  let good: Awaited<ReturnType<typeof liveOf>>

  beforeEach(async () => {
    m = memorySite()
    deps = { site: m.site, ...m.governance, windows: [], now: () => m.clock.now }
    beforeFreeze = (await snapshot(m.site, { trigger: 'manual' })).id
    good = await liveOf(m)
    const start = m.clock.advance(HOUR)
    await m.dir.writeDoc('freeze', { version: 1, manual: { start, end: start + 24 * HOUR, reason: 'Black Friday', actor: 'bob' }, allows: [], baselines: [] })
    m.clock.advance(60_000)
    m.files.put('plugins/hello.php', '<?php // changed during the freeze\n')
    duringFreeze = (await snapshot(m.site, { trigger: 'watch' })).id
    m.clock.advance(60_000)
  })

  it('restores a state from before the freeze, audits it with its result and notifies how to undo it', async () => {
    assert.equal(await restoreBlocker(deps, beforeFreeze), null)
    const r = await restoreAs(deps, alice, { target: beforeFreeze })
    assert.equal(r.verified, true)
    assert.deepEqual(await liveOf(m), good)
    assert.deepEqual(m.audit.map((e) => [e.type, e.actor, e.details?.result, e.details?.from, e.details?.to]), [['restore', 'alice', 'verified', r.safetySnapshot, beforeFreeze]])
    assert.deepEqual(m.notify.events(), ['restore'])
    assert.match(m.notify.sent[0]?.summary ?? '', new RegExp(`undo: peakguard restore ${(r.safetySnapshot as string).slice(0, 12)}`))
  })

  it('refuses (FROZEN) a state recorded during the freeze, changing nothing and leaving no restore entry', async () => {
    m.files.put('plugins/hello.php', '<?php // and again\n')
    const live = await liveOf(m)
    assert.match((await restoreBlocker(deps, duringFreeze)) ?? '', /^freeze 'manual' is on until .* \(Black Friday\) and this state was recorded during it$/)
    await assert.rejects(restoreAs(deps, alice, { target: duringFreeze }), isCode('FROZEN'))
    assert.deepEqual(await liveOf(m), live)
    assert.deepEqual(m.audit, [])
    assert.deepEqual(m.notify.sent, [])
  })

  it('lets an admin break glass with a reason: restored, audited as break-glass, notified loudly', async () => {
    await restoreAs(deps, alice, { target: beforeFreeze })
    m.audit.length = 0
    m.notify.sent.length = 0
    await assert.rejects(restoreAs(deps, root, { target: duringFreeze, breakGlass: { reason: '   ' } }), (e) => e instanceof PeakguardError)
    const r = await restoreAs(deps, root, { target: duringFreeze, breakGlass: { reason: 'the fix is in this state' } })
    assert.equal(r.verified, true)
    assert.match(Buffer.from(await m.files.read('plugins/hello.php')).toString(), /during the freeze/)
    assert.deepEqual(m.audit.map((e) => e.type), ['break-glass', 'restore'])
    assert.deepEqual(m.notify.events(), ['break-glass', 'restore'])
    assert.match(m.notify.sent[0]?.summary ?? '', /^BREAK-GLASS by root-admin: .*the fix is in this state$/)
  })

  it('allows any state once the freeze is over', async () => {
    m.clock.advance(25 * HOUR)
    await restoreAs(deps, alice, { target: beforeFreeze })
    const r = await restoreAs(deps, alice, { target: duringFreeze })
    assert.equal(r.verified, true)
  })

  it('a dry run writes nothing, records nothing and leaves no audit entry, even during the freeze', async () => {
    const live = await liveOf(m)
    const log = (await m.journal.log()).length
    const r = await restoreAs(deps, null, { target: beforeFreeze, dryRun: true })
    assert.deepEqual(r.plan.files.map((f) => f.path), ['plugins/hello.php'])
    assert.deepEqual(await liveOf(m), live)
    assert.equal((await m.journal.log()).length, log)
    assert.deepEqual([m.audit, m.notify.sent], [[], []])
  })

  it('--restore-markers goes with --across-schema-change, and only for an admin: refused before anything is written or audited', async () => {
    m.settings.set('blogname', 'Changed')
    const before = await liveOf(m)
    const commits = (await m.journal.log()).length
    await assert.rejects(restoreAs(deps, root, { target: beforeFreeze, restoreMarkers: true }), (e: unknown) => isCode('USAGE')(e) && /goes with --across-schema-change/.test((e as Error).message))
    await assert.rejects(restoreAs(deps, alice, { target: beforeFreeze, acrossSchemaChange: true, restoreMarkers: true }), (e: unknown) => isCode('FORBIDDEN')(e) && /alice \(operator\) may not restore migration markers/.test((e as Error).message))
    assert.deepEqual(await liveOf(m), before, 'nothing was written')
    assert.equal((await m.journal.log()).length, commits, 'not even a safety snapshot')
    assert.deepEqual(m.audit, [], 'nothing to audit: nothing was done')
  })
})
