// One table of every failure peakguard reports: a stable code, the HTTP status the UI answers with, the
// CLI's exit code, and in words what failed and what the person should do next (the UI's error page says
// both). Callers throw PeakguardError with a code and a message that names the problem; the original error
// is kept as `cause`. Imports nothing, so every layer may import it (fsFailure maps errno for the adapters).

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  busy: 3,
  verifyFailed: 4,
  denied: 5,
} as const

/** One row of the table: `what` names the failure for a person, `advice` says what they should do next. */
interface ErrorRow {
  http: number
  exit: number
  what: string
  advice: string
}

// advice shared by several codes
const LOG_IN = 'Log in again.'
const ASK_ROLE = 'Ask a colleague with the needed role to do it.'
const WAIT_TURN = 'Another snapshot or restore is running for this site: wait a few seconds and try again.'
// a server-side failure (database, disk, journal) is not the person's input: say so, and that nothing was lost
const SERVER_SIDE =
  "Nothing was lost: a restore records the live site before it writes, and an interrupted one is finished by the next. Fix what the message names (database, disk, permissions), then try again; 'peakguard status' on the server shows where things stand."
const CHECK_INPUT = 'Go back and check what you entered; the message above names the problem.'

export const ERRORS = {
  USAGE: { http: 400, exit: EXIT.usage, what: 'bad usage', advice: CHECK_INPUT },
  CONFIG_INVALID: { http: 500, exit: EXIT.usage, what: 'the configuration is invalid', advice: SERVER_SIDE },
  CONFIG_MISSING: { http: 500, exit: EXIT.usage, what: 'the configuration file cannot be read', advice: SERVER_SIDE },
  WP_CONFIG: { http: 400, exit: EXIT.usage, what: 'wp-config.php cannot be used', advice: CHECK_INPUT },
  SITE_UNKNOWN: { http: 404, exit: EXIT.usage, what: 'no such site', advice: CHECK_INPUT },
  STATE_NOT_FOUND: { http: 404, exit: EXIT.usage, what: 'no such state', advice: CHECK_INPUT },
  STATE_AMBIGUOUS: { http: 400, exit: EXIT.usage, what: 'the state id is ambiguous', advice: CHECK_INPUT },
  STATE_OTHER_SITE: { http: 400, exit: EXIT.usage, what: 'the state belongs to another site', advice: CHECK_INPUT },
  UNSAFE_PATH: { http: 400, exit: EXIT.usage, what: 'a journal entry points outside the site', advice: CHECK_INPUT },
  CONFIRM_REQUIRED: { http: 400, exit: EXIT.usage, what: 'confirmation required', advice: CHECK_INPUT },
  NOT_A_JOURNAL: { http: 500, exit: EXIT.usage, what: 'not a peakguard journal', advice: SERVER_SIDE },
  DB_AUTH: { http: 502, exit: EXIT.failed, what: 'the database refused the login', advice: SERVER_SIDE },
  DB_UNREACHABLE: { http: 502, exit: EXIT.failed, what: 'the database cannot be reached', advice: SERVER_SIDE },
  DB_NO_TABLES: { http: 500, exit: EXIT.usage, what: 'no settings table matches the table prefix', advice: SERVER_SIDE },
  DB_FAILED: { http: 502, exit: EXIT.failed, what: 'a database statement failed', advice: SERVER_SIDE },
  READ_ONLY: { http: 500, exit: EXIT.failed, what: 'a file cannot be written', advice: SERVER_SIDE },
  DISK_FULL: { http: 507, exit: EXIT.failed, what: 'the disk is full', advice: SERVER_SIDE },
  FS_FAILED: { http: 500, exit: EXIT.failed, what: 'a file operation failed', advice: SERVER_SIDE },
  GIT_FAILED: { http: 500, exit: EXIT.failed, what: 'the journal (git) failed', advice: SERVER_SIDE },
  CHANGED_WHILE_RECORDING: { http: 503, exit: EXIT.failed, what: 'files changed while they were being recorded', advice: WAIT_TURN },
  BUSY: { http: 409, exit: EXIT.busy, what: 'another snapshot or restore is running for this site', advice: WAIT_TURN },
  SCHEMA_CHANGE: {
    http: 409,
    exit: EXIT.usage,
    what: 'the restore crosses a database migration',
    advice: 'Read what changed in the database since that state. To restore code and settings anyway, keeping the live schema and migration markers, repeat with --across-schema-change (the UI: tick the acknowledgement).',
  },
  FLEET_NOT_READY: {
    http: 503,
    exit: EXIT.failed,
    what: 'a node of the fleet was not ready for the restore: nothing was written on any node',
    advice: "The message names the node and why. Bring it back (or wait until the fleet shows it down: 'peakguard status'), then try again; a node that was down takes the restored state when it comes back.",
  },
  RESTORE_CONFLICT: { http: 409, exit: EXIT.failed, what: 'the restore would overwrite something that is not the recorded item', advice: CHECK_INPUT },
  VERIFY_FAILED: { http: 500, exit: EXIT.verifyFailed, what: 'the live site differs from the restored state', advice: SERVER_SIDE },
  S3_FAILED: { http: 502, exit: EXIT.failed, what: 'the S3 replica cannot be reached or refused a request', advice: SERVER_SIDE },
  REPLICA_KEY: { http: 500, exit: EXIT.usage, what: "the replica's encryption key is missing or wrong", advice: SERVER_SIDE },
  REPLICA_INVALID: { http: 500, exit: EXIT.verifyFailed, what: 'the replica failed a check', advice: SERVER_SIDE },
  REPLICA_NOT_CONFIGURED: { http: 400, exit: EXIT.usage, what: 'the site has no S3 replica configured', advice: CHECK_INPUT },
  AUTH_REQUIRED: { http: 401, exit: EXIT.denied, what: 'who is acting must be proved (password or token)', advice: LOG_IN },
  AUTH_FAILED: { http: 401, exit: EXIT.denied, what: 'wrong user name, password or token', advice: LOG_IN },
  FORBIDDEN: { http: 403, exit: EXIT.denied, what: "the actor's role does not allow this", advice: ASK_ROLE },
  LOCKED: { http: 429, exit: EXIT.denied, what: 'too many failed logins: locked out for a while', advice: 'Wait, then try again.' },
  CSRF_INVALID: { http: 403, exit: EXIT.denied, what: 'a form without a valid CSRF token', advice: 'Go back, reload the page and submit it again.' },
  NOT_FOUND: { http: 404, exit: EXIT.usage, what: 'no such page', advice: CHECK_INPUT },
  HOST_UNKNOWN: { http: 421, exit: EXIT.usage, what: 'a request for a host name peakguard does not answer to (ui.hosts)', advice: CHECK_INPUT },
  TWO_PERSON_RULE: { http: 403, exit: EXIT.denied, what: 'a change must be approved by someone other than who made or requested it', advice: ASK_ROLE },
  FROZEN: { http: 423, exit: EXIT.denied, what: 'a freeze window is active', advice: 'Restore a state from before the freeze, or ask an approver.' },
  USER_UNKNOWN: { http: 404, exit: EXIT.usage, what: 'no such user', advice: CHECK_INPUT },
  REQUEST_NOT_FOUND: { http: 404, exit: EXIT.usage, what: 'no such change request', advice: CHECK_INPUT },
  REQUEST_DECIDED: { http: 409, exit: EXIT.usage, what: 'the change request was already decided', advice: CHECK_INPUT },
  REQUEST_STALE: { http: 409, exit: EXIT.usage, what: 'what the change request touches has changed since', advice: CHECK_INPUT },
  AUDIT_TAMPERED: { http: 500, exit: EXIT.verifyFailed, what: 'the audit log fails its hash chain', advice: SERVER_SIDE },
  BRIDGE_FAILED: { http: 502, exit: EXIT.failed, what: 'the WordPress bridge failed', advice: SERVER_SIDE },
  INTERNAL: { http: 500, exit: EXIT.failed, what: 'internal error', advice: SERVER_SIDE },
} as const satisfies Record<string, ErrorRow>

export type ErrorCode = keyof typeof ERRORS

export class PeakguardError extends Error {
  readonly code: ErrorCode
  readonly details: unknown
  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'PeakguardError'
    this.code = code
    this.details = options.details
  }
  get exitCode(): number {
    return ERRORS[this.code].exit
  }
  get httpStatus(): number {
    return ERRORS[this.code].http
  }
}

/** What a file operation was doing when it failed: only a write can be refused for a read-only disk. */
export type FsDoing = 'reading' | 'writing' | 'creating' | 'appending to'

const FS_VERB: Record<FsDoing, string> = { reading: 'read', writing: 'write', creating: 'create', 'appending to': 'append to' }

/**
 * A failed file operation (an errno error) as the error the operator acts on: a full disk or quota
 * (ENOSPC, EDQUOT) is DISK_FULL, a refused write (EROFS, EACCES, EPERM) READ_ONLY, a refused read says
 * "cannot read" (FS_FAILED), anything else is `otherwise` (FS_FAILED unless the caller's system has its
 * own code). `what` names the file or folder as the message shows it; `hint` says what to do about a full
 * disk or a refusal in this place, appended to that message. A PeakguardError passes through unchanged.
 */
export function fsFailure(e: unknown, o: { doing: FsDoing; what: string; hint?: { full?: string; refused?: string }; otherwise?: ErrorCode }): PeakguardError {
  if (e instanceof PeakguardError) return e
  const code = (e as { code?: unknown } | null)?.code
  const errno = typeof code === 'string' ? code : undefined
  const hint = (h: string | undefined) => (h ? `: ${h}` : '')
  const verb = FS_VERB[o.doing]
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return new PeakguardError('DISK_FULL', `no space left on the device while ${o.doing} ${o.what}${hint(o.hint?.full)}`, { cause: e })
  if (errno === 'EROFS' || errno === 'EACCES' || errno === 'EPERM') {
    const why = errno === 'EROFS' ? 'read-only file system' : 'permission denied'
    return new PeakguardError(o.doing === 'reading' ? 'FS_FAILED' : 'READ_ONLY', `cannot ${verb} ${o.what} (${errno}: ${why})${hint(o.hint?.refused)}`, { cause: e })
  }
  // Node's message names the errno and the call ("EISDIR: illegal operation on a directory, open …")
  return new PeakguardError(o.otherwise ?? 'FS_FAILED', `cannot ${verb} ${o.what}: ${e instanceof Error ? e.message : (errno ?? String(e))}`, { cause: e })
}

/** Any thrown value as a PeakguardError, so the CLI and HTTP layers have one shape to report. */
export function asPeakguardError(e: unknown): PeakguardError {
  if (e instanceof PeakguardError) return e
  const message = e instanceof Error ? e.message : String(e)
  return new PeakguardError('INTERNAL', message, { cause: e })
}
