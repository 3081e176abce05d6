// One table of every failure peakguard reports: a stable code, the HTTP status the UI answers with and
// the CLI's exit code. Callers throw PeakguardError with a code and a message that names the problem;
// the original error is kept as `cause`. Imports nothing.

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  busy: 3,
  verifyFailed: 4,
  denied: 5,
} as const

export const ERRORS = {
  USAGE: { http: 400, exit: EXIT.usage, what: 'bad usage' },
  CONFIG_INVALID: { http: 500, exit: EXIT.usage, what: 'the configuration is invalid' },
  CONFIG_MISSING: { http: 500, exit: EXIT.usage, what: 'the configuration file cannot be read' },
  WP_CONFIG: { http: 400, exit: EXIT.usage, what: 'wp-config.php cannot be used' },
  SITE_UNKNOWN: { http: 404, exit: EXIT.usage, what: 'no such site' },
  STATE_NOT_FOUND: { http: 404, exit: EXIT.usage, what: 'no such state' },
  STATE_AMBIGUOUS: { http: 400, exit: EXIT.usage, what: 'the state id is ambiguous' },
  STATE_OTHER_SITE: { http: 400, exit: EXIT.usage, what: 'the state belongs to another site' },
  UNSAFE_PATH: { http: 400, exit: EXIT.usage, what: 'a journal entry points outside the site' },
  CONFIRM_REQUIRED: { http: 400, exit: EXIT.usage, what: 'confirmation required' },
  NOT_A_JOURNAL: { http: 500, exit: EXIT.usage, what: 'not a peakguard journal' },
  DB_AUTH: { http: 502, exit: EXIT.failed, what: 'the database refused the login' },
  DB_UNREACHABLE: { http: 502, exit: EXIT.failed, what: 'the database cannot be reached' },
  DB_NO_TABLES: { http: 500, exit: EXIT.usage, what: 'no settings table matches the table prefix' },
  DB_FAILED: { http: 502, exit: EXIT.failed, what: 'a database statement failed' },
  READ_ONLY: { http: 500, exit: EXIT.failed, what: 'a file cannot be written' },
  DISK_FULL: { http: 507, exit: EXIT.failed, what: 'the disk is full' },
  FS_FAILED: { http: 500, exit: EXIT.failed, what: 'a file operation failed' },
  GIT_FAILED: { http: 500, exit: EXIT.failed, what: 'the journal (git) failed' },
  CHANGED_WHILE_RECORDING: { http: 503, exit: EXIT.failed, what: 'files changed while they were being recorded' },
  BUSY: { http: 409, exit: EXIT.busy, what: 'another snapshot or restore is running for this site' },
  VERIFY_FAILED: { http: 500, exit: EXIT.verifyFailed, what: 'the live site differs from the restored state' },
  S3_FAILED: { http: 502, exit: EXIT.failed, what: 'the S3 replica cannot be reached or refused a request' },
  REPLICA_KEY: { http: 500, exit: EXIT.usage, what: "the replica's encryption key is missing or wrong" },
  REPLICA_INVALID: { http: 500, exit: EXIT.verifyFailed, what: 'the replica failed a check' },
  REPLICA_NOT_CONFIGURED: { http: 400, exit: EXIT.usage, what: 'the site has no S3 replica configured' },
  AUTH_REQUIRED: { http: 401, exit: EXIT.denied, what: 'who is acting must be proved (password or token)' },
  AUTH_FAILED: { http: 401, exit: EXIT.denied, what: 'wrong user name, password or token' },
  FORBIDDEN: { http: 403, exit: EXIT.denied, what: "the actor's role does not allow this" },
  LOCKED: { http: 429, exit: EXIT.denied, what: 'too many failed logins: locked out for a while' },
  CSRF_INVALID: { http: 403, exit: EXIT.denied, what: 'a form without a valid CSRF token' },
  NOT_FOUND: { http: 404, exit: EXIT.usage, what: 'no such page' },
  HOST_UNKNOWN: { http: 421, exit: EXIT.usage, what: 'a request for a host name peakguard does not answer to (ui.hosts)' },
  TWO_PERSON_RULE: { http: 403, exit: EXIT.denied, what: 'a change must be approved by someone other than who made or requested it' },
  FROZEN: { http: 423, exit: EXIT.denied, what: 'a freeze window is active' },
  USER_UNKNOWN: { http: 404, exit: EXIT.usage, what: 'no such user' },
  REQUEST_NOT_FOUND: { http: 404, exit: EXIT.usage, what: 'no such change request' },
  REQUEST_DECIDED: { http: 409, exit: EXIT.usage, what: 'the change request was already decided' },
  REQUEST_STALE: { http: 409, exit: EXIT.usage, what: 'what the change request touches has changed since' },
  AUDIT_TAMPERED: { http: 500, exit: EXIT.verifyFailed, what: 'the audit log fails its hash chain' },
  BRIDGE_FAILED: { http: 502, exit: EXIT.failed, what: 'the WordPress bridge failed' },
  INTERNAL: { http: 500, exit: EXIT.failed, what: 'internal error' },
} as const

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

/** Any thrown value as a PeakguardError, so the CLI and HTTP layers have one shape to report. */
export function asPeakguardError(e: unknown): PeakguardError {
  if (e instanceof PeakguardError) return e
  const message = e instanceof Error ? e.message : String(e)
  return new PeakguardError('INTERNAL', message, { cause: e })
}
