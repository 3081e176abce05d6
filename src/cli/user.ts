// peakguard user add|set|remove|passwd|list: the peakguard users, their roles, and the OS users and
// WordPress logins that are them (the two-person rule counts a change made as one of those as theirs). Managing users needs role
// admin, except the bootstrap: while the users file is empty, the first `user add` (role admin) needs no
// proof — whoever can read the config (mode 0600, it holds the database password) already controls the site.
// For add and passwd, --password-stdin carries the NEW password; the acting admin proves itself with
// $PEAKGUARD_TOKEN there, so stdin never has to hold two secrets.
import type { Command } from 'commander'
import type { Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { accessAudit, authorize } from '../services/access.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

const STDIN_HELP = `
The new password is read from stdin's first line with --password-stdin (works without a terminal):
  printf '%s\\n' "$NEW_PASSWORD" | peakguard user add alice --role operator --password-stdin
Once users exist, the acting admin proves itself with PEAKGUARD_TOKEN for these two commands.`

const repeat = (v: string, acc: string[] | boolean | undefined): string[] => [...(Array.isArray(acc) ? acc : []), v]
const OS_HELP = 'an OS user (SUDO_USER/USER, a file owner) that is this person (repeatable)'
const WP_HELP = 'a WordPress login of this person (repeatable): changes made as it count as theirs for the two-person rule'

function identities(u: { osUsers?: string[]; wpUsers?: string[] }): string {
  return `${u.osUsers?.length ? `  os: ${u.osUsers.join(', ')}` : ''}${u.wpUsers?.length ? `  wp: ${u.wpUsers.join(', ')}` : ''}`
}

/** --os-user X … replaces the list, --no-os-user clears it, neither keeps it. */
const listOption = (v: string[] | boolean | undefined): string[] | undefined => (Array.isArray(v) ? v : v === false ? [] : undefined)

/** The actor of a command whose stdin holds a new password: proved by token only (or the bootstrap). */
function managerOf(rt: Runtime, o: GlobalOptions, action: 'users' | 'view'): Promise<Actor> {
  return rt.actor({ ...o, passwordStdin: false }, action)
}

async function newPassword(rt: Runtime, o: GlobalOptions): Promise<string> {
  if (!o.passwordStdin) throw new PeakguardError('USAGE', `give the new password on stdin with --password-stdin (printf '%s\\n' "$PW" | peakguard user … --password-stdin)`)
  const pw = await rt.readStdinLine()
  if (!pw) throw new PeakguardError('USAGE', '--password-stdin: stdin held no password')
  return pw
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  const user = program.command('user').description('manage peakguard users and their roles (viewer < operator < approver < admin)')

  user
    .command('add <name>')
    .description('add a user; the password comes from stdin (--password-stdin)')
    .requiredOption('--role <role>', 'viewer, operator, approver or admin')
    .option('--os-user <user>', OS_HELP, repeat, [])
    .option('--wp-user <login>', WP_HELP, repeat, [])
    .addHelpText('after', STDIN_HELP)
    .action((name: string, flags: { role: string; osUser: string[]; wpUser: string[] }) =>
      run(async (o) => {
        const access = await rt.access(o)
        const by = await managerOf(rt, o, 'users')
        const password = await newPassword(rt, o)
        const u = await access.addUser({ name, role: flags.role, password, osUsers: flags.osUser, wpUsers: flags.wpUser }, { bootstrap: by.via === 'unmanaged' })
        await rt.auditAll(o, accessAudit.userAdded(by, u))
        print(rt, o, { user: u }, () => `added user ${u.name} (role ${u.role})${u.osUsers?.length ? `, OS users ${u.osUsers.join(', ')}` : ''}${u.wpUsers?.length ? `, WordPress logins ${u.wpUsers.join(', ')}` : ''}`)
      }),
    )

  user
    .command('set <name>')
    .description("replace a user's OS users and/or WordPress logins (a list not given is kept)")
    .option('--os-user <user>', OS_HELP, repeat)
    .option('--no-os-user', 'clear the OS users')
    .option('--wp-user <login>', WP_HELP, repeat)
    .option('--no-wp-user', 'clear the WordPress logins')
    .action((name: string, flags: { osUser?: string[] | boolean; wpUser?: string[] | boolean }) =>
      run(async (o) => {
        const by = await rt.actor(o, 'users')
        const osUsers = listOption(flags.osUser)
        const wpUsers = listOption(flags.wpUser)
        const r = await (await rt.access(o)).setIdentities(name, { ...(osUsers ? { osUsers } : {}), ...(wpUsers ? { wpUsers } : {}) })
        const shown = (l: string[]) => (l.length ? l.join(', ') : 'none')
        const changed = [
          ...(osUsers ? [`OS users ${shown(r.after.osUsers)} (were ${shown(r.before.osUsers)})`] : []),
          ...(wpUsers ? [`WordPress logins ${shown(r.after.wpUsers)} (were ${shown(r.before.wpUsers)})`] : []),
        ].join(', ')
        await rt.auditAll(o, {
          type: 'user',
          actor: by.name,
          summary: `${by.name} set the identities of ${name}: ${changed}`,
          details: { action: 'set', user: name, osUsers: r.after.osUsers, wpUsers: r.after.wpUsers, before: r.before },
        })
        print(rt, o, { user: name, ...r.after, before: r.before }, () => `${name}: ${changed}`)
      }),
    )

  user
    .command('remove <name>')
    .description('remove a user and revoke their tokens (never the last admin)')
    .action((name: string) =>
      run(async (o) => {
        const by = await rt.actor(o, 'users')
        const r = await (await rt.access(o)).removeUser(name)
        await rt.auditAll(o, accessAudit.userRemoved(by, name, r.tokensRevoked))
        print(rt, o, { removed: name, tokensRevoked: r.tokensRevoked }, () => `removed user ${name}${r.tokensRevoked ? ` and revoked ${r.tokensRevoked} token(s)` : ''}`)
      }),
    )

  user
    .command('passwd <name>')
    .description("set a user's password from stdin (--password-stdin); an admin for anyone, a user for themselves")
    .addHelpText('after', STDIN_HELP)
    .action((name: string) =>
      run(async (o) => {
        const by = await managerOf(rt, o, 'view')
        if (by.name !== name) authorize(by, 'users')
        const password = await newPassword(rt, o)
        await (await rt.access(o)).setPassword(name, password)
        await rt.auditAll(o, { type: 'user', actor: by.name, summary: `${by.name} changed the password of ${name}`, details: { action: 'passwd', user: name } })
        print(rt, o, { user: name, passwordChanged: true }, () => `password of ${name} changed`)
      }),
    )

  user
    .command('list')
    .description('list users and their roles (never a hash)')
    .action(() =>
      run(async (o) => {
        await rt.actor(o, 'view')
        const access = await rt.access(o)
        const users = await access.listUsers()
        print(rt, o, { file: access.where, users }, () =>
          users.length
            ? users.map((u) => `${u.name.padEnd(16)} ${u.role.padEnd(9)} since ${u.createdAt}${identities(u)}`)
            : `no users in ${access.where}: peakguard runs unmanaged (every OS user who can read the config acts as admin); add the first admin with 'peakguard user add NAME --role admin --password-stdin'`,
        )
      }),
    )
}
