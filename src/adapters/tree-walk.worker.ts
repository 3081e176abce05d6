// Walks theme and plugin directories, collecting each file's lstat — part of the wp-files adapter. A scan
// hands the units (one theme or plugin directory each) to the main thread and a worker thread through a
// shared counter, so the two walk at once: on a 30k-file wp-content the lstat calls, not hashing, are
// what a scan with nothing changed spends its time on.
import fs from 'node:fs'
import { isMainThread, parentPort } from 'node:worker_threads'
import { globToRegExp, TEMP_PREFIX } from '../core/index.ts'

/** Numbers per entry in `WalkResult.nums`. */
export const FIELDS = 8
export const KIND_FILE = 0
export const KIND_SYMLINK = 1
export const KIND_DIR = 2

export interface WalkResult {
  /** paths relative to wp-content */
  paths: string[]
  /** per path: kind, size, mtimeMs, ctimeMs, ino, mode, uid, gid */
  nums: Float64Array
  /** a symlink's text, by index in `paths` */
  linkTexts: Record<number, string>
  /** a path that could not be read, and why (the scan fails with it) */
  error: { path: string; code: string; message: string } | null
  /** files (or whole directories) left out because their name or link text cannot be recorded, each with why */
  skipped: string[]
}

export interface WalkRequest {
  root: string
  units: string[]
  /** claimed with Atomics.add: the next unit to walk */
  next: Int32Array
  ignoreFiles: readonly string[]
}

/** Walks units from the shared queue until it is empty. */
export function walkUnits(req: WalkRequest): WalkResult {
  const ignore = req.ignoreFiles.map(globToRegExp)
  const paths: string[] = []
  let nums = new Float64Array(1024 * FIELDS)
  const linkTexts: Record<number, string> = {}
  const add = (rel: string, st: fs.Stats, kind: number): void => {
    const i = paths.length
    if ((i + 1) * FIELDS > nums.length) {
      const bigger = new Float64Array(nums.length * 2)
      bigger.set(nums)
      nums = bigger
    }
    nums.set([kind, st.size, st.mtimeMs, st.ctimeMs, st.ino, st.mode & 0o7777, st.uid, st.gid], i * FIELDS)
    paths.push(rel)
  }
  const skipped: string[] = []
  const walk = (abs: string, rel: string): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true, encoding: 'buffer' })) {
      const name = nameIn(rel, d.name, skipped)
      if (name === null) continue
      const r = `${rel}/${name}`
      if (name.startsWith(TEMP_PREFIX) || ignore.some((re) => re.test(r))) continue
      const a = `${abs}/${name}`
      if (d.isDirectory()) {
        add(r, fs.lstatSync(a), KIND_DIR)
        walk(a, r)
      }
      else if (d.isFile()) add(r, fs.lstatSync(a), KIND_FILE)
      else if (d.isSymbolicLink()) {
        const text = linkTextOf(r, a, skipped)
        if (text === null) continue
        linkTexts[paths.length] = text
        add(r, fs.lstatSync(a), KIND_SYMLINK)
      }
    }
  }
  let current = ''
  try {
    for (let u = Atomics.add(req.next, 0, 1); u < req.units.length; u = Atomics.add(req.next, 0, 1)) {
      current = req.units[u] as string
      // the unit's own directory: through its link, if it is a linked theme/plugin directory
      add(current, fs.statSync(`${req.root}/${current}`), KIND_DIR)
      walk(`${req.root}/${current}`, current)
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return { paths, nums, linkTexts, error: { path: err.path ?? current, code: err.code ?? 'EIO', message: err.message }, skipped }
  }
  return { paths, nums: nums.subarray(0, paths.length * FIELDS), linkTexts, error: null, skipped }
}

/** An entry's name in `parent` as a string; null, noted in `skipped`, when it cannot be recorded exactly. */
export function nameIn(parent: string, bytes: Buffer, skipped: string[]): string | null {
  const name = utf8(bytes)
  if (name === null) skipped.push(`${parent}/${shown(bytes)}: the name is not UTF-8, so it cannot be recorded or restored exactly`)
  return name
}

/** A symlink's text; null, noted in `skipped`, when it cannot be recorded exactly. */
export function linkTextOf(rel: string, abs: string, skipped: string[]): string | null {
  const text = utf8(fs.readlinkSync(abs, { encoding: 'buffer' }))
  if (text === null) skipped.push(`${rel}: the link's target is not UTF-8, so it cannot be recorded or restored exactly`)
  return text
}

/**
 * A file name (or link text) as a string, or null when its bytes are not UTF-8. Node's string paths are
 * UTF-8 both ways: any other bytes would be read as U+FFFD and written back as other bytes, so such a
 * name cannot be recorded and restored as it is (Linux names are bytes; WordPress itself only makes UTF-8).
 */
function utf8(bytes: Buffer): string | null {
  const s = bytes.toString('utf8')
  return Buffer.byteLength(s) === bytes.length && Buffer.from(s).equals(bytes) ? s : null
}

/** Bytes as readable text for a message: printable ASCII as is, every other byte as \xNN. */
function shown(bytes: Buffer): string {
  return [...bytes].map((b) => (b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('')
}

if (!isMainThread && parentPort) {
  const port = parentPort
  port.on('message', (req: WalkRequest) => {
    const r = walkUnits(req)
    port.postMessage(r, [r.nums.buffer as ArrayBuffer])
  })
}
