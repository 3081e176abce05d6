// The WordPress bridge's event file (WpEventsPort): events.jsonl in the bridge folder, appended by the
// mu-plugin one JSON document per line. Read from a byte offset; a last line still being written is left
// for the next read; a file that shrank or was replaced (rotation, truncation) is read again from 0.
import fs from 'node:fs'
import type { WpEvent, WpEventsPort } from '../core/index.ts'

/** At most this much is read per call: a huge backlog is taken in slices, never all into memory. */
const MAX_READ = 4 * 1024 * 1024

function toEvent(v: unknown): WpEvent | null {
  if (!v || typeof v !== 'object') return null
  const o = v as Record<string, unknown>
  if (typeof o.time !== 'number' || typeof o.event !== 'string') return null
  const str = (x: unknown) => (typeof x === 'string' ? x : null)
  return {
    time: o.time,
    event: o.event,
    subject: typeof o.subject === 'string' ? o.subject : '',
    user: str(o.user),
    userId: typeof o.userId === 'number' ? o.userId : null,
    ip: str(o.ip),
    cli: o.cli === true,
    cron: o.cron === true,
  }
}

export class WpEventsFile implements WpEventsPort {
  private readonly file: string
  /** the inode read last: another one at the same path means the file was replaced */
  private ino: number | null = null

  constructor(file: string) {
    this.file = file
  }

  async read(offset: number): Promise<{ events: WpEvent[]; offset: number }> {
    let fd: number
    try {
      fd = fs.openSync(this.file, 'r')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], offset: 0 }
      throw e
    }
    try {
      const st = fs.fstatSync(fd)
      let from = offset
      if (from > st.size || (this.ino !== null && st.ino !== this.ino) || from < 0) from = 0
      this.ino = st.ino
      const len = Math.min(st.size - from, MAX_READ)
      if (len <= 0) return { events: [], offset: from }
      const buf = Buffer.alloc(len)
      let got = 0
      while (got < len) {
        const n = fs.readSync(fd, buf, got, len - got, from + got)
        if (n === 0) break
        got += n
      }
      const end = buf.lastIndexOf(0x0a, got - 1)
      // no complete line yet; a single line longer than a slice is skipped rather than blocking the file forever
      if (end < 0) return { events: [], offset: got === MAX_READ ? from + got : from }
      const events: WpEvent[] = []
      for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
        if (!line.trim()) continue
        try {
          const ev = toEvent(JSON.parse(line))
          if (ev) events.push(ev)
        } catch {
          /* a damaged line is skipped, the rest still counts */
        }
      }
      return { events, offset: from + end + 1 }
    } finally {
      fs.closeSync(fd)
    }
  }
}
