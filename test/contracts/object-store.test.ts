// The object-store contract against S3Store on s3rver (plain, and sealed with a key) and against the
// memory store.
import { randomBytes } from 'node:crypto'
import { S3Store } from '../../src/adapters/s3-store.ts'
import { MemoryObjectStore, type MemoryBucket } from '../memory/object-store.ts'
import { S3Server } from '../harness/s3.ts'
import { describeObjectStoreContract } from './object-store.contract.ts'

/** s3rver's fixed credentials, through the SDK's environment chain as an operator would give them. */
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

let server: S3Server | null = null
let users = 0
async function s3(): Promise<S3Server> {
  users++
  server ??= await S3Server.start()
  return server
}

for (const key of [null, randomBytes(32)]) {
  describeObjectStoreContract(`S3Store on s3rver${key ? ', encrypted' : ''}`, async () => {
    const srv = await s3()
    const saved = { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY }
    Object.assign(process.env, CREDS)
    const stores: S3Store[] = []
    const prefix = `contract-${randomBytes(3).toString('hex')}`
    return {
      store: (site) => {
        const st = new S3Store({ bucket: srv.bucket, prefix, region: 'us-east-1', endpoint: srv.endpoint, forcePathStyle: true, sse: 'none', kmsKeyId: null, timeoutMs: 10_000 }, site, key)
        stores.push(st)
        return st
      },
      cleanup: async () => {
        for (const st of stores) st.close()
        for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]
        else process.env[k] = v
        if (--users === 0) {
          await server?.destroy()
          server = null
        }
      },
    }
  })
}

describeObjectStoreContract('MemoryObjectStore', async () => {
  const bucket: MemoryBucket = new Map()
  return { store: (site) => new MemoryObjectStore(site, bucket), cleanup: async () => undefined }
})
