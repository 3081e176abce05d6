// bench/daemon.ts — the daemon's own targets, on the tree and the options table bench/run.ts builds (it calls
// benchDaemon() after the tool comparison, or instead of it with --daemon-only):
//   1. change → commit: the time from a change to the daemon's log line of the snapshot holding it, for one
//      edited file and for a plugin update made the way WordPress's upgrader makes it (the new version
//      unpacked in wp-content/upgrade, the old directory removed, the new one renamed in); p50/p95, and the
//      update must be exactly one snapshot
//   2. idle: CPU % and RSS of the daemon over a window without changes, against a bare chokidar 6 watcher on
//      the same tree; the inotify watches of each
//   3. one settings poll: MysqlSettings.fingerprint() on the options table, p50/p95
// The daemon is `node dist/bin/peakguard.js daemon` (the JS `peakguard daemon` runs when installed; `node src/main.ts`
// would add Node's type stripping, ~20 MB, to the RSS compared) spawned directly, so the pid read in /proc is
// the daemon's. Watch and poll settings are the defaults; the health probe goes
// to a closed port once an hour so that probing costs nothing measurable. Log level info: at debug every
// event is a log line, which would add work to exactly the bursts being timed.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import { MysqlSettings } from '../src/adapters/mysql-settings.ts'
import { DEFAULT_IGNORED_OPTIONS, SCOPE_DIRS } from '../src/core/scope.ts'
import { freePort } from '../test/harness/mariadb.ts'
import { assertRecorded, daemonConfig, filesBelow, git, pct, sec, SITE, startProc, verdict, type BenchInput, type Proc } from './common.ts'

/** Repetitions: quick mode only checks that every part runs. */
function plan(quick: boolean) {
  return quick
    ? { edits: 3, updates: 3, idleMs: 10_000, polls: 50 }
    : { edits: 10, updates: 10, idleMs: 60_000, polls: 200 }
}

/** The daemon's defaults (src/config.ts); the latency target is derived from the quiet period. */
const QUIET_MS = 2000
const LATENCY_SLACK_MS = 1000
const IDLE_CPU_TARGET = 1 // % of one core
const RSS_RATIO_TARGET = 1.2
const FINGERPRINT_TARGET_MS = 5
/** after start-up, before an idle window: the first probe, the first polls and GC after the initial scan are over */
const SETTLE_MS = 5000

// ── /proc ────────────────────────────────────────────────────────────────────────────────────────

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100

/** ppid and utime, stime, cutime, cstime (clock ticks) of a process, all its threads included. */
function stat(pid: number): { ppid: number; ticks: number } | null {
  let s: string
  try {
    s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null
  }
  // the command name may hold spaces and parentheses: the fields start after the last ')'
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
  const n = (i: number) => Number(f[i - 3])
  return { ppid: n(4), ticks: n(14) + n(15) + n(16) + n(17) }
}

function allPids(): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number)
}

/** The process and every live descendant (the daemon's git children, if any). */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const p of allPids()) {
    const s = stat(p)
    if (s) children.set(s.ppid, [...(children.get(s.ppid) ?? []), p])
  }
  const out: number[] = []
  const walk = (p: number) => {
    out.push(p)
    for (const c of children.get(p) ?? []) walk(c)
  }
  walk(pid)
  return out
}

/**
 * CPU seconds used so far by the process and its descendants. Summing utime+stime+cutime+cstime over the
 * live tree stays right when a child exits in between: its time moves into its parent's cutime/cstime.
 */
function cpuSeconds(pid: number): number {
  return tree(pid).reduce((s, p) => s + (stat(p)?.ticks ?? 0), 0) / CLK_TCK
}

function status(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) : 0
}

const rssMb = (pid: number) => (status(pid, 'VmRSS') * 1024) / 1e6

/** inotify watches held: one "inotify wd:…" line per watch in the fdinfo of each inotify descriptor. */
function inotifyWatches(pid: number): number {
  let n = 0
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target = ''
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue // closed meanwhile
    }
    if (target !== 'anon_inode:inotify') continue
    n += fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').filter((l) => l.startsWith('inotify')).length
  }
  return n
}

/** The local MariaDB server, if it runs on this machine: the polls' cost is partly its CPU. */
function mariadbPid(): number | null {
  for (const p of allPids()) {
    try {
      if (/^(mariadbd|mysqld)$/.test(fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim())) return p
    } catch {
      /* gone */
    }
  }
  return null
}

interface Idle {
  windowS: number
  cpuPct: number
  /** RSS (MB) right before the window, median and max of 1 s samples over it */
  rssStart: number
  rssMedian: number
  rssMax: number
  threads: number
  children: number
  childRssMb: number
  watches: number
  mariadbCpuPct: number | null
}

/** Samples one process tree over `ms` of nothing happening. */
async function measureIdle(pid: number, ms: number): Promise<Idle> {
  const dbPid = mariadbPid()
  const rssStart = rssMb(pid)
  const db0 = dbPid ? cpuSeconds(dbPid) : 0
  const cpu0 = cpuSeconds(pid)
  const t0 = performance.now()
  const samples: number[] = []
  while (performance.now() - t0 < ms) {
    await sleep(Math.min(1000, ms - (performance.now() - t0)))
    samples.push(rssMb(pid))
  }
  const cpu1 = cpuSeconds(pid)
  const db1 = dbPid ? cpuSeconds(dbPid) : 0
  const windowS = (performance.now() - t0) / 1000
  const kids = tree(pid).slice(1)
  return {
    windowS,
    cpuPct: ((cpu1 - cpu0) / windowS) * 100,
    rssStart,
    rssMedian: pct(samples, 0.5),
    rssMax: Math.max(...samples),
    threads: status(pid, 'Threads'),
    children: kids.length,
    childRssMb: kids.reduce((s, p) => s + rssMb(p), 0),
    watches: inotifyWatches(pid),
    mariadbCpuPct: dbPid ? ((db1 - db0) / windowS) * 100 : null,
  }
}

// ── small helpers ────────────────────────────────────────────────────────────────────────────────

const mb = (x: number) => `${x.toFixed(0)} MB`

function commits(journal: string): number {
  return Number(git(journal, ['rev-list', '--count', 'refs/heads/main']).trim())
}

/** Snapshot attempts so far, from the daemon's /metrics: a no-op attempt is invisible in its info log. */
async function attempts(url: string): Promise<{ created: number; noop: number }> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const out = { created: 0, noop: 0 }
  for (const m of text.matchAll(/^peakguard_snapshots_total\{[^}]*created="(true|false)"[^}]*\} (\d+)/gm))
    out[m[1] === 'true' ? 'created' : 'noop'] += Number(m[2])
  return out
}

// ── the parts ────────────────────────────────────────────────────────────────────────────────────

interface OptionsShape {
  rows: number
  bytes: number
  median: number
  p90: number
  large: number
  max: number
}

async function optionsShape(input: BenchInput): Promise<OptionsShape> {
  const { db } = input
  const c = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.name })
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(`SELECT LENGTH(option_value) AS n FROM \`${db.prefix}options\``)
    const sizes = rows.map((r) => Number(r.n))
    return {
      rows: sizes.length,
      bytes: sizes.reduce((a, b) => a + b, 0),
      median: pct(sizes, 0.5),
      p90: pct(sizes, 0.9),
      large: sizes.filter((n) => n >= 100_000).length,
      max: Math.max(...sizes),
    }
  } finally {
    await c.end()
  }
}

/** fingerprint() as the daemon's poll calls it: the same class, the same ignore list, one kept connection. */
async function benchFingerprint(input: BenchInput, calls: number): Promise<number[]> {
  const { db } = input
  const settings = new MysqlSettings(
    { host: db.host, port: db.port, socket: null, user: db.user, password: db.password, name: db.name, tablePrefix: db.prefix, multisite: false },
    { ignoredOptions: [...DEFAULT_IGNORED_OPTIONS] },
  )
  try {
    // untimed: the connection, the table list and the session setting are made once per daemon, not per poll
    for (let i = 0; i < 5; i++) await settings.fingerprint()
    const ms: number[] = []
    for (let i = 0; i < calls; i++) {
      const t0 = performance.now()
      await settings.fingerprint()
      ms.push(performance.now() - t0)
    }
    return ms
  } finally {
    await settings.close()
  }
}

/** The baseline: nothing but chokidar 6 over the same directories, as small as a watcher gets. */
const BARE_CHOKIDAR = `
import path from 'node:path'
import { watch } from 'chokidar'
const root = process.env.PG_BENCH_WP_CONTENT
const w = watch(['themes', 'plugins', 'mu-plugins'].map((d) => path.join(root, d)), { ignoreInitial: true })
w.on('ready', () => process.stdout.write('ready\\n'))
w.on('error', (e) => process.stderr.write(String(e) + '\\n'))
`

interface Round {
  /** change start → the snapshot's log time, and → its arrival at the bench (ms) */
  latency: number
  arrival: number
  /** the daemon's own duration of the snapshot (its log line's ms) */
  snapshotMs: number
  /** how long the change itself took (the upgrader's remove + rename; ~0 for one write) */
  changeMs: number
  snapshots: number
  commits: number
  attempts: number
  summary: string
  /** plugin updates: from the start of unpacking into wp-content/upgrade (ms) */
  fromUnpack?: number
}

export async function benchDaemon(input: BenchInput): Promise<string[]> {
  const { T, wpContent: W, log } = input
  const P = plan(input.quick)
  const treeFiles = SCOPE_DIRS.reduce((n, d) => n + (fs.existsSync(path.join(W, d)) ? filesBelow(path.join(W, d), W).length : 0), 0)
  const notes: string[] = []

  // 3 first, with nothing else running: every poll is the only query the server has
  const shape = await optionsShape(input)
  log(`daemon bench: settings fingerprint() × ${P.polls} on ${shape.rows} rows, ${(shape.bytes / 1e6).toFixed(1)} MB`)
  const fp = await benchFingerprint(input, P.polls)

  // 2a. the bare watcher, alone on the machine
  log(`daemon bench: bare chokidar 6 over themes, plugins, mu-plugins; idle ${P.idleMs / 1000} s`)
  const bareStart = performance.now()
  const bare = startProc(['--input-type=module', '-e', BARE_CHOKIDAR], { env: { ...process.env, PG_BENCH_WP_CONTENT: W } })
  let bareIdle: Idle
  let bareReadyS: number
  try {
    await bare.waitFor((l) => l.j.msg === 'ready', 0, 300_000)
    bareReadyS = (performance.now() - bareStart) / 1000
    await sleep(SETTLE_MS)
    bareIdle = await measureIdle(bare.pid, P.idleMs)
  } finally {
    await bare.stop()
  }

  // 2b. the daemon, on its own fresh journal
  const dataDir = path.join(T, 'data-daemon')
  const journal = path.join(dataDir, SITE, 'journal')
  const configFile = path.join(T, 'peakguard-daemon.yaml')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  fs.writeFileSync(configFile, daemonConfig(input, dataDir, port))
  const startDaemon = async (): Promise<{ d: Proc; startupS: number; initialMs: number | null }> => {
    const t0 = performance.now()
    const d = startProc([input.distMain, '--config', configFile, 'daemon'])
    try {
      const up = await d.waitFor((l) => l.j.msg === 'peakguard daemon running', 0, 600_000)
      const initial = d.lines.slice(0, d.lines.indexOf(up)).find((l) => l.j.msg === 'snapshot')
      return { d, startupS: (performance.now() - t0) / 1000, initialMs: initial ? Number(initial.j.ms) : null }
    } catch (e) {
      await d.stop()
      throw e
    }
  }
  const stopDaemon = async (d: Proc) => {
    const code = await d.stop()
    if (code !== 0) log(`daemon bench: the daemon exited with ${code} on SIGTERM; its output:\n${d.tail()}`)
  }
  /** An idle window; a snapshot attempt inside it (a reconciliation) is reported, since it is not idling. */
  const idleOf = async (d: Proc, what: string): Promise<Idle> => {
    log(`daemon bench: daemon idle ${P.idleMs / 1000} s (${what})`)
    await sleep(SETTLE_MS)
    const from = d.lines.length
    const a0 = await attempts(url)
    const idle = await measureIdle(d.pid, P.idleMs)
    const a1 = await attempts(url)
    const made = a1.created + a1.noop - a0.created - a0.noop
    if (made) notes.push(`${what}: the daemon made ${made} snapshot attempt(s) during the idle window (${d.lines.slice(from).filter((l) => l.j.msg === 'snapshot').length} created)`)
    return idle
  }

  // the first start: the daemon records the whole tree into its empty journal, as after `peakguard init`
  log('daemon bench: starting the daemon on an empty journal (its start-up snapshot records the whole tree)')
  const first = await startDaemon()
  const d = first.d
  const { startupS, initialMs } = first
  try {
    const idle = await idleOf(d, 'first start')

    // 1a. one file edited in place, as WordPress's theme/plugin editor writes it
    const themes = path.join(W, 'themes')
    // a file inside a theme (not themes/index.php): what someone fixing a template edits
    const editRel = filesBelow(themes, W).find((f) => f.endsWith('.php') && f.split('/').length >= 3)
    if (!editRel) throw new Error(`no .php file below ${themes} to edit`)
    const edits: Round[] = []
    for (let i = 1; i <= P.edits; i++) {
      const before = { commits: commits(journal), attempts: await attempts(url), from: d.lines.length }
      const t0 = Date.now()
      fs.appendFileSync(path.join(W, editRel), `// peakguard bench edit ${i}\n`)
      const changeMs = Date.now() - t0
      edits.push(await settle(d, journal, url, before, t0, changeMs, `edit ${i}`))
      assertRecorded(journal, W, path.dirname(editRel), `edit ${i}`)
      log(`daemon bench: edit ${i}/${P.edits}: ${sec(edits.at(-1)!.latency)} (snapshot ${edits.at(-1)!.snapshotMs} ms)`)
    }

    // 1b. plugin updates as WordPress's upgrader makes them: the generator unpacks the new version into
    // wp-content/upgrade (outside what the daemon watches), then the timed part: the old directory removed,
    // the new one renamed in, the upgrade folder cleaned up
    const pluginRel = path.join('plugins', input.plugin)
    const pluginDir = path.join(W, pluginRel)
    if (!fs.existsSync(pluginDir)) throw new Error(`plugin ${input.plugin} is not in the tree`)
    const updates: Round[] = []
    let rewritten = 0
    for (let k = 1; k <= P.updates; k++) {
      const stage = path.join(W, 'upgrade', `peakguard-bench-${k}`)
      // the generator renames its unpacked copy into <out>/plugins/, which must exist
      fs.mkdirSync(path.join(stage, 'plugins'), { recursive: true })
      const beforeUnpack = await attempts(url)
      const tUnpack = Date.now()
      const gen = spawnSync(process.execPath, [input.gen, '--out', stage, '--quiet', '--scale', String(input.scale), '--update', input.plugin, '--update-seed', String(k)], { encoding: 'utf8' })
      if (gen.status !== 0) throw new Error(`unpacking update ${k} failed: ${gen.stderr}`)
      const unpackMs = Date.now() - tUnpack
      // whatever the unpacking stirred up (nothing, if upgrade/ is unwatched) is over before the timed part
      await sleep(QUIET_MS + 500)
      const before = { commits: commits(journal), attempts: await attempts(url), from: d.lines.length }
      const stirred = before.attempts.created + before.attempts.noop - beforeUnpack.created - beforeUnpack.noop
      if (stirred) notes.push(`update ${k}: unpacking into wp-content/upgrade alone made the daemon attempt ${stirred} snapshot(s)`)
      const t0 = Date.now()
      fs.rmSync(pluginDir, { recursive: true, force: true })
      fs.renameSync(path.join(stage, pluginRel), pluginDir)
      fs.rmSync(path.join(W, 'upgrade'), { recursive: true, force: true })
      const changeMs = Date.now() - t0
      const r = await settle(d, journal, url, before, t0, changeMs, `update ${k}`)
      // as if the upgrader went straight from unpacking to the swap: the bench's wait in between is left out
      r.fromUnpack = unpackMs + r.latency
      updates.push(r)
      rewritten = filesBelow(pluginDir, W).length
      assertRecorded(journal, W, pluginRel, `update ${k}`)
      log(`daemon bench: update ${k}/${P.updates}: ${sec(r.latency)} (remove + rename ${r.changeMs} ms, snapshot ${r.snapshotMs} ms, ${r.snapshots} snapshot(s))`)
    }
    const rssAfter = rssMb(d.pid)
    const problems = d.lines.filter((l) => (l.j.level === 'warn' || l.j.level === 'error') && !/probe|health/i.test(l.j.msg))
    for (const l of problems.slice(0, 5)) notes.push(`daemon ${l.j.level}: ${l.j.msg}`)
    await stopDaemon(d)

    // a routine restart on the journal it keeps: the start-up comparison finds nothing to record. Its memory
    // differs from the first start's, so both are measured
    log('daemon bench: restarting the daemon on its journal')
    const again = await startDaemon()
    let restart: Idle
    try {
      restart = await idleOf(again.d, 'restart')
    } finally {
      await stopDaemon(again.d)
    }

    return report({
      input, P, shape, fp, treeFiles, bareIdle, bareReadyS, idle, startupS, initialMs, restart, restartS: again.startupS, edits, editRel, updates,
      rewritten, rssAfter, notes,
    })
  } finally {
    await d.stop() // a no-op when it was stopped above; after an error, it must not outlive the bench
  }
}

/**
 * Waits for the change's snapshot, then one quiet period and a second more: a second snapshot of the same
 * change (events arriving after the first one was taken) would show up within that.
 */
async function settle(
  d: Proc,
  journal: string,
  url: string,
  before: { commits: number; attempts: { created: number; noop: number }; from: number },
  t0: number,
  changeMs: number,
  what: string,
): Promise<Round> {
  const snap = await d.waitFor((l) => l.j.msg === 'snapshot', before.from, 120_000)
  await sleep(QUIET_MS + LATENCY_SLACK_MS)
  const after = await attempts(url)
  const r: Round = {
    latency: Date.parse(String(snap.j.time)) - t0,
    arrival: snap.at - t0,
    snapshotMs: Number(snap.j.ms),
    changeMs,
    snapshots: d.lines.slice(before.from).filter((l) => l.j.msg === 'snapshot').length,
    commits: commits(journal) - before.commits,
    attempts: after.created + after.noop - before.attempts.created - before.attempts.noop,
    summary: String(snap.j.summary ?? ''),
  }
  if (snap.j.trigger !== 'watch') throw new Error(`${what}: the snapshot came from ${snap.j.trigger}, not the watcher`)
  return r
}

// ── the report ───────────────────────────────────────────────────────────────────────────────────

interface Results {
  input: BenchInput
  P: ReturnType<typeof plan>
  shape: OptionsShape
  fp: number[]
  treeFiles: number
  bareIdle: Idle
  bareReadyS: number
  idle: Idle
  startupS: number
  initialMs: number | null
  restart: Idle
  restartS: number
  edits: Round[]
  editRel: string
  updates: Round[]
  rewritten: number
  rssAfter: number
  notes: string[]
}

function report(r: Results): string[] {
  const { P, shape, idle, bareIdle } = r
  const target = QUIET_MS + LATENCY_SLACK_MS
  const lat = (rounds: Round[]) => rounds.map((x) => x.latency)
  const editP95 = pct(lat(r.edits), 0.95)
  const updP95 = pct(lat(r.updates), 0.95)
  const oneEach = r.updates.every((u) => u.snapshots === 1 && u.commits === 1)
  const { restart } = r
  const rssRatio = idle.rssMedian / bareIdle.rssMedian
  const rssRatioRestart = restart.rssMedian / bareIdle.rssMedian
  const fpP95 = pct(r.fp, 0.95)
  const out: string[] = []
  out.push('## peakguard daemon', '')
  out.push(
    `Daemon: \`node dist/bin/peakguard.js daemon\` (${process.version}), spawned directly, its own journal (empty at the first start); default watch and poll settings ` +
      '(quiet 2 s, maxWait 30 s, reconcile 5 min, poll 2 s), log level info, health probe once an hour. ' +
      `Tree: the same wp-content (${r.treeFiles} files in themes, plugins, mu-plugins). Settings: ${shape.rows} option rows, ${(shape.bytes / 1e6).toFixed(1)} MB ` +
      `(value sizes: median ${shape.median} B, p90 ${shape.p90} B; ${shape.large} rows ≥ 100 KB, the largest ${(shape.max / 1e3).toFixed(0)} KB). ` +
      `${r.input.quick ? 'QUICK mode' : 'Full mode'}: ${P.edits} edits, ${P.updates} updates, ${P.idleMs / 1000} s idle windows, ${P.polls} polls. ` +
      'p95 is nearest-rank (with 10 runs: the slowest).',
    '',
  )
  out.push('| measure | p50 | p95 | runs | target | result |')
  out.push('| --- | ---: | ---: | ---: | --- | --- |')
  out.push(`| change → snapshot: one file edited (\`${r.editRel}\`) | ${sec(pct(lat(r.edits), 0.5))} | ${sec(editP95)} | ${r.edits.length} | p95 ≤ ${sec(target)} (quiet + 1 s) | ${verdict(editP95 <= target, sec(editP95))} |`)
  out.push(
    `| change → snapshot: plugin update (${r.input.plugin}: ${r.rewritten} files rewritten, 300 changed, 10 added, 10 removed) | ${sec(pct(lat(r.updates), 0.5))} | ${sec(updP95)} | ${r.updates.length} | p95 ≤ ${sec(target)} (quiet + 1 s) | ${verdict(updP95 <= target, sec(updP95))} |`,
  )
  out.push(`| snapshots per plugin update | ${r.updates.map((u) => u.snapshots).join(', ')} | | ${r.updates.length} | exactly 1 | ${verdict(oneEach, oneEach ? 'one commit each' : 'see per round')} |`)
  const cpuRow = (label: string, x: Idle) =>
    out.push(`| daemon idle CPU, ${label} (${x.windowS.toFixed(0)} s, nothing changed) | ${x.cpuPct.toFixed(2)} % | | 1 | ≤ ${IDLE_CPU_TARGET} % of a core | ${verdict(x.cpuPct <= IDLE_CPU_TARGET, `${x.cpuPct.toFixed(2)} %`)} |`)
  const rssRow = (label: string, x: Idle, ratio: number) =>
    out.push(`| daemon idle RSS ÷ bare chokidar 6, ${label} (medians of 1 s samples) | ${mb(x.rssMedian)} ÷ ${mb(bareIdle.rssMedian)} | | 1 | ≤ ${RSS_RATIO_TARGET}× | ${verdict(ratio <= RSS_RATIO_TARGET, `${ratio.toFixed(2)}×`)} |`)
  cpuRow('first start', idle)
  cpuRow('restarted', restart)
  rssRow('first start', idle, rssRatio)
  rssRow('restarted', restart, rssRatioRestart)
  out.push(`| settings poll: \`MysqlSettings.fingerprint()\` | ${pct(r.fp, 0.5).toFixed(2)} ms | ${fpP95.toFixed(2)} ms | ${r.fp.length} | p95 ≤ ${FINGERPRINT_TARGET_MS} ms | ${verdict(fpP95 <= FINGERPRINT_TARGET_MS, `${fpP95.toFixed(2)} ms`)} |`)
  out.push('')

  // where the latency goes: the snapshot's log time minus its own duration is when the quiet timer fired,
  // which is the last event seen plus the quiet period
  const parts = (rounds: Round[]) => {
    const med = (f: (x: Round) => number) => pct(rounds.map(f), 0.5)
    const lastEvent = med((x) => x.latency - x.snapshotMs - QUIET_MS)
    return `change itself ${med((x) => x.changeMs)} ms; change start → last event seen (incl. the change) ≈ ${lastEvent} ms; quiet period ${QUIET_MS} ms; snapshot ${med((x) => x.snapshotMs)} ms; log line → bench ${med((x) => x.arrival - x.latency)} ms`
  }
  out.push('Where the latency goes (medians; the last event is inferred as log time − snapshot ms − quiet):', '')
  out.push(`- one file edited: ${parts(r.edits)}`)
  out.push(`- plugin update: ${parts(r.updates)}; counted from the start of unpacking into wp-content/upgrade (outside the watched scope, untimed above): p50 ${sec(pct(r.updates.map((u) => u.fromUnpack ?? 0), 0.5))}`)
  out.push('')
  out.push('Per run:', '')
  const n = Math.max(r.edits.length, r.updates.length)
  out.push('| | ' + Array.from({ length: n }, (_, i) => `r${i + 1}`).join(' | ') + ' |')
  out.push('| --- | ' + Array.from({ length: n }, () => '---:').join(' | ') + ' |')
  const row = (label: string, xs: string[]) => out.push(`| ${label} | ${xs.join(' | ')} |`)
  row('edit: change → snapshot (s)', r.edits.map((x) => (x.latency / 1000).toFixed(2)))
  row('edit: snapshot (ms)', r.edits.map((x) => String(x.snapshotMs)))
  row('update: change → snapshot (s)', r.updates.map((x) => (x.latency / 1000).toFixed(2)))
  row('update: remove + rename (ms)', r.updates.map((x) => String(x.changeMs)))
  row('update: snapshot (ms)', r.updates.map((x) => String(x.snapshotMs)))
  row('update: snapshots created / commits / attempts', r.updates.map((x) => `${x.snapshots}/${x.commits}/${x.attempts}`))
  out.push('')
  out.push(`Snapshot summary of update 1: ${r.updates[0]?.summary ?? '-'}. Every run was checked: the newest snapshot holds exactly the live bytes of the edited unit.`, '')

  out.push(
    'Idle, side by side (same tree, same window length, one after the other; CPU of the process and its children). ' +
      '"First start": the daemon on an empty journal, recording the whole tree at start-up (then the latency runs); ' +
      '"restarted": the same daemon started again on that journal, nothing to record:',
    '',
  )
  const cols = [bareIdle, idle, restart]
  const line = (label: string, f: (x: Idle) => string) => out.push(`| ${label} | ${cols.map(f).join(' | ')} |`)
  const dbCpu = (x: Idle) => (x.mariadbCpuPct === null ? 'n/a' : `${x.mariadbCpuPct.toFixed(2)} %`)
  out.push('| | bare chokidar 6 | peakguard daemon, first start | peakguard daemon, restarted |')
  out.push('| --- | ---: | ---: | ---: |')
  out.push(
    `| start → ready | ${r.bareReadyS.toFixed(1)} s (watcher ready) | ${r.startupS.toFixed(1)} s (running; start-up snapshot ${r.initialMs ?? '?'} ms) | ${r.restartS.toFixed(1)} s (running; nothing to record) |`,
  )
  line('idle CPU', (x) => `${x.cpuPct.toFixed(2)} %`)
  line(`RSS ${SETTLE_MS / 1000} s after ready`, (x) => mb(x.rssStart))
  line('RSS over the window (median / max)', (x) => `${mb(x.rssMedian)} / ${mb(x.rssMax)}`)
  out.push(`| RSS after the latency runs | | ${mb(r.rssAfter)} | |`)
  line('threads', (x) => String(x.threads))
  line('child processes (their RSS)', (x) => `${x.children} (${mb(x.childRssMb)})`)
  line('inotify watches', (x) => String(x.watches))
  line('MariaDB server CPU meanwhile', dbCpu)
  out.push('')
  out.push(
    `Settings poll: fingerprint() p50 ${pct(r.fp, 0.5).toFixed(2)} ms, p95 ${fpP95.toFixed(2)} ms, max ${Math.max(...r.fp).toFixed(2)} ms over ${r.fp.length} calls ` +
      `(one connection, after 5 untimed calls; ${os.availableParallelism()} CPUs).`,
  )
  for (const note of r.notes) out.push(`- ${note}`)
  return out
}
