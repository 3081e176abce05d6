// The ports: what the services need from the outside world, as interfaces. Adapters implement them
// (git journal, live wp-content, MySQL settings tables, the site's data directory); tests may use the
// real adapters or small in-memory ones. Bytes are Uint8Array so core needs no node types.
import type { DirEntry, FileEntry, LinkedDir, OptionEntry, SiteState } from './state.ts'
import type { StateDiff } from './diff.ts'
import type { Manifest, RemoteObject } from './replica.ts'
import type { SchemaInfo } from './schema-model.ts'

/** The live wp-content directory of one site. */
/** A reading of the files in scope. */
export interface LiveScan {
  files: FileEntry[]
  links: LinkedDir[]
  /** the directories in theme/plugin directories (each unit's own included), with mode and owner */
  dirs: DirEntry[]
  /**
   * Files (or directories) in scope left out because they cannot be recorded exactly — a name or link text
   * that is not UTF-8 — each with why. One such name never stops the snapshot of the rest.
   */
  skipped: string[]
}

export interface LiveFilesPort {
  /**
   * Every file in scope with its blob id; hashes only files whose stat changed since the last scan. With
   * `units` (see unitOf), only the files and links inside those units.
   */
  scan(units?: ReadonlySet<string>): Promise<LiveScan>
  /** The bytes of a live file (its first `limit` bytes, when given: a plugin's header), or a symlink's text. */
  read(path: string, limit?: number): Promise<Uint8Array>
  /** The absolute path of a live file. */
  locate(path: string): string
  /** Re-reads these paths from disk (hashing each file): their entries, null where nothing is there. */
  inspect(paths: string[]): Promise<Map<string, FileEntry | null>>
  /**
   * Refuses (before anything is written) any path whose parent directories lead through a symlink,
   * unless that symlink is one of `links` (a recorded theme/plugin link) and points where it was recorded,
   * or is in `removedFirst` (removed by the plan before anything is written below it), or is in
   * `relinkedFirst` (set to its recorded target before anything is written below it) with a recorded
   * target that stays in wp-content or a followLinksInto place.
   */
  assertWritable(paths: string[], links: Map<string, LinkedDir>, removedFirst?: ReadonlySet<string>, relinkedFirst?: ReadonlySet<string>): Promise<void>
  /** Replaces a file atomically (temp file in the same directory, then rename) with owner, group and mode. */
  write(entry: FileEntry, content: Uint8Array): Promise<void>
  /** Whether each of these theme/plugin directory links is there, a link, with the recorded target. */
  linksAre(links: LinkedDir[]): Promise<boolean>
  /** Re-reads these directories (a unit's own through its link): their entries, null where no directory is. */
  inspectDirs(paths: string[]): Promise<Map<string, DirEntry | null>>
  /** Creates the directory if it is missing (its parent must exist) and sets its owner and mode; a link or file in its place is left alone. */
  setDirMeta(entry: DirEntry): Promise<void>
  /** Removes the directory if it is there and empty (one holding files peakguard ignores stays). */
  removeDirIfEmpty(path: string): Promise<void>
  /** Sets mode/owner/group of an existing file. */
  setMeta(entry: FileEntry): Promise<void>
  /** Removes a file, then any directories it leaves empty up to its theme/plugin root. */
  remove(path: string): Promise<void>
  /** Makes `link.path` a symlink to `link.target` (replacing what is there); null removes the link. */
  setLink(path: string, link: LinkedDir | null): Promise<void>
  /** Removes temporary files a killed restore left behind; returns how many. */
  removeTemporaries(): Promise<number>
}

/** A settings row with its exact bytes. */
export interface OptionValue extends OptionEntry {
  value: Uint8Array
}

/** The settings tables of one site. */
export interface SettingsPort {
  /**
   * Every row of every settings table (ignored rows included; the caller filters), with the blob id of its
   * value computed by the database server: hashes, not values, cross the wire.
   */
  read(): Promise<OptionEntry[]>
  /**
   * The exact bytes of these rows and their blob ids, by optionKey, as they are now: a row that changed
   * since it was listed comes back with its new blob id, a row deleted since is missing.
   */
  values(rows: OptionEntry[]): Promise<Map<string, { value: Uint8Array; blob: string }>>
  /**
   * Sentences for the operator about names held by several rows (a table without its UNIQUE key): `read`
   * and `values` give each name as WordPress reads it, `apply` writes every copy. Empty when all is well.
   */
  duplicates(): Promise<string[]>
  /** Writes and deletes rows in one transaction; all or nothing. */
  apply(write: OptionValue[], remove: { table: string; name: string }[]): Promise<void>
  /**
   * A checksum of every settings row (name, autoload, value), computed by the server: one short row per
   * table crosses the wire, so the daemon can ask every few seconds whether anything changed.
   */
  fingerprint(): Promise<string>
  /** The tables `read` covers (options, posts for Site Editor entities, settings tables): a state's `sources`. */
  sources(): Promise<string[]>
  /**
   * The schema of every table of the site's prefix (every blog's on multisite), from information_schema: columns,
   * indexes, engine, collation — no rows. `fingerprint` changes when it does.
   */
  schema(): Promise<SchemaInfo>
  /** The site's home URL (the `home` option of the main site), for the default health probe. */
  homeUrl(): Promise<string | null>
  /** Forgets the cached table list (a blog may have been added on multisite); the next call lists them again. */
  forgetTables(): void
  close(): Promise<void>
}

export interface CommitRecord {
  id: string
  /** ISO time */
  time: string
  subject: string
  trailers: Record<string, string>
}

export interface CommitRequest {
  parent: string | null
  state: SiteState
  /** parent → state */
  diff: StateDiff
  /** where a file's content is on disk (files are read there, and re-hashed, when their blob is stored) */
  filePath(path: string): string
  /** bytes of a symlink's text, for symlinks added or changed */
  fileContent(path: string): Promise<Uint8Array>
  /** blobs known to be in the journal already (a restore's result is made of them) */
  existingBlobs?: ReadonlySet<string>
  /** bytes for options added or changed in value */
  optionValue(table: string, name: string): Uint8Array
  subject: string
  trailers: Record<string, string>
}

export interface Mark {
  id: string
  note: string
  time: string
}

/** The git journal of one site. */
export interface JournalPort {
  /** The newest snapshot, or null for an empty journal. */
  head(): Promise<string | null>
  readState(id: string): Promise<SiteState>
  commit(req: CommitRequest): Promise<string>
  /** Calls `each` with the bytes of every blob, in the order given. */
  readBlobs(ids: string[], each: (id: string, bytes: Uint8Array) => Promise<void> | void): Promise<void>
  /** All snapshots, newest first. */
  log(): Promise<CommitRecord[]>
  /** Full ids of commits whose id starts with `prefix`. */
  resolvePrefix(prefix: string): Promise<string[]>
  marks(): Promise<Mark[]>
  mark(id: string, note: string): Promise<void>
  unmark(id: string): Promise<boolean>
  /** Integrity problems (git fsck); empty when the journal is sound. */
  check(): Promise<string[]>
  /**
   * Packs the journal (git gc, at the lowest CPU and I/O priority) when enough packs or loose objects have
   * piled up; null when there was nothing worth doing. Safe beside a running snapshot.
   */
  maintain(): Promise<{ packsBefore: number; looseBefore: number; ms: number } | null>
}

/** A restore that was started; kept on disk until it is done so a crash can be finished at the next start. */
export interface RestoreIntent {
  target: string
  safetySnapshot: string
  only: { paths: string[]; options: string[] } | null
  startedAt: string
  /** the change request the restore applies or reverts: a decision finished after a crash still names it */
  request?: string
  /**
   * A restore by a person owes the audit log its entry: written by the writer before the intent is cleared,
   * and by the next writer when a crash cut the restore short (once: the entry names its intent's start).
   */
  audit?: { actor: string; onlyText?: string[] }
  /**
   * the restore crosses a database migration and a person acknowledged it: the live schema and (unless
   * `restoreMarkers`) the live migration markers are kept; `markers` are those kept, `restored` those written.
   * A restore finished after a crash keeps them too.
   */
  layout?: { tables: string[]; markers: string[]; restored?: string[]; restoreMarkers: boolean }
}

export interface RecoveryNote {
  at: string
  what: string
}

/** The site's private data directory (outside the web root): the writer lock and crash-recovery notes. */
export interface SiteDirPort {
  /** Takes the single-writer lock, waiting up to `waitMs`; returns its release. */
  lock(waitMs: number): Promise<() => Promise<void>>
  readIntent(): Promise<RestoreIntent | null>
  writeIntent(intent: RestoreIntent): Promise<void>
  clearIntent(): Promise<void>
  lastRecovery(): Promise<RecoveryNote | null>
  noteRecovery(note: RecoveryNote): Promise<void>
}

/** A problem that stops a file watcher (the inotify watch limit, an overflowed event queue). */
export interface WatchFailure {
  code: string
  message: string
}

/** Change notifications for one site's files in scope (themes, plugins, mu-plugins, drop-ins). */
export interface FileWatchPort {
  /**
   * Starts watching; resolves once the initial crawl is done. `changed` gets a wp-content-relative path
   * for every change (duplicates happen); `failed` is called when watching can no longer be trusted (the
   * watcher is closed by then); `warned` for a problem that leaves the rest watched (a directory it may
   * not read).
   */
  start(on: { changed(path: string): void; failed(f: WatchFailure): void; warned(f: WatchFailure): void }): Promise<void>
  close(): Promise<void>
}

/** The result of one HTTP health probe. */
export interface ProbeResponse {
  url: string
  /** null when no answer came (connection refused, timeout) */
  status: number | null
  latencyMs: number
  /** the first part of the body, enough to recognise WordPress's error pages */
  body: string
  error: string | null
}

/** Text a page must (or must not) hold: literal, or a regular expression with its flags. */
export type TextMatch = string | { regex: string; flags: string }

/** One probe as configured, its URL resolved (the home URL filled in) and its secrets read. */
export interface ProbeSpec {
  /** shown on pages and in alerts; null: the URL */
  name: string | null
  url: string
  method: 'GET' | 'HEAD' | 'POST'
  headers: Readonly<Record<string, string>>
  basicAuth: { user: string; password: string } | null
  tls: { caFile: string | null; selfSignedOnLoopback: boolean }
  followRedirects: boolean
  status: readonly number[]
  mustContain: readonly TextMatch[]
  mustNotContain: readonly TextMatch[]
  maxLatencyMs: number
  timeoutMs: number
  /** past every page cache: a query parameter no cache has seen and no-cache headers (the probe after a restore) */
  bypassCache?: boolean
}

export interface ProbePort {
  fetch(probe: ProbeSpec): Promise<ProbeResponse>
}

/** What a cache purge after a restore went through: a page-cache plugin (through the bridge), an HTTP PURGE/BAN, Cloudflare. */
export type PurgeKind = 'plugin' | 'http' | 'cloudflare'

/** One cache purge after a restore and how it ended; `name` and `detail` never hold a secret (tokens, URL credentials). */
export interface PurgeResult {
  /** what was purged, for people: "WP Super Cache", "PURGE http://127.0.0.1:6081/…", "Cloudflare zone 023e…" */
  name: string
  kind: PurgeKind
  ok: boolean
  /** what happened, or why it failed, in one line */
  detail: string
}

/**
 * Caches that hold whole pages, emptied after a restore so visitors get the restored site (the page-cache
 * plugins through the WordPress bridge; Varnish/nginx and Cloudflare over HTTP). Never rejects: a purge that
 * fails is a result with ok false, and each purge gives up after its timeout.
 */
export interface PurgePort {
  /** how the writer names these purges when even asking failed */
  readonly label: string
  readonly kind: PurgeKind
  /** every purge this port knows, in the order they ran; empty when there was nothing to purge */
  purge(): Promise<PurgeResult[]>
}

/** The outcome of one post-restore command. */
export interface HookResult {
  command: string
  exitCode: number | null
  /** set when the command could not start or was killed for its timeout */
  error: string | null
  durationMs: number
  /** the end of what it printed (stdout and stderr) */
  output: string
}

export interface HooksPort {
  /** Runs the configured post-restore commands one after another, with `env` added to their environment. */
  postRestore(env: Record<string, string>): Promise<HookResult[]>
}

/** Structured log lines. Fields must never hold option values. */
export interface LogPort {
  debug(fields: Record<string, unknown>, msg: string): void
  info(fields: Record<string, unknown>, msg: string): void
  warn(fields: Record<string, unknown>, msg: string): void
  error(fields: Record<string, unknown>, msg: string): void
}

/** What the daemon counts for /metrics. */
export interface MetricsPort {
  snapshot(site: string, seconds: number, created: boolean, trigger: string): void
  restore(site: string, trigger: string, ok: boolean): void
  probe(site: string, ok: boolean): void
  watcherMode(site: string, mode: 'watch' | 'scan'): void
  dbConnected(site: string, up: boolean): void
  pendingChanges(site: string, pending: number): void
  /** age of the oldest change not yet on the S3 replica (0 when none), and whether it is above the alert threshold */
  replicaLag(site: string, seconds: number, alert: boolean): void
  replicaPush(site: string, ok: boolean, bytes: number, seconds: number): void
  /** a webhook notification delivered, given up after its attempts, or dropped from a full queue */
  notification(site: string, result: 'delivered' | 'failed' | 'dropped'): void
  /** a node of a fleet, after each heartbeat and comparison (absent where no fleet is counted) */
  fleet?(site: string, node: string, f: FleetGauges): void
}

/** What /metrics shows of a fleet, from one node. */
export interface FleetGauges {
  leader: boolean
  driftFiles: number
  dbConnected: boolean
  up: number
  down: number
  drifting: number
}

/** What the prober remembers about one state's health (kept per state, across daemon restarts). */
export interface StateHealth {
  state: string
  firstProbe: string
  lastProbe: string
  passes: number
  failures: number
  /** when the current run of passing probes began (null after a failure) */
  healthySince: string | null
  lastFailure: { at: string; reason: string } | null
  markedGoodAt: string | null
}

/** The daemon's memory of health and automatic rollbacks, kept in the site's data directory. */
export interface HealthRecord {
  states: StateHealth[]
  lastAutoRollback: { at: string; from: string; to: string } | null
  /** set when a rolled-back-to state failed too: no more automatic rollbacks until a state is good again */
  autoRollbackHalted: { at: string; reason: string } | null
  /**
   * the newest automatic rollback refused because it would cross a database migration (or could not tell): alerted
   * once per live state and target, cleared when a state is known-good or a rollback is done. Absent in files
   * written before.
   */
  autoRollbackBlocked?: { at: string; from: string; to: string; reason: string } | null
}

export interface HealthStorePort {
  readHealth(): Promise<HealthRecord>
  writeHealth(r: HealthRecord): Promise<void>
}

/** The process's memory: a long-running daemon gives back what a burst of work grew. */
export interface HeapPort {
  /** Returns unused heap to the system (a full collection: some tens of ms); call when quiet. */
  release(): void
}

/** The journal as the replicator sees it: refs, and git bundles to carry new objects off the host. */
export interface BundlePort {
  /** Every ref of the journal (branch, known-good tags, …) → object id. */
  refs(): Promise<Record<string, string>>
  /** A cheap value (no git process) that changes whenever a ref does: polled every second. */
  refsStamp(): string
  /**
   * Writes a bundle with the refs `include` and every object they reach except what `exclude` (object ids
   * already on the remote) reaches; all refs and no exclusions make a full bundle. `heads` are the
   * included refs as they are now (one may have moved or vanished since `refs()` was read); `bundle` is
   * null when there is no new object to carry (a mark removed, a ref moved to something the remote has).
   */
  createBundle(file: string, include: string[], exclude: string[]): Promise<{ heads: Record<string, string>; bundle: { size: number; sha256: string } | null }>
  /** Size and SHA-256 of a bundle file written earlier, null when it is gone. */
  bundleDigest(file: string): Promise<{ size: number; sha256: string } | null>
  /** Checks a bundle (its SHA-256, and its prerequisites must be here) and adds its objects; refs are left alone. */
  importBundle(file: string, sha256: string): Promise<void>
  /** Makes the journal's refs exactly these. */
  setRefs(refs: Record<string, string>): Promise<void>
  /** Whether commit `ancestor` is `id` or one of its ancestors (false when either is unknown here). */
  isAncestor(ancestor: string, id: string): Promise<boolean>
  /** The time of the oldest commit on the branch after `since` (null: the first commit), null if none. */
  firstCommitAfter(since: string | null): Promise<string | null>
}

/**
 * One site's folder on S3 (or any S3-compatible store). Keys are relative to the folder. Content is
 * sealed with AES-256-GCM when a key is configured; `get*` open it and fail clearly on a wrong key.
 */
export interface ObjectStorePort {
  /** s3://bucket/prefix/site/ — for messages */
  readonly location: string
  readonly encrypted: boolean
  /** The size an object of this many plain bytes has on the remote (sealing adds a header and a tag). */
  storedSize(plainBytes: number): number
  /** A short name for content with this SHA-256 (keyed when encrypted, so names reveal nothing). */
  contentId(sha256: string): string
  /**
   * Creates the object (with If-None-Match: * where the server honours it). Callers never write a key
   * twice: a failed attempt is retried under a new key.
   */
  putFile(key: string, file: string): Promise<{ bytes: number }>
  putBytes(key: string, bytes: Uint8Array): Promise<{ bytes: number }>
  getBytes(key: string): Promise<Uint8Array>
  /** Downloads and opens the object into `file` (written only once it authenticated). */
  getFile(key: string, file: string): Promise<void>
  list(under: string): Promise<RemoteObject[]>
  /** Only `peakguard prune` calls this. */
  remove(keys: string[]): Promise<void>
}

/** What the replicator keeps on the host (in the site's data directory) between pushes and restarts. */
export interface ReplicaState {
  /** the newest manifest written to the remote */
  pushed: Manifest | null
  /**
   * a push that was prepared (bundle written, keys chosen) and not yet confirmed. It is resumed after a
   * failure or a crash: what was confirmed stored is kept, the rest goes up again under new keys
   * (`attempt` is part of them), so a request that was delayed and lands late never replaces an object
   */
  prepared: { manifest: Manifest; manifestKey: string; bundleFile: string | null; attempt: number; bundleStored: boolean } | null
  /** when the oldest change not yet on the remote was seen */
  pendingSince: string | null
  lastError: { at: string; message: string; attempts: number } | null
}

export interface ReplicaLocalPort {
  readReplica(): Promise<ReplicaState>
  writeReplica(s: ReplicaState): Promise<void>
  /** The replicator's own lock (never the snapshot lock: an upload must not hold up a snapshot). */
  lockReplica(waitMs: number): Promise<() => Promise<void>>
  /** Where the bundle of push `seq` waits until its manifest is on the remote. */
  outgoingFile(seq: number): string
  /** A private temporary directory; `remove` deletes it and everything in it. */
  scratch(): Promise<{ path: string; remove(): Promise<void> }>
  removeFile(file: string): Promise<void>
}
