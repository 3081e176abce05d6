// Text the input rules never saw — stored by an older peakguard (audit log, freeze and request documents,
// journal messages, trailers and mark notes, the users file) or come another way (file names and contents
// on the site) — reaches the operator's terminal only made visible: no raw control or bidi character in
// any text output, no line a value splits off; --json keeps the exact text.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { AuditFile } from '../src/adapters/audit-file.ts'
import { SiteDir } from '../src/adapters/site-dir.ts'
import { print, report, type GlobalOptions, type Runtime } from '../src/cli/runtime.ts'
import { PeakguardError } from '../src/errors.ts'
import { AuditLog } from '../src/services/audit.ts'
import { createSite, type CliResult, type TestSite } from './harness/site.ts'
import { cliWithInput } from './harness/users.ts'

/** A line that would pass for an audit entry of its own, if printed raw. */
const FORGED = '2030-01-01T00:00:00.000Z  #999  restore       root         FORGED all is well'
/** A newline that forges a line, escape sequences (clear screen, window title, colour as C1 CSI), a bidi override, NUL. */
const HOSTILE = `deploy\n${FORGED}\u001b[2J\u001b]0;pwned\u0007 \u202Eexe.txt \u009b31m\u0000`
/** HOSTILE as the terminal must show it. */
const SHOWN = `deploy\\n${FORGED}\\x1b[2J\\x1b]0;pwned\\x07 \\u202eexe.txt \\x9b31m\\x00`

/** A raw control (tab and newline aside: the output's own), DEL, C1 or bidi character. */
const RAW = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/u

function clean(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
  for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) {
    const m = RAW.exec(text)
    assert.equal(m, null, `${what}: raw U+${m?.[0].codePointAt(0)?.toString(16).padStart(4, '0')} on ${name}: ${JSON.stringify(text)}`)
    assert.doesNotMatch(text, /^(2030-01-01|FORGED)/m, `${what}: a value split off a line of its own on ${name}: ${JSON.stringify(text)}`)
    assert.doesNotMatch(text, /^\s*\S*FORGED/m, `${what}: a line begins with forged text on ${name}: ${JSON.stringify(text)}`)
  }
}

describe('output: stored or foreign text reaches the terminal made visible, never raw', function () {
  this.timeout(240_000)
  let site: TestSite
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => cliWithInput(site.configFile, args, '', { USER: 'ops', ...env })
  const dir = () => new SiteDir(path.join(site.dataDir, 'shop'))
  const journal = () => path.join(site.dataDir, 'shop', 'journal')
  const git = (args: string[], input?: string) =>
    execFileSync('git', ['--git-dir', journal(), ...args], {
      encoding: 'utf8',
      input,
      env: { ...process.env, GIT_AUTHOR_NAME: 'old', GIT_AUTHOR_EMAIL: 'old@peakguard', GIT_COMMITTER_NAME: 'old', GIT_COMMITTER_EMAIL: 'old@peakguard' },
    }).trim()

  before(async () => {
    site = await createSite()
  })
  after(async () => {
    await site?.cleanup()
  })

  it('audit: an entry written raw (summary with a forged line and escapes, actor with a colour) stays one line, escaped; --json and verify keep it exact', async () => {
    const d = dir()
    d.ensure()
    const log = new AuditLog(new AuditFile(d.auditDir, () => d.lock(10_000, 'audit.lock')))
    await log.append({ type: 'config-reload', actor: 'mallory\u001b[31m', site: 'shop', summary: HOSTILE })
    await log.append({ type: 'config-reload', actor: 'peakguard', site: 'shop', summary: 'an honest entry' })

    const text = await cli(['audit'])
    clean(text, 'audit')
    const lines = text.stdout.trimEnd().split('\n')
    assert.equal(lines.length, 2, `one line per entry:\n${text.stdout}`)
    assert.ok(lines[0]?.includes(SHOWN), lines[0])
    assert.ok(lines[0]?.includes('mallory\\x1b[31m'), lines[0])

    const json = await cli(['--json', 'audit'])
    assert.equal(json.json.entries[0].summary, HOSTILE)
    assert.equal(json.json.entries[0].actor, 'mallory\u001b[31m')
    const v = await cli(['--json', 'audit', 'verify'])
    assert.equal(v.code, 0, v.stdout)
  })

  it('freeze status: reasons and actors in the freeze document (an older peakguard stored them raw) are escaped', async () => {
    assert.equal((await cli(['snapshot'])).code, 0)
    assert.equal((await cli(['freeze', 'start', '--for', '1h', '--reason', 'launch'])).code, 0)
    assert.equal((await cli(['allow', '--scope', 'plugins/hello', '--for', '30m', '--reason', 'hotfix'])).code, 0)
    const file = path.join(site.dataDir, 'shop', 'docs', 'freeze.json')
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
    doc.manual.reason = HOSTILE
    doc.allows[0].reason = HOSTILE
    doc.allows[0].actor = 'mallory\u001b[31m'
    fs.writeFileSync(file, JSON.stringify(doc))

    const text = await cli(['freeze', 'status'])
    clean(text, 'freeze status')
    assert.match(text.stdout, /^FROZEN: manual freeze: deploy\\n2030/m)
    assert.ok(text.stdout.includes(`mallory\\x1b[31m: ${SHOWN}`), text.stdout)

    const json = await cli(['--json', 'freeze', 'status'])
    assert.equal(json.json.active.reason, HOSTILE)
    assert.equal((await cli(['freeze', 'stop', '--reason', 'done'])).code, 0)
  })

  it('requests: a change request document with raw text (summary, WordPress login, reason, note) is escaped', async () => {
    const head = (await cli(['--json', 'snapshot'])).json.id as string
    const r = {
      id: 'zzzz0001-ab12',
      site: 'shop',
      createdAt: '2026-11-27T10:00:00.000Z',
      base: head,
      attempted: head,
      items: { paths: ['plugins/hello'], options: [] },
      summary: HOSTILE,
      attribution: { kind: 'wordpress', who: 'admin\u001b[2J', wpUserId: 1, ip: '127.0.0.1\u202E', events: [`activated_plugin ${HOSTILE}`], label: `wp:admin\u001b[2J\nFORGED (#1)` },
      policy: 'revert',
      reverted: true,
      freeze: { source: 'manual', end: '2026-11-27T11:00:00.000Z' },
      requester: 'admin\u001b[2J',
      reason: HOSTILE,
      askedBy: [],
      status: 'rejected',
      decision: { by: 'carol', at: '2026-11-27T10:30:00.000Z', note: HOSTILE, breakGlass: false },
      outcome: 'kept reverted',
    }
    fs.mkdirSync(path.join(site.dataDir, 'shop', 'docs', 'requests'), { recursive: true })
    fs.writeFileSync(path.join(site.dataDir, 'shop', 'docs', 'requests', `${r.id}.json`), JSON.stringify(r))

    const text = await cli(['requests', '--all'])
    clean(text, 'requests')
    assert.ok(text.stdout.includes(`  changes  ${SHOWN}`), text.stdout)
    assert.ok(text.stdout.includes('wp:admin\\x1b[2J\\nFORGED (#1)'), text.stdout)
    const json = await cli(['--json', 'requests', '--all'])
    assert.equal(json.json[0].decision.note, HOSTILE)
  })

  it('list, show, status, diff: a journal message, trailers and mark note written raw, and a file whose name and content hold controls', async () => {
    const a = (await cli(['--json', 'snapshot'])).json.id as string // new, or the head when nothing changed
    // another route: what a plugin puts on the site
    fs.writeFileSync(path.join(site.wpContent, 'plugins', 'evil\u001b[2J\nFORGED.php'), `<?php // \u001b]0;pwned\u0007 \u202Eexe.txt\n\tindented();\n`)
    const snap = await cli(['--json', 'snapshot'])
    assert.equal(snap.code, 0, snap.stderr)
    const b = snap.json.id as string

    // an older peakguard's commit: a raw subject and trailers, then a raw known-good note
    const subject = 'old message \u001b[2J\u001b]0;pwned\u0007 \u202Eexe.txt \u009b31m'
    const c = git(['commit-tree', `${b}^{tree}`, '-p', b], `${subject}\n\nPeakguard-Actor: mallory\u001b[31m\nPeakguard-Reason: why \u001b[2J\u202E\n`)
    git(['update-ref', 'refs/heads/main', c, b])
    git(['tag', '-f', '-a', '-m', `good \u001b[2J\n${FORGED}`, `good/${c}`, c])

    const list = await cli(['list'])
    clean(list, 'list')
    assert.ok(list.stdout.includes('old message \\x1b[2J\\x1b]0;pwned\\x07 \\u202eexe.txt \\x9b31m'), list.stdout)
    assert.equal((await cli(['--json', 'list'])).json[0].message, subject)

    const show = await cli(['show', c])
    clean(show, 'show')
    assert.ok(show.stdout.includes(`(known-good: good \\x1b[2J\\n${FORGED})`), show.stdout)
    assert.match(show.stdout, /^by {7}mallory\\x1b\[31m$/m)
    assert.match(show.stdout, /^why {6}why \\x1b\[2J\\u202e$/m)
    const showJson = await cli(['--json', 'show', c])
    assert.equal(showJson.json.trailers['Peakguard-Actor'], 'mallory\u001b[31m')

    clean(await cli(['status']), 'status')

    const showB = await cli(['show', b])
    clean(showB, 'show (a file name with controls)')
    assert.ok(showB.stdout.includes('+ file   plugins/evil\\x1b[2J\\nFORGED.php'), showB.stdout)

    const diff = await cli(['diff', a, b])
    clean(diff, 'diff')
    assert.ok(diff.stdout.includes('+<?php // \\x1b]0;pwned\\x07 \\u202eexe.txt'), diff.stdout)
    assert.ok(diff.stdout.includes('+\tindented();'), 'tabs in code stay tabs')
    assert.match(diff.stdout, /^\+\+\+ "?b\/plugins\/evil.*x1b\[2J.*nFORGED\.php/m, 'the name in the header is made visible (and quoted by the diff)')
  })

  it('an error message quoting what was given is escaped on stderr (the JSON error keeps it)', async () => {
    const r = await cli(['show', '\u202Eabc\u009b2J'])
    assert.equal(r.code, 2)
    assert.doesNotMatch(r.stderr, RAW, JSON.stringify(r.stderr))
    assert.match(r.stderr, /\\u202eabc\\x9b2J/)
    const j = await cli(['--json', 'show', '\u202Eabc\u009b2J'])
    assert.match(j.json.error.message, /\u202Eabc\u009b2J/)
  })

  // last: once a user exists, every command needs proof
  it('user list, token list: WordPress logins and token notes in the users file are escaped', async () => {
    const add = await cliWithInput(site.configFile, ['user', 'add', 'admin', '--role', 'admin', '--os-user', 'ops', '--password-stdin'], 'admin-password-1\n', { USER: 'ops' })
    assert.equal(add.code, 0, add.stderr)
    const t = await cliWithInput(site.configFile, ['--as', 'admin', '--password-stdin', '--json', 'token', 'create', '--note', 'ci'], 'admin-password-1\n', { USER: 'ops' })
    assert.equal(t.code, 0, t.stderr)
    const env = { PEAKGUARD_TOKEN: t.json.token as string }
    const file = path.join(site.dataDir, 'users.json')
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'))
    doc.users[0].wpUsers = ['wp\u001b[2Jadmin', `x\n${FORGED}`]
    doc.tokens[0].note = HOSTILE
    fs.writeFileSync(file, JSON.stringify(doc), { mode: 0o600 })

    const users = await cli(['user', 'list'], env)
    clean(users, 'user list')
    assert.ok(users.stdout.includes(`wp: wp\\x1b[2Jadmin, x\\n${FORGED}`), users.stdout)
    assert.deepEqual((await cli(['--json', 'user', 'list'], env)).json.users[0].wpUsers, ['wp\u001b[2Jadmin', `x\n${FORGED}`])

    const tokens = await cli(['token', 'list'], env)
    clean(tokens, 'token list')
    assert.ok(tokens.stdout.includes(SHOWN), tokens.stdout)
  })
})

describe('output: print() and report() make each line visible', () => {
  function fakeRuntime(): Runtime & { outs: string[]; errs: string[] } {
    const outs: string[] = []
    const errs: string[] = []
    return { outs, errs, out: (t: string) => void outs.push(t), err: (t: string) => void errs.push(t) } as unknown as Runtime & { outs: string[]; errs: string[] }
  }

  it('print: the text lines are escaped one by one and joined by the only newlines printed; --json is exact', () => {
    const rt = fakeRuntime()
    print(rt, {} as GlobalOptions, { reason: HOSTILE }, () => [`reason ${HOSTILE}`, 'next line'])
    assert.deepEqual(rt.outs, [`reason ${SHOWN}\nnext line`])
    print(rt, {} as GlobalOptions, { reason: HOSTILE }, () => `one line ${HOSTILE}`)
    assert.equal(rt.outs[1], `one line ${SHOWN}`)
    print(rt, { json: true } as GlobalOptions, { reason: HOSTILE }, () => 'unused')
    assert.equal(JSON.parse(rt.outs[2] as string).reason, HOSTILE)
  })

  it('report: the message is one escaped line on stderr; the JSON error keeps it exact', () => {
    const rt = fakeRuntime()
    report(rt, {} as GlobalOptions, new PeakguardError('USAGE', `cannot read ${HOSTILE}`))
    assert.deepEqual(rt.errs, [`peakguard: cannot read ${SHOWN}`])
    const j = fakeRuntime()
    report(j, { json: true } as GlobalOptions, new PeakguardError('USAGE', `cannot read ${HOSTILE}`))
    assert.equal(JSON.parse(j.outs[0] as string).error.message, `cannot read ${HOSTILE}`)
    assert.doesNotMatch(j.errs.join('\n'), RAW)
  })
})
