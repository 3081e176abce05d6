// MysqlFleet on a real MariaDB: the leader lock as two daemons of one site see it (one leads; a leader whose
// connection dies — a kill -9 — leaves the lock to the next at once), the journal lock (one writer across nodes and
// within one process, re-entrant, BUSY naming the holder), the nodes, journal and events tables (hostile ids stored
// as given, a broken row read without an error), and peakguard's names fitting the server's limits.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import type mysql from 'mysql2/promise'
import { MAX_EVENT_BYTES, MysqlFleet, type FleetDb } from '../../src/adapters/mysql-fleet.ts'
import type { NodeReport } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { freePort, mariadb, rootConnection } from '../harness/mariadb.ts'

const tick = () => new Promise((r) => setImmediate(r))
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A promise and its resolver: a step of a test that another step lets go. */
function latch(): { wait: Promise<void>; open: () => void } {
  let open = () => {}
  const wait = new Promise<void>((r) => (open = r))
  return { wait, open }
}

const report = (over: Partial<NodeReport> = {}): NodeReport => ({
  role: 'follower',
  pid: 4242,
  startedAt: '2025-01-02T03:04:05.000Z',
  head: 'a'.repeat(40),
  drift: null,
  compared: true,
  listen: '127.0.0.1:8080',
  ...over,
})

const isBusy = (holder: RegExp) => (e: unknown) => {
  assert.ok(e instanceof PeakguardError, String(e))
  assert.equal(e.code, 'BUSY')
  assert.match(e.message, holder)
  return true
}

describe('MysqlFleet: fleet coordination in MariaDB', function () {
  this.timeout(60_000)
  let root: mysql.Connection
  let name: string
  let db: FleetDb
  let fleets: MysqlFleet[] = []
  const open = (node: string, site = 'shop', on: FleetDb = db) => {
    const f = new MysqlFleet(on, site, node)
    fleets.push(f)
    return f
  }
  /** the connection that holds a lock (0: none) */
  const holderOf = async (lock: string) => {
    const [rows] = await root.query<mysql.RowDataPacket[]>('SELECT IS_USED_LOCK(?) AS id', [lock])
    return Number(rows[0]?.id ?? 0)
  }
  /** KILL a connection as an operator (or the kernel, with the process) would end it; returns once the server freed its locks */
  const kill = async (lock: string) => {
    const id = await holderOf(lock)
    assert.ok(id > 0, `someone holds ${lock}`)
    await root.query('KILL ?', [id])
    while ((await holderOf(lock)) === id) await pause(10)
  }
  /** waits until `count` connections of the test's database are waiting in GET_LOCK */
  const waitingForLock = async (count: number) => {
    for (;;) {
      const [rows] = await root.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE 'SELECT GET_LOCK%'", [name])
      if (Number(rows[0]?.n) >= count) return
      await pause(10)
    }
  }

  beforeEach(async () => {
    const server = await mariadb()
    name = `pg_fleet_${randomBytes(4).toString('hex')}`
    root = await rootConnection()
    await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`)
    db = { host: server.host, port: server.port, socket: null, user: server.user, password: server.password, name, tablePrefix: 'wp_' }
    await open('setup').ensure()
  })
  afterEach(async () => {
    await Promise.all(fleets.map((f) => f.close()))
    fleets = []
    await root?.query(`DROP DATABASE IF EXISTS \`${name}\``)
    await root?.end()
  })

  it('ensure creates the fleet tables (all wp_peakguard_*) and may run again; events older than a day go at the first share of a process', async () => {
    const [tables] = await root.query<mysql.RowDataPacket[]>('SELECT TABLE_NAME AS t, ENGINE AS e FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME', [name])
    assert.deepEqual(
      tables.map((t) => [t.t, t.e]).sort(),
      ['docs', 'events', 'journal', 'nodes', 'op_nodes', 'ops'].map((t) => [`wp_peakguard_${t}`, 'InnoDB']).sort(),
    )
    assert.deepEqual([...open('a').tables].sort(), tables.map((t) => String(t.t)).sort())
    await root.query(`INSERT INTO \`${name}\`.wp_peakguard_events (site, node, line, at) VALUES ('shop', 'x', 'old', NOW(3) - INTERVAL 25 HOUR), ('shop', 'x', 'new', NOW(3) - INTERVAL 23 HOUR)`)
    const a = open('a')
    await a.ensure()
    await a.ensure()
    const lines = async () => (await root.query<mysql.RowDataPacket[]>(`SELECT line FROM \`${name}\`.wp_peakguard_events ORDER BY id`))[0].map((r) => r.line)
    // ensure runs at every CLI command of a node: it reads only
    assert.deepEqual(await lines(), ['old', 'new'])
    await a.shareEvents(['{"e":1}'])
    assert.deepEqual(await lines(), ['new', '{"e":1}'])
  })

  it('one leader: the first takes the lock, the second does not; asking again keeps it without nesting; resign frees it', async () => {
    const a = open('a')
    const b = open('b')
    assert.equal(await a.leading(), false, 'no lock asked for yet')
    assert.equal(await a.tryLead(), true)
    assert.equal(await b.tryLead(), false)
    assert.equal(await a.tryLead(), true, 'already held: true')
    assert.equal(await a.leading(), true)
    assert.equal(await b.leading(), false)
    // the second tryLead did not take it a second time: MariaDB counts nested GET_LOCKs, and one RELEASE_LOCK on
    // the leader's own connection (what resign sends before it closes it) frees the lock
    const lead = (a as unknown as { conns: { lead: mysql.Connection } }).conns.lead
    const [[released]] = (await lead.query('SELECT RELEASE_LOCK(?) AS r, IS_FREE_LOCK(?) AS f', [a.locks.lead, a.locks.lead])) as unknown as [[{ r: number; f: number }]]
    assert.deepEqual({ ...released }, { r: 1, f: 1 })
    assert.equal(await a.leading(), false)
    assert.equal(await a.tryLead(), true)
    await a.resign()
    assert.equal(await holderOf(a.locks.lead), 0)
    assert.equal(await a.leading(), false)
    assert.equal(await b.tryLead(), true)
    assert.equal(await a.tryLead(), false)
  })

  it("a leader whose connection dies (kill -9) loses the lock: the next node takes it in one call, and the old one knows it no longer leads", async () => {
    const a = open('a')
    const b = open('b')
    assert.equal(await a.tryLead(), true)
    assert.equal(await b.tryLead(), false)
    await kill(a.locks.lead)
    assert.equal(await b.tryLead(), true)
    assert.equal(await a.leading(), false)
    assert.equal(await a.tryLead(), false, 'a reconnects and finds b leading')
    assert.equal(await b.leading(), true)
    // a's new connection works: it takes the lock once b is gone
    await kill(b.locks.lead)
    assert.equal(await a.tryLead(), true)
    assert.equal(await a.leading(), true)
    assert.equal(await b.leading(), false)
  })

  it('a leader whose own connection was killed while idle takes the lock again in one call', async () => {
    const a = open('a')
    assert.equal(await a.tryLead(), true)
    await kill(a.locks.lead)
    assert.equal(await a.tryLead(), true)
    assert.equal(await a.leading(), true)
  })

  it('the journal lock: one writer across nodes; a short wait is BUSY naming the holder, a longer one gets it once the holder is done', async () => {
    const a = open('a')
    const b = open('b')
    await a.heartbeat(report())
    await b.heartbeat(report())
    const order: string[] = []
    const release = latch()
    const held = latch()
    const first = a.withJournal(5_000, async () => {
      order.push('a in')
      held.open()
      await release.wait
      order.push('a out')
      return 'a done'
    })
    await held.wait
    await assert.rejects(b.withJournal(0, async () => order.push('b too early')), isBusy(/site shop is being written by node a \(waited 0s\)/))
    await assert.rejects(b.withJournal(1_000, async () => order.push('b too early')), isBusy(/by node a \(waited 1s\)/))
    const second = b.withJournal(20_000, async () => {
      order.push('b in')
      return 'b done'
    })
    await waitingForLock(1)
    assert.deepEqual(order, ['a in'])
    release.open()
    assert.deepEqual(await Promise.all([first, second]), ['a done', 'b done'])
    assert.deepEqual(order, ['a in', 'a out', 'b in'])
    assert.equal(await holderOf(a.locks.journal), 0, 'released')
  })

  it('a holder that never wrote a heartbeat is "another node"; an error in fn releases the lock', async () => {
    const a = open('a')
    const b = open('b')
    const release = latch()
    const held = latch()
    const first = a.withJournal(5_000, async () => {
      held.open()
      await release.wait
      throw new Error('the commit failed')
    })
    await held.wait
    await assert.rejects(b.withJournal(0, async () => 1), isBusy(/being written by another node/))
    release.open()
    await assert.rejects(first, /the commit failed/)
    assert.equal(await b.withJournal(0, async () => 'b got it'), 'b got it')
  })

  it('re-entrant within one chain of calls; unrelated calls of one process queue and never overlap', async () => {
    const a = open('a')
    const b = open('b')
    await a.heartbeat(report())
    // the nested call runs at once (a second GET_LOCK would nest; a queue would deadlock)
    const nested = await a.withJournal(1_000, async () => {
      await assert.rejects(b.withJournal(0, async () => 1), isBusy(/node a/))
      return a.withJournal(0, async () => a.withJournal(0, async () => 'inner'))
    })
    assert.equal(nested, 'inner')
    assert.equal(await holderOf(a.locks.journal), 0, 'one release freed it: the nested calls took nothing')

    let inside = 0
    let most = 0
    const ran: number[] = []
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        a.withJournal(10_000, async () => {
          inside++
          most = Math.max(most, inside)
          for (let i = 0; i < 20; i++) await tick()
          ran.push(n)
          inside--
        }),
      ),
    )
    assert.equal(most, 1, 'never two at once')
    assert.deepEqual(ran, [1, 2, 3, 4], 'in the order they asked')

    // a call of this process that cannot wait says so (the holder is this node itself)
    const release = latch()
    const held = latch()
    const first = a.withJournal(1_000, async () => {
      held.open()
      await release.wait
    })
    await held.wait
    await assert.rejects(a.withJournal(0, async () => 1), isBusy(/by node a \(this node, another task\)/))
    release.open()
    await first
    // a call made from inside fn that runs after fn's chain ended (a task it started) takes the lock itself
    const after = latch()
    let later: Promise<string> | undefined
    await a.withJournal(1_000, async () => {
      later = after.wait.then(() => a.withJournal(5_000, async () => ((await holderOf(a.locks.journal)) > 0 ? 'locked' : 'unlocked')))
    })
    assert.equal(await holderOf(a.locks.journal), 0)
    after.open()
    assert.equal(await later, 'locked')
  })

  it('a journal connection that dies while fn runs: fn finishes, the lock is gone with it, and the next call connects afresh', async () => {
    const a = open('a')
    const b = open('b')
    assert.equal(
      await a.withJournal(1_000, async () => {
        await kill(a.locks.journal)
        return 'done'
      }),
      'done',
    )
    assert.equal(await b.withJournal(0, async () => 'b'), 'b')
    assert.equal(await a.withJournal(0, async () => 'a again'), 'a again')
  })

  it('heartbeat and nodes: every field back, ages by the server clock, newest first; a row with a broken report is read with safe defaults', async () => {
    const a = open('a')
    const b = open('b')
    const drift = { desired: 'f'.repeat(40), count: 2, paths: ['plugins/x/x.php', 'themes/t/style.css'], units: ['plugin x', 'theme t'], at: '2025-01-02T03:04:05.000Z' }
    await a.heartbeat(report({ role: 'leader', pid: 11, drift, compared: true }))
    await a.heartbeat(report({ role: 'leader', pid: 12, drift, compared: true, head: 'b'.repeat(40) }))
    await b.heartbeat(report({ head: null, compared: false, listen: '' }))
    // a's last heartbeat an hour ago, by the server's clock
    await root.query(`UPDATE \`${name}\`.wp_peakguard_nodes SET heartbeat_at = NOW(3) - INTERVAL 1 HOUR WHERE node = 'a'`)
    const nodes = await b.nodes()
    assert.deepEqual(
      nodes.map((n) => n.node),
      ['b', 'a'],
      'newest heartbeat first',
    )
    const [nb, na] = nodes as [NonNullable<(typeof nodes)[0]>, NonNullable<(typeof nodes)[0]>]
    assert.deepEqual({ ...na, heartbeatAt: '', ageSeconds: 0 }, { node: 'a', ...report({ role: 'leader', pid: 12, drift, compared: true, head: 'b'.repeat(40) }), heartbeatAt: '', ageSeconds: 0 })
    assert.deepEqual({ ...nb, heartbeatAt: '', ageSeconds: 0 }, { node: 'b', ...report({ head: null, compared: false, listen: '' }), heartbeatAt: '', ageSeconds: 0 })
    assert.ok(nb.ageSeconds >= 0 && nb.ageSeconds < 60, `b's age ${nb.ageSeconds}`)
    assert.ok(na.ageSeconds >= 3600 && na.ageSeconds < 3660, `a's age ${na.ageSeconds}`)
    assert.match(na.heartbeatAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.equal(Date.parse(nb.heartbeatAt) - Date.parse(na.heartbeatAt) >= 3_599_000, true, 'both times on one clock (UTC)')

    // rows another version (or a bug) wrote: unreadable JSON, a JSON array, a drift of the wrong shape
    await root.query(
      `INSERT INTO \`${name}\`.wp_peakguard_nodes (site, node, role, pid, started_at, head, report, heartbeat_at) VALUES
       ('shop', 'broken', 'leader', 7, 'then', NULL, '{not json', NOW(3) - INTERVAL 2 HOUR),
       ('shop', 'array', 'nonsense', 8, 'then', 'h', '[1, 2]', NOW(3) - INTERVAL 3 HOUR),
       ('shop', 'odd', 'follower', 9, 'then', NULL, '{"role":"boss","pid":"x","drift":{"count":"many"},"compared":true,"listen":5}', NOW(3) - INTERVAL 4 HOUR)`,
    )
    const all = await a.nodes()
    assert.deepEqual(
      all.map((n) => n.node),
      ['b', 'a', 'broken', 'array', 'odd'],
    )
    const strip = (n: (typeof all)[0]) => ({ ...n, heartbeatAt: '', ageSeconds: 0 })
    assert.deepEqual(all.slice(2).map(strip), [
      { node: 'broken', role: 'leader', pid: 7, startedAt: 'then', head: null, drift: null, compared: false, listen: '', heartbeatAt: '', ageSeconds: 0 },
      { node: 'array', role: 'follower', pid: 8, startedAt: 'then', head: 'h', drift: null, compared: false, listen: '', heartbeatAt: '', ageSeconds: 0 },
      { node: 'odd', role: 'follower', pid: 9, startedAt: 'then', head: null, drift: null, compared: true, listen: '', heartbeatAt: '', ageSeconds: 0 },
    ])

    assert.equal(await a.forget('broken'), true)
    assert.equal(await a.forget('broken'), false)
    assert.deepEqual((await open('x', 'another site').nodes()).length, 0, "another site's nodes are its own")
  })

  it('announce and journal: where the shared journal stands, by which node, per site', async () => {
    const a = open('a')
    const b = open('b')
    assert.equal(await a.journal(), null)
    await a.announce({ seq: 3, head: 'c'.repeat(40), pending: true })
    const mark = await b.journal()
    assert.deepEqual({ ...mark, at: '' }, { seq: 3, head: 'c'.repeat(40), node: 'a', pending: true, at: '' })
    assert.match(mark?.at ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    await b.announce({ seq: 4, head: null, pending: false })
    assert.deepEqual({ ...(await a.journal()), at: '' }, { seq: 4, head: null, node: 'b', pending: false, at: '' })
    assert.equal(await open('a', 'another site').journal(), null)
    await assert.rejects(a.announce({ seq: -1, head: null, pending: false }), { code: 'INTERNAL' })
  })

  it('once closed, it opens no connection again (a task still running in a stopping daemon would keep it alive): DB_UNREACHABLE', async () => {
    const a = open('a')
    await a.nodes()
    await a.close()
    await assert.rejects(a.nodes(), (e: unknown) => e instanceof PeakguardError && e.code === 'DB_UNREACHABLE' && /closed: this process is stopping/.test(e.message))
    await assert.rejects(a.tryLead(), (e: unknown) => e instanceof PeakguardError && e.code === 'DB_UNREACHABLE')
  })

  it("shared events: other nodes' only, after an id, oldest first, at most limit; over-long lines dropped; old ones deleted at the first call, then every 100", async () => {
    const a = open('a')
    const b = open('b')
    const other = open('a', 'another site')
    assert.equal(await a.lastEventId(), 0)
    await a.shareEvents([])
    await a.shareEvents(['{"e":1}', '{"e":2}'])
    await b.shareEvents(['{"e":3}'])
    await other.shareEvents(['{"elsewhere":1}'])
    const exact = `"${'x'.repeat(MAX_EVENT_BYTES - 2)}"`
    await a.shareEvents([`"${'y'.repeat(MAX_EVENT_BYTES)}"`, '{"e":4}', exact, `"${'€'.repeat(MAX_EVENT_BYTES / 3)}"`])
    const seen = await b.sharedEvents(0, 100)
    assert.deepEqual(
      seen.map((e) => [e.node, e.line]),
      [['a', '{"e":1}'], ['a', '{"e":2}'], ['a', '{"e":4}'], ['a', exact]],
    )
    assert.deepEqual(
      seen.map((e) => e.id),
      [...seen.map((e) => e.id)].sort((x, y) => x - y),
    )
    assert.deepEqual((await a.sharedEvents(0, 100)).map((e) => e.line), ['{"e":3}'])
    assert.deepEqual((await b.sharedEvents(seen[0]?.id ?? 0, 2)).map((e) => e.line), ['{"e":2}', '{"e":4}'])
    assert.deepEqual(await b.sharedEvents(seen[3]?.id ?? 0, 10), [])
    assert.equal(await b.lastEventId(), seen[3]?.id)
    assert.ok((await other.lastEventId()) < (seen[3]?.id ?? 0))
    await assert.rejects(b.sharedEvents(-1, 10), { code: 'INTERNAL' })

    // a batch larger than one INSERT holds
    await b.shareEvents(Array.from({ length: 250 }, (_, i) => `{"n":${i}}`))
    assert.deepEqual(
      (await a.sharedEvents(0, 1000)).map((e) => e.line).slice(1),
      Array.from({ length: 250 }, (_, i) => `{"n":${i}}`),
    )

    await root.query(`INSERT INTO \`${name}\`.wp_peakguard_events (site, node, line, at) VALUES ('shop', 'x', 'old', NOW(3) - INTERVAL 2 DAY)`)
    const c = open('c')
    const count = async () => {
      const [rows] = await root.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${name}\`.wp_peakguard_events WHERE line = 'old'`)
      return Number(rows[0]?.n)
    }
    await c.shareEvents(['{"c":0}'])
    assert.equal(await count(), 0, "the process's first share deleted it")
    await root.query(`INSERT INTO \`${name}\`.wp_peakguard_events (site, node, line, at) VALUES ('shop', 'x', 'old', NOW(3) - INTERVAL 2 DAY)`)
    for (let i = 1; i < 100; i++) await c.shareEvents([`{"c":${i}}`])
    assert.equal(await count(), 1)
    await c.shareEvents(['{"c":100}'])
    assert.equal(await count(), 0, 'the 100th share after that deleted it')
  })

  it('fleet restores: an op and its phases (one mover wins), each node\'s report replacing its earlier one, unreadable rows on the safe side', async () => {
    const a = open('a')
    const b = open('b')
    const request = { target: 'd'.repeat(40), trigger: 'manual' as const, actor: 'alice', reason: 'bad deploy', audit: { actor: 'alice' } }
    assert.equal(await a.op('op1'), null)
    assert.equal(await a.createOp({ id: 'op1', node: 'a', participants: ['a', 'b'], request, readyWaitMs: 30_000 }), true)
    // one restore at a time across nodes: another (or the same id again) is not made while op1 is under way
    assert.equal(await b.createOp({ id: 'op1', node: 'b', participants: [], request, readyWaitMs: 1 }), false)
    assert.equal(await b.createOp({ id: 'op0', node: 'b', participants: [], request, readyWaitMs: 30_000 }), false)
    assert.equal(await b.op('op0'), null)
    const op = await b.op('op1')
    assert.ok(op && op.ageSeconds >= 0 && op.ageSeconds < 60, `age by the server's clock: ${op?.ageSeconds}`)
    assert.deepEqual({ ...op, createdAt: '', ageSeconds: 0 }, { id: 'op1', node: 'a', phase: 'staging', participants: ['a', 'b'], request, readyWaitMs: 30_000, createdAt: '', ageSeconds: 0, result: null })
    assert.match(op?.createdAt ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    // two nodes move it from staging at once: one wins
    const moved = await Promise.all([a.setOpPhase('op1', 'staging', 'swapping', null), b.setOpPhase('op1', 'staging', 'aborted', { error: 'late' })])
    assert.deepEqual(moved.sort(), [false, true])
    const after = await a.op('op1')
    assert.ok(after?.phase === 'swapping' ? after.result === null : after?.phase === 'aborted' && after.result?.error === 'late')
    assert.equal(await a.setOpPhase('nope', 'staging', 'done', null), false)

    await a.reportOp('op1', { node: 'a', status: 'staged', at: 't1', files: 3, verified: null, caches: null, error: null })
    await b.reportOp('op1', { node: 'b', status: 'failed', at: 't1', files: 0, verified: null, caches: null, error: 'disk full' })
    await a.reportOp('op1', { node: 'a', status: 'done', at: 't2', files: 3, verified: true, caches: 'ok', error: null })
    assert.deepEqual(await b.opReports('op1'), [
      { node: 'a', status: 'done', at: 't2', files: 3, verified: true, caches: 'ok', error: null },
      { node: 'b', status: 'failed', at: 't1', files: 0, verified: null, caches: null, error: 'disk full' },
    ])
    assert.deepEqual(await b.opReports('op2'), [])

    // op1 finished (whichever mover won above), the next one is made
    if ((await a.op('op1'))?.phase === 'swapping') assert.equal(await a.setOpPhase('op1', 'swapping', 'done', null), true)
    assert.equal(await a.createOp({ id: 'op2', node: 'a', participants: ['a'], request, readyWaitMs: 1_000 }), true)
    await root.query(`UPDATE \`${name}\`.wp_peakguard_ops SET created_at = created_at + INTERVAL 1 SECOND WHERE id = 'op2'`)
    assert.deepEqual((await a.ops(10)).map((o) => o.id), ['op2', 'op1'], 'newest first')
    assert.deepEqual((await a.ops(1)).map((o) => o.id), ['op2'])
    assert.deepEqual(await open('a', 'another site').ops(10), [])
    // rows another version (or a bug) wrote: read, never an error, and never a restore to run
    await root.query(`UPDATE \`${name}\`.wp_peakguard_ops SET body = '{broken', result = 'nope' WHERE id = 'op2'`)
    await root.query(`UPDATE \`${name}\`.wp_peakguard_op_nodes SET report = '[]' WHERE node = 'b'`)
    const broken = await a.op('op2')
    assert.deepEqual({ phase: broken?.phase, participants: broken?.participants, target: broken?.request.target, result: broken?.result }, { phase: 'aborted', participants: [], target: '', result: { error: 'the result cannot be read' } })
    assert.deepEqual((await a.opReports('op1')).map((r) => [r.node, r.status]), [['a', 'done'], ['b', 'failed']])
  })

  it("the governance documents: one set per site whatever the node, listed by folder (LIKE's wildcards literal), locked across nodes", async () => {
    const a = open('a')
    const b = open('b')
    const other = open('a', 'campaign')
    await a.writeDoc('freeze', { manual: { until: 'x' } })
    await a.writeDoc('requests/r1', { id: 'r1' })
    await a.writeDoc('requests/r2', { id: 'r2' })
    await a.writeDoc('requestsX/r3', { id: 'no' })
    await a.writeDoc('request_/r4', { id: 'no' })
    assert.deepEqual(await b.readDoc('freeze'), { manual: { until: 'x' } }, 'node b reads what node a wrote')
    assert.deepEqual(await b.listDocs('requests'), ['requests/r1', 'requests/r2'])
    assert.deepEqual(await b.listDocs('request_'), ['request_/r4'], '_ is not a wildcard')
    assert.equal(await other.readDoc('freeze'), null, "another site's documents are its own")
    await b.writeDoc('freeze', { manual: null })
    assert.deepEqual(await a.readDoc('freeze'), { manual: null })
    // a read-modify-write on one node holds the other until it is done
    const release = await a.lockDocs(5000)
    await assert.rejects(b.lockDocs(1000), (e: PeakguardError) => e.code === 'BUSY' && /changing the freeze state or a change request/.test(e.message))
    await release()
    const again = await b.lockDocs(1000)
    await again()
    await root.query(`UPDATE \`${name}\`.wp_peakguard_docs SET body = 'not json' WHERE name = 'freeze'`)
    await assert.rejects(a.readDoc('freeze'), (e: PeakguardError) => e.code === 'DB_FAILED' && /not JSON/.test(e.message))
  })

  it('hostile site and node ids are parameters: stored and read back as given, never SQL', async () => {
    const site = "s'; DROP TABLE wp_peakguard_nodes; -- \\ \0 `x` %_ ☃😀\n"
    const node = 'n" OR 1=1 -- \' \\\\ \0\t%😀'
    const h = open(node, site)
    const other = open('plain', site)
    await h.heartbeat(report())
    await h.announce({ seq: 1, head: null, pending: false })
    await h.shareEvents(['{"odd":"\\u0000 ☃"}'])
    assert.deepEqual((await other.nodes()).map((n) => n.node), [node])
    assert.equal((await other.journal())?.node, node)
    assert.deepEqual(await other.sharedEvents(0, 10).then((es) => es.map((e) => [e.node, e.line])), [[node, '{"odd":"\\u0000 ☃"}']])
    assert.deepEqual(await h.sharedEvents(0, 10), [], 'its own events, by exact id')
    // ids that differ only where LIKE or a case-blind collation would blur them are different nodes
    for (const n of ['n%', 'n_', 'N%']) await open(n, site).heartbeat(report())
    assert.deepEqual((await other.nodes()).map((n) => n.node).sort(), [node, 'N%', 'n%', 'n_'].sort())
    // the longest id: 64 characters (128 UTF-16 units)
    const long = '😀'.repeat(64)
    await open(long, long).heartbeat(report())
    assert.deepEqual((await open('x', long).nodes()).map((n) => n.node), [long])
    assert.equal(await other.forget(node), true)
    const [tables] = await root.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [name])
    assert.equal(Number(tables[0]?.n), 6)
    // what cannot be stored as given is refused up front
    for (const bad of ['', 'x'.repeat(65), 'trailing ', '\ud800lone'])
      assert.throws(() => new MysqlFleet(db, bad, 'a'), { code: 'CONFIG_INVALID' }, JSON.stringify(bad))
    assert.throws(() => new MysqlFleet(db, 'shop', 'b '), { code: 'CONFIG_INVALID' })
    assert.throws(() => new MysqlFleet({ ...db, tablePrefix: 'wp`; DROP' }, 'shop', 'a'), { code: 'CONFIG_INVALID' })
  })

  it('lock names fit the server (≤ 64 characters) whatever the names, and are the site\'s alone', () => {
    const longest = new MysqlFleet({ ...db, name: 'd'.repeat(64), tablePrefix: 'p'.repeat(48) }, '😀'.repeat(64), 'n'.repeat(64))
    for (const l of [longest.locks.lead, longest.locks.journal]) assert.ok(l.length <= 64, l)
    assert.match(longest.locks.lead, /^pg:[0-9a-f]{24}:lead$/)
    assert.match(longest.locks.journal, /^pg:[0-9a-f]{24}:jrnl$/)
    const a = new MysqlFleet(db, 'shop', 'a')
    assert.equal(new MysqlFleet(db, 'shop', 'b').locks.lead, a.locks.lead, 'every node of a site asks for the same lock')
    for (const other of [new MysqlFleet(db, 'shop2', 'a'), new MysqlFleet({ ...db, name: `${name}x` }, 'shop', 'a'), new MysqlFleet({ ...db, tablePrefix: 'wp2_' }, 'shop', 'a')])
      assert.notEqual(other.locks.lead, a.locks.lead)
    assert.equal(new MysqlFleet(db, 'shop', 'a', { lockPrefix: 'test:' }).locks.lead.startsWith('test:'), true)
  })

  it('a database that cannot be reached or refuses the login is DB_UNREACHABLE or DB_AUTH', async () => {
    const port = await freePort()
    await assert.rejects(open('a', 'shop', { ...db, host: '127.0.0.1', port }).tryLead(), { code: 'DB_UNREACHABLE' })
    // several unknown users: MariaDB answers some with 1045, some with 1698 (no password sent); both are a refused login
    for (let i = 0; i < 8; i++)
      await assert.rejects(open('a', 'shop', { ...db, user: `nobody_${randomBytes(3).toString('hex')}` }).heartbeat(report()), { code: 'DB_AUTH' })
    await assert.rejects(open('a', 'shop', { ...db, name: `${name}_missing` }).nodes(), { code: 'DB_UNREACHABLE' })
  })
})
