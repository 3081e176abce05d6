// The host's user names by uid (UserNamesPort), from /etc/passwd: Node has no getpwuid. Read once and
// again when a uid is not found (a user added since); an unknown uid is shown as 'uid N'.
import fs from 'node:fs'
import type { UserNamesPort } from '../core/index.ts'

export class OsUsers implements UserNamesPort {
  private readonly file: string
  private names = new Map<number, string>()
  private readAt = 0

  constructor(file = '/etc/passwd') {
    this.file = file
  }

  userName(uid: number): string {
    if (!this.names.has(uid) && Date.now() - this.readAt > 10_000) this.load()
    return this.names.get(uid) ?? `uid ${uid}`
  }

  private load(): void {
    this.readAt = Date.now()
    try {
      const names = new Map<number, string>()
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        const [name, , uid] = line.split(':')
        if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name)
      }
      this.names = names
    } catch {
      // no passwd file (a container): uids are shown as numbers
    }
  }
}
