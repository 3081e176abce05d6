// bench/fleet.ts — issue 19's fleet (several web nodes of one site) on this one machine, against one node
// (bench/run.ts calls benchFleet() last in a full `npm run bench`, or alone with --fleet-only):
//   1. restore: `peakguard restore <before> --yes` on the leader's node's CLI (then, a few rounds more, on a
//      follower's) after a plugin update applied to all three
//      nodes and recorded — the fleet restore (stage on every node, swap on every node, one restore commit) —
//      against the same restore of the same tree and update on one daemon of a site without `fleet:`;
//      medians and the ratio (the issue's target: fleet ≤ 1.5× single node)
//   2. leader failover: kill -9 of the settings leader's daemon → another node's log says 'this node is now the
//      settings leader'; median and max against the configured fleet.heartbeat (the bound)
//   3. database load while idle: the settings-poll statements per second with 1 node and with 3 nodes up (the
//      target: equal — only the leader polls), and the fleet's own coordination statements (heartbeats, locks)
// Parts 1 and 2 run twice: with fleet.heartbeat at its minimum (250ms), then at its default (2s) — a fleet restore
// and a failover move at the pace of the nodes' heartbeats; --quick runs the default alone, one round of each.
// --keep leaves each daemon's log lines in <tmp>/fleet/{a,b,c,single}.log.
//
// Set-up: a tree from bench/gen-wp-content.ts (scale 0.2 unless --scale says otherwise) copied (cp -a) to four
// node roots (a, b, c, and the single node's); s3rver (test/harness/s3.ts) behind the counting proxy
// (test/harness/fault-proxy.ts) as the fleet's replica (prefix `fleet`) and the single node's (prefix `single`);
// a MariaDB server of this part's own (a temporary data dir, like the test harness's private server) started
// with performance_schema on, so that part 3 reads the statements from the server itself: the text statements
// from events_statements_history_long, the prepared ones (the fleet adapter's) from
// prepared_statements_instances.COUNT_EXECUTE, each attributed to its node by its MariaDB user (every node has
// its own). Two databases there, each with a copy of bench/run.ts's options table (2,000 rows, 5 MB): the
// fleet's and the single node's. Daemons: `node dist/bin/peakguard.js daemon` spawned directly, the defaults
// (watch quiet 2 s, poll 2 s, fleet nodeTimeout 15 s, readyWait 60 s), log level info, the health probe once an
// hour on a closed port (bench/common.ts's daemonConfig).
import { spawn, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import { FaultProxy } from '../test/harness/fault-proxy.ts'
import { freePort } from '../test/harness/mariadb.ts'
import { S3Server } from '../test/harness/s3.ts'
import { optionsTableSql } from '../test/harness/site.ts'
import { assertRecorded, daemonConfig, git, SITE, startProc, verdict, type BenchInput, type Line, type Proc } from './common.ts'

export interface FleetBenchInput extends BenchInput {
  /**
   * Whether `wpContent` is the generator's untouched output at `scale` (--fleet-only): then it is copied to the
   * nodes; otherwise (after the other parts changed it, or at another scale) this part generates its own.
   */
  pristine: boolean
}

/** s3rver's fixed credentials, in the daemons' and CLIs' environment as an operator would set them */
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
const NODE_IDS = ['a', 'b', 'c'] as const
const PREFIX = 'wp_'
const DB_PASSWORD = 'peakguard-bench'
/** the daemon's default watch.quiet: a change is recorded this long after its last event */
const QUIET_MS = 2000
/** fleet.heartbeat: the least the config allows, then the default (src/config.ts); --quick: the default alone */
const DEFAULT_HEARTBEAT_MS = 2000
const FAST_HEARTBEAT_MS = 250
const RESTORE_RATIO_TARGET = 1.5
/** a failover is due at a surviving node's next heartbeat; this much more for the tick itself */
const FAILOVER_SLACK_MS = 500
const LEADER_LINE = 'this node is now the settings leader'
/** update seeds of their own, far from the other parts' */
const SEED_BASE = 5000

function plan(quick: boolean) {
  return quick
    ? { rounds: 1, followerRounds: 1, failovers: 1, idleMs: 5_000, heartbeats: [DEFAULT_HEARTBEAT_MS] }
    : { rounds: 7, followerRounds: 3, failovers: 5, idleMs: 20_000, heartbeats: [FAST_HEARTBEAT_MS, DEFAULT_HEARTBEAT_MS] }
}

// ── small helpers ────────────────────────────────────────────────────────────────────────────────

const s2 = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const hb = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

interface Ran {
  code: number
  stdout: string
  stderr: string
  ms: number
}

/** `node ARGS` to its end, timed from spawn to exit, without blocking the event loop (the daemons' lines keep arriving). */
function node(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const p = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d: Buffer) => err.push(d))
    p.on('error', (e) => reject(new Error(`cannot run ${process.execPath}: ${e.message}`)))
    p.on('close', (code, signal) =>
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), ms: performance.now() - t0 }),
    )
  })
}

/** Every file below `dir` (relative path → sha1 of its bytes; a symlink → its target). */
function digestsOf(dir: string): Map<string, string> {
  const out = new Map<string, string>()
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const abs = path.join(e.parentPath, e.name)
    const rel = path.relative(dir, abs)
    if (e.isSymbolicLink()) out.set(rel, `link:${fs.readlinkSync(abs)}`)
    else if (e.isFile()) out.set(rel, createHash('sha1').update(fs.readFileSync(abs)).digest('hex'))
  }
  return out
}

/** Fails unless `dir` holds exactly the files of `ref`. */
function assertSame(ref: Map<string, string>, dir: string, what: string): void {
  const got = digestsOf(dir)
  const missing = [...ref.keys()].filter((p) => !got.has(p))
  const extra = [...got.keys()].filter((p) => !ref.has(p))
  const differ = [...ref.keys()].filter((p) => got.has(p) && got.get(p) !== ref.get(p))
  if (missing.length || extra.length || differ.length)
    throw new Error(`${what}: ${dir} is not the state before the update: ${missing.length} missing, ${extra.length} extra, ${differ.length} differing (e.g. ${[...missing, ...extra, ...differ].slice(0, 3).join(', ')})`)
}

/** CPU seconds a process has used so far (utime + stime + its waited-for children's). */
function cpuSeconds(pid: number): number | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ')
    const ticks = [14, 15, 16, 17].reduce((n, i) => n + Number(f[i - 3]), 0)
    return ticks / (Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100)
  } catch {
    return null
  }
}

// ── a MariaDB server of this part's own, with performance_schema ──────────────────────────────────

function which(bin: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, bin)
    if (fs.existsSync(p)) return p
  }
  return null
}

/**
 * The test harness's private server (test/harness/mariadb.ts) with performance_schema on and a statement history
 * long enough for an idle window: the machine's server (Debian's) runs with it off, and turning it on needs a
 * restart. Its own server also keeps the other work on the machine out of the counts.
 */
async function startMariadb(dir: string): Promise<{ port: number; pid: number; version: string; stop(): Promise<void> }> {
  const daemon = which('mariadbd') ?? which('mysqld')
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db')
  if (!daemon || !installDb) throw new Error("the fleet bench starts a MariaDB server of its own: install it with 'apt-get install -y mariadb-server'")
  fs.mkdirSync(dir, { recursive: true })
  const init = spawnSync(installDb, ['--no-defaults', `--datadir=${dir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`)
  const port = await freePort()
  const proc = spawn(
    daemon,
    [
      '--no-defaults', `--datadir=${dir}`, `--socket=${dir}/s`, `--port=${port}`, '--bind-address=127.0.0.1', '--user=root',
      '--innodb-buffer-pool-size=128M', '--innodb-log-file-size=32M',
      '--performance-schema=ON', '--performance-schema-consumer-events-statements-current=ON',
      '--performance-schema-consumer-events-statements-history-long=ON', '--performance-schema-events-statements-history-long-size=200000',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let log = ''
  proc.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)))
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  process.once('exit', () => proc.kill('SIGKILL'))
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM')
    const t = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    await exited
    clearTimeout(t)
  }
  for (let i = 0; i < 300; i++) {
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 1500 })
      const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v, @@performance_schema AS ps')
      await c.end()
      if (Number(rows[0]?.ps) !== 1) throw new Error('the private MariaDB started without performance_schema')
      return { port, pid: proc.pid as number, version: String(rows[0]?.v), stop }
    } catch (e) {
      if ((e as Error).message.includes('performance_schema')) {
        await stop()
        throw e
      }
      if (proc.exitCode !== null) break
      await sleep(100)
    }
  }
  await stop()
  throw new Error(`the fleet bench's MariaDB did not start: ${log}`)
}

// ── the nodes ────────────────────────────────────────────────────────────────────────────────────

interface Node {
  /** a, b, c, or 'single' */
  id: string
  fleet: boolean
  root: string
  wpContent: string
  dataDir: string
  journal: string
  configFile: string
  user: string
  dbName: string
  proc: Proc | null
}

interface Counted {
  /** MariaDB user → node */
  node: string
  kind: 'settings' | 'coordination' | 'other'
  /** the statement's shape: digest text, or the prepared statement's text */
  shape: string
  n: number
}

interface Window {
  label: string
  heartbeatMs: number
  up: string[]
  windowS: number
  counts: Counted[]
  /** polls: the options checksum statement, per node */
  polls: Map<string, number>
  s3Requests: number
  mariadbCpuPct: number | null
  historyRows: number
}

interface RestoreRound {
  round: number
  ms: number
  /** update applied → recorded (and, in the fleet, every node's journal at it and no drift) */
  recordMs: number
  /** commits the update made in the journal */
  commits: number
  files: string
  /** fleet: CLI spawned → the op in the table (the CLI started, resolved the state, asked); → the leader's 'swapping' line; → the last follower's files written */
  createdMs?: number
  stagedMs?: number
  swappedMs?: number
  leader?: string
  /** fleet: the node whose CLI asked */
  asker?: string
}

interface Failover {
  round: number
  killed: string
  took: string
  /** kill → the new leader's log line time, and → its arrival at the bench */
  ms: number
  arrivalMs: number
  /** nodes that said they lead after the kill (exactly 1 expected) */
  claims: number
}

interface Variant {
  heartbeatMs: number
  fleet: RestoreRound[]
  /** the same restore asked on a follower's CLI (its copy of the journal takes the restore's snapshot after the leader's push) */
  followerAsked: RestoreRound[]
  single: RestoreRound[]
  failovers: Failover[]
}

export async function benchFleet(input: FleetBenchInput): Promise<string[]> {
  const { log } = input
  const P = plan(input.quick)
  const tStart = performance.now()
  const F = path.join(input.T, 'fleet')
  fs.mkdirSync(F, { recursive: true })
  const notes: string[] = []
  /** `restore --json` printed no `fleet` object */
  let cliWithoutFleet = false
  const cleanups: (() => Promise<unknown>)[] = []
  const nodes: Node[] = []
  try {
    // ── the tree ──
    let src = input.wpContent
    if (!input.pristine) {
      src = path.join(F, 'gen', 'wp-content')
      log(`fleet bench: generating its own wp-content at scale ${input.scale}`)
      const g = await node([input.gen, '--out', src, '--quiet', '--scale', String(input.scale)], process.env)
      if (g.code !== 0) throw new Error(`the tree generator failed: ${g.stderr}`)
    }
    const pluginRel = path.join('plugins', input.plugin)
    if (!fs.existsSync(path.join(src, pluginRel))) throw new Error(`plugin ${input.plugin} is not in the tree at ${src}`)
    const pristine = digestsOf(path.join(src, pluginRel))
    const treeFiles = fs.readdirSync(src, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length

    // ── the database server, its two databases and one user per node ──
    log('fleet bench: starting a MariaDB server of its own (performance_schema on)')
    const mdb = await startMariadb(path.join(F, 'mariadb'))
    cleanups.push(() => mdb.stop())
    const root = await mysql.createConnection({ host: '127.0.0.1', port: mdb.port, user: 'root', password: '', multipleStatements: true })
    // the fleet's tables hold the server's NOW(3) in UTC (its connections' time zone): read them alike
    await root.query("SET time_zone = '+00:00'")
    cleanups.push(() => root.end())
    const rows = await (async () => {
      const c = await mysql.createConnection({ host: input.db.host, port: input.db.port, user: input.db.user, password: input.db.password, database: input.db.name })
      try {
        const [r] = await c.query<mysql.RowDataPacket[]>(`SELECT option_name AS n, option_value AS v, autoload AS a FROM \`${input.db.prefix}options\` ORDER BY option_id`)
        return r.map((x) => [String(x.n), x.v as string, String(x.a)])
      } finally {
        await c.end()
      }
    })()
    const FLEET_DB = 'pgf_fleet'
    const SINGLE_DB = 'pgf_single'
    for (const db of [FLEET_DB, SINGLE_DB]) {
      await root.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4`)
      await root.query(`USE \`${db}\``)
      await root.query(optionsTableSql(`${PREFIX}options`))
      for (let i = 0; i < rows.length; ) {
        let bytes = 0
        const batch: string[][] = []
        while (i < rows.length && bytes < 1_000_000) {
          batch.push(rows[i] as string[])
          bytes += (rows[i]?.[1] ?? '').length
          i++
        }
        await root.query(`INSERT INTO \`${PREFIX}options\` (option_name, option_value, autoload) VALUES ?`, [batch])
      }
    }
    await root.query('USE mysql')

    // ── S3: s3rver behind the counting proxy ──
    const s3 = await S3Server.start({ dir: path.join(F, 's3rver') })
    cleanups.push(() => s3.destroy())
    const proxy = await FaultProxy.start({ host: '127.0.0.1', port: s3.port })
    cleanups.push(() => proxy.close())

    // ── the four node roots and configs ──
    log(`fleet bench: ${treeFiles} files copied to the roots of nodes a, b, c and of the single node`)
    for (const id of [...NODE_IDS, 'single']) {
      const base = path.join(F, id)
      const n: Node = {
        id,
        fleet: id !== 'single',
        root: path.join(base, 'www'),
        wpContent: path.join(base, 'www', 'wp-content'),
        dataDir: path.join(base, 'data'),
        journal: path.join(base, 'data', SITE, 'journal'),
        configFile: path.join(base, 'peakguard.yaml'),
        user: `pgf_${id}`,
        dbName: id === 'single' ? SINGLE_DB : FLEET_DB,
        proc: null,
      }
      fs.mkdirSync(n.root, { recursive: true })
      const cp = spawnSync('cp', ['-a', src, n.wpContent], { encoding: 'utf8' })
      if (cp.status !== 0) throw new Error(`cp -a ${src} ${n.wpContent} failed: ${cp.stderr}`)
      await root.query(`CREATE USER '${n.user}'@'%' IDENTIFIED BY '${DB_PASSWORD}'; GRANT ALL ON \`${n.dbName}\`.* TO '${n.user}'@'%'`)
      nodes.push(n)
    }
    const byId = (id: string) => nodes.find((n) => n.id === id) as Node
    const fleetNodes = () => nodes.filter((n) => n.fleet)
    const single = byId('single')
    const writeConfig = async (n: Node, heartbeatMs: number) => {
      const db = { host: '127.0.0.1', port: mdb.port, user: n.user, password: DB_PASSWORD, name: n.dbName, prefix: PREFIX }
      fs.writeFileSync(
        n.configFile,
        (n.fleet ? `node: ${n.id}\n` : '') +
          daemonConfig({ ...input, wpRoot: n.root, db }, n.dataDir, await freePort()) +
          `    s3:\n      bucket: ${s3.bucket}\n      prefix: ${n.fleet ? 'fleet' : 'single'}\n      region: us-east-1\n      endpoint: ${proxy.endpoint}\n` +
          '      forcePathStyle: true\n      timeout: 30s\n' +
          (n.fleet ? `    fleet:\n      heartbeat: ${heartbeatMs}ms\n` : ''),
      )
    }
    const env = { ...process.env, ...CREDS }
    const start = async (n: Node) => {
      if (n.proc) throw new Error(`node ${n.id}'s daemon runs already`)
      const p = startProc([input.distMain, '--config', n.configFile, 'daemon'], { env })
      n.proc = p
      logs.set(n.id, [...(logs.get(n.id) ?? []), { at: Date.now(), j: { msg: '--- bench: daemon started ---' } }])
      const all = logs.get(n.id) as Line[]
      const push = p.lines.push.bind(p.lines)
      p.lines.push = (...xs: Line[]) => {
        all.push(...xs)
        return push(...xs)
      }
      await p.waitFor((l) => l.j.msg === 'peakguard daemon running', 0, 900_000)
    }
    const stop = async (n: Node) => {
      const p = n.proc
      n.proc = null
      const code = await p?.stop()
      if (code !== 0 && code !== undefined) log(`fleet bench: node ${n.id}'s daemon exited with ${code} on SIGTERM; its output:\n${p?.tail()}`)
    }
    cleanups.push(async () => {
      for (const n of nodes) await n.proc?.stop()
    })
    // --keep: every daemon's log lines (all its starts) beside the kept tree, for a look at where the time went
    const logs = new Map<string, Line[]>()
    if (input.keep)
      cleanups.push(async () => {
        for (const [id, lines] of logs) fs.writeFileSync(path.join(F, `${id}.log`), lines.map((l) => JSON.stringify({ at: new Date(l.at).toISOString(), ...l.j })).join('\n') + '\n')
        log(`fleet bench: the daemons' logs are in ${F}/{a,b,c,single}.log`)
      })
    const head = (n: Node): string | null => {
      const r = spawnSync('git', ['--git-dir', n.journal, 'rev-parse', '--verify', '-q', 'refs/heads/main'], { encoding: 'utf8' })
      return r.status === 0 ? r.stdout.trim() : null
    }
    const commits = (n: Node) => Number(git(n.journal, ['rev-list', '--count', 'refs/heads/main']).trim())

    // ── where the fleet stands, as its tables say ──
    const fleetState = async () => {
      const [mark] = await root.query<mysql.RowDataPacket[]>(`SELECT seq, head, pending, node FROM \`${FLEET_DB}\`.\`${PREFIX}peakguard_journal\` WHERE site = ?`, [SITE])
      const [rs] = await root.query<mysql.RowDataPacket[]>(
        `SELECT node, role, report, TIMESTAMPDIFF(MICROSECOND, heartbeat_at, NOW(3)) / 1000000 AS age FROM \`${FLEET_DB}\`.\`${PREFIX}peakguard_nodes\` WHERE site = ?`,
        [SITE],
      )
      const reports = new Map(rs.map((r) => [String(r.node), { role: String(r.role), age: Number(r.age), report: JSON.parse(String(r.report)) as { drift: unknown; compared: boolean } }]))
      const m = mark[0]
      return { mark: m ? { seq: Number(m.seq), head: m.head === null ? null : String(m.head), pending: Number(m.pending) !== 0, node: String(m.node) } : null, reports }
    }
    /**
     * Waits until the fleet's journal mark is pushed (and is not `notHead`), every running node's journal is at it,
     * every running node compared its files with it and found no drift — and all of that unchanged one quiet
     * period later (a second snapshot of the same change would show up within it).
     */
    const fleetSettled = async (what: string, notHead: string | null = null, timeoutMs = 300_000): Promise<string> => {
      const until = Date.now() + timeoutMs
      let seen = ''
      let why = ''
      for (;;) {
        const up = fleetNodes().filter((n) => n.proc)
        const s = await fleetState()
        const heads = up.map((n) => head(n))
        const mark = s.mark
        const ok =
          mark !== null &&
          !mark.pending &&
          mark.head !== null &&
          mark.head !== notHead &&
          heads.every((h) => h === mark.head) &&
          up.every((n) => s.reports.get(n.id)?.report.compared && s.reports.get(n.id)?.report.drift === null)
        if (ok) {
          const key = `${mark.seq}:${mark.head}`
          if (key === seen) return mark.head as string
          seen = key
          await sleep(QUIET_MS + 1000)
          continue
        }
        seen = ''
        why = `mark ${JSON.stringify(mark)}, heads ${up.map((n, i) => `${n.id}=${heads[i]?.slice(0, 8)}`).join(' ')}, reports ${up.map((n) => `${n.id}: ${JSON.stringify({ compared: s.reports.get(n.id)?.report.compared, drift: s.reports.get(n.id)?.report.drift !== null })}`).join('; ')}`
        if (Date.now() > until) throw new Error(`${what}: the fleet did not settle within ${timeoutMs / 1000} s: ${why}`)
        await sleep(200)
      }
    }
    /** The single node: its journal's head unchanged over one quiet period (and not `notHead`). */
    const singleSettled = async (what: string, notHead: string | null = null, timeoutMs = 300_000): Promise<string> => {
      const until = Date.now() + timeoutMs
      let seen: string | null = null
      for (;;) {
        const h = head(single)
        if (h && h !== notHead) {
          if (h === seen) return h
          seen = h
          await sleep(QUIET_MS + 1000)
          continue
        }
        seen = null
        if (Date.now() > until) throw new Error(`${what}: the single node recorded nothing within ${timeoutMs / 1000} s; its output:\n${single.proc?.tail()}`)
        await sleep(200)
      }
    }
    /** The fleet's leader by the nodes' own logs: the one that last said it leads and has not said it stopped. */
    const leaderNow = (): Node => {
      const leading = fleetNodes().filter((n) => {
        const ls = n.proc?.lines ?? []
        const gained = ls.findLastIndex((l) => String(l.j.msg).startsWith(LEADER_LINE))
        const lost = ls.findLastIndex((l) => String(l.j.msg).startsWith('this node is no longer the settings leader'))
        return gained >= 0 && gained > lost
      })
      if (leading.length !== 1) throw new Error(`not exactly one node says it leads: ${leading.map((n) => n.id).join(', ') || 'none'}`)
      return leading[0] as Node
    }

    const startFleet = async (heartbeatMs: number) => {
      for (const n of fleetNodes()) await writeConfig(n, heartbeatMs)
      // node a first: on the first start it records the tree and pushes it; the others take it from the replica
      const t = performance.now()
      await start(byId('a'))
      const aS = (performance.now() - t) / 1000
      await Promise.all([start(byId('b')), start(byId('c'))])
      const bcS = (performance.now() - t) / 1000
      await fleetSettled(`the fleet's start (heartbeat ${hb(heartbeatMs)})`)
      log(`fleet bench: heartbeat ${hb(heartbeatMs)}: node a running after ${aS.toFixed(1)} s, b and c after ${bcS.toFixed(1)} s, settled after ${((performance.now() - t) / 1000).toFixed(1)} s`)
    }

    await writeConfig(single, DEFAULT_HEARTBEAT_MS)
    log('fleet bench: starting the single node (no fleet:) and nodes a, b, c (the first start records the tree and pushes it to S3)')
    const t0 = performance.now()
    const [singleStartS, fleetStartS] = await Promise.all([
      (async () => {
        await start(single)
        await singleSettled('the single node\'s start')
        return (performance.now() - t0) / 1000
      })(),
      (async () => {
        await startFleet(P.heartbeats[0] as number)
        return (performance.now() - t0) / 1000
      })(),
    ])
    log(`fleet bench: single node up and recorded in ${singleStartS.toFixed(1)} s, the fleet in ${fleetStartS.toFixed(1)} s`)

    // ── 1. restore ──
    const update = async (targets: Node[], seed: number) => {
      const runs = await Promise.all(
        targets.map((n) => node([input.gen, '--out', n.wpContent, '--quiet', '--scale', String(input.scale), '--update', input.plugin, '--update-seed', String(seed)], process.env)),
      )
      const bad = runs.findIndex((r) => r.code !== 0)
      if (bad >= 0) throw new Error(`the update on node ${targets[bad]?.id} failed: ${runs[bad]?.stderr}`)
    }
    const restoreRound = async (who: 'fleet' | 'single', round: number, seed: number, heartbeatMs: number, on: 'leader' | 'follower' = 'leader'): Promise<RestoreRound> => {
      const targets = who === 'fleet' ? fleetNodes() : [single]
      // the CLI of the leader's node (the op runs where it is asked), or of a follower's
      const asker = who === 'single' ? single : on === 'leader' ? leaderNow() : (fleetNodes().find((n) => n !== leaderNow()) as Node)
      const settled = who === 'fleet' ? fleetSettled : singleSettled
      const before = head(asker) as string
      const c0 = commits(asker)
      const tu = performance.now()
      await update(targets, seed)
      await settled(`${who}: update ${seed} (heartbeat ${hb(heartbeatMs)})`, before)
      const recordMs = performance.now() - tu
      const made = commits(asker) - c0
      for (const n of targets) assertRecorded(asker.journal, n.wpContent, pluginRel, `${who}: update ${seed}, node ${n.id}`)
      const leader = who === 'fleet' ? leaderNow() : null
      const from = new Map(targets.map((n) => [n.id, n.proc?.lines.length ?? 0]))
      spawnSync('sync') // writeback of the update's files is nobody's restore time
      const spawnedAt = Date.now()
      const r = await node([input.distMain, '--config', asker.configFile, '--json', 'restore', before, '--yes'], env)
      if (r.code !== 0) throw new Error(`${who}: peakguard restore ${before} on node ${asker.id} failed (exit ${r.code}):\n${r.stderr.trim()}\n${r.stdout.trim()}`)
      const j = JSON.parse(r.stdout)
      if (j.verified !== true) throw new Error(`${who}: the restore did not verify: ${r.stdout.slice(0, 2000)}`)
      const out: RestoreRound = { round, ms: r.ms, recordMs, commits: made, files: `${j.files?.written} written/${j.files?.removed} removed` }
      if (who === 'fleet') {
        // the op as the fleet's tables hold it: done, and each node's part in it (the CLI's --json has them too when it prints `fleet`)
        const [ops] = await root.query<mysql.RowDataPacket[]>(`SELECT id, phase, UNIX_TIMESTAMP(created_at) * 1000 AS created FROM \`${FLEET_DB}\`.\`${PREFIX}peakguard_ops\` WHERE site = ? ORDER BY created_at DESC, id DESC LIMIT 1`, [SITE])
        const op = ops[0]
        if (j.fleet === undefined) cliWithoutFleet = true
        if (j.fleet && j.fleet.op !== op?.id) throw new Error(`fleet: the CLI names op ${j.fleet.op}, the newest in the ops table is ${op?.id}`)
        if (op?.phase !== 'done') throw new Error(`fleet: the restore's op ${op?.id} is ${op?.phase}, not done`)
        const [reps] = await root.query<mysql.RowDataPacket[]>(`SELECT node, report FROM \`${FLEET_DB}\`.\`${PREFIX}peakguard_op_nodes\` WHERE site = ? AND op = ? ORDER BY node`, [SITE, op.id])
        const parts = reps.map((x) => JSON.parse(String(x.report)) as { node: string; status: string; verified: boolean | null; files: number })
        if (parts.length !== 3 || !parts.every((p) => p.status === 'done' && p.verified === true))
          throw new Error(`fleet: not every node restored and verified: ${JSON.stringify(parts)}`)
        out.files = parts.map((p) => `${p.node} ${p.files}`).join(', ')
        out.leader = leader?.id
        out.asker = asker.id
        out.createdMs = Number(op.created) - spawnedAt
        const lines = (n: Node) => (n.proc?.lines ?? []).slice(from.get(n.id) ?? 0)
        const swap = leader ? lines(leader).find((l) => l.j.msg === 'every node staged the target: swapping') : undefined
        const written = fleetNodes()
          .filter((n) => n !== leader)
          .map((n) => lines(n).find((l) => String(l.j.msg).startsWith("this node's files are now those of")))
        if (swap) out.stagedMs = Date.parse(String(swap.j.time)) - spawnedAt
        if (written.every(Boolean)) out.swappedMs = Math.max(...written.map((l) => Date.parse(String((l as Line).j.time)))) - spawnedAt
      }
      for (const n of targets) assertSame(pristine, path.join(n.wpContent, pluginRel), `${who}: after the restore (round ${round}), node ${n.id}`)
      // the restore settles (the followers take the restore commit) before anything else is timed; a commit on top
      // of the restore's own is one nobody asked for (asked on a follower, its copy takes the restore's a moment later)
      await settled(`${who}: after the restore of round ${round}`)
      const extra = Number(git(asker.journal, ['rev-list', '--count', `${String(j.snapshot)}..refs/heads/main`]).trim())
      if (extra) notes.push(`${who}, heartbeat ${hb(heartbeatMs)}, round ${round}: ${extra} more commit(s) after the restore had finished`)
      return out
    }

    // ── 2. failover ──
    const failover = async (round: number, heartbeatMs: number): Promise<Failover> => {
      const leader = leaderNow()
      const others = fleetNodes().filter((n) => n !== leader)
      const from = new Map(others.map((n) => [n.id, n.proc?.lines.length ?? 0]))
      const killedProc = leader.proc as Proc
      const tKill = Date.now()
      process.kill(killedProc.pid, 'SIGKILL')
      leader.proc = null
      const claim = (): { n: Node; l: Line } | null => {
        for (const n of others) {
          const l = (n.proc?.lines ?? []).slice(from.get(n.id)).find((x) => String(x.j.msg).startsWith(LEADER_LINE))
          if (l) return { n, l }
        }
        return null
      }
      let hit = claim()
      while (!hit) {
        if (Date.now() - tKill > 60_000) throw new Error(`failover ${round}: no node took the leadership within 60 s of killing ${leader.id}`)
        await sleep(10)
        hit = claim()
      }
      await killedProc.stop()
      // the other survivor must not claim it too: one heartbeat more, then count
      await sleep(2 * heartbeatMs + 500)
      const claims = others.filter((n) => (n.proc?.lines ?? []).slice(from.get(n.id)).some((x) => String(x.j.msg).startsWith(LEADER_LINE))).length
      const r: Failover = { round, killed: leader.id, took: hit.n.id, ms: Date.parse(String(hit.l.j.time)) - tKill, arrivalMs: hit.l.at - tKill, claims }
      // the killed node back, as a follower, before the next round
      await start(leader)
      await fleetSettled(`failover ${round}: node ${leader.id} back`)
      return r
    }

    // ── 3. statements while idle ──
    const users = new Map(nodes.map((n) => [n.user, n.id]))
    const kindOf = (sql: string): Counted['kind'] => {
      const s = sql.toLowerCase()
      if (/peakguard_|get_lock|is_used_lock|release_lock|connection_id/.test(s)) return 'coordination'
      if (s.includes(`${PREFIX}options`) || s.includes('information_schema')) return 'settings'
      return 'other'
    }
    const prepared = async () => {
      const [r] = await root.query<mysql.RowDataPacket[]>(
        'SELECT p.OWNER_THREAD_ID AS t, t.PROCESSLIST_USER AS u, p.SQL_TEXT AS s, p.COUNT_EXECUTE AS n FROM performance_schema.prepared_statements_instances p LEFT JOIN performance_schema.threads t ON t.THREAD_ID = p.OWNER_THREAD_ID',
      )
      return new Map(r.map((x) => [`${x.t}\0${x.s}`, { user: String(x.u), sql: String(x.s), n: Number(x.n) }]))
    }
    const idleWindow = async (label: string, heartbeatMs: number): Promise<Window> => {
      const up = nodes.filter((n) => n.proc).map((n) => n.id)
      log(`fleet bench: idle ${P.idleMs / 1000} s, ${label} (up: ${up.join(', ')})`)
      await sleep(QUIET_MS + 1000)
      const pre = await prepared()
      await root.query('TRUNCATE performance_schema.events_statements_history_long')
      const s3Before = proxy.requests.length
      const cpu0 = cpuSeconds(mdb.pid)
      const w0 = performance.now()
      await sleep(P.idleMs)
      const windowS = (performance.now() - w0) / 1000
      const cpu1 = cpuSeconds(mdb.pid)
      const s3Requests = proxy.requests.length - s3Before
      const [hist] = await root.query<mysql.RowDataPacket[]>(
        'SELECT t.PROCESSLIST_USER AS u, h.EVENT_NAME AS e, h.DIGEST_TEXT AS d, h.SQL_TEXT AS s FROM performance_schema.events_statements_history_long h LEFT JOIN performance_schema.threads t ON t.THREAD_ID = h.THREAD_ID',
      )
      const post = await prepared()
      const tally = new Map<string, Counted>()
      const add = (user: string, sql: string, n: number) => {
        const id = users.get(user)
        if (!id || n <= 0) return
        const shape = sql.replace(/\s+/g, ' ').trim()
        const key = `${id}\0${shape}`
        const c = tally.get(key) ?? { node: id, kind: kindOf(shape), shape, n: 0 }
        c.n += n
        tally.set(key, c)
      }
      for (const h of hist) {
        const e = String(h.e)
        // a prepared statement's execution has no text here: counted from prepared_statements_instances below
        if (e === 'statement/com/Execute') continue
        add(String(h.u), h.d ? String(h.d) : h.s ? String(h.s) : `(${e})`, 1)
      }
      for (const [k, v] of post) add(v.user, v.sql, v.n - (pre.get(k)?.n ?? 0))
      const counts = [...tally.values()]
      const polls = new Map<string, number>()
      for (const c of counts) if (c.kind === 'settings' && c.shape.toLowerCase().includes(`${PREFIX}options`)) polls.set(c.node, (polls.get(c.node) ?? 0) + c.n)
      const size = 200_000
      if (hist.length >= size) notes.push(`${label}: the statement history (${size} rows) overflowed: the text statements are undercounted`)
      return {
        label,
        heartbeatMs,
        up,
        windowS,
        counts,
        polls,
        s3Requests,
        mariadbCpuPct: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) / windowS) * 100,
        historyRows: hist.length,
      }
    }

    // ── the run: each heartbeat in turn; the 1-node window last, at the default heartbeat ──
    const variants: Variant[] = []
    const windows: Window[] = []
    let seed = SEED_BASE
    for (const [vi, heartbeatMs] of P.heartbeats.entries()) {
      if (vi > 0) {
        log(`fleet bench: restarting nodes a, b, c with fleet.heartbeat ${hb(heartbeatMs)}`)
        for (const n of fleetNodes()) await stop(n)
        await startFleet(heartbeatMs)
      }
      const v: Variant = { heartbeatMs, fleet: [], followerAsked: [], single: [], failovers: [] }
      variants.push(v)
      for (let round = 1; round <= P.rounds; round++) {
        // the two take turns going first: a slower moment of this shared machine falls on both alike
        const order: ('fleet' | 'single')[] = round % 2 ? ['fleet', 'single'] : ['single', 'fleet']
        seed++
        for (const who of order) (who === 'fleet' ? v.fleet : v.single).push(await restoreRound(who, round, seed, heartbeatMs))
        const f = v.fleet.at(-1) as RestoreRound
        const s = v.single.at(-1) as RestoreRound
        log(
          `fleet bench: heartbeat ${hb(heartbeatMs)}, restore round ${round}/${P.rounds}: fleet ${s2(f.ms)} (leader ${f.leader}; op created ${f.createdMs} ms, staged ${f.stagedMs ?? '?'} ms, ` +
            `followers written ${f.swappedMs ?? '?'} ms after spawn), single ${s2(s.ms)}; update recorded: fleet ${s2(f.recordMs)}, single ${s2(s.recordMs)}`,
        )
      }
      for (let round = 1; round <= P.followerRounds; round++) {
        seed++
        const f = await restoreRound('fleet', round, seed, heartbeatMs, 'follower')
        v.followerAsked.push(f)
        log(`fleet bench: heartbeat ${hb(heartbeatMs)}, restore asked on follower ${f.asker} (leader ${f.leader}), round ${round}/${P.followerRounds}: ${s2(f.ms)} (op created ${f.createdMs} ms, staged ${f.stagedMs ?? '?'} ms, followers written ${f.swappedMs ?? '?'} ms after spawn)`)
      }
      for (let round = 1; round <= P.failovers; round++) {
        const f = await failover(round, heartbeatMs)
        v.failovers.push(f)
        log(`fleet bench: heartbeat ${hb(heartbeatMs)}, failover ${round}/${P.failovers}: ${f.killed} killed → ${f.took} leads after ${f.ms} ms (line arrived after ${f.arrivalMs} ms)`)
      }
      windows.push(await idleWindow(`3 nodes, heartbeat ${hb(heartbeatMs)}`, heartbeatMs))
    }
    // one node: the leader alone (the other two stopped cleanly), at the default heartbeat
    const leader = leaderNow()
    for (const n of fleetNodes()) if (n !== leader) await stop(n)
    windows.push(await idleWindow(`1 node (${leader.id}), heartbeat ${hb(P.heartbeats.at(-1) as number)}`, P.heartbeats.at(-1) as number))

    if (cliWithoutFleet)
      notes.push("`peakguard restore --json` on a fleet printed no `fleet` object (op and nodes; src/services/reports.ts restoreJson leaves it out): each round's op and every node's part were read from the fleet's ops tables instead")
    const problems = nodes.flatMap((n) => (n.proc?.lines ?? []).filter((l) => l.j.level === 'error').map((l) => `node ${n.id}: ${l.j.msg}`))
    for (const p of [...new Set(problems)].slice(0, 5)) notes.push(`daemon error: ${p}`)
    return report({ input, P, treeFiles, pluginFiles: pristine.size, variants, windows, notes, mariadbVersion: mdb.version, singleStartS, fleetStartS, totalS: (performance.now() - tStart) / 1000 })
  } finally {
    for (const f of cleanups.reverse()) await f().catch(() => undefined)
  }
}

// ── the report ───────────────────────────────────────────────────────────────────────────────────

interface Results {
  input: FleetBenchInput
  P: ReturnType<typeof plan>
  treeFiles: number
  pluginFiles: number
  variants: Variant[]
  windows: Window[]
  notes: string[]
  mariadbVersion: string
  singleStartS: number
  fleetStartS: number
  totalS: number
}

function report(r: Results): string[] {
  const { input, P } = r
  const cpus = os.availableParallelism()
  const out: string[] = []
  out.push('## A fleet of three nodes', '')
  out.push(
    `**This machine has ${cpus} CPU core${cpus === 1 ? '' : 's'}** (${os.cpus()[0]?.model ?? '?'}): the three nodes' daemons, the single node's daemon, ` +
      `their CLIs, MariaDB ${r.mariadbVersion} (this part's own server, performance_schema on) and s3rver all share them — on real hosts each node has its own. ` +
      `Tree: bench/gen-wp-content.ts scale ${input.scale} (${r.treeFiles} files), copied to each node; update = \`--update ${input.plugin} --update-seed K\` ` +
      `(${r.pluginFiles} files rewritten, round(300 × scale) changed) applied to all three nodes at once. ` +
      `Daemons: \`node dist/bin/peakguard.js daemon\`, defaults (quiet 2 s, poll 2 s, nodeTimeout 15 s, readyWait 60 s), both with an S3 replica (s3rver on loopback). ` +
      `${input.quick ? 'QUICK mode' : 'Full mode'}: ${P.rounds} restore round(s) and ${P.failovers} failover(s) per heartbeat, ${P.idleMs / 1000} s idle windows. ` +
      `Start: the single node up and recorded in ${r.singleStartS.toFixed(1)} s, the fleet (a records and pushes, b and c take it from S3) in ${r.fleetStartS.toFixed(1)} s; this part took ${(r.totalS / 60).toFixed(1)} min.`,
    '',
  )

  // 1. restore
  out.push(
    '**Restore** — `peakguard restore <the state before the update> --yes` on the CLI of the leader\'s node, timed from spawn to exit (Node start-up included, as for the single node), ' +
      'after the update was recorded and every node\'s journal had it; each restore verified (on every node) and byte-compared with the pre-update plugin on every node; medians:',
    '',
  )
  out.push('| fleet.heartbeat | single node (no `fleet:`) | fleet of 3 (stage, swap on all, one restore commit) | fleet ÷ single | target | result | the rounds\' own ratios (each fleet round ÷ the single round beside it): median, range |')
  out.push('| --- | ---: | ---: | ---: | --- | --- | --- |')
  const results: string[] = []
  for (const v of r.variants) {
    const f = median(v.fleet.map((x) => x.ms))
    const s = median(v.single.map((x) => x.ms))
    const ratio = f / s
    const ok = ratio <= RESTORE_RATIO_TARGET
    // each round's pair ran back to back: its ratio is what one moment of this shared machine says
    const pairs = v.fleet.map((x, i) => x.ms / (v.single[i]?.ms ?? NaN)).filter(Number.isFinite)
    const paired = pairs.length ? `${median(pairs).toFixed(2)}×, ${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)}×` : '?'
    out.push(`| ${hb(v.heartbeatMs)}${v.heartbeatMs === DEFAULT_HEARTBEAT_MS ? ' (default)' : ' (the least allowed)'} | ${s2(s)} | ${s2(f)} | ${ratio.toFixed(2)}× | ≤ ${RESTORE_RATIO_TARGET}× | ${verdict(ok, `${ratio.toFixed(2)}×`)} | ${paired} |`)
    results.push(`restore, heartbeat ${hb(v.heartbeatMs)}: fleet ${s2(f)} ÷ single ${s2(s)} = ${ratio.toFixed(2)}× (target ≤ ${RESTORE_RATIO_TARGET}×) ${ok ? 'PASS' : 'MISS'}`)
  }
  out.push('')
  out.push(
    'Asked on a **follower\'s** CLI instead (the op is the same; the CLI answers once every node is done, and that node\'s daemon takes the restore\'s snapshot into its copy of the journal right after the leader\'s push — the round waits for it before the next); medians:',
    '',
  )
  out.push('| fleet.heartbeat | rounds | single node | fleet of 3, asked on a follower | fleet ÷ single | per round (s) |')
  out.push('| --- | ---: | ---: | ---: | ---: | --- |')
  for (const v of r.variants) {
    const f = median(v.followerAsked.map((x) => x.ms))
    const s = median(v.single.map((x) => x.ms))
    out.push(`| ${hb(v.heartbeatMs)} | ${v.followerAsked.length} | ${s2(s)} | ${s2(f)} | ${(f / s).toFixed(2)}× | ${v.followerAsked.map((x) => `${(x.ms / 1000).toFixed(2)} (on ${x.asker})`).join(', ')} |`)
    results.push(`restore asked on a follower, heartbeat ${hb(v.heartbeatMs)}: fleet ${s2(f)} ÷ single ${s2(s)} = ${(f / s).toFixed(2)}×`)
  }
  out.push('')
  out.push('Per round (s; fleet: from the CLI\'s spawn to the op in the fleet table (CLI start-up, state resolved, op created) / to the leader\'s "every node staged the target: swapping" line (every follower staged, and the leader\'s own safety snapshot taken and its files planned) / to the last follower\'s "files are now those of" line; the restore\'s exit is the "fleet: restore" row):', '')
  const n = Math.max(...r.variants.map((v) => v.fleet.length))
  out.push(`| heartbeat | | ${Array.from({ length: n }, (_, i) => `r${i + 1}`).join(' | ')} |`)
  out.push(`| --- | --- | ${Array.from({ length: n }, () => '---:').join(' | ')} |`)
  for (const v of r.variants) {
    const row = (label: string, xs: string[]) => out.push(`| ${hb(v.heartbeatMs)} | ${label} | ${xs.join(' | ')} |`)
    row('single: restore', v.single.map((x) => (x.ms / 1000).toFixed(2)))
    row('fleet: restore', v.fleet.map((x) => (x.ms / 1000).toFixed(2)))
    const at = (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? '?' : (ms / 1000).toFixed(2))
    row('fleet: op created / staged / followers written (s after spawn)', v.fleet.map((x) => `${at(x.createdMs)} / ${at(x.stagedMs)} / ${at(x.swappedMs)}`))
    row('fleet: leader; files per node', v.fleet.map((x) => `${x.leader}; ${x.files}`))
    row('single: files', v.single.map((x) => x.files))
    row('update → recorded: single / fleet (s)', v.single.map((x, i) => `${(x.recordMs / 1000).toFixed(1)} / ${((v.fleet[i]?.recordMs ?? NaN) / 1000).toFixed(1)}`))
    row('commits per update: single / fleet', v.single.map((x, i) => `${x.commits} / ${v.fleet[i]?.commits}`))
  }
  out.push('')

  // 2. failover
  out.push('**Leader failover** — `kill -9` of the settings leader\'s daemon → another node\'s log line \'this node is now the settings leader\' (its own timestamp; the killed node started again between rounds):', '')
  out.push('| fleet.heartbeat (the bound) | runs | median | max | per run (killed → new leader: ms) | new leaders per kill | target | result |')
  out.push('| --- | ---: | ---: | ---: | --- | --- | --- | --- |')
  for (const v of r.variants) {
    const ms = v.failovers.map((x) => x.ms)
    const max = Math.max(...ms)
    const bound = v.heartbeatMs + FAILOVER_SLACK_MS
    const one = v.failovers.every((x) => x.claims === 1)
    const ok = max <= bound && one
    out.push(
      `| ${hb(v.heartbeatMs)} | ${ms.length} | ${s2(median(ms))} | ${s2(max)} | ${v.failovers.map((x) => `${x.killed}→${x.took}: ${x.ms}`).join(', ')} | ${v.failovers.map((x) => x.claims).join(', ')} | ≤ heartbeat + ${FAILOVER_SLACK_MS} ms, one new leader | ${verdict(ok, `max ${s2(max)}`)} |`,
    )
    results.push(`failover, heartbeat ${hb(v.heartbeatMs)}: median ${s2(median(ms))}, max ${s2(max)} (bound ${hb(v.heartbeatMs)} + ${FAILOVER_SLACK_MS} ms) ${ok ? 'PASS' : 'MISS'}`)
  }
  out.push('')

  // 3. statements while idle
  out.push(
    `**Database statements while idle** (${P.idleMs / 1000} s windows, nothing changing; counted by the server: performance_schema's statement history for text statements, ` +
      'prepared_statements_instances for the prepared ones, attributed by MariaDB user — one per node). "settings poll" = statements on the options table or information_schema ' +
      '(the poll: the schema gate + the checksum); "coordination" = the fleet\'s tables and locks (heartbeat row, nodes, journal mark, ops, GET_LOCK/IS_USED_LOCK); per second:',
    '',
  )
  out.push('| window | node | settings-poll statements/s (polls/s) | coordination statements/s | other statements/s |')
  out.push('| --- | --- | ---: | ---: | ---: |')
  const rate = (w: Window, node: string, kind: Counted['kind']) => w.counts.filter((c) => c.node === node && c.kind === kind).reduce((s, c) => s + c.n, 0) / w.windowS
  const settingsOf = (w: Window, fleetOnly = true) => w.counts.filter((c) => c.kind === 'settings' && (!fleetOnly || c.node !== 'single')).reduce((s, c) => s + c.n, 0) / w.windowS
  const coordOf = (w: Window) => w.counts.filter((c) => c.kind === 'coordination' && c.node !== 'single').reduce((s, c) => s + c.n, 0) / w.windowS
  for (const w of r.windows) {
    for (const id of w.up) {
      const polls = (w.polls.get(id) ?? 0) / w.windowS
      out.push(
        `| ${w.label} | ${id === 'single' ? 'single node (no fleet:, its own database)' : id} | ${rate(w, id, 'settings').toFixed(2)} (${polls.toFixed(2)}) | ${rate(w, id, 'coordination').toFixed(2)} | ${rate(w, id, 'other').toFixed(2)} |`,
      )
    }
    out.push(
      `| ${w.label} | **the fleet, all nodes** | **${settingsOf(w).toFixed(2)}** | **${coordOf(w).toFixed(2)}** | ${w.up.filter((x) => x !== 'single').reduce((s, id) => s + rate(w, id, 'other'), 0).toFixed(2)} |`,
    )
  }
  out.push('')
  const three = r.windows.find((w) => w.up.filter((x) => x !== 'single').length === 3 && w.heartbeatMs === DEFAULT_HEARTBEAT_MS)
  const one = r.windows.find((w) => w.up.filter((x) => x !== 'single').length === 1)
  if (three && one) {
    const pollers = r.windows.map((w) => [...new Set(w.counts.filter((c) => c.kind === 'settings' && c.node !== 'single' && c.n > 0).map((c) => c.node))])
    const ratio = settingsOf(three) / settingsOf(one)
    const ok = pollers.every((p) => p.length <= 1) && ratio <= 1.25
    out.push(
      `Settings poll, 3 nodes ÷ 1 node (heartbeat ${hb(DEFAULT_HEARTBEAT_MS)}): ${settingsOf(three).toFixed(2)} ÷ ${settingsOf(one).toFixed(2)} statements/s = ${ratio.toFixed(2)}× ` +
        `(target: equal — one poller; PASS when at most one node ran settings statements in every window and the rate is within 1.25×, the jitter of one poll per window): ` +
        `${ok ? 'PASS' : 'MISS'}; the fleet's node(s) that ran settings statements, window by window: ${r.windows.map((w, i) => `${w.label}: ${pollers[i]?.join(', ') || 'none'}`).join('; ')}.`,
    )
    results.push(`settings poll, 3 nodes ÷ 1 node: ${ratio.toFixed(2)}× (target equal) ${ok ? 'PASS' : 'MISS'}`)
    results.push(`coordination (3 nodes): ${r.windows.filter((w) => w.up.filter((x) => x !== 'single').length === 3).map((w) => `${coordOf(w).toFixed(1)} statements/s at heartbeat ${hb(w.heartbeatMs)}`).join(', ')}`)
  }
  out.push('')
  out.push('| window | MariaDB server CPU (all its clients, the single node\'s included) | S3 requests (all nodes) | statements in the history |')
  out.push('| --- | ---: | ---: | ---: |')
  for (const w of r.windows)
    out.push(`| ${w.label} | ${w.mariadbCpuPct === null ? 'n/a' : `${w.mariadbCpuPct.toFixed(2)} %`} | ${w.s3Requests} | ${w.historyRows} |`)
  out.push('')
  const w3 = r.windows.find((w) => w.up.filter((x) => x !== 'single').length === 3 && w.heartbeatMs === DEFAULT_HEARTBEAT_MS) ?? r.windows[0]
  if (w3) {
    const shapes = new Map<string, { kind: string; per: Map<string, number> }>()
    for (const c of w3.counts) {
      if (c.node === 'single') continue
      const s = shapes.get(c.shape) ?? { kind: c.kind, per: new Map<string, number>() }
      s.per.set(c.node, (s.per.get(c.node) ?? 0) + c.n)
      shapes.set(c.shape, s)
    }
    const ids = w3.up.filter((x) => x !== 'single')
    out.push(`What the fleet's nodes ran in the window "${w3.label}" (statements/s per node):`, '')
    out.push(`| statement | kind | ${ids.join(' | ')} |`)
    out.push(`| --- | --- | ${ids.map(() => '---:').join(' | ')} |`)
    const total = (s: { per: Map<string, number> }) => [...s.per.values()].reduce((a, b) => a + b, 0)
    for (const [shape, s] of [...shapes.entries()].sort((a, b) => total(b[1]) - total(a[1])).slice(0, 14)) {
      const text = shape.length > 110 ? `${shape.slice(0, 107)}…` : shape
      out.push(`| \`${text.replace(/\|/g, '\\|').replace(/`/g, '')}\` | ${s.kind} | ${ids.map((id) => ((s.per.get(id) ?? 0) / w3.windowS).toFixed(2)).join(' | ')} |`)
    }
    out.push('')
  }
  out.push('Results:', '', ...results.map((x) => `- ${x}`))
  for (const note of r.notes) out.push(`- ${note}`)
  return out
}
