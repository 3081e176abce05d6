// The journal's two ways of reading a state — derived from the cached newest state plus git's tree diff,
// or parsed from the whole tree — must agree on every file, mode, owner, link, option and autoload flag.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { GitJournal } from '../../src/adapters/git-journal.ts'
import type { SiteState } from '../../src/core/index.ts'
import { loadConfig } from '../../src/config.ts'
import { openSite } from '../../src/compose/sites.ts'
import { listStates, snapshot } from '../../src/services/index.ts'
import { createSite, fsck, type TestSite } from '../harness/site.ts'

function plain(s: SiteState) {
  const sort = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
  return { files: sort(s.files), links: sort(s.links), options: sort(s.options) }
}

describe('git journal', () => {
  let site: TestSite
  afterEach(async () => site.cleanup())

  it('stores only what changed: one edited file costs one blob, its trees and the commit', async () => {
    site = await createSite()
    const git = (...args: string[]) => execFileSync('git', ['--git-dir', path.join(site.dataDir, 'shop/journal'), ...args], { encoding: 'utf8' })
    const a = (await site.cli(['snapshot', '--json'])).json.id
    fs.appendFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), '// patched\n')
    const b = (await site.cli(['snapshot', '--json'])).json.id
    const added = git('rev-list', '--objects', b, `^${a}`).trim().split('\n')
    // commit; trees /, files, files/plugins, files/plugins/akismet; the new blob — nothing else
    assert.equal(added.length, 6, added.join('\n'))
    await site.db.query(`UPDATE wp_options SET option_value = 'Renamed' WHERE option_name = 'blogname'`)
    const c = (await site.cli(['snapshot', '--json'])).json.id
    // commit; trees /, options, options/wp_options; the value's blob
    assert.equal(git('rev-list', '--objects', c, `^${b}`).trim().split('\n').length, 5)
  })

  it('derives older states from the newest exactly as parsing their trees does', async () => {
    site = await createSite({ debianLinks: true })
    const ids: string[] = []
    const snap = async () => ids.push((await site.cli(['snapshot', '--json'])).json.id)
    await snap()
    fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/new.php'), 'new')
    fs.rmSync(path.join(site.wpContent, 'plugins/hello.php'))
    fs.chmodSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 0o600)
    await site.db.query(`UPDATE wp_options SET autoload = 'no' WHERE option_name = 'home'`)
    await snap()
    fs.chownSync(path.join(site.wpContent, 'mu-plugins/00-loader.php'), 0, 0)
    fs.rmSync(path.join(site.wpContent, 'themes/storefront'))
    fs.symlinkSync('/nonexistent', path.join(site.wpContent, 'plugins/akismet/link'))
    await site.db.query(`DELETE FROM wp_options WHERE option_name = 'blogname'`)
    await site.db.query(`INSERT INTO wp_options (option_name, option_value, autoload) VALUES ('added_row', 'x', 'auto')`)
    await snap()
    assert.equal(new Set(ids).size, 3)

    const dir = path.join(site.dataDir, 'shop/journal')
    const derived = await GitJournal.open(dir, 'shop')
    await derived.readState(ids[2] as string) // the newest state, from its cache file
    fs.rmSync(path.join(dir, 'peakguard-head-state.v8'))
    for (const id of ids) {
      const parsed = await (await GitJournal.open(dir, 'shop')).readState(id)
      assert.deepEqual(plain(await derived.readState(id)), plain(parsed), `state ${id} differs`)
    }
  })

  it('packs itself (git gc) once packs pile up, and every state reads the same afterwards', async () => {
    site = await createSite()
    const cfg = loadConfig(site.configFile)
    const s = await openSite(cfg, cfg.sites[0]!)
    try {
      assert.equal(await s.journal.maintain(), null) // nothing to do yet
      for (let i = 0; i < 45; i++) {
        fs.writeFileSync(path.join(site.wpContent, 'plugins/akismet/akismet.php'), `<?php // ${i}\n`)
        assert.equal((await snapshot(s, { trigger: 'manual' })).created, true)
      }
      const ids = (await listStates(s)).map((x) => x.id)
      const before = await Promise.all(ids.map(async (id) => plain(await s.journal.readState(id))))
      const r = await s.journal.maintain()
      assert.ok(r && r.packsBefore >= 40, JSON.stringify(r))
      const packs = fs.readdirSync(path.join(site.dataDir, 'shop/journal/objects/pack')).filter((f) => f.endsWith('.pack'))
      assert.equal(packs.length, 1)
      assert.equal(fsck(site), '')
      const fresh = await GitJournal.open(path.join(site.dataDir, 'shop/journal'), 'shop')
      for (const [i, id] of ids.entries()) assert.deepEqual(plain(await fresh.readState(id)), before[i])
    } finally {
      await s.close()
    }
  })
})
