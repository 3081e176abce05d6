// peakguard user add|remove|passwd|list: the peakguard users and their roles. Managing users needs role
// admin, except the bootstrap: while the users file is empty, the first `user add` (role admin) needs no
// proof — whoever can read the config (mode 0600, it holds the database password) already controls the site.
// For add and passwd, --password-stdin carries the NEW password; the acting admin proves itself with
// $PEAKGUARD_TOKEN there, so stdin never has to hold two secrets.
import type { Command } from 'commander'
import type { Actor } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { authorize } from '../services/access.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

const STDIN_HELP = `
The new password is read from stdin's first line with --password-stdin (works without a terminal):
  printf '%s\\n' "$NEW_PASSWORD" | peakguard user add alice --role operator --password-stdin
Once users exist, the acting admin proves itself with PEAKGUARD_TOKEN for these two commands.`

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
    .option('--os-user <user>', 'an OS user (SUDO_USER/USER) that maps to this user on the CLI (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .addHelpText('after', STDIN_HELP)
    .action((name: string, flags: { role: string; osUser: string[] }) =>
      run(async (o) => {
        const access = await rt.access(o)
        const by = await managerOf(rt, o, 'users')
        const password = await newPassword(rt, o)
        const u = await access.addUser({ name, role: flags.role, password, osUsers: flags.osUser }, { bootstrap: by.via === 'unmanaged' })
        await rt.auditAll(o, {
          type: 'user',
          actor: by.name,
          summary: `${by.name} added user ${u.name} (role ${u.role})${by.via === 'unmanaged' ? ' (bootstrap: the first user)' : ''}`,
          details: { action: 'add', user: u.name, role: u.role, osUsers: u.osUsers ?? [], via: by.via },
        })
        print(rt, o, { user: u }, () => `added user ${u.name} (role ${u.role})${u.osUsers?.length ? `, OS users ${u.osUsers.join(', ')}` : ''}`)
      }),
    )

  user
    .command('remove <name>')
    .description('remove a user and revoke their tokens (never the last admin)')
    .action((name: string) =>
      run(async (o) => {
        const by = await rt.actor(o, 'users')
        const r = await (await rt.access(o)).removeUser(name)
        await rt.auditAll(o, { type: 'user', actor: by.name, summary: `${by.name} removed user ${name}`, details: { action: 'remove', user: name, tokensRevoked: r.tokensRevoked } })
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
            ? users.map((u) => `${u.name.padEnd(16)} ${u.role.padEnd(9)} since ${u.createdAt}${u.osUsers?.length ? `  os: ${u.osUsers.join(', ')}` : ''}`).join('\n')
            : `no users in ${access.where}: peakguard runs unmanaged (every OS user who can read the config acts as admin); add the first admin with 'peakguard user add NAME --role admin --password-stdin'`,
        )
      }),
    )
}
