// A site's private data directory outside the web root (SiteDirPort): the single-writer lock and the
// notes that make an interrupted restore finishable. Layout: <dataDir>/<site>/{journal/, lock,
// restore-intent.json, last-recovery.json, health.json, files-cache.v8, replica.json, replica.lock,
// replica/ (bundles waiting for their push, scratch space), docs/ (freeze state, change requests), audit/},
// the directory itself mode 0700.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { DocStorePort, HealthRecord, HealthStorePort, RecoveryNote, ReplicaLocalPort, ReplicaState, RestoreIntent, SiteDirPort } from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { writeFileDurably } from './durable-file.ts'
import { checkpoint, type CheckpointName } from '../core/checkpoints.ts'

interface LockHolder {
  pid: number
  host: string
  /** the kernel's boot id: a lock from before a reboot is stale whatever its pid */
  boot?: string
  since: string
  command: string
}

function bootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
  } catch {
    return ''
  }
}

export class SiteDir implements SiteDirPort, HealthStorePort, ReplicaLocalPort, DocStorePort {
  readonly dir: string

  constructor(dir: string) {
    this.dir = dir
  }

  /** Creates the directory (mode 0700) if needed. */
  ensure(): void {
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 })
      fs.chmodSync(this.dir, 0o700)
    } catch (e) {
      throw fsFailure(e, { doing: 'creating', what: `the data directory ${this.dir}` })
    }
  }

  get journalDir(): string {
    return path.join(this.dir, 'journal')
  }

  get cacheFile(): string {
    return path.join(this.dir, 'files-cache.v8')
  }

  private file(name: string): string {
    return path.join(this.dir, name)
  }

  /**
   * An exclusive lock file created with link(2), which is atomic. A holder that died (same host, pid
   * gone) is detected at once rather than after a timeout, so a killed restore is finished immediately.
   */
  async lock(waitMs: number, name = 'lock', doing = 'is writing this site'): Promise<() => Promise<void>> {
    const lockFile = this.file(name)
    const me: LockHolder = { pid: process.pid, host: os.hostname(), boot: bootId(), since: new Date().toISOString(), command: process.argv.slice(2).join(' ') }
    const deadline = Date.now() + waitMs
    for (;;) {
      const tmp = `${lockFile}.${process.pid}.${Math.random().toString(36).slice(2)}`
      try {
        fs.writeFileSync(tmp, JSON.stringify(me))
        fs.linkSync(tmp, lockFile)
        fs.rmSync(tmp)
        const ino = fs.statSync(lockFile).ino
        return async () => {
          // release only our own lock: never one that another process took after ours was judged stale
          if (fs.statSync(lockFile, { throwIfNoEntry: false })?.ino === ino) fs.rmSync(lockFile, { force: true })
        }
      } catch (e) {
        fs.rmSync(tmp, { force: true })
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsFailure(e, { doing: 'creating', what: `the lock ${lockFile}` })
      }
      const holder = readJson<LockHolder>(lockFile)
      const stale = holder
        ? holder.host === os.hostname() && (!alive(holder.pid) || (!!holder.boot && holder.boot !== bootId()))
        : Date.now() - (fs.statSync(lockFile, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10_000 // unreadable: a torn write
      if (stale) {
        // moved away atomically: of two processes that both judged it stale, only one succeeds
        const aside = `${lockFile}.stale.${process.pid}`
        try {
          fs.renameSync(lockFile, aside)
          const moved = readJson<LockHolder>(aside)
          if (holder && moved && (moved.pid !== holder.pid || moved.since !== holder.since)) fs.linkSync(aside, lockFile) // not the one judged: put back
        } catch {
          /* another process moved it first */
        }
        fs.rmSync(aside, { force: true })
        continue
      }
      if (Date.now() >= deadline) {
        const who = holder ? `pid ${holder.pid} ('peakguard ${holder.command}', since ${holder.since})` : 'another process'
        throw new PeakguardError('BUSY', `${who} ${doing} (lock ${lockFile}); try again when it has finished`)
      }
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** A governance document (freeze state, a change request): docs/<name>.json. */
  private doc(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(name)) throw new PeakguardError('INTERNAL', `bad document name ${name}`)
    return path.join(this.dir, 'docs', `${name}.json`)
  }

  async readDoc<T>(name: string): Promise<T | null> {
    return readJson<T>(this.doc(name))
  }

  async writeDoc(name: string, value: unknown): Promise<void> {
    const f = this.doc(name)
    fs.mkdirSync(path.dirname(f), { recursive: true, mode: 0o700 })
    writeDurably(f, JSON.stringify(value, null, 2))
    checkpoint(docCheckpoint(name))
  }

  /** Names (without .json) of the documents under `prefix` (a folder such as 'requests'), sorted. */
  async listDocs(prefix: string): Promise<string[]> {
    const d = path.join(this.dir, 'docs', prefix)
    const names = fs.existsSync(d) ? fs.readdirSync(d).filter((n) => n.endsWith('.json')) : []
    return names.map((n) => `${prefix}/${n.slice(0, -'.json'.length)}`).sort()
  }

  lockDocs(): Promise<() => Promise<void>> {
    return this.lock(30_000, 'docs.lock', 'is changing the freeze state or a change request of this site')
  }

  get auditDir(): string {
    return path.join(this.dir, 'audit')
  }

  async readIntent(): Promise<RestoreIntent | null> {
    return readJson<RestoreIntent>(this.file('restore-intent.json'))
  }

  async writeIntent(intent: RestoreIntent): Promise<void> {
    writeDurably(this.file('restore-intent.json'), JSON.stringify(intent, null, 2))
  }

  async clearIntent(): Promise<void> {
    fs.rmSync(this.file('restore-intent.json'), { force: true })
    checkpoint('restore:intent-cleared')
  }

  async lastRecovery(): Promise<RecoveryNote | null> {
    return readJson<RecoveryNote>(this.file('last-recovery.json'))
  }

  async noteRecovery(note: RecoveryNote): Promise<void> {
    writeDurably(this.file('last-recovery.json'), JSON.stringify(note, null, 2))
    checkpoint('doc:last-recovery')
  }

  /** The daemon's health history per state and its automatic-rollback memory (survives restarts). */
  async readHealth(): Promise<HealthRecord> {
    return readJson<HealthRecord>(this.file('health.json')) ?? { states: [], lastAutoRollback: null, autoRollbackHalted: null }
  }

  async writeHealth(r: HealthRecord): Promise<void> {
    writeDurably(this.file('health.json'), JSON.stringify(r))
  }

  // ── the replicator's files ──────────────────────────────────────────────────────────────────────────

  async readReplica(): Promise<ReplicaState> {
    return readJson<ReplicaState>(this.file('replica.json')) ?? { pushed: null, prepared: null, pendingSince: null, lastError: null }
  }

  async writeReplica(r: ReplicaState): Promise<void> {
    writeDurably(this.file('replica.json'), JSON.stringify(r, null, 1))
  }

  lockReplica(waitMs: number): Promise<() => Promise<void>> {
    return this.lock(waitMs, 'replica.lock', 'is pushing this site to S3')
  }

  private get replicaDir(): string {
    const d = this.file('replica')
    fs.mkdirSync(d, { recursive: true, mode: 0o700 })
    return d
  }

  outgoingFile(seq: number): string {
    return path.join(this.replicaDir, `outgoing-${seq}.bundle`)
  }

  async scratch(): Promise<{ path: string; remove(): Promise<void> }> {
    const p = fs.mkdtempSync(path.join(this.replicaDir, 'scratch-'))
    return { path: p, remove: async () => fs.rmSync(p, { recursive: true, force: true }) }
  }

  async removeFile(file: string): Promise<void> {
    fs.rmSync(file, { force: true })
  }
}

/** Each governance document's writes are a durable step of their own (core/checkpoints.ts). */
function docCheckpoint(name: string): CheckpointName {
  if (name.startsWith('requests/')) return 'doc:request'
  return name === 'freeze' ? 'doc:freeze' : name === 'gate' ? 'doc:gate' : 'doc:config'
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T
  } catch {
    return null
  }
}

/** Written durably (see durable-file.ts), mode 0600; a failure is named for the operator. */
function writeDurably(file: string, text: string): void {
  try {
    writeFileDurably(file, text, { mode: 0o600 })
  } catch (e) {
    throw fsFailure(e, { doing: 'writing', what: file })
  }
}
