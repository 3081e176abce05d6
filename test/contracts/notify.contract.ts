// What every NotifyPort must do, as the gate, the restorer's callers and the prober rely on it: notify()
// returns at once and never throws — not for a slow or failing receiver, not for details that cannot be
// sent — and what it was given arrives, in order, with the site filled in when the caller left it out.
import assert from 'node:assert/strict'
import type { NotifyPort } from '../../src/core/index.ts'

export interface Delivered {
  event: string
  site: string
  summary: string
  details: Record<string, unknown>
}

export interface NotifyFixture {
  /** a notifier for site 'shop' */
  notify: NotifyPort
  /** what has arrived at the receiver once `n` notifications have (or the wait is over) */
  delivered(n: number): Promise<Delivered[]>
  cleanup(): Promise<void>
}

export function describeNotifyContract(name: string, make: () => Promise<NotifyFixture>): void {
  describe(`NotifyPort contract: ${name}`, () => {
    let fx: NotifyFixture
    beforeEach(async () => (fx = await make()))
    afterEach(async () => fx.cleanup())

    it('delivers what it is given, in order, the site filled in where the caller gave none', async () => {
      const t0 = performance.now()
      fx.notify.notify({ event: 'freeze-violation', site: null, summary: 'change during freeze: plugins/akismet', details: { request: 'r1', items: ['plugins/akismet'] } })
      fx.notify.notify({ event: 'restore', site: 'shop-de', summary: 'alice restored 0123456789ab: verified ünïcødé' })
      fx.notify.notify({ event: 'approval', site: 'shop', summary: 'approved', details: { nested: { n: 1 } } })
      assert.ok(performance.now() - t0 < 50, 'notify() only queues')
      assert.deepEqual(await fx.delivered(3), [
        { event: 'freeze-violation', site: 'shop', summary: 'change during freeze: plugins/akismet', details: { request: 'r1', items: ['plugins/akismet'] } },
        { event: 'restore', site: 'shop-de', summary: 'alice restored 0123456789ab: verified ünïcødé', details: {} },
        { event: 'approval', site: 'shop', summary: 'approved', details: { nested: { n: 1 } } },
      ])
    })

    it('never throws for details that cannot be sent, and goes on delivering the next', async () => {
      const cycle: Record<string, unknown> = {}
      cycle.self = cycle
      assert.doesNotThrow(() => fx.notify.notify({ event: 'restore', site: null, summary: 'cyclic', details: cycle }))
      assert.doesNotThrow(() => fx.notify.notify({ event: 'restore', site: null, summary: 'bigint', details: { n: 10n } }))
      fx.notify.notify({ event: 'rejection', site: null, summary: 'after them' })
      const got = await fx.delivered(1)
      assert.deepEqual(got.map((n) => n.summary), ['after them'])
    })
  })
}
