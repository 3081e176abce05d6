// The users file (UsersStorePort): one JSON document holding peakguard users and API tokens, hashed only.
// Mode 0600 (it holds password hashes), replaced atomically (temp file, fsync, rename, fsync of the
// directory). The lock is handed in by the composition root (a link(2) lock file beside it).
import fs from 'node:fs'
import path from 'node:path'
import type { UsersDoc, UsersStorePort } from '../core/access.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { writeFileDurably } from './durable-file.ts'
import { checkpoint } from '../core/checkpoints.ts'

export class UsersFile implements UsersStorePort {
  readonly where: string
  private readonly takeLock: () => Promise<() => Promise<void>>

  constructor(file: string, lock: () => Promise<() => Promise<void>>) {
    this.where = file
    this.takeLock = lock
  }

  async read(): Promise<UsersDoc> {
    let text: string
    try {
      text = fs.readFileSync(this.where, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, users: [], tokens: [] }
      throw new PeakguardError('FS_FAILED', `cannot read the users file ${this.where}: ${(e as NodeJS.ErrnoException).code}`, { cause: e })
    }
    let doc: UsersDoc
    try {
      doc = JSON.parse(text) as UsersDoc
    } catch (e) {
      throw new PeakguardError('CONFIG_INVALID', `the users file ${this.where} is not valid JSON: ${(e as Error).message}`, { cause: e })
    }
    if (doc?.version !== 1 || !Array.isArray(doc.users) || !Array.isArray(doc.tokens))
      throw new PeakguardError('CONFIG_INVALID', `the users file ${this.where} is not a peakguard users file (version 1 with users and tokens)`)
    return doc
  }

  async write(doc: UsersDoc): Promise<void> {
    try {
      fs.mkdirSync(path.dirname(this.where), { recursive: true, mode: 0o700 })
      writeFileDurably(this.where, `${JSON.stringify(doc, null, 2)}\n`, { mode: 0o600, tmp: `${this.where}.tmp.${process.pid}` })
      checkpoint('users:write')
    } catch (e) {
      throw fsFailure(e, { doing: 'writing', what: `the users file ${this.where}` })
    }
  }

  lock(): Promise<() => Promise<void>> {
    fs.mkdirSync(path.dirname(this.where), { recursive: true, mode: 0o700 })
    return this.takeLock()
  }
}
