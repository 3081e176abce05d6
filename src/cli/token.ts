// peakguard token create|list|revoke: API tokens for scripts and the HTTP API (Authorization: Bearer TOKEN,
// or PEAKGUARD_TOKEN on the CLI). A token is shown once, when it is made; only its hash is kept. Anyone may
// manage their own tokens; another user's need role admin.
import type { Command } from 'commander'
import { accessAudit, authorize } from '../services/access.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  const token = program.command('token').description('API tokens (stored hashed, shown once)')

  token
    .command('create')
    .description('make a token for a user and print it once')
    .option('--user <name>', 'whose token (default: the acting user)')
    .option('--note <text>', 'what it is for', '')
    .action((flags: { user?: string; note: string }) =>
      run(async (o) => {
        const by = await rt.actor(o, 'view')
        const user = flags.user ?? by.name
        if (user !== by.name) authorize(by, 'users')
        const t = await (await rt.access(o)).createToken(user, flags.note)
        await rt.auditAll(o, accessAudit.tokenCreated(by, { id: t.id, user }, flags.note))
        print(rt, o, { token: t.token, id: t.id, user }, () =>
          [`token ${t.id} for ${user} (shown only now: store it, e.g. in PEAKGUARD_TOKEN):`, t.token],
        )
      }),
    )

  token
    .command('list')
    .description('list tokens (ids, owners, last use; never the token)')
    .action(() =>
      run(async (o) => {
        const by = await rt.actor(o, 'view')
        const all = await (await rt.access(o)).listTokens()
        let admin = true
        try {
          authorize(by, 'users')
        } catch {
          admin = false
        }
        const tokens = admin ? all : all.filter((t) => t.user === by.name)
        print(rt, o, { tokens }, () =>
          tokens.length
            ? tokens.map((t) => `${t.id}  ${t.user.padEnd(16)} created ${t.createdAt}  last used ${t.lastUsedAt ?? 'never'}${t.note ? `  ${t.note}` : ''}`)
            : 'no tokens',
        )
      }),
    )

  token
    .command('revoke <id>')
    .description('revoke a token at once')
    .action((id: string) =>
      run(async (o) => {
        const by = await rt.actor(o, 'view')
        const access = await rt.access(o)
        const mine = (await access.listTokens()).find((t) => t.id === id)
        if (!mine || mine.user !== by.name) authorize(by, 'users') // another's token, or an unknown id: say no before saying "no such token"
        const t = await access.revokeToken(id)
        await rt.auditAll(o, accessAudit.tokenRevoked(by, t))
        print(rt, o, { revoked: t.id, user: t.user }, () => `revoked token ${t.id} of ${t.user}`)
      }),
    )
}
