// The hand-written pack writer (git-objects.worker.ts), driven as git-journal.ts drives it: writePack()
// inline for a small batch, inChild() in child processes for a large one. git itself is the judge: every
// pack it writes must pass `git verify-pack` and `git fsck --strict`, and `git cat-file` must return the
// exact bytes of every blob — empty, several MB (compressible and not), binary with NULs, hundreds small.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { inChild } from '../../src/adapters/batch.worker.ts'
import { writePack, type ObjectJob, type ObjectResult } from '../../src/adapters/git-objects.worker.ts'
import { blobId } from '../memory/blob-id.ts'

const WORKER = new URL('../../src/adapters/git-objects.worker.ts', import.meta.url)

describe('git pack writer', function () {
  this.timeout(120_000)
  let tmp: string
  let gitDir: string
  let n = 0
  const git = (...args: string[]) => spawnSync('git', ['-c', 'safe.directory=*', '--git-dir', gitDir, ...args], { encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 })
  /** A file with these bytes and the job that stores it. */
  const job = (bytes: Uint8Array): ObjectJob => {
    const file = path.join(tmp, 'files', String(++n))
    fs.writeFileSync(file, bytes)
    return { file, blob: blobId(bytes) }
  }
  const packs = () => fs.readdirSync(path.join(gitDir, 'objects/pack')).sort()

  /**
   * verify-pack on every pack, then fsck --strict with the blobs put in a tree of a commit on the branch
   * (so git walks to them as it walks a snapshot's files): both silent and successful.
   */
  function assertGitAccepts(ids: string[] = []): void {
    const tree = spawnSync('git', ['-c', 'safe.directory=*', '--git-dir', gitDir, 'mktree'], { input: ids.map((id, i) => `100644 blob ${id}\tf${i}\n`).join('') }).stdout.toString().trim()
    const commit = spawnSync('git', ['-c', 'safe.directory=*', '-c', 'user.name=t', '-c', 'user.email=t@t', '--git-dir', gitDir, 'commit-tree', tree, '-m', 'all blobs']).stdout.toString().trim()
    assert.match(commit, /^[0-9a-f]{40}$/)
    assert.equal(git('update-ref', 'HEAD', commit).status, 0)
    for (const idx of packs().filter((f) => f.endsWith('.idx'))) {
      const r = git('verify-pack', '-v', path.join(gitDir, 'objects/pack', idx))
      assert.equal(r.status, 0, `verify-pack ${idx}: ${r.stderr.toString()}`)
      assert.match(r.stdout.toString(), /: ok\n$/)
    }
    const f = git('fsck', '--strict', '--no-dangling', '--no-progress')
    assert.equal(f.status, 0, f.stderr.toString())
    assert.equal(f.stdout.toString() + f.stderr.toString(), '')
  }

  /** Every blob's bytes through `git cat-file --batch`, compared by SHA-256 with what was written. */
  function assertBlobs(want: Map<string, Uint8Array>): void {
    const ids = [...want.keys()]
    const out = spawnSync('git', ['-c', 'safe.directory=*', '--git-dir', gitDir, 'cat-file', '--batch'], { input: ids.join('\n') + '\n', maxBuffer: 256 * 1024 * 1024 }).stdout
    let at = 0
    for (const id of ids) {
      const nl = out.indexOf(10, at)
      const [gotId, type, size] = out.subarray(at, nl).toString().split(' ')
      assert.deepEqual([gotId, type], [id, 'blob'])
      const bytes = out.subarray(nl + 1, nl + 1 + Number(size))
      const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex')
      assert.equal(sha(bytes), sha(want.get(id) as Uint8Array), `blob ${id} (${size} bytes)`)
      at = nl + 1 + Number(size) + 1
    }
    assert.equal(at, out.length)
  }

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-pack-'))
    gitDir = path.join(tmp, 'journal')
    fs.mkdirSync(path.join(tmp, 'files'))
    execFileSync('git', ['init', '--bare', '-q', gitDir])
  })
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it('writes one pack git accepts, holding empty, large, binary and text blobs byte for byte', () => {
    const text = Buffer.from('<?php // a plugin file that compresses well\n'.repeat(120_000)) // ~5 MB
    const noise = randomBytes(6 * 1024 * 1024) // stored, not deflated
    const nuls = Buffer.concat([Buffer.alloc(70_000), Buffer.from([0, 255, 0, 1]), randomBytes(20_000)])
    const blobs = [new Uint8Array(0), text, noise, nuls, Buffer.from('x'), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]
    const want = new Map(blobs.map((b) => [blobId(b), b]))
    const r = writePack(gitDir, blobs.map(job))
    assert.deepEqual(r, { written: 6, bytes: r.bytes, changed: [], error: null })
    assert.ok(r.bytes < text.length + noise.length + nuls.length, 'text deflated')
    assert.ok(r.bytes > noise.length, 'noise kept whole')
    assert.equal(packs().filter((f) => f.endsWith('.pack')).length, 1)
    assert.ok(!packs().some((f) => f.startsWith('tmp_')), 'no temporary file left')
    assertGitAccepts([...want.keys()])
    assertBlobs(want)
  })

  it('writes many small blobs from child processes, as an initial snapshot does, into packs git accepts', async () => {
    const blobs = Array.from({ length: 1200 }, (_, i) => Buffer.from(`<?php // file ${i}\n${'x'.repeat(i % 97)}`))
    const jobs = blobs.map(job)
    const shares = [0, 1].map((k) => jobs.filter((_, i) => i % 2 === k))
    const results = await Promise.all(shares.map((share) => inChild<ObjectResult>(WORKER, 'git-objects', { gitDir, jobs: share })))
    assert.deepEqual(results.map((r) => [r.written, r.changed, r.error]), [
      [600, [], null],
      [600, [], null],
    ])
    assert.equal(packs().filter((f) => f.endsWith('.idx')).length, 2)
    const want = new Map(blobs.map((b) => [blobId(b), b]))
    assertGitAccepts([...want.keys()])
    assertBlobs(want)
  })

  it('reports a file that changed or vanished since its blob id was computed, and leaves no pack behind', () => {
    const ok = job(Buffer.from('steady'))
    const changed = job(Buffer.from('before'))
    fs.writeFileSync(changed.file, 'after: a plugin update wrote it meanwhile')
    let r = writePack(gitDir, [ok, changed])
    assert.deepEqual([r.changed, r.error], [[changed.file], null])
    assert.deepEqual(packs(), [])
    const gone = job(Buffer.from('soon gone'))
    fs.rmSync(gone.file)
    r = writePack(gitDir, [gone])
    assert.deepEqual(r.changed, [gone.file])
    // a file replaced by a symlink is never followed
    const swapped = job(Buffer.from('real'))
    fs.rmSync(swapped.file)
    fs.symlinkSync(ok.file, swapped.file)
    assert.deepEqual(writePack(gitDir, [swapped]).changed, [swapped.file])
    assert.deepEqual(packs(), [])
    assertGitAccepts()
  })

  it('reports a journal it cannot write as an error with its errno code, not an exception', () => {
    fs.rmSync(path.join(gitDir, 'objects/pack'), { recursive: true })
    const r = writePack(gitDir, [job(Buffer.from('x'))])
    assert.equal(r.written, 0)
    assert.equal(r.error?.code, 'ENOENT')
  })
})
