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

export interface WalkResult {
  /** paths relative to wp-content */
  paths: string[]
  /** per path: kind, size, mtimeMs, ctimeMs, ino, mode, uid, gid */
  nums: Float64Array
  /** a symlink's text, by index in `paths` */
  linkTexts: Record<number, string>
  /** a path that could not be read, and why (the scan fails with it) */
  error: { path: string; code: string; message: string } | null
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
  const walk = (abs: string, rel: string): void => {
    for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = `${rel}/${d.name}`
      if (d.name.startsWith(TEMP_PREFIX) || ignore.some((re) => re.test(r))) continue
      const a = `${abs}/${d.name}`
      if (d.isDirectory()) walk(a, r)
      else if (d.isFile()) add(r, fs.lstatSync(a), KIND_FILE)
      else if (d.isSymbolicLink()) {
        linkTexts[paths.length] = fs.readlinkSync(a)
        add(r, fs.lstatSync(a), KIND_SYMLINK)
      }
    }
  }
  let current = ''
  try {
    for (let u = Atomics.add(req.next, 0, 1); u < req.units.length; u = Atomics.add(req.next, 0, 1)) {
      current = req.units[u] as string
      walk(`${req.root}/${current}`, current)
    }
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    return { paths, nums, linkTexts, error: { path: err.path ?? current, code: err.code ?? 'EIO', message: err.message } }
  }
  return { paths, nums: nums.subarray(0, paths.length * FIELDS), linkTexts, error: null }
}

if (!isMainThread && parentPort) {
  const port = parentPort
  port.on('message', (req: WalkRequest) => {
    const r = walkUnits(req)
    port.postMessage(r, [r.nums.buffer as ArrayBuffer])
  })
}
