// The bridge's event file tail: complete lines only, a partial last line waits for its end, a backlog is
// read to its end in one call, a file that was truncated or replaced is read again from the start after
// the unread rest of the rotated file, and no control character gets through.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { WpEventsFile } from '../../src/adapters/wp-events.ts'

const line = (event: string, subject: string) => `${JSON.stringify({ time: 1764400000.5, event, subject, user: 'admin', userId: 1, ip: '127.0.0.1', cli: false, cron: false })}\n`

describe('WpEventsFile', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-events-'))
    file = path.join(dir, 'events.jsonl')
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('reads nothing from a missing file', async () => {
    assert.deepEqual(await new WpEventsFile(file).read(0), { events: [], offset: 0 })
  })

  it('reads complete lines from an offset and leaves a partial last line for the next read', async () => {
    const a = line('activated_plugin', 'hello.php')
    const b = line('updated_option', 'blogname')
    fs.writeFileSync(file, a + b.slice(0, 20))
    const t = new WpEventsFile(file)
    const r1 = await t.read(0)
    assert.deepEqual(r1.events.map((e) => e.subject), ['hello.php'])
    assert.equal(r1.offset, Buffer.byteLength(a))
    assert.deepEqual(r1.events[0], { time: 1764400000.5, event: 'activated_plugin', subject: 'hello.php', user: 'admin', userId: 1, ip: '127.0.0.1', cli: false, cron: false })
    assert.deepEqual((await t.read(r1.offset)).events, [], 'the half-written line is not read yet')
    fs.appendFileSync(file, b.slice(20))
    const r2 = await t.read(r1.offset)
    assert.deepEqual(r2.events.map((e) => e.subject), ['blogname'])
    assert.equal(r2.offset, Buffer.byteLength(a + b))
  })

  it('skips a damaged line and keeps the rest', async () => {
    fs.writeFileSync(file, `${line('a', '1')}{"broken\n${line('b', '2')}`)
    assert.deepEqual((await new WpEventsFile(file).read(0)).events.map((e) => e.event), ['a', 'b'])
  })

  it('starts again from 0 after truncation or rotation', async () => {
    fs.writeFileSync(file, line('a', '1') + line('b', '2'))
    const t = new WpEventsFile(file)
    const r1 = await t.read(0)
    fs.writeFileSync(file, '') // truncated
    fs.appendFileSync(file, line('c', '3'))
    const r2 = await t.read(r1.offset)
    assert.deepEqual(r2.events.map((e) => e.event), ['c'])
    // rotated: a new file at the path, longer than the offset we hold
    fs.renameSync(file, `${file}.1`)
    fs.writeFileSync(file, line('d', '4') + line('e', '5') + line('f', '6'))
    const r3 = await t.read(r2.offset)
    assert.deepEqual(r3.events.map((e) => e.event), ['d', 'e', 'f'])
  })

  it('strips control characters from every string field of a forged line', async () => {
    const forged = `${JSON.stringify({ time: 1764400000.5, event: 'activated\x1fplugin', subject: 'hello.php\x1e\n', user: 'ad\x1emin\x1f\u0000', userId: 1, ip: '127.0.0.1\x7f\r', cli: false, cron: false })}\n`
    assert.ok(forged.includes('\\u001e'), 'the line carries the escaped control characters, as PHP would write them')
    fs.writeFileSync(file, forged)
    const [ev] = (await new WpEventsFile(file).read(0)).events
    assert.deepEqual(ev, { time: 1764400000.5, event: 'activatedplugin', subject: 'hello.php', user: 'admin', userId: 1, ip: '127.0.0.1', cli: false, cron: false })
  })

  it('end() is the current size: read(end()) skips the backlog and returns only what is appended afterwards', async () => {
    const t = new WpEventsFile(file)
    assert.equal(await t.end(), 0, 'no file yet')
    fs.writeFileSync(file, line('old', '1') + line('old', '2'))
    const end = await t.end()
    assert.equal(end, fs.statSync(file).size)
    assert.deepEqual(await t.read(end), { events: [], offset: end })
    fs.appendFileSync(file, line('new', '3'))
    const r = await t.read(end)
    assert.deepEqual(r.events.map((e) => `${e.event}${e.subject}`), ['new3'])
    assert.equal(r.offset, fs.statSync(file).size)
  })

  it('reads a backlog many slices long to its end in one call', async () => {
    const lines: string[] = []
    for (let i = 0; i < 60_000; i++) lines.push(line('updated_option', `option_${i}_${'x'.repeat(120)}`))
    fs.writeFileSync(file, lines.join(''))
    assert.ok(fs.statSync(file).size > 2 * 4 * 1024 * 1024, 'more than two 4 MB slices')
    const r = await new WpEventsFile(file).read(0)
    assert.equal(r.events.length, 60_000)
    assert.equal(r.events[59_999]?.subject.startsWith('option_59999_'), true)
    assert.equal(r.offset, fs.statSync(file).size)
  })

  it("after the bridge's rotation (copy to events.jsonl.1, truncate) the unread rest of the old file comes first", async () => {
    fs.writeFileSync(file, line('a', '1'))
    const t = new WpEventsFile(file)
    const r1 = await t.read(0)
    fs.appendFileSync(file, line('b', '2') + line('c', '3')) // not read before the rotation
    await new Promise((r) => setTimeout(r, 20))
    fs.copyFileSync(file, `${file}.1`)
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, line('d', '4'))
    const r2 = await t.read(r1.offset)
    assert.deepEqual(r2.events.map((e) => e.event), ['b', 'c', 'd'])
    assert.equal(r2.offset, Buffer.byteLength(line('d', '4')))
    // a later truncation by hand: the old .1 is not read again
    fs.appendFileSync(file, line('e', '5') + line('f', '6'))
    const r3 = await t.read(r2.offset)
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, line('g', '7'))
    assert.deepEqual((await t.read(r3.offset)).events.map((e) => e.event), ['g'])
  })

  it('while the rotation is still copying, the file is read on as it is: nothing twice, nothing lost', async () => {
    fs.writeFileSync(file, line('a', '1'))
    const t = new WpEventsFile(file)
    const r1 = await t.read(0)
    fs.appendFileSync(file, line('b', '2') + line('c', '3'))
    fs.writeFileSync(`${file}.1`, line('a', '1')) // the copy has begun
    const r2 = await t.read(r1.offset)
    assert.deepEqual(r2.events.map((e) => e.event), ['b', 'c'])
    fs.appendFileSync(file, line('x', '8')) // one more before the copy completes
    fs.copyFileSync(file, `${file}.1`)
    fs.truncateSync(file, 0)
    fs.appendFileSync(file, line('d', '4'))
    assert.deepEqual((await t.read(r2.offset)).events.map((e) => e.event), ['x', 'd'])
  })

  it('after a rename to events.jsonl.1 (a new inode at the path) the unread rest of the renamed file comes first', async () => {
    fs.writeFileSync(file, line('a', '1'))
    const t = new WpEventsFile(file)
    const r1 = await t.read(0)
    fs.appendFileSync(file, line('b', '2'))
    fs.writeFileSync(`${file}.1`, 'an older rotated file\n')
    fs.renameSync(file, `${file}.1`) // replaces the older one
    fs.writeFileSync(file, line('c', '3') + line('d', '4') + line('e', '5'))
    const r2 = await t.read(r1.offset)
    assert.deepEqual(r2.events.map((e) => e.event), ['b', 'c', 'd', 'e'])
    assert.equal(r2.offset, fs.statSync(file).size)
  })
})
