// The freeze gate's policies and overrides with the real daemon on a sample site: `hold` keeps a change
// live until it is decided (a rejection reverts exactly what it touched), an allow-window lets a scoped
// change through and says so in the audit log, and break-glass lets an admin decide their own change —
// only with a reason, and loudly.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { fastDaemonConfig, startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, type TestSite } from './harness/site.ts'
import { makeUsers, ok } from './harness/users.ts'

describe('freeze gate: hold, reject, allow-windows, break-glass', function () {
  this.timeout(240_000)
  let site: TestSite
  let daemon: RunningDaemon
  let tokens: Record<string, string>
  const as = (u: string) => ({ PEAKGUARD_TOKEN: tokens[u] as string })
  const file = (p: string) => path.join(site.wpContent, p)
  /** polls `cond` until it holds */
  const until = async (cond: () => Promise<boolean>, what: string, ms = 20_000) => {
    const deadline = Date.now() + ms
    while (!(await cond())) {
      if (Date.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  const pending = async () => (await site.cli(['--json', 'requests'], as('otto'))).json as { id: string; items: { paths: string[] } }[]

  before(async () => {
    site = await createSite({ siteConfig: fastDaemonConfig('    freeze: { policy: hold }\n') })
    // the admin is mapped to the OS user www-data, who owns the sample site's files
    tokens = await makeUsers(site.configFile, 'root', { alice: 'approver', bob: 'approver', otto: 'operator' }, ['www-data'])
    daemon = await startDaemon(site)
    ok(await site.cli(['freeze', 'start', '--for', '1h', '--reason', 'launch night'], as('alice')), 'freeze start')
  })

  after(async () => {
    await daemon?.stop()
    await site?.cleanup()
  })

  it('hold: a change stays live and flagged; an operator cannot decide it; a rejection by an approver reverts exactly it', async () => {
    const before = fs.readFileSync(file('plugins/akismet/akismet.php'), 'utf8')
    const from = daemon.lines.length
    fs.writeFileSync(file('plugins/akismet/akismet.php'), `${before}// hot fix\n`)
    await daemon.waitFor((l) => l.msg === 'freeze: change held for approval', 20_000, from)
    assert.match(fs.readFileSync(file('plugins/akismet/akismet.php'), 'utf8'), /hot fix/, 'held: still live')
    const list = await site.cli(['--json', 'requests'], as('otto'))
    assert.equal(list.json.length, 1)
    const req = list.json[0]
    assert.equal(req.policy, 'hold')
    assert.equal(req.reverted, false)
    assert.deepEqual(req.items, { paths: ['plugins/akismet'], options: [] })
    assert.match(req.attribution.label, /^file owner www-data \(outside WordPress\)$/)
    const denied = await site.cli(['reject', req.id], as('otto'))
    assert.equal(denied.code, 5, denied.stderr)
    assert.match(denied.stderr, /otto has role operator/)
    // another change meanwhile, elsewhere, is not touched by the rejection of this one
    const r = await site.cli(['--json', 'reject', req.id, '--note', 'not during the launch'], as('bob'))
    ok(r, 'bob rejects')
    assert.equal(r.json.request.status, 'rejected')
    assert.equal(r.json.restore.verified, true)
    assert.equal(fs.readFileSync(file('plugins/akismet/akismet.php'), 'utf8'), before, 'rejected: reverted')
    const again = await site.cli(['approve', req.id], as('alice'))
    assert.equal(again.code, 2, again.stderr)
    assert.match(again.stderr, /already rejected by bob/)
    await new Promise((res) => setTimeout(res, 1500))
    assert.deepEqual((await site.cli(['--json', 'requests'], as('otto'))).json, [], 'the revert itself opened no request')
  })

  it('an allow-window lets exactly its scope through, and the audit log names it', async () => {
    ok(await site.cli(['allow', '--scope', 'plugins/woocommerce', '--for', '30m', '--reason', 'WooCommerce hot fix'], as('alice')), 'allow')
    fs.appendFileSync(file('plugins/woocommerce/woocommerce.php'), '// patched under the allow-window\n')
    const accepted = async () =>
      ((await site.cli(['--json', 'audit', '--type', 'snapshot'], as('otto'))).json.entries as { summary: string }[]).some((e) =>
        /accepted under allow-window plugins\/woocommerce \(WooCommerce hot fix, by alice\)/.test(e.summary),
      )
    await until(accepted, 'the audit log names the allow-window')
    assert.deepEqual(await pending(), [], 'covered: no request')
    const from = daemon.lines.length
    fs.appendFileSync(file('plugins/hello.php'), '// not covered\n')
    await daemon.waitFor((l) => l.msg === 'freeze: change held for approval', 20_000, from)
    const list = (await site.cli(['--json', 'requests'], as('otto'))).json
    assert.equal(list.length, 1)
    assert.deepEqual(list[0].items.paths, ['plugins/hello.php'])
  })

  it('break-glass: an admin may decide a change they made only with --break-glass and a reason; it is audited', async () => {
    const [req] = (await site.cli(['--json', 'requests'], as('otto'))).json
    // the file's owner is www-data, an OS user mapped to the admin: they made the change
    const own = await site.cli(['approve', req.id], as('root'))
    assert.equal(own.code, 5, own.stderr)
    assert.match(own.stderr, /they made the change/)
    const noReason = await site.cli(['approve', req.id, '--break-glass'], as('root'))
    assert.equal(noReason.code, 2)
    assert.match(noReason.stderr, /--break-glass needs --reason/)
    const notAdmin = await site.cli(['approve', req.id, '--break-glass', '--reason', 'x'], as('alice'))
    assert.equal(notAdmin.code, 5)
    const r = await site.cli(['--json', 'approve', req.id, '--break-glass', '--reason', 'checkout is down without it'], as('root'))
    ok(r, 'break-glass approve')
    assert.equal(r.json.request.decision.breakGlass, true)
    assert.match(fs.readFileSync(file('plugins/hello.php'), 'utf8'), /not covered/, 'held change approved: stays live')
    const audit = await site.cli(['--json', 'audit', '--type', 'break-glass'], as('otto'))
    assert.equal(audit.json.entries.length, 1)
    assert.match(audit.json.entries[0].summary, /checkout is down without it/)
    ok(await site.cli(['audit', 'verify'], as('otto')), 'audit verify')
  })

  it('during a freeze a restore goes back only to a state from before it, unless an admin breaks glass', async () => {
    const before = (await site.cli(['--json', 'freeze', 'status'], as('otto'))).json.baseline.state as string
    const during = (await site.cli(['--json', 'list'], as('otto'))).json[0].id as string
    const frozen = await site.cli(['restore', during, '--yes'], as('otto'))
    assert.equal(frozen.code, 5, frozen.stderr)
    assert.match(frozen.stderr, /was recorded during it/)
    // the rollback the night shift needs: to the state at the freeze's start (here with --only, to keep the rest)
    ok(await site.cli(['restore', before, '--yes', '--only', 'plugins/woocommerce'], as('otto')), 'restore to the baseline')
    const glass = await site.cli(['--json', 'restore', during, '--yes', '--only', 'plugins/woocommerce', '--break-glass', '--reason', 'the hot fix is needed after all'], as('root'))
    ok(glass, 'break-glass restore')
    const audit = (await site.cli(['--json', 'audit', '--type', 'break-glass'], as('otto'))).json.entries as { summary: string }[]
    assert.ok(audit.some((e) => /restore of|broke glass to restore/.test(e.summary)), JSON.stringify(audit))
    await until(async () => (await pending()).length === 0, 'restores open no request')
  })

  it("a decision never overwrites a newer state; a change only a restore's safety snapshot recorded is still gated", async () => {
    const f = file('plugins/akismet/class.akismet.php')
    const original = fs.readFileSync(f, 'utf8')
    fs.writeFileSync(f, `${original}// first\n`)
    await until(async () => (await pending()).length === 1, 'the first change is held')
    fs.writeFileSync(f, `${original}// second\n`)
    await until(async () => (await pending()).length === 2, 'the second change is held')
    const [second, first] = await pending() // newest first
    const stale = await site.cli(['reject', first!.id], as('bob'))
    assert.equal(stale.code, 2, stale.stderr)
    assert.match(stale.stderr, new RegExp(`changed since it was opened.*newer request ${second!.id}`))
    assert.match(fs.readFileSync(f, 'utf8'), /second/, 'nothing was overwritten')
    // the daemon is stopped, a file changes unseen, then a decision's restore records it in its safety snapshot
    await daemon.stop()
    fs.appendFileSync(file('plugins/hello.php'), '// unseen while the daemon was down\n')
    ok(await site.cli(['reject', second!.id], as('bob')), 'reject the newer change')
    assert.match(fs.readFileSync(f, 'utf8'), /first/, 'back to the first change')
    daemon = await startDaemon(site)
    await until(async () => (await pending()).some((r) => r.items.paths.includes('plugins/hello.php')), 'the unseen change became a request')
    ok(await site.cli(['reject', first!.id], as('bob')), 'now the first change can be rejected')
    assert.equal(fs.readFileSync(f, 'utf8'), original)
  })
})
