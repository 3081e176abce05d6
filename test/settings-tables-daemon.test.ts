// A settings table the config names but the database refuses stops the site at start-up, by name: the
// daemon says so where the operator looks (its log and `status`), records nothing half-covered, and every
// command fails with the same message (exit 2), on real MariaDB.
import assert from 'node:assert/strict'
import { startDaemon, fastDaemonConfig, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'

describe('settings tables refused at start', function () {
  this.timeout(120_000)
  let site: TestSite
  let daemon: RunningDaemon | null = null

  before(async () => {
    site = await createSite({ siteConfig: `    settingsTables:\n      - pg_missing_rules\n${fastDaemonConfig()}` })
  })
  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  it('a missing table: the daemon does not start the site and names the table; snapshot exits 2 naming it; nothing is recorded', async () => {
    const snap = await site.cli(['snapshot', '--json'])
    assert.equal(snap.code, 2, snap.stdout + snap.stderr)
    assert.equal(snap.stderr.includes('    at '), false, `a stack trace: ${snap.stderr}`)
    assert.match(snap.stderr, /settingsTables: pg_missing_rules \(wp_pg_missing_rules\) does not exist in database/)

    daemon = await startDaemon(site)
    const line = await daemon.waitFor((l) => /site could not start/.test(l.msg), 60_000)
    assert.match(line.msg, /settingsTables: pg_missing_rules \(wp_pg_missing_rules\) does not exist/)
    const list = await site.cli(['list', '--json'])
    assert.deepEqual(list.json, [], 'no snapshot was taken without the table')
  })
})
