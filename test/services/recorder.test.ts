// Snapshots on the memory adapters: what a user relies on when the recorder runs — the first snapshot
// holds the whole site, an unchanged site makes no snapshot, a change makes exactly one that names it,
// noise (transients) is not a change, a row or file that moves while it is recorded is recorded as it
// ends up, and a database outage does not stop the code from being recorded when the daemon asks.
import assert from 'node:assert/strict'
import type { FileEntry } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { snapshot } from '../../src/services/index.ts'
import { liveOf, memorySite, plainState, type MemorySite } from '../memory/site.ts'

const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code

describe('recorder (memory adapters)', () => {
  let m: MemorySite
  beforeEach(() => (m = memorySite()))

  it('records the whole site in scope the first time — not uploads, not transients — and gives it back as it was', async () => {
    const r = await snapshot(m.site, { trigger: 'manual' })
    assert.equal(r.created, true)
    assert.equal(r.summary, 'initial: 5 files, 4 options')
    assert.equal(await m.journal.head(), r.id)
    const state = await m.journal.readState(r.id)
    assert.deepEqual(plainState(state), await liveOf(m))
    assert.ok(!state.files.has('uploads/2026/11/photo.jpg'))
    assert.ok(![...state.options.values()].some((o) => o.name === '_transient_feed'))
  })

  it('creates nothing for an unchanged site, or for a change only in ignored rows', async () => {
    const a = await snapshot(m.site, { trigger: 'manual' })
    m.settings.set('_transient_feed', 'other noise')
    m.settings.set('cron', 'a:0:{}')
    m.files.put('uploads/2026/11/other.jpg', 'a new upload')
    const b = await snapshot(m.site, { trigger: 'scan' })
    assert.deepEqual([b.created, b.id, b.summary], [false, a.id, 'no change'])
    assert.equal((await m.journal.log()).length, 1)
  })

  it('option ignore globs hide options only: a settings-table row or an entity named like one is recorded', async () => {
    m.settings.tables.set('wp_acme_settings', new Map())
    m.settings.set('table:acme_settings#cache.lock', 'peakguard-row 1\n', null, 'wp_acme_settings')
    m.settings.set('cache.lock', 'noise')
    const r = await snapshot(m.site, { trigger: 'manual' })
    const names = [...r.state.options.values()].map((o) => o.name)
    assert.equal(names.includes('table:acme_settings#cache.lock'), true)
    assert.equal(names.includes('cache.lock'), false)
  })

  it('records a change as one snapshot that names the unit and rows, with its trigger, site and message', async () => {
    await snapshot(m.site, { trigger: 'manual' })
    m.files.put('plugins/akismet/akismet.php', '<?php // Akismet 5.1\n', { uid: 33, gid: 33 })
    m.files.put('plugins/akismet/new.php', '<?php\n', { uid: 33, gid: 33 })
    m.settings.set('blogname', 'Shop — Black Friday')
    const r = await snapshot(m.site, { trigger: 'watch', message: 'akismet update' })
    assert.equal(r.created, true)
    assert.equal(r.summary, 'plugins/akismet (2 files); options: blogname')
    const [c] = await m.journal.log()
    assert.equal(c?.subject, 'akismet update')
    assert.deepEqual([c?.trailers['Peakguard-Trigger'], c?.trailers['Peakguard-Site'], c?.trailers['Peakguard-Summary']], ['watch', 'shop', r.summary])
    assert.deepEqual(plainState(await m.journal.readState(r.id)), await liveOf(m))
  })

  it('records a mode or owner change, and a removed file', async () => {
    const a = await snapshot(m.site, { trigger: 'manual' })
    await m.files.setMeta({ ...((await m.files.inspect(['plugins/hello.php'])).get('plugins/hello.php') as FileEntry), mode: 0o600 })
    m.files.rm('themes/storefront/functions.php')
    const b = await snapshot(m.site, { trigger: 'manual' })
    assert.notEqual(b.id, a.id)
    const s = await m.journal.readState(b.id)
    assert.equal(s.files.get('plugins/hello.php')?.mode, 0o600)
    assert.equal(s.files.has('themes/storefront/functions.php'), false)
    assert.equal((await m.journal.readState(a.id)).files.get('plugins/hello.php')?.mode, 0o644, 'the earlier state is untouched')
  })

  it('records a row as it is when its value is stored, when it changed after it was listed', async () => {
    await snapshot(m.site, { trigger: 'manual' })
    m.settings.set('blogname', 'listed')
    const read = m.settings.read.bind(m.settings)
    m.settings.read = async () => {
      const rows = await read()
      m.settings.set('blogname', 'stored') // WordPress writes again between the listing and the values
      return rows
    }
    const r = await snapshot(m.site, { trigger: 'poll' })
    const key = `wp_options\u0000blogname`
    const state = await m.journal.readState(r.id)
    const bytes: string[] = []
    await m.journal.readBlobs([state.options.get(key)?.blob as string], (_, b) => void bytes.push(Buffer.from(b).toString()))
    assert.deepEqual(bytes, ['stored'])
  })

  it('reads again when a file changes while it is recorded, and gives up after three readings with nothing recorded', async () => {
    await snapshot(m.site, { trigger: 'manual' })
    const scan = m.files.scan.bind(m.files)
    let scans = 0
    let busy = 1
    m.files.scan = async (units) => {
      const s = await scan(units)
      scans++
      if (busy-- > 0) m.files.put('plugins/hello.php', `<?php // written during scan ${scans}\n`) // a plugin update still writing
      return s
    }
    m.files.put('plugins/hello.php', '<?php // updated\n')
    const r = await snapshot(m.site, { trigger: 'watch' })
    assert.equal(scans, 2)
    assert.equal((await m.journal.readState(r.id)).files.get('plugins/hello.php')?.blob, (await m.files.inspect(['plugins/hello.php'])).get('plugins/hello.php')?.blob)

    busy = 100
    const head = await m.journal.head()
    m.files.put('plugins/hello.php', '<?php // again\n')
    await assert.rejects(snapshot(m.site, { trigger: 'watch' }), (e) => isCode('CHANGED_WHILE_RECORDING')(e) && /three readings/.test((e as Error).message))
    assert.equal(await m.journal.head(), head)
  })

  it('with the database down: fails by default; the daemon’s snapshot records the files and carries the settings over, saying so', async () => {
    const a = await snapshot(m.site, { trigger: 'manual' })
    m.files.put('plugins/hello.php', '<?php // changed while the database is down\n')
    m.settings.down = true
    await assert.rejects(snapshot(m.site, { trigger: 'manual' }), isCode('DB_UNREACHABLE'))
    assert.equal(await m.journal.head(), a.id)
    const r = await snapshot(m.site, { trigger: 'watch', whenDbDown: 'carry' })
    assert.equal(r.created, true)
    assert.match(r.settingsError ?? '', /cannot reach the database/)
    const [c] = await m.journal.log()
    assert.match(c?.trailers['Peakguard-Settings'] ?? '', /^not read \(DB_UNREACHABLE\); carried over/)
    const [before, after] = [await m.journal.readState(a.id), await m.journal.readState(r.id)]
    assert.deepEqual([...after.options.values()], [...before.options.values()])
    assert.notEqual(after.files.get('plugins/hello.php')?.blob, before.files.get('plugins/hello.php')?.blob)
  })

  it('reads only the units it is told changed; the rest as the newest snapshot holds it', async () => {
    await snapshot(m.site, { trigger: 'manual' })
    m.files.put('plugins/akismet/akismet.php', 'changed')
    m.files.put('themes/storefront/style.css', 'changed too, not reported')
    const r = await snapshot(m.site, { trigger: 'watch', units: new Set(['plugins/akismet']) })
    assert.equal(r.summary, 'plugins/akismet (1 file)')
  })

  it('waits for another writer and gives up with BUSY, recording nothing', async () => {
    m.site.lockWaitMs = 30
    const release = await m.dir.lock(0)
    try {
      await assert.rejects(snapshot(m.site, { trigger: 'manual' }), isCode('BUSY'))
      assert.equal(await m.journal.head(), null)
    } finally {
      await release()
    }
    assert.equal((await snapshot(m.site, { trigger: 'manual' })).created, true)
  })
})
