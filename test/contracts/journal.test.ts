// The journal contract against the git journal (a bare repository in a temporary directory, git's own
// CLI) and against the memory journal the service tests use.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { GitJournal } from '../../src/adapters/git-journal.ts'
import { MemoryJournal } from '../memory/journal.ts'
import { describeJournalContract } from './journal.contract.ts'

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-journal-contract-'))
after(() => fs.rmSync(tmp, { recursive: true, force: true }))
let n = 0

describeJournalContract('GitJournal', async () => {
  const dir = path.join(tmp, `j${++n}`)
  const staged = path.join(tmp, `staged${n}`)
  fs.mkdirSync(staged)
  let k = 0
  return {
    journal: await GitJournal.open(path.join(dir, 'journal'), 'shop'),
    stage: (bytes) => {
      const f = path.join(staged, String(++k))
      fs.writeFileSync(f, bytes)
      return f
    },
    reopen: async () => {
      // the newest state's cache file is written behind the commit: let it land, then take it away, so
      // the state is parsed from git's tree
      await new Promise((r) => setImmediate(r))
      fs.rmSync(path.join(dir, 'journal/peakguard-head-state.v8'), { force: true })
      return GitJournal.open(path.join(dir, 'journal'), 'shop')
    },
    cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }),
  }
})

describeJournalContract('MemoryJournal', async () => {
  const staged = new Map<string, Uint8Array>()
  const journal = new MemoryJournal((loc) => {
    const b = staged.get(loc)
    if (!b) throw new Error(`nothing staged at ${loc}`)
    return b
  })
  return {
    journal,
    stage: (bytes) => {
      const loc = `staged:${staged.size}`
      staged.set(loc, new Uint8Array(bytes))
      return loc
    },
    reopen: async () => journal,
    cleanup: async () => undefined,
  }
})
