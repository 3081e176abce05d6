// Who may do what, and what is remembered about it: roles and actors, the audit trail's entries, freeze
// windows and allow-windows, change requests, and the events the WordPress bridge reports. Plain types
// and rules (no I/O); the services build on the ports at the end of this file.

// ---- roles ----------------------------------------------------------------------------------------

export const ROLES = ['viewer', 'operator', 'approver', 'admin'] as const
export type Role = (typeof ROLES)[number]

/** Every acting command names one of these; `roleAllows` decides. */
export type Action =
  | 'view' // list, show, diff, status, requests, audit, freeze status
  | 'snapshot'
  | 'restore'
  | 'mark' // mark-good / unmark
  | 'request' // ask for a change during a freeze
  | 'approve' // approve / reject a change request
  | 'freeze' // freeze start/stop, allow-windows
  | 'users' // users and tokens of others
  | 'break-glass'

const LEAST: Record<Action, Role> = {
  view: 'viewer',
  snapshot: 'operator',
  restore: 'operator',
  mark: 'operator',
  request: 'operator',
  approve: 'approver',
  freeze: 'approver',
  users: 'admin',
  'break-glass': 'admin',
}

export function roleAllows(role: Role, action: Action): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(LEAST[action])
}

export function leastRoleFor(action: Action): Role {
  return LEAST[action]
}

/** Who is acting. `via` says how they proved it. */
export interface Actor {
  /** the peakguard user name; for the daemon's own actions 'peakguard' */
  name: string
  role: Role
  via: 'password' | 'token' | 'session' | 'daemon' | 'unmanaged'
  /** the OS user who ran the command, when known (a shared root shell says nothing about who it is) */
  osUser?: string
  /** the OS users and WordPress logins mapped to this peakguard user in the users file: changes made as them are theirs */
  aliases?: string[]
}

// ---- audit ----------------------------------------------------------------------------------------

export const AUDIT_TYPES = [
  'snapshot',
  'change-request',
  'approval',
  'rejection',
  'allow-window',
  'freeze-start',
  'freeze-stop',
  'freeze-baseline',
  'break-glass',
  'restore',
  'mark-good',
  'unmark-good',
  'login',
  'login-failed',
  /** a request the UI or API refused (role, CSRF, a login lockout), or a count of those not written one by one */
  'access-denied',
  'user',
  'token',
  'config-reload',
  'revert',
] as const
export type AuditType = (typeof AUDIT_TYPES)[number]

/** What a caller hands to the audit log; seq, time, prev and hash are added by it. */
export interface AuditInput {
  type: AuditType
  /** user name, 'peakguard' for the daemon, or an attribution such as 'wp:alice' */
  actor: string
  site: string | null
  /** one line for people */
  summary: string
  /** the rest, per type (state ids, request id, result, duration…); never an option value */
  details?: Record<string, unknown>
}

export interface AuditEntry extends AuditInput {
  seq: number
  /** ISO time */
  time: string
  /** hash of the previous entry ('' for the first entry ever) */
  prev: string
  /** sha256 hex of the canonical JSON of every other field */
  hash: string
}

// ---- freeze ---------------------------------------------------------------------------------------

/** A stretch of time during which changes need an approval. Epoch milliseconds. */
export interface FreezeSpan {
  /** 'manual' or the configured window's name */
  source: string
  start: number
  end: number
  reason: string
}

/** A pre-approved, scoped, time-boxed change window opened with `peakguard allow`. */
export interface AllowWindow {
  id: string
  /** plugins/NAME, themes/NAME, mu-plugins/NAME, a drop-in file, option:NAME, theme:NAME */
  scope: string
  start: number
  end: number
  reason: string
  actor: string
}

export type FreezePolicy = 'revert' | 'hold' | 'alert'

// ---- change requests ------------------------------------------------------------------------------

export type RequestStatus = 'pending' | 'approved' | 'rejected'

/** Who caused a change, as far as peakguard can tell. */
export interface Attribution {
  /** 'wordpress' (a logged-in user), 'wp-cli', 'cron', 'outside' (files with no WordPress event), 'peakguard', 'unknown' */
  kind: 'wordpress' | 'wp-cli' | 'cron' | 'outside' | 'peakguard' | 'unknown'
  /** WordPress login, OS user, or peakguard user */
  who: string | null
  wpUserId?: number | null
  ip?: string | null
  /** the WordPress events behind it (names only, e.g. activated_plugin hello.php) */
  events?: string[]
  /** one line: "wp:admin (#1) from 127.0.0.1", "file owner www-data (outside WordPress)" */
  label: string
}

export interface ChangeRequest {
  id: string
  site: string
  createdAt: string
  /** the state before the change (what a revert goes back to) */
  base: string
  /** the snapshot that recorded the attempted change */
  attempted: string
  /** what the change touches: unit paths (plugins/x, themes/y, drop-ins) and option names */
  items: { paths: string[]; options: string[] }
  /** how the database schema changed with it, one phrase per table ("table wp_x created"); absent: none (or a request saved before) */
  schema?: string[]
  /**
   * why it is held whatever the policy, in words: a schema change or a migration marker, which peakguard cannot revert
   * ("the database schema changed (…); peakguard cannot revert a schema change"); absent: the policy decided
   */
  held?: string
  summary: string
  attribution: Attribution
  /** the policy applied when it was detected */
  policy: FreezePolicy
  /** whether the live site was put back to `base` (policy revert, or reject of a held change) */
  reverted: boolean
  /** the freeze it happened in */
  freeze: { source: string; end: string }
  /** the requester: the peakguard user who asked for approval, else who made the change (attribution) */
  requester: string
  /** why the requester wants it (peakguard request ID --reason) */
  reason?: string
  /** everyone who asked for its approval: none of them may decide it */
  askedBy?: string[]
  status: RequestStatus
  decision: { by: string; at: string; note: string; breakGlass: boolean } | null
  /** what applying/reverting did after the decision */
  outcome: string | null
}

// ---- WordPress bridge events ----------------------------------------------------------------------

/** One line of the bridge's event file. */
export interface WpEvent {
  /** epoch seconds (float) */
  time: number
  /** the hook: activated_plugin, switch_theme, updated_option, … */
  event: string
  /** what it was about: a plugin file, a theme, an option name */
  subject: string
  user: string | null
  userId: number | null
  ip: string | null
  cli: boolean
  cron: boolean
}

// ---- ports ----------------------------------------------------------------------------------------

/** Append-only storage of audit lines (one JSON document per line), flushed to disk before returning. */
export interface AuditStorePort {
  /** Appends one line and fsyncs; rotates to a new segment when the current one is large. */
  append(line: string): Promise<void>
  /** Every line of every segment, oldest first, with where it is (for messages). */
  readAll(): Promise<{ line: string; where: string }[]>
  /** The last line written (null when the log is empty), cheaply. */
  last(): Promise<string | null>
  /** Serialises appenders across processes (the daemon and CLI commands). */
  lock(): Promise<() => Promise<void>>
}

/** Small JSON documents of a site's governance (freeze state, requests), written atomically. */
export interface DocStorePort {
  readDoc<T>(name: string): Promise<T | null>
  writeDoc(name: string, value: unknown): Promise<void>
  listDocs(prefix: string): Promise<string[]>
  /** a lock for read-modify-write of these documents, across processes */
  lockDocs(): Promise<() => Promise<void>>
}

/** The WordPress bridge's event file, tailed by the daemon. */
export interface WpEventsPort {
  /** Events appended since `offset` (bytes); the new offset. Resets to 0 when the file was rotated. */
  read(offset: number): Promise<{ events: WpEvent[]; offset: number }>
  /** The file's current size in bytes (0 when there is none): start with read(await end()) to skip the backlog. */
  end?(): Promise<number>
}

/** What the bridge needs to enforce a freeze inside WordPress while the daemon is down. */
export interface BridgeState {
  version: number
  site: string
  /** freeze spans, epoch seconds, current and upcoming (a few days ahead) */
  freezes: { source: string; start: number; end: number; reason: string }[]
  allows: { scope: string; start: number; end: number }[]
  /** where to ask for an approval (shown in the admin notice) */
  approvalUrl: string | null
  /** the zone the notice shows times in (freeze.zone, else peakguard's host's), as the CLI and the UI do */
  zone?: string
  /** options WordPress must refuse to change during a freeze */
  protectedOptions: string[]
  ignoredOptions: string[]
  /** the settings tables peakguard records (names without the prefix): their $wpdb writes are attributed and, in a freeze, cancelled */
  settingsTables?: string[]
  /** those of them with columns that change by themselves (ignoreColumns): WordPress's own writes go on during a freeze, gated by the daemon */
  selfChangingTables?: string[]
  /**
   * where the bridge asks for a `pre-update` snapshot before the upgrader writes (the daemon's ui.listen on
   * loopback, http://127.0.0.1:PORT) and how long it waits for the answer; null: ui.listen is not reachable on loopback
   */
  daemon?: { url: string; waitSeconds: number } | null
  writtenAt: number
}

export interface BridgePort {
  /** Whether the mu-plugin is installed (and its version). */
  installed(): Promise<{ version: number } | null>
  writeState(state: BridgeState): Promise<void>
  /** Asks WordPress (loopback, shared secret) to flush opcache and the object cache. */
  flushCaches(): Promise<{ ok: boolean; detail: string }>
}

/** What `peakguard wp install-bridge` did. */
export interface BridgeInstallReport {
  file: string
  dir: string
  version: number
  /** the version that was there before (null: a fresh install) */
  previous: number | null
  createdSecret: boolean
  /** things the operator should know (e.g. the web server user could not be determined) */
  warnings: string[]
}

/** What `peakguard wp bridge-status` shows. */
export interface BridgeStatusReport {
  site: string
  file: string
  dir: string
  installed: { version: number } | null
  /** the version this peakguard would install */
  current: number
  state: { readable: boolean; writtenAt: string | null; ageSeconds: number | null; freezes: number; activeFreeze: boolean }
  events: { count: number; bytes: number }
  secret: boolean
}

/** Names of the host's users and groups by id, for 'file owner www-data (outside WordPress)'. */
export interface UserNamesPort {
  userName(uid: number): string
}

/** Outgoing notifications (webhooks, PagerDuty, e-mail); never blocks and never throws. */
export interface NotifyPort {
  notify(n: { event: string; site: string | null; summary: string; details?: Record<string, unknown> }): void
}

/**
 * The events peakguard notifies (a webhook's `events` filter names some of them; empty means all).
 * freeze-violation: a change during a freeze that no approval covers; change-request: a request was
 * opened; approval / rejection: one was decided; break-glass: an admin overrode a freeze or the two-person
 * rule; restore: a restore from the CLI or the API; health-failure / health-recovered: the site's probes
 * started failing / pass again; auto-rollback: an automatic rollback was done, failed, or could not be
 * done; auto-rollback-blocked: an automatic rollback was due but would cross a database migration (a schema
 * change or a migration marker, or a known-good state too old to tell), so a person must decide; replication-lag / replication-lag-cleared: the S3 replica fell behind s3.lagAlert / caught up.
 */
export const NOTIFY_EVENTS = [
  'freeze-violation',
  'change-request',
  'approval',
  'rejection',
  'break-glass',
  'restore',
  'health-failure',
  'health-recovered',
  'auto-rollback',
  'auto-rollback-blocked',
  'replication-lag',
  'replication-lag-cleared',
] as const
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number]
