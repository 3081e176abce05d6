// The site-directory contract against SiteDir on a temporary directory and against the memory one.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { SiteDir } from '../../src/adapters/site-dir.ts'
import { MemorySiteDir } from '../memory/site-dir.ts'
import { describeSiteDirContract } from './site-dir.contract.ts'

describeSiteDirContract('SiteDir', async () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-sitedir-contract-'))
  const open = () => {
    const d = new SiteDir(path.join(base, 'shop'))
    d.ensure()
    return d
  }
  return { dir: open(), reopen: open, cleanup: async () => fs.rmSync(base, { recursive: true, force: true }) }
})

describeSiteDirContract('MemorySiteDir', async () => {
  const dir = new MemorySiteDir()
  return { dir, reopen: () => dir, cleanup: async () => undefined }
})
