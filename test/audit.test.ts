// The audit log as an operator and an auditor meet it: entries for restore, marks, snapshots, users and
// tokens; `audit verify` passes on an untouched log and names the first edited, removed or reordered line;
// rotation keeps the chain across files; filters and CSV.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { AuditFile } from '../src/adapters/audit-file.ts'
import { SiteDir } from '../src/adapters/site-dir.ts'
import { AuditLog } from '../src/services/audit.ts'
import { createSite, type CliResult, type TestSite } from './harness/site.ts'
import { cliWithInput } from './harness/users.ts'

/** `peakguard ARGS` as the OS user ops, with `stdin` piped in (no terminal). */
function cliIn(site: TestSite, args: string[], stdin: string | null = null, env: Record<string, string> = {}): Promise<CliResult> {
  return cliWithInput(site.configFile, args, stdin ?? '', { USER: 'ops', ...env })
}

/** RFC 4180 rows (quoted cells with doubled quotes, CRLF or LF line ends). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  const endCell = () => {
    row.push(cell)
    cell = ''
  }
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"'
        i++
      } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') endCell()
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++
      endCell()
      rows.push(row)
      row = []
    } else cell += c
  }
  if (cell || row.length) {
    endCell()
    rows.push(row)
  }
  return rows
}

describe('audit log', () => {
  let site: TestSite
  const auditFile = () => path.join(site.dataDir, 'shop/audit/audit.jsonl')

  beforeEach(async () => {
    site = await createSite()
  })
  afterEach(async () => site.cleanup())

  /** snapshot, snapshot, mark, unmark, restore (and a dry run), user add, token create: 7 entries. */
  async function populate(): Promise<{ a: string; b: string }> {
    const a = (await cliIn(site, ['snapshot', '--json'])).json.id
    fs.writeFileSync(path.join(site.wpContent, 'plugins/hello.php'), '<?php // v2')
    const b = (await cliIn(site, ['snapshot', '--json'])).json.id
    assert.equal((await cliIn(site, ['mark-good', a, '--note', 'the "launch", baseline'])).code, 0)
    assert.equal((await cliIn(site, ['unmark-good', a])).code, 0)
    assert.equal((await cliIn(site, ['restore', a, '--dry-run'])).code, 0)
    const r = await cliIn(site, ['restore', a, '--yes'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((await cliIn(site, ['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], 'alice-password\n')).code, 0)
    assert.equal((await cliIn(site, ['--as', 'alice', '--password-stdin', 'token', 'create', '--json'], 'alice-password\n')).code, 0)
    return { a, b }
  }

  const verify = async () => cliIn(site, ['audit', 'verify', '--json'])

  it('writes entries for snapshot, marks, restore, users and tokens (not for a dry run); verify passes', async () => {
    const { a, b } = await populate()
    const entries = (await cliIn(site, ['audit', '--json'])).json.entries
    assert.deepEqual(entries.map((e: any) => [e.seq, e.type, e.actor]), [
      [1, 'snapshot', 'ops'],
      [2, 'snapshot', 'ops'],
      [3, 'mark-good', 'ops'],
      [4, 'unmark-good', 'ops'],
      [5, 'restore', 'ops'],
      [6, 'user', 'ops'],
      [7, 'token', 'alice'],
    ])
    assert.equal(entries[0].details.state, a)
    assert.equal(entries[1].details.state, b)
    assert.equal(entries[1].details.summary, 'plugins/hello.php (1 file)')
    const restore = entries[4]
    assert.equal(restore.details.to, a)
    assert.equal(restore.details.result, 'verified')
    assert.match(restore.details.from, /^[0-9a-f]{40}$/)
    assert.ok(Number.isInteger(restore.details.durationMs) && restore.details.durationMs >= 0)
    assert.deepEqual(entries[5].details, { action: 'add', user: 'alice', role: 'admin', osUsers: [], wpUsers: [], via: 'unmanaged' })
    // a chain: each entry's prev is the hash before it
    assert.equal(entries[0].prev, '')
    for (let i = 1; i < entries.length; i++) assert.equal(entries[i].prev, entries[i - 1].hash)
    const v = await cliIn(site, ['audit', 'verify'])
    assert.equal(v.code, 0, v.stderr)
    assert.match(v.stdout, new RegExp(`^audit log intact: 7 entries, chain from #1 \\(${entries[0].time.replace(/[.]/g, '\\.')}\\) to #7 `))
    assert.equal(fs.statSync(auditFile()).mode & 0o777, 0o600)
    assert.ok(!fs.readFileSync(auditFile(), 'utf8').includes('alice-password'))
  })

  it('verify fails at the right entry after a line is edited, deleted, or swapped with the next', async () => {
    await populate()
    const original = fs.readFileSync(auditFile(), 'utf8')
    const lines = original.trimEnd().split('\n')
    assert.equal(lines.length, 7)
    const k = 3 // 1-based: the mark-good entry
    const cases: { name: string; tampered: string[]; problem: string; seq: number }[] = [
      {
        name: 'edited',
        tampered: lines.map((l, i) => (i === k - 1 ? JSON.stringify({ ...JSON.parse(l), actor: 'somebody-else' }) : l)),
        problem: 'edited',
        seq: 3,
      },
      { name: 'deleted', tampered: lines.filter((_, i) => i !== k - 1), problem: 'removed', seq: 4 },
      { name: 'swapped', tampered: lines.map((l, i) => (i === k - 1 ? lines[k] : i === k ? lines[k - 1] : l)) as string[], problem: 'reordered', seq: 4 },
    ]
    for (const c of cases) {
      fs.writeFileSync(auditFile(), `${c.tampered.join('\n')}\n`) // a fresh copy of the untouched log each time
      const r = await verify()
      assert.equal(r.code, 4, `${c.name}: ${r.stderr}`)
      assert.equal(r.json.ok, false)
      assert.equal(r.json.firstBad.problem, c.problem, c.name)
      assert.equal(r.json.firstBad.where, `${auditFile()}:${k}`, c.name)
      assert.equal(r.json.firstBad.seq, c.seq, c.name)
      const text = await cliIn(site, ['audit', 'verify'])
      assert.equal(text.code, 4)
      assert.match(text.stdout, new RegExp(`TAMPERED: first bad entry at .*audit\\.jsonl:${k} \\(seq ${c.seq}\\): ${c.problem}`))
      assert.match(text.stderr, c.name === 'deleted' ? /entry seq 3 was removed/ : c.name === 'swapped' ? /reordered/ : /seq 3 was edited/)
    }
    fs.writeFileSync(auditFile(), original)
    assert.equal((await verify()).code, 0)
    // the untouched log goes on after the damage was undone
    assert.equal((await cliIn(site, ['--as', 'alice', '--password-stdin', 'snapshot'], 'alice-password\n')).code, 0)
    assert.equal((await verify()).json.entries, 7) // nothing changed, so no snapshot and no entry
  })

  it('rotation keeps the chain across files, and verify names the file of a damaged rotated entry', async () => {
    const dir = new SiteDir(path.join(site.dataDir, 'shop'))
    dir.ensure()
    const log = new AuditLog(new AuditFile(dir.auditDir, () => dir.lock(10_000, 'audit.lock'), { rotateBytes: 1200 }))
    for (let i = 0; i < 25; i++) await log.append({ type: 'config-reload', actor: 'peakguard', site: 'shop', summary: `reload ${i}`, details: { n: i } })
    // and the CLI (default rotate size) keeps appending to the same chain
    assert.equal((await cliIn(site, ['snapshot'])).code, 0)
    const files = fs.readdirSync(dir.auditDir).filter((n) => n.endsWith('.jsonl')).sort()
    assert.ok(files.length >= 4, `expected several segments, got ${files.join(', ')}`)
    assert.equal(files[0], 'audit-000000000001.jsonl')
    assert.equal(files.at(-1), 'audit.jsonl')
    const read = (f: string) => fs.readFileSync(path.join(dir.auditDir, f), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l))
    for (let i = 1; i < files.length; i++) {
      const before = read(files[i - 1] as string)
      const first = read(files[i] as string)[0]
      assert.equal(first.prev, before.at(-1).hash, `${files[i]} does not continue ${files[i - 1]}`)
      if (files[i] !== 'audit.jsonl') assert.equal(files[i], `audit-${String(first.seq).padStart(12, '0')}.jsonl`)
    }
    const ok = await verify()
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.json.entries, 26)
    assert.equal((await cliIn(site, ['audit', '--type', 'config-reload', '--json'])).json.entries.length, 25)
    // remove the first line of the second segment: the chain breaks exactly there
    const second = path.join(dir.auditDir, files[1] as string)
    const lines = fs.readFileSync(second, 'utf8').trimEnd().split('\n')
    fs.writeFileSync(second, `${lines.slice(1).join('\n')}\n`)
    const bad = await verify()
    assert.equal(bad.code, 4)
    assert.equal(bad.json.firstBad.where, `${second}:1`)
    assert.equal(bad.json.firstBad.problem, 'removed')
  })

  it('filters by time, actor and type; --csv has a header and quotes what needs quoting', async () => {
    await populate()
    const q = async (...args: string[]) => (await cliIn(site, ['audit', ...args, '--json'])).json.entries.map((e: any) => e.seq)
    assert.deepEqual(await q('--since', '1h'), [1, 2, 3, 4, 5, 6, 7])
    assert.deepEqual(await q('--until', '1h'), [])
    assert.deepEqual(await q('--since', new Date(Date.now() + 60_000).toISOString()), [])
    assert.deepEqual(await q('--until', new Date(Date.now() + 60_000).toISOString(), '--type', 'snapshot'), [1, 2])
    assert.deepEqual(await q('--actor', 'alice'), [7])
    assert.deepEqual(await q('--type', 'restore', '--actor', 'ops'), [5])
    const badTime = await cliIn(site, ['audit', '--since', 'yesterday-ish'])
    assert.equal(badTime.code, 2)
    assert.match(badTime.stderr, /ISO time .* or a duration ago/)
    // a summary a spreadsheet would run as a formula
    const dir = new SiteDir(path.join(site.dataDir, 'shop'))
    await new AuditLog(new AuditFile(dir.auditDir, () => dir.lock(10_000, 'audit.lock'))).append({ type: 'config-reload', actor: 'peakguard', site: 'shop', summary: '=HYPERLINK("x")' })
    const csv = await cliIn(site, ['audit', '--csv'])
    assert.equal(csv.code, 0, csv.stderr)
    const rows = parseCsv(csv.stdout.trimEnd())
    assert.deepEqual(rows[0], ['seq', 'time', 'type', 'actor', 'site', 'summary', 'details', 'prev', 'hash'])
    assert.equal(rows.length, 1 + 8)
    assert.ok(rows.every((r) => r.length === 9), 'every row has 9 cells')
    const mark = rows.find((r) => r[2] === 'mark-good') as string[]
    assert.equal(JSON.parse(mark[6] as string).note, 'the "launch", baseline')
    assert.equal(rows[8]?.[5], `'=HYPERLINK("x")`)
    const json = (await cliIn(site, ['audit', '--json'])).json.entries
    assert.deepEqual(rows.slice(1).map((r) => r[8]), json.map((e: any) => e.hash))
    assert.equal((await cliIn(site, ['audit', '--csv', '--json'])).code, 2)
  })
})
