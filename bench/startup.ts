// bench/startup.ts — what a person at the shell waits for before peakguard answers, on the tree and the options
// table bench/run.ts builds (it calls benchStartup() after the tool comparison, or alone with --startup-only):
//   1. `peakguard --help` (`node dist/bin/peakguard.js --help`, the node of node_modules/.bin) against that node doing
//      nothing (`node -e 0`): what loading peakguard itself costs; goal ≤ HELP_GOAL_S
//   2. `peakguard status` on the bench's site against `git status` in a git repository of the same tree
//      (both clean: status right after a snapshot, git right after a commit); goal ≤ STATUS_GOAL_RATIO ×
// Each command is a child process timed from spawn to exit; the two sides of a pair take turns, after warm-up
// runs (page cache and, where Node has it, the compile cache warm); medians. The environment is the bench's
// without NODE_COMPILE_CACHE, as a user's shell has it. peakguard gets its own data dir and a UI port nobody
// listens on, so status says "daemon not running" at once, as on a host where the daemon is stopped.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { freePort } from '../test/harness/mariadb.ts'
import { daemonConfig, type BenchInput } from './common.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const HELP_GOAL_S = 0.12
const STATUS_GOAL_RATIO = 2

export interface StartupResult {
  runs: { help: number; status: number }
  node: string
  /** medians, seconds */
  help: number
  nodeAlone: number
  status: number
  gitStatus: number
  /** every run, seconds, in order */
  all: { help: number[]; nodeAlone: number[]; status: number[]; gitStatus: number[] }
}

interface Timed {
  s: number
  code: number
  stdout: string
  stderr: string
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Timed {
  const t0 = process.hrtime.bigint()
  const r = spawnSync(cmd, args, { env, cwd, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message}`)
  return { s, code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr }
}

function must(r: Timed, what: string): Timed {
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${(r.stderr.trim() || r.stdout.trim()).slice(-2000)}`)
  return r
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** `n` rounds of a then b (the order flips every round), after `warm` untimed runs of each. */
function pairs(n: number, warm: number, a: () => number, b: () => number): { a: number[]; b: number[] } {
  for (let i = 0; i < warm; i++) {
    a()
    b()
  }
  const out = { a: [] as number[], b: [] as number[] }
  for (let i = 0; i < n; i++) {
    if (i % 2) {
      out.b.push(b())
      out.a.push(a())
    } else {
      out.a.push(a())
      out.b.push(b())
    }
  }
  return out
}

export async function benchStartup(input: BenchInput): Promise<StartupResult> {
  const { log } = input
  const bin = path.join(REPO, 'node_modules/.bin/node')
  const node = fs.existsSync(bin) ? bin : process.execPath
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.NODE_COMPILE_CACHE
  const runs = input.quick ? { help: 5, status: 3 } : { help: 15, status: 9 }

  // 1. --help against node alone
  log(`start-up: ${path.relative(REPO, node)} dist/bin/peakguard.js --help against node -e 0, ${runs.help} runs each`)
  const help = pairs(
    runs.help,
    3,
    () => {
      const r = must(timed(node, [input.distMain, '--help'], env, REPO), 'peakguard --help')
      if (!/Usage: peakguard/.test(r.stdout)) throw new Error(`peakguard --help printed no usage:\n${r.stdout.slice(0, 500)}`)
      return r.s
    },
    () => must(timed(node, ['-e', '0'], env, REPO), 'node -e 0').s,
  )

  // 2. status against git status, both on a clean tree
  const dir = path.join(input.T, 'startup')
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  const config = path.join(dir, 'peakguard.yaml')
  fs.writeFileSync(config, daemonConfig(input, path.join(dir, 'data'), await freePort()))
  const pg = (args: string[]) => timed(node, [input.distMain, '--config', config, ...args], env, REPO)
  log('start-up: untimed first snapshot and git commit of the tree, for status and git status to compare against')
  must(pg(['snapshot']), 'peakguard snapshot')
  const gitEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C',
    LC_ALL: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_DIR: path.join(dir, 'git'),
    GIT_WORK_TREE: input.wpContent,
  }
  const git = (args: string[]) => timed('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', ...args], gitEnv, input.wpContent)
  must(git(['init', '-q']), 'git init')
  must(git(['config', 'gc.auto', '0']), 'git config')
  must(git(['add', '-A']), 'git add -A')
  must(git(['commit', '-q', '-m', 'start-up bench']), 'git commit')
  // past peakguard's 2 s racy-stat window, so that status trusts the stat data it just recorded, as it
  // does on any site whose last change is older than that
  await sleep(2100)
  const clean = JSON.parse(must(pg(['--json', 'status']), 'peakguard status --json').stdout)
  if (clean.pendingChanges?.files !== 0)
    throw new Error(`peakguard status right after a snapshot sees changes: ${JSON.stringify(clean.pendingChanges ?? clean.liveError ?? clean)}`)
  log(`start-up: peakguard status against git status, ${runs.status} runs each`)
  const status = pairs(
    runs.status,
    2,
    () => must(pg(['status']), 'peakguard status').s,
    () => {
      const r = must(git(['status']), 'git status')
      if (!/nothing to commit, working tree clean/.test(r.stdout)) throw new Error(`git status is not clean:\n${r.stdout.slice(0, 500)}`)
      return r.s
    },
  )
  fs.rmSync(path.join(dir, 'git'), { recursive: true, force: true })

  const res: StartupResult = {
    runs,
    node: path.relative(REPO, node),
    help: median(help.a),
    nodeAlone: median(help.b),
    status: median(status.a),
    gitStatus: median(status.b),
    all: { help: help.a, nodeAlone: help.b, status: status.a, gitStatus: status.b },
  }
  log(`start-up: --help ${res.help.toFixed(3)} s (node -e 0 ${res.nodeAlone.toFixed(3)} s); status ${res.status.toFixed(3)} s (git status ${res.gitStatus.toFixed(3)} s)`)
  return res
}

const f3 = (x: number) => x.toFixed(3)
const ratio = (x: number) => `${x.toFixed(2)}×`

export function startupVerdicts(r: StartupResult): { help: { ok: boolean; text: string }; status: { ok: boolean; ratio: number; text: string } } {
  const sr = r.status / r.gitStatus
  return {
    help: { ok: r.help <= HELP_GOAL_S, text: `${r.help <= HELP_GOAL_S ? 'PASS' : 'MISS'} (${f3(r.help)} s)` },
    status: { ok: sr <= STATUS_GOAL_RATIO, ratio: sr, text: `${sr <= STATUS_GOAL_RATIO ? 'PASS' : 'MISS'} (${ratio(sr)})` },
  }
}

/** Two rows in the columns of run.ts's main table (CLI, in-process, git, restic, ratios, target, results). */
export function startupTableRows(r: StartupResult): string[] {
  const v = startupVerdicts(r)
  return [
    `| start-up: \`peakguard --help\` | ${f3(r.help)} | – | – | – | ${ratio(r.help / r.nodeAlone)} \`node -e 0\` (${f3(r.nodeAlone)} s) | – | ≤ ${HELP_GOAL_S} s | CLI: ${v.help.text} | – |`,
    `| start-up: \`peakguard status\` | ${f3(r.status)} | – | ${f3(r.gitStatus)} | – | ${ratio(v.status.ratio)} git status | – | ≤ ${STATUS_GOAL_RATIO}× git status | CLI: ${v.status.text} | – |`,
  ]
}

/** The start-up section on its own (--startup-only), with every run. */
export function startupReport(r: StartupResult, tree: string): string[] {
  const v = startupVerdicts(r)
  return [
    '## Start-up',
    '',
    `${tree}. Child processes timed from spawn to exit, the two of a pair taking turns after warm-up runs; medians of ` +
      `${r.runs.help} (--help) and ${r.runs.status} (status) runs; \`node\` is ${r.node}; no NODE_COMPILE_CACHE in the environment.`,
    '',
    '| command | median s | against | median s | ratio | goal | result |',
    '| --- | ---: | --- | ---: | ---: | --- | --- |',
    `| \`peakguard --help\` (\`node dist/bin/peakguard.js --help\`) | ${f3(r.help)} | \`node -e 0\` | ${f3(r.nodeAlone)} | ${ratio(r.help / r.nodeAlone)} | ≤ ${HELP_GOAL_S} s | ${v.help.text} |`,
    `| \`peakguard status\` (clean tree, daemon not running) | ${f3(r.status)} | \`git status\` (clean) | ${f3(r.gitStatus)} | ${ratio(v.status.ratio)} | ≤ ${STATUS_GOAL_RATIO}× git status | ${v.status.text} |`,
    '',
    `Runs (s): --help ${r.all.help.map(f3).join(', ')}; node -e 0 ${r.all.nodeAlone.map(f3).join(', ')}; ` +
      `status ${r.all.status.map(f3).join(', ')}; git status ${r.all.gitStatus.map(f3).join(', ')}.`,
  ]
}
