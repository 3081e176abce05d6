// Issue 19's `fleet.sharedFiles: true` end to end on real parts: two web nodes whose configs name ONE wp-content
// (as one shared over NFS/EFS), one MariaDB, one s3rver. The shared directory is one copy: only the settings
// leader records it (by scanning: inotify does not see another client's writes on such a share) and only the
// leader writes it in a restore; the follower neither records nor writes, and neither node drifts. Every check
// is what an operator would look at: each node's `status --json`, /healthz, `list`, `show`, `restore --json`,
// the daemons' logs and the shared directory. Waits are bounded waits for a log line or a condition.
//
// One fleet for the file, in the order of its life: both daemons up, a plugin dropped into the shared plugins
// dir, a restore from the follower's CLI, then the leader killed (kill -9) and the follower taking over.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import type { LogLine, RunningDaemon } from './harness/daemon.ts'
import { createFleet, eventually, type TestFleet } from './harness/fleet.ts'
import type { CliResult } from './harness/site.ts'
import { ok } from './harness/users.ts'
import { WpClient } from './harness/wordpress.ts'

interface StateJson {
  id: string
  trigger: string
  message: string
  summary: string
  words: string[] | null
}

interface FleetJson {
  node: string
  role: 'leader' | 'follower'
  leader: string | null
  nodes: { node: string; role: string; up: boolean; drift: unknown }[]
  drift: { paths: string[] } | null
}

interface SiteStatusJson {
  mode: 'starting' | 'watch' | 'scan' | 'stopped'
  modeReason: string | null
  fleet: FleetJson | null
}

interface OpNodeJson {
  node: string
  status: string
  files: number
  verified: boolean | null
  error: string | null
}

const LEADER_LINE = 'this node is now the settings leader'
/** what the follower's converge logs when it writes files itself: never, on a shared wp-content */
const FILES_WRITTEN_LINE = "this node's files are now those of"
/** Runs every WP-Cron event due in the next 10 minutes now (as test/fleet.test.ts does): the options WordPress adds on its own come before any daemon. */
const RUN_CRON = `foreach ( (array) _get_cron_array() as $ts => $hooks ) {
  if ( $ts > time() + 600 ) continue;
  foreach ( $hooks as $hook => $events ) foreach ( $events as $e ) {
    if ( ! empty( $e['schedule'] ) ) wp_reschedule_event( $ts, $e['schedule'], $hook, $e['args'] );
    wp_unschedule_event( $ts, $hook, $e['args'] );
    do_action_ref_array( $hook, $e['args'] );
  }
}
for ( $i = 0; $i < 20 && ! get_option( 'finished_updating_comment_type' ); $i++ ) _wp_batch_update_comment_type();
wp_clear_scheduled_hook( 'wp_update_comment_type_batch' );
if ( ! get_option( 'finished_updating_comment_type' ) ) { fwrite( STDERR, 'the comment-type batch did not finish' ); exit( 1 ); }
echo 'ok';`

describe('a fleet of two nodes sharing one wp-content (fleet.sharedFiles, issue 19)', function () {
  this.timeout(180_000)
  let fleet: TestFleet
  /** the newest state before the plugin was dropped in, and the state it was recorded as */
  let beforeAdd = ''
  let added = ''
  const PLUGIN = 'plugins/shared-drop.php'

  const daemon = (id: string): RunningDaemon => {
    const d = fleet.byId(id).daemon
    assert.ok(d, `node ${id}'s daemon runs`)
    return d
  }
  const cli = (id: string, args: string[]): Promise<CliResult> => fleet.cli(id, args)
  /** `peakguard status --json`'s daemon part for the site, as an operator reads it */
  const siteStatus = async (id: string): Promise<SiteStatusJson> => {
    const r = await cli(id, ['--json', 'status'])
    ok(r, `status on node ${id}`)
    const s = r.json?.daemon?.site as SiteStatusJson | undefined
    assert.ok(s?.fleet, `node ${id}'s status --json names the daemon's site and its fleet: ${r.stdout.slice(0, 600)}`)
    return s
  }
  const list = async (id: string): Promise<StateJson[]> => {
    const r = await cli(id, ['--json', 'list'])
    ok(r, `list on node ${id}`)
    return r.json as StateJson[]
  }
  /** the node's daemon's states (no users: /api is open on the UI's address) */
  const statesOf = async (id: string): Promise<StateJson[]> => {
    const r = await fetch(`${daemon(id).url}/api/sites/${fleet.siteId}/states`, { signal: AbortSignal.timeout(10_000) })
    assert.equal(r.status, 200, `the states on node ${id}`)
    return (await r.json()) as StateJson[]
  }
  const healthz = async (id: string): Promise<number> => {
    const r = await fetch(`${daemon(id).url}/healthz`, { signal: AbortSignal.timeout(10_000) })
    await r.arrayBuffer()
    return r.status
  }

  /** The nodes' daemons have the same newest state, and it is `head` when given. */
  const sameHistory = (ids: string[], head?: string) =>
    eventually(
      `the same newest state on nodes ${ids.join(', ')}${head ? ` (${head.slice(0, 12)})` : ''}`,
      () => Promise.all(ids.map((id) => statesOf(id))),
      (all) => all.every((s) => s[0]?.id === (head ?? all[0]?.[0]?.id)),
    )
  const snapshots = (d: RunningDaemon, from = 0): LogLine[] => d.lines.slice(from).filter((l) => l.msg === 'snapshot')
  const shared = (p: string) => path.join(fleet.byId('a').wpContent, p)
  const dropPlugin = (p: string, name: string) => {
    fs.writeFileSync(shared(p), `<?php\n/* Plugin Name: ${name} */\n`)
    fs.chownSync(shared(p), fleet.wp.uid, fleet.wp.gid)
  }

  before(async () => {
    fleet = await createFleet({ nodes: ['a', 'b'], sharedContent: true })
    // WordPress adds options on its first loads and from WP-Cron: all of it before the daemons, or the leader records them meanwhile
    await fleet.wp.php(RUN_CRON)
    for (const n of fleet.nodes) await new WpClient(n.url).get('/')
    await (await fleet.client('a')).get('/wp-admin/plugins.php')
    // a first: it takes the settings leadership before b is there
    const a = await fleet.start('a')
    await a.waitFor((l) => l.msg.startsWith(LEADER_LINE), 30_000)
    await a.waitFor((l) => l.msg === 'site started', 60_000)
    const b = await fleet.start('b')
    await b.waitFor((l) => l.msg === 'site started', 60_000)
  })

  after(async () => {
    await fleet?.cleanup()
  })

  it('the two configs name one wp-content, and both nodes serve it', async () => {
    assert.equal(fleet.byId('b').wpContent, fleet.byId('a').wpContent)
    for (const n of fleet.nodes) {
      const text = fs.readFileSync(n.configFile, 'utf8')
      assert.match(text, new RegExp(`^ {4}wpContent: ${fleet.byId('a').wpContent}$`, 'm'), `node ${n.id}'s config`)
      assert.match(text, /^ {6}sharedFiles: true$/m, `node ${n.id}'s config`)
      assert.equal((await new WpClient(n.url).get('/')).status, 200, `node ${n.id}'s home page`)
    }
  })

  it('a plugin dropped into the shared plugins dir is recorded once, by the leader, by scanning', async () => {
    for (const id of ['a', 'b'])
      await eventually(`node ${id} to see both nodes up, a leading`, async () => (await siteStatus(id)).fleet!, (f) => f.leader === 'a' && f.nodes.length === 2 && f.nodes.every((n) => n.up))
    const sa = await siteStatus('a')
    assert.equal(sa.fleet?.role, 'leader')
    assert.equal(sa.mode, 'scan', `the leader scans: ${JSON.stringify(sa)}`)
    assert.match(sa.modeReason ?? '', /fleet\.sharedFiles/, 'the reason names fleet.sharedFiles')
    assert.match(sa.modeReason ?? '', /inotify/)
    assert.equal((await siteStatus('b')).fleet?.role, 'follower')

    await sameHistory(['a', 'b'])
    beforeAdd = (await list('b'))[0]!.id
    const beforeIds = new Set((await list('a')).map((s) => s.id))
    const fromA = daemon('a').lines.length
    const fromB = daemon('b').lines.length
    dropPlugin(PLUGIN, 'Shared Drop')
    const snap = await daemon('a').waitFor((l) => l.msg === 'snapshot', 30_000, fromA)
    added = String(snap.state)
    assert.equal(snap.trigger, 'scan', `recorded by a scan: ${JSON.stringify(snap)}`)
    await sameHistory(['a', 'b'], added)
    for (const id of ['a', 'b']) {
      const now = (await list(id)).filter((s) => !beforeIds.has(s.id))
      assert.deepEqual(now.map((s) => s.id), [added], `node ${id}'s list: the drop recorded once: ${JSON.stringify(now)}`)
    }
    const shown = await cli('b', ['--json', 'show', added])
    ok(shown, 'show on b')
    assert.deepEqual(shown.json.changes.files, [{ path: PLUGIN, change: 'added' }])
    assert.match(JSON.stringify(shown.json.words), /Shared Drop/)
    assert.deepEqual(snapshots(daemon('a'), fromA).map((l) => l.state), [added], "the leader's log: one snapshot")
    assert.deepEqual(snapshots(daemon('b'), fromB), [], "the follower's log: no snapshot of the shared files")
    assert.deepEqual(snapshots(daemon('b')), [], 'the follower never recorded')
  })

  it('neither node drifts (one copy): both /healthz 200', async () => {
    assert.ok(added, 'the drop test ran')
    for (const id of ['a', 'b']) {
      await eventually(`node ${id}'s /healthz 200`, () => healthz(id), (s) => s === 200)
      const f = (await siteStatus(id)).fleet!
      assert.equal(f.drift, null, `node ${id}'s status: no drift`)
      assert.deepEqual(f.nodes.filter((n) => n.drift).map((n) => n.node), [], `node ${id} sees no node drifting`)
    }
  })

  it("a restore from the follower's CLI removes the file once (the leader writes), on both nodes 'done'", async () => {
    assert.ok(added && beforeAdd, 'the drop test ran')
    await sameHistory(['a', 'b'], added)
    const fromA = daemon('a').lines.length
    const fromB = daemon('b').lines.length
    const r = await cli('b', ['--json', 'restore', beforeAdd, '--yes'])
    ok(r, 'restore on b')
    assert.equal(fs.existsSync(shared(PLUGIN)), false, 'the drop is gone from the shared plugins dir')
    const nodes = (r.json?.fleet?.nodes ?? []) as OpNodeJson[]
    assert.deepEqual(
      nodes.map((n) => [n.node, n.status, n.files, n.verified, n.error]).sort(),
      [['a', 'done', 1, true, null], ['b', 'done', 0, true, null]],
      `restore --json names both nodes, the follower wrote nothing: ${r.stdout}`,
    )
    const restored = String(r.json.snapshot)
    await sameHistory(['a', 'b'], restored)
    const history = await list('a')
    assert.deepEqual(history.slice(0, 2).map((s) => s.id), [restored, added], 'one restore state on top of the drop')
    assert.equal(history[0]?.trigger, 'restore')
    assert.deepEqual(daemon('b').lines.slice(fromB).filter((l) => l.msg.startsWith(FILES_WRITTEN_LINE) || l.level === 'error'), [], "the follower's log: it wrote no files, no error")
    // the leader's next scans see the restored files as the newest state: nothing new to record
    let quiet = 0
    await daemon('a').waitFor((l) => l.msg === 'nothing in scope changed' && ++quiet >= 2, 30_000, fromA)
    assert.deepEqual(snapshots(daemon('a'), fromA), [], 'the restore is not recorded again as a change')
    assert.equal((await list('b'))[0]?.id, restored)
    for (const id of ['a', 'b']) {
      await eventually(`node ${id}'s /healthz 200 after the restore`, () => healthz(id), (s) => s === 200)
      assert.equal((await siteStatus(id)).fleet?.drift, null, `node ${id} does not drift after the restore`)
    }
  })

  it('kill -9 of the leader: the follower leads, scans, and records the next drop', async () => {
    const head = (await statesOf('b'))[0]!.id
    const fromB = daemon('b').lines.length
    await fleet.stop('a', 'SIGKILL')
    await daemon('b').waitFor((l) => l.msg.startsWith(LEADER_LINE), 30_000, fromB)
    const sb = await siteStatus('b')
    assert.equal(sb.fleet?.role, 'leader')
    assert.equal(sb.mode, 'scan')
    assert.match(sb.modeReason ?? '', /fleet\.sharedFiles/)
    const beforeIds = new Set((await list('b')).map((s) => s.id))
    assert.equal([...beforeIds][0], head, 'nothing recorded at the takeover: the shared files were recorded already')
    const from = daemon('b').lines.length
    dropPlugin('plugins/after-failover.php', 'After Failover')
    const snap = await daemon('b').waitFor((l) => l.msg === 'snapshot', 30_000, from)
    assert.equal(snap.trigger, 'scan')
    const now = (await list('b')).filter((s) => !beforeIds.has(s.id))
    assert.deepEqual(now.map((s) => s.id), [String(snap.state)], `the drop recorded once, by b: ${JSON.stringify(now)}`)
    const shown = await cli('b', ['--json', 'show', String(snap.state)])
    ok(shown, 'show on b')
    assert.deepEqual(shown.json.changes.files, [{ path: 'plugins/after-failover.php', change: 'added' }])
    await eventually("node b's /healthz 200", () => healthz('b'), (s) => s === 200)
  })
})
