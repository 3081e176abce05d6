// The daemon reads again only the theme/plugin directories and drop-ins the watcher reported; everything
// else it takes from the newest snapshot. That reading must equal a full walk of the live site — for edits,
// new and removed units, single-file plugins, drop-ins, links and whole scope directories.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { inUnits, unitOf, type SiteState } from '../src/core/index.ts'
import { loadConfig } from '../src/config.ts'
import { openSite } from '../src/compose/sites.ts'
import { readLive, readLiveUnits } from '../src/services/live.ts'
import { snapshot } from '../src/services/index.ts'
import { createSite, type TestSite } from './harness/site.ts'

function plain(s: SiteState) {
  const sort = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1))
  return { files: sort(s.files), links: sort(s.links), options: sort(s.options) }
}

describe('reading only what changed', () => {
  it('maps a changed path to its unit, and nothing outside the scope', () => {
    assert.equal(unitOf('plugins/akismet/inc/a.php'), 'plugins/akismet')
    assert.equal(unitOf('plugins/hello.php'), 'plugins/hello.php')
    assert.equal(unitOf('object-cache.php'), 'object-cache.php')
    assert.equal(unitOf('plugins'), 'plugins')
    assert.equal(unitOf('uploads/2026/a.jpg'), null)
    assert.equal(unitOf('index.php'), null)
    assert.equal(unitOf('plugins/../wp-config.php'), null)
    assert.ok(inUnits('plugins/akismet/a.php', new Set(['plugins/akismet'])))
    assert.ok(!inUnits('plugins/akismet-pro/a.php', new Set(['plugins/akismet'])))
    assert.ok(inUnits('plugins/x/y.php', new Set(['plugins'])))
  })

  let site: TestSite
  afterEach(async () => site?.cleanup())

  it('equals a full reading of the live site after every kind of change', async () => {
    site = await createSite({ debianLinks: true })
    const cfg = loadConfig(site.configFile)
    const s = await openSite(cfg, cfg.sites[0]!)
    try {
      await snapshot(s, { trigger: 'manual' })
      const w = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(site.wpContent, rel)), { recursive: true })
        fs.writeFileSync(path.join(site.wpContent, rel), text)
      }
      const changes: [string, () => void, string[]][] = [
        ['an edit', () => w('plugins/akismet/akismet.php', '<?php // 5.4\n'), ['plugins/akismet']],
        ['a new plugin', () => w('plugins/new-plugin/new.php', '<?php // new\n'), ['plugins/new-plugin']],
        ['a removed single-file plugin', () => fs.rmSync(path.join(site.wpContent, 'plugins/hello.php')), ['plugins/hello.php']],
        ['a new drop-in', () => w('advanced-cache.php', '<?php // page cache\n'), ['advanced-cache.php']],
        ['a removed plugin', () => fs.rmSync(path.join(site.wpContent, 'plugins/woocommerce'), { recursive: true }), ['plugins/woocommerce']],
        ['a linked theme replaced by a copy', () => {
          const t = path.join(site.wpContent, 'themes/storefront')
          const target = fs.readlinkSync(t)
          fs.rmSync(t)
          fs.cpSync(target, t, { recursive: true })
          w('themes/storefront/style.css', 'body { color: red }\n')
        }, ['themes/storefront']],
        ['mu-plugins replaced wholesale', () => {
          fs.rmSync(path.join(site.wpContent, 'mu-plugins'), { recursive: true })
          w('mu-plugins/10-other.php', '<?php // other\n')
        }, ['mu-plugins']],
      ]
      for (const [what, change, units] of changes) {
        change()
        const scoped = await readLiveUnits(s, new Set(units))
        const full = await readLive(s)
        assert.deepEqual(plain(scoped), plain(full), what)
        await snapshot(s, { trigger: 'watch', units: new Set(units) })
        assert.deepEqual(plain(await s.journal.readState((await s.journal.head())!)), plain(await readLive(s)), `${what}: recorded`)
      }
    } finally {
      await s.close()
    }
  })
})
