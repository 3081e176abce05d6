// The WordPress bridge's event file (WpEventsPort): events.jsonl in the bridge folder, appended by the
// mu-plugin one JSON document per line. Read from a byte offset up to the end of the file, in bounded
// slices; a last line still being written is left for the next read. After a rotation (the bridge copies the
// file to events.jsonl.1 and truncates it; logrotate would rename it) the unread end of events.jsonl.1 comes
// first, then the new file from 0; a file truncated or replaced otherwise is read again from 0.
import fs from 'node:fs'
import type { WpEvent, WpEventsPort } from '../core/index.ts'

/** At most this much is held in memory at once: a huge backlog is read in slices, never all at once. */
const MAX_READ = 4 * 1024 * 1024

/** Control characters (a \x1e or \x1f from a forged line would break `git log` parsing of the trailers they end up in). */
const CONTROL = /[\x00-\x1f\x7f]/g

const clean = (s: string) => s.replace(CONTROL, '')

/** One event line's value as the bridge writes it, checked and with control characters removed; null when it is not one. */
export function toEvent(v: unknown): WpEvent | null {
  if (!v || typeof v !== 'object') return null
  const o = v as Record<string, unknown>
  if (typeof o.time !== 'number' || typeof o.event !== 'string') return null
  const str = (x: unknown) => (typeof x === 'string' ? clean(x) : null)
  return {
    time: o.time,
    event: clean(o.event),
    subject: typeof o.subject === 'string' ? clean(o.subject) : '',
    user: str(o.user),
    userId: typeof o.userId === 'number' ? o.userId : null,
    ip: str(o.ip),
    cli: o.cli === true,
    cron: o.cron === true,
  }
}

/** Complete lines of fd from `from` up to `to` (bytes), slice by slice; the offset after the last complete line. */
function readLines(fd: number, from: number, to: number, events: WpEvent[]): number {
  let pos = from
  const buf = Buffer.alloc(Math.min(Math.max(to - from, 0), MAX_READ))
  while (pos < to) {
    const len = Math.min(to - pos, MAX_READ)
    let got = 0
    while (got < len) {
      const n = fs.readSync(fd, buf, got, len - got, pos + got)
      if (n === 0) break
      got += n
    }
    if (got === 0) break
    const end = buf.lastIndexOf(0x0a, got - 1)
    if (end < 0) {
      // a single line longer than a slice is skipped rather than blocking the file forever
      if (got === MAX_READ) {
        pos += got
        continue
      }
      break // the last line is still being written
    }
    for (const line of buf.subarray(0, end).toString('utf8').split('\n')) {
      if (!line.trim()) continue
      try {
        const ev = toEvent(JSON.parse(line))
        if (ev) events.push(ev)
      } catch {
        /* a damaged line (or the rest of a skipped long one) is skipped, the rest still counts */
      }
    }
    pos += end + 1
    if (got < len) break
  }
  return pos
}

/** Opens without following a symbolic link: the folder's group is the web server's. */
function openNoFollow(file: string): number | null {
  try {
    return fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw e
  }
}

/** Who a file is now (inode, size, mtime): any change to the rotated file means a rotation happened. */
function identity(st: fs.Stats | null): string {
  return st ? `${st.ino}:${st.size}:${st.mtimeMs}` : ''
}

export class WpEventsFile implements WpEventsPort {
  private readonly file: string
  /** the inode read last: another one at the path means the file was replaced */
  private ino: number | null = null
  /** identity() of events.jsonl.1 at the last read; null before the first */
  private rotated: string | null = null

  constructor(file: string) {
    this.file = file
  }

  private stat1(): fs.Stats | null {
    const st = fs.lstatSync(`${this.file}.1`, { throwIfNoEntry: false })
    return st?.isFile() ? st : null
  }

  /** The current size of the event file (0 when there is none): read(end()) gives only what is appended from now on. */
  async end(): Promise<number> {
    const one = this.stat1()
    const fd = openNoFollow(this.file)
    this.rotated = identity(one)
    if (fd === null) return 0
    try {
      const st = fs.fstatSync(fd)
      this.ino = st.ino
      return st.size
    } finally {
      fs.closeSync(fd)
    }
  }

  async read(offset: number): Promise<{ events: WpEvent[]; offset: number }> {
    const events: WpEvent[] = []
    let from = offset < 0 ? 0 : offset
    // .1 before the file itself: a rotation that completes in between is seen at the next read
    const one = this.stat1()
    const fd = openNoFollow(this.file)
    try {
      const st = fd === null ? null : fs.fstatSync(fd)
      // renamed to .1: the inode read last is there now. Copied to .1 and truncated (the bridge's way): .1
      // changed since the last read and is larger than the file — while the bridge is still copying, .1 is
      // the smaller one and the file is read on as it is
      const renamed = this.ino !== null && one !== null && one.ino === this.ino && st?.ino !== this.ino
      const copied = this.rotated !== null && one !== null && identity(one) !== this.rotated && (st === null || st.size < one.size)
      const rotation = renamed || copied
      if (rotation || st === null || from > st.size || (this.ino !== null && st.ino !== this.ino)) {
        if (rotation && from > 0) this.rest(from, events)
        from = 0
      }
      if (rotation || this.rotated === null) this.rotated = identity(one)
      this.ino = st?.ino ?? null
      // up to the size seen now: a file appended to without pause still returns
      return { events, offset: st && fd !== null ? readLines(fd, from, st.size, events) : 0 }
    } finally {
      if (fd !== null) fs.closeSync(fd)
    }
  }

  /** The part of the rotated file (events.jsonl.1) from `offset` on: what was appended after the last read. */
  private rest(offset: number, events: WpEvent[]): void {
    const fd = openNoFollow(`${this.file}.1`)
    if (fd === null) return
    try {
      const st = fs.fstatSync(fd)
      if (st.size >= offset) readLines(fd, offset, st.size, events)
    } finally {
      fs.closeSync(fd)
    }
  }
}
