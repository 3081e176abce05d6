// Issue 19 end to end on real parts: three web nodes of one WordPress (each its own root under its own php -S,
// its own data dir and daemon), one MariaDB, one s3rver. Every check is what an operator would look at: each
// node's `status --json` and /healthz, the files in each node's wp-content, `list` and `show`, the UI, the
// fleet's rows in the database. Waits are bounded waits for a log line or a condition, never a timing claim.
//
// One fleet for the whole file (building it is most of the time), in the order a fleet's life goes: an election,
// a plugin activated on a follower's wp-admin, a deploy that reached two nodes of three (drift), a restore from
// a follower's UI, a freeze violation on one node, a node killed while a restore stages, the leader killed, and
// a fourth host rebuilt from the replica. Then a second, two-node fleet set up as an operator sets up hosts:
// each node's peakguard users first, then its daemon.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import type { RunningDaemon } from './harness/daemon.ts'
import { createFleet, eventually, S3_CREDS, type TestFleet } from './harness/fleet.ts'
import { sleep } from './harness/notify.ts'
import { runCli, treeOf, type CliResult } from './harness/site.ts'
import { csrfOf, login, makeUsers, ok } from './harness/users.ts'
import { DEMO_BANNER, DEMO_HELLO, formFields, WpClient } from './harness/wordpress.ts'

interface StateJson {
  id: string
  time: string
  trigger: string
  message: string
  summary: string
  causedBy: string | null
  words: string[] | null
}

interface DriftJson {
  desired: string
  count: number
  paths: string[]
  units: string[]
}

interface FleetNodeJson {
  node: string
  role: 'leader' | 'follower'
  up: boolean
  drift: DriftJson | null
  compared: boolean
  ageSeconds: number
}

interface FleetJson {
  node: string
  role: 'leader' | 'follower'
  leader: string | null
  nodes: FleetNodeJson[]
  drift: DriftJson | null
  compared: boolean
  journal: { head: string | null } | null
  dbError: string | null
}

interface OpNodeJson {
  node: string
  status: 'staged' | 'failed' | 'done'
  files: number
  verified: boolean | null
  error: string | null
}

const ADMIN = 'boss'
const ADMIN_PASSWORD = `${ADMIN}-password-1`
const LEADER_LINE = 'this node is now the settings leader'
const HELLO = `plugins/${DEMO_HELLO.file}`
/** Runs every WP-Cron event due in the next 10 minutes now, as wp-cron.php would (recurring ones move to their next run), and the comment-type batch to its end. */
const RUN_CRON = `foreach ( (array) _get_cron_array() as $ts => $hooks ) {
  if ( $ts > time() + 600 ) continue;
  foreach ( $hooks as $hook => $events ) foreach ( $events as $e ) {
    if ( ! empty( $e['schedule'] ) ) wp_reschedule_event( $ts, $e['schedule'], $hook, $e['args'] );
    wp_unschedule_event( $ts, $hook, $e['args'] );
    do_action_ref_array( $hook, $e['args'] );
  }
}
// the comment-type batch runs again two minutes later until it finds nothing to do: all of it now
for ( $i = 0; $i < 20 && ! get_option( 'finished_updating_comment_type' ); $i++ ) _wp_batch_update_comment_type();
wp_clear_scheduled_hook( 'wp_update_comment_type_batch' );
if ( ! get_option( 'finished_updating_comment_type' ) ) { fwrite( STDERR, 'the comment-type batch did not finish' ); exit( 1 ); }
echo 'ok';`

/** `makeUsers` on a node of a fleet: the user commands audit through the fleet's journal, on the replica (S3's credentials in the environment). The admin's token. */
async function adminOf(configFile: string): Promise<string> {
  const saved = { ...process.env }
  Object.assign(process.env, S3_CREDS)
  try {
    return (await makeUsers(configFile, ADMIN, {}))[ADMIN] as string
  } finally {
    for (const k of Object.keys(S3_CREDS)) {
      if (saved[k] === undefined) delete process.env[k]
      else process.env[k] = saved[k]
    }
  }
}

describe('a fleet of three web nodes on real parts (issue 19)', function () {
  this.timeout(300_000)
  let fleet: TestFleet
  /** each node's admin token (every node has its own users file) */
  const tokens: Record<string, string> = {}
  /** the hello plugin as installed, and the update that reached two nodes */
  let helloOld = ''
  let helloNew = ''
  /** the newest state before the update, and the state the update was recorded as */
  let beforeUpdate = ''
  let updateState = ''

  const daemon = (id: string): RunningDaemon => {
    const d = fleet.byId(id).daemon
    assert.ok(d, `node ${id}'s daemon runs`)
    return d
  }
  const cli = (id: string, args: string[]): Promise<CliResult> => fleet.cli(id, args, { PEAKGUARD_TOKEN: tokens[id] as string })
  const api = async <T>(id: string, p: string): Promise<T> => {
    const r = await fetch(`${daemon(id).url}${p}`, { headers: { authorization: `Bearer ${tokens[id]}` }, signal: AbortSignal.timeout(10_000) })
    assert.equal(r.status, 200, `GET ${p} on node ${id}: HTTP ${r.status}`)
    return (await r.json()) as T
  }
  /** the fleet as the node's daemon shows it (the same as `status --json`'s daemon.site.fleet, without a process per look) */
  const fleetOf = async (id: string): Promise<FleetJson> => {
    const s = await api<{ sites: { site: string; fleet: FleetJson | null }[] }>(id, '/api/status')
    const f = s.sites.find((x) => x.site === fleet.siteId)?.fleet
    assert.ok(f, `node ${id}'s status has a fleet`)
    return f
  }
  const statesOf = (id: string) => api<StateJson[]>(id, `/api/sites/${fleet.siteId}/states`)
  /** `peakguard status --json`'s fleet part, as an operator reads it */
  const statusFleet = async (id: string): Promise<FleetJson> => {
    const r = await cli(id, ['--json', 'status'])
    ok(r, `status on node ${id}`)
    const f = r.json?.daemon?.site?.fleet as FleetJson | undefined
    assert.ok(f, `node ${id}'s status --json names its fleet: ${r.stdout.slice(0, 600)}`)
    return f
  }
  const list = async (id: string): Promise<StateJson[]> => {
    const r = await cli(id, ['--json', 'list'])
    ok(r, `list on node ${id}`)
    return r.json as StateJson[]
  }
  const healthz = async (id: string): Promise<{ status: number; body: { ok: boolean; failing: { site: string; error: string }[] } }> => {
    const r = await fetch(`${daemon(id).url}/healthz`, { signal: AbortSignal.timeout(10_000) })
    return { status: r.status, body: (await r.json()) as { ok: boolean; failing: { site: string; error: string }[] } }
  }

  /** Every file of the node's wp-content with its bytes, mode, owner and mtime: a rewrite of the same bytes shows too. */
  const stamps = (id: string): Map<string, string> => {
    const dir = fleet.byId(id).wpContent
    const out = new Map<string, string>()
    for (const [p, v] of treeOf(dir)) out.set(p, `${v} ${v.startsWith('link:') ? '' : fs.lstatSync(path.join(dir, p)).mtimeMs}`)
    return out
  }
  const sameTree = (id: string, before: Map<string, string>, what: string) => {
    const now = stamps(id)
    const changed = [...new Set([...before.keys(), ...now.keys()])].filter((p) => before.get(p) !== now.get(p))
    assert.deepEqual(changed, [], `${what}: node ${id}'s files did not change`)
  }
  const readHello = (id: string) => fs.readFileSync(path.join(fleet.byId(id).wpContent, HELLO), 'utf8')
  const ops = async (): Promise<{ id: string; phase: string; participants: string[] }[]> => {
    const [rows] = await fleet.db.conn.query<mysql.RowDataPacket[]>(`SELECT id, phase, body FROM \`${fleet.db.prefix}peakguard_ops\` WHERE site = ? ORDER BY created_at DESC, id DESC`, [fleet.siteId])
    return rows.map((r) => ({ id: String(r.id), phase: String(r.phase), participants: (JSON.parse(String(r.body)) as { participants: string[] }).participants }))
  }
  const opReports = async (op: string): Promise<OpNodeJson[]> => {
    const [rows] = await fleet.db.conn.query<mysql.RowDataPacket[]>(`SELECT report FROM \`${fleet.db.prefix}peakguard_op_nodes\` WHERE site = ? AND op = ? ORDER BY node`, [fleet.siteId, op])
    return rows.map((r) => JSON.parse(String(r.report)) as OpNodeJson)
  }
  /** The one node among `ids` whose status says it leads (as `status --json` says it, or the daemon's API for a quick look). */
  const leaderOf = async (ids: string[], read: (id: string) => Promise<FleetJson> = statusFleet): Promise<string> => {
    const roles = await Promise.all(ids.map(async (id) => [id, (await read(id)).role] as const))
    const leaders = roles.filter(([, r]) => r === 'leader').map(([id]) => id)
    assert.equal(leaders.length, 1, `exactly one leader among ${ids.join(', ')}: ${JSON.stringify(roles)}`)
    return leaders[0] as string
  }
  /** All the given nodes' daemons have the same newest state, and it is `head` when given. */
  const sameHistory = (ids: string[], head?: string) =>
    eventually(
      `the same newest state on nodes ${ids.join(', ')}${head ? ` (${head.slice(0, 12)})` : ''}`,
      () => Promise.all(ids.map((id) => statesOf(id))),
      (all) => all.every((s) => s[0]?.id === (head ?? all[0]?.[0]?.id)),
    )

  /** every daemon started, with its node (for FLEET_TEST_LOGS: a folder to write their logs to when the file is done) */
  const started: { id: string; d: RunningDaemon }[] = []
  const start = async (id: string): Promise<RunningDaemon> => {
    const d = await fleet.start(id)
    started.push({ id, d })
    return d
  }

  before(async () => {
    fleet = await createFleet({ fleet: 'nodeTimeout: 5s', siteExtra: 'freeze:\n  policy: revert\n' })
    helloOld = readHello('a')
    helloNew = helloOld.replace('Version: 1.0.0', 'Version: 1.1.0').replace(DEMO_HELLO.marker, `${DEMO_HELLO.marker}-v1.1`)
    assert.notEqual(helloNew, helloOld)
    await fleet.installBridges()
    // WordPress adds options on its first loads (widgets, the admin's first visit) and from WP-Cron (a comment-type batch
    // a minute after the install): all of it before any daemon, or those are changes the tests below would count
    await fleet.wp.php(RUN_CRON)
    for (const n of fleet.nodes) await new WpClient(n.url).get('/')
    await (await fleet.client('b')).get('/wp-admin/plugins.php')
    // node a first: it takes the settings leadership before the others are there
    await start('a')
    await daemon('a').waitFor((l) => l.msg.startsWith(LEADER_LINE), 30_000)
    await daemon('a').waitFor((l) => l.msg === 'site started', 60_000)
    await Promise.all(['b', 'c'].map((id) => start(id)))
    await Promise.all(['b', 'c'].map((id) => daemon(id).waitFor((l) => l.msg === 'site started', 60_000)))
    // each node has its own users file. Made once the daemons run: made before, the node's audit entry keeps its
    // daemon out of the fleet (the test at the end of this file)
    for (const n of fleet.nodes) tokens[n.id] = await adminOf(n.configFile)
  })

  after(async () => {
    const dir = process.env.FLEET_TEST_LOGS
    if (dir) for (const [i, x] of started.entries()) fs.writeFileSync(path.join(dir, `${i}-${x.id}.log`), x.d.output())
    await fleet?.cleanup()
  })

  it('elects exactly one settings leader among the three; every node names it and sees the others up', async () => {
    for (const id of ['a', 'b', 'c'])
      await eventually(`node ${id} to see three nodes up, its files compared`, () => fleetOf(id), (f) => f.nodes.length === 3 && f.nodes.every((n) => n.up) && f.compared)
    const status = Object.fromEntries(await Promise.all(['a', 'b', 'c'].map(async (id) => [id, await statusFleet(id)] as const)))
    const leaders = Object.entries(status).filter(([, f]) => f.role === 'leader').map(([id]) => id)
    assert.deepEqual(leaders, ['a'], 'exactly one leader: the node that logged taking the lock before the others started')
    const leader = 'a'
    for (const id of ['a', 'b', 'c']) {
      const f = status[id]!
      assert.equal(f.leader, leader, `node ${id} names the leader`)
      assert.deepEqual(f.nodes.map((n) => n.node).sort(), ['a', 'b', 'c'])
      assert.deepEqual(f.nodes.filter((n) => n.role === 'leader').map((n) => n.node), [leader], `node ${id}'s table has one leader`)
      assert.equal(f.drift, null, `node ${id} does not drift`)
      assert.equal((await healthz(id)).status, 200, `node ${id}'s /healthz`)
    }
    for (const id of ['a', 'b', 'c']) assert.equal(daemon(id).lines.filter((l) => l.msg.startsWith(LEADER_LINE)).length, id === leader ? 1 : 0, `node ${id}'s log`)
    const text = await cli('b', ['status'])
    ok(text, 'status on b')
    assert.match(text.stdout, /^fleet +node b, follower \(leader: a\)/m)
    assert.match(text.stdout, /^ {2}a +LEADER +heartbeat/m)
  })

  it("records a plugin activated through follower b's wp-admin once, attributed to the WordPress user; node a's list and UI show it", async () => {
    assert.equal((await statusFleet('b')).role, 'follower')
    await sameHistory(['a', 'b', 'c'])
    const before = new Set((await statesOf('a')).map((s) => s.id))
    const from = daemon('a').lines.length
    const admin = await fleet.client('b')
    const r = await fleet.wp.activatePluginViaAdmin(admin, DEMO_BANNER.file)
    assert.match(r.body, /Plugin activated/)
    assert.ok(r.url.startsWith(`${fleet.url('b')}/wp-admin/`), r.url)
    // the settings are the leader's to record
    const snap = await daemon('a').waitFor((l) => l.msg === 'snapshot' && /active_plugins/.test(String(l.summary)), 30_000, from)
    const id = String(snap.state)
    await sameHistory(['a', 'b', 'c'], id)
    const after = await list('a')
    const added = after.filter((s) => !before.has(s.id))
    assert.deepEqual(added.map((s) => s.id), [id], `one new snapshot in the fleet's history: ${JSON.stringify(added)}`)
    assert.match(added[0]?.causedBy ?? '', /^wp:admin\b/, `attributed to the WordPress user: ${JSON.stringify(added[0])}`)
    assert.match(JSON.stringify(added[0]?.words), /Peakguard Demo Banner/)
    const shown = await cli('a', ['--json', 'show', id])
    ok(shown, 'show')
    assert.match(String(shown.json.causedBy), /wp:admin/)
    for (const other of ['b', 'c']) assert.deepEqual((await statesOf(other)).map((s) => s.id), after.map((s) => s.id), `node ${other} has the fleet's history`)
    // node a's UI, logged in as a person would
    const { c: ui } = await login(daemon('a').url, ADMIN, ADMIN_PASSWORD)
    const timeline = await ui.get(`/sites/${fleet.siteId}/states`)
    assert.equal(timeline.status, 200)
    const row = timeline.body.split('<tr>').find((x) => x.includes(`/states/${id}"`))
    assert.ok(row, `node a's timeline lists ${id}`)
    assert.match(row, /wp:admin/)
    assert.match(row, /Peakguard Demo Banner/)
  })

  it('a plugin update deployed to b and c only: a drifts (status, /healthz 503, /metrics), b and c do not; one change in the history', async () => {
    await sameHistory(['a', 'b', 'c'])
    beforeUpdate = (await statesOf('a'))[0]!.id
    for (const id of ['b', 'c']) fs.writeFileSync(path.join(fleet.byId(id).wpContent, HELLO), helloNew)
    const a = await eventually('node a to drift on the hello plugin', () => fleetOf('a'), (f) => !!f.drift?.paths.includes(HELLO) && f.drift.desired !== beforeUpdate)
    updateState = a.drift!.desired
    for (const id of ['b', 'c'])
      await eventually(`node ${id} to have compared with ${updateState.slice(0, 12)} and not drift`, () => fleetOf(id), (f) => f.drift === null && f.journal?.head === updateState && f.compared)
    const history = await list('a')
    assert.equal(history[0]?.id, updateState, 'the newest state is the update')
    assert.equal(history[1]?.id, beforeUpdate, `the update is one new state: ${JSON.stringify(history.slice(0, 3))}`)
    assert.match(JSON.stringify(history[0]?.words), /Peakguard Demo Hello/)

    const sa = await statusFleet('a')
    assert.ok(sa.drift, "a's status names its drift")
    assert.equal(sa.drift.desired, updateState)
    assert.deepEqual(sa.drift.paths, [HELLO])
    assert.equal(sa.nodes.find((n) => n.node === 'a')?.drift?.paths[0], HELLO, "a's row in the fleet table")
    for (const id of ['b', 'c']) {
      const f = await statusFleet(id)
      assert.equal(f.drift, null, `node ${id}'s status: no drift`)
      assert.deepEqual(f.nodes.filter((n) => n.drift).map((n) => n.node), ['a'], `node ${id} sees a drifting`)
    }
    const ha = await healthz('a')
    assert.equal(ha.status, 503)
    assert.equal(ha.body.ok, false)
    assert.match(ha.body.failing[0]?.error ?? '', new RegExp(`node a: .*${HELLO.replace(/\./g, '\\.')}`))
    for (const id of ['b', 'c']) assert.equal((await healthz(id)).status, 200, `node ${id}'s /healthz`)
    const metrics = await (await fetch(`${daemon('a').url}/metrics`)).text()
    const gauge = /^peakguard_fleet_drift_files\{([^}]*)\} (\d+)/m.exec(metrics)
    assert.ok(gauge, `a's /metrics has peakguard_fleet_drift_files:\n${metrics.split('\n').filter((l) => l.includes('fleet')).join('\n')}`)
    assert.match(gauge[1]!, /node="a"/)
    assert.ok(Number(gauge[2]) > 0, gauge[0])
    assert.match(await (await fetch(`${daemon('b').url}/metrics`)).text(), /^peakguard_fleet_drift_files\{[^}]*node="b"[^}]*\} 0$/m)
    assert.equal(readHello('a'), helloOld, "the deploy never reached a's files")
    // node a's UI says so too, and b's does not
    const onA = (await (await login(daemon('a').url, ADMIN, ADMIN_PASSWORD)).c.get('/')).body
    assert.match(onA, /data-fleet-node="a"/)
    assert.match(onA, /data-drift="1"/)
    assert.match(onA, /<tr data-node="a" data-up="true">[\s\S]*?DRIFT: 1 file/)
    const onB = (await (await login(daemon('b').url, ADMIN, ADMIN_PASSWORD)).c.get('/')).body
    assert.match(onB, /data-fleet-node="b"/)
    assert.doesNotMatch(onB, /data-drift=/)
  })

  it("restores the state before the update from c's UI: every node's files, the settings once, each node's report, every /healthz 200", async () => {
    assert.ok(beforeUpdate && updateState, 'the update test ran')
    const before = new Set((await statesOf('c')).map((s) => s.id))
    const opsBefore = new Set((await ops()).map((o) => o.id))
    const { c: ui } = await login(daemon('c').url, ADMIN, ADMIN_PASSWORD)
    const preview = await ui.get(`/sites/${fleet.siteId}/restore?target=${beforeUpdate}`)
    assert.equal(preview.status, 200)
    assert.match(preview.body, /Confirm restore/)
    const form = formFields(preview.body, `/sites/${fleet.siteId}/restores`)
    assert.equal(form._csrf, csrfOf(preview.body))
    const done = await ui.post(`/sites/${fleet.siteId}/restores`, form)
    assert.equal(done.status, 200, done.body.replace(/[\s\S]*<main/, '').slice(0, 800))
    assert.match(done.body, /data-result="verified"/, done.body.replace(/[\s\S]*<main/, '').slice(0, 800))
    const shownId = /\/restores\/([0-9a-f]{40})$/.exec(done.url)?.[1]
    assert.ok(shownId, done.url)
    // the result page's table of the nodes
    const rows = [...done.body.matchAll(/<tr data-node="([^"]+)" data-status="([^"]+)"><td>[^<]*<\/td>\s*<td>([^<]*)<\/td>\s*<td>([^<]*)<\/td>/g)].map((m) => [m[1], m[2], m[4]])
    assert.deepEqual(rows.sort(), [['a', 'done', 'yes'], ['b', 'done', 'yes'], ['c', 'done', 'yes']], `the result page names every node: ${done.body.replace(/[\s\S]*<main/, '').slice(0, 1500)}`)

    for (const id of ['a', 'b', 'c']) assert.equal(readHello(id), helloOld, `node ${id}'s wp-content has the old plugin again`)
    await sameHistory(['a', 'b', 'c'])
    const added = (await list('a')).filter((s) => !before.has(s.id))
    const restores = added.filter((s) => s.trigger === 'restore')
    assert.equal(restores.length, 1, `one restore snapshot in the fleet's history: ${JSON.stringify(added)}`)
    assert.equal(restores[0]?.id, shownId, 'the one the UI shows')
    assert.match(restores[0]?.message ?? '', new RegExp(`restore to ${beforeUpdate.slice(0, 12)}`))
    // the per-node outcome: the op's rows in the database (the UI's result page does not show nodes)
    const op = (await ops()).filter((o) => !opsBefore.has(o.id))
    assert.equal(op.length, 1, 'one fleet restore')
    assert.equal(op[0]?.phase, 'done')
    assert.deepEqual([...(op[0]?.participants ?? [])].sort(), ['a', 'b', 'c'])
    const reports = await opReports(op[0]!.id)
    assert.deepEqual(reports.map((r) => [r.node, r.status, r.verified, r.error]), [['a', 'done', true, null], ['b', 'done', true, null], ['c', 'done', true, null]])
    for (const id of ['a', 'b', 'c']) {
      const h = await eventually(`node ${id}'s /healthz to answer 200`, () => healthz(id), (x) => x.status === 200)
      assert.equal(h.body.ok, true)
    }
    assert.equal((await statusFleet('a')).drift, null, 'a no longer drifts')
    // each node's count is of its own files: a's were the target's already (it drifted from the update)
    assert.deepEqual(reports.map((r) => r.files), [0, 1, 1], "what each node wrote: a had the old plugin already; b and c had one file to write")
  })

  it("reverts a freeze violation on one node's files (follower c's) from the leader's gate, on that node only; the history shows both", async () => {
    const leader = await leaderOf(['a', 'b', 'c'], fleetOf)
    assert.equal(leader, 'a')
    await sameHistory(['a', 'b', 'c'])
    const beforeIds = new Set((await statesOf('a')).map((s) => s.id))
    // one freeze for the fleet: started on follower b, shown on c, enforced by the leader's gate and c's WordPress
    ok(await cli('b', ['freeze', 'start', '--for', '1h', '--reason', 'launch night']), 'freeze start on b')
    const frozen = await cli('c', ['--json', 'freeze', 'status'])
    ok(frozen, 'freeze status on c')
    assert.equal(frozen.json.active?.source, 'manual', 'node c knows the freeze started on b')
    const bridgeState = path.join(fleet.byId('c').bridgeDir, 'state.json')
    await eventually("c's WordPress bridge to know the freeze", async () => (fs.existsSync(bridgeState) ? (JSON.parse(fs.readFileSync(bridgeState, 'utf8')) as { freezes?: unknown[] }) : {}), (st) => (st.freezes?.length ?? 0) > 0)
    const before = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, stamps(id)]))
    const from = daemon(leader).lines.length
    const intruder = path.join(fleet.byId('c').wpContent, 'plugins', 'freeze-intruder.php')
    fs.writeFileSync(intruder, '<?php\n/* Plugin Name: Freeze Intruder */\n')
    fs.chownSync(intruder, fleet.wp.uid, fleet.wp.gid)
    await daemon(leader).waitFor((l) => l.msg === 'freeze: change reverted, waiting for approval', 60_000, from)
    await eventually("the intruder gone from c's plugins", async () => fs.existsSync(intruder), (there) => !there)
    for (const id of ['a', 'b', 'c']) sameTree(id, before[id]!, 'the freeze violation and its revert')
    await sameHistory(['a', 'b', 'c'])
    const added = (await list('c')).filter((s) => !beforeIds.has(s.id)).reverse()
    const change = added.findIndex((s) => /Freeze Intruder|freeze-intruder/.test(JSON.stringify([s.words, s.summary])))
    assert.ok(change >= 0, `the history has the violation: ${JSON.stringify(added)}`)
    const revert = added.slice(change + 1).find((s) => s.trigger === 'restore')
    assert.ok(revert, `and, after it, its revert: ${JSON.stringify(added)}`)
    assert.match(JSON.stringify([revert.words, revert.summary]), /Freeze Intruder|freeze-intruder/)
    // one change-request list for the fleet
    const requests = await cli('b', ['--json', 'requests'])
    ok(requests, 'requests on b')
    assert.equal(requests.json.length, 1, requests.stdout)
    assert.equal(requests.json[0].reverted, true)
    assert.deepEqual(requests.json[0].items.paths, ['plugins/freeze-intruder.php'])
    ok(await cli('c', ['freeze', 'stop', '--reason', 'launch done']), 'freeze stop on c')
    for (const id of ['a', 'b', 'c']) await eventually(`node ${id}'s /healthz 200`, () => healthz(id), (h) => h.status === 200)
  })

  it('node b stopped, then killed, while a restore stages: nothing is written anywhere; the retry without b works; b takes it when back', async () => {
    assert.ok(updateState, 'the update test ran')
    await sameHistory(['a', 'b', 'c'])
    for (const id of ['a', 'b', 'c']) assert.equal(readHello(id), helloOld)
    const beforeIds = (await statesOf('a')).map((s) => s.id)
    const before = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, stamps(id)]))
    const opsBefore = new Set((await ops()).map((o) => o.id))
    try {
      // b stops answering right before the restore begins: its heartbeat is fresh, so it is a participant, and it never stages
      process.kill(daemon('b').proc.pid!, 'SIGSTOP')
      let restoring: Promise<CliResult> | null = null
      try {
        restoring = cli('a', ['restore', updateState, '--yes'])
        const op = await eventually('the fleet restore to begin', async () => (await ops()).find((o) => !opsBefore.has(o.id)), (o) => !!o, 60_000)
        assert.ok(op!.participants.includes('b'), `b is a participant (its heartbeat was fresh): ${JSON.stringify(op)}`)
        assert.equal(op!.phase, 'staging')
        // and then b dies while the others stage
        await fleet.stop('b', 'SIGKILL')
        const r = await restoring
        assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`)
        assert.match(r.stderr, /node b\b/, r.stderr)
        assert.equal((await ops()).find((o) => o.id === op!.id)?.phase, 'aborted')
      } finally {
        if (fleet.byId('b').daemon) await fleet.stop('b', 'SIGKILL')
        await restoring
      }
      for (const id of ['a', 'b', 'c']) sameTree(id, before[id]!, 'the aborted restore')
      assert.deepEqual((await list('a')).map((s) => s.id), beforeIds, 'no new state: no restore snapshot')

      await eventually("a's status to show b down", () => fleetOf('a'), (f) => f.nodes.find((n) => n.node === 'b')?.up === false)
      const text = await cli('a', ['status'])
      ok(text, 'status on a')
      assert.match(text.stdout, /^ {2}b +DOWN +heartbeat/m)
      const retry = await cli('a', ['--json', 'restore', updateState, '--yes'])
      ok(retry, 'the retried restore')
      assert.equal(readHello('a'), helloNew)
      assert.equal(readHello('c'), helloNew)
      assert.equal(readHello('b'), helloOld, 'b was down: not written yet')
      // a's copy of the journal has it at once if a leads, else right after the leader's push
      const restored = (await eventually("a's history to show the restore", () => statesOf('a'), (s) => s[0]?.id === retry.json.snapshot, 30_000))[0]!
      assert.equal(restored.trigger, 'restore')
      assert.equal(restored.id, retry.json.snapshot)
      const op = (await ops())[0]!
      assert.deepEqual([op.phase, [...op.participants].sort()], ['done', ['a', 'c']], 'the retry ran on the nodes up')
      assert.deepEqual((await opReports(op.id)).map((r) => [r.node, r.status, r.verified]), [['a', 'done', true], ['c', 'done', true]])

      const back = await start('b')
      await back.waitFor((l) => l.msg.startsWith('a fleet restore ran while this node was down'), 60_000)
      await eventually("b's files to be the restored state", async () => readHello('b'), (s) => s === helloNew)
      await eventually("b's /healthz 200", () => healthz('b'), (h) => h.status === 200, 60_000)
      const sb = await statusFleet('b')
      assert.equal(sb.drift, null)
      assert.equal(sb.role, 'follower')
      // the per-node report as `restore --json` gives it to an operator
      const nodes = (retry.json.fleet?.nodes ?? []) as OpNodeJson[]
      assert.deepEqual(nodes.map((n) => [n.node, n.status, n.verified]).sort(), [['a', 'done', true], ['c', 'done', true]], `restore --json names each node: ${retry.stdout}`)
    } finally {
      // the tests after this one need b
      if (!fleet.byId('b').daemon) await start('b')
    }
  })

  it('kill -9 of the leader: another node takes the leadership and records the next settings change, once', async () => {
    const leader = await leaderOf(['a', 'b', 'c'], fleetOf)
    const others = ['a', 'b', 'c'].filter((id) => id !== leader)
    const from = Object.fromEntries(others.map((id) => [id, daemon(id).lines.length]))
    await fleet.stop(leader, 'SIGKILL')
    const next = await Promise.any(others.map((id) => daemon(id).waitFor((l) => l.msg.startsWith(LEADER_LINE), 30_000, from[id]).then(() => id)))
    assert.equal(await leaderOf(others), next, 'exactly one of the others leads, the one that said so')
    await sameHistory(others)
    const beforeIds = new Set((await statesOf(next)).map((s) => s.id))
    const title = `Fleet Shop after ${leader}`
    const snapFrom = daemon(next).lines.length
    await fleet.db.conn.query(`UPDATE \`${fleet.db.prefix}options\` SET option_value = ? WHERE option_name = 'blogname'`, [title])
    const snap = await daemon(next).waitFor((l) => l.msg === 'snapshot' && /blogname/.test(String(l.summary)), 30_000, snapFrom)
    await sameHistory(others, String(snap.state))
    for (const id of others) {
      const added = (await (id === next ? statesOf(id) : list(id))).filter((s) => !beforeIds.has(s.id))
      assert.deepEqual(added.map((s) => s.id), [String(snap.state)], `node ${id}: the change recorded once: ${JSON.stringify(added)}`)
    }
    const shown = await cli(others.find((id) => id !== next)!, ['--json', 'show', String(snap.state)])
    ok(shown, 'show')
    assert.match(JSON.stringify(shown.json.changes?.options), /"name":"blogname"/)
  })

  it('recover --from-s3 on a fresh fourth host: its list is the fleet\'s', async () => {
    const up = fleet.nodes.filter((n) => n.daemon).map((n) => n.id)
    assert.ok(up.length >= 2, `nodes up: ${up.join(', ')}`)
    await sameHistory(up)
    const fleetIds = (await list(up[0]!)).map((s) => s.id)
    const host = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-fleet-d-'))
    try {
      const dataDir = path.join(host, 'data')
      const configFile = path.join(host, 'peakguard.yaml')
      const from = fs.readFileSync(fleet.byId('c').configFile, 'utf8')
      const config = from
        .replace(/^ui:.*\n/m, '')
        .replace(/^log:.*\n/m, '')
        .replace(/^node: .*$/m, 'node: d')
        .replace(/^dataDir: .*$/m, `dataDir: ${dataDir}`)
      assert.match(config, /^node: d$/m)
      fs.writeFileSync(configFile, config)
      const rec = await runCli(['--config', configFile, 'recover', '--from-s3', '--site', fleet.siteId, '--data-dir', dataDir, '--json'], S3_CREDS)
      ok(rec, 'recover --from-s3')
      assert.equal(rec.json.head, fleetIds[0])
      const listed = await runCli(['--config', configFile, '--json', 'list'], S3_CREDS)
      ok(listed, 'list on d')
      assert.deepEqual((listed.json as StateJson[]).map((s) => s.id), fleetIds)
    } finally {
      fs.rmSync(host, { recursive: true, force: true })
    }
  })
})

describe('a fleet set up node by node: peakguard users made on each node before its daemon first runs', function () {
  this.timeout(180_000)
  let fleet: TestFleet

  before(async () => {
    fleet = await createFleet({ nodes: ['a', 'b'] })
  })
  after(async () => {
    await fleet?.cleanup()
  })

  it("every node's daemon joins the fleet, and every node has the one history", async () => {
    // as an operator sets up each host: its users first (each audited), then its daemon
    const tokens: Record<string, string> = {}
    for (const n of fleet.nodes) tokens[n.id] = await adminOf(n.configFile)
    const a = await fleet.start('a')
    await a.waitFor((l) => l.msg === 'site started', 60_000)
    const b = await fleet.start('b')
    await b.waitFor((l) => l.msg === 'site started', 60_000)
    const get = async <T>(id: string, p: string): Promise<T> => {
      const r = await fetch(`${fleet.byId(id).daemon!.url}${p}`, { headers: { authorization: `Bearer ${tokens[id]}` } })
      assert.equal(r.status, 200, `GET ${p} on node ${id}`)
      return (await r.json()) as T
    }
    const end = Date.now() + 30_000
    let seen = ''
    for (;;) {
      const views = await Promise.all(['a', 'b'].map(async (id) => {
        const st = await get<{ sites: { fleet: FleetJson | null }[] }>(id, '/api/status')
        return { fleet: st.sites[0]?.fleet, head: (await get<StateJson[]>(id, `/api/sites/${fleet.siteId}/states`))[0]?.id }
      }))
      seen = JSON.stringify(views.map((v) => ({ nodes: v.fleet?.nodes.map((n) => [n.node, n.up]), head: v.head })))
      if (views.every((v) => v.fleet?.nodes.length === 2 && v.fleet.nodes.every((n) => n.up) && v.head && v.head === views[0]!.head)) break
      assert.ok(Date.now() < end, `both nodes up, with the same newest state, on both: ${seen}`)
      await sleep(250)
    }
    for (const id of ['a', 'b']) assert.equal(fleet.byId(id).daemon!.proc.exitCode, null, `node ${id}'s daemon runs`)
  })
})
