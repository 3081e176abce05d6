// The freeze gate on the memory adapters, on a hand-driven clock: what a user relies on during a freeze —
// a change nobody approved becomes a change request and is reverted at once (policy revert) or kept live
// and held (policy hold); outside a freeze, or under someone else's allow-window, it is accepted; the
// gate never gates its own revert; whoever opened an allow-window cannot use it for their own change.
import assert from 'node:assert/strict'
import { ENTITY_HEADER, allowCovers, encodeRecord, type AllowWindow, type Attribution, type FreezePolicy, type FreezeSpan } from '../../src/core/index.ts'
import { attributionTrailers, Gate, snapshot } from '../../src/services/index.ts'
import { liveOf, memorySite, type MemorySite } from '../memory/site.ts'

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined }
const MALLORY: Attribution = { kind: 'wordpress', who: 'mallory', wpUserId: 3, ip: '10.0.0.9', label: 'wp:mallory (#3) from 10.0.0.9' }
const HOUR = 3600_000
const enc = (t: string) => new TextEncoder().encode(t)

describe('freeze gate (memory adapters)', () => {
  let m: MemorySite
  let freeze: FreezeSpan | null
  let allows: AllowWindow[]
  let base: string
  let before: Awaited<ReturnType<typeof liveOf>>

  const gate = (policy: FreezePolicy) =>
    new Gate({
      ...m.governance,
      site: m.site,
      log: quiet,
      policy,
      freezeAt: async (now) => (freeze && freeze.start <= now && now < freeze.end ? freeze : null),
      coverage: async (now) => (item) => allowCovers(allows, item, now),
      identities: async () => (user) => [user, ...(user === 'mallory-admin' ? ['mallory'] : [])],
    })
  /** mallory, logged in to WordPress, updates a plugin and renames the shop; the daemon records it */
  async function malloryChanges(): Promise<string> {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0\n')
    m.settings.set('blogname', 'Mallory’s Shop')
    const r = await snapshot(m.site, { trigger: 'watch', trailers: attributionTrailers(MALLORY) })
    assert.equal(r.created, true)
    return r.id
  }

  beforeEach(async () => {
    m = memorySite()
    freeze = null
    allows = []
    base = (await snapshot(m.site, { trigger: 'manual' })).id
    before = await liveOf(m)
    assert.deepEqual(await gate('revert').check(m.clock.now), [], 'the first look accepts what is there')
    freeze = { source: 'black-friday', start: m.clock.advance(HOUR), end: m.clock.now + 24 * HOUR, reason: 'peak sales' }
  })

  it('reverts an unapproved change during a freeze at once and opens a change request naming it and who made it', async () => {
    const attempted = await malloryChanges()
    const [r, ...more] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual(more, [])
    assert.ok(r)
    assert.deepEqual([r.base, r.attempted, r.items, r.policy, r.reverted, r.status, r.requester], [base, attempted, { paths: ['plugins/hello.php'], options: ['blogname'] }, 'revert', true, 'pending', 'mallory'])
    assert.deepEqual(r.freeze, { source: 'black-friday', end: new Date(freeze?.end as number).toISOString() })
    assert.deepEqual(await liveOf(m), before, 'the live site is back as it was')
    assert.deepEqual(m.notify.events(), ['freeze-violation'])
    assert.match(m.notify.sent[0]?.summary ?? '', /wp:mallory \(#3\) from 10\.0\.0\.9 — reverted, waiting for approval/)
    assert.deepEqual(m.audit.map((e) => e.type), ['change-request', 'revert'])
    const [revert] = await m.journal.log()
    assert.equal(revert?.trailers['Peakguard-Request'], r.id)
    // the revert is the gate's own: looking again opens nothing and changes nothing
    assert.deepEqual(await gate('revert').check(m.clock.advance(60_000)), [])
    assert.deepEqual(await liveOf(m), before)
  })

  it('holds a change under policy hold: it stays live, flagged as a pending request, not reverted', async () => {
    await malloryChanges()
    const changed = await liveOf(m)
    const [r] = await gate('hold').check(m.clock.advance(60_000))
    assert.deepEqual([r?.policy, r?.reverted, r?.status], ['hold', false, 'pending'])
    assert.deepEqual(await liveOf(m), changed)
    assert.match(m.notify.sent[0]?.summary ?? '', /kept live, held for approval/)
    assert.deepEqual(await gate('hold').check(m.clock.advance(60_000)), [], 'one request per change')
  })

  it('accepts changes outside a freeze', async () => {
    freeze = null
    await malloryChanges()
    const changed = await liveOf(m)
    assert.deepEqual(await gate('revert').check(m.clock.advance(60_000)), [])
    assert.deepEqual(await liveOf(m), changed)
    assert.deepEqual(m.notify.sent, [])
  })

  it('accepts what someone else’s allow-window covers, audited; gates the rest', async () => {
    allows = [{ id: 'w1', scope: 'plugins/hello.php', start: m.clock.now, end: m.clock.now + HOUR, reason: 'security fix', actor: 'bob' }]
    await malloryChanges()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual(r?.items, { paths: [], options: ['blogname'] })
    assert.equal(m.settings.get('blogname'), 'Shop', 'the uncovered row is reverted')
    assert.match(Buffer.from(await m.files.read('plugins/hello.php')).toString(), /2\.0/, 'the covered plugin stays')
    assert.match(m.audit[0]?.summary ?? '', /accepted under allow-window plugins\/hello\.php \(security fix, by bob\)/)
  })

  it('gates Site Editor entities and settings-table rows like options: an allow-window table:NAME covers its rows, the entity is reverted', async () => {
    const HEADER = 'entity:wp_template_part/twentytwentythree/header'
    const RATE = 'table:woocommerce_tax_rates#1'
    // the tables are recorded from the start (a state covers them), with the design and a tax rate in them
    m = memorySite({ clock: m.clock })
    m.settings.tables.set('wp_posts', new Map())
    m.settings.tables.set('wp_woocommerce_tax_rates', new Map())
    m.settings.set(HEADER, 'peakguard-entity 1\npost_content\t9\n<p>Buy</p>\n', null, 'wp_posts')
    m.settings.set(RATE, 'peakguard-row 1\ntax_rate\t7\n20.0000\n', null, 'wp_woocommerce_tax_rates')
    const saved = freeze
    freeze = null
    await snapshot(m.site, { trigger: 'manual' })
    assert.deepEqual(await gate('revert').check(m.clock.now), [])
    freeze = saved
    allows = [{ id: 'w2', scope: 'table:woocommerce_tax_rates', start: m.clock.now, end: m.clock.now + HOUR, reason: 'VAT change', actor: 'bob' }]
    m.settings.set(HEADER, 'peakguard-entity 1\npost_content\t0\n\n', null, 'wp_posts')
    m.settings.set(RATE, 'peakguard-row 1\ntax_rate\t7\n21.0000\n', null, 'wp_woocommerce_tax_rates')
    assert.equal((await snapshot(m.site, { trigger: 'poll', trailers: attributionTrailers(MALLORY) })).created, true)
    const [r, ...more] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual(more, [])
    assert.deepEqual([r?.items, r?.reverted], [{ paths: [], options: [HEADER] }, true])
    assert.equal(m.settings.get(HEADER, 'wp_posts'), 'peakguard-entity 1\npost_content\t9\n<p>Buy</p>\n', 'the header is back')
    assert.match(m.settings.get(RATE, 'wp_woocommerce_tax_rates') ?? '', /21\.0000/, 'the covered tax rate stays')
  })

  it('lets WordPress make its empty user global-styles post during a freeze (an editor loading); styles with content are gated', async () => {
    const styles = (id: string, content: string) =>
      encodeRecord(ENTITY_HEADER, [
        { label: 'ID', value: enc(id) },
        { label: 'post_content', value: enc(content) },
        { label: 'post_type', value: enc('wp_global_styles') },
        { label: 'post_name', value: enc('wp-global-styles-twentytwentythree') },
      ])
    m = memorySite({ clock: m.clock })
    m.settings.tables.set('wp_posts', new Map())
    const saved = freeze
    freeze = null
    await snapshot(m.site, { trigger: 'manual' })
    assert.deepEqual(await gate('revert').check(m.clock.now), [])
    freeze = saved
    const NAME = 'entity:wp_global_styles/twentytwentythree/wp-global-styles-twentytwentythree'
    m.settings.set(NAME, styles('7', '{"version":2,"isGlobalStylesUserThemeJSON":true}'), null, 'wp_posts')
    assert.equal((await snapshot(m.site, { trigger: 'poll' })).created, true)
    assert.deepEqual(await gate('revert').check(m.clock.advance(60_000)), [], 'no request, nothing reverted')
    assert.ok(m.settings.get(NAME, 'wp_posts'), 'the post stays')
    m.settings.set(NAME, styles('7', '{"version":2,"isGlobalStylesUserThemeJSON":true,"styles":{"color":{"background":"#ff00ff"}}}'), null, 'wp_posts')
    await snapshot(m.site, { trigger: 'poll', trailers: attributionTrailers(MALLORY) })
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual([r?.items, r?.reverted], [{ paths: [], options: [NAME] }, true])
    assert.match(m.settings.get(NAME, 'wp_posts') ?? '', /"isGlobalStylesUserThemeJSON":true\}\n/, 'back to the empty styles')
  })

  it('does not let whoever opened an allow-window cover their own change with it', async () => {
    allows = [{ id: 'w1', scope: 'plugins/hello.php', start: m.clock.now, end: m.clock.now + HOUR, reason: 'my own fix', actor: 'mallory-admin' }]
    await malloryChanges()
    const [r] = await gate('revert').check(m.clock.advance(60_000))
    assert.deepEqual(r?.items, { paths: ['plugins/hello.php'], options: ['blogname'] })
    assert.deepEqual(await liveOf(m), before)
  })

  it('after the freeze ends, accepts what was held', async () => {
    await malloryChanges()
    await gate('hold').check(m.clock.advance(60_000))
    m.files.put('plugins/akismet/akismet.php', 'after the freeze')
    await snapshot(m.site, { trigger: 'watch' })
    assert.deepEqual(await gate('hold').check(m.clock.advance(25 * HOUR)), [])
    assert.equal(m.notify.sent.length, 1)
  })
})
