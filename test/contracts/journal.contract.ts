// What every JournalPort must do, as the recorder, the restorer, the catalog and the gate rely on it:
// a commit gives its state back exactly (from a fresh reading, not a cache), earlier states stay as they
// were, blobs come back byte for byte, the history is newest first with its subject and trailers, marks
// keep their note, and unknown ids fail with GIT_FAILED instead of answering something.
import assert from 'node:assert/strict'
import type { JournalPort, SchemaInfo, SiteState, TableDef } from '../../src/core/index.ts'
import { emptyState, encodeSchema, schemaOf } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { blobId, EMPTY_BLOB } from '../memory/blob-id.ts'
import { BINARY, commitRequest, enc, first, hex, plain, second, sha1, type Fixture } from './states.ts'

export interface JournalFixture {
  journal: JournalPort
  /** puts bytes where the journal reads a file from; returns the location filePath() answers with */
  stage(bytes: Uint8Array): string
  /** the journal opened again, with nothing remembered from this instance */
  reopen(): Promise<JournalPort>
  cleanup(): Promise<void>
}

const isCode = (code: string) => (e: unknown) => e instanceof PeakguardError && e.code === code

/** A schema as MariaDB reports one: a view without engine, a prefix index, quoted defaults, names with odd bytes. */
const ODD_TABLE: TableDef = {
  name: "wp_odd ta'ble\n€ \"x\"",
  engine: 'MyISAM',
  collation: 'utf8mb4_unicode_520_ci',
  columns: [
    { name: 'col "x"\nz`q', type: 'varchar(200)', nullable: true, default: "'a''b'" },
    { name: 'k', type: 'text', nullable: true, default: 'NULL' },
    { name: 'n', type: 'int(11)', nullable: false, default: null },
  ],
  indexes: [
    { name: 'PRIMARY', unique: true, columns: ['n'] },
    { name: 'i x', unique: false, columns: ['k(10)', 'col "x"\nz`q(5)'] },
  ],
}
const OPTIONS_TABLE: TableDef = {
  name: 'wp_options',
  engine: 'InnoDB',
  collation: 'utf8mb4_unicode_520_ci',
  columns: [
    { name: 'option_id', type: 'bigint(20) unsigned', nullable: false, default: null },
    { name: 'option_name', type: 'varchar(191)', nullable: false, default: "''" },
  ],
  indexes: [{ name: 'PRIMARY', unique: true, columns: ['option_id'] }],
}
const VIEW: TableDef = { name: 'wp_autoloaded', engine: null, collation: null, columns: [{ name: 'option_name', type: 'varchar(191)', nullable: false, default: "''" }], indexes: [] }
const LOG_TABLE: TableDef = { name: 'wp_demo_log', engine: 'InnoDB', collation: 'utf8mb4_general_ci', columns: [{ name: 'id', type: 'int(11)', nullable: false, default: null }], indexes: [] }
const SCHEMA_1 = schemaOf([OPTIONS_TABLE, ODD_TABLE, VIEW])
const SCHEMA_2 = schemaOf([{ ...OPTIONS_TABLE, columns: [...OPTIONS_TABLE.columns, { name: 'autoload', type: 'varchar(20)', nullable: false, default: "'yes'" }] }, VIEW, LOG_TABLE])
const withSchema = (f: Fixture, schema: SchemaInfo | null): Fixture => {
  if (schema) f.state.schema = schema
  else delete f.state.schema
  return f
}
const schemaText = (s: SiteState) => (s.schema ? encodeSchema(s.schema) : null)

export function describeJournalContract(name: string, make: () => Promise<JournalFixture>): void {
  describe(`JournalPort contract: ${name}`, () => {
    let fx: JournalFixture
    let j: JournalPort
    beforeEach(async () => {
      fx = await make()
      j = fx.journal
    })
    afterEach(async () => fx.cleanup())

    const commitFirst = () => j.commit(commitRequest(null, emptyState(), first(), (b) => fx.stage(b), 'initial', { 'Peakguard-Site': 'shop', 'Peakguard-Trigger': 'manual' }))

    it('starts empty: no head, no history, no marks, nothing wrong', async () => {
      assert.equal(await j.head(), null)
      assert.deepEqual(await j.log(), [])
      assert.deepEqual(await j.marks(), [])
      assert.deepEqual(await j.resolvePrefix(''), [])
      assert.deepEqual(await j.check(), [])
    })

    it('gives back exactly the state it committed — modes, owners, symlinks, linked and plain directories, NULL and binary values, odd names — also when opened afresh', async () => {
      const id = await commitFirst()
      assert.match(id, /^[0-9a-f]{40}$/)
      assert.equal(await j.head(), id)
      const want = plain(first().state)
      assert.deepEqual(plain(await j.readState(id)), want)
      assert.deepEqual(plain(await (await fx.reopen()).readState(id)), want)
    })

    it('returns the exact bytes of blobs (empty, binary with NULs, symlink text, option values) in the order asked, repeats included', async () => {
      await commitFirst()
      const ids = [blobId(BINARY), EMPTY_BLOB, blobId(enc('../hello.php')), blobId(enc('Shop')), blobId(BINARY)]
      const got: [string, string][] = []
      await (await fx.reopen()).readBlobs(ids, (id, bytes) => void got.push([id, hex(bytes)]))
      assert.deepEqual(got, [
        [ids[0], hex(BINARY)],
        [EMPTY_BLOB, ''],
        [ids[2], hex(enc('../hello.php'))],
        [ids[3], hex(enc('Shop'))],
        [ids[0], hex(BINARY)],
      ])
    })

    it('keeps every state: after a second commit the first reads as it was; the history is newest first with subject, trailers and time', async () => {
      const t0 = Math.floor(Date.now() / 1000) * 1000
      const a = await commitFirst()
      const b = await j.commit(commitRequest(a, first().state, second(), (x) => fx.stage(x), 'restore to 1234', { 'Peakguard-Trigger': 'restore', 'Peakguard-Restore-Of': a }))
      assert.notEqual(a, b)
      assert.equal(await j.head(), b)
      for (const journal of [j, await fx.reopen()]) {
        assert.deepEqual(plain(await journal.readState(b)), plain(second().state))
        assert.deepEqual(plain(await journal.readState(a)), plain(first().state))
        const log = await journal.log()
        assert.deepEqual(
          log.map((c) => [c.id, c.subject, c.trailers]),
          [
            [b, 'restore to 1234', { 'Peakguard-Trigger': 'restore', 'Peakguard-Restore-Of': a }],
            [a, 'initial', { 'Peakguard-Site': 'shop', 'Peakguard-Trigger': 'manual' }],
          ],
        )
        for (const c of log) {
          assert.equal(new Date(c.time).toISOString(), c.time, 'ISO time')
          assert.ok(Date.parse(c.time) >= t0 && Date.parse(c.time) <= Date.now() + 1000, `${c.time} is when it was committed`)
        }
      }
      const blobs: string[] = []
      await j.readBlobs([blobId(enc('<?php // akismet 5.1\n')), blobId(enc('Shop — Black Friday'))], (_, bytes) => void blobs.push(Buffer.from(bytes).toString()))
      assert.deepEqual(blobs, ['<?php // akismet 5.1\n', 'Shop — Black Friday'])
    })

    it('puts control characters of a subject or trailer on one line', async () => {
      const id = await j.commit(commitRequest(null, emptyState(), first(), (b) => fx.stage(b), 'line one\nline\ttwo\u001b[31m', { 'Peakguard-Actor': 'wp:eve\nPeakguard-Trigger: forged' }))
      const [c] = await (await fx.reopen()).log()
      assert.equal(c?.id, id)
      assert.equal(c?.subject, 'line one line two [31m')
      assert.deepEqual(c?.trailers, { 'Peakguard-Actor': 'wp:eve Peakguard-Trigger: forged' })
    })

    it('resolves an id from any prefix of it, and nothing from a prefix no id has', async () => {
      const a = await commitFirst()
      assert.deepEqual(await j.resolvePrefix(a.slice(0, 7)), [a])
      assert.deepEqual(await j.resolvePrefix(a), [a])
      const other = a[0] === 'f' ? '0' : 'f'
      assert.deepEqual(await j.resolvePrefix(other.repeat(8)), [])
    })

    it('records nothing and keeps its head when a file no longer has the content the scan saw', async () => {
      const a = await commitFirst()
      const req = commitRequest(a, first().state, second(), (b) => fx.stage(b))
      const staged = req.filePath
      req.filePath = (p) => (p === 'plugins/akismet/akismet.php' ? fx.stage(enc('<?php // a plugin update, half written')) : staged(p))
      await assert.rejects(j.commit(req), isCode('CHANGED_WHILE_RECORDING'))
      assert.equal(await j.head(), a)
      assert.equal((await j.log()).length, 1)
      assert.deepEqual(await j.check(), [])
    })

    it('marks a state known-good with its note, replaces the note when marked again, and unmarks it once', async () => {
      const a = await commitFirst()
      await j.mark(a, 'survived Black Friday')
      let marks = await j.marks()
      assert.deepEqual(marks.map((m) => [m.id, m.note]), [[a, 'survived Black Friday']])
      assert.equal(new Date(marks[0]?.time ?? '').toISOString(), marks[0]?.time)
      await j.mark(a, '')
      marks = await (await fx.reopen()).marks()
      assert.deepEqual(marks.map((m) => [m.id, m.note]), [[a, '']])
      assert.equal(await j.unmark(a), true)
      assert.equal(await j.unmark(a), false)
      assert.deepEqual(await j.marks(), [])
    })

    it('fails with GIT_FAILED for a state or blob it does not hold, refuses to mark one, and unmarks nothing', async () => {
      await commitFirst()
      const unknown = sha1('no such commit')
      await assert.rejects(j.readState(unknown), isCode('GIT_FAILED'))
      await assert.rejects(j.readBlobs([EMPTY_BLOB, unknown], () => undefined), isCode('GIT_FAILED'))
      await assert.rejects(j.mark(unknown, 'x'), (e) => e instanceof PeakguardError)
      assert.equal(await j.unmark(unknown), false)
      assert.deepEqual(await j.marks(), [])
    })

    it('keeps the database schema of each state — odd names, a view, defaults, prefix indexes — and a state without one reads without one', async () => {
      const a = await commitFirst() // recorded before schemas were
      const f1 = withSchema(first(), SCHEMA_1)
      const b = await j.commit(commitRequest(a, first().state, f1, (x) => fx.stage(x)))
      const f2 = withSchema(second(), SCHEMA_2)
      const c = await j.commit(commitRequest(b, f1.state, f2, (x) => fx.stage(x)))
      const f3 = withSchema(second(), null)
      const d = await j.commit(commitRequest(c, f2.state, f3, (x) => fx.stage(x)))
      const e = await j.commit(commitRequest(d, f3.state, withSchema(second(), SCHEMA_2), (x) => fx.stage(x)))
      const want: [string, SchemaInfo | null][] = [
        [a, null],
        [b, SCHEMA_1],
        [c, SCHEMA_2],
        [d, null],
        [e, SCHEMA_2],
      ]
      // as committed, and read afresh: the newest from its tree, the others from what differs between it and them
      for (const journal of [j, await fx.reopen()]) {
        for (const [id, schema] of [...want].reverse()) assert.equal(schemaText(await journal.readState(id)), schema && encodeSchema(schema), `state ${want.findIndex(([x]) => x === id)}`)
      }
      const back = (await (await fx.reopen()).readState(b)).schema
      assert.deepEqual(back?.tables.get(ODD_TABLE.name), ODD_TABLE)
      assert.deepEqual(back?.tables.get(VIEW.name), VIEW)
      assert.deepEqual(plain(await (await fx.reopen()).readState(c)), plain(second().state))
      assert.deepEqual(await j.check(), [])
    })

    it('passes its own check and has nothing to maintain after a few snapshots', async () => {
      const a = await commitFirst()
      await j.commit(commitRequest(a, first().state, second(), (b) => fx.stage(b)))
      assert.deepEqual(await j.check(), [])
      assert.equal(await j.maintain(), null)
    })
  })
}
