// What every command needs from the composition root (src/compose/), and how results and errors are
// printed: text for people, JSON with --json, one exit code per outcome (see src/errors.ts).
import type { NotifyPort, DocStorePort } from '../core/index.ts'
import type { DaemonSiteStatus, RecoverReport, ReplicaSite, Site } from '../services/index.ts'
import { asPeakguardError } from '../errors.ts'
import { visible } from '../core/index.ts'
import type { Action, Actor, AuditInput } from '../core/index.ts'
import type { Access } from '../services/access.ts'
import type { AuditLog } from '../services/audit.ts'
import type { FreezeSettings, FreezeWindowConfig } from '../services/freeze-calendar.ts'
import type { BridgeInstallReport, BridgePort, BridgeState, BridgeStatusReport } from '../core/index.ts'

export interface GlobalOptions {
  config?: string
  site?: string
  json?: boolean
  /** the peakguard user acting (default: mapped from SUDO_USER, else USER) */
  as?: string
  /** the actor's password is the first line of stdin (for user add/passwd: the NEW password, see README) */
  passwordStdin?: boolean
}

export interface InitOptions {
  wpRoot: string
  siteId?: string
  dataDir?: string
  config?: string
  s3?: { bucket: string; prefix?: string; region?: string; endpoint?: string; forcePathStyle?: boolean; keyFile?: string }
  /** HOST:PORT the daemon serves the web UI on (ui.listen) */
  uiListen?: string
  /** --settings-tables: presets and table names (without the prefix), checked against the database before the config is written */
  settingsTables?: string[]
  /** a person can answer (a terminal, not --json): a preset whose tables the database holds is offered as a question */
  ask?: boolean
  /** --fleet: the site gets `fleet: {}` (it needs s3) and its fleet tables are made in its database */
  fleet?: boolean
}

export interface InitResult {
  config: string
  site: string
  wpContent: string
  dataDir: string
  tables: string[]
  multisite: boolean
  /** what the operator should know about the settings tables (several rows of one option name) */
  warnings: string[]
  /** the replica, when --s3-bucket was given: where, and what a listing of it said */
  s3: { location: string; encrypted: boolean; check: string } | null
  /** where the daemon serves the web UI */
  uiListen: string
  /** the site's settingsTables as written to the config (presets and table names) */
  settingsTables: string[]
  /** presets whose tables the database holds (e.g. woocommerce) */
  presetsFound: string[]
  /** presets found but not added (no terminal to ask, or declined): the exact config line and init flag that record them */
  offer: { presets: string[]; line: string; flag: string } | null
  /** --fleet: this host's node id and the fleet tables made (or found) in the site's database */
  fleet: { node: string; tables: string[] } | null
}

export interface RecoverOptions {
  site?: string
  config?: string
  /** the data directory root (as `dataDir` in the config); the journal goes to <dir>/<site>/journal */
  dataDir?: string
  /** a manifest key to rebuild from instead of the newest */
  manifest?: string
}

export interface RecoverResult extends RecoverReport {
  site: string
  dataDir: string
  journal: string
  /** where the config says the site's data is; when it differs from dataDir, the config must be changed */
  configDataDir: string
  config: string
}

/** The WordPress bridge of one site, as the CLI drives it (src/adapters/wp-bridge.ts). */
export interface BridgeControl extends BridgePort {
  site: string
  /** wp-content/mu-plugins/peakguard-bridge.php */
  file: string
  /** the bridge folder: state.json, events.jsonl, secret */
  dir: string
  /** Writes the mu-plugin, the secret (kept when there is one), the event file and the current freeze state. */
  install(): Promise<BridgeInstallReport>
  /** Removes the mu-plugin; the bridge folder stays. */
  uninstall(): Promise<{ file: string; removed: boolean }>
  status(): Promise<BridgeStatusReport>
  /** The state file as the site's freeze config and documents say now (what syncState writes). */
  currentState(): Promise<BridgeState>
  /** Writes the current freeze state to state.json when the bridge is installed (after freeze start/stop, allow); false when it is not. */
  syncState(): Promise<boolean>
}

/** A site's governance, ready-made by the composition root: what the freeze, request and restore services take. */
export interface SiteGovernanceDeps {
  site: string
  docs: DocStorePort
  audit: AuditLog
  notify: NotifyPort
  /** the site's configured freeze windows (freeze.windows) */
  windows: readonly FreezeWindowConfig[]
  now(): number
  /** waits (a few seconds at most) for the notifications to go out */
  close(): Promise<void>
}

export interface Runtime {
  /** After the command: closes what it left open (a fleet's database connections), so the process can end. */
  finish?(): Promise<void>
  /** loads what commands need (config, adapters); called before a command runs, never for --help */
  prepare(opts: GlobalOptions): Promise<void>
  governance(opts: GlobalOptions): Promise<SiteGovernanceDeps>
  /** Opens the site named by --site (optional when the config has one site). */
  openSite(opts: GlobalOptions): Promise<Site & { close(): Promise<void> }>
  init(opts: InitOptions): Promise<InitResult>
  /** Rebuilds the site's journal from its S3 replica into an empty data directory. */
  recover(opts: RecoverOptions): Promise<RecoverResult>
  /** The site's S3 replica (an error when the site has none). */
  openReplica(opts: GlobalOptions): Promise<ReplicaSite & { close(): Promise<void> }>
  hasReplica(opts: GlobalOptions): boolean
  /** The site's governance documents: freeze state, change requests (in its data directory). */
  docs(opts: GlobalOptions): DocStorePort
  /** The id and the `freeze` config section (windows, policy, approvalUrl, zone) of the site named by --site. */
  freezeSettings(opts: GlobalOptions): { site: string; freeze: FreezeSettings }
  /**
   * The webhooks of the site named by --site (config `notify.webhooks`). notify() returns at once and never
   * throws; call close(ms) before the command exits (e.g. close(5000)): it sends what it can in that time.
   */
  notifier(opts: GlobalOptions): NotifyPort & { close(timeoutMs: number): Promise<void> }
  /** The validated config with every default filled in and every secret redacted, and where it was read. */
  /** the config as understood (every default, secrets redacted), and as YAML */
  showConfig(opts: GlobalOptions): { file: string; config: unknown; yaml: string }
  /** Runs the daemon in the foreground for every site; resolves once it has stopped (SIGTERM/SIGINT). */
  runDaemon(opts: GlobalOptions): Promise<void>
  /** What the running daemon says about a site, or why it could not be asked. */
  daemonStatus(opts: GlobalOptions, site: string): Promise<{ running: true; url: string; site: DaemonSiteStatus | null } | { running: false; url: string; reason: string }>
  /**
   * Who is acting, proved ($PEAKGUARD_TOKEN, or --password-stdin) and checked against its role (AUTH_REQUIRED,
   * AUTH_FAILED, FORBIDDEN). With no users configured: the OS user as an unmanaged admin.
   */
  actor(opts: GlobalOptions, action: Action): Promise<Actor>
  /** The audit log of the site named by --site. */
  audit(opts: GlobalOptions): Promise<AuditLog>
  /** The users file: users and API tokens. */
  access(opts: GlobalOptions): Promise<Access>
  /** Appends one entry to the audit log of every configured site (user and token changes concern them all). */
  auditAll(opts: GlobalOptions, input: Omit<AuditInput, 'site'>): Promise<void>
  /** The WordPress bridge (mu-plugin, bridge folder, cache flush) of the site named by --site. */
  bridge(opts: GlobalOptions): Promise<BridgeControl>
  /** The first line of stdin, read once (without echo on a terminal): for --password-stdin. */
  readStdinLine(): Promise<string>
  isInteractive(): boolean
  confirm(question: string): Promise<boolean>
  out(text: string): void
  err(text: string): void
}

/**
 * Prints a result: `json` with --json (exact: JSON escapes what it must), else the lines `text` makes, each
 * through shown(). A string is one line: a newline in it is shown as `\n`, never printed, so give each line
 * of the text as its own element.
 */
export function print(rt: Runtime, opts: GlobalOptions, json: unknown, text: () => string | readonly string[]): void {
  rt.out(opts.json ? JSON.stringify(json, null, 2) : shown(text()))
}

/**
 * Lines for a terminal. Text stored before the input rules (src/core/text.ts), or that came another way
 * (WordPress logins, file paths, option names, messages quoting them), may hold any character: each line's
 * control and bidi characters are made visible, so a value can neither split a line nor reach the terminal
 * as an escape sequence. Only the newlines between the given lines are printed. `tab` keeps tabs (code).
 */
export function shown(lines: string | readonly string[], o: { tab?: boolean } = {}): string {
  return (typeof lines === 'string' ? [lines] : lines).map((l) => visible(l, o)).join('\n')
}

/** Runs a command body with the site open, closing it afterwards whatever happens. */
export async function withSite<T>(rt: Runtime, opts: GlobalOptions, fn: (site: Site) => Promise<T>): Promise<T> {
  const site = await rt.openSite(opts)
  try {
    return await fn(site)
  } finally {
    await site.close()
  }
}

/** Prints an error the way the operator needs it at 3 a.m., and returns the exit code. */
export function report(rt: Runtime, opts: GlobalOptions, e: unknown): number {
  const err = asPeakguardError(e)
  // a command that already printed its JSON result (a restore that did not verify) gets no second document
  if (opts.json && !(err.details as { printed?: boolean } | undefined)?.printed) rt.out(JSON.stringify({ error: { code: err.code, message: err.message } }, null, 2))
  // one line: what the message quotes (a path, an option name, a login) can neither split it nor drive the terminal
  rt.err(`peakguard: ${visible(err.message)}`)
  if (err.code === 'INTERNAL' && err.cause instanceof Error && err.cause.stack) rt.err(shown(err.cause.stack.split('\n')))
  return err.exitCode
}

