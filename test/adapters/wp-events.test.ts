// The bridge's event file tail: complete lines only, a partial last line waits for its end, and a file that
// was truncated or replaced is read again from the start.
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
})
