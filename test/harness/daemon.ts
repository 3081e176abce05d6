// The real daemon as a child process (`peakguard daemon` from the TypeScript source), with its pino log
// lines parsed as they arrive, so a test can wait for "snapshot" or "database unreachable" and then
// check the journal. Each daemon gets a free port for ui.listen, or the one it is given (the demo's 8087).
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import { freePort } from './mariadb.ts'
import { MAIN, type TestSite } from './site.ts'

export interface LogLine {
  level: string
  msg: string
  site?: string
  [k: string]: unknown
}

export interface RunningDaemon {
  proc: ChildProcess
  url: string
  lines: LogLine[]
  /** the raw output, for error messages */
  output(): string
  /** resolves with the first log line (from `from` on) matching `pred` */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>
  /** SIGTERM (or another signal); resolves with the exit code */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
}

/** Settings that make a test daemon react in well under a second. */
export function fastDaemonConfig(extra = ''): string {
  return (
    '    watch: { quiet: 300ms, maxWait: 3s, reconcile: 1h, fallbackScan: 500ms }\n' +
    '    poll: { interval: 250ms }\n' +
    extra
  )
}

export interface DaemonOptions {
  /** ui.listen as HOST:PORT (default 127.0.0.1 and a free port) */
  listen?: string
  /** ui.trustProxy (default: not set) */
  trustProxy?: string
  /** ui.hosts (default: not set) */
  hosts?: string[]
  /** the entry file the daemon runs (default: src/main.ts; the installed bundle is dist/bin/peakguard.js) */
  main?: string
}

/** Adds `ui.listen` (a free port on 127.0.0.1 unless `opts.listen`) to the site's config and starts `peakguard daemon`. */
export async function startDaemon(
  site: Pick<TestSite, 'configFile'>,
  env: NodeJS.ProcessEnv = {},
  wrap: string[] = [],
  opts: DaemonOptions = {},
): Promise<RunningDaemon> {
  const listen = opts.listen ?? `127.0.0.1:${await freePort()}`
  const cfg = fs.readFileSync(site.configFile, 'utf8').replace(/^ui:.*\n/m, '')
  fs.writeFileSync(site.configFile, `ui: { listen: "${listen}"${opts.trustProxy ? `, trustProxy: ${opts.trustProxy}` : ''}${opts.hosts ? `, hosts: ${JSON.stringify(opts.hosts)}` : ''} }\nlog: { level: debug }\n${cfg.replace(/^log:.*\n/m, '')}`)
  const cmd = [...wrap, process.execPath, opts.main ?? MAIN, '--config', site.configFile, 'daemon']
  const proc = spawn(cmd[0]!, cmd.slice(1), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: LogLine[] = []
  let raw = ''
  let partial = ''
  const waiters = new Set<() => void>()
  proc.stdout!.on('data', (d: Buffer) => {
    raw += d.toString()
    partial += d.toString()
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const p of parts) {
      try {
        lines.push(JSON.parse(p) as LogLine)
      } catch {
        lines.push({ level: 'raw', msg: p })
      }
    }
    for (const w of waiters) w()
  })
  proc.stderr!.on('data', (d: Buffer) => (raw += d.toString()))
  let done = false
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => {
    // done first: a waiter woken now must see that no line will come any more
    done = true
    for (const w of waiters) w()
    resolve(code)
  }))
  const waitFor = (pred: (l: LogLine) => boolean, timeoutMs = 20_000, from = 0) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const hit = lines.slice(from).find(pred)
        if (hit) {
          waiters.delete(check)
          clearTimeout(timer)
          resolve(hit)
        } else if (done) {
          waiters.delete(check)
          clearTimeout(timer)
          reject(new Error(`the daemon exited before the awaited log line; its output:\n${raw.slice(-4000)}`))
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`no such log line within ${timeoutMs} ms; daemon output:\n${raw.slice(-4000)}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  const d: RunningDaemon = {
    proc,
    url: `http://${listen}`,
    lines,
    output: () => raw,
    waitFor,
    stop: async (signal = 'SIGTERM') => {
      if (!done) proc.kill(signal)
      return exited
    },
    exited,
  }
  await waitFor((l) => l.msg === 'peakguard daemon running', 60_000)
  return d
}

export const isSnapshot = (l: LogLine) => l.msg === 'snapshot'
