// bench/run.ts — peakguard against raw git and restic on a generated wp-content (~30k files, 580 MB at
// scale 1) and a WordPress options table (~2,000 rows, ~5 MB), side by side in one run, warm cache:
//   a. initial snapshot   b. nothing changed   c. incremental after a plugin update   d. rollback of it
// Every tool runs as a child process against the same tree; the medians of several rounds are compared
// with the targets of the issue. Everything lives in one temporary directory, removed at the end.
// peakguard is measured twice: as the CLI (`node dist/main.js …`, one process per command) and in-process
// (bench/inproc.ts: one long-lived process calling the services, as the daemon and web UI will — no start-up,
// modules loaded, caches warm), each with its own data dir (journal) on the same tree and database.
//
// Then the daemon (bench/daemon.ts): change → snapshot latency, idle CPU and memory against a bare chokidar
// watcher, and the cost of one settings poll.
// Then the S3 replica (bench/replica.ts): bytes stored on S3 and requests made for the initial state and 100
// successive plugin updates, beside a local restic repository of the same history; snapshot → replicated
// p50/p95, through the daemon, to s3rver on loopback behind a proxy that counts the requests.
//
//   npm run bench [-- --scale N] [--rounds N] [--initial-rounds N] [--plugin NAME] [--keep] [--profile]
//                 [--quick] [--daemon-only] [--replica-only] [--replica-updates N]
// --keep leaves the temporary directory and the database for inspection; --profile adds CPU profiles of
// one peakguard run per operation; --quick (or BENCH_QUICK=1) only checks that everything runs: one round
// of each tool (unless --rounds/--initial-rounds say otherwise), few daemon runs, short idle windows;
// --daemon-only skips the comparison with git and restic, and the replica; --replica-only runs the replica
// part alone (with --daemon-only too: both parts, nothing else); --replica-updates N replicates N updates
// instead of 100 (5 with --quick). The replica part alone, as issue 4 asks for it (~13 min on 2 CPUs; dist/ is rebuilt
// first when older than src/):
//   npm run bench -- --replica-only        or, restic installed:   npx node bench/run.ts --replica-only
//
// Needs git, restic (apt-get install -y restic) and a MariaDB (the test harness's: the machine's server
// on 127.0.0.1:3306, else a private one). PEAKGUARD_BENCH_GEN overrides the tree generator's path.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { rootConnection, stopMariadb, mariadb } from '../test/harness/mariadb.ts'
import { optionsTableSql, phpSerialize } from '../test/harness/site.ts'
import type { BenchInput } from './common.ts'
import { benchDaemon } from './daemon.ts'
import { benchReplica } from './replica.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const DIST_MAIN = path.join(REPO, 'dist/main.js')
const INPROC = path.join(REPO, 'bench/inproc.ts')
const GEN = path.resolve(process.env.PEAKGUARD_BENCH_GEN ?? path.join(REPO, '../shared/bench/gen-wp-content.js'))

const { values: flags } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    rounds: { type: 'string' },
    'initial-rounds': { type: 'string' },
    plugin: { type: 'string', default: 'wordpress-seo' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    'daemon-only': { type: 'boolean', default: false },
    'replica-only': { type: 'boolean', default: false },
    'replica-updates': { type: 'string' },
  },
  strict: true,
})
const QUICK = flags.quick || process.env.BENCH_QUICK === '1'
const DAEMON_ONLY = flags['daemon-only']
const REPLICA_ONLY = flags['replica-only']
const REPLICA_UPDATES = flags['replica-updates'] === undefined ? undefined : Number(flags['replica-updates'])
if (REPLICA_UPDATES !== undefined && !(Number.isInteger(REPLICA_UPDATES) && REPLICA_UPDATES > 0)) fail('--replica-updates must be a positive integer')
const SCALE = Number(flags.scale)
const ROUNDS = Number(flags.rounds ?? (QUICK ? 1 : 5))
const INITIAL_ROUNDS = Number(flags['initial-rounds'] ?? (QUICK ? 1 : 3))
const PLUGIN = flags.plugin as string
for (const [k, v] of [['--scale', SCALE], ['--rounds', ROUNDS], ['--initial-rounds', INITIAL_ROUNDS]] as const)
  if (!Number.isFinite(v) || v <= 0) fail(`${k} must be a positive number`)

/**
 * Untimed, before every timed operation of every tool: dirty pages left by the previous step (a tree
 * update, restic's 580 MB restore) are written back first, so no tool pays for another's writeback —
 * peakguard fsyncs its restore intent and its packs, which on ext4 waits for all pending data.
 */
function quiesce(): void {
  spawnSync('sync')
}

function fail(msg: string): never {
  throw new Error(msg)
}

// ── processes ────────────────────────────────────────────────────────────────────────────────────

interface Ran {
  code: number
  stdout: string
  stderr: string
  /** wall-clock seconds from spawn to exit */
  s: number
}

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; allowFail?: boolean } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint()
    const p = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d: Buffer) => err.push(d))
    p.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)))
    p.on('close', (code, signal) => {
      const r: Ran = {
        code: code ?? 128,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        s: Number(process.hrtime.bigint() - t0) / 1e9,
      }
      if (r.code !== 0 && !opts.allowFail)
        reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code ?? signal}):\n${r.stderr.trim() || r.stdout.trim()}`))
      else resolve(r)
    })
  })
}

/** Several commands one after another, timed together (e.g. `git add -A && git commit`). */
async function seq(steps: (() => Promise<Ran>)[]): Promise<Ran> {
  let s = 0
  let last: Ran | null = null
  for (const step of steps) {
    last = await step()
    s += last.s
  }
  return { ...(last as Ran), s }
}

/** The in-process driver (bench/inproc.ts): one long-lived peakguard process answering JSON-line requests. */
interface Driver {
  /** Sends one request; resolves with the driver's answer, fails with its exact error. */
  req(msg: Record<string, unknown>): Promise<{ ms: number; result: any }>
  close(): Promise<void>
}
let driver: Driver | null = null

function startDriver(env: NodeJS.ProcessEnv): Driver {
  const p = spawn(process.execPath, [INPROC], { env, cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] })
  const waiting: { resolve: (m: { ms: number; result: any }) => void; reject: (e: Error) => void; what: string }[] = []
  let ended: string | null = null
  let buf = ''
  p.stdout.setEncoding('utf8')
  p.stdout.on('data', (d: string) => {
    buf += d
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i)
      buf = buf.slice(i + 1)
      if (!line.trim()) continue
      let m: any
      try {
        m = JSON.parse(line)
      } catch {
        log(`in-process driver printed: ${line}`)
        continue
      }
      const w = waiting.shift()
      if (!w) {
        log(`in-process driver answered nothing asked: ${line}`)
        continue
      }
      if (m.ok) w.resolve({ ms: Number(m.ms), result: m.result })
      else w.reject(new Error(`peakguard in-process ${w.what} failed (${m.error?.code}): ${m.error?.message}\n${m.error?.stack ?? ''}`))
    }
  })
  p.stdin.on('error', () => undefined) // a dead driver is reported by 'close' below
  const closed = new Promise<void>((resolve) => {
    p.on('error', (e) => {
      ended = `cannot run it: ${e.message}`
      for (const w of waiting.splice(0)) w.reject(new Error(`the in-process driver: ${ended}`))
      resolve()
    })
    p.on('close', (code, signal) => {
      ended = `exit ${code ?? signal}`
      for (const w of waiting.splice(0)) w.reject(new Error(`the in-process driver ended (${ended}) during ${w.what}`))
      resolve()
    })
  })
  return {
    req: (msg) =>
      new Promise((resolve, reject) => {
        if (ended) return reject(new Error(`the in-process driver has ended (${ended}): cannot send ${JSON.stringify(msg)}`))
        waiting.push({ resolve, reject, what: JSON.stringify(msg) })
        p.stdin.write(JSON.stringify(msg) + '\n')
      }),
    close: async () => {
      if (!ended) p.stdin.end()
      const t = setTimeout(() => p.kill(), 15_000)
      await closed
      clearTimeout(t)
    },
  }
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim().split('\n')[0] as string : ''
}

// ── small helpers ────────────────────────────────────────────────────────────────────────────────

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

const f2 = (x: number) => x.toFixed(2)
const f3 = (x: number) => (x < 10 ? x.toFixed(3) : x.toFixed(2))
const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`)
}

/** Apparent bytes and bytes on disk (allocated blocks) of everything below `dir`. */
function sizeOf(dir: string): { bytes: number; disk: number; files: number } {
  let bytes = 0
  let disk = 0
  let files = 0
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      const st = fs.lstatSync(p)
      disk += st.blocks * 512
      if (e.isDirectory()) walk(p)
      else {
        bytes += st.size
        files++
      }
    }
  }
  walk(dir)
  return { bytes, disk, files }
}

/** Every file below `dir` (relative path → bytes), symlinks as their text. */
function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  const walk = (abs: string, rel: string) => {
    for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
      const a = path.join(abs, e.name)
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) walk(a, r)
      else if (e.isSymbolicLink()) out.set(r, Buffer.from(`link:${fs.readlinkSync(a)}`))
      else out.set(r, fs.readFileSync(a))
    }
  }
  walk(dir, '')
  return out
}

/** Fails loudly unless `dir` holds exactly the files of `ref`, byte for byte. */
function assertSameTree(ref: Map<string, Buffer>, dir: string, what: string): void {
  const got = filesOf(dir)
  const missing = [...ref.keys()].filter((p) => !got.has(p))
  const extra = [...got.keys()].filter((p) => !ref.has(p))
  const differ = [...ref.keys()].filter((p) => got.has(p) && !(got.get(p) as Buffer).equals(ref.get(p) as Buffer))
  if (missing.length || extra.length || differ.length)
    fail(
      `${what}: ${dir} is not the pre-update state: ${missing.length} missing, ${extra.length} extra, ${differ.length} differing files` +
        ` (e.g. ${[...missing.slice(0, 3).map((p) => `-${p}`), ...extra.slice(0, 3).map((p) => `+${p}`), ...differ.slice(0, 3).map((p) => `~${p}`)].join(' ')})`,
    )
}

// ── the options table ────────────────────────────────────────────────────────────────────────────

/** xorshift32: the same rows on every run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1
  return () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 4294967296
  }
}

const WORDS = (
  'enable disable title description label color size width height position style template archive single page post product ' +
  'category tag author date separator breadcrumb sitemap schema social facebook twitter image logo icon font weight margin padding ' +
  'border radius shadow header footer sidebar widget menu cart checkout shipping tax currency gateway stripe paypal email notify ' +
  'license key token cache minify defer lazy preload cdn exclude include rule redirect status version db_version installed'
).split(' ')
const PREFIXES = [
  'wpseo', 'woocommerce', 'jetpack', 'elementor', 'wpforms', 'revslider', 'wp_mail_smtp', 'wordfence', 'wp_rocket', 'ocean',
  'acf', 'wpacu', 'asp', 'cmb2', 'leadin', 'kirki', 'optin_monster', 'mc4wp', 'redirection', 'cloudflare', 'wc_payments', 'trp',
  'uagb', 'elementskit', 'pixel_caffeine', 'wpmdb', 'webp_converter', 'query_monitor', 'wpcf7', 'facebook_for_woocommerce',
]

interface Row {
  name: string
  value: string
  autoload: 'yes' | 'no'
}

/** A nested PHP array of about `bytes` serialized bytes. */
function settingsValue(r: () => number, bytes: number): string {
  const pick = () => WORDS[Math.floor(r() * WORDS.length)] as string
  const leaf = (): unknown => {
    const k = r()
    if (k < 0.3) return Math.floor(r() * 10000)
    if (k < 0.45) return r() < 0.5
    if (k < 0.6) return `https://shop.example/${pick()}/${pick()}-${Math.floor(r() * 999)}.png`
    if (k < 0.7) return `#${Math.floor(r() * 0xffffff).toString(16).padStart(6, '0')}`
    return Array.from({ length: 1 + Math.floor(r() * 12) }, pick).join(' ')
  }
  const obj: Record<string, unknown> = {}
  let size = 0
  let i = 0
  while (size < bytes) {
    const key = `${pick()}_${pick()}_${i++}`
    const v = r() < 0.15 ? Object.fromEntries(Array.from({ length: 2 + Math.floor(r() * 8) }, (_, j) => [`${pick()}_${j}`, leaf()])) : leaf()
    obj[key] = v
    size += phpSerialize(key).length + phpSerialize(v).length
  }
  return phpSerialize(obj)
}

/** ~2,000 rows of realistic shape totalling ~5 MB: core settings, plugin settings, a few large rows, transients. */
function optionRows(): Row[] {
  const r = prng(20261129)
  const rows: Row[] = []
  const names = new Set<string>()
  const add = (name: string, value: string, autoload: 'yes' | 'no' = r() < 0.7 ? 'yes' : 'no') => {
    if (names.has(name)) return
    names.add(name)
    rows.push({ name, value, autoload })
  }
  // core
  const core: [string, string][] = [
    ['siteurl', 'https://shop.example'], ['home', 'https://shop.example'], ['blogname', 'Campaign Shop'],
    ['blogdescription', 'Everything for the season'], ['admin_email', 'ops@shop.example'], ['template', 'oceanwp'],
    ['stylesheet', 'oceanwp-child'], ['db_version', '57155'], ['permalink_structure', '/%postname%/'],
    ['timezone_string', 'Europe/Berlin'], ['WPLANG', 'de_DE'], ['current_theme', 'OceanWP Child'],
  ]
  for (const [n, v] of core) add(n, v, 'yes')
  add('active_plugins', phpSerialize(PREFIXES.map((p) => `${p.replace(/_/g, '-')}/${p.replace(/_/g, '-')}.php`)), 'yes')
  add('wp_user_roles', settingsValue(r, 30_000), 'yes')
  // large rows (page builder data, slider exports, feeds) — ~2.4 MB together
  const large: [string, number][] = [
    ['elementor_pro_theme_builder_conditions', 120_000], ['elementor_global_kit_data', 420_000], ['revslider-global-settings', 260_000],
    ['theme_mods_oceanwp', 90_000], ['wpseo_titles', 60_000], ['wpacu_global_data', 350_000], ['asp_instances', 300_000],
    ['jetpack_available_modules', 45_000], ['wordfence_config_cache', 520_000], ['woocommerce_tracker_data', 110_000],
  ]
  for (const [n, size] of large) add(n, settingsValue(r, size), 'no')
  // noise the default ignore list leaves out: cron, rewrite rules, transients (~0.5 MB)
  add('cron', settingsValue(r, 40_000), 'yes')
  add('rewrite_rules', settingsValue(r, 110_000), 'yes')
  for (let i = 0; rows.length < 2000 && i < 160; i++) {
    const base = `${PREFIXES[i % PREFIXES.length]}_${WORDS[Math.floor(r() * WORDS.length)]}_${i}`
    add(`_transient_timeout_${base}`, String(1764400000 + i * 60), 'no')
    add(`_transient_${base}`, settingsValue(r, r() < 0.1 ? 20_000 : 600), 'no')
  }
  // plugin settings and widgets: the rest, small to medium
  let i = 0
  while (rows.length < 2000) {
    const prefix = PREFIXES[i % PREFIXES.length] as string
    const k = r()
    const size = k < 0.35 ? 8 + Math.floor(r() * 40) : k < 0.85 ? 200 + Math.floor(r() * 1200) : 2000 + Math.floor(r() * 6000)
    const name = `${prefix}_${WORDS[Math.floor(r() * WORDS.length)]}_${WORDS[Math.floor(r() * WORDS.length)]}${i > 300 ? `_${i}` : ''}`
    add(i % 17 === 0 ? `widget_${name}` : name, size < 60 ? (r() < 0.5 ? String(Math.floor(r() * 99999)) : 'yes') : settingsValue(r, size))
    i++
  }
  return rows
}

async function createDatabase(dbName: string, prefix: string): Promise<{ rows: number; bytes: number }> {
  const root = await rootConnection()
  await root.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4`)
  await root.end()
  const db = await rootConnection(dbName)
  try {
    await db.query(optionsTableSql(`${prefix}options`))
    const rows = optionRows()
    let batch: Row[] = []
    let batchBytes = 0
    const flush = async () => {
      if (!batch.length) return
      await db.query(`INSERT INTO \`${prefix}options\` (option_name, option_value, autoload) VALUES ?`, [batch.map((x) => [x.name, x.value, x.autoload])])
      batch = []
      batchBytes = 0
    }
    for (const row of rows) {
      batch.push(row)
      batchBytes += row.value.length
      if (batchBytes > 1_000_000) await flush()
    }
    await flush()
    const [res] = (await db.query(`SELECT COUNT(*) AS n, SUM(LENGTH(option_value)) AS b FROM \`${prefix}options\``)) as any
    return { rows: Number(res[0].n), bytes: Number(res[0].b) }
  } finally {
    await db.end()
  }
}

// ── the build ────────────────────────────────────────────────────────────────────────────────────

function newestMtime(dir: string): number {
  let t = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs)
  }
  return t
}

async function ensureBuilt(): Promise<void> {
  const built = fs.existsSync(DIST_MAIN) ? fs.statSync(DIST_MAIN).mtimeMs : 0
  const srcNewest = Math.max(newestMtime(path.join(REPO, 'src')), fs.statSync(path.join(REPO, 'tsconfig.build.json')).mtimeMs)
  if (built && built >= srcNewest) return
  log('building dist/ (tsc -p tsconfig.build.json): it is missing or older than src/')
  const r = await run(process.execPath, [path.join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO, allowFail: true })
  if (r.code !== 0) {
    if (!fs.existsSync(DIST_MAIN)) fail(`the build failed:\n${r.stdout}${r.stderr}`)
    log(`WARNING: tsc reported errors (JS was emitted anyway, benchmarking it):\n${r.stdout.trim().split('\n').slice(0, 10).join('\n')}`)
  }
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────────

type Tool = 'peakguard' | 'inproc' | 'git' | 'restic'
type Pg = 'peakguard' | 'inproc'
const PG_LABEL: Record<Pg, string> = { peakguard: 'peakguard CLI', inproc: 'peakguard in-process' }
type Op = 'initial' | 'unchanged' | 'incremental' | 'rollback'
const OPS: { op: Op; label: string; vs: 'git' | 'restic'; limit: number; target: string }[] = [
  { op: 'initial', label: 'initial snapshot', vs: 'restic', limit: 1.0, target: '≤ 1.0× restic backup' },
  { op: 'unchanged', label: 'nothing changed', vs: 'git', limit: 2.0, target: '≤ 2× git status' },
  { op: 'incremental', label: `incremental (${PLUGIN} update)`, vs: 'git', limit: 1.2, target: '≤ 1.2× git add+commit' },
  { op: 'rollback', label: 'rollback of the update', vs: 'git', limit: 1.2, target: '≤ 1.2× git read-tree -u' },
]

async function main(): Promise<void> {
  const tStart = Date.now()
  if (!fs.existsSync(GEN)) fail(`the tree generator is not at ${GEN}: set PEAKGUARD_BENCH_GEN to gen-wp-content.js`)
  const gitVersion = version('git', ['--version'])
  if (!gitVersion) fail("git is missing: install it with 'apt-get install -y git'")
  const resticVersion = version('restic', ['version'])
  if (!resticVersion && (!DAEMON_ONLY || REPLICA_ONLY)) fail("restic is missing: install it with 'apt-get update && apt-get install -y restic'")

  await ensureBuilt()

  const T = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-bench-'))
  const dbName = `pg_bench_${path.basename(T).slice(-6).toLowerCase().replace(/[^a-z0-9]/g, '_')}`
  let dbCreated = false
  const cleanup = async () => {
    await driver?.close().catch(() => undefined) // first: it holds connections to the database
    driver = null
    if (dbCreated && !flags.keep) {
      const c = await rootConnection().catch(() => null)
      await c?.query(`DROP DATABASE IF EXISTS \`${dbName}\``).catch(() => undefined)
      await c?.end().catch(() => undefined)
    }
    await stopMariadb()
    if (flags.keep) log(`kept ${T} and database ${dbName} (config ${path.join(T, 'peakguard.yaml')})`)
    else fs.rmSync(T, { recursive: true, force: true })
  }
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  try {
    await bench(T, dbName, () => (dbCreated = true), gitVersion, resticVersion)
  } finally {
    await cleanup()
    log(`total ${((Date.now() - tStart) / 1000).toFixed(0)} s`)
  }
}

async function bench(T: string, dbName: string, created: () => void, gitVersion: string, resticVersion: string): Promise<void> {
  const wpRoot = path.join(T, 'www')
  const W = path.join(wpRoot, 'wp-content')
  const dataRoot = path.join(T, 'data')
  const siteData = path.join(dataRoot, 'shop')
  const gitDirs = path.join(T, 'git')
  const resticRepos = path.join(T, 'restic')
  const compileCache = path.join(T, 'node-compile-cache')
  const configFile = path.join(T, 'peakguard.yaml')
  // the in-process peakguard keeps its own data dir (journal, stat cache): a daemon is its sole writer, so
  // its in-memory caches are never made stale by another process (here: the CLI runs)
  const dataRootInproc = path.join(T, 'data-inproc')
  const configInproc = path.join(T, 'peakguard-inproc.yaml')
  const prefix = 'wp_'

  // 1. the tree
  log(`generating wp-content at scale ${SCALE} (${GEN})`)
  const gen = await run(process.execPath, [GEN, '--out', W, '--quiet', '--scale', String(SCALE)])
  const genArgs = (seed: number) => [GEN, '--out', W, '--quiet', '--scale', String(SCALE), '--update', PLUGIN, '--update-seed', String(seed)]
  const pluginDir = path.join(W, 'plugins', PLUGIN)
  if (!fs.existsSync(pluginDir))
    fail(`plugin ${PLUGIN} is not in the generated tree (plugins: ${fs.readdirSync(path.join(W, 'plugins')).filter((n) => !n.endsWith('.php')).join(', ')}): pass --plugin NAME`)
  const tree = sizeOf(W)
  const pristine = filesOf(pluginDir)
  log(`tree: ${tree.files} files, ${mb(tree.bytes)} in ${f2(gen.s)} s; ${PLUGIN}: ${pristine.size} files`)

  // 2. the database and the config
  const server = await mariadb()
  const mariadbVersion = await (async () => {
    const c = await rootConnection()
    try {
      const [r] = (await c.query('SELECT VERSION() AS v')) as any
      return String(r[0].v)
    } finally {
      await c.end()
    }
  })()
  created()
  const opts = await createDatabase(dbName, prefix)
  log(`database ${dbName} on ${server.host}:${server.port}${server.private ? ' (private server)' : ''}: ${opts.rows} option rows, ${mb(opts.bytes)}`)
  const siteYaml =
    `sites:\n  - id: shop\n    wpRoot: ${wpRoot}\n    db:\n      host: ${server.host}\n      port: ${server.port}\n` +
    `      user: ${server.user}\n      password: "${server.password}"\n      name: ${dbName}\n      tablePrefix: ${prefix}\n`
  fs.writeFileSync(configFile, `dataDir: ${dataRoot}\n${siteYaml}`)
  fs.writeFileSync(configInproc, `dataDir: ${dataRootInproc}\n${siteYaml}`)
  const machine =
    `Machine: ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Linux ${os.release()}; ` +
    `node ${process.version}; ${[gitVersion, resticVersion].filter(Boolean).join('; ')}; MariaDB ${mariadbVersion}${server.private ? ' (private)' : ''}.`
  // the tree and the database, as the daemon and replica parts get them
  const site: BenchInput = {
    T,
    wpRoot,
    wpContent: W,
    db: { host: server.host, port: server.port, user: server.user, password: server.password, name: dbName, prefix },
    gen: GEN,
    scale: SCALE,
    plugin: PLUGIN,
    distMain: DIST_MAIN,
    quick: QUICK,
    log,
  }
  // the daemon runs last (or alone), when no other peakguard process is busy on the machine
  const daemon = () => benchDaemon(site)
  // the replica last: it needs the daemon too, and compares with restic on its own
  const replica = () => benchReplica({ ...site, updates: REPLICA_UPDATES })
  if (DAEMON_ONLY || REPLICA_ONLY) {
    const sections: string[] = []
    if (DAEMON_ONLY) sections.push('', ...(await daemon()))
    if (REPLICA_ONLY) sections.push('', ...(await replica()))
    const which = [DAEMON_ONLY ? 'daemon' : '', REPLICA_ONLY ? 'replica' : ''].filter(Boolean).join(' and ')
    process.stdout.write([`## peakguard benchmark (${which} only)`, '', machine, ...sections].join('\n') + '\n')
    return
  }

  // the three tools
  const pgEnv: NodeJS.ProcessEnv = { ...process.env, NODE_COMPILE_CACHE: compileCache }
  const pg = async (args: string[], extraNodeArgs: string[] = []): Promise<Ran & { json: any }> => {
    const r = await run(process.execPath, [...extraNodeArgs, DIST_MAIN, '--config', configFile, '--json', ...args], { env: pgEnv, allowFail: true })
    let json: any = null
    try {
      json = JSON.parse(r.stdout)
    } catch {
      /* not JSON */
    }
    if (r.code !== 0) fail(`peakguard ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr.trim()}\n${r.stdout.trim()}`)
    return { ...r, json }
  }
  // the in-process driver: spawned once, loads dist/ once, serves every in-process measurement of this run
  const ip = (driver = startDriver(pgEnv))
  const ipOpen = (): Promise<{ ms: number; result: any }> => ip.req({ op: 'open', config: configInproc, site: 'shop' })
  const ipSnapshot = (): Promise<{ ms: number; result: any }> => ip.req({ op: 'snapshot' })
  let gitDir = ''
  const gitEnv = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: T,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_DIR: gitDir,
    GIT_WORK_TREE: W,
  })
  const git = (args: string[], allowFail = false, env: NodeJS.ProcessEnv = {}) =>
    run('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], { env: { ...gitEnv(), ...env }, cwd: W, allowFail })
  /** Is the whole work tree (tracked or not) exactly `commit`? Checked through a scratch index, untimed. */
  const treeIs = async (commit: string): Promise<string | null> => {
    const env = { GIT_INDEX_FILE: path.join(T, 'check.index') }
    fs.copyFileSync(path.join(gitDir, 'index'), env.GIT_INDEX_FILE)
    await git(['add', '-A'], false, env)
    const d = await git(['diff-index', '--cached', '--name-status', commit, '--'], false, env)
    return d.stdout.trim() ? d.stdout.split('\n').slice(0, 30).join('\n') : null
  }
  let resticRepo = ''
  const resticEnv = (): NodeJS.ProcessEnv => ({
    PATH: process.env.PATH,
    HOME: T,
    RESTIC_PASSWORD: 'peakguard-bench',
    RESTIC_REPOSITORY: resticRepo,
    RESTIC_CACHE_DIR: path.join(T, 'restic-cache'),
  })
  const restic = (args: string[]) => run('restic', args, { env: resticEnv() })
  const resticBackup = async (): Promise<Ran & { id: string }> => {
    const r = await restic(['backup', '--json', '--quiet', W])
    const summary = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((m) => m.message_type === 'summary')
    if (!summary?.snapshot_id) fail(`restic backup printed no snapshot id:\n${r.stdout}`)
    return { ...r, id: String(summary.snapshot_id) }
  }

  const times: Record<Op, Record<Tool, number[]>> = {
    initial: { peakguard: [], inproc: [], git: [], restic: [] },
    unchanged: { peakguard: [], inproc: [], git: [], restic: [] },
    incremental: { peakguard: [], inproc: [], git: [], restic: [] },
    rollback: { peakguard: [], inproc: [], git: [], restic: [] },
  }
  const notes: string[] = []
  /** in-process, not timed as part of an operation: opening the fresh Site per initial round; resolveState inside each rollback */
  const ipOpenMs: number[] = []
  const ipResolveMs: number[] = []

  // warm the compile cache and the page cache (all tools then start from the same warm state)
  const startup: number[] = []
  for (let i = 0; i < 4; i++) startup.push((await run(process.execPath, [DIST_MAIN, '--help'], { env: pgEnv })).s)
  const startupCold: number[] = []
  for (let i = 0; i < 3; i++) startupCold.push((await run(process.execPath, [DIST_MAIN, '--help'], { env: { ...process.env, NODE_COMPILE_CACHE: '' } })).s)
  for (const f of fs.readdirSync(W, { recursive: true, withFileTypes: true })) if (f.isFile()) fs.readFileSync(path.join(f.parentPath, f.name))

  // a. initial snapshot: fresh journal / git dir / restic repo each round; the last round's are kept
  let sizesAfterInitial: Record<Tool, { bytes: number; disk: number; files: number }> | null = null
  for (let round = 1; round <= INITIAL_ROUNDS; round++) {
    const last = round === INITIAL_ROUNDS
    fs.rmSync(dataRoot, { recursive: true, force: true })
    fs.rmSync(dataRootInproc, { recursive: true, force: true })
    fs.rmSync(gitDirs, { recursive: true, force: true })
    fs.rmSync(resticRepos, { recursive: true, force: true })
    gitDir = path.join(gitDirs, `r${round}`)
    resticRepo = path.join(resticRepos, `r${round}`)
    fs.mkdirSync(gitDirs, { recursive: true })
    await restic(['init', '--quiet'])
    // rotate the order so no tool always runs first
    const order: Tool[] = (['peakguard', 'inproc', 'git', 'restic'] as Tool[]).map((_, i, a) => a[(i + round - 1) % a.length] as Tool)
    for (const tool of order) {
      if (tool === 'inproc') ipOpenMs.push((await ipOpen()).ms)
      quiesce()
      if (tool === 'peakguard') {
        const r = await pg(['snapshot'])
        if (!r.json?.created) fail(`initial peakguard snapshot recorded nothing: ${r.stdout}`)
        times.initial.peakguard.push(r.s)
      } else if (tool === 'inproc') {
        // a fresh data dir needs a fresh Site (new journal, empty caches): opened untimed, as a daemon
        // would when the site is added; then the first snapshot, timed
        const r = await ipSnapshot()
        if (!r.result?.created) fail(`initial in-process peakguard snapshot recorded nothing: ${JSON.stringify(r.result)}`)
        times.initial.inproc.push(r.ms / 1000)
      } else if (tool === 'git') {
        // gc.auto=0 / maintenance.auto=false as in peakguard's journal: otherwise `git commit` starts a
        // background gc over 30k loose objects that would steal CPU from the next measurement
        const r = await seq([
          () => git(['init', '-q']),
          () => git(['config', 'gc.auto', '0']),
          () => git(['config', 'maintenance.auto', 'false']),
          () => git(['add', '-A']),
          () => git(['commit', '-q', '-m', 'initial']),
        ])
        times.initial.git.push(r.s)
      } else {
        times.initial.restic.push((await resticBackup()).s)
      }
    }
    log(`initial round ${round}/${INITIAL_ROUNDS}: peakguard CLI ${f2(times.initial.peakguard.at(-1) as number)} s, in-process ${f2(times.initial.inproc.at(-1) as number)} s, git ${f2(times.initial.git.at(-1) as number)} s, restic ${f2(times.initial.restic.at(-1) as number)} s`)
    if (last) sizesAfterInitial = { peakguard: sizeOf(path.join(siteData, 'journal')), inproc: sizeOf(path.join(dataRootInproc, 'shop', 'journal')), git: sizeOf(gitDir), restic: sizeOf(resticRepo) }
  }
  const gitBase = (await git(['rev-parse', 'HEAD'])).stdout.trim()

  // b. nothing changed: one untimed warm-up, then the rounds
  let pgBase = ''
  let ipBase = ''
  let resticBase = ''
  for (let round = 0; round <= ROUNDS; round++) {
    quiesce()
    const p = await pg(['snapshot'])
    if (p.json?.created !== false) fail(`peakguard recorded a snapshot although nothing changed: ${p.stdout}`)
    pgBase = p.json.id
    quiesce()
    const ips = await ipSnapshot()
    if (ips.result?.created !== false) fail(`in-process peakguard recorded a snapshot although nothing changed: ${JSON.stringify(ips.result)}`)
    ipBase = ips.result.id
    quiesce()
    const g = await git(['status', '--porcelain'])
    if (g.stdout.trim()) fail(`git status is not clean although nothing changed:\n${g.stdout.slice(0, 500)}`)
    quiesce()
    const rs = await resticBackup()
    resticBase = rs.id
    if (round === 0) continue
    times.unchanged.peakguard.push(p.s)
    times.unchanged.inproc.push(ips.ms / 1000)
    times.unchanged.git.push(g.s)
    times.unchanged.restic.push(rs.s)
  }
  log(`nothing changed: peakguard CLI ${f3(median(times.unchanged.peakguard))} s, in-process ${f3(median(times.unchanged.inproc))} s, git status ${f3(median(times.unchanged.git))} s, restic ${f3(median(times.unchanged.restic))} s`)

  // c+d. per round: update the plugin, record it with each tool, then roll it back with each tool. The two
  // peakguards take turns going first (odd rounds the CLI, even rounds in-process)
  const pgRestoreCounts: string[] = []
  const ipRestoreCounts: string[] = []
  for (let round = 1; round <= ROUNDS; round++) {
    const seed = round
    const pgOrder: Pg[] = round % 2 ? ['peakguard', 'inproc'] : ['inproc', 'peakguard']
    const upd = await run(process.execPath, genArgs(seed))
    // c. incremental: all four against the same updated tree (none of them writes to it)
    for (const which of pgOrder) {
      quiesce()
      if (which === 'peakguard') {
        const p = await pg(['snapshot'])
        if (!p.json?.created) fail(`peakguard did not record the plugin update: ${p.stdout}`)
        times.incremental.peakguard.push(p.s)
      } else {
        const p = await ipSnapshot()
        if (!p.result?.created) fail(`in-process peakguard did not record the plugin update: ${JSON.stringify(p.result)}`)
        times.incremental.inproc.push(p.ms / 1000)
      }
    }
    quiesce()
    const g = await seq([() => git(['add', '-A']), () => git(['commit', '-q', '-m', `update ${seed}`])])
    quiesce()
    const rs = await resticBackup()
    times.incremental.git.push(g.s)
    times.incremental.restic.push(rs.s)

    // d. rollback, each tool from the state it left itself in. git first: its index is fresh from its add
    quiesce()
    const gr = await git(['read-tree', '-u', '--reset', gitBase])
    assertSameTree(pristine, pluginDir, `after git read-tree -u --reset (round ${round})`)
    const wholeGit = await treeIs(gitBase)
    if (wholeGit) fail(`after git read-tree -u --reset (round ${round}) the tree differs from ${gitBase}:\n${wholeGit}`)
    times.rollback.git.push(gr.s)

    // restic restores the whole state into a fresh directory (it cannot restore in place selectively)
    const target = path.join(T, `restic-restore-${round}`)
    quiesce()
    const rr = await restic(['restore', resticBase, '--target', target])
    assertSameTree(pristine, path.join(target, pluginDir), `restic restore (round ${round})`)
    fs.rmSync(target, { recursive: true, force: true })
    spawnSync('sync') // no writeback of the restored copy during the next measurements
    times.rollback.restic.push(rr.s)

    // each peakguard in turn: the same update again (identical bytes, fresh inodes, as WordPress leaves
    // them). A rollback comes well after the update, when peakguard has recorded it: wait out its 2 s
    // racy-stat window and let one untimed snapshot (which must record nothing) refresh its stat cache, as
    // git's index is fresh from its add. Then the timed restore, and the byte comparison
    for (const which of pgOrder) {
      await run(process.execPath, genArgs(seed))
      await new Promise((r) => setTimeout(r, 2100))
      const who = `${PG_LABEL[which]} restore (round ${round})`
      if (which === 'peakguard') {
        const again = await pg(['snapshot'])
        if (again.json?.created !== false) fail(`the re-applied update is not the recorded one: ${again.stdout}`)
        quiesce()
        const pr = await pg(['restore', pgBase, '--yes'])
        if (pr.json?.verified !== true) fail(`peakguard restore did not verify: ${pr.stdout}`)
        pgRestoreCounts.push(`${pr.json.files.written} written/${pr.json.files.removed} removed`)
        times.rollback.peakguard.push(pr.s)
        pgBase = pr.json.snapshot
      } else {
        const again = await ipSnapshot()
        if (again.result?.created !== false) fail(`in-process: the re-applied update is not the recorded one: ${JSON.stringify(again.result)}`)
        quiesce()
        const pr = await ip.req({ op: 'restore', target: ipBase })
        if (pr.result?.verified !== true) fail(`in-process peakguard restore did not verify: ${JSON.stringify(pr.result)}`)
        ipRestoreCounts.push(`${pr.result.files.written} written/${pr.result.files.removed} removed`)
        times.rollback.inproc.push(pr.ms / 1000)
        ipResolveMs.push(Number(pr.result.resolveMs))
        ipBase = pr.result.snapshot
      }
      assertSameTree(pristine, pluginDir, `after ${who}`)
      const whole = await treeIs(gitBase)
      if (whole) fail(`after ${who} the tree differs from the pre-update state (git commit ${gitBase}):\n${whole}`)
    }

    log(
      `round ${round}/${ROUNDS} (update seed ${seed}, gen ${f2(upd.s)} s, ${pgOrder[0] === 'peakguard' ? 'CLI' : 'in-process'} first): ` +
        `incremental peakguard CLI ${f2(times.incremental.peakguard.at(-1) as number)} / in-process ${f2(times.incremental.inproc.at(-1) as number)} / git ${f2(g.s)} / restic ${f2(rs.s)} s; ` +
        `rollback peakguard CLI ${f2(times.rollback.peakguard.at(-1) as number)} / in-process ${f2(times.rollback.inproc.at(-1) as number)} / git ${f2(gr.s)} / restic ${f2(rr.s)} s`,
    )
  }
  await ip.close() // done: it holds database connections
  const sizesAtEnd = { peakguard: sizeOf(path.join(siteData, 'journal')), inproc: sizeOf(path.join(dataRootInproc, 'shop', 'journal')), git: sizeOf(gitDir), restic: sizeOf(resticRepo) }

  // optional: one CPU profile of each peakguard operation, to see where its time goes
  let profileReport = ''
  if (flags.profile) profileReport = await profile(T, pg, genArgs, pgBase)
  const daemonReport = await daemon()
  const replicaReport = await replica()

  // ── the report ──
  const out: string[] = []
  out.push('## peakguard benchmark', '')
  out.push(machine)
  out.push(
    `Tree: gen-wp-content.js scale ${SCALE} — ${tree.files} files, ${mb(tree.bytes)}; update = \`--update ${PLUGIN} --update-seed K\` ` +
      `(${pristine.size} files rewritten, 300 changed, 10 added, 10 removed). Settings: ${opts.rows} option rows, ${mb(opts.bytes)}.`,
  )
  out.push(
    `Rounds: initial ${INITIAL_ROUNDS}, others ${ROUNDS} (nothing-changed after one untimed warm-up); medians; page cache warm; ` +
      `peakguard CLI = \`node dist/main.js\` with NODE_COMPILE_CACHE warm (startup \`--help\`: ${f3(median(startup))} s warm vs ${f3(median(startupCold))} s without the cache), ` +
      'timed from spawn to exit like git and restic; peakguard in-process = one long-lived node process (bench/inproc.ts) calling the services of dist/ on a Site ' +
      'composed like the CLI\'s and kept open, so modules are loaded and the journal\'s and file scanner\'s caches warm; timed with performance.now() around the service calls only. ' +
      'Each peakguard has its own data dir (journal + stat cache) on the same wp-content and database.',
    '',
  )
  out.push(
    '| operation | peakguard CLI (median s) | peakguard in-process (median s) | raw git (median s) | restic (median s) | CLI ÷ target tool | in-process ÷ target tool | target | result CLI | result in-process |',
  )
  out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |')
  const results: string[] = []
  for (const o of OPS) {
    const m = { peakguard: median(times[o.op].peakguard), inproc: median(times[o.op].inproc), git: median(times[o.op].git), restic: median(times[o.op].restic) }
    const verdict = (which: Pg) => {
      const ratio = m[which] / m[o.vs]
      return { ratio, ok: ratio <= o.limit, text: `${ratio <= o.limit ? 'PASS' : 'MISS'} (${f2(ratio)}×)` }
    }
    const cli = verdict('peakguard')
    const inp = verdict('inproc')
    for (const [which, v] of [['peakguard', cli], ['inproc', inp]] as const)
      results.push(`${PG_LABEL[which]} — ${o.label}: ${f2(v.ratio)}× ${o.vs} (target ${o.target}) ${v.ok ? 'PASS' : 'MISS'}`)
    out.push(
      `| ${o.label} | ${f3(m.peakguard)} | ${f3(m.inproc)} | ${f3(m.git)} | ${f3(m.restic)} | ${f2(cli.ratio)}× ${o.vs} | ${f2(inp.ratio)}× ${o.vs} | ${o.target} | CLI: ${cli.text} | in-process: ${inp.text} |`,
    )
  }
  out.push('')
  out.push('What each column runs:', '')
  out.push('- peakguard in-process runs the same operations as the CLI column through the services: `snapshot(site, { trigger: \'manual\' })`; for the rollback `resolveState` + `restore(site, { target })`')
  out.push('- initial: `peakguard snapshot` on an empty data dir (in-process: a fresh Site opened untimed on the emptied data dir, then its first snapshot) | `git init` + `git add -A` + `git commit` (separate GIT_DIR, work tree = wp-content) | `restic backup` into a fresh repo (`restic init` not timed)')
  out.push('- nothing changed: `peakguard snapshot` (records nothing) | `git status --porcelain` | `restic backup` (parent snapshot, unchanged files)')
  out.push('- incremental: `peakguard snapshot` | `git add -A` + `git commit` | `restic backup` — all four (both peakguards) on the same updated tree')
  out.push(
    `- every timed operation of every tool starts after an untimed \`sync\`, so none pays for writeback another left behind\n- rollback: \`peakguard restore <previous state> --yes\` (safety snapshot + write + verify snapshot) | \`git read-tree -u --reset <previous commit>\` | \`restic restore <previous snapshot> --target <fresh dir>\` (the whole state, ${mb(tree.bytes)}: restic cannot restore in place selectively); git and restic run first; the update is then re-applied (same bytes) and, after peakguard's 2 s racy-stat window, one untimed no-change snapshot refreshes its stat cache (git's index is likewise fresh from its own add); the two peakguards take turns going first (odd rounds the CLI), each re-applying the update for its own rollback`,
  )
  out.push('')
  out.push('Per round (seconds, and each peakguard ÷ the target\'s tool):', '')
  out.push('| operation | tool | ' + Array.from({ length: Math.max(INITIAL_ROUNDS, ROUNDS) }, (_, i) => `r${i + 1}`).join(' | ') + ' |')
  out.push('| --- | --- | ' + Array.from({ length: Math.max(INITIAL_ROUNDS, ROUNDS) }, () => '---:').join(' | ') + ' |')
  for (const o of OPS) {
    const name: Record<Tool, string> = { ...PG_LABEL, git: 'raw git', restic: 'restic' }
    for (const tool of ['peakguard', 'inproc', 'git', 'restic'] as Tool[]) out.push(`| ${o.label} | ${name[tool]} | ${times[o.op][tool].map(f3).join(' | ')} |`)
    for (const which of ['peakguard', 'inproc'] as Pg[])
      out.push(`| ${o.label} | ${PG_LABEL[which]} ÷ ${o.vs} | ${times[o.op][which].map((x, i) => `${f2(x / (times[o.op][o.vs][i] as number))}×`).join(' | ')} |`)
  }
  out.push('')
  out.push('Storage (bytes on disk = allocated blocks; apparent size in brackets):', '')
  out.push('| | peakguard journal (CLI) | peakguard journal (in-process) | raw git repo | restic repo |')
  out.push('| --- | ---: | ---: | ---: | ---: |')
  const row = (label: string, s: Record<Tool, { bytes: number; disk: number; files: number }>) =>
    out.push(`| ${label} | ${mb(s.peakguard.disk)} (${mb(s.peakguard.bytes)}, ${s.peakguard.files} files) | ${mb(s.inproc.disk)} (${mb(s.inproc.bytes)}, ${s.inproc.files} files) | ${mb(s.git.disk)} (${mb(s.git.bytes)}, ${s.git.files} files) | ${mb(s.restic.disk)} (${mb(s.restic.bytes)}, ${s.restic.files} files) |`)
  if (sizesAfterInitial) row('after the initial snapshot', sizesAfterInitial)
  row(`after ${ROUNDS} updates + rollbacks`, sizesAtEnd)
  out.push('')
  out.push(`peakguard CLI restores per round: ${pgRestoreCounts.join('; ')}; in-process: ${ipRestoreCounts.join('; ')} (each verified; ${PLUGIN} byte-compared with its pre-update content, the whole tree with \`git add -A\` into a scratch index + \`git diff-index\`).`)
  out.push(
    'Notes: raw git uses its defaults (zlib level 6, loose objects) except gc.auto=0 and maintenance.auto=false, as peakguard\'s journal (whose blobs Node writes as packs at zlib level 1 on worker threads; trees and the commit come from git fast-import). ' +
      'peakguard also reads and hashes the options table on every command; git and restic see files only. restic runs with its defaults (compression auto, local cache in the temp dir).',
  )
  out.push(
    `In-process, not included in the times above: opening the fresh Site per initial round (loadConfig + openSite, creates the journal) ${ipOpenMs.map((x) => `${x.toFixed(0)} ms`).join(', ')}; ` +
      `of each in-process rollback, resolveState (part of the time) ${ipResolveMs.map((x) => `${x.toFixed(0)} ms`).join(', ')}.`,
  )
  out.push('', 'Targets (judged separately for the CLI and for in-process):', '', ...results.map((r) => `- ${r}`))
  for (const n of notes) out.push(`- ${n}`)
  if (profileReport) out.push('', profileReport)
  out.push('', ...daemonReport)
  out.push('', ...replicaReport)
  process.stdout.write(out.join('\n') + '\n')
}

// ── profiling (--profile) ────────────────────────────────────────────────────────────────────────

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[]
  samples: number[]
  timeDeltas: number[]
}

function topSelf(file: string, n: number): string[] {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(p.nodes.map((x) => [x.id, x]))
  const self = new Map<string, number>()
  let total = 0
  p.samples.forEach((id, i) => {
    const node = byId.get(id)
    const dt = (p.timeDeltas[i] ?? 0) / 1000
    total += dt
    if (!node) return
    const cf = node.callFrame
    const where = cf.url ? `${cf.url.replace(/^file:\/\//, '').replace(REPO + '/', '')}:${cf.lineNumber + 1}` : ''
    const key = `${cf.functionName || '(anonymous)'} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + dt)
  })
  return [
    `total sampled ${total.toFixed(0)} ms`,
    ...[...self.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, ms]) => `${ms.toFixed(0).padStart(6)} ms  ${k}`),
  ]
}

async function profile(
  T: string,
  pg: (args: string[], nodeArgs?: string[]) => Promise<Ran & { json: any }>,
  genArgs: (seed: number) => string[],
  base: string,
): Promise<string> {
  const dir = path.join(T, 'cpu-prof')
  const prof = async (name: string, args: string[]) => {
    const d = path.join(dir, name)
    const r = await pg(args, ['--cpu-prof', `--cpu-prof-dir=${d}`])
    const file = path.join(d, fs.readdirSync(d)[0] as string)
    return [`### ${name} (${f3(r.s)} s wall)`, '```', ...topSelf(file, 15), '```']
  }
  const out = ['## CPU profiles of peakguard (self time, main thread; child git processes not included)', '']
  await pg(['snapshot']) // the stat cache catches up with the last rollback, so the next run is a true no-change
  out.push(...(await prof('nothing-changed', ['snapshot'])))
  await run(process.execPath, genArgs(99))
  out.push(...(await prof('incremental', ['snapshot'])))
  await new Promise((r) => setTimeout(r, 2100))
  await pg(['snapshot'])
  out.push(...(await prof('rollback', ['restore', base, '--yes'])))
  return out.join('\n')
}

await main()
