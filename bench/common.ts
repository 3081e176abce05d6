// bench/common.ts — what the daemon and replica parts of the bench (bench/daemon.ts, bench/replica.ts) share:
// the site bench/run.ts hands them, the daemon's config for it, child processes with parsed log lines, the
// checks on the daemon's journal, and the percentile and formatting of the report tables.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The site's id in the daemon's config: its journal is <dataDir>/shop/journal. */
export const SITE = 'shop'

/** The tree and the database bench/run.ts built, and how it runs; the same for every part. */
export interface BenchInput {
  /** scratch directory of this bench run (removed by run.ts) */
  T: string
  wpRoot: string
  wpContent: string
  db: { host: string; port: number; user: string; password: string; name: string; prefix: string }
  /** the tree generator (bench/gen-wp-content.ts), and the arguments the tree was generated with */
  gen: string
  scale: number
  plugin: string
  distMain: string
  quick: boolean
  /** --keep: leave the databases a part creates for inspection */
  keep?: boolean
  log(msg: string): void
}

/** The daemon's config for the bench's site: its own data dir (journal) and UI port, log level info. */
export function daemonConfig(input: BenchInput, dataDir: string, port: number): string {
  const { db } = input
  return (
    `dataDir: ${dataDir}\nui: { listen: "127.0.0.1:${port}" }\nlog: { level: info }\n` +
    `sites:\n  - id: ${SITE}\n    wpRoot: ${input.wpRoot}\n    db:\n      host: ${db.host}\n      port: ${db.port}\n` +
    `      user: ${db.user}\n      password: "${db.password}"\n      name: ${db.name}\n      tablePrefix: ${db.prefix}\n` +
    // port 9 (discard) refuses at once: the one probe at start-up costs nothing and never hangs
    '    health: { interval: 1h, probes: [{ url: "http://127.0.0.1:9/" }] }\n'
  )
}

// ── child processes with line-oriented output ────────────────────────────────────────────────────

export interface Line {
  /** Date.now() when the line reached the bench */
  at: number
  /** the parsed pino line (a non-JSON line as { msg }) */
  j: { msg: string; level?: string; time?: string; ms?: number; trigger?: string; summary?: string; state?: string; [k: string]: unknown }
}

export interface Proc {
  child: ChildProcess
  pid: number
  lines: Line[]
  /** the first line from index `from` on that matches */
  waitFor(pred: (l: Line) => boolean, from: number, timeoutMs: number): Promise<Line>
  /** SIGTERM, SIGKILL after 30 s; resolves with the exit code */
  stop(): Promise<number | null>
  tail(): string
}

/** Every child still running when the bench exits (an error, Ctrl-C) is killed, never left watching. */
const running = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL')
})

/** `node ARGS` (this Node), its stdout parsed line by line as it arrives. */
export function startProc(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const child = spawn(process.execPath, args, { env: opts.env ?? process.env, cwd: opts.cwd ?? REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  if (child.pid === undefined) throw new Error(`cannot start ${process.execPath} ${args.join(' ')}`)
  running.add(child)
  const lines: Line[] = []
  const waiters = new Set<() => void>()
  let raw = ''
  let partial = ''
  let exited = false
  child.stdout!.setEncoding('utf8')
  child.stdout!.on('data', (d: string) => {
    const at = Date.now()
    raw = (raw + d).slice(-20_000)
    partial += d
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const p of parts) {
      if (!p.trim()) continue
      try {
        lines.push({ at, j: JSON.parse(p) })
      } catch {
        lines.push({ at, j: { msg: p } })
      }
    }
    for (const w of waiters) w()
  })
  child.stderr!.on('data', (d: Buffer) => (raw = (raw + d.toString()).slice(-20_000)))
  const exit = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      exited = true
      running.delete(child)
      for (const w of waiters) w()
      resolve(code)
    }),
  )
  return {
    child,
    pid: child.pid,
    lines,
    tail: () => raw.slice(-4000),
    waitFor: (pred, from, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const hit = lines.slice(from).find(pred)
          if (hit || exited) {
            waiters.delete(check)
            clearTimeout(timer)
            if (hit) resolve(hit)
            else reject(new Error(`${args.join(' ')} exited before the awaited line; its output:\n${raw.slice(-4000)}`))
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no such line within ${timeoutMs} ms from ${args.join(' ')}; its output:\n${raw.slice(-4000)}`))
        }, timeoutMs)
        waiters.add(check)
        check()
      }),
    stop: async () => {
      if (!exited) child.kill('SIGTERM')
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000)
      const code = await exit
      clearTimeout(t)
      return code
    },
  }
}

// ── the daemon's journal ─────────────────────────────────────────────────────────────────────────

function gitBlobId(data: Buffer): string {
  return createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex')
}

export function git(journal: string, args: string[]): string {
  const r = spawnSync('git', ['--git-dir', journal, ...args], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

/** Files below `dir` (relative to `base`), sorted, so the same one is picked on every run. */
export function filesBelow(dir: string, base: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(base, path.join(e.parentPath, e.name)))
    .sort()
}

/**
 * Fails unless the journal's newest snapshot holds the live bytes of every file below `unit` (relative to
 * wp-content) and nothing else there: the one snapshot of a change must be all of the change, not a part
 * caught mid-way.
 */
export function assertRecorded(journal: string, wpContent: string, unit: string, what: string): void {
  const recorded = new Map<string, string>()
  for (const l of git(journal, ['ls-tree', '-r', 'refs/heads/main', '--', `files/${unit}`]).split('\n')) {
    const m = /^\d+ blob ([0-9a-f]+)\t(.*)$/.exec(l)
    if (m) recorded.set((m[2] as string).slice('files/'.length), m[1] as string)
  }
  const live = filesBelow(path.join(wpContent, unit), wpContent)
  const wrong = live.filter((rel) => recorded.get(rel) !== gitBlobId(fs.readFileSync(path.join(wpContent, rel))))
  const extra = [...recorded.keys()].filter((rel) => !live.includes(rel))
  if (wrong.length || extra.length)
    throw new Error(`${what}: the newest snapshot is not the live ${unit}: ${wrong.length} files missing or differing (e.g. ${wrong.slice(0, 3).join(', ')}), ${extra.length} extra`)
}

// ── the report tables ────────────────────────────────────────────────────────────────────────────

/**
 * Nearest-rank percentile: with 10 runs p95 is the slowest, so the target holds for every run; with 100
 * runs it is the 95th fastest.
 */
export function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.max(0, Math.ceil(p * s.length) - 1)] as number
}

export const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`
export const verdict = (ok: boolean, what: string) => `${ok ? 'PASS' : 'MISS'} (${what})`

/** xorshift32: deterministic numbers in [0, 1), so a bench writes the same rows on every run. */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}
