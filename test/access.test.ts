// Users, roles and tokens through the real CLI (a child process with no terminal): the bootstrap admin,
// proof by password on stdin or PEAKGUARD_TOKEN, role checks, and that no secret is ever stored or printed.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { createSite, type CliResult, type TestSite } from './harness/site.ts'
import { cliWithInput } from './harness/users.ts'

/** `peakguard ARGS` as the OS user ops, with `stdin` piped in (no terminal). */
function cliIn(site: TestSite, args: string[], stdin: string | null = null, env: Record<string, string> = {}): Promise<CliResult> {
  return cliWithInput(site.configFile, args, stdin ?? '', { USER: 'ops', ...env })
}

/** Every byte under a directory, as text, to look for secrets in. */
function allFiles(dir: string): string {
  let out = ''
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name)
      if (e.isDirectory()) walk(p)
      else if (e.isFile()) out += fs.readFileSync(p, 'latin1')
    }
  }
  walk(dir)
  return out
}

const ADMIN_PW = 'correct horse battery'
const OP_PW = 'operator-pass-42'
const VIEW_PW = 'viewer-pass-42'

describe('users, roles and tokens', () => {
  let site: TestSite
  const outputs: string[] = []
  const run = async (args: string[], stdin: string | null = null, env: Record<string, string> = {}) => {
    const r = await cliIn(site, args, stdin, env)
    outputs.push(r.stdout, r.stderr)
    return r
  }
  const usersFile = () => path.join(site.dataDir, 'users.json')
  const auditEntries = async () => (await run(['audit', '--json'])).json.entries as any[]

  beforeEach(async () => {
    site = await createSite()
    outputs.length = 0
  })
  afterEach(async () => site.cleanup())

  it('bootstraps the first admin from stdin without a terminal; the password is stored as a salted scrypt hash only', async () => {
    const viewerFirst = await run(['user', 'add', 'vera', '--role', 'viewer', '--password-stdin'], `${VIEW_PW}\n`)
    assert.equal(viewerFirst.code, 2)
    assert.match(viewerFirst.stderr, /first user must be an admin/)
    const add = await run(['user', 'add', 'alice', '--role', 'admin', '--os-user', 'ops', '--password-stdin'], `${ADMIN_PW}\n`)
    assert.equal(add.code, 0, add.stderr)
    assert.match(add.stdout, /added user alice \(role admin\)/)
    assert.equal(fs.statSync(usersFile()).mode & 0o777, 0o600)
    const doc = JSON.parse(fs.readFileSync(usersFile(), 'utf8'))
    assert.match(doc.users[0].passwordHash, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/)
    // a second bootstrap is not possible: users exist, so proof is needed
    const again = await run(['user', 'add', 'mallory', '--role', 'admin', '--password-stdin'], 'mallory-pass\n')
    assert.equal(again.code, 5)
    assert.match(again.stderr, /PEAKGUARD_TOKEN/)
    // the same password for a second user gets another salt, so another hash
    const tok = (await run(['--password-stdin', 'token', 'create', '--json'], `${ADMIN_PW}\n`)).json.token
    assert.equal((await run(['user', 'add', 'bob', '--role', 'operator', '--password-stdin'], `${ADMIN_PW}\n`, { PEAKGUARD_TOKEN: tok })).code, 0)
    const users = JSON.parse(fs.readFileSync(usersFile(), 'utf8')).users
    assert.notEqual(users[0].passwordHash, users[1].passwordHash)
    const list = await run(['user', 'list', '--json'], null, { PEAKGUARD_TOKEN: tok })
    assert.deepEqual(list.json.users.map((u: any) => [u.name, u.role]), [['alice', 'admin'], ['bob', 'operator']])
    assert.ok(!list.stdout.includes('scrypt'), 'user list never prints a hash')
    for (const text of [...outputs, allFiles(site.dataDir)]) assert.ok(!text.includes(ADMIN_PW), 'the password appears in clear')
  })

  it('once users exist every acting command needs proof; a wrong password exits 5 and is audited without the secret', async () => {
    assert.equal((await run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], `${ADMIN_PW}\n`)).code, 0)
    const none = await run(['snapshot'])
    assert.equal(none.code, 5)
    assert.match(none.stderr, /--password-stdin/)
    assert.match(none.stderr, /PEAKGUARD_TOKEN/)
    const wrong = await run(['--as', 'alice', '--password-stdin', 'snapshot'], 'not-the-password\n')
    assert.equal(wrong.code, 5)
    assert.match(wrong.stderr, /wrong user name or password/)
    const nobody = await run(['--as', 'ghost', '--password-stdin', 'snapshot'], 'whatever-pass\n')
    assert.equal(nobody.code, 5)
    const right = await run(['--as', 'alice', '--password-stdin', 'snapshot', '--json'], `${ADMIN_PW}\n`)
    assert.equal(right.code, 0, right.stderr)
    assert.equal(right.json.created, true)
    const entries = await auditEntries()
    const failed = entries.filter((e) => e.type === 'login-failed')
    assert.deepEqual(failed.map((e) => [e.actor, e.details.via]), [['alice', 'password'], ['ghost', 'password']])
    assert.equal(entries.find((e) => e.type === 'snapshot')?.actor, 'alice')
    const all = allFiles(site.dataDir)
    assert.ok(!all.includes('not-the-password') && !all.includes('whatever-pass'), 'a tried password was written somewhere')
    assert.ok(!all.includes(ADMIN_PW))
  })

  it('token create --json prints the token once; it is stored hashed, works as PEAKGUARD_TOKEN, and stops working when revoked', async () => {
    assert.equal((await run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], `${ADMIN_PW}\n`)).code, 0)
    const made = await run(['--as', 'alice', '--password-stdin', 'token', 'create', '--note', 'ci deploys', '--json'], `${ADMIN_PW}\n`)
    assert.equal(made.code, 0, made.stderr)
    const { token, id } = made.json
    assert.match(token, /^pgt_[A-Za-z0-9_-]{43}$/)
    assert.ok(!fs.readFileSync(usersFile(), 'utf8').includes(token), 'the users file holds the token in clear')
    assert.ok(!fs.readFileSync(usersFile(), 'utf8').includes(token.slice(4, 20)))
    const snap = await run(['snapshot', '--json'], null, { PEAKGUARD_TOKEN: token })
    assert.equal(snap.code, 0, snap.stderr)
    const listed = await run(['token', 'list', '--json'], null, { PEAKGUARD_TOKEN: token })
    assert.deepEqual(listed.json.tokens.map((t: any) => [t.id, t.user, t.note]), [[id, 'alice', 'ci deploys']])
    assert.ok(listed.json.tokens[0].lastUsedAt, 'lastUsedAt is kept')
    assert.ok(!listed.stdout.includes(token) && !('hash' in listed.json.tokens[0]))
    // a token and --as for someone else do not mix
    assert.equal((await run(['--as', 'bob', 'snapshot'], null, { PEAKGUARD_TOKEN: token })).code, 5)
    assert.equal((await run(['token', 'revoke', id], null, { PEAKGUARD_TOKEN: token })).code, 0)
    const after = await run(['snapshot'], null, { PEAKGUARD_TOKEN: token })
    assert.equal(after.code, 5)
    assert.match(after.stderr, /token is not valid/)
    const types = (await run(['--as', 'alice', '--password-stdin', 'audit', '--json'], `${ADMIN_PW}\n`)).json.entries.map((e: any) => [e.type, e.details?.action ?? null])
    assert.deepEqual(types.filter((t: any) => t[0] === 'token'), [['token', 'create'], ['token', 'revoke']])
    for (const text of [...outputs.filter((o) => o !== made.stdout), allFiles(site.dataDir)]) assert.ok(!text.includes(token), 'the token appears after its creation')
  })

  it('a viewer cannot restore (exit 5, FORBIDDEN names the role needed); an operator can, and the OS user maps to them', async () => {
    assert.equal((await run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], `${ADMIN_PW}\n`)).code, 0)
    const admin = (await run(['--as', 'alice', '--password-stdin', 'token', 'create', '--json'], `${ADMIN_PW}\n`)).json.token
    assert.equal((await run(['user', 'add', 'vera', '--role', 'viewer', '--password-stdin'], `${VIEW_PW}\n`, { PEAKGUARD_TOKEN: admin })).code, 0)
    assert.equal((await run(['user', 'add', 'otto', '--role', 'operator', '--os-user', 'deploy', '--password-stdin'], `${OP_PW}\n`, { PEAKGUARD_TOKEN: admin })).code, 0)
    const a = (await run(['snapshot', '--json'], null, { PEAKGUARD_TOKEN: admin })).json.id
    const hello = path.join(site.wpContent, 'plugins/hello.php')
    const original = fs.readFileSync(hello, 'utf8')
    fs.writeFileSync(hello, '<?php // changed')
    const denied = await run(['--as', 'vera', '--password-stdin', 'restore', a, '--yes'], `${VIEW_PW}\n`)
    assert.equal(denied.code, 5)
    assert.match(denied.stderr, /vera has role viewer; restore needs role operator or higher/)
    assert.equal(fs.readFileSync(hello, 'utf8'), '<?php // changed', 'a refused restore wrote something')
    // a viewer may still look (dry run)
    assert.equal((await run(['restore', a, '--dry-run'])).code, 0)
    // sudo -u root by OS user deploy: SUDO_USER maps to otto, who proves it with the password
    const ok = await run(['--password-stdin', 'restore', a, '--yes', '--json'], `${OP_PW}\n`, { SUDO_USER: 'deploy', USER: 'root' })
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.json.verified, true)
    assert.equal(fs.readFileSync(hello, 'utf8'), original)
    const restoreEntry = (await auditEntries()).find((e) => e.type === 'restore')
    assert.equal(restoreEntry.actor, 'otto')
    // the operator may not manage users
    const forbidden = await run(['--as', 'otto', '--password-stdin', 'user', 'remove', 'vera'], `${OP_PW}\n`)
    assert.equal(forbidden.code, 5)
    assert.match(forbidden.stderr, /users needs role admin/)
  })

  it('maps WordPress logins to a user (add --wp-user, set replaces them), one person each, and the two-person rule counts them', async () => {
    assert.equal((await run(['user', 'add', 'root', '--role', 'admin', '--password-stdin'], `${ADMIN_PW}\n`)).code, 0)
    const admin = { PEAKGUARD_TOKEN: (await run(['--as', 'root', '--password-stdin', 'token', 'create', '--json'], `${ADMIN_PW}\n`)).json.token }
    const add = await run(['user', 'add', 'alice', '--role', 'approver', '--wp-user', 'alice.smith', '--wp-user', 'asmith', '--password-stdin'], 'alice-pass-42\n', admin)
    assert.equal(add.code, 0, add.stderr)
    assert.match(add.stdout, /added user alice \(role approver\), WordPress logins alice\.smith, asmith/)
    const list = await run(['user', 'list', '--json'], null, admin)
    assert.deepEqual(list.json.users.find((u: any) => u.name === 'alice').wpUsers, ['alice.smith', 'asmith'])
    assert.match((await run(['user', 'list'], null, admin)).stdout, /^alice\s+approver .*wp: alice\.smith, asmith$/m)

    // a login is one person's: not another user's WordPress login, nor their OS user (the rule compares names case-insensitively)
    const taken = await run(['user', 'add', 'bob', '--role', 'approver', '--wp-user', 'Alice.Smith', '--password-stdin'], 'bob-pass-4242\n', admin)
    assert.equal(taken.code, 2, taken.stderr)
    assert.match(taken.stderr, /WordPress login Alice\.Smith cannot map to bob: it is already alice's/)
    const asOs = await run(['user', 'add', 'bob', '--role', 'approver', '--os-user', 'asmith', '--password-stdin'], 'bob-pass-4242\n', admin)
    assert.equal(asOs.code, 2, asOs.stderr)
    assert.match(asOs.stderr, /OS user asmith cannot map to bob: it is already alice's/)
    const asName = await run(['user', 'add', 'asmith', '--role', 'viewer', '--password-stdin'], 'asmith-pass-42\n', admin)
    assert.equal(asName.code, 2)
    assert.match(asName.stderr, /asmith cannot be a user name: it is an OS user or WordPress login of alice/)
    const comma = await run(['user', 'add', 'bob', '--role', 'approver', '--wp-user', 'bob,jones', '--password-stdin'], 'bob-pass-4242\n', admin)
    assert.equal(comma.code, 2)
    assert.match(comma.stderr, /bad WordPress login "bob,jones": .*no comma .*repeating --wp-user/)
    assert.equal((await run(['user', 'add', 'bob', '--role', 'approver', '--password-stdin'], 'bob-pass-4242\n', admin)).code, 0)
    const bob = { PEAKGUARD_TOKEN: (await run(['--as', 'bob', '--password-stdin', 'token', 'create', '--json'], 'bob-pass-4242\n')).json.token }
    const setTaken = await run(['user', 'set', 'bob', '--wp-user', 'asmith'], null, admin)
    assert.equal(setTaken.code, 2)
    assert.match(setTaken.stderr, /it is already alice's .*peakguard user set alice --wp-user/)
    const notAdmin = await run(['user', 'set', 'bob', '--wp-user', 'bob.jones'], null, bob)
    assert.equal(notAdmin.code, 5)
    assert.match(notAdmin.stderr, /users needs role admin/)

    // a change made in wp-admin as alice.smith, held as a change request (as the freeze gate records it)
    const base = (await run(['snapshot', '--json'], null, admin)).json.id
    fs.appendFileSync(path.join(site.wpContent, 'plugins/hello.php'), '// from wp-admin\n')
    const attempted = (await run(['snapshot', '--json'], null, admin)).json.id
    const id = 'mg0abc12-beef'
    const who = 'Alice.Smith'
    fs.mkdirSync(path.join(site.dataDir, 'shop/docs/requests'), { recursive: true })
    fs.writeFileSync(
      path.join(site.dataDir, 'shop/docs/requests', `${id}.json`),
      JSON.stringify({
        id, site: 'shop', createdAt: new Date().toISOString(), base, attempted, items: { paths: ['plugins/hello.php'], options: [] },
        summary: 'plugins/hello.php changed', attribution: { kind: 'wordpress', who, wpUserId: 2, ip: '127.0.0.1', label: `wp:${who} (#2) from 127.0.0.1` },
        policy: 'hold', reverted: false, freeze: { source: 'manual', end: new Date(Date.now() + 3600_000).toISOString() },
        requester: who, status: 'pending', decision: null, outcome: null,
      }),
    )
    const own = await run(['approve', id], null, { PEAKGUARD_TOKEN: (await run(['--as', 'alice', '--password-stdin', 'token', 'create', '--json'], 'alice-pass-42\n')).json.token })
    assert.equal(own.code, 5, own.stderr)
    assert.match(own.stderr, /alice cannot decide change request .*they made the change \(wp:Alice\.Smith/)

    // user set replaces the lists it is given (and frees the old logins for someone else)
    const set = await run(['user', 'set', 'alice', '--wp-user', 'a.smith2', '--os-user', 'alice'], null, admin)
    assert.equal(set.code, 0, set.stderr)
    assert.match(set.stdout, /alice: OS users alice \(were none\), WordPress logins a\.smith2 \(were alice\.smith, asmith\)/)
    const after = (await run(['user', 'list', '--json'], null, admin)).json.users.find((u: any) => u.name === 'alice')
    assert.deepEqual([after.osUsers, after.wpUsers], [['alice'], ['a.smith2']])
    assert.equal((await run(['user', 'set', 'bob', '--wp-user', 'alice.smith'], null, admin)).code, 0)
    assert.equal((await run(['user', 'set', 'alice', '--no-os-user'], null, admin)).code, 0)
    assert.deepEqual((await run(['user', 'list', '--json'], null, admin)).json.users.find((u: any) => u.name === 'alice').osUsers, undefined)
    // alice.smith is bob's now: alice may decide the change, bob may not
    const bobOwn = await run(['approve', id], null, bob)
    assert.equal(bobOwn.code, 5)
    assert.match(bobOwn.stderr, /bob cannot decide .*they made the change/)
    const ok = await run(['--as', 'alice', '--password-stdin', '--json', 'approve', id], 'alice-pass-42\n')
    assert.equal(ok.code, 0, ok.stderr)
    assert.equal(ok.json.request.decision.by, 'alice')

    const sets = (await auditEntries()).filter((e) => e.type === 'user' && e.details.action === 'set')
    assert.deepEqual(sets[0].details, { action: 'set', user: 'alice', osUsers: ['alice'], wpUsers: ['a.smith2'], before: { osUsers: [], wpUsers: ['alice.smith', 'asmith'] } })
    assert.equal(sets[0].actor, 'root')
    assert.equal(sets.length, 3)
  })

  it("a post-restore hook run by the CLI never gets the caller's PEAKGUARD_TOKEN, nor another PEAKGUARD_* secret", async () => {
    fs.appendFileSync(
      site.configFile,
      '    hooks: { postRestore: ["echo token:$PEAKGUARD_TOKEN. key:$PEAKGUARD_S3_KEY. other:$PEAKGUARD_API_SECRET. site:$PEAKGUARD_SITE"], timeout: 5s }\n',
    )
    assert.equal((await run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], `${ADMIN_PW}\n`)).code, 0)
    const made = await run(['--as', 'alice', '--password-stdin', 'token', 'create', '--json'], `${ADMIN_PW}\n`)
    const token = made.json.token
    const env = { PEAKGUARD_TOKEN: token, PEAKGUARD_S3_KEY: 'b'.repeat(64), PEAKGUARD_API_SECRET: 'hunter2-secret' }
    const a = (await run(['snapshot', '--json'], null, env)).json.id
    fs.appendFileSync(path.join(site.wpContent, 'plugins/hello.php'), '// changed\n')
    const r = await run(['restore', a, '--yes', '--json'], null, env)
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.json.hooks.length, 1)
    assert.equal(r.json.hooks[0].exitCode, 0)
    // the hook ran with what a restore hands it, and without the caller's secrets
    assert.equal(r.json.hooks[0].output, 'token:. key:. other:. site:shop')
    for (const text of [...outputs.filter((o) => o !== made.stdout), allFiles(site.dataDir)]) assert.ok(!text.includes(token), 'the token reached a hook, a report or the data directory')
  })

  it('refuses removing the last admin, an unknown role, a short password and a duplicate user (also one differing only in case)', async () => {
    assert.equal((await run(['user', 'add', 'alice', '--role', 'admin', '--password-stdin'], `${ADMIN_PW}\n`)).code, 0)
    const tok = (await run(['--as', 'alice', '--password-stdin', 'token', 'create', '--json'], `${ADMIN_PW}\n`)).json.token
    const env = { PEAKGUARD_TOKEN: tok }
    const last = await run(['user', 'remove', 'alice'], null, env)
    assert.equal(last.code, 2)
    assert.match(last.stderr, /alice is the last admin/)
    const role = await run(['user', 'add', 'bob', '--role', 'root', '--password-stdin'], 'long-enough-pw\n', env)
    assert.equal(role.code, 2)
    assert.match(role.stderr, /unknown role root: use one of viewer, operator, approver, admin/)
    const short = await run(['user', 'add', 'bob', '--role', 'viewer', '--password-stdin'], 'short\n', env)
    assert.equal(short.code, 2)
    assert.match(short.stderr, /at least 8 characters/)
    const empty = await run(['user', 'add', 'bob', '--role', 'viewer', '--password-stdin'], '', env)
    assert.equal(empty.code, 2)
    const dup = await run(['user', 'add', 'alice', '--role', 'viewer', '--password-stdin'], 'long-enough-pw\n', env)
    assert.equal(dup.code, 2)
    assert.match(dup.stderr, /user alice already exists/)
    for (const name of ['ALICE', 'Alice', 'aLiCe']) {
      const alike = await run(['user', 'add', name, '--role', 'admin', '--password-stdin'], 'long-enough-pw\n', env)
      assert.equal(alike.code, 2, `${name}: ${alike.stderr}`)
      assert.match(alike.stderr, new RegExp(`user ${name} would differ from the existing user alice only in case`))
    }
    // with a second admin the first can go, and their token with them
    assert.equal((await run(['user', 'add', 'carol', '--role', 'admin', '--password-stdin'], 'carol-pass-1\n', env)).code, 0)
    const gone = await run(['user', 'remove', 'alice', '--json'], null, env)
    assert.equal(gone.code, 0, gone.stderr)
    assert.deepEqual(gone.json, { removed: 'alice', tokensRevoked: 1 })
    assert.equal((await run(['snapshot'], null, env)).code, 5)
    assert.equal((await run(['--as', 'carol', '--password-stdin', 'user', 'list'], 'carol-pass-1\n')).code, 0)
  })
})
