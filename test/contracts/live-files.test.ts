// The live-files contract against WpFiles on a real wp-content in a temporary directory (as root, so
// owners can be set) and against the memory wp-content the service tests use.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WpFiles } from '../../src/adapters/wp-files.ts'
import { DEFAULT_IGNORED_FILES } from '../../src/core/index.ts'
import { MemoryFiles } from '../memory/files.ts'
import { describeLiveFilesContract } from './live-files.contract.ts'

describeLiveFilesContract('WpFiles', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-files-contract-'))
  const wp = path.join(base, 'wp-content')
  const shared = path.join(base, 'usr-share-wordpress')
  const outside = path.join(base, 'etc')
  for (const d of [wp, shared, outside]) fs.mkdirSync(d)
  const put = (abs: string, content: string | Uint8Array, meta: { mode?: number; uid?: number; gid?: number } = {}) => {
    fs.mkdirSync(path.dirname(abs), { recursive: true })
    fs.writeFileSync(abs, content)
    fs.chmodSync(abs, meta.mode ?? 0o644)
    fs.chownSync(abs, meta.uid ?? 0, meta.gid ?? 0)
  }
  return {
    files: new WpFiles(wp, path.join(base, 'files-cache.v8'), DEFAULT_IGNORED_FILES, [shared]),
    put: async (p, content, meta) => put(path.join(wp, p), content, meta),
    symlink: async (p, text) => {
      fs.mkdirSync(path.dirname(path.join(wp, p)), { recursive: true })
      fs.symlinkSync(text, path.join(wp, p))
    },
    target: async (name, files) => {
      for (const [p, c] of Object.entries(files)) put(path.join(shared, name, p), c)
      return path.join(shared, name)
    },
    linkDir: async (p, target) => {
      fs.mkdirSync(path.dirname(path.join(wp, p)), { recursive: true })
      fs.symlinkSync(target, path.join(wp, p))
    },
    outside: () => outside,
    cleanup: async () => fs.rmSync(base, { recursive: true, force: true }),
  }
})

describeLiveFilesContract('MemoryFiles', async () => {
  const files = new MemoryFiles({ ignoreFiles: DEFAULT_IGNORED_FILES, followLinksInto: ['/memory/usr-share-wordpress'] })
  return {
    files,
    put: async (p, content, meta) => files.put(p, content, meta),
    symlink: async (p, text) => files.symlink(p, text),
    target: async (name, content) => {
      files.fillTarget(`/memory/usr-share-wordpress/${name}`, content)
      return `/memory/usr-share-wordpress/${name}`
    },
    linkDir: async (p, target) => files.setLink(p, { path: p, target }),
    outside: () => '/etc',
    cleanup: async () => undefined,
  }
})
