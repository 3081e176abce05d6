// The time-sensitive suites again, with the process clock at instants we choose instead of the one CI
// happens to run at: night, noon and late evening UTC, New Year's Eve, a Sunday at a month's end, the
// night the clocks go back in Amsterdam and the one they go forward in New York, and zones with odd
// offsets. libfaketime (Debian's faketime) shifts the clock by a relative offset, which every child process
// (the peakguard CLI, the daemon, git, php) inherits and agrees on; timers (the monotonic clock) are left
// alone. Two runs go at a time; each run's output is printed when it ends.
//   node scripts/test-clocks.ts [--lanes N] [--only NAME] [mocha files …]
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/** The instants, each with the zone the machine is in for that run (TZ; unset: UTC, as on CI). */
export const CLOCKS: { name: string; at: string; tz?: string }[] = [
  // four runs, two at a time: each instant covers two of the conditions that matter (CI time is kept for them)
  { name: "New Year's Eve 23:30 UTC, in Chatham (+13:45) already New Year's Day", at: '2026-12-31T23:30:00Z', tz: 'Pacific/Chatham' },
  { name: "Sunday, February's last day, 22:30 in Amsterdam, the machine in St John's (-03:30)", at: '2027-02-28T21:30:00Z', tz: 'America/St_Johns' },
  { name: 'Amsterdam, the night the clocks go back (02:30 CET, the second one)', at: '2026-10-25T01:30:00Z', tz: 'Europe/Amsterdam' },
  { name: 'New York, a minute before the clocks go forward (01:59 EST)', at: '2027-03-14T06:59:00Z', tz: 'America/New_York' },
]

/** The suites whose outcome could change with the hour, the date or the zone (freeze calendars, filters, sessions, WordPress's view of a freeze). */
export const SUITES = [
  'test/core/*.test.ts',
  'test/services/*.test.ts',
  'test/config.test.ts',
  'test/freeze.test.ts',
  'test/gate.test.ts',
  'test/freeze-gate.test.ts',
  'test/bridge.test.ts',
  'test/audit.test.ts',
  'test/http.test.ts',
]

/**
 * Tests in those suites that check something no clock can change, left out here to keep CI short (a regular
 * expression over test titles): the bridge's per-unit checks (which plugin or theme a request touches) take a
 * WordPress request each; a fleet restore's phases compare only times read from one clock (its ops' ages).
 */
export const CLOCK_FREE = 'per unit:|^fleet restore \\(two nodes|^shared journal: a push'

function args(): { lanes: number; only: string | null; files: string[] } {
  const a = process.argv.slice(2)
  let lanes = 2
  let only: string | null = null
  const files: string[] = []
  for (let i = 0; i < a.length; i++) {
    if (a[i] === '--lanes') lanes = Number(a[++i])
    else if (a[i] === '--only') only = a[++i] ?? null
    else files.push(a[i] as string)
  }
  if (!Number.isInteger(lanes) || lanes < 1 || lanes > 8) throw new Error('--lanes takes a whole number from 1 to 8')
  return { lanes, only, files }
}

interface RunResult {
  name: string
  passed: number
  failed: number
  code: number
  seconds: number
  output: string
  /** the clock and zone a process in the run saw at its start */
  seen?: string
}

function runAt(c: (typeof CLOCKS)[number], files: string[]): Promise<RunResult> {
  const offset = Math.round((Date.parse(c.at) - Date.now()) / 1000)
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: [LIBFAKETIME, ...(process.env.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p && p !== LIBFAKETIME)].join(':'),
    FAKETIME: `${offset >= 0 ? '+' : ''}${offset}s`,
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? path.join(os.tmpdir(), 'peakguard-node-cache'),
  }
  delete env.FAKETIME_FMT
  delete env.FAKETIME_DONT_RESET
  if (c.tz) env.TZ = c.tz
  else delete env.TZ
  // what a process in this run sees: the check that the clock really is where the run says
  const seen = execFileSync(process.execPath, ['-e', 'console.log(new Date().toISOString(), Intl.DateTimeFormat().resolvedOptions().timeZone, new Date().toString())'], { env, encoding: 'utf8' }).trim()
  const skew = Math.abs(Date.parse(seen.split(' ')[0] as string) - Date.parse(c.at))
  if (!(skew < 60_000)) return Promise.resolve({ name: c.name, passed: 0, failed: 0, code: 1, seconds: 0, output: `the clock in this run is ${seen}, not ${c.at}: libfaketime did not take` })
  const mocha = path.join(REPO, 'node_modules/mocha/bin/mocha.js')
  const started = Date.now()
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [mocha, '--no-config', '--require', 'test/fixtures.ts', '--extension', 'ts', '--timeout', '120000', '--slow', '5000', '--reporter', 'spec', '--grep', CLOCK_FREE, '--invert', ...files], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    p.stdout.on('data', (d: Buffer) => (output += d.toString()))
    p.stderr.on('data', (d: Buffer) => (output += d.toString()))
    p.on('close', (code) => {
      // mocha's summary gives the counts
      const passed = Number(/^\s*(\d+) passing/m.exec(output)?.[1] ?? 0)
      const failed = Number(/^\s*(\d+) failing/m.exec(output)?.[1] ?? 0)
      resolve({ name: c.name, passed, failed, code: code ?? 1, seconds: Math.round((Date.now() - started) / 1000), output: `clock: ${seen}\n${output}`, seen })
    })
  })
}

async function main(): Promise<number> {
  const a = args()
  if (!fs.existsSync(LIBFAKETIME)) {
    console.error(`test-clocks: libfaketime is missing (${LIBFAKETIME}): install it with 'apt-get install faketime' (scripts/setup.sh does)`)
    return 1
  }
  if (process.env.FAKETIME) {
    console.error('test-clocks: this process already runs under libfaketime (FAKETIME is set): run it on the real clock, it sets each instant itself')
    return 1
  }
  const files = a.files.length ? a.files : SUITES
  const clocks = CLOCKS.filter((c) => !a.only || c.name.toLowerCase().includes(a.only.toLowerCase()) || c.at.startsWith(a.only))
  if (!clocks.length) {
    console.error(`test-clocks: no instant matches --only ${a.only}`)
    return 1
  }
  console.log(`test-clocks: ${files.join(' ')} at ${clocks.length} instants, ${a.lanes} at a time`)
  const results: RunResult[] = []
  const queue = [...clocks]
  await Promise.all(
    Array.from({ length: Math.min(a.lanes, queue.length) }, async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const r = await runAt(c, files)
        results.push(r)
        const ok = r.code === 0 && r.failed === 0 && r.passed > 0
        console.log(`\n== ${c.name}: ${r.passed} passed, ${r.failed} failed (${r.seconds} s)${ok ? '' : `, exit ${r.code}`}\n   clock at the start: ${r.seen ?? '?'}`)
        if (!ok) console.log(r.output)
      }
    }),
  )
  const passed = results.reduce((n, r) => n + r.passed, 0)
  const failed = results.reduce((n, r) => n + r.failed, 0)
  const bad = results.filter((r) => r.code !== 0 || r.failed > 0 || r.passed === 0)
  console.log(`\nclock-shifted runs: ${results.length - bad.length} of ${results.length} passed${bad.length ? ` (failed: ${bad.map((r) => r.name).join('; ')})` : ''}`)
  console.log(`${passed} passed, ${failed} failed`)
  return bad.length ? 1 : 0
}

process.exitCode = await main()
