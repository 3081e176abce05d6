// Who may act: peakguard users (a role and a scrypt password hash) and their API tokens (stored as a
// sha256 hash only; the clear token is shown once, when it is made). Secrets are compared in constant
// time, and a wrong user name costs as much time as a wrong password, so timing tells nothing.
//
// Why scrypt: it is memory-hard (a GPU or ASIC guessing passwords pays for memory per guess, which bcrypt
// does not force) and it ships with Node (node:crypto), so no native package is needed.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto'
import type { TokenRecord, UserRecord, UsersDoc, UsersStorePort } from '../core/access.ts'
import { cleanText, leastRoleFor, roleAllows, ROLES, type Action, type Actor, type AuditInput, type Role } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'

/** N=2^15, r=8, p=1: about 32 MiB and ~0.1 s per hash here; the values are kept in each hash, so they can grow later. */
export const SCRYPT = { N: 1 << 15, r: 8, p: 1, keyLen: 32 } as const
export const MIN_PASSWORD = 8
const NAME = /^[a-z_][a-z0-9_.-]{0,63}$/i

export type PublicUser = Omit<UserRecord, 'passwordHash'>
export type PublicToken = Omit<TokenRecord, 'hash'>

function scrypt(password: string, salt: Buffer, keyLen: number, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keyLen, o, (e, k) => (e ? reject(e) : resolve(k))))
}

const maxmem = (N: number, r: number, p: number) => 128 * N * r * p + 16 * 1024 * 1024

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16)
  const key = await scrypt(password, salt, SCRYPT.keyLen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: maxmem(SCRYPT.N, SCRYPT.r, SCRYPT.p) })
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function checkPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$')
  if (kind !== 'scrypt' || !salt || !hash) return false
  const N = Number(n)
  const R = Number(r)
  const P = Number(p)
  const want = Buffer.from(hash, 'base64')
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, { N, r: R, p: P, maxmem: maxmem(N, R, P) })
  return got.length === want.length && timingSafeEqual(got, want)
}

const sha256 = (s: string) => createHash('sha256').update(s).digest()

/** A hash to check against when the user does not exist, so the answer takes as long as for a real one. */
let dummyHash: Promise<string> | null = null

/** Throws FORBIDDEN naming the role the action needs. */
export function authorize(actor: Actor, action: Action): void {
  if (roleAllows(actor.role, action)) return
  const need = leastRoleFor(action)
  throw new PeakguardError('FORBIDDEN', `${actor.name} has role ${actor.role}; ${action} needs role ${need}${need === 'admin' ? '' : ' or higher'}`)
}

function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new PeakguardError('USAGE', `unknown role ${role}: use one of ${ROLES.join(', ')}`)
  return role as Role
}

function checkNewPassword(password: string): void {
  if (password.length < MIN_PASSWORD) throw new PeakguardError('USAGE', `the password is too short: at least ${MIN_PASSWORD} characters`)
}

/** The identities a person has outside peakguard: the OS users and WordPress logins that are them. */
export interface Identities {
  osUsers?: readonly string[]
  wpUsers?: readonly string[]
}

export interface IdentityLists {
  osUsers: string[]
  wpUsers: string[]
}

const KIND = { osUsers: 'OS user', wpUsers: 'WordPress login' } as const
const FLAG = { osUsers: '--os-user', wpUsers: '--wp-user' } as const

/**
 * A list of OS users or WordPress logins, trimmed and without repeats. No comma or control character: an
 * attribution lists several names comma-separated, so a comma inside one could not be told apart.
 */
function checkIdentities(field: keyof typeof KIND, list: readonly string[]): string[] {
  const out: string[] = []
  for (const raw of list) {
    const v = raw.trim()
    if (!v || v.length > 100 || /[\u0000-\u001f\u007f,]/.test(v))
      throw new PeakguardError('USAGE', `bad ${KIND[field]} ${JSON.stringify(raw)}: 1 to 100 characters, no comma or control character (give several by repeating ${FLAG[field]})`)
    if (!out.some((x) => x.toLowerCase() === v.toLowerCase())) out.push(v)
  }
  return out
}

/**
 * An OS user or WordPress login is one person's: the two-person rule compares names case-insensitively
 * with whoever made a change, so a name claimed by two users (or another user's own name) would make one
 * of them count as the other. Checked under the users file's lock.
 */
function assertUnclaimed(doc: UsersDoc, self: string, ids: IdentityLists): void {
  for (const field of ['osUsers', 'wpUsers'] as const) {
    for (const id of ids[field]) {
      const k = id.toLowerCase()
      for (const u of doc.users) {
        if (u.name === self) continue
        const where = u.name.toLowerCase() === k ? 'their user name' : (['osUsers', 'wpUsers'] as const).find((f) => u[f]?.some((x) => x.toLowerCase() === k))
        if (where)
          throw new PeakguardError(
            'USAGE',
            `the ${KIND[field]} ${id} cannot map to ${self}: it is already ${u.name}'s (${where === 'their user name' ? where : `one of their ${KIND[where]}s`}); ` +
              `an OS user or WordPress login belongs to one peakguard user only${where === 'their user name' ? '' : ` (change theirs with 'peakguard user set ${u.name} ${FLAG[where]} …')`}`,
          )
      }
    }
  }
}

/** The identity lists of a record, only the non-empty ones (the file stays as it was for users without them). */
function withIdentities(rec: UserRecord, ids: IdentityLists): void {
  for (const field of ['osUsers', 'wpUsers'] as const) {
    if (ids[field].length) rec[field] = [...ids[field]]
    else delete rec[field]
  }
}

export class Access {
  private readonly store: UsersStorePort
  private readonly now: () => Date

  constructor(store: UsersStorePort, now: () => Date = () => new Date()) {
    this.store = store
    this.now = now
  }

  get where(): string {
    return this.store.where
  }

  async hasUsers(): Promise<boolean> {
    return (await this.store.read()).users.length > 0
  }

  async listUsers(): Promise<PublicUser[]> {
    return (await this.store.read()).users.map(({ passwordHash: _h, ...u }) => u)
  }

  async listTokens(): Promise<PublicToken[]> {
    return (await this.store.read()).tokens.map(({ hash: _h, ...t }) => t)
  }

  async getUser(name: string): Promise<PublicUser | null> {
    const u = (await this.store.read()).users.find((x) => x.name === name)
    if (!u) return null
    const { passwordHash: _h, ...pub } = u
    return pub
  }

  /**
   * What a web session was opened against: the user's role and a digest of their password hash. A session
   * whose stamp no longer matches (password changed, user removed and added again) is over.
   */
  async sessionStamp(name: string): Promise<string | null> {
    return (await this.sessionUser(name))?.stamp ?? null
  }

  /** The user of a web session and its current stamp, in one read of the users file (null: no such user). */
  async sessionUser(name: string): Promise<{ user: PublicUser; stamp: string } | null> {
    const u = (await this.store.read()).users.find((x) => x.name === name)
    if (!u) return null
    const { passwordHash, ...user } = u
    return { user, stamp: createHash('sha256').update(`${u.createdAt}\n${passwordHash}`).digest('hex').slice(0, 32) }
  }

  /** The user a CLI run maps to: by name, or listed in osUsers. */
  async userForOs(osUser: string): Promise<PublicUser | null> {
    const users = (await this.store.read()).users
    const u = users.find((x) => x.name === osUser) ?? users.find((x) => x.osUsers?.includes(osUser))
    if (!u) return null
    const { passwordHash: _h, ...pub } = u
    return pub
  }

  private async change<T>(fn: (doc: UsersDoc) => Promise<T> | T): Promise<T> {
    const release = await this.store.lock()
    try {
      const doc = await this.store.read()
      const r = await fn(doc)
      await this.store.write(doc)
      return r
    } finally {
      await release()
    }
  }

  /** Adds a user. The first user of all must be an admin (bootstrap: see README). */
  async addUser(u: { name: string; role: string; password: string } & Identities, opts: { bootstrap?: boolean } = {}): Promise<PublicUser> {
    if (!NAME.test(u.name)) throw new PeakguardError('USAGE', `bad user name ${JSON.stringify(u.name)}: letters, digits, _ . - (up to 64), starting with a letter or _`)
    const role = checkRole(u.role)
    const ids = { osUsers: checkIdentities('osUsers', u.osUsers ?? []), wpUsers: checkIdentities('wpUsers', u.wpUsers ?? []) }
    checkNewPassword(u.password)
    const passwordHash = await hashPassword(u.password)
    return this.change((doc) => {
      // checked again under the lock: of two unauthenticated first adds, only one is the bootstrap
      if (opts.bootstrap && doc.users.length > 0) throw new PeakguardError('AUTH_REQUIRED', `users were added meanwhile (${this.store.where}): prove who you are with PEAKGUARD_TOKEN`)
      if (doc.users.some((x) => x.name === u.name)) throw new PeakguardError('USAGE', `user ${u.name} already exists (change the password with 'peakguard user passwd')`)
      // ADMIN beside admin would be two users whom people, logs and the two-person rule's name checks cannot tell apart
      const alike = doc.users.find((x) => x.name.toLowerCase() === u.name.toLowerCase())
      if (alike) throw new PeakguardError('USAGE', `user ${u.name} would differ from the existing user ${alike.name} only in case: choose another name`)
      if (doc.users.length === 0 && role !== 'admin')
        throw new PeakguardError('USAGE', `the first user must be an admin (--role admin): once users exist, only an admin can manage them`)
      assertUnclaimed(doc, u.name, ids)
      const claimedBy = doc.users.find((x) => [...(x.osUsers ?? []), ...(x.wpUsers ?? [])].some((i) => i.toLowerCase() === u.name.toLowerCase()))
      if (claimedBy)
        throw new PeakguardError('USAGE', `${u.name} cannot be a user name: it is an OS user or WordPress login of ${claimedBy.name} (an identity belongs to one peakguard user only)`)
      const rec: UserRecord = { name: u.name, role, passwordHash, createdAt: this.now().toISOString() }
      withIdentities(rec, ids)
      doc.users.push(rec)
      const { passwordHash: _h, ...pub } = rec
      return pub
    })
  }

  /** Removes a user and every token of theirs; never the last admin. */
  async removeUser(name: string): Promise<{ tokensRevoked: number }> {
    return this.change((doc) => {
      const u = doc.users.find((x) => x.name === name)
      if (!u) throw new PeakguardError('USER_UNKNOWN', `no user ${name} in ${this.store.where}`)
      if (u.role === 'admin' && doc.users.filter((x) => x.role === 'admin').length === 1)
        throw new PeakguardError('USAGE', `${name} is the last admin: add another admin first, or nobody could manage users any more`)
      doc.users = doc.users.filter((x) => x.name !== name)
      const before = doc.tokens.length
      doc.tokens = doc.tokens.filter((t) => t.user !== name)
      return { tokensRevoked: before - doc.tokens.length }
    })
  }

  async setRole(name: string, role: string): Promise<void> {
    const r = checkRole(role)
    await this.change((doc) => {
      const u = doc.users.find((x) => x.name === name)
      if (!u) throw new PeakguardError('USER_UNKNOWN', `no user ${name} in ${this.store.where}`)
      if (u.role === 'admin' && r !== 'admin' && doc.users.filter((x) => x.role === 'admin').length === 1)
        throw new PeakguardError('USAGE', `${name} is the last admin: add another admin before demoting them`)
      u.role = r
    })
  }

  /**
   * Replaces a user's OS users and/or WordPress logins (a list left undefined is kept; an empty one
   * clears it). Returns the lists before and after, for the audit log.
   */
  async setIdentities(name: string, change: Identities): Promise<{ before: IdentityLists; after: IdentityLists }> {
    if (!change.osUsers && !change.wpUsers) throw new PeakguardError('USAGE', 'nothing to change: give --os-user/--wp-user (repeatable), or --no-os-user/--no-wp-user to clear a list')
    const given = {
      ...(change.osUsers ? { osUsers: checkIdentities('osUsers', change.osUsers) } : {}),
      ...(change.wpUsers ? { wpUsers: checkIdentities('wpUsers', change.wpUsers) } : {}),
    }
    return this.change((doc) => {
      const u = doc.users.find((x) => x.name === name)
      if (!u) throw new PeakguardError('USER_UNKNOWN', `no user ${name} in ${this.store.where}`)
      const before = { osUsers: [...(u.osUsers ?? [])], wpUsers: [...(u.wpUsers ?? [])] }
      const after = { ...before, ...given }
      assertUnclaimed(doc, name, after)
      withIdentities(u, after)
      return { before, after }
    })
  }

  async setPassword(name: string, password: string): Promise<void> {
    checkNewPassword(password)
    const passwordHash = await hashPassword(password)
    await this.change((doc) => {
      const u = doc.users.find((x) => x.name === name)
      if (!u) throw new PeakguardError('USER_UNKNOWN', `no user ${name} in ${this.store.where}`)
      u.passwordHash = passwordHash
    })
  }

  /** Makes a token for a user; the clear token is returned here and nowhere else, ever. */
  async createToken(user: string, note: string): Promise<{ id: string; token: string; user: string }> {
    note = cleanText(note, 'the token note', { max: 200 })
    const token = `pgt_${randomBytes(32).toString('base64url')}`
    const id = `tok_${randomBytes(6).toString('hex')}`
    await this.change((doc) => {
      if (!doc.users.some((x) => x.name === user)) throw new PeakguardError('USER_UNKNOWN', `no user ${user} in ${this.store.where}`)
      doc.tokens.push({ id, user, hash: sha256(token).toString('hex'), createdAt: this.now().toISOString(), note })
    })
    return { id, token, user }
  }

  async revokeToken(id: string): Promise<PublicToken> {
    return this.change((doc) => {
      const t = doc.tokens.find((x) => x.id === id)
      if (!t) throw new PeakguardError('USAGE', `no token ${id} in ${this.store.where} (see 'peakguard token list')`)
      doc.tokens = doc.tokens.filter((x) => x.id !== id)
      const { hash: _h, ...pub } = t
      return pub
    })
  }

  async authenticatePassword(name: string, password: string): Promise<Actor> {
    const u = (await this.store.read()).users.find((x) => x.name === name)
    dummyHash ??= hashPassword(randomBytes(16).toString('hex'))
    const ok = await checkPassword(password, u ? u.passwordHash : await dummyHash)
    if (!u || !ok) throw new PeakguardError('AUTH_FAILED', `wrong user name or password for ${name}`)
    return { name: u.name, role: u.role, via: 'password' }
  }

  async authenticateToken(token: string): Promise<Actor> {
    const doc = await this.store.read()
    const h = sha256(token)
    // every stored hash is compared, in constant time each, so the position of a match leaks nothing
    let found: TokenRecord | null = null
    for (const t of doc.tokens) {
      const stored = Buffer.from(t.hash, 'hex')
      if (stored.length === h.length && timingSafeEqual(stored, h)) found = t
    }
    const u = found && doc.users.find((x) => x.name === found.user)
    if (!found || !u) throw new PeakguardError('AUTH_FAILED', 'the token is not valid (unknown or revoked)')
    await this.touchToken(found.id)
    return { name: u.name, role: u.role, via: 'token' }
  }

  /** lastUsedAt, at most once a minute (each update rewrites the file). */
  private async touchToken(id: string): Promise<void> {
    const t = (await this.store.read()).tokens.find((x) => x.id === id)
    const now = this.now()
    if (t?.lastUsedAt && now.getTime() - Date.parse(t.lastUsedAt) < 60_000) return
    await this.change((doc) => {
      const x = doc.tokens.find((y) => y.id === id)
      if (x) x.lastUsedAt = now.toISOString()
    }).catch(() => undefined) // a read-only users file must not stop a valid token from working
  }
}

/**
 * The OS users and WordPress logins mapped to a user, as an Actor carries them: changes made as any of them
 * are that person's (the two-person rule).
 */
export function aliasesOf(u: Pick<PublicUser, 'osUsers' | 'wpUsers'> | null | undefined): { aliases?: string[] } {
  const aliases = [...(u?.osUsers ?? []), ...(u?.wpUsers ?? [])]
  return aliases.length ? { aliases } : {}
}

/**
 * The audit entries of user and token changes, the same from the CLI and the web UI (each goes into every
 * site's log: users concern them all). Never a password or a token.
 */
export const accessAudit = {
  userAdded(by: Actor, u: PublicUser): Omit<AuditInput, 'site'> {
    return {
      type: 'user',
      actor: by.name,
      summary: `${by.name} added user ${u.name} (role ${u.role})${by.via === 'unmanaged' ? ' (bootstrap: the first user)' : ''}`,
      details: { action: 'add', user: u.name, role: u.role, osUsers: u.osUsers ?? [], wpUsers: u.wpUsers ?? [], via: by.via },
    }
  },
  userRemoved(by: Actor, name: string, tokensRevoked: number): Omit<AuditInput, 'site'> {
    return { type: 'user', actor: by.name, summary: `${by.name} removed user ${name}`, details: { action: 'remove', user: name, tokensRevoked } }
  },
  tokenCreated(by: Actor, t: { id: string; user: string }, note: string): Omit<AuditInput, 'site'> {
    return { type: 'token', actor: by.name, summary: `${by.name} created token ${t.id} for ${t.user}`, details: { action: 'create', id: t.id, user: t.user, note } }
  },
  tokenRevoked(by: Actor, t: { id: string; user: string }): Omit<AuditInput, 'site'> {
    return { type: 'token', actor: by.name, summary: `${by.name} revoked token ${t.id} of ${t.user}`, details: { action: 'revoke', id: t.id, user: t.user } }
  },
}
