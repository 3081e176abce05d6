// Automatic rollback never crosses a database migration (memory adapters, the probes answered by hand): a
// broken plugin update that also created a table and bumped its _db_version is NOT rolled back — an ALERT
// is logged once and auto-rollback-blocked names the table and the marker, for a person to decide; a
// known-good state recorded before schemas were is not gone back to blind either; a break in code alone
// is still rolled back.
import assert from 'node:assert/strict'
import { shortId, type LogPort, type MetricsPort, type ProbeResponse, type ProbeSpec, type TableDef } from '../../src/core/index.ts'
import { Prober, snapshot, type ProbeSettings, type SiteRecording } from '../../src/services/index.ts'
import { memorySite, type MemorySite } from '../memory/site.ts'

const CRITICAL = '<html><body><p>There has been a critical error on this website.</p></body></html>'
const OK = '<html><body><h1>Shop</h1></body></html>'

const table = (name: string, extra: { name: string; type: string }[] = []): TableDef => ({
  name,
  engine: 'InnoDB',
  collation: 'utf8mb4_unicode_ci',
  columns: [{ name: 'id', type: 'bigint(20) unsigned', nullable: false, default: null }, ...extra.map((c) => ({ ...c, nullable: true, default: null }))],
  indexes: [{ name: 'PRIMARY', unique: true, columns: ['id'] }],
})

const cfg: ProbeSettings = {
  intervalMs: 60_000,
  fastIntervalMs: 60_000,
  fastRounds: 3,
  goodAfterMs: 24 * 3600_000,
  probes: [{ name: null, url: 'http://shop.example/', method: 'GET', headers: {}, basicAuth: null, tls: { caFile: null, selfSignedOnLoopback: false }, followRedirects: true, status: [200], mustContain: [], mustNotContain: [], maxLatencyMs: 5000, timeoutMs: 5000 }],
  autoRollback: { enabled: true, afterFailures: 2, minIntervalMs: 30 * 60_000 },
}

const fileText = async (m: MemorySite, path: string) => Buffer.from(await m.files.read(path)).toString()
const metrics = new Proxy({}, { get: () => () => undefined }) as MetricsPort

describe('automatic rollback across a database migration (memory adapters)', () => {
  let m: MemorySite
  let good: string
  let body: string
  let errors: string[]

  const log: LogPort = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_f, msg) => void errors.push(msg) }
  /** the recording loop as the prober sees it: what is live is the journal's head, nothing pending */
  const recording = () =>
    ({
      onNewState: null,
      live: () => ({ state: headNow, since: null, changes: 0 }),
      exclusive: <T>(fn: (release: () => void) => Promise<T>) => fn(() => undefined),
    }) as unknown as SiteRecording
  let headNow: string | null = null
  const prober = () =>
    new Prober(m.site, recording(), { fetch: async (p: ProbeSpec): Promise<ProbeResponse> => ({ url: p.url, status: 200, latencyMs: 5, body, error: null }) }, log, metrics, cfg, { notify: m.notify })
  async function rounds(p: Prober, n: number): Promise<void> {
    headNow = await m.journal.head()
    for (let i = 0; i < n; i++) await p.round()
  }

  beforeEach(async () => {
    m = memorySite()
    errors = []
    body = OK
    m.settings.schemaTables.set('wp_posts', table('wp_posts'))
    m.settings.set('hello_db_version', '1')
    good = (await snapshot(m.site, { trigger: 'manual' })).id
    await m.journal.mark(good, 'known-good')
  })

  it('does not roll back a broken update that created a table and bumped its marker: one ALERT, one auto-rollback-blocked naming them', async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0 (migrates)\n')
    m.settings.schemaTables.set('wp_hello_migrate_log', table('wp_hello_migrate_log', [{ name: 'note', type: 'varchar(191)' }]))
    m.settings.set('hello_db_version', '2')
    const broken = (await snapshot(m.site, { trigger: 'watch' })).id
    body = CRITICAL
    const p = prober()
    await rounds(p, 5)

    assert.equal(await m.journal.head(), broken, 'nothing was restored (no safety snapshot, no restore commit)')
    assert.equal(m.settings.get('hello_db_version'), '2')
    assert.match(await fileText(m, 'plugins/hello.php'), /2\.0/)
    const alerts = errors.filter((e) => e.startsWith('ALERT'))
    assert.equal(alerts.length, 1, errors.join('\n'))
    assert.match(alerts[0] ?? '', new RegExp(`^ALERT: automatic rollback blocked: the database schema changed since known-good ${shortId(good)} \\(table wp_hello_migrate_log created\\), and migration markers differ from known-good ${shortId(good)} \\(hello_db_version\\); restoring the old code over the new tables could lose orders — decide by hand: peakguard restore ${shortId(good)} --across-schema-change$`))
    assert.ok(!errors.some((e) => /^automatic rollback: health probes failed/.test(e)), 'no rollback was started')
    const blocked = m.notify.sent.filter((n) => n.event === 'auto-rollback-blocked')
    assert.equal(blocked.length, 1)
    assert.deepEqual(m.notify.events(), ['health-failure', 'auto-rollback-blocked'])
    const n = blocked[0]
    assert.deepEqual([n?.details.tables, n?.details.markers, n?.details.schema, n?.details.from, n?.details.to, n?.details.rolledBack], [['wp_hello_migrate_log'], ['hello_db_version'], ['table wp_hello_migrate_log created'], broken, good, false])
    assert.match(n?.summary ?? '', /^automatic rollback blocked: .*table wp_hello_migrate_log created.*could lose orders — decide by hand: peakguard restore \w+ --across-schema-change \(health probes failed \d times after .*: the page is WordPress's critical-error page/)
    assert.doesNotMatch(JSON.stringify(n), /"2"|Hello Dolly 2\.0/, 'no option value or file content in the notification')
    const status = await p.status()
    assert.equal(status.autoRollback.blocked?.from, broken)
    assert.equal(status.lastAlert?.message, alerts[0]?.slice('ALERT: '.length))

    // a restarted daemon remembers it was told: no second alert for the same state and target
    const again = prober()
    await rounds(again, 3)
    assert.equal(m.notify.sent.filter((x) => x.event === 'auto-rollback-blocked').length, 1)
    assert.equal(errors.filter((e) => e.startsWith('ALERT')).length, 1)
    assert.equal(await m.journal.head(), broken)
  })

  it('does not roll back to a known-good state recorded before peakguard kept schemas: it cannot tell', async () => {
    // the known-good state as a journal written before schemas were holds it: no schema
    const read = m.journal.readState.bind(m.journal)
    m.journal.readState = async (id) => {
      const s = await read(id)
      if (id !== good) return s
      const { schema: _none, ...old } = s
      return old
    }
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0\n')
    const broken = (await snapshot(m.site, { trigger: 'watch' })).id
    body = CRITICAL
    await rounds(prober(), 4)
    assert.equal(await m.journal.head(), broken, 'nothing was restored')
    const blocked = m.notify.sent.filter((n) => n.event === 'auto-rollback-blocked')
    assert.equal(blocked.length, 1)
    assert.equal(blocked[0]?.details.unknownSchema, true)
    assert.deepEqual(blocked[0]?.details.tables, [])
    assert.match(blocked[0]?.summary ?? '', /^automatic rollback blocked: known-good \w+ was recorded before peakguard kept the database schema, so whether the schema changed since cannot be told/)
    assert.equal(errors.filter((e) => e.startsWith('ALERT')).length, 1)
  })

  it('still rolls back a break in code alone (same schema, same markers)', async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0 (broken)\n')
    const broken = (await snapshot(m.site, { trigger: 'watch' })).id
    body = CRITICAL
    await rounds(prober(), 2)
    assert.notEqual(await m.journal.head(), broken, 'a restore was recorded')
    assert.equal(await fileText(m, 'plugins/hello.php'), '<?php // Hello Dolly\n', 'the code is back')
    assert.deepEqual(m.notify.events(), ['health-failure', 'auto-rollback'])
    assert.equal(m.notify.sent[1]?.details.rolledBack, true)
    assert.ok(!errors.some((e) => e.startsWith('ALERT')), errors.join('\n'))
  })

  it("never counts a round that meets WordPress's maintenance page (an update running): no failure, no rollback mid-update", async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0 (being installed)\n')
    const updating = (await snapshot(m.site, { trigger: 'pre-update' })).id
    const p = new Prober(m.site, recording(), { fetch: async (s: ProbeSpec): Promise<ProbeResponse> => ({ url: s.url, status: 503, latencyMs: 5, body: '<h1>Briefly unavailable for scheduled maintenance. Check back in a minute.</h1>', error: null }) }, log, metrics, cfg, { notify: m.notify })
    await rounds(p, 5)
    assert.equal(await m.journal.head(), updating, 'nothing was rolled back')
    assert.deepEqual(m.notify.events(), [], 'and nobody was paged')
    // the same state with a broken page (not maintenance) is a failure as before
    body = CRITICAL
    await rounds(prober(), 2)
    assert.notEqual(await m.journal.head(), updating)
  })

  it("a 503 in another language (or a maintenance.php drop-in's page) while an update asked for its snapshot is not counted either", async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly 2.0 (being installed)\n')
    const updating = (await snapshot(m.site, { trigger: 'pre-update' })).id
    const rec = { ...(recording() as unknown as Record<string, unknown>), preUpdateAt: Date.now() } as unknown as SiteRecording
    const german = '<h1>Für planmäßige Wartungsarbeiten kurzzeitig nicht verfügbar. Schau in einer Minute noch mal vorbei.</h1>'
    const p = new Prober(m.site, rec, { fetch: async (s: ProbeSpec): Promise<ProbeResponse> => ({ url: s.url, status: 503, latencyMs: 5, body: german, error: null }) }, log, metrics, cfg, { notify: m.notify })
    await rounds(p, 5)
    assert.equal(await m.journal.head(), updating, 'nothing was rolled back')
    assert.deepEqual(m.notify.events(), [])
    // without an update under way the same 503 is a failure like any other
    const q = new Prober(m.site, recording(), { fetch: async (s: ProbeSpec): Promise<ProbeResponse> => ({ url: s.url, status: 503, latencyMs: 5, body: german, error: null }) }, log, metrics, cfg, { notify: m.notify })
    await rounds(q, 2)
    assert.notEqual(await m.journal.head(), updating)
  })
})
