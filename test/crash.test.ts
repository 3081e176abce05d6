// Crash safety at every durable step. Every name in core/checkpoints.ts's CHECKPOINTS is a point after
// which a crash leaves something on disk. The scenarios below run real commands (the CLI, the daemon, S3
// through s3rver); a first run of each logs which checkpoints its commands pass, and a checkpoint no
// scenario passes fails the test. Then each checkpoint is killed (SIGKILL, PEAKGUARD_FAULT) in the first
// scenario that passes it — at its first pass and, for a step passed many times, also at a middle one —
// the next command runs, and what a user sees (snapshots, audit log and its hash chain, change requests,
// the live site, the replica, `git fsck`) must be what the uninterrupted run left: nothing lost, nothing
// doubled, the interrupted work finished (or undone and done again).
//
// Where a crash does lose or double something today, KNOWN_GAPS says what, so the test fails the day it
// is fixed as well as the day it gets worse.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { CHECKPOINTS } from '../src/core/checkpoints.ts'
import { entryHash } from '../src/services/audit.ts'
import { fastDaemonConfig } from './harness/daemon.ts'
import { freePort } from './harness/mariadb.ts'
import { S3Server } from './harness/s3.ts'
import { createSite, fsck, MAIN, optionRows, treeOf, type CliResult, type TestSite } from './harness/site.ts'
import { cliWithInput, makeUsers } from './harness/users.ts'

// what `npm test` sets: every CLI run here starts from the compile cache (a third of its start-up)
process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), 'peakguard-node-cache')

const KILLED = 137
const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }

interface World {
  site: TestSite
  s3: S3Server
  /** saved states, one folder each */
  states: string
  /** the known-good state the bad update is restored to */
  good: string
  goodTree: Map<string, string>
  goodOptions: Map<string, string>
  tokens: Record<string, string>
  /** the change request the gate opens */
  request: string
  /** a second config whose dataDir is where `recover` rebuilds */
  recoverConfig: string
  recoverDir: string
  uiPort: number
}

type Env = Record<string, string>

/** One command of a scenario; resolves with its exit code (137: killed) and output. */
interface Cmd {
  label: string
  run(w: World, env: Env): Promise<CliResult>
}

const cli = (args: (w: World) => string[], o: { as?: string; input?: string } = {}): Cmd => ({
  label: `peakguard ${args({ good: 'GOOD', request: 'REQ', recoverDir: 'DIR' } as World).join(' ')}`,
  run: (w, env) => {
    const as = o.as ?? (w.tokens.root ? 'root' : null)
    const e = { ...CREDS, ...(as ? { PEAKGUARD_TOKEN: w.tokens[as] as string } : {}), ...env }
    return o.input === undefined ? w.site.cli(args(w), e) : cliWithInput(w.site.configFile, args(w), o.input, e)
  },
})

/** `peakguard daemon` until it logged `until` and then fell quiet (or until it died, when a fault is set). */
const daemon = (until: RegExp | null): Cmd => ({
  label: `peakguard daemon (until ${until ?? 'quiet'})`,
  run: (w, env) => runDaemon(w, env, until),
})

function runDaemon(w: World, env: Env, until: RegExp | null): Promise<CliResult> {
  const faulted = !!env.PEAKGUARD_FAULT
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MAIN, '--config', w.site.configFile, 'daemon'], { env: { ...process.env, ...CREDS, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let running = false
    let seen = until === null
    let quiet: NodeJS.Timeout | null = null
    const stop = () => p.kill('SIGTERM')
    const deadline = setTimeout(() => {
      p.kill('SIGKILL')
      reject(new Error(`the daemon did not ${faulted ? `die at ${env.PEAKGUARD_FAULT}` : `log ${until}`} within 40 s:\n${out.slice(-3000)}`))
    }, 40_000)
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      running ||= out.includes('"peakguard daemon running"')
      if (until && !seen) seen = until.test(out)
      // quiet for a second after the awaited line: what follows it (the gate accepting the state) is done too
      if (!faulted && running && seen) {
        if (quiet) clearTimeout(quiet)
        quiet = setTimeout(stop, 1000)
      }
    })
    p.stderr.on('data', (d: Buffer) => (out += d.toString()))
    p.on('close', (code, signal) => {
      clearTimeout(deadline)
      if (quiet) clearTimeout(quiet)
      resolve({ code: signal === 'SIGKILL' ? KILLED : (code ?? 1), stdout: out, stderr: out, json: null })
    })
    // the daemon logs nothing more once it is idle: the first quiet second after start counts too
    if (until === null) {
      const poll = setInterval(() => {
        if (running && !quiet && !faulted) quiet = setTimeout(stop, 1000)
        if (running || p.exitCode !== null) clearInterval(poll)
      }, 100)
    }
  })
}

/** What a user can see after a scenario: compared, key by key, with what the uninterrupted run left. */
type Seen = Record<string, unknown>

interface Scenario {
  name: string
  /** the saved state this scenario's preparation starts from ('' : the bare site) */
  from: string
  /** builds the state the commands start from; run once, saved, put back before each kill */
  prepare(w: World): Promise<void>
  cmds: Cmd[]
  /** after a kill in cmds[i]: what runs next (default: that command again, and the ones after it) */
  next?(w: World, kill: Kill): Promise<void>
  /** what a user checks beyond the common observations (status, audit log, live site, git fsck) */
  observe?(w: World): Promise<Seen>
  /** assertions of their own after a kill and the next command */
  after?(w: World, kill: Kill, killed: CliResult): Promise<void>
  /** checkpoints to kill here besides the ones first passed here: "cmd index:name#hit" */
  alsoKill?: string[]
}

interface Kill {
  cmd: number
  name: string
  hit: number
}
const killName = (k: Kill) => `${k.cmd}:${k.name}#${k.hit}`

/**
 * Crashes that lose or double what a user sees today, by kill ("cmd:name#hit" in a scenario) → the
 * observations that differ from the uninterrupted run. Each is a defect to fix where the comment says.
 */
const KNOWN_GAPS: Record<string, Record<string, string[]>> = {
  // cli/snapshot.ts: the audit entry is appended after the commit; the next snapshot finds nothing new to record or audit
  snapshot: { '0:journal:commit#1': ['audit entries'] },
  // cli/marks.ts: the tag is deleted before the audit entry; unmark-good again finds no mark and audits nothing
  'known-good marks': { '1:journal:unmark#1': ['audit entries'] },
  // services/freeze.ts: the freeze document is written before its audit entries. start again: freeze-start comes back, its
  // freeze-baseline does not; allow again opens a second window; stop again finds no freeze and audits nothing
  'freeze, allow-window, freeze stop': { '0:doc:freeze#1': ['audit entries'], '1:doc:freeze#1': ['freeze'], '2:doc:freeze#1': ['audit entries'] },
  'the gate reverts a change made during a freeze': {
    // services/gate.ts: a request found again after a crash is resumed without its change-request entry
    '0:doc:request#1': ['audit entries'],
    // services/gate.ts: the request is saved as reverted before the revert entry; the next check sees nothing to do
    '0:doc:request#2': ['audit entries'],
    // services/gate.ts: killed after the revert's restore and before the request says so: the next check walks the restore
    // commit as an authorized restore; the request stays "not reverted" and the revert is never audited
    '0:restore:intent-cleared#1': ['audit entries', 'change requests'],
  },
  // services/access.ts (user add): the users file is written before the audit entry; add again says the user exists
  'users file': { '0:users:write#1': ['audit entries'] },
  'an approval applies the reverted change': {
    // services/requests.ts decide(): the decision is saved before its audit entry; approve again says it is decided
    '1:doc:request#1': ['audit entries'],
    // services/requests.ts decide(): killed after its restore cleared the intent, approve again finds the change live and
    // decides 'kept live' (the restore's commit names the request: the decision could read it there)
    '1:restore:intent-cleared#1': ['change requests'],
  },
}

// ── saved states: the site's folder (files, data dir, config), its settings rows and the S3 bucket ──────

let optionCols: string[] = []

async function dumpOptions(db: mysql.Connection): Promise<unknown[][]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>('SELECT option_id, option_name, option_value, autoload FROM wp_options ORDER BY option_id')
  optionCols = ['option_id', 'option_name', 'option_value', 'autoload']
  return rows.map((r) => optionCols.map((c) => r[c]))
}

function cpA(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true })
  execFileSync('cp', ['-a', from, to])
}

async function save(w: World, name: string): Promise<void> {
  const dir = path.join(w.states, name)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'world.json'), JSON.stringify({ tokens: w.tokens, request: w.request }))
  cpA(w.site.base, path.join(dir, 'site'))
  cpA(path.join(w.s3.dir, w.s3.bucket), path.join(dir, 's3'))
  fs.writeFileSync(path.join(dir, 'options.json'), JSON.stringify(await dumpOptions(w.site.db)))
}

async function load(w: World, name: string): Promise<void> {
  const dir = path.join(w.states, name)
  Object.assign(w, JSON.parse(fs.readFileSync(path.join(dir, 'world.json'), 'utf8')))
  cpA(path.join(dir, 'site'), w.site.base)
  cpA(path.join(dir, 's3'), path.join(w.s3.dir, w.s3.bucket))
  const rows = JSON.parse(fs.readFileSync(path.join(dir, 'options.json'), 'utf8')) as unknown[][]
  await w.site.db.query('DELETE FROM wp_options')
  await w.site.db.query(`INSERT INTO wp_options (${optionCols.join(', ')}) VALUES ?`, [rows])
}

// ── what a user sees ─────────────────────────────────────────────────────────────────────────────────

async function json(w: World, args: string[], as?: string): Promise<any> {
  const r = await cli(() => args, { as }).run(w, {})
  assert.equal(r.code, 0, `peakguard ${args.join(' ')}: exit ${r.code}\n${r.stderr}`)
  return r.json
}

async function common(w: World): Promise<Seen> {
  const audit = (await json(w, ['audit', '--json'])).entries as any[]
  // the hash chain, as `audit verify` walks it: no entry torn, edited, removed or doubled
  let prev = ''
  const chain = audit.map((e, i) => {
    const okEntry = e.seq === i + 1 && e.prev === prev && entryHash(e) === e.hash
    prev = e.hash
    return okEntry ? 'ok' : `entry ${i + 1} breaks the chain`
  })
  return {
    'git fsck': fsck(w.site),
    snapshots: execFileSync('git', ['--git-dir', path.join(w.site.dataDir, 'shop/journal'), 'rev-list', '--count', '--all'], { encoding: 'utf8' }).trim(),
    'restore intent left': fs.existsSync(path.join(w.site.dataDir, 'shop/restore-intent.json')),
    'audit chain': [...new Set(chain)],
    'audit entries': audit.map((e) => e.type).sort(),
    'live files': treeOf(w.site.wpContent),
    'live settings': await optionRows(w.site.db, 'wp_options'),
    'temporary files left': [...treeOf(w.site.wpContent).keys()].filter((p) => p.includes('.~pg-')),
  }
}

async function seen(w: World, s: Scenario): Promise<Seen> {
  const [a, b] = await Promise.all([common(w), s.observe?.(w)])
  return { ...a, ...(b ?? {}) }
}

async function requestsSeen(w: World): Promise<Seen> {
  const list = (await json(w, ['requests', '--all', '--json'])) as any[]
  return { 'change requests': list.map((r) => ({ status: r.status, reverted: r.reverted, items: r.items, askedBy: r.askedBy ?? [], outcome: r.outcome?.replace(/[0-9a-f]{12}/g, 'ID') ?? null })) }
}

async function replicaSeen(w: World, config = w.site.configFile): Promise<Seen> {
  const r = await cliWithInput(config, ['verify', '--remote', '--read-data', '--json'], '', CREDS)
  const v = r.json
  return {
    'replica verified': v ? { ok: v.ok, local: v.local.problems, pending: v.local.pending, remote: v.remote?.problems, behind: v.remote?.behind, rebuilt: v.remote?.readData?.commits } : r.stderr,
  }
}

// ── the scenarios: each a set-up and the commands that pass durable steps ───────────────────────────

function appendToConfig(w: World, text: string): void {
  fs.appendFileSync(w.site.configFile, text)
}

const s3Block = (w: World) =>
  `    s3:\n      bucket: ${w.s3.bucket}\n      prefix: crash\n      endpoint: ${w.s3.endpoint}\n      forcePathStyle: true\n      compactAfter: 2\n`

const SCENARIOS: Scenario[] = [
  {
    name: 'snapshot',
    from: 'base',
    prepare: async () => undefined,
    cmds: [cli(() => ['snapshot', '--json'])],
    next: async (w, kill) => {
      // killed while streaming: the journal is as it was (one snapshot), and the next one records the live site
      if (kill.name === 'snapshot:file') assert.equal((await json(w, ['list', '--json'])).length, 1)
      const r = await json(w, ['snapshot', '--json'])
      if (kill.name === 'snapshot:file') assert.equal(r.created, true)
    },
    after: async (w, kill) => {
      if (kill.name !== 'snapshot:file') return
      const head = (await json(w, ['list', '--json']))[0]
      const diff = await json(w, ['diff', head.id, '--json'])
      assert.deepEqual([diff.files, diff.options], [[], []], 'the new snapshot does not match the live site')
    },
  },
  {
    name: 'restore',
    from: 'base',
    prepare: async () => undefined,
    cmds: [cli((w) => ['restore', w.good, '--yes', '--json'])],
    // audit:append: killed after the restore's entry and before its intent is cleared, the next command must not write it twice
    alsoKill: ['0:journal:commit#2', '0:audit:append#1'],
    // the next command is any command: `status` finishes an interrupted restore and says so
    next: async (w, kill) => {
      const status = await json(w, ['status', '--json'])
      if (kill.name === 'restore:after-safety-snapshot') {
        // killed before the intent was written: nothing had been touched, nothing to finish; run it again
        assert.equal(status.lastRecovery, null)
        const again = await cli((x) => ['restore', x.good, '--yes', '--json']).run(w, {})
        assert.equal(again.code, 0, again.stderr)
      } else if (kill.name.startsWith('restore:') && kill.name !== 'restore:intent-cleared') {
        assert.match(status.lastRecovery?.what ?? '', new RegExp(`finished the restore to ${w.good.slice(0, 12)}`))
        assert.equal(status.pendingChanges.files + status.pendingChanges.options, 0)
      }
    },
    after: async (w) => {
      assert.deepEqual(treeOf(w.site.wpContent), w.goodTree)
      assert.deepEqual(await optionRows(w.site.db, 'wp_options'), w.goodOptions)
    },
  },
  {
    name: 'recovery of a killed restore',
    from: 'base',
    prepare: async (w) => {
      const killed = await cli((x) => ['restore', x.good, '--yes', '--json']).run(w, { PEAKGUARD_FAULT: 'restore:after-files' })
      assert.equal(killed.code, KILLED, killed.stderr)
    },
    cmds: [cli(() => ['status', '--json'])],
    // the recovery's own clearing of the intent (the restore's is killed in the scenario above)
    alsoKill: ['0:restore:intent-cleared#1'],
    observe: async (w) => ({ 'last recovery': (await json(w, ['status', '--json'])).lastRecovery?.what.replace(/[0-9a-f]{12}/g, 'ID') ?? null }),
  },
  {
    name: 'known-good marks',
    from: 'base',
    prepare: async () => undefined,
    cmds: [cli((w) => ['mark-good', w.good, '--json']), cli((w) => ['unmark-good', w.good, '--json'])],
    observe: async (w) => ({ 'last good': (await json(w, ['status', '--json'])).lastGood?.id ?? null }),
  },
  {
    name: 'freeze, allow-window, freeze stop',
    from: 'base',
    prepare: async () => undefined,
    cmds: [
      cli(() => ['freeze', 'start', '--for', '1h', '--reason', 'launch night', '--json']),
      cli(() => ['allow', '--scope', 'plugins/akismet', '--for', '30m', '--reason', 'hot fix', '--json']),
      cli(() => ['freeze', 'stop', '--reason', 'launch done', '--json']),
    ],
    alsoKill: ['1:doc:freeze#1', '2:doc:freeze#1'],
    observe: async (w) => {
      const f = await json(w, ['freeze', 'status', '--json'])
      return { freeze: { active: f.active?.source ?? null, allowed: (f.allowed ?? []).map((a: any) => a.scope) } }
    },
  },
  {
    name: 'WordPress bridge install',
    from: 'base',
    prepare: async () => undefined,
    cmds: [cli(() => ['wp', 'install-bridge', '--json'])],
    observe: async (w) => {
      const dir = path.join(w.site.dataDir, 'bridge/shop')
      const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8'))
      return { 'bridge secret': /^[0-9a-f]{64}\n$/.test(fs.readFileSync(path.join(dir, 'secret'), 'utf8')), 'bridge state': [state.site, state.freezes] }
    },
  },
  {
    name: 'the gate reverts a change made during a freeze',
    from: 'base',
    prepare: async (w) => {
      await json(w, ['snapshot', '--json'])
      await json(w, ['freeze', 'start', '--for', '1h', '--reason', 'launch night', '--json'])
      appendToConfig(w, fastDaemonConfig())
      const cfg = fs.readFileSync(w.site.configFile, 'utf8')
      fs.writeFileSync(w.site.configFile, `ui: { listen: "127.0.0.1:${w.uiPort}" }\n${cfg}`)
      // the gate's first look accepts the head; then the daemon is down while the change is made
      const first = await daemon(null).run(w, {})
      assert.equal(first.code, 0, first.stderr)
      // a config the daemon has not started with: its digest is written again (doc:config)
      fs.writeFileSync(w.site.configFile, fs.readFileSync(w.site.configFile, 'utf8').replace(`127.0.0.1:${w.uiPort}`, `127.0.0.1:${w.uiPort + 1}`))
      fs.appendFileSync(path.join(w.site.wpContent, 'plugins/akismet/akismet.php'), '// hot fix during the freeze\n')
    },
    cmds: [daemon(/freeze: change reverted, waiting for approval/)],
    alsoKill: ['0:audit:append#1', '0:doc:request#2', '0:restore:after-files#1', '0:restore:intent-cleared#1'],
    next: async (w) => {
      const d = await daemon(null).run(w, {})
      assert.equal(d.code, 0, d.stderr)
    },
    observe: requestsSeen,
  },
  {
    name: 'users file',
    from: 'the gate reverts a change made during a freeze',
    prepare: async (w) => {
      const d = await daemon(/freeze: change reverted, waiting for approval/).run(w, {})
      assert.equal(d.code, 0, d.stderr)
      w.tokens = await makeUsers(w.site.configFile, 'root', { alice: 'approver', otto: 'operator' })
    },
    cmds: [cli(() => ['user', 'add', 'carol', '--role', 'viewer', '--password-stdin', '--json'], { as: 'root', input: 'carol-password-1\n' })],
    observe: async (w) => ({ users: (await json(w, ['user', 'list', '--json'])).users.map((u: any) => `${u.name}:${u.role}`) }),
  },
  {
    name: 'an approval applies the reverted change',
    from: 'users file',
    prepare: async (w) => {
      const list = await json(w, ['requests', '--json'], 'otto')
      assert.equal(list.length, 1)
      w.request = list[0].id
    },
    cmds: [cli((w) => ['request', w.request, '--reason', 'the hot fix is needed', '--json'], { as: 'otto' }), cli((w) => ['approve', w.request, '--json'], { as: 'alice' })],
    alsoKill: ['0:doc:request#1', '1:doc:request#1', '1:restore:after-files#1', '1:restore:intent-cleared#1', '1:audit:append#1'],
    observe: requestsSeen,
  },
  {
    name: 'replication',
    from: 'base',
    prepare: async (w) => {
      appendToConfig(w, s3Block(w))
      await json(w, ['snapshot', '--json'])
    },
    cmds: [cli(() => ['replicate', '--json'])],
    observe: (w) => replicaSeen(w),
  },
  {
    name: 'a push resumed after a crash',
    from: 'replication',
    prepare: async (w) => {
      const killed = await cli(() => ['replicate', '--json']).run(w, { PEAKGUARD_FAULT: 'replica:upload' })
      assert.equal(killed.code, KILLED, killed.stderr)
    },
    cmds: [cli(() => ['replicate', '--json'])],
    observe: (w) => replicaSeen(w),
  },
  {
    name: 'recover --from-s3 on a new host',
    from: 'replication',
    prepare: async (w) => {
      await json(w, ['replicate', '--json'])
      fs.writeFileSync(path.join(w.site.wpContent, 'plugins/hello.php'), "<?php\n/* Plugin Name: Hello Dolly 2 */\n")
      await json(w, ['snapshot', '--json'])
      await json(w, ['replicate', '--json'])
      fs.writeFileSync(w.recoverConfig, fs.readFileSync(w.site.configFile, 'utf8').replace(/^dataDir: .*$/m, `dataDir: ${w.recoverDir}`))
    },
    cmds: [cli((w) => ['recover', '--from-s3', '--site', 'shop', '--data-dir', w.recoverDir, '--json'])],
    observe: async (w) => {
      const st = await cliWithInput(w.recoverConfig, ['status', '--json'], '', CREDS)
      return { 'recovered snapshots': st.json?.states ?? st.stderr, ...(await replicaSeen(w, w.recoverConfig)) }
    },
  },
  {
    name: 'prune of superseded objects',
    from: 'recover --from-s3 on a new host',
    prepare: async (w) => {
      // a third push compacts the chain (compactAfter: 2): what it supersedes is for prune
      fs.writeFileSync(path.join(w.site.wpContent, 'plugins/hello.php'), "<?php\n/* Plugin Name: Hello Dolly 3 */\n")
      await json(w, ['snapshot', '--json'])
      await json(w, ['replicate', '--json'])
    },
    cmds: [cli(() => ['prune', '--keep-days', '0', '--yes', '--json'])],
    observe: async (w) => ({ ...(await replicaSeen(w)), 'objects on S3': (await w.s3.listKeys('crash/')).map((o) => o.key) }),
  },
]

/** The checkpoints each command passes, in order, from one uninterrupted run; the state before each command is saved. */
async function runLogged(w: World, s: Scenario): Promise<string[][]> {
  const passed: string[][] = []
  for (const [i, c] of s.cmds.entries()) {
    if (i > 0) await save(w, `${s.name}#${i}`)
    const log = path.join(w.states, `log-${i}`)
    fs.rmSync(log, { force: true })
    const r = await c.run(w, { PEAKGUARD_CHECKPOINT_LOG: log })
    assert.equal(r.code, 0, `${s.name}: ${c.label}: exit ${r.code}\n${r.stderr.slice(-3000)}`)
    passed.push(fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : [])
  }
  return passed
}

/** A value for a failure message: a Map (a tree, settings rows) as the entries that matter, short. */
function show(v: unknown): string {
  return JSON.stringify(v instanceof Map ? [...v.entries()].map(([k, x]) => `${k}=${String(x).slice(0, 40)}`) : v)?.slice(0, 1500) ?? 'undefined'
}

function differences(want: Seen, got: Seen): string[] {
  return Object.keys({ ...want, ...got }).filter((k) => {
    try {
      assert.deepEqual(got[k], want[k])
      return false
    } catch {
      return true
    }
  })
}

describe('crash safety: a kill at every durable step', function () {
  this.timeout(600_000)
  let w: World

  before(async () => {
    const site = await createSite()
    const s3 = await S3Server.start()
    const states = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-crash-states-'))
    w = { site, s3, states, good: '', goodTree: new Map(), goodOptions: new Map(), tokens: {}, request: '', recoverConfig: path.join(site.base, 'recover.yaml'), recoverDir: path.join(site.base, 'recovered'), uiPort: await freePort() }
    w.good = (await json(w, ['snapshot', '--json'])).id
    w.goodTree = treeOf(site.wpContent)
    w.goodOptions = await optionRows(site.db, 'wp_options')
    // a bad plugin update (every file rewritten, some added) and two settings changes
    for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(site.wpContent, `plugins/woocommerce/includes/class-wc-part-${i}.php`), `<?php // v10 ${i}\n`)
    fs.writeFileSync(path.join(site.wpContent, 'plugins/woocommerce/includes/new.php'), '<?php // new\n')
    await site.db.query(`UPDATE wp_options SET option_value = 'Broken' WHERE option_name = 'blogname'`)
    await site.db.query(`DELETE FROM wp_options WHERE option_name = 'home'`)
    await save(w, 'base')
  })

  after(async () => {
    await w?.s3.destroy()
    await w?.site.cleanup()
    if (w) fs.rmSync(w.states, { recursive: true, force: true })
  })

  it('every checkpoint is reached by a scenario, and a kill at each is finished or undone by the next command', async () => {
    const started = Date.now()
    const firstIn = new Map<string, string>()
    const report: string[] = []
    const failures: string[] = []
    let count = 0
    // one scenario after the other: a scenario's logins and request ids are its own
    for (const s of SCENARIOS) {
      await load(w, s.from)
      await s.prepare(w)
      await save(w, s.name)
      const passed = await runLogged(w, s)
      const clean = await seen(w, s)
      assert.deepEqual(clean['audit chain'], ['ok'], `${s.name}: the uninterrupted run breaks the audit chain`)
      assert.equal(clean['git fsck'], '', `${s.name}: the uninterrupted run leaves git fsck complaining`)
      const mine: Kill[] = []
      for (const [cmd, names] of passed.entries())
        for (const name of new Set(names)) {
          if (firstIn.has(name)) continue
          firstIn.set(name, s.name)
          const n = names.filter((x) => x === name).length
          mine.push({ cmd, name, hit: 1 })
          if (n >= 3) mine.push({ cmd, name, hit: Math.ceil(n / 2) })
        }
      for (const k of s.alsoKill ?? []) {
        const m = /^(\d+):(.+)#(\d+)$/.exec(k)
        assert.ok(m, k)
        const kill = { cmd: Number(m[1]), name: m[2] as string, hit: Number(m[3]) }
        assert.ok((passed[kill.cmd] ?? []).filter((x) => x === kill.name).length >= kill.hit, `${s.name}: ${k} is never reached`)
        if (!mine.some((x) => killName(x) === killName(kill))) mine.push(kill)
      }
      for (const kill of mine) {
        count++
        await load(w, kill.cmd ? `${s.name}#${kill.cmd}` : s.name)
        const cmd = s.cmds[kill.cmd] as Cmd
        const killed = await cmd.run(w, { PEAKGUARD_FAULT: `${kill.name}#${kill.hit}` })
        assert.equal(killed.code, KILLED, `${s.name}: ${cmd.label} was to be killed at ${kill.name}#${kill.hit}; exit ${killed.code}: ${killed.stderr.slice(-2000)}`)
        const nextRuns: string[] = []
        if (s.next) await s.next(w, kill)
        else
          for (const c of s.cmds.slice(kill.cmd)) {
            const r = await c.run(w, {})
            nextRuns.push(`${c.label}: exit ${r.code}${r.code ? ` ${r.stderr.trim().slice(-300)}` : ''}`)
          }
        await s.after?.(w, kill, killed)
        const got = await seen(w, s)
        assert.equal(got['git fsck'], '', `${s.name}, killed at ${killName(kill)}: git fsck`)
        const diff = differences(clean, got)
        const known = KNOWN_GAPS[s.name]?.[killName(kill)] ?? []
        report.push(`${s.name} / ${killName(kill)}: ${diff.length ? diff.join(', ') : 'ok'}`)
        if (process.env.PEAKGUARD_CRASH_REPORT) fs.appendFileSync(process.env.PEAKGUARD_CRASH_REPORT, `${report.at(-1)} (${Math.round((Date.now() - started) / 1000)} s)\n`)
        try {
          assert.deepEqual(diff, known)
        } catch {
          failures.push(
            `${s.name}, killed at ${killName(kill)}: ${diff.length ? `differs from the uninterrupted run in ${diff.join(', ')}` : 'no longer differs'}` +
              (known.length ? ` (known gap: ${known.join(', ')})` : '') +
              diff.map((k) => `\n    ${k}: want ${show(clean[k])}, got ${show(got[k])}`).join('') +
              nextRuns.map((r) => `\n    then ${r}`).join(''),
          )
          if (process.env.PEAKGUARD_CRASH_REPORT) fs.appendFileSync(process.env.PEAKGUARD_CRASH_REPORT, `${failures.at(-1)}\n`)
        }
      }
    }
    const stale = Object.entries(KNOWN_GAPS).flatMap(([name, gaps]) => Object.keys(gaps).filter((k) => !report.some((r) => r.startsWith(`${name} / ${k}:`))).map((k) => `${name} / ${k}`))
    assert.deepEqual(stale, [], 'KNOWN_GAPS lists kills that no longer happen')
    const unreached = Object.keys(CHECKPOINTS).filter((n) => !firstIn.has(n))
    assert.deepEqual(unreached.map((n) => `checkpoint ${n} is reached by no scenario: add one`), [])
    const unknown = [...firstIn.keys()].filter((n) => !(n in CHECKPOINTS))
    assert.deepEqual(unknown, [], 'checkpoints passed that CHECKPOINTS does not describe')

    console.log(`    ${Object.keys(CHECKPOINTS).length} checkpoints, ${count} kills in ${Math.round((Date.now() - started) / 1000)} s`)
    assert.deepEqual(failures, [])
  })
})
