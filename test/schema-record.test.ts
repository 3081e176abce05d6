// A schema change recorded by the daemon on its own, on real MariaDB: a plugin's installer creates its table
// and adds a column to it (no settings row, no file changes), the settings poll notices it, and the snapshot
// says it in words — in the log, `list`, `show` and `diff` between two snapshots. Every snapshot holds the schema
// (the journal's meta/schema), read back by the next command from the journal's head cache.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import path from 'node:path'
import { decodeSchema } from '../src/core/index.ts'
import { fastDaemonConfig, isSnapshot, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'

describe('the daemon records a schema change by itself', function () {
  this.timeout(120_000)
  let site: TestSite
  let daemon: RunningDaemon | null = null

  before(async () => {
    site = await createSite({ siteConfig: fastDaemonConfig() })
  })
  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  it('CREATE TABLE wp_demo_log + ALTER TABLE … ADD COLUMN: one snapshot saying "table wp_demo_log created"; a later ALTER says what it changed; show, list and diff say it', async () => {
    const first = await site.cli(['snapshot', '--json'])
    assert.equal(first.code, 0, first.stderr)
    const a = first.json.id as string
    const journal = path.join(site.dataDir, 'shop/journal')
    const schemaAt = (id: string) => decodeSchema(execFileSync('git', ['--git-dir', journal, 'show', `${id}:meta/schema`], { encoding: 'utf8' }))
    assert.ok(schemaAt(a).tables.has('wp_options'), 'the first snapshot holds the schema')

    daemon = await startDaemon(site)
    // the start-up reading finds nothing new (the first snapshot held the schema already)
    await daemon.waitFor((l) => l.msg === 'nothing in scope changed' && /start-up/.test(String(l.why)), 30_000)
    assert.equal(daemon.lines.some(isSnapshot), false, 'no snapshot at start-up')
    const from = daemon.lines.length
    await site.db.query('CREATE TABLE wp_demo_log (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, message text NOT NULL) DEFAULT CHARSET utf8mb4')
    await site.db.query('ALTER TABLE wp_demo_log ADD COLUMN level varchar(10) NOT NULL DEFAULT \'info\', ALGORITHM=INSTANT')
    const created = await daemon.waitFor((l) => isSnapshot(l) && /wp_demo_log/.test(String(l.summary)), 30_000, from)
    assert.equal(created.trigger, 'poll')
    assert.equal(created.summary, 'schema: wp_demo_log created')
    assert.deepEqual(created.words, ['table wp_demo_log created'])
    const b = created.state as string
    const table = schemaAt(b).tables.get('wp_demo_log')
    assert.deepEqual(table?.columns.map((c) => c.name), ['id', 'message', 'level'], 'the snapshot holds the table as it ended up')

    const from2 = daemon.lines.length
    await site.db.query('ALTER TABLE wp_demo_log ADD INDEX level (level)')
    const altered = await daemon.waitFor((l) => isSnapshot(l) && /wp_demo_log/.test(String(l.summary)), 30_000, from2)
    assert.deepEqual(altered.words, ['wp_demo_log: index `level` (level) added'])
    const c = altered.state as string
    await daemon.stop()
    daemon = null

    const shown = await site.cli(['show', b])
    assert.equal(shown.code, 0, shown.stderr)
    assert.match(shown.stdout, /changed {2}table wp_demo_log created/)
    const shownJson = await site.cli(['show', b, '--json'])
    assert.deepEqual(shownJson.json.words, ['table wp_demo_log created'])
    const list = await site.cli(['list', '--json'])
    assert.deepEqual(
      list.json.slice(0, 2).map((s: { id: string; summary: string }) => [s.id, s.summary]),
      [
        [c, 'schema: wp_demo_log altered'],
        [b, 'schema: wp_demo_log created'],
      ],
    )
    const diff = await site.cli(['diff', a, c])
    assert.equal(diff.code, 0, diff.stderr)
    assert.match(diff.stdout, /~ schema table wp_demo_log created/)
    const back = await site.cli(['diff', c, b])
    assert.match(back.stdout, /~ schema wp_demo_log: index `level` \(level\) dropped/)
    // nothing else changed: a snapshot now records nothing
    const again = await site.cli(['snapshot', '--json'])
    assert.deepEqual([again.json.created, again.json.id], [false, c])
  })
})
