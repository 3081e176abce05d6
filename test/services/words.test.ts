// Words at snapshot time, on the memory adapters: each snapshot with a parent stores what changed in
// words, `list` gives them back, the recorder reads only the changed rows and the headers of the changed
// units (live files only where the journal does not have them yet), and a read that fails costs words,
// never the snapshot. States recorded before words were get theirs said from the journal.
import assert from 'node:assert/strict'
import { diffStates } from '../../src/core/index.ts'
import { listStates, showState, snapshot } from '../../src/services/index.ts'
import { describeInWords, stateWords } from '../../src/services/words.ts'
import { memorySite, type MemorySite } from '../memory/site.ts'

const header = (name: string, version: string) => `<?php\n/**\n * Plugin Name: ${name}\n * Version: ${version}\n */\n`
const active = (...files: string[]) => `a:${files.length}:{${files.map((f, i) => `i:${i};s:${f.length}:"${f}";`).join('')}}`

describe('words (memory adapters)', () => {
  let m: MemorySite
  beforeEach(async () => {
    m = memorySite()
    m.files.put('plugins/demo-upsell/demo-upsell.php', header('Demo Upsell', '1.0.0'))
    for (let i = 0; i < 30; i++) m.files.put(`plugins/demo-upsell/includes/part-${i}.php`, `<?php // ${i}\n`)
    m.files.put('themes/storefront/style.css', '/*\nTheme Name: Storefront\nVersion: 4.6.0\n*/\n')
    await snapshot(m.site, { trigger: 'manual' })
  })

  it('stores what changed in words with each snapshot, and list gives them back; the first state has none', async () => {
    m.settings.set('active_plugins', active('akismet/akismet.php', 'demo-upsell/demo-upsell.php'))
    m.settings.set('blogname', 'Shop — Black Friday')
    const r = await snapshot(m.site, { trigger: 'poll' })
    assert.deepEqual(r.words, ['plugin Demo Upsell activated', 'site title changed'])
    const [latest, first] = await listStates(m.site)
    assert.deepEqual(latest?.words, ['plugin Demo Upsell activated', 'site title changed'])
    assert.equal(first?.words, null)
    assert.equal(latest?.summary, 'options: active_plugins, blogname', 'the raw summary is kept beside the words')
  })

  it('reads live only the headers of the changed plugin, and nothing the journal already holds', async () => {
    const reads: string[] = []
    const read = m.files.read.bind(m.files)
    m.files.read = async (p: string) => {
      reads.push(p)
      return read(p)
    }
    m.files.put('plugins/demo-upsell/demo-upsell.php', header('Demo Upsell', '1.1.0'))
    for (let i = 0; i < 30; i++) m.files.put(`plugins/demo-upsell/includes/part-${i}.php`, `<?php // ${i} v1.1\n`)
    m.settings.set('active_plugins', active('akismet/akismet.php', 'demo-upsell/demo-upsell.php'))
    const r = await snapshot(m.site, { trigger: 'watch' })
    assert.deepEqual(r.words, ['plugin Demo Upsell updated 1.0.0 → 1.1.0 (31 files) and activated'])
    assert.deepEqual(reads, ['plugins/demo-upsell/demo-upsell.php'])

    reads.length = 0
    m.settings.set('active_plugins', active('akismet/akismet.php'))
    const off = await snapshot(m.site, { trigger: 'poll' })
    assert.deepEqual(off.words, ['plugin Demo Upsell deactivated'])
    assert.deepEqual(reads, [], 'an unchanged plugin file is read from the journal')
  })

  it('records the snapshot with plainer words when a header cannot be read', async () => {
    m.files.read = async (p: string) => {
      throw new Error(`EIO reading ${p}`)
    }
    m.files.put('plugins/new-one/new-one.php', header('New One', '2.0'))
    const r = await snapshot(m.site, { trigger: 'watch' })
    assert.equal(r.created, true)
    assert.deepEqual(r.words, ['plugin new-one added'])

    const readBlobs = m.journal.readBlobs.bind(m.journal)
    m.journal.readBlobs = async () => {
      throw new Error('git cat-file failed')
    }
    m.settings.set('active_plugins', active('akismet/akismet.php', 'new-one/new-one.php'))
    const s = await snapshot(m.site, { trigger: 'poll' })
    assert.equal(s.created, true)
    assert.deepEqual(s.words, ['active plugins changed'], 'the list before could not be read: no plugin is named')
    m.journal.readBlobs = readBlobs
  })

  it('says the same from the journal for two recorded states, and says it for a state recorded before words were', async () => {
    m.settings.set('template', 'twentytwentythree')
    m.files.put('themes/twentytwentythree/style.css', '/*\nTheme Name: Twenty Twenty-Three\n*/\n')
    m.files.put('themes/storefront/functions.php', '<?php // patched\n')
    const r = await snapshot(m.site, { trigger: 'watch' })
    const d = await showState(m.site, r.id)
    const before = await m.journal.readState(d.parent as string)
    const after = await m.journal.readState(r.id)
    const phrases = await describeInWords(m.site, diffStates(before, after), before, after, { after: 'journal' })
    assert.deepEqual(phrases.map((p) => p.text), r.words)
    assert.deepEqual(r.words, ['parent theme switched from Storefront to Twenty Twenty-Three', 'theme Storefront: 1 file changed', 'theme Twenty Twenty-Three added'])
    assert.deepEqual(await stateWords(m.site, { ...d, words: null }), r.words, 'an old state has its words said from the journal')
    assert.equal(await stateWords(m.site, { ...d, parent: null, words: null }), null)
  })
})
