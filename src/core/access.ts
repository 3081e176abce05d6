// The users file's shape and its port: peakguard users with a role and a scrypt hash, and API tokens
// stored only as a hash. Plain types (no I/O); src/services/access.ts holds the rules, an adapter the file.
import type { Role } from './governance.ts'

export interface UserRecord {
  name: string
  role: Role
  /** scrypt$N$r$p$salt$hash (salt and hash base64) */
  passwordHash: string
  /** OS users (SUDO_USER, USER) that map to this peakguard user on the CLI */
  osUsers?: string[]
  /** WordPress logins of this person: a change attributed to one of them is theirs (two-person rule) */
  wpUsers?: string[]
  createdAt: string
}

export interface TokenRecord {
  id: string
  user: string
  /** sha256 hex of the token (a token is 32 random bytes, so no salt or slow hash is needed) */
  hash: string
  createdAt: string
  lastUsedAt?: string
  note: string
}

export interface UsersDoc {
  version: 1
  users: UserRecord[]
  tokens: TokenRecord[]
}

/** The users file: read whole, written whole (atomically, mode 0600), under a lock for read-modify-write. */
export interface UsersStorePort {
  /** where it is, for messages */
  readonly where: string
  /** the document; an empty one when the file does not exist yet */
  read(): Promise<UsersDoc>
  write(doc: UsersDoc): Promise<void>
  lock(): Promise<() => Promise<void>>
}
