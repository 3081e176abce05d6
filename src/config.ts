// The configuration: one YAML file, read once, validated strictly (zod: an unknown key or a wrong type is
// an error naming the key path and its line), defaults explicit, relative paths taken from the file's
// folder, frozen. `redact` is the only form in which a config is ever printed.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import ms from 'ms'
import { isMap, isSeq, LineCounter, parseDocument, stringify, type Document } from 'yaml'
import { z } from 'zod'
import { NOTIFY_EVENTS } from './core/governance.ts'
import { TABLE_PRESETS, badTableName, type TableSpec } from './core/records.ts'
import { PeakguardError } from './errors.ts'
import { writeFileDurably } from './adapters/durable-file.ts'
import { isZone, windowProblems } from './services/freeze-calendar.ts'

export const DEFAULT_CONFIG_PATH = '/etc/peakguard/peakguard.yaml'
export const DEFAULT_DATA_DIR = '/var/lib/peakguard'

/** A duration as written by people ("2s", "500ms", "10m", "1h") or a number of seconds; held in milliseconds. */
const duration = (fallback: string) =>
  z
    .union([z.number().nonnegative(), z.string()])
    .default(fallback)
    .transform((v, ctx) => {
      const m = typeof v === 'number' ? v * 1000 : (ms as (s: string) => number | undefined)(v)
      if (typeof m !== 'number' || !Number.isFinite(m) || m < 0) {
        ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)} (write e.g. 2s, 500ms, 10m, 1h)` })
        return z.NEVER
      }
      return Math.round(m)
    })

/** HOST:PORT, an IPv6 host in brackets. */
const listen = z.string().regex(/^(?:\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'HOST:PORT, e.g. 127.0.0.1:8087')

/** Text a probe's page must (or must not) hold: literal text, or a regular expression. */
const textMatch = z.union([
  z.string().min(1).max(1000),
  z
    .object({ regex: z.string().min(1).max(1000), flags: z.string().regex(/^[imsu]*$/, 'regex flags: i, m, s, u only').default('') })
    .strict()
    .superRefine((m, ctx) => {
      try {
        new RegExp(m.regex, m.flags)
      } catch (e) {
        ctx.addIssue({ code: 'custom', path: ['regex'], message: `not a regular expression: ${(e as Error).message}` })
      }
    }),
])

/** An HTTP header name as RFC 9110 allows it. */
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'an HTTP header name (letters, digits, -)')
/** A header value: no control characters (a CR/LF would smuggle another header). */
const headerValue = z.string().max(4096).regex(/^[^\x00-\x08\x0a-\x1f\x7f]*$/, 'a header value without control characters')
/** The name of an environment variable that holds a secret, so the secret never sits in this file. */
const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name')

const probe = z
  .object({
    /** how the probe is named on pages and in alerts ("checkout"); null: its URL */
    name: z.string().min(1).max(80).nullable().default(null),
    /** null: the site's home URL (its `home` option) */
    url: z.string().url().regex(/^https?:\/\//i, 'an http:// or https:// URL').nullable().default(null),
    method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
    /** request headers, e.g. Host for a site behind a proxy */
    headers: z.record(headerName, headerValue).default({}),
    /** HTTP basic auth (a staging site behind a password); the password inline or, better, from the environment */
    basicAuth: z
      .object({ user: z.string().min(1).max(200), password: z.string().max(1000).nullable().default(null), passwordEnv: envName.nullable().default(null) })
      .strict()
      .refine((a) => (a.password === null) !== (a.passwordEnv === null), 'give password or passwordEnv (one of them)')
      .nullable()
      .default(null),
    tls: z
      .object({
        /** a PEM file of the CA that signed the site's certificate (an internal CA) */
        caFile: z.string().min(1).nullable().default(null),
        /** accept a self-signed certificate — only when the URL's host is a loopback address */
        selfSignedOnLoopback: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** follow redirects (a browser would); false: a redirect is the answer judged */
    followRedirects: z.boolean().default(true),
    /** acceptable status codes (after redirects, when followed) */
    status: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
    /** each must be on the page ("Add to cart", the checkout form's id) */
    mustContain: z.array(textMatch).max(50).default([]),
    /** none may be on the page ("No products were found", a maintenance notice) */
    mustNotContain: z.array(textMatch).max(50).default([]),
    maxLatency: duration('3s'),
    timeout: duration('10s'),
  })
  .strict()
  // a HEAD answer has no body: a text check on it could never pass, or would silently check nothing
  .superRefine((p, ctx) => {
    if (p.method === 'HEAD' && (p.mustContain.length || p.mustNotContain.length))
      ctx.addIssue({ code: 'custom', path: ['method'], message: 'a HEAD answer has no body: mustContain/mustNotContain need GET or POST' })
  })

/** The probe of a site that configures none: its home URL, with every default. */
export const DEFAULT_PROBE = probe.parse({})

/**
 * A site run by several web nodes (each with its own wp-content, or one shared over NFS/EFS) that share
 * its database and its S3 replica. The nodes coordinate through the database (one settings leader, one
 * writer of the shared journal at a time) and share their history through the replica.
 */
const fleet = z
  .object({
    /** how often a node writes its row in the fleet table and checks who leads */
    heartbeat: duration('2s').refine((v) => v >= 250 && v <= 60_000, 'between 250ms and 60s'),
    /** a node whose last heartbeat is older is shown as down */
    nodeTimeout: duration('15s').refine((v) => v <= 600_000, 'at most 10m'),
    /** how long a restore of the fleet waits for every live node to stage the target */
    readyWait: duration('60s').refine((v) => v >= 1000 && v <= 1_800_000, 'between 1s and 30m'),
    /** wp-content is one shared file system (NFS, EFS): only the leader records and writes files, by scanning */
    sharedFiles: z.boolean().default(false),
  })
  .strict()
  // a timeout of one or two heartbeats would call a node down after one slow write
  .superRefine((f, ctx) => {
    if (f.nodeTimeout < 3 * f.heartbeat)
      ctx.addIssue({ code: 'custom', path: ['nodeTimeout'], message: `at least 3 × heartbeat (${ms(f.heartbeat * 3)}): a node is shown as down only after it missed several heartbeats` })
  })

export type FleetConfig = z.infer<typeof fleet>

/** A node id in a fleet: the config's `node:`, or the host name. */
export const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

const db = z
  .object({
    host: z.string().min(1).default('localhost'),
    port: z.number().int().min(1).max(65535).default(3306),
    socket: z.string().min(1).nullable().default(null),
    user: z.string().min(1),
    password: z.string().default(''),
    name: z.string().min(1),
    tablePrefix: z.string().regex(/^[A-Za-z0-9_]+$/, 'letters, digits and _ only').default('wp_'),
    multisite: z.boolean().default(false),
  })
  .strict()

/** The site's off-host replica on S3 or an S3-compatible store (MinIO, R2, Wasabi, Ceph). */
const s3 = z
  .object({
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3–63 lower-case letters, digits, . and -'),
    /** objects go under <prefix>/<site id>/ */
    prefix: z.string().regex(/^[A-Za-z0-9!_.*'()/-]*$/, 'letters, digits and !_.*\'()-/ only').default('peakguard'),
    region: z.string().min(1).default('us-east-1'),
    /** null: AWS; else the S3-compatible server's URL, e.g. https://minio.example.com:9000 */
    endpoint: z.string().url().nullable().default(null),
    /** path-style URLs (https://host/bucket/key), which most S3-compatible servers need */
    forcePathStyle: z.boolean().default(false),
    /** the AES-256-GCM key (32 bytes raw, hex or base64), mode 0600; null: $PEAKGUARD_S3_KEY, else unencrypted */
    keyFile: z.string().min(1).nullable().default(null),
    /** server-side encryption asked of S3 too: none, AES256 (SSE-S3) or aws:kms (SSE-KMS) */
    sse: z.enum(['none', 'AES256', 'aws:kms']).default('none'),
    kmsKeyId: z.string().min(1).nullable().default(null),
    /** a request that stays silent this long is abandoned and retried */
    timeout: duration('30s'),
    /** the oldest change not yet replicated older than this is an alert (log, status, /metrics) */
    lagAlert: duration('5m'),
    /** the longest wait between retries (exponential backoff with jitter from 1 s) */
    retryMax: duration('5m'),
    /** a bundle chain this long is compacted into a fresh full bundle (it also is once the increments weigh twice the full bundle) */
    compactAfter: z.number().int().min(2).max(100000).default(1000),
  })
  .strict()

/** A freeze window in the config: one-off (start/end, with an offset or an IANA zone) or recurring (cron + duration + zone). */
const freezeWindow = z.union([
  z
    .object({
      name: z.string().min(1),
      /** ISO date-time; with an offset (2026-11-27T00:00+01:00), or wall-clock time in `zone` */
      start: z.string().min(1),
      end: z.string().min(1),
      /** IANA zone for start/end written without an offset; default UTC */
      zone: z.string().min(1).default('UTC'),
      reason: z.string().min(1).default('scheduled freeze'),
    })
    .strict(),
  z
    .object({
      name: z.string().min(1),
      /** five-field cron expression in `zone`: when the window opens */
      cron: z.string().min(1),
      duration: duration('1h'),
      zone: z.string().min(1).default('UTC'),
      reason: z.string().min(1).default('scheduled freeze'),
    })
    .strict(),
])

const freeze = z
  .object({
    /** revert: put the live site back at once; hold: keep it live, flagged, until decided; alert: record and notify only */
    policy: z.enum(['revert', 'hold', 'alert']).default('revert'),
    windows: z.array(freezeWindow).default([]),
    /** where people ask for an approval (shown inside WordPress during a freeze) */
    // shown as a link in wp-admin and the web UI: http(s) only, never javascript: or data:
    approvalUrl: z.string().url().regex(/^https?:\/\//i, 'an http:// or https:// URL').nullable().default(null),
    /** the IANA zone times are shown in and `freeze start --until` is read in; null: the host's */
    zone: z.string().min(1).nullable().default(null),
  })
  .strict()
  // a window that cannot be computed (bad cron, unknown zone, unreadable date, end before start) is a config error naming it
  .superRefine((f, ctx) => {
    if (f.zone !== null && !isZone(f.zone)) ctx.addIssue({ code: 'custom', path: ['zone'], message: `unknown time zone ${JSON.stringify(f.zone)} (an IANA name such as Europe/Amsterdam)` })
    const seen = new Set<string>()
    f.windows.forEach((w, i) => {
      for (const p of windowProblems(w)) ctx.addIssue({ code: 'custom', path: ['windows', i, p.field], message: p.message })
      if (seen.has(w.name) || w.name === 'manual') ctx.addIssue({ code: 'custom', path: ['windows', i, 'name'], message: `freeze window name ${JSON.stringify(w.name)} is used twice (or is 'manual', the name of a manual freeze)` })
      seen.add(w.name)
    })
  })
  .prefault({})

const webhook = z
  .object({
    url: z.string().url(),
    /** json: peakguard's own document; slack: {"text": …} for Slack/Mattermost/Teams incoming webhooks */
    format: z.enum(['json', 'slack']).default('json'),
    /** which events; empty: all */
    events: z.array(z.enum(NOTIFY_EVENTS)).default([]),
    timeout: duration('5s'),
  })
  .strict()

/** The events that wake someone: an incident opens on these and resolves on their recovery. */
const PAGING_EVENTS = ['health-failure', 'health-recovered', 'auto-rollback', 'auto-rollback-blocked', 'freeze-violation', 'replication-lag', 'replication-lag-cleared'] as const

/** PagerDuty's Events API v2: one incident per site and kind of trouble, resolved on recovery. */
const pagerduty = z
  .object({
    /** the integration's routing key, from this environment variable (better) or inline */
    routingKeyEnv: envName.nullable().default(null),
    routingKey: z.string().min(1).max(200).nullable().default(null),
    /** the Events API's URL (a test or proxy may stand in) */
    url: z.string().url().regex(/^https?:\/\//i, 'an http:// or https:// URL').default('https://events.pagerduty.com/v2/enqueue'),
    events: z.array(z.enum(NOTIFY_EVENTS)).default([...PAGING_EVENTS]),
    severity: z.enum(['critical', 'error', 'warning', 'info']).default('critical'),
    timeout: duration('10s'),
  })
  .strict()
  .refine((p) => (p.routingKey === null) !== (p.routingKeyEnv === null), 'give routingKeyEnv or routingKey (one of them)')

/** E-mail over SMTP: plain text with the UI's link and the change in words. */
const email = z
  .object({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(587),
    /** starttls: plain connection upgraded (required); tls: TLS from the start (port 465); none: loopback relays only */
    security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
    /** SMTP auth from the environment; null: no auth */
    userEnv: envName.nullable().default(null),
    passwordEnv: envName.nullable().default(null),
    /** a PEM file of the CA that signed the server's certificate; null: the system's CAs */
    caFile: z.string().min(1).nullable().default(null),
    from: z.string().email().max(254),
    to: z.array(z.string().email().max(254)).min(1).max(50),
    events: z.array(z.enum(NOTIFY_EVENTS)).default([]),
    timeout: duration('15s'),
  })
  .strict()
  .refine((e) => (e.userEnv === null) === (e.passwordEnv === null), 'give both userEnv and passwordEnv, or neither')

/** Cache purges after a restore. */
const purge = z
  .object({
    /** call the purge function of each page-cache plugin that is active (WP Super Cache, W3 Total Cache, WP Rocket, …) through the bridge */
    plugins: z.boolean().default(true),
    /** HTTP purges: a Varnish/nginx PURGE or BAN URL */
    http: z
      .array(
        z
          .object({
            url: z.string().url().regex(/^https?:\/\//i, 'an http:// or https:// URL'),
            method: z.enum(['PURGE', 'BAN', 'GET', 'POST', 'DELETE']).default('PURGE'),
            headers: z.record(headerName, headerValue).default({}),
          })
          .strict(),
      )
      .max(20)
      .default([]),
    /** Cloudflare's purge-everything for a zone; the API token from the environment */
    cloudflare: z
      .object({
        zoneId: z.string().regex(/^[0-9a-f]{32}$/, "a Cloudflare zone id (32 hex digits)"),
        tokenEnv: envName.default('CLOUDFLARE_API_TOKEN'),
        /** the API's base URL (a test or proxy may stand in) */
        apiUrl: z.string().url().regex(/^https?:\/\//i, 'an http:// or https:// URL').default('https://api.cloudflare.com/client/v4'),
      })
      .strict()
      .nullable()
      .default(null),
    /** how long each purge may take */
    timeout: duration('10s'),
  })
  .strict()
  .prefault({})

/**
 * Settings tables beyond options: a preset (`woocommerce`), a table name without the site prefix, or
 * { table, ignoreColumns } for a table with columns that change by themselves.
 */
const settingsTable = z.union([
  z.string().superRefine((t, ctx) => {
    if (t in TABLE_PRESETS) return
    const bad = badTableName(t)
    if (bad) ctx.addIssue({ code: 'custom', message: `${bad} (or a preset: ${Object.keys(TABLE_PRESETS).join(', ')})` })
  }),
  z
    .object({
      table: z.string().superRefine((t, ctx) => {
        const bad = badTableName(t)
        if (bad) ctx.addIssue({ code: 'custom', message: bad })
      }),
      ignoreColumns: z.array(z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, 'a column name (letters, digits, _ and $)')).max(64).default([]),
    })
    .strict(),
])

const site = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _'),
    wpRoot: z.string().min(1),
    wpContent: z.string().min(1).nullable().default(null),
    dataDir: z.string().min(1).nullable().default(null),
    /** where a symlinked theme/plugin directory may lead and still be followed (besides wp-content itself) */
    followLinksInto: z.array(z.string().min(1)).default(['/usr/share/wordpress', '/var/lib/wordpress']),
    db,
    ignore: z
      .object({
        options: z.array(z.string().min(1)).default([]),
        files: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .default({ options: [], files: [] }),
    /** the daemon's file watching: a snapshot after `quiet` without changes, never later than `maxWait` */
    watch: z
      .object({
        quiet: duration('2s'),
        maxWait: duration('30s'),
        /** a full comparison of live and journal, for what inotify missed */
        reconcile: duration('5m'),
        /** scan interval when inotify cannot be used (watch limit reached) */
        fallbackScan: duration('15s'),
      })
      .strict()
      .prefault({}),
    /**
     * options that describe a data layout (a plugin's `*_db_version`, …), added to peakguard's list
     * (DEFAULT_MIGRATION_MARKERS): a restore across a schema change keeps their live values
     */
    migrationMarkers: z.array(z.string().min(1).max(191).regex(/^[^\u0000-\u001f\u007f]+$/, 'no control characters')).max(100).default([]),
    /** plugin settings tables recorded row by row (e.g. [woocommerce]); checked against the database when first read */
    settingsTables: z.array(settingsTable).max(100).default([]),
    /** the daemon's settings polling: a cheap checksum query, then only changed rows are read */
    poll: z.object({ interval: duration('2s') }).strict().prefault({}),
    health: z
      .object({
        /** how often a state already proven (or proven failing) is probed */
        interval: duration('30s'),
        /** a state the daemon just recorded is probed at once, then this often until it is proven */
        fastInterval: duration('5s'),
        /** passed rounds after which a new state is no longer probed fast */
        fastRounds: z.number().int().min(1).max(100).default(3),
        /** a state that stayed live with every probe passing this long is marked known-good */
        goodAfter: duration('10m'),
        /** empty: one probe of the site's home URL with the probe defaults (DEFAULT_PROBE) */
        probes: z.array(probe).default([]),
      })
      .strict()
      .prefault({}),
    /** opt-in: failing probes after a change restore the last known-good state */
    autoRollback: z
      .object({
        enabled: z.boolean().default(false),
        afterFailures: z.number().int().min(1).max(100).default(3),
        minInterval: duration('30m'),
      })
      .strict()
      .prefault({}),
    hooks: z
      .object({
        /** shell commands run after every restore, e.g. "systemctl reload php8.2-fpm" */
        postRestore: z.array(z.string().min(1)).default([]),
        timeout: duration('60s'),
      })
      .strict()
      .prefault({}),
    /** null: no off-host replica */
    s3: s3.nullable().default(null),
    /** freeze windows: during one, a change needs an approval by a second person */
    freeze,
    /** the WordPress bridge (mu-plugin): its files outside the web root, and the loopback URL of the site */
    bridge: z
      .object({
        /** state.json, events.jsonl and the shared secret; null: <dataDir>/bridge/<site id> */
        dir: z.string().min(1).nullable().default(null),
        /** the site's URL as seen from this host, for the cache flush; null: the site's home option */
        url: z.string().url().nullable().default(null),
        /** how long a restore waits for the cache flush */
        timeout: duration('5s'),
        /**
         * how long WordPress's upgrader waits for the daemon's `pre-update` snapshot before it writes a package (then
         * it goes on without one, and says so in PHP's error log); 0 asks for none
         */
        preUpdateWait: duration('15s').refine((v) => v <= 300_000, 'at most 300s: the update waits for it'),
      })
      .strict()
      .prefault({}),
    /** webhooks for freeze violations, change requests, decisions, restores, health, replication lag */
    notify: z.object({ webhooks: z.array(webhook).default([]), pagerduty: z.array(pagerduty).default([]), email: z.array(email).default([]) }).strict().prefault({}),
    /** after every restore: purge what caches pages, so visitors get the restored site */
    purge,
    /** null: one host runs this site; a block (`fleet: {}` for the defaults): several nodes, sharing the database and the replica */
    fleet: fleet.nullable().default(null),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.fleet && !s.s3)
      ctx.addIssue({ code: 'custom', path: ['fleet'], message: 'a fleet needs the site\'s s3 block: the nodes share their history through the S3 replica' })
  })

const schema = z
  .object({
    /** this host's id in a fleet (the same on every start of it, different on every node); null: the host name */
    node: z.string().regex(NODE_ID, '1–64 letters, digits, ., _ and -, starting with a letter or digit').nullable().default(null),
    dataDir: z.string().min(1).default(DEFAULT_DATA_DIR),
    /** the peakguard users and API tokens (hashed); null: <dataDir>/users.json */
    usersFile: z.string().min(1).nullable().default(null),
    lockWaitSeconds: z.number().min(0).max(3600).default(30),
    /** the daemon's HTTP port: /healthz, /metrics, /api (and the UI); 127.0.0.1 only unless changed */
    ui: z
      .object({
        listen: listen.default('127.0.0.1:8087'),
        // Express's 'trust proxy': the address(es) of a TLS proxy in front (e.g. loopback), so that its
        // X-Forwarded-Proto makes the session cookie Secure; false (default) trusts no proxy header
        trustProxy: z.union([z.boolean(), z.string().min(1)]).default(false),
        // the host names the UI answers to besides its listen address and localhost (a proxy's public name):
        // a request naming any other host is refused, so a DNS-rebinding page cannot drive the UI
        hosts: z.array(z.string().regex(/^[a-z0-9.-]+$/i, 'a host name (letters, digits, dots, hyphens), without a port').max(253)).default([]),
        /** the UI's address as people open it (behind a proxy: its public https:// URL), for links in e-mails and pages; null: http://<listen> */
        publicUrl: z.string().url().regex(/^https?:\/\//i, 'an http:// or https:// URL').nullable().default(null),
      })
      .strict()
      .prefault({}),
    log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info') }).strict().prefault({}),
    sites: z.array(site).min(1, 'at least one site is needed (peakguard init adds one)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>()
    c.sites.forEach((s, i) => {
      if (seen.has(s.id)) ctx.addIssue({ code: 'custom', path: ['sites', i, 'id'], message: `duplicate site id ${s.id}` })
      seen.add(s.id)
    })
  })

export type Config = z.infer<typeof schema>
export type SiteConfig = Config['sites'][number]

/** A site's config with every path absolute and every default filled in. */
export interface ResolvedSite extends SiteConfig {
  wpContent: string
  dataDir: string
  /** the bridge's folder (bridge.dir, or <dataDir>/bridge/<site id>) */
  bridgeDir: string
  /** null: not a fleet; durations in milliseconds */
  fleet: FleetConfig | null
}

export interface LoadedConfig {
  file: string
  config: Readonly<Config>
  sites: readonly ResolvedSite[]
  /** usersFile, or <dataDir>/users.json */
  usersFile: string
  /** this host's id in a fleet: `node:`, or the host name (see nodeIdOf) */
  node: string
}

export function configPath(flag: string | undefined): string {
  return path.resolve(flag ?? process.env.PEAKGUARD_CONFIG ?? DEFAULT_CONFIG_PATH)
}

export function loadConfig(file: string): LoadedConfig {
  let text: string
  try {
    text = fs.readFileSync(file, 'utf8')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new PeakguardError(
      'CONFIG_MISSING',
      code === 'ENOENT'
        ? `no config file at ${file}: create one with 'peakguard init --wp-root DIR --config ${file}', or pass --config / set PEAKGUARD_CONFIG`
        : `cannot read the config file ${file}: ${code}`,
      { cause: e },
    )
  }
  const config = parseConfig(text, file)
  const base = path.dirname(file)
  const sites = config.sites.map((s) => ({
    ...s,
    wpRoot: path.resolve(base, s.wpRoot),
    wpContent: path.resolve(base, s.wpContent ?? path.join(s.wpRoot, 'wp-content')),
    dataDir: path.resolve(base, s.dataDir ?? path.join(config.dataDir, s.id)),
    followLinksInto: s.followLinksInto.map((p) => path.resolve(base, p)),
    s3: s.s3 && { ...s.s3, keyFile: s.s3.keyFile && path.resolve(base, s.s3.keyFile) },
    bridgeDir: path.resolve(base, s.bridge.dir ?? path.join(config.dataDir, 'bridge', s.id)),
    health: { ...s.health, probes: s.health.probes.map((p) => ({ ...p, tls: { ...p.tls, caFile: p.tls.caFile && path.resolve(base, p.tls.caFile) } })) },
    notify: { ...s.notify, email: s.notify.email.map((e) => ({ ...e, caFile: e.caFile && path.resolve(base, e.caFile) })) },
  }))
  const usersFile = path.resolve(base, config.usersFile ?? path.join(config.dataDir, 'users.json'))
  return deepFreeze({ file, config, sites, usersFile, node: nodeIdOf(config, os.hostname(), file) })
}

/**
 * This host's id in a fleet: `node:`, else the whole host name. In a config with a fleet site a host name
 * that is no node id is an error asking for `node:`; elsewhere the id is only a label, so such a name is
 * made into one (its other characters replaced by '-').
 */
export function nodeIdOf(c: { node: string | null; sites: readonly { id: string; fleet: object | null }[] }, host: string = os.hostname(), file = 'the config'): string {
  if (c.node !== null) return c.node
  if (NODE_ID.test(host)) return host
  const fleetSite = c.sites.find((s) => s.fleet)
  if (fleetSite)
    throw new PeakguardError(
      'CONFIG_INVALID',
      `${file}: node: this host's name ${JSON.stringify(host.slice(0, 100))} is not a node id (1–64 letters, digits, ., _ and -, starting with a letter or digit), and site ${fleetSite.id} is a fleet: set node: to this host's id in the fleet`,
    )
  return host.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || 'node'
}

/** `host`: the host name a config without `node:` takes as this node's id (a test's stand-in for os.hostname()). */
export function parseConfig(text: string, file: string, host: string = os.hostname()): Config {
  const lc = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length) {
    const e = doc.errors[0]!
    const line = e.linePos?.[0]?.line
    throw new PeakguardError('CONFIG_INVALID', `${file}${line ? `:${line}` : ''}: not valid YAML: ${e.message.split('\n')[0]}`)
  }
  const result = schema.safeParse(doc.toJS() ?? {})
  if (result.success) {
    const fleetAt = result.data.sites.findIndex((s) => s.fleet)
    const line = fleetAt < 0 ? null : lineOf(doc, lc, ['sites', String(fleetAt), 'fleet'])
    nodeIdOf(result.data, host, `${file}${line ? `:${line}` : ''}`) // a fleet on a host whose name is no node id: refused here, with the line of the fleet
    return result.data
  }
  const messages = result.error.issues.slice(0, 5).map((issue) => {
    let keyPath = issue.path.map(String)
    let msg = issue.message
    if (issue.code === 'unrecognized_keys') {
      keyPath = [...keyPath, issue.keys[0] as string]
      msg = `unknown key${issue.keys.length > 1 ? `s ${issue.keys.join(', ')}` : ''}`
    }
    const line = lineOf(doc, lc, keyPath)
    return `${file}${line ? `:${line}` : ''}: ${keyPath.join('.') || '(top level)'}: ${msg}`
  })
  throw new PeakguardError('CONFIG_INVALID', messages.join('; '))
}

/** The line of the deepest node on `keyPath` that exists in the document. */
function lineOf(doc: Document, lc: LineCounter, keyPath: string[]): number | null {
  let node: unknown = doc.contents
  let pos: number | undefined = (node as { range?: number[] } | null)?.range?.[0]
  for (const k of keyPath) {
    if (isMap(node)) {
      const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === k)
      if (!pair) break
      pos = (pair.key as { range?: number[] }).range?.[0] ?? pos
      node = pair.value
    } else if (isSeq(node)) {
      node = node.items[Number(k)]
      pos = (node as { range?: number[] } | undefined)?.range?.[0] ?? pos
    } else break
  }
  return pos === undefined ? null : lc.linePos(pos).line
}

/** The config as it may be shown: every secret replaced. */
/** A config (redacted first) as YAML, for `peakguard config`. */
export function toYaml(c: Config): string {
  return stringify(c)
}

export function redact(c: Config): Config {
  return {
    ...c,
    sites: c.sites.map((s) => ({
      ...s,
      db: { ...s.db, password: s.db.password ? '********' : '' },
      // a webhook URL is its own credential (Slack's carries the token in its path): only the host is shown
      notify: {
        ...s.notify,
        webhooks: s.notify.webhooks.map((w) => ({ ...w, url: redactUrl(w.url) })),
        pagerduty: s.notify.pagerduty.map((p) => ({ ...p, routingKey: p.routingKey && '********', url: withoutUserinfo(p.url) })),
      },
      // a probe or purge URL may carry user:password, and a header a token (Authorization, Cookie, X-Purge-Key)
      health: {
        ...s.health,
        probes: s.health.probes.map((p) => ({
          ...p,
          url: p.url && withoutUserinfo(p.url),
          headers: maskHeaders(p.headers),
          basicAuth: p.basicAuth && { ...p.basicAuth, password: p.basicAuth.password && '********' },
        })),
      },
      purge: { ...s.purge, http: s.purge.http.map((h) => ({ ...h, url: withoutUserinfo(h.url), headers: maskHeaders(h.headers) })) },
    })),
  }
}

/** A URL without its user:password part (shown as ********). */
function withoutUserinfo(url: string): string {
  const u = new URL(url)
  if (!u.username && !u.password) return url
  u.username = '********'
  u.password = ''
  return u.href
}

/** Header values shown only for headers that cannot hold a secret (Host, Accept, User-Agent …). */
function maskHeaders(h: Readonly<Record<string, string>>): Record<string, string> {
  const plain = new Set(['host', 'accept', 'accept-language', 'user-agent', 'x-forwarded-proto', 'cache-control'])
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, plain.has(k.toLowerCase()) ? v : '********']))
}

function redactUrl(url: string): string {
  const u = new URL(url)
  return `${u.protocol}//${u.host}/********`
}

/**
 * The config file's text with a site added (the file's own text kept, comments and all; a new file when
 * there is none), checked as loadConfig would check it: init knows it is readable before anything is made.
 */
export function configWithSite(file: string, siteConfig: Record<string, unknown>, dataDir: string | undefined, uiListen?: string): { text: string; config: Config } {
  let doc: Document
  if (fs.existsSync(file)) {
    doc = parseDocument(fs.readFileSync(file, 'utf8'))
    const sites = (doc.toJS()?.sites ?? []) as { id: string }[]
    if (sites.some((s) => s.id === siteConfig.id))
      throw new PeakguardError('USAGE', `${file} already has a site ${String(siteConfig.id)}: choose another --site-id`)
    if (!doc.has('sites')) doc.set('sites', doc.createNode([]))
    ;(doc.get('sites') as { add(v: unknown): void }).add(doc.createNode(siteConfig))
  } else {
    doc = new (parseDocument('').constructor as new () => Document)()
    doc.contents = doc.createNode({ ...(dataDir ? { dataDir } : {}), sites: [siteConfig] }) as never
  }
  // where the daemon serves the web UI: one address for the whole config
  if (uiListen !== undefined) doc.setIn(['ui', 'listen'], uiListen)
  const text = doc.toString()
  return { text, config: parseConfig(text, file) } // never write a config we would refuse to read
}

/** Writes a config file's text (from configWithSite), mode 0600 since it holds the DB password. */
export function writeConfigFile(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  // flushed before and after the rename: after a power cut the file is the old config or the new one
  writeFileDurably(file, text, { mode: 0o600 })
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v)
    Object.freeze(o)
  }
  return o
}

/** A site's settings tables with presets expanded, each once (a later entry's ignoreColumns win). */
export function settingsTablesOf(s: Pick<SiteConfig, 'settingsTables'>): TableSpec[] {
  const out = new Map<string, TableSpec>()
  for (const item of s.settingsTables) {
    if (typeof item === 'string') {
      for (const t of TABLE_PRESETS[item] ?? [{ table: item, ignoreColumns: [] }]) out.set(t.table, { table: t.table, ignoreColumns: [...t.ignoreColumns] })
    } else out.set(item.table, { table: item.table, ignoreColumns: [...item.ignoreColumns] })
  }
  return [...out.values()]
}
