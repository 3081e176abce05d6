// What every LiveFilesPort must do, as the recorder and the restorer rely on it: a scan sees exactly the
// files in scope with git's blob ids, modes, owners, symlinks, linked theme/plugin directories and
// directories; a restore's writes land with their owner and mode, make and remove directories as
// needed, and nothing is written through a symlink the state does not record.
import assert from 'node:assert/strict'
import type { FileEntry, LinkedDir, LiveFilesPort } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { blobId, EMPTY_BLOB } from '../memory/blob-id.ts'
import { BINARY, enc } from './states.ts'

/** wp-content as a user sees it, changed from outside the port. */
export interface LiveFilesFixture {
  files: LiveFilesPort
  put(path: string, content: string | Uint8Array, meta?: { mode?: number; uid?: number; gid?: number }): Promise<void>
  symlink(path: string, text: string): Promise<void>
  /** a directory outside wp-content that links may lead to (followLinksInto), holding these files */
  target(name: string, files: Record<string, string>): Promise<string>
  /** makes `path` a directory link to `target`, as a user's `ln -s` */
  linkDir(path: string, target: string): Promise<void>
  /** a directory outside everything peakguard may write (/etc, /root) */
  outside(): string
  cleanup(): Promise<void>
}

const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code
const file = (path: string, bytes: Uint8Array, meta: Partial<FileEntry> = {}): FileEntry => ({ path, kind: 'file', blob: blobId(bytes), mode: 0o644, uid: 0, gid: 0, ...meta })
const byPath = <T extends { path: string }>(xs: T[]) => [...xs].sort((a, b) => (a.path < b.path ? -1 : 1))

export function describeLiveFilesContract(name: string, make: () => Promise<LiveFilesFixture>): void {
  describe(`LiveFilesPort contract: ${name}`, () => {
    let fx: LiveFilesFixture
    let f: LiveFilesPort
    beforeEach(async () => {
      fx = await make()
      f = fx.files
      await fx.put('plugins/akismet/akismet.php', '<?php // akismet\n', { uid: 33, gid: 33 })
      await fx.put('plugins/akismet/empty.txt', '')
      await fx.put('plugins/akismet/bin/tool', BINARY, { mode: 0o750 })
      await fx.put('plugins/hello.php', '<?php // Hello Dolly\n', { mode: 0o600 })
      await fx.put('themes/twentyone/style.css', '/* Twenty Twenty-One */')
      await fx.put('object-cache.php', '<?php // drop-in\n')
      await fx.symlink('plugins/akismet/current', '../hello.php')
      // not state: uploads, wp-config, peakguard's own temporary files
      await fx.put('uploads/2026/11/photo.jpg', BINARY)
      await fx.put('index.php', '<?php // silence')
      await fx.put('plugins/akismet/.~pg-0123456789ab.tmp', 'half a restore')
    })
    afterEach(async () => fx.cleanup())

    it('scans exactly the files in scope with their blob ids, modes and owners; symlinks as links; uploads, wp-content files and temporaries left out', async () => {
      const scan = await f.scan()
      assert.deepEqual(byPath(scan.files), [
        file('object-cache.php', enc('<?php // drop-in\n')),
        file('plugins/akismet/akismet.php', enc('<?php // akismet\n'), { uid: 33, gid: 33 }),
        file('plugins/akismet/bin/tool', BINARY, { mode: 0o750 }),
        { path: 'plugins/akismet/current', kind: 'symlink', blob: blobId(enc('../hello.php')), mode: 0o777, uid: 0, gid: 0 },
        file('plugins/akismet/empty.txt', new Uint8Array(0)),
        file('plugins/hello.php', enc('<?php // Hello Dolly\n'), { mode: 0o600 }),
        file('themes/twentyone/style.css', enc('/* Twenty Twenty-One */')),
      ])
      assert.equal(scan.files.find((x) => x.path === 'plugins/akismet/empty.txt')?.blob, EMPTY_BLOB)
      assert.deepEqual(scan.links, [])
      assert.deepEqual(scan.skipped, [])
      assert.deepEqual(byPath(scan.dirs).map((d) => d.path), ['plugins/akismet', 'plugins/akismet/bin', 'themes/twentyone'])
    })

    it('scans only the units asked for', async () => {
      const scan = await f.scan(new Set(['plugins/akismet']))
      assert.deepEqual(byPath(scan.files).map((x) => x.path), ['plugins/akismet/akismet.php', 'plugins/akismet/bin/tool', 'plugins/akismet/current', 'plugins/akismet/empty.txt'])
      assert.deepEqual(byPath(scan.dirs).map((d) => d.path), ['plugins/akismet', 'plugins/akismet/bin'])
    })

    it('reads a file’s bytes and a symlink’s text; inspect re-reads paths, null where nothing is', async () => {
      assert.deepEqual(Buffer.from(await f.read('plugins/akismet/bin/tool')), Buffer.from(BINARY))
      // only the head when asked (a plugin's header), the whole file when it is shorter
      assert.deepEqual(Buffer.from(await f.read('plugins/akismet/bin/tool', 3)), Buffer.from(BINARY).subarray(0, 3))
      assert.deepEqual(Buffer.from(await f.read('plugins/akismet/bin/tool', 1 << 20)), Buffer.from(BINARY))
      assert.equal(Buffer.from(await f.read('plugins/akismet/current')).toString(), '../hello.php')
      await assert.rejects(f.read('plugins/nope.php'), (e) => e instanceof PeakguardError)
      assert.equal(typeof f.locate('plugins/hello.php'), 'string')
      await fx.put('plugins/hello.php', 'changed', { mode: 0o644 })
      const got = await f.inspect(['plugins/hello.php', 'plugins/akismet/current', 'plugins/gone.php'])
      assert.deepEqual(got.get('plugins/hello.php'), file('plugins/hello.php', enc('changed')))
      assert.equal(got.get('plugins/akismet/current')?.kind, 'symlink')
      assert.equal(got.get('plugins/gone.php'), null)
    })

    it('writes a file with its exact bytes, owner and mode, making missing directories; replaces a file; writes a symlink', async () => {
      const content = Uint8Array.from([0, 1, 2, 0, 255, 10, 13])
      await f.write(file('plugins/new-plugin/sub/dir/x.php', content, { mode: 0o640, uid: 33, gid: 33 }), content)
      await f.write(file('plugins/hello.php', enc('v2'), { mode: 0o755 }), enc('v2'))
      await f.write({ path: 'plugins/new-plugin/latest', kind: 'symlink', blob: blobId(enc('sub/dir/x.php')), mode: 0o777, uid: 0, gid: 0 }, enc('sub/dir/x.php'))
      const got = await f.inspect(['plugins/new-plugin/sub/dir/x.php', 'plugins/hello.php', 'plugins/new-plugin/latest'])
      assert.deepEqual(got.get('plugins/new-plugin/sub/dir/x.php'), file('plugins/new-plugin/sub/dir/x.php', content, { mode: 0o640, uid: 33, gid: 33 }))
      assert.deepEqual(got.get('plugins/hello.php'), file('plugins/hello.php', enc('v2'), { mode: 0o755 }))
      assert.equal(got.get('plugins/new-plugin/latest')?.blob, blobId(enc('sub/dir/x.php')))
      const dirs = await f.inspectDirs(['plugins/new-plugin', 'plugins/new-plugin/sub/dir'])
      assert.ok(dirs.get('plugins/new-plugin') && dirs.get('plugins/new-plugin/sub/dir'), 'directories made')
      assert.deepEqual((await f.scan(new Set(['plugins/new-plugin']))).files.map((x) => x.path).sort(), ['plugins/new-plugin/latest', 'plugins/new-plugin/sub/dir/x.php'])
    })

    it('sets mode and owner of a file without touching its content', async () => {
      await f.setMeta(file('plugins/hello.php', enc('<?php // Hello Dolly\n'), { mode: 0o755, uid: 1000, gid: 1000 }))
      assert.deepEqual((await f.inspect(['plugins/hello.php'])).get('plugins/hello.php'), file('plugins/hello.php', enc('<?php // Hello Dolly\n'), { mode: 0o755, uid: 1000, gid: 1000 }))
    })

    it('removes a file and the directories it leaves empty, up to and including its plugin directory', async () => {
      await f.remove('plugins/akismet/bin/tool')
      assert.equal((await f.inspectDirs(['plugins/akismet/bin'])).get('plugins/akismet/bin'), null)
      for (const p of ['plugins/akismet/akismet.php', 'plugins/akismet/empty.txt', 'plugins/akismet/current']) await f.remove(p)
      await f.removeTemporaries()
      await f.remove('plugins/akismet/akismet.php') // gone already: nothing to do
      const scan = await f.scan()
      assert.ok(!scan.files.some((x) => x.path.startsWith('plugins/akismet/')))
      assert.ok(!scan.dirs.some((d) => d.path.startsWith('plugins/akismet')), JSON.stringify(scan.dirs))
    })

    it('creates directories with their mode and owner, sets them on existing ones, removes only empty ones', async () => {
      await f.setDirMeta({ path: 'plugins/akismet/views', mode: 0o750, uid: 33, gid: 33 })
      await f.setDirMeta({ path: 'plugins/akismet', mode: 0o700, uid: 33, gid: 0 })
      const got = await f.inspectDirs(['plugins/akismet/views', 'plugins/akismet', 'plugins/none'])
      assert.deepEqual(got.get('plugins/akismet/views'), { path: 'plugins/akismet/views', mode: 0o750, uid: 33, gid: 33 })
      assert.deepEqual(got.get('plugins/akismet'), { path: 'plugins/akismet', mode: 0o700, uid: 33, gid: 0 })
      assert.equal(got.get('plugins/none'), null)
      await f.removeDirIfEmpty('plugins/akismet')
      await f.removeDirIfEmpty('plugins/akismet/views')
      const after = await f.inspectDirs(['plugins/akismet', 'plugins/akismet/views'])
      assert.ok(after.get('plugins/akismet'), 'a directory holding files stays')
      assert.equal(after.get('plugins/akismet/views'), null)
    })

    it('follows a linked theme directory, records the link, and re-points, removes and re-creates it', async () => {
      const v1 = await fx.target('twentytwo-v1', { 'style.css': 'v1', 'parts/header.html': '<header>' })
      const v2 = await fx.target('twentytwo-v2', { 'style.css': 'v2' })
      await fx.linkDir('themes/twentytwo', v1)
      let scan = await f.scan()
      assert.deepEqual(scan.links, [{ path: 'themes/twentytwo', target: v1 }])
      assert.deepEqual(byPath(scan.files.filter((x) => x.path.startsWith('themes/twentytwo/'))).map((x) => [x.path, x.blob]), [
        ['themes/twentytwo/parts/header.html', blobId(enc('<header>'))],
        ['themes/twentytwo/style.css', blobId(enc('v1'))],
      ])
      assert.ok(scan.dirs.some((d) => d.path === 'themes/twentytwo'), 'the unit’s own directory, through its link')
      assert.equal(await f.linksAre([{ path: 'themes/twentytwo', target: v1 }]), true)
      assert.equal(await f.linksAre([{ path: 'themes/twentytwo', target: v2 }]), false)

      await f.setLink('themes/twentytwo', { path: 'themes/twentytwo', target: v2 })
      scan = await f.scan(new Set(['themes/twentytwo']))
      assert.deepEqual(scan.files.map((x) => [x.path, x.blob]), [['themes/twentytwo/style.css', blobId(enc('v2'))]])
      await f.setLink('themes/twentytwo', null)
      scan = await f.scan()
      assert.deepEqual(scan.links, [])
      assert.ok(!scan.files.some((x) => x.path.startsWith('themes/twentytwo/')))
      assert.equal(await f.linksAre([{ path: 'themes/twentytwo', target: v2 }]), false)
    })

    it('refuses (UNSAFE_PATH) a write below a symlink the state does not record or records elsewhere; allows it through a recorded one, or one removed or re-pointed first', async () => {
      const out = fx.outside()
      await fx.symlink('plugins/evil', out)
      const recorded = new Map<string, LinkedDir>()
      await assert.rejects(f.assertWritable(['plugins/evil/x.php'], recorded), isCode('UNSAFE_PATH'))
      await assert.rejects(f.assertWritable(['plugins/evil/x.php'], new Map([['plugins/evil', { path: 'plugins/evil', target: '/somewhere/else' }]])), isCode('UNSAFE_PATH'))
      await f.assertWritable(['plugins/evil/x.php'], new Map([['plugins/evil', { path: 'plugins/evil', target: out }]]))
      await f.assertWritable(['plugins/evil/x.php'], recorded, new Set(['plugins/evil']))
      const v1 = await fx.target('theme-v1', { 'style.css': 'v1' })
      const v2 = await fx.target('theme-v2', { 'style.css': 'v2' })
      await fx.linkDir('themes/t', v2)
      await f.assertWritable(['themes/t/style.css'], new Map([['themes/t', { path: 'themes/t', target: v1 }]]), new Set(), new Set(['themes/t']))
      // a recorded target outside wp-content and the followed places is not a re-pointing peakguard may do
      await assert.rejects(f.assertWritable(['themes/t/style.css'], new Map([['themes/t', { path: 'themes/t', target: out }]]), new Set(), new Set(['themes/t'])), isCode('UNSAFE_PATH'))
      await f.assertWritable(['plugins/akismet/akismet.php', 'plugins/brand-new/x.php', 'object-cache.php'], recorded)
    })

    it('removes temporary files a killed restore left, and counts them', async () => {
      assert.equal(await f.removeTemporaries(), 1)
      assert.equal(await f.removeTemporaries(), 0)
    })
  })
}
