// bench/replica.ts — the S3 replica's targets (issue 4), on the tree and the options table bench/run.ts
// builds (it calls benchReplica() after the daemon, or alone with --replica-only):
//   bytes stored on S3 and the requests made for an initial state and N successive plugin updates
//   (N = 100; 5 with --quick), beside a restic repository of the same history (a local repo); and the
//   time from each snapshot to its replication, p50/p95.
// Targets: stored bytes ≤ restic's repository; p95 of snapshot → replicated ≤ 2 s on loopback.
//
// Set-up: s3rver (test/harness/s3.ts: a child process on 127.0.0.1) behind the recording TCP proxy
// (test/harness/fault-proxy.ts, no fault injected) that sees every HTTP request peakguard makes, so the
// requests are counted on the wire, not taken from peakguard's own log. The daemon is
// `node dist/bin/peakguard.js daemon` with its own fresh journal and an s3 block (encrypted: a 32-byte key file,
// mode 0600), default watch settings; it records the tree at start-up and pushes that as a full bundle.
// Then per update: the generator unpacks the next version of the plugin outside wp-content (untimed), the
// timed swap removes the old directory and renames the new one in (as WordPress's upgrader does), the
// daemon snapshots it and pushes it; the bench waits for the `replicated` line (and that the replica's
// head is the journal's) before it runs `restic backup` of the same tree and the next update.
// "snapshot → replicated" is the arrival at the bench of the daemon's `replicated` log line minus the
// arrival of its `snapshot` line (both are written as they happen; pino writes synchronously).
// restic gets the same history: the tree and a dump of the settings rows peakguard records (the options
// table less the default ignore list: transients, cron, rewrite_rules, …; one file, unchanged by the
// updates), backed up after the initial state and after each update. Its size is the sum of the file
// sizes in its repository directory; peakguard's is the sum of the object sizes under its S3 prefix
// (what S3 bills).
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import mysql from 'mysql2/promise'
import { DEFAULT_IGNORED_OPTIONS, globToRegExp } from '../src/core/scope.ts'
import { FaultProxy, type ProxiedRequest } from '../test/harness/fault-proxy.ts'
import { freePort } from '../test/harness/mariadb.ts'
import { S3Server, type StoredObject } from '../test/harness/s3.ts'
import { assertRecorded, daemonConfig, git, pct, sec, SITE, startProc, verdict, type BenchInput, type Line, type Proc } from './common.ts'

export interface ReplicaBenchInput extends BenchInput {
  /** plugin updates to replicate (default 100; 5 in quick mode) */
  updates?: number
}

const SNAPSHOT_TO_REPLICATED_TARGET_MS = 2000
const BYTES_RATIO_TARGET = 1.0
/** AES-256-GCM sealing per object (src/adapters/s3-store.ts): "PGS1" + key id (8) + IV (12) + tag (16) */
const SEAL_OVERHEAD = 4 + 8 + 12 + 16
/** update seeds far from the ones the other parts of the bench use, so no update re-creates a state the tree had */
const SEED_BASE = 1000
const S3_PREFIX = 'bench'
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

// ── commands ─────────────────────────────────────────────────────────────────────────────────────

/** A command to its end, without blocking the event loop (the daemon's log lines keep arriving). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ stdout: string; s: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d: Buffer) => err.push(d))
    p.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)))
    p.on('close', (code) => {
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} failed (exit ${code}):\n${Buffer.concat(err).toString().trim()}`))
      else resolve({ stdout: Buffer.concat(out).toString(), s: (performance.now() - t0) / 1000 })
    })
  })
}

// ── small helpers ────────────────────────────────────────────────────────────────────────────────

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)
const kb = (b: number) => (b < 10_000 ? `${(b / 1e3).toFixed(1)} KB` : `${(b / 1e3).toFixed(0)} KB`)
const mb = (b: number) => (b < 100_000 ? kb(b) : `${(b / 1e6).toFixed(1)} MB`)

/** Sum of file sizes and number of files below `dir`, per top-level entry too. */
function sizeOf(dir: string): { bytes: number; files: number; parts: Map<string, { bytes: number; files: number }> } {
  const parts = new Map<string, { bytes: number; files: number }>()
  let bytes = 0
  let files = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue
    const p = path.join(e.parentPath, e.name)
    const size = fs.statSync(p).size
    const top = path.relative(dir, p).split(path.sep)[0] as string
    const part = parts.get(top) ?? { bytes: 0, files: 0 }
    part.bytes += size
    part.files++
    parts.set(top, part)
    bytes += size
    files++
  }
  return { bytes, files, parts }
}

/**
 * Bytes of the pack `git pack-objects --stdout` makes from the revisions on its stdin. Without the bitmap
 * a `git gc` of the journal leaves: with it, objects are chosen (and reused) as they were not when the
 * pushes were made (a bundle uses the bitmap only while its excluded tip is in the bitmapped pack).
 */
function packSize(journal: string, revs: string[], args: string[], config: string[] = []): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn('git', [...config, '--git-dir', journal, 'pack-objects', '--stdout', '--revs', '--delta-base-offset', '--no-use-bitmap-index', '-q', ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    let n = 0
    let err = ''
    p.stdout.on('data', (d: Buffer) => (n += d.length))
    p.stderr.on('data', (d: Buffer) => (err += d.toString()))
    p.on('error', reject)
    p.on('close', (code) => (code === 0 ? resolve(n) : reject(new Error(`git pack-objects failed: ${err}`))))
    p.stdin.end(revs.join('\n') + '\n')
  })
}

interface WhatIf {
  /** the initial state's objects, recompressed at zlib level 6 (the actual full bundle reuses the journal's level-1 packs) */
  initial6: number
  /** per update, every object recompressed (no reuse: the same whatever the journal's packing is by now): */
  /** as `git bundle create NEW ^PREVIOUS` selects objects, at zlib level 1 (a check against the actual bundles) */
  edge1: number[]
  /** leaving out every object of every earlier snapshot, at level 1 and at level 6 */
  all1: number[]
  all6: number[]
}

/**
 * What the pushes would weigh with the objects chosen otherwise: `git bundle create NEW ^OLD` (the
 * replicator's increment) leaves out only the objects of the edge commit's tree, so a file that goes back
 * to the content of an older snapshot (here: each update reverts the files the previous one changed and
 * this one does not) is sent again. `pack-objects --thin --shallow` (--objects-edge-aggressive) leaves out
 * the objects of every excluded commit. Also at zlib level 6: the journal's packs are written at level 1
 * and a bundle reuses their bytes.
 */
async function whatIf(journal: string, n: number, log: (msg: string) => void): Promise<WhatIf | null> {
  const commits = git(journal, ['rev-list', '--reverse', 'refs/heads/main']).split('\n').filter(Boolean)
  if (commits.length !== n + 1) return null
  const level = (l: number) => ['-c', `pack.compression=${l}`]
  const fresh = ['--no-reuse-object']
  log('replica bench: what-if: the initial state recompressed at zlib level 6 (git pack-objects --no-reuse-object)')
  const initial6 = await packSize(journal, [commits[0] as string], fresh, level(6))
  log(`replica bench: what-if: ${n} increments, three ways (git pack-objects)`)
  const out: WhatIf = { initial6, edge1: [], all1: [], all6: [] }
  for (let k = 1; k <= n; k++) {
    const all = [commits[k] as string, ...commits.slice(0, k).map((c) => `^${c}`)]
    out.edge1.push(await packSize(journal, [commits[k] as string, `^${commits[k - 1]}`], ['--thin', ...fresh], level(1)))
    out.all1.push(await packSize(journal, all, ['--thin', '--shallow', ...fresh], level(1)))
    out.all6.push(await packSize(journal, all, ['--thin', '--shallow', ...fresh], level(6)))
  }
  return out
}


/**
 * The settings rows peakguard records (the options table less the default ignore list), dumped the way
 * `mysqldump --tab` writes a table: one line per row, tab-separated, \ \t \n escaped. restic backs it up
 * beside the tree, so both tools hold the same history.
 */
async function dumpSettings(input: ReplicaBenchInput, file: string): Promise<{ rows: number; bytes: number }> {
  const { db } = input
  const ignored = DEFAULT_IGNORED_OPTIONS.map((g) => globToRegExp(g))
  const c = await mysql.createConnection({ host: db.host, port: db.port, user: db.user, password: db.password, database: db.name })
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      `SELECT option_name AS n, CAST(option_value AS BINARY) AS v, autoload AS a FROM \`${db.prefix}options\` ORDER BY option_id`,
    )
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n')
    const kept = rows.filter((r) => !ignored.some((re) => re.test(String(r.n))))
    const text = kept.map((r) => `${esc(String(r.n))}\t${esc((r.v as Buffer).toString('latin1'))}\t${String(r.a)}\n`).join('')
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, Buffer.from(text, 'latin1'))
    return { rows: kept.length, bytes: Buffer.byteLength(text, 'latin1') }
  } finally {
    await c.end()
  }
}

// ── the run ──────────────────────────────────────────────────────────────────────────────────────

interface Update {
  k: number
  /** Date.now() when the swap started */
  changeAt: number
  /** the timed swap: old plugin directory removed, new one renamed in (ms) */
  changeMs: number
  /** change start → arrival of the snapshot line, and → arrival of the replicated line (ms) */
  toSnapshot: number
  toReplicated: number
  /** arrival of the snapshot line → arrival of the replicated line (ms): the measure of the target */
  snapToRepl: number
  /** the daemon's own numbers: snapshot duration, push duration, lag (from when it saw the change) */
  snapshotMs: number
  pushMs: number
  lagMs: number
  /** sealed bytes written and PUTs made by the push(es) of this update, as the daemon logged them */
  bytes: number
  puts: number
  /** keys of the objects written (relative to the site's folder) */
  bundleKey: string | null
  manifestKey: string
  full: boolean
  /** snapshots and pushes seen from this change until the next one (exactly 1 each is expected) */
  snapshots: number
  pushes: number
  resticS: number
  resticBytes: number
  resticFiles: number
}

export async function benchReplica(input: ReplicaBenchInput): Promise<string[]> {
  const tStart = performance.now()
  const { T, wpContent: W, log } = input
  const N = input.updates ?? (input.quick ? 5 : 100)
  const notes: string[] = []

  const pluginRel = path.join('plugins', input.plugin)
  const pluginDir = path.join(W, pluginRel)
  if (!fs.existsSync(pluginDir)) throw new Error(`plugin ${input.plugin} is not in the tree`)

  // the S3 server, the counting proxy in front of it, the key
  const s3 = await S3Server.start({ dir: path.join(T, 'replica-s3rver') })
  const proxy = await FaultProxy.start({ host: '127.0.0.1', port: s3.port })
  let d: Proc | null = null
  try {
    const keyFile = path.join(T, 'replica.key')
    fs.writeFileSync(keyFile, randomBytes(32), { mode: 0o600 })
    fs.chmodSync(keyFile, 0o600)

    const dataDir = path.join(T, 'data-replica')
    const siteDir = path.join(dataDir, SITE)
    const journal = path.join(siteDir, 'journal')
    const configFile = path.join(T, 'peakguard-replica.yaml')
    const port = await freePort()
    const { db } = input
    fs.writeFileSync(
      configFile,
      daemonConfig(input, dataDir, port) +
        `    s3:\n      bucket: ${s3.bucket}\n      prefix: ${S3_PREFIX}\n      region: us-east-1\n      endpoint: ${proxy.endpoint}\n` +
        `      forcePathStyle: true\n      keyFile: ${keyFile}\n      timeout: 30s\n`,
    )

    // restic: a local repository, the same tree and a dump of the same settings
    const resticRepo = path.join(T, 'restic-replica')
    const resticEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: T,
      RESTIC_PASSWORD: 'peakguard-bench',
      RESTIC_REPOSITORY: resticRepo,
      RESTIC_CACHE_DIR: path.join(T, 'restic-replica-cache'),
    }
    const settingsDir = path.join(T, 'replica-settings')
    const dump = await dumpSettings(input, path.join(settingsDir, `${db.prefix}options.txt`))
    await run('restic', ['init', '--quiet'], resticEnv)
    const resticConfig = JSON.parse((await run('restic', ['cat', 'config'], resticEnv)).stdout) as { version: number }
    const resticBackup = async () => {
      const r = await run('restic', ['backup', '--json', '--quiet', W, settingsDir], resticEnv)
      const summary = r.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l))
        .find((m) => m.message_type === 'summary')
      if (!summary?.snapshot_id) throw new Error(`restic backup printed no snapshot id:\n${r.stdout}`)
      return { s: r.s, ...sizeOf(resticRepo) }
    }

    // the initial state: the daemon records the whole tree at start-up and pushes it as a full bundle
    log(`replica bench: daemon on an empty journal, replicating to s3rver through the counting proxy (${proxy.endpoint})`)
    const t0 = performance.now()
    d = startProc([input.distMain, '--config', configFile, 'daemon'], { env: { ...process.env, ...CREDS } })
    const daemon = d
    await daemon.waitFor((l) => l.j.msg === 'peakguard daemon running', 0, 900_000)
    const initSnap = await daemon.waitFor((l) => l.j.msg === 'snapshot', 0, 900_000)
    const initRepl = await waitReplicated(daemon, journal, siteDir, daemon.lines.indexOf(initSnap), 1_800_000)
    const initial = {
      wallS: (performance.now() - t0) / 1000,
      snapshotMs: Number(initSnap.j.ms),
      pushMs: Number(initRepl.j.ms),
      snapToRepl: initRepl.at - initSnap.at,
      bytes: Number(initRepl.j.bytes),
      puts: Number(initRepl.j.puts),
      bundleKey: initRepl.j.bundle as string | null,
      manifestKey: String(initRepl.j.manifest),
    }
    if (!initRepl.j.full) notes.push('the first push was not a full bundle')
    log(`replica bench: initial snapshot ${initial.snapshotMs} ms, push ${initial.pushMs} ms, ${mb(initial.bytes)} in ${initial.puts} PUT(s)`)
    const resticInit = await resticBackup()
    log(`replica bench: restic initial backup ${resticInit.s.toFixed(1)} s, repository ${mb(resticInit.bytes)} in ${resticInit.files} files`)

    // the updates
    const updates: Update[] = []
    const stageRoot = path.join(T, 'replica-stage')
    for (let k = 1; k <= N; k++) {
      const seed = SEED_BASE + k
      const stage = path.join(stageRoot, String(k))
      // the generator renames its unpacked copy into <out>/plugins/, which must exist; outside wp-content,
      // so unpacking stirs nothing the daemon watches
      fs.mkdirSync(path.join(stage, 'plugins'), { recursive: true })
      await run(process.execPath, [input.gen, '--out', stage, '--quiet', '--scale', String(input.scale), '--update', input.plugin, '--update-seed', String(seed)])
      const from = daemon.lines.length
      const tChange = Date.now()
      fs.rmSync(pluginDir, { recursive: true, force: true })
      fs.renameSync(path.join(stage, pluginRel), pluginDir)
      const changeMs = Date.now() - tChange
      fs.rmSync(stage, { recursive: true, force: true })
      const snap = await daemon.waitFor((l) => l.j.msg === 'snapshot', from, 120_000)
      const repl = await waitReplicated(daemon, journal, siteDir, daemon.lines.indexOf(snap), 900_000)
      assertRecorded(journal, W, pluginRel, `update ${k}`)
      const rs = await resticBackup()
      const prevRestic = updates.at(-1)?.resticBytes ?? resticInit.bytes
      const u: Update = {
        k,
        changeAt: tChange,
        changeMs,
        toSnapshot: snap.at - tChange,
        toReplicated: repl.at - tChange,
        snapToRepl: repl.at - snap.at,
        snapshotMs: Number(snap.j.ms),
        pushMs: Number(repl.j.ms),
        lagMs: Number(repl.j.lagMs),
        bytes: Number(repl.j.bytes),
        puts: Number(repl.j.puts),
        bundleKey: (repl.j.bundle as string | null) ?? null,
        manifestKey: String(repl.j.manifest),
        full: repl.j.full === true,
        snapshots: 0,
        pushes: 0,
        resticS: rs.s,
        resticBytes: rs.bytes,
        resticFiles: rs.files,
      }
      updates.push(u)
      log(
        `replica bench: update ${k}/${N}: snapshot → replicated ${sec(u.snapToRepl)} (push ${u.pushMs} ms, ${kb(u.bytes)}${u.full ? ', FULL bundle' : ''}), ` +
          `change → replicated ${sec(u.toReplicated)}; restic backup ${rs.s.toFixed(1)} s, +${kb(rs.bytes - prevRestic)}`,
      )
    }
    // a late second snapshot of the last update would show within one quiet period and a second
    await sleep(3000)
    countPerUpdate(daemon.lines, updates)

    // which update a log line came with (0: the initial state)
    const during = (l: Line) => updates.findLast((u) => u.changeAt <= l.at)?.k ?? 0
    const gcs = daemon.lines.filter((l) => l.j.msg === 'journal packed (git gc)')
    if (gcs.length) notes.push(`the daemon packed its journal ${gcs.length} time(s) meanwhile: ${gcs.map((l) => `git gc ${l.j.ms} ms (${l.j.packsBefore} packs before) after update ${during(l)}`).join('; ')}`)
    const problems = daemon.lines.filter((l) => l.j.level === 'warn' || l.j.level === 'error').filter((l) => !/probe|health/i.test(l.j.msg))
    for (const l of problems.slice(0, 8)) notes.push(`daemon ${l.j.level} after update ${during(l)}: ${l.j.msg.replace(/\s*\n\s*/g, ' | ')}`)
    if (problems.length > 8) notes.push(`… and ${problems.length - 8} more warn/error lines`)
    const code = await daemon.stop()
    if (code !== 0) notes.push(`the daemon exited with ${code} on SIGTERM`)

    // what is stored, and what went over the wire
    const objects = await s3.listKeys(`${S3_PREFIX}/${SITE}/`)
    const journalSize = sizeOf(journal)
    const what = await whatIf(journal, N, log)
    if (!what) notes.push('the journal does not hold exactly one commit per update: the what-if increments were not measured')
    const resticStats = JSON.parse((await run('restic', ['stats', '--json', '--mode', 'raw-data'], resticEnv)).stdout)
    const restic = sizeOf(resticRepo)
    return report({
      input, N, initial, updates, objects, requests: proxy.requests, resticInit, restic, resticStats, resticConfig, dump, journalSize,
      whatIf: what, notes, wallS: (performance.now() - tStart) / 1000,
    })
  } finally {
    await d?.stop()
    await proxy.close()
    await s3.destroy()
  }
}

const isReplicated = (l: Line) => typeof l.j.msg === 'string' && l.j.msg.startsWith('replicated') && l.j.seq !== undefined

/**
 * The `replicated` line, from line `from` on, after which the replica's head is the journal's: a push of
 * an earlier state (or of half of a split update) is followed by another.
 */
async function waitReplicated(d: Proc, journal: string, siteDir: string, from: number, timeoutMs: number): Promise<Line> {
  const deadline = Date.now() + timeoutMs
  let at = from
  for (;;) {
    const l = await d.waitFor(isReplicated, at, Math.max(1, deadline - Date.now()))
    const head = git(journal, ['rev-parse', 'refs/heads/main']).trim()
    const st = JSON.parse(fs.readFileSync(path.join(siteDir, 'replica.json'), 'utf8')) as { pushed: { head: string | null } | null }
    if (st.pushed?.head === head) return l
    at = d.lines.indexOf(l) + 1
  }
}

/**
 * Snapshots and pushes logged from each update's change to the next one's (arrival stamps and changeAt
 * come from the same clock), and the bytes and PUTs of those pushes: a split update shows as two.
 */
function countPerUpdate(lines: Line[], updates: Update[]): void {
  updates.forEach((u, i) => {
    const end = updates[i + 1]?.changeAt ?? Infinity
    const inWindow = lines.filter((l) => l.at >= u.changeAt && l.at < end)
    const pushes = inWindow.filter(isReplicated)
    u.snapshots = inWindow.filter((l) => l.j.msg === 'snapshot').length
    u.pushes = pushes.length
    u.bytes = sum(pushes.map((l) => Number(l.j.bytes)))
    u.puts = sum(pushes.map((l) => Number(l.j.puts)))
    u.full = pushes.some((l) => l.j.full === true)
  })
}

// ── the report ───────────────────────────────────────────────────────────────────────────────────

interface Results {
  input: ReplicaBenchInput
  N: number
  initial: { wallS: number; snapshotMs: number; pushMs: number; snapToRepl: number; bytes: number; puts: number; bundleKey: string | null; manifestKey: string }
  updates: Update[]
  objects: StoredObject[]
  requests: ProxiedRequest[]
  resticInit: { bytes: number; files: number; s: number }
  restic: ReturnType<typeof sizeOf>
  resticStats: { total_size?: number; total_uncompressed_size?: number; compression_ratio?: number; total_blob_count?: number; snapshots_count?: number }
  resticConfig: { version: number }
  dump: { rows: number; bytes: number }
  journalSize: ReturnType<typeof sizeOf>
  whatIf: WhatIf | null
  notes: string[]
  wallS: number
}

/** What kind of S3 request the proxy saw (path-style: "bucket/key", "bucket" for bucket-level requests). */
function requestKind(r: ProxiedRequest): string {
  const q = new URLSearchParams(r.query)
  // "bucket/key" is an object; "bucket" or "bucket/" the bucket itself
  const objectLevel = r.key.slice(r.key.indexOf('/') + 1) !== '' && r.key.includes('/')
  switch (r.method) {
    case 'PUT':
      return q.has('partNumber') ? 'UploadPart' : 'PutObject'
    case 'POST':
      return q.has('uploads') ? 'CreateMultipartUpload' : q.has('uploadId') ? 'CompleteMultipartUpload' : q.has('delete') ? 'DeleteObjects' : 'POST'
    case 'GET':
      return objectLevel ? 'GetObject' : 'ListObjects'
    case 'HEAD':
      return objectLevel ? 'HeadObject' : 'HeadBucket'
    case 'DELETE':
      return q.has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject'
    default:
      return r.method
  }
}

function report(r: Results): string[] {
  const { N, initial, updates: U, input } = r
  const out: string[] = []
  const site = `${S3_PREFIX}/${SITE}/`
  const objects = r.objects.map((o) => ({ ...o, rel: o.key.slice(site.length) }))
  const s3Bytes = sum(objects.map((o) => o.size))
  const sizeOfKey = new Map(objects.map((o) => [o.rel, o.size]))
  const fulls = objects.filter((o) => o.rel.endsWith('.full.bundle'))
  const incrs = objects.filter((o) => o.rel.endsWith('.incr.bundle'))
  const manifests = objects.filter((o) => o.rel.startsWith('manifests/'))
  const others = objects.length - fulls.length - incrs.length - manifests.length
  const logged = initial.bytes + sum(U.map((u) => u.bytes))

  // requests on the wire
  const kinds = new Map<string, { ok: number; failed: number }>()
  for (const q of r.requests) {
    const k = requestKind(q)
    const e = kinds.get(k) ?? { ok: 0, failed: 0 }
    if (q.status !== null && q.status >= 200 && q.status < 300) e.ok++
    else e.failed++
    kinds.set(k, e)
  }
  const puts = r.requests.filter((q) => q.method === 'PUT' && q.status === 200).length
  const posts = r.requests.filter((q) => q.method === 'POST' && q.status === 200).length
  const deletes = r.requests.filter((q) => q.method === 'DELETE').length
  const failedReqs = r.requests.filter((q) => q.status === null || q.status >= 300)
  const loggedPuts = initial.puts + sum(U.map((u) => u.puts))

  // restic
  const resticBytes = r.restic.bytes
  const resticGrowth = U.map((u, i) => u.resticBytes - (i ? (U[i - 1] as Update).resticBytes : r.resticInit.bytes))
  const ratio = s3Bytes / resticBytes
  const lat = U.map((u) => u.snapToRepl)
  const p50 = pct(lat, 0.5)
  const p95 = pct(lat, 0.95)
  const dist = (xs: number[], f: (x: number) => string) => (xs.length ? `${f(pct(xs, 0.5))} / ${f(pct(xs, 0.95))} / ${f(Math.max(...xs))}` : '-')
  const initialObjects = [initial.bundleKey, initial.manifestKey].filter((k): k is string => !!k)
  const initialS3 = sum(initialObjects.map((k) => sizeOfKey.get(k) ?? 0))
  const updBundles = U.map((u) => (u.bundleKey ? (sizeOfKey.get(u.bundleKey) ?? 0) : 0))
  const updManifests = U.map((u) => sizeOfKey.get(u.manifestKey) ?? 0)
  const pgGrowth = U.map((u) => u.bytes)
  const plugin = `${input.plugin}`

  out.push('## peakguard replication (S3)', '')
  out.push(
    `Replica: the daemon (\`node dist/bin/peakguard.js daemon\`, ${process.version}, default watch settings, log level info) pushing to s3rver on 127.0.0.1 through a TCP proxy that records every request; ` +
      `objects sealed with AES-256-GCM (key file, 32 random bytes, mode 0600); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. ` +
      `History: the initial state (the daemon's start-up snapshot of the whole tree and the settings, pushed as a full bundle), then ${N} successive updates of ${plugin} ` +
      `(\`--update ${plugin} --update-seed ${SEED_BASE + 1}…${SEED_BASE + N}\`: each rewrites the plugin's directory, ${Math.max(1, Math.round(300 * input.scale))} files changed, ${Math.max(1, Math.round(10 * input.scale))} removed and as many added (half of them renames), unpacked outside wp-content and swapped in by remove + rename), ` +
      'each waited for until replicated and checked (the newest snapshot holds exactly the live plugin; the replica\'s head is the journal\'s). ' +
      `restic (repository version ${r.resticConfig.version}, defaults, local repository) backs up the same tree and a dump of the same settings rows (${r.dump.rows} rows, ${mb(r.dump.bytes)}: the options table less the default ignore list) after the initial state and after each update. ` +
      `${input.quick ? 'QUICK mode' : 'Full mode'}: ${N} updates. p95 is nearest-rank. This part took ${(r.wallS / 60).toFixed(1)} min.`,
    '',
  )
  out.push('| measure | peakguard | restic | peakguard ÷ restic | target | result |')
  out.push('| --- | ---: | ---: | ---: | --- | --- |')
  out.push(
    `| bytes stored after the initial state + ${N} updates (S3: sum of object sizes under \`${site}\`; restic: sum of file sizes in its repository) | ${mb(s3Bytes)} (${objects.length} objects) | ${mb(resticBytes)} (${r.restic.files} files) | ${ratio.toFixed(2)}× | ≤ ${BYTES_RATIO_TARGET.toFixed(1)}× restic | ${verdict(ratio <= BYTES_RATIO_TARGET, `${ratio.toFixed(2)}×`)} |`,
  )
  out.push(
    `| snapshot → replicated (arrival of the daemon's \`snapshot\` line → its \`replicated\` line), p50 / p95 over ${N} updates | ${sec(p50)} / ${sec(p95)} | | | p95 ≤ ${sec(SNAPSHOT_TO_REPLICATED_TARGET_MS)} (loopback) | ${verdict(p95 <= SNAPSHOT_TO_REPLICATED_TARGET_MS, sec(p95))} |`,
  )
  out.push(
    `| PUT requests (HTTP PUT answered 200, seen by the proxy) vs files restic wrote | ${puts} | ${r.restic.files} | ${(puts / r.restic.files).toFixed(2)}× | information | |`,
  )
  out.push(`| DELETE requests (the replicator only ever creates objects) | ${deletes} | | | 0 | ${verdict(deletes === 0, String(deletes))} |`)
  out.push('')

  out.push('Where the bytes are (S3 object sizes include the 40-byte seal of each object; restic: its repository files):', '')
  out.push('| | peakguard on S3 | restic | peakguard ÷ restic |')
  out.push('| --- | ---: | ---: | ---: |')
  out.push(`| initial state | ${mb(initialS3)} (full bundle ${mb(sizeOfKey.get(initial.bundleKey ?? '') ?? 0)} + manifest ${kb(sizeOfKey.get(initial.manifestKey) ?? 0)}) | ${mb(r.resticInit.bytes)} (${r.resticInit.files} files) | ${(initialS3 / r.resticInit.bytes).toFixed(2)}× |`)
  out.push(`| ${N} updates, added in all | ${mb(sum(pgGrowth))} (bundles ${mb(sum(updBundles))}, manifests ${mb(sum(updManifests))}) | ${mb(sum(resticGrowth))} | ${(sum(pgGrowth) / sum(resticGrowth)).toFixed(2)}× |`)
  out.push(`| per update, p50 / p95 / max | ${dist(pgGrowth, kb)} | ${dist(resticGrowth, kb)} | ${(pct(pgGrowth, 0.5) / pct(resticGrowth, 0.5)).toFixed(2)}× (p50) |`)
  out.push(`| incremental bundle per update, p50 / p95 / max | ${dist(updBundles.filter((_, i) => !(U[i] as Update).full), kb)} | | |`)
  out.push(`| manifest per update, first / last | ${updManifests.length ? `${kb(updManifests[0] as number)} / ${kb(updManifests.at(-1) as number)}` : '-'} | | |`)
  const w = r.whatIf
  if (w) {
    const seal = (xs: number[]) => xs.map((x) => x + SEAL_OVERHEAD)
    const line = (label: string, xs: number[]) =>
      out.push(`| what-if: ${label}, all / p50 | ${mb(sum(seal(xs)))} / ${kb(pct(seal(xs), 0.5))} | ${mb(sum(resticGrowth))} / ${kb(pct(resticGrowth, 0.5))} | ${(sum(seal(xs)) / sum(resticGrowth)).toFixed(2)}× |`)
    line('increments as the replicator picks them (`NEW ^PREVIOUS`), recompressed at zlib level 1 — a check against the row above', w.edge1)
    line('increments leaving out every object of every earlier snapshot (pack-objects --thin --shallow), zlib level 1', w.all1)
    line('the same at zlib level 6', w.all6)
    out.push(`| what-if: the initial state recompressed at zlib level 6 | ${mb(w.initial6 + SEAL_OVERHEAD)} | ${mb(r.resticInit.bytes)} | ${((w.initial6 + SEAL_OVERHEAD) / r.resticInit.bytes).toFixed(2)}× |`)
  }
  out.push(`| whole history | ${mb(s3Bytes)} | ${mb(resticBytes)} | ${ratio.toFixed(2)}× |`)
  if (w) {
    // the same history without a compaction (none would have come within these updates if the increments
    // were the smaller ones: they are checked against the initial full bundle as shouldCompact does)
    const manifestsAll = sum(manifests.map((o) => o.size))
    const hist = (init: number, xs: number[]) => init + SEAL_OVERHEAD + sum(xs.map((x) => x + SEAL_OVERHEAD)) + manifestsAll
    const compacts = (init: number, xs: number[]) => sum(xs) >= init
    const h1 = hist(sizeOfKey.get(initial.bundleKey ?? '') ?? 0, w.all1)
    const h6 = hist(w.initial6, w.all6)
    out.push(
      `| what-if: whole history with those increments (level 1${compacts(sizeOfKey.get(initial.bundleKey ?? '') ?? 0, w.all1) ? ', a compaction would still come' : ', no compaction due'}) | ${mb(h1)} | ${mb(resticBytes)} | ${(h1 / resticBytes).toFixed(2)}× |`,
    )
    out.push(
      `| what-if: … and everything at zlib level 6${compacts(w.initial6, w.all6) ? ' (a compaction would still come)' : ' (no compaction due)'} | ${mb(h6)} | ${mb(resticBytes)} | ${(h6 / resticBytes).toFixed(2)}× |`,
    )
  }
  out.push('')
  out.push(
    `- S3 objects: ${fulls.length} full bundle(s) ${mb(sum(fulls.map((o) => o.size)))}, ${incrs.length} incremental bundles ${mb(sum(incrs.map((o) => o.size)))}, ` +
      `${manifests.length} manifests ${mb(sum(manifests.map((o) => o.size)))}${others ? `, ${others} other object(s)` : ''}; ` +
      `sealing overhead ${objects.length} × ${SEAL_OVERHEAD} B = ${kb(objects.length * SEAL_OVERHEAD)}. ` +
      `Bytes the daemon logged as written: ${mb(logged)}${logged === s3Bytes ? ' (= the stored total)' : ` (stored total ${mb(s3Bytes)}: they differ)`}.`,
  )
  const fullPushes = U.filter((u) => u.full)
  if (fullPushes.length)
    out.push(`- Compaction: update(s) ${fullPushes.map((u) => u.k).join(', ')} pushed a fresh FULL bundle (the increments had grown as large as the full bundle, or the chain as long as s3.compactAfter); the older chain stays stored until \`peakguard prune\`.`)
  const parts = [...r.restic.parts.entries()].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, v]) => `${k}/ ${mb(v.bytes)} (${v.files})`)
  out.push(
    `- restic repository: ${parts.join(', ')}; \`restic stats --mode raw-data\`: ${mb(r.resticStats.total_size ?? 0)} of blobs` +
      (r.resticStats.total_uncompressed_size ? ` from ${mb(r.resticStats.total_uncompressed_size)} uncompressed (${(r.resticStats.compression_ratio ?? 0).toFixed(2)}×)` : '') +
      `, ${r.resticStats.total_blob_count ?? '?'} blobs, ${r.resticStats.snapshots_count ?? '?'} snapshots.`,
  )
  out.push(`- peakguard's local journal after the run: ${mb(r.journalSize.bytes)} in ${r.journalSize.files} files (for comparison; not replicated as such).`)
  out.push('')

  out.push('Requests on the wire (the proxy\'s record; S3 bills PUT, POST and LIST alike):', '')
  out.push('| request | answered 2xx | failed / other |')
  out.push('| --- | ---: | ---: |')
  for (const [k, v] of [...kinds.entries()].sort()) out.push(`| ${k} | ${v.ok} | ${v.failed} |`)
  out.push(`| all | ${r.requests.length - failedReqs.length} | ${failedReqs.length} |`)
  out.push('')
  out.push(`PUT-class requests (PUT + POST, 2xx): ${puts + posts} for ${objects.length} objects; the daemon logged ${loggedPuts} PUTs (one per object written).`)
  const reads = r.requests.filter((q) => !['PUT', 'POST'].includes(q.method))
  if (reads.length) out.push(`Other requests: ${reads.slice(0, 5).map((q) => `${q.method} /${q.key}${q.query ? `?${q.query}` : ''} → ${q.status}`).join('; ')}${reads.length > 5 ? ` … (${reads.length})` : ''}.`)
  out.push('')

  out.push('Timing (ms unless noted; p50 / p95 / max):', '')
  out.push('| measure | p50 | p95 | max | runs |')
  out.push('| --- | ---: | ---: | ---: | ---: |')
  const row = (label: string, xs: number[], f: (x: number) => string = (x) => String(Math.round(x))) =>
    out.push(`| ${label} | ${f(pct(xs, 0.5))} | ${f(pct(xs, 0.95))} | ${f(Math.max(...xs))} | ${xs.length} |`)
  row('snapshot → replicated, at the bench (the target\'s measure)', lat)
  row('push, the daemon\'s own `ms` (bundle + 2 PUTs)', U.map((u) => u.pushMs))
  row('lag, the daemon\'s `lagMs` (change noticed → manifest stored)', U.map((u) => u.lagMs))
  row('change → snapshot line (includes the 2 s quiet period)', U.map((u) => u.toSnapshot))
  row('change → replicated line', U.map((u) => u.toReplicated))
  row('snapshot, the daemon\'s own `ms`', U.map((u) => u.snapshotMs))
  row('the swap itself (remove + rename)', U.map((u) => u.changeMs))
  row('restic backup (s)', U.map((u) => u.resticS * 1000), (x) => (x / 1000).toFixed(2))
  out.push('')
  out.push(
    `Initial state: start-up snapshot ${initial.snapshotMs} ms, its push (full bundle) ${initial.pushMs} ms, snapshot → replicated ${sec(initial.snapToRepl)}, ` +
      `daemon start → replicated ${initial.wallS.toFixed(1)} s; restic's initial backup ${r.resticInit.s.toFixed(1)} s.`,
  )
  const slow = [...U].sort((a, b) => b.snapToRepl - a.snapToRepl).slice(0, 5)
  out.push(`Slowest snapshot → replicated: ${slow.map((u) => `#${u.k} ${sec(u.snapToRepl)} (push ${u.pushMs} ms, ${kb(u.bytes)}${u.full ? ', full' : ''})`).join('; ')}.`)
  const odd = U.filter((u) => u.snapshots !== 1 || u.pushes !== 1)
  out.push(
    odd.length
      ? `Updates not recorded as exactly one snapshot and one push: ${odd.map((u) => `#${u.k}: ${u.snapshots} snapshot(s), ${u.pushes} push(es)`).join('; ')}.`
      : 'Every update was exactly one snapshot and one push.',
  )
  if (failedReqs.length) r.notes.push(`${failedReqs.length} request(s) not answered 2xx: ${failedReqs.slice(0, 5).map((q) => `${q.method} ${q.key}?${q.query} → ${q.status}`).join('; ')}`)
  for (const n of r.notes) out.push(`- ${n}`)
  return out
}
