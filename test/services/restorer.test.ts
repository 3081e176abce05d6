// Restores on the memory adapters: what a user relies on — a restore first records a safety snapshot of
// the live site, then puts back exactly the target state (files, modes, owners, links, directories,
// settings rows, NULLs) and only what differs; a dry run changes nothing; --only restores only its
// selection; a restore that fails part-way is undone; one a crash interrupted is finished by the next command.
import assert from 'node:assert/strict'
import { PeakguardError } from '../../src/errors.ts'
import { restore, snapshot } from '../../src/services/index.ts'
import { liveOf, memorySite, plainState, type MemorySite } from '../memory/site.ts'

const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code

describe('restorer (memory adapters)', () => {
  let m: MemorySite
  let good: string
  let goodLive: Awaited<ReturnType<typeof liveOf>>

  /** What a bad deploy does: code, modes, a theme link, settings, a NULL. */
  async function breakSite(): Promise<void> {
    m.files.put('plugins/akismet/akismet.php', '<?php // Akismet 6.0 (broken)\n', { uid: 33, gid: 33 })
    m.files.put('plugins/akismet/extra/new.php', '<?php\n')
    m.files.rm('plugins/hello.php')
    await m.files.setMeta({ path: 'themes/storefront/functions.php', kind: 'file', blob: '', mode: 0o666, uid: 1000, gid: 1000 })
    m.files.fillTarget('/memory/usr-share-wordpress/twentytwo-v2', { 'style.css': 'v2' })
    await m.files.setLink('themes/twentytwo', { path: 'themes/twentytwo', target: '/memory/usr-share-wordpress/twentytwo-v2' })
    m.settings.set('blogname', 'Hacked')
    m.settings.set('template', 'twentytwo', 'no')
    m.settings.set('siteurl', null)
    m.settings.delete('active_plugins')
    m.settings.set('new_plugin_option', 'x')
  }

  beforeEach(async () => {
    m = memorySite()
    m.files.fillTarget('/memory/usr-share-wordpress/twentytwo-v1', { 'style.css': 'v1', 'parts/header.html': '<header>' })
    await m.files.setLink('themes/twentytwo', { path: 'themes/twentytwo', target: '/memory/usr-share-wordpress/twentytwo-v1' })
    good = (await snapshot(m.site, { trigger: 'manual' })).id
    goodLive = await liveOf(m)
  })

  it('first records the live site as a safety snapshot, then puts back exactly the target state, verified', async () => {
    await breakSite()
    const broken = await liveOf(m)
    const r = await restore(m.site, { target: good, actor: 'alice', reason: 'bad deploy' })
    assert.equal(r.verified, true)
    assert.deepEqual(await liveOf(m), goodLive)
    assert.deepEqual(plainState(await m.journal.readState(r.safetySnapshot as string)), broken, 'the safety snapshot is the site as it was')
    const [restored, safety] = await m.journal.log()
    assert.deepEqual([restored?.id, safety?.id], [r.snapshot, r.safetySnapshot])
    assert.equal(safety?.trailers['Peakguard-Trigger'], 'pre-restore')
    assert.deepEqual([restored?.trailers['Peakguard-Restore-Of'], restored?.trailers['Peakguard-Safety-Snapshot'], restored?.trailers['Peakguard-Actor'], restored?.trailers['Peakguard-Reason']], [good, r.safetySnapshot, 'alice', 'bad deploy'])
    assert.deepEqual(plainState(await m.journal.readState(r.snapshot as string)), goodLive)
    assert.equal(await m.dir.readIntent(), null)
    assert.deepEqual(m.hookRuns, [{ PEAKGUARD_SITE: 'shop', PEAKGUARD_TARGET: good, PEAKGUARD_SNAPSHOT: r.snapshot, PEAKGUARD_SAFETY_SNAPSHOT: r.safetySnapshot }])
  })

  it('is undoable: restoring the safety snapshot brings the state before back', async () => {
    await breakSite()
    const broken = await liveOf(m)
    const r = await restore(m.site, { target: good })
    await restore(m.site, { target: r.safetySnapshot as string })
    assert.deepEqual(await liveOf(m), broken)
  })

  it('writes only what differs: untouched files are not rewritten, untouched rows not written', async () => {
    m.files.put('plugins/hello.php', '<?php // Hello Dolly, edited\n')
    m.settings.set('blogname', 'Edited')
    const written: string[] = []
    const write = m.files.write.bind(m.files)
    m.files.write = async (e, c) => (written.push(e.path), write(e, c))
    const rows: string[] = []
    const apply = m.settings.apply.bind(m.settings)
    m.settings.apply = async (w, rm) => (rows.push(...w.map((x) => x.name), ...rm.map((x) => `-${x.name}`)), apply(w, rm))
    const r = await restore(m.site, { target: good })
    assert.deepEqual(written, ['plugins/hello.php'])
    assert.deepEqual(rows, ['blogname'])
    assert.deepEqual([r.files, r.options], [{ written: 1, removed: 0 }, { written: 1, removed: 0 }])
  })

  it('does nothing on a dry run but report the plan: no snapshot, no write, no intent', async () => {
    await breakSite()
    const broken = await liveOf(m)
    const r = await restore(m.site, { target: good, dryRun: true })
    assert.deepEqual([r.dryRun, r.safetySnapshot, r.snapshot, r.verified], [true, null, null, null])
    assert.deepEqual(r.plan.files.map((f) => [f.path, f.change]), [
      ['plugins/akismet/akismet.php', 'modified'],
      ['plugins/akismet/extra/new.php', 'removed'],
      ['plugins/hello.php', 'added'],
      ['themes/storefront/functions.php', 'modified'],
      // below a re-pointed theme link: what the recorded target holds
      ['themes/twentytwo/parts/header.html', 'added'],
      ['themes/twentytwo/style.css', 'modified'],
    ])
    assert.deepEqual(r.plan.links.map((l) => [l.path, l.change, l.to?.target]), [['themes/twentytwo', 'modified', '/memory/usr-share-wordpress/twentytwo-v1']])
    assert.deepEqual(r.plan.options.map((o) => [o.name, o.change]), [['active_plugins', 'added'], ['blogname', 'modified'], ['new_plugin_option', 'removed'], ['siteurl', 'modified'], ['template', 'modified']])
    assert.deepEqual(await liveOf(m), broken)
    assert.equal((await m.journal.log()).length, 1)
    assert.deepEqual(m.hookRuns, [])
  })

  it('restores only the --only selection and leaves every other change live', async () => {
    await breakSite()
    const r = await restore(m.site, { target: good, only: { paths: ['plugins/akismet'], options: ['blogname'] } })
    assert.equal(r.verified, true)
    const live = await liveOf(m)
    const byPath = new Map(live.files.map((f) => [f[0], f]))
    const wanted = new Map(goodLive.files.map((f) => [f[0], f]))
    assert.deepEqual(byPath.get('plugins/akismet/akismet.php'), wanted.get('plugins/akismet/akismet.php'))
    assert.equal(byPath.has('plugins/akismet/extra/new.php'), false)
    assert.equal(byPath.has('plugins/hello.php'), false, 'outside the selection: stays removed')
    assert.equal(m.settings.get('blogname'), 'Shop')
    assert.equal(m.settings.get('template'), 'twentytwo')
    assert.deepEqual(live.links, ['themes/twentytwo -> /memory/usr-share-wordpress/twentytwo-v2'])
  })

  it('undoes a restore that fails part-way (a full disk): the site is as it was, nothing is pending', async () => {
    await breakSite()
    const broken = await liveOf(m)
    let writes = 0
    m.files.failWrites = (p) => p === 'plugins/hello.php' && writes++ === 0
    await assert.rejects(restore(m.site, { target: good }), (e) => isCode('DISK_FULL')(e) && /stopped and undone/.test((e as Error).message))
    assert.deepEqual(await liveOf(m), broken)
    assert.equal(await m.dir.readIntent(), null)
  })

  it('finishes a restore a crash interrupted at the next command, notes it, and runs the post-restore commands', async () => {
    await breakSite()
    const broken = (await snapshot(m.site, { trigger: 'manual' })).id
    // the process died after writing its intent and a few files
    await m.dir.writeIntent({ target: good, safetySnapshot: broken, only: null, startedAt: '2026-11-27T01:00:00.000Z' })
    m.files.put('plugins/hello.php', '<?php // Hello Dolly\n')
    m.files.put('plugins/akismet/.~pg-0123456789ab.tmp', 'half a file')
    const r = await snapshot(m.site, { trigger: 'manual' })
    assert.match(r.finishedRestore ?? '', new RegExp(`^finished the restore to ${good.slice(0, 12)} that was interrupted`))
    assert.deepEqual(await liveOf(m), goodLive)
    assert.equal(await m.dir.readIntent(), null)
    assert.equal((await m.dir.lastRecovery())?.what, r.finishedRestore)
    assert.equal(m.hookRuns.length, 1)
    assert.equal(m.hookRuns[0]?.PEAKGUARD_SAFETY_SNAPSHOT, broken)
    assert.equal((await m.files.scan()).files.some((f) => f.path.includes('.~pg-')), false)
  })

  it('fails for a state the journal does not hold, before touching anything', async () => {
    await breakSite()
    const broken = await liveOf(m)
    await assert.rejects(restore(m.site, { target: 'f'.repeat(40) }), isCode('GIT_FAILED'))
    assert.deepEqual(await liveOf(m), broken)
    assert.equal((await m.journal.log()).length, 1)
  })
})
