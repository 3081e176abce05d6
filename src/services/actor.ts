// Who is acting on the command line, proved and authorized: the policy, given what the process knows
// (--as, PEAKGUARD_TOKEN, --password-stdin, SUDO_USER/USER) and the users file.
import type { Action, Actor, AuditInput } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { aliasesOf, authorize, type Access } from './access.ts'
import { deniedAudit } from './audit.ts'

export interface WhoInputs {
  /** --as */
  as?: string
  /** $PEAKGUARD_TOKEN */
  token?: string
  /** --password-stdin */
  passwordStdin?: boolean
  /** the OS user running the command (SUDO_USER, else USER, else the process's user) */
  osUser: string
  sudoUser?: string
  user?: string
  /** stdin's first line */
  readPassword(): Promise<string>
  /** an entry in every site's audit log (a failed proof concerns them all) */
  auditAll(input: Omit<AuditInput, 'site'>): Promise<void>
}

/**
 * Who acts. Name: --as, else the user mapped from SUDO_USER, else from USER (etckeeper's order). Proof:
 * $PEAKGUARD_TOKEN (with no --as the actor is the token's user) or the password on stdin (--password-stdin).
 * With no users at all: the OS user as an unmanaged admin, so a single-operator install works as before.
 */
export async function whoActs(access: Access, w: WhoInputs, action: Action): Promise<Actor> {
  const me = w.osUser
  if (!(await access.hasUsers())) return { name: me, role: 'admin', via: 'unmanaged', osUser: me }
  const failed = async (claimed: string, via: 'password' | 'token', e: unknown): Promise<never> => {
    // no secret in it: who was claimed, how, and from which OS user (the entry the daemon writes for a wrong
    // password or API token, but with the OS user for the address)
    await w.auditAll(deniedAudit.loginFailed({ via, as: claimed, osUser: me }))
    throw e
  }
  let who: Actor
  const token = w.token
  if (token) {
    who = await access.authenticateToken(token).catch((e: unknown) => failed(w.as ?? 'unknown', 'token', e))
    if (w.as && w.as !== who.name)
      await failed(w.as, 'token', new PeakguardError('AUTH_FAILED', `PEAKGUARD_TOKEN belongs to ${who.name}, not to ${w.as} (--as)`))
  } else {
    const name = w.as ?? (w.sudoUser ? (await access.userForOs(w.sudoUser))?.name : undefined) ?? (w.user ? (await access.userForOs(w.user))?.name : undefined)
    const how = `pipe ${name ?? 'the user'}'s password into --password-stdin (printf '%s\\n' "$PW" | peakguard${name && name !== w.as ? '' : ` --as ${name ?? 'NAME'}`} --password-stdin …), or set PEAKGUARD_TOKEN to a token from 'peakguard token create'`
    if (!w.passwordStdin) throw new PeakguardError('AUTH_REQUIRED', `peakguard has users (${access.where}): prove who you are: ${how}`)
    if (!name) throw new PeakguardError('AUTH_REQUIRED', `no peakguard user maps to the OS user ${me}: name yourself with --as NAME (and ${how})`)
    const password = await w.readPassword()
    if (!password) throw new PeakguardError('AUTH_REQUIRED', `--password-stdin: stdin held no password: ${how}`)
    who = await access.authenticatePassword(name, password).catch((e: unknown) => failed(name, 'password', e))
  }
  authorize(who, action)
  // the OS users and WordPress logins mapped to this person count as them for the two-person rule
  // (a file they own, a change made in wp-admin as their login, is theirs)
  const rec = await access.getUser(who.name)
  return { ...who, osUser: me, ...aliasesOf(rec) }
}
