// The site's data directory in memory: SiteDirPort (the writer lock, the restore intent, the last
// recovery), HealthStorePort and DocStorePort, which the real SiteDir implements together. Documents go
// through JSON as they do on disk, so a caller never shares an object with the store; locks are
// exclusive within the process and a waiter gives up with BUSY, as the lock file does.
import type { DocStorePort, HealthRecord, HealthStorePort, RecoveryNote, RestoreIntent, SiteDirPort } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'

const DOC_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/

class Mutex {
  private held = false
  private readonly waiters: (() => void)[] = []

  async take(waitMs: number, busy: () => PeakguardError): Promise<() => Promise<void>> {
    while (this.held) {
      const woken = await new Promise<boolean>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          resolve(true)
        }
        const timer = setTimeout(() => {
          this.waiters.splice(this.waiters.indexOf(wake), 1)
          resolve(false)
        }, waitMs)
        this.waiters.push(wake)
      })
      if (!woken) throw busy()
    }
    this.held = true
    let released = false
    return async () => {
      if (released) return
      released = true
      this.held = false
      this.waiters.shift()?.()
    }
  }
}

export class MemorySiteDir implements SiteDirPort, HealthStorePort, DocStorePort {
  private readonly files = new Map<string, string>()
  private readonly writer = new Mutex()
  private readonly docsLock = new Mutex()

  private read<T>(name: string): T | null {
    const text = this.files.get(name)
    return text === undefined ? null : (JSON.parse(text) as T)
  }

  private write(name: string, value: unknown): void {
    this.files.set(name, JSON.stringify(value))
  }

  lock(waitMs: number): Promise<() => Promise<void>> {
    return this.writer.take(waitMs, () => new PeakguardError('BUSY', `another command is writing this site (lock memory); try again when it has finished`))
  }

  async readIntent(): Promise<RestoreIntent | null> {
    return this.read<RestoreIntent>('restore-intent')
  }

  async writeIntent(intent: RestoreIntent): Promise<void> {
    this.write('restore-intent', intent)
  }

  async clearIntent(): Promise<void> {
    this.files.delete('restore-intent')
  }

  async lastRecovery(): Promise<RecoveryNote | null> {
    return this.read<RecoveryNote>('last-recovery')
  }

  async noteRecovery(note: RecoveryNote): Promise<void> {
    this.write('last-recovery', note)
  }

  async readHealth(): Promise<HealthRecord> {
    return this.read<HealthRecord>('health') ?? { states: [], lastAutoRollback: null, autoRollbackHalted: null }
  }

  async writeHealth(r: HealthRecord): Promise<void> {
    this.write('health', r)
  }

  private docName(name: string): string {
    if (!DOC_NAME.test(name)) throw new PeakguardError('INTERNAL', `bad document name ${name}`)
    return `docs/${name}`
  }

  async readDoc<T>(name: string): Promise<T | null> {
    return this.read<T>(this.docName(name))
  }

  async writeDoc(name: string, value: unknown): Promise<void> {
    this.write(this.docName(name), value)
  }

  async listDocs(prefix: string): Promise<string[]> {
    const p = `docs/${prefix}/`
    return [...this.files.keys()].filter((k) => k.startsWith(p) && !k.slice(p.length).includes('/')).map((k) => k.slice('docs/'.length)).sort()
  }

  lockDocs(): Promise<() => Promise<void>> {
    return this.docsLock.take(30_000, () => new PeakguardError('BUSY', 'another command is changing the freeze state or a change request of this site (lock memory)'))
  }
}
