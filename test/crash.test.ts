// A restore or snapshot killed (SIGKILL) at each step: the next command finishes the restore, `status`
// says so, the live site equals the target, and `git fsck` finds the journal sound.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createSite, fsck, optionRows, treeOf, type TestSite } from './harness/site.ts'

describe('crash safety', () => {
  let site: TestSite
  let good: string
  let goodTree: Map<string, string>
  let goodOptions: Map<string, string>

  beforeEach(async () => {
    site = await createSite()
    good = (await site.cli(['snapshot', '--json'])).json.id
    goodTree = treeOf(site.wpContent)
    goodOptions = await optionRows(site.db, 'wp_options')
    // a bad plugin update (every file rewritten, some added) and two settings changes
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(site.wpContent, `plugins/woocommerce/includes/class-wc-part-${i}.php`), `<?php // v10 ${i}\n`)
    fs.writeFileSync(path.join(site.wpContent, 'plugins/woocommerce/includes/new.php'), '<?php // new\n')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken' WHERE option_name = 'blogname'`)
    await site.db.query(`DELETE FROM wp_options WHERE option_name = 'home'`)
  })
  afterEach(async () => site.cleanup())

  for (const step of ['restore:after-safety-snapshot', 'restore:after-intent', 'restore:file#7', 'restore:after-files', 'restore:after-settings']) {
    it(`a restore killed at ${step} is finished by the next command`, async () => {
      const killed = await site.cli(['restore', good, '--yes', '--json'], { PEAKGUARD_FAULT: step })
      assert.equal(killed.code, 137, `expected SIGKILL, got ${killed.code}: ${killed.stderr}`)
      fsck(site)

      const status = await site.cli(['status', '--json'])
      assert.equal(status.code, 0, status.stderr)
      if (step === 'restore:after-safety-snapshot') {
        // killed before the intent was written: nothing had been touched, nothing to finish
        assert.equal(status.json.lastRecovery, null)
        const again = await site.cli(['restore', good, '--yes', '--json'])
        assert.equal(again.code, 0, again.stderr)
      } else {
        assert.match(status.json.lastRecovery.what, new RegExp(`finished the restore to ${good.slice(0, 12)}`))
        assert.equal(status.json.pendingChanges.files + status.json.pendingChanges.options, 0)
      }
      assert.deepEqual(treeOf(site.wpContent), goodTree)
      assert.deepEqual(await optionRows(site.db, 'wp_options'), goodOptions)
      assert.equal(fsck(site), '')
      // no temporary file survives the recovery
      assert.deepEqual([...treeOf(site.wpContent).keys()].filter((p) => p.includes('.~pg-')), [])
    })
  }

  it('a snapshot killed while streaming into the journal leaves the journal as it was', async () => {
    const before = (await site.cli(['list', '--json'])).json
    const killed = await site.cli(['snapshot', '--json'], { PEAKGUARD_FAULT: 'snapshot:file#5' })
    assert.equal(killed.code, 137)
    assert.equal(fsck(site), '')
    assert.deepEqual((await site.cli(['list', '--json'])).json, before)
    const r = await site.cli(['snapshot', '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.created, true)
    const diff = await site.cli(['diff', r.json.id, '--json'])
    assert.deepEqual([diff.json.files, diff.json.options], [[], []], 'the new snapshot does not match the live site')
  })
})
