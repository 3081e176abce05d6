// What every ObjectStorePort must do, as the replicator and `recover --from-s3` rely on it: bytes and
// files come back exactly, listings are relative to the site's folder, sorted, with stored sizes; a site
// never sees another's objects; a missing key fails with S3_FAILED; removed objects are gone.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ObjectStorePort } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { BINARY, hex } from './states.ts'

export interface ObjectStoreFixture {
  /** the folder of `site` in one shared bucket */
  store(site: string): ObjectStorePort
  cleanup(): Promise<void>
}

export function describeObjectStoreContract(name: string, make: () => Promise<ObjectStoreFixture>): void {
  describe(`ObjectStorePort contract: ${name}`, () => {
    let fx: ObjectStoreFixture
    let s: ObjectStorePort
    let tmp: string
    before(async () => {
      fx = await make()
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-store-contract-'))
    })
    after(async () => {
      await fx.cleanup()
      fs.rmSync(tmp, { recursive: true, force: true })
    })
    beforeEach(() => (s = fx.store(`shop-${Math.random().toString(36).slice(2, 8)}`)))

    it('gives back exactly the bytes it was given — empty, binary — and reports the stored size', async () => {
      for (const [key, bytes] of [['bundles/0001-full.bundle', BINARY], ['manifests/empty', new Uint8Array(0)]] as const) {
        assert.deepEqual(await s.putBytes(key, bytes), { bytes: s.storedSize(bytes.length) })
        assert.equal(hex(await s.getBytes(key)), hex(bytes))
      }
      assert.ok(s.storedSize(100) >= 100)
    })

    it('uploads and downloads files exactly (a 3 MB one too), leaving no partial file beside', async () => {
      const big = Buffer.alloc(3 * 1024 * 1024)
      for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i)
      fs.writeFileSync(path.join(tmp, 'up'), big)
      assert.deepEqual(await s.putFile('bundles/big.bundle', path.join(tmp, 'up')), { bytes: s.storedSize(big.length) })
      await s.getFile('bundles/big.bundle', path.join(tmp, 'down'))
      assert.equal(createHash('sha256').update(fs.readFileSync(path.join(tmp, 'down'))).digest('hex'), createHash('sha256').update(big).digest('hex'))
      assert.deepEqual(fs.readdirSync(tmp).sort(), ['down', 'up'])
    })

    it('lists keys under a folder relative to the site, sorted, with stored sizes and times; another site’s objects stay apart', async () => {
      const t0 = Date.now() - 2000
      await s.putBytes('manifests/0002', new Uint8Array(5))
      await s.putBytes('manifests/0001', new Uint8Array(3))
      await s.putBytes('bundles/0001', new Uint8Array(7))
      const other = fx.store('other-site')
      await other.putBytes('manifests/0009', new Uint8Array(1))
      const list = await s.list('manifests/')
      assert.deepEqual(list.map((o) => [o.key, o.size]), [
        ['manifests/0001', s.storedSize(3)],
        ['manifests/0002', s.storedSize(5)],
      ])
      for (const o of list) assert.ok(Date.parse(o.lastModified) >= t0 && Date.parse(o.lastModified) <= Date.now() + 2000, o.lastModified)
      assert.deepEqual((await s.list('')).map((o) => o.key), ['bundles/0001', 'manifests/0001', 'manifests/0002'])
      assert.deepEqual(await s.list('nothing/'), [])
      assert.ok(!(await other.list('')).some((o) => o.key !== 'manifests/0009'))
    })

    it('fails with S3_FAILED for a key it does not hold, and removes what it is told to', async () => {
      await assert.rejects(s.getBytes('manifests/missing'), (e) => e instanceof PeakguardError && e.code === 'S3_FAILED')
      await assert.rejects(s.getFile('manifests/missing', path.join(tmp, 'never')), (e) => e instanceof PeakguardError && e.code === 'S3_FAILED')
      assert.equal(fs.existsSync(path.join(tmp, 'never')), false)
      await s.putBytes('a', new Uint8Array(1))
      await s.putBytes('b', new Uint8Array(1))
      await s.remove(['a'])
      assert.deepEqual((await s.list('')).map((o) => o.key), ['b'])
    })

    it('names content by a short, stable id', () => {
      const sha = createHash('sha256').update('bundle').digest('hex')
      assert.equal(s.contentId(sha), s.contentId(sha))
      assert.notEqual(s.contentId(sha), s.contentId(createHash('sha256').update('other').digest('hex')))
      assert.match(s.contentId(sha), /^[0-9a-f]{16}$/)
    })
  })
}
