// A real WordPress for the tests: Debian's `wordpress` package (6.1) copied with its links resolved into
// a temporary directory, our own wp-config.php (distinct salts, its own database), installed with
// wp_install(), served by `php -S` with four workers (one deadlocks on WP-Cron's loopback request) in a
// process group of its own, which stop() ends whole. PHP runs as www-data, who owns wp-content, as on a
// Debian host: what the bridge needs to be readable by the web server is tested for real. The demo
// (scripts/demo-stack.ts) builds the same site on a fixed port in a folder of its own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { inheritedClock } from './clock.ts'
import { freePort, mariadb, rootConnection, type Server } from './mariadb.ts'
import { runCli, WWW, type CliResult } from './site.ts'

export const WP_PACKAGES = 'apt-get install -y wordpress wordpress-theme-twentytwentythree wordpress-theme-twentytwentyone php-cli php-mysql'
const WP_SOURCE = '/usr/share/wordpress'

export const ADMIN_USER = 'admin'
export const ADMIN_PASS = 'admin-pass-Campaign-2026'

/** The sample plugins the harness puts into wp-content/plugins, and what they print into every page. */
export const DEMO_BANNER = { file: 'peakguard-demo-banner/peakguard-demo-banner.php', marker: 'PEAKGUARD-DEMO-BANNER-7f3a' }
export const DEMO_HELLO = { file: 'peakguard-demo-hello.php', marker: 'PEAKGUARD-DEMO-HELLO-91c2' }

export interface WpOptions {
  /** the site id in the peakguard config (default shop) */
  id?: string
  prefix?: string
  /** address php -S listens on (default 127.0.0.1); '0.0.0.0' to be reachable on the host's other addresses */
  bind?: string
  /** run PHP as this uid/gid (default www-data, 33); 0 for root */
  uid?: number
  gid?: number
  /** extra YAML for the site entry of the peakguard config (indented 4 spaces, like `    freeze:\n …`) */
  siteConfig?: string
  server?: Server
  /** a fixed port for php -S (the demo's 8080); default a free one. A port in use is an error naming it. */
  port?: number
  /** build the site in this folder, which must be empty or absent (the demo's snapshots/demo); default a new temporary one */
  base?: string
  /** the site title, the blogname option (default Peakguard Test Shop) */
  title?: string
}

export interface HttpResult {
  status: number
  /** the URL of the last response (after redirects) */
  url: string
  body: string
  headers: Headers
}

/** A logged-in (or not) browser: a cookie jar and fetch with redirects followed by hand (cookies set on the way are kept). */
export class WpClient {
  readonly cookies = new Map<string, string>()
  private readonly base: string

  constructor(base: string) {
    this.base = base
  }

  private absolute(p: string): string {
    return new URL(p, this.base.endsWith('/') ? this.base : `${this.base}/`).toString()
  }

  private take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';')
      const i = (pair as string).indexOf('=')
      const name = (pair as string).slice(0, i).trim()
      const value = (pair as string).slice(i + 1).trim()
      // WordPress clears a cookie by setting it to a space, expired
      if (value === '' || value === '+' || /expires=Thu, 01[- ]Jan[- ]1970/i.test(c) || /max-age=0/i.test(c)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  async request(method: string, p: string, opts: { form?: Record<string, string>; headers?: Record<string, string>; follow?: boolean } = {}): Promise<HttpResult> {
    let url = this.absolute(p)
    let body: string | undefined = opts.form ? new URLSearchParams(opts.form).toString() : undefined
    for (let hop = 0; hop < 10; hop++) {
      const headers: Record<string, string> = { ...(opts.headers ?? {}), cookie: this.cookieHeader() }
      if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded'
      const res = await fetch(url, { method, headers, body, redirect: 'manual', signal: AbortSignal.timeout(60_000) })
      this.take(res)
      const loc = res.headers.get('location')
      if (opts.follow !== false && res.status >= 300 && res.status < 400 && loc) {
        await res.arrayBuffer()
        url = new URL(loc, url).toString()
        method = 'GET'
        body = undefined
        continue
      }
      return { status: res.status, url, body: await res.text(), headers: res.headers }
    }
    throw new Error(`more than 10 redirects from ${p}`)
  }

  get(p: string, opts: { headers?: Record<string, string>; follow?: boolean } = {}): Promise<HttpResult> {
    return this.request('GET', p, opts)
  }

  post(p: string, form: Record<string, string>, opts: { headers?: Record<string, string>; follow?: boolean } = {}): Promise<HttpResult> {
    return this.request('POST', p, { ...opts, form })
  }

  loggedIn(): boolean {
    return [...this.cookies.keys()].some((k) => k.startsWith('wordpress_logged_in_'))
  }
}

/** An attribute of an HTML tag, in either quote style. */
function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}=(?:"([^"]*)"|'([^']*)')`).exec(tag)
  return m ? (m[1] ?? m[2]) : undefined
}

/** The fields a browser would post from the form whose action is `action` (e.g. 'options.php') on a wp-admin page. */
export function formFields(html: string, action: string): Record<string, string> {
  const forms = html.match(/<form\b[\s\S]*?<\/form>/g) ?? []
  const form = forms.find((f) => (attr(/<form\b[^>]*>/.exec(f)?.[0] ?? '', 'action') ?? '').endsWith(action))
  if (!form) throw new Error(`no form posting to ${action} on the page`)
  const out: Record<string, string> = {}
  for (const m of form.matchAll(/<input\b[^>]*>/g)) {
    const tag = m[0]
    const name = attr(tag, 'name')
    if (!name) continue
    const type = attr(tag, 'type') ?? 'text'
    if ((type === 'checkbox' || type === 'radio') && !/\schecked/.test(tag)) continue
    if (type === 'submit' || type === 'button') continue
    out[name] = decodeEntities(attr(tag, 'value') ?? '')
  }
  for (const m of form.matchAll(/<select\b([^>]*)>([\s\S]*?)<\/select>/g)) {
    const name = attr(`<select ${m[1]}>`, 'name')
    if (!name) continue
    const options = [...(m[2] as string).matchAll(/<option\b[^>]*>/g)].map((o) => o[0])
    const chosen = options.find((o) => /\sselected/.test(o)) ?? options[0]
    if (chosen) out[name] = decodeEntities(attr(chosen, 'value') ?? '')
  }
  return out
}

export function decodeEntities(s: string): string {
  return s.replace(/&amp;/g, '&').replace(/&#038;/g, '&').replace(/&quot;/g, '"').replace(/&#039;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>')
}

export interface TestWordPress {
  base: string
  wpRoot: string
  wpContent: string
  /** http://127.0.0.1:PORT (the home and siteurl options) */
  url: string
  port: number
  dbName: string
  prefix: string
  server: Server
  db: mysql.Connection
  /** the peakguard config for this site (data dir <base>/data, bridge dir <base>/bridge/<id>) */
  configFile: string
  dataDir: string
  bridgeDir: string
  siteId: string
  uid: number
  gid: number
  /** Runs PHP with WordPress loaded (wp-load.php), as the web server user, from the command line; its stdout. Throws on a non-zero exit. */
  php(code: string, opts?: { env?: Record<string, string>; load?: boolean }): Promise<string>
  /** A client logged in through wp-login.php (throws when the login did not work). */
  login(user?: string, pass?: string): Promise<WpClient>
  /** A client with no cookies. */
  client(base?: string): WpClient
  createUser(login: string, pass: string, role: string): Promise<number>
  /** The nonce'd "Activate" link of a plugin on wp-admin/plugins.php, as that page shows it to the client's user. */
  activateLink(jar: WpClient, pluginFile: string): Promise<string>
  /** Clicks "Activate" on plugins.php (or follows `link`, fetched earlier); the final response. */
  activatePluginViaAdmin(jar: WpClient, pluginFile: string, link?: string): Promise<HttpResult>
  /** The active_plugins option as WordPress reads it. */
  activePlugins(): Promise<string[]>
  /** The nonce for `action` that WordPress would print into a page for the client's user and login session (wp_create_nonce). */
  nonce(jar: WpClient, action: string): Promise<string>
  /** Runs `peakguard ARGS --config <configFile>`. */
  cli(args: string[], env?: Record<string, string>): Promise<CliResult>
  /** Starts php -S again after stopServer() (same port). */
  startServer(): Promise<void>
  stopServer(): Promise<void>
  /** Stops the server, drops the database, removes the directory. */
  stop(): Promise<void>
}

/** Throws, naming the apt-get command, when a part of the recipe is missing on this machine. */
export function requireWordPress(): void {
  const missing: string[] = []
  if (!fs.existsSync(path.join(WP_SOURCE, 'wp-settings.php'))) missing.push(`${WP_SOURCE} (package wordpress)`)
  for (const t of ['twentytwentythree', 'twentytwentyone'])
    if (!fs.existsSync(path.join(WP_SOURCE, 'wp-content/themes', t, 'style.css'))) missing.push(`theme ${t} (package wordpress-theme-${t})`)
  const php = spawnSync('php', ['-r', 'echo extension_loaded("mysqli") ? "ok" : "no-mysqli";'], { encoding: 'utf8' })
  if (php.error) missing.push('php (package php-cli)')
  else if (php.stdout !== 'ok') missing.push('the mysqli extension (package php-mysql)')
  if (missing.length) throw new Error(`a real WordPress is needed here (tests, demo) but ${missing.join(', ')} is missing: install it with '${WP_PACKAGES}'`)
}

/** A PHP single-quoted string literal. */
function phpString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

function salt(): string {
  return randomBytes(48).toString('base64').replace(/[^A-Za-z0-9]/g, 'x')
}

const BANNER_PHP = `<?php
/**
 * Plugin Name: Peakguard Demo Banner
 * Description: Prints a marker in the footer of every page (peakguard's tests look for it).
 * Version: 1.0.0
 */
add_action( 'wp_footer', function () {
\techo '<div id="peakguard-demo-banner">${DEMO_BANNER.marker}</div>';
} );
`

const HELLO_PHP = `<?php
/**
 * Plugin Name: Peakguard Demo Hello
 * Description: A single-file plugin that prints a marker in the footer.
 * Version: 1.0.0
 */
add_action( 'wp_footer', function () {
\techo '<p class="peakguard-demo-hello">${DEMO_HELLO.marker}</p>';
} );
`

/** Throws, naming the port, when something listens on host:port already (php -S would fail less clearly, or a stale server would answer for it). */
export async function requirePortFree(port: number, host = '127.0.0.1'): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const s = net.createServer()
    s.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use: is another demo running? stop it with Ctrl-C` : `cannot listen on ${host}:${port}: ${e.message}`)),
    )
    s.listen(port, host, () => s.close(() => resolve()))
  })
}

/** A site's own folder: the given one (made if absent, refused unless empty: the harness never builds over files) or a new temporary one. */
function siteBase(given: string | undefined, id: string): string {
  if (!given) return fs.mkdtempSync(path.join(os.tmpdir(), `pg-wp-${id}-`))
  fs.mkdirSync(given, { recursive: true })
  if (fs.readdirSync(given).length) throw new Error(`${given} is not empty: the WordPress harness builds a site only in an empty folder`)
  return given
}

/** Throws, naming the folder, when `uid` cannot pass through one of the folders above `dir` (a home directory of mode 0700, say): PHP runs as that user. */
function requireReachable(dir: string, uid: number, gid: number): void {
  const chain: string[] = []
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    chain.unshift(d)
    if (d === path.dirname(d)) break
  }
  for (const d of chain) {
    if (spawnSync('test', ['-x', d], { uid, gid, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...inheritedClock() } }).status !== 0)
      throw new Error(`PHP runs as uid ${uid}, who cannot pass through ${d}: allow it with 'chmod o+x ${d}', or build the site in a folder elsewhere`)
  }
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout || r.error}`)
}

export async function createWordPress(opts: WpOptions = {}): Promise<TestWordPress> {
  requireWordPress()
  // before anything is made: a taken port is the likeliest failure (a demo still running)
  const bind = opts.bind ?? '127.0.0.1'
  if (opts.port !== undefined) await requirePortFree(opts.port, bind)
  const server = opts.server ?? (await mariadb())
  const prefix = opts.prefix ?? 'wp_'
  const siteId = opts.id ?? 'shop'
  const uid = opts.uid ?? WWW
  const gid = opts.gid ?? (opts.uid === 0 ? 0 : WWW)
  const id = randomBytes(4).toString('hex')
  const dbName = `pg_wp_${id}`
  const base = siteBase(opts.base, id)
  // the web server user must be able to reach the site (and the bridge dir below it)
  fs.chmodSync(base, 0o755)
  requireReachable(base, uid, gid)
  const wpRoot = path.join(base, 'www')
  const wpContent = path.join(wpRoot, 'wp-content')
  const dataDir = path.join(base, 'data')
  const bridgeDir = path.join(base, 'bridge', siteId)
  const scripts = path.join(base, 'php')
  fs.mkdirSync(scripts, { mode: 0o755 })
  fs.chmodSync(scripts, 0o755)
  run('cp', ['-rL', WP_SOURCE, wpRoot])
  for (const f of ['wp-config.php', '.htaccess']) fs.rmSync(path.join(wpRoot, f), { force: true })
  fs.mkdirSync(path.join(wpContent, 'plugins/peakguard-demo-banner'), { recursive: true })
  fs.writeFileSync(path.join(wpContent, 'plugins', DEMO_BANNER.file), BANNER_PHP)
  fs.writeFileSync(path.join(wpContent, 'plugins', DEMO_HELLO.file), HELLO_PHP)
  fs.mkdirSync(path.join(wpContent, 'uploads'), { recursive: true })
  // as on a Debian host: WordPress's own files root's, wp-content the web server's
  run('chown', ['-R', `${uid}:${gid}`, wpContent])

  const root = await rootConnection(undefined, server)
  await root.query(`CREATE DATABASE \`${dbName}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci`)
  await root.end()
  const db = await rootConnection(dbName, server)

  const port = opts.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const saltNames = ['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT']
  fs.writeFileSync(
    path.join(wpRoot, 'wp-config.php'),
    `<?php\n// written by peakguard's test harness\ndefine( 'DB_NAME', '${dbName}' );\ndefine( 'DB_USER', '${server.user}' );\ndefine( 'DB_PASSWORD', '${server.password}' );\n` +
      `define( 'DB_HOST', '${server.host}:${server.port}' );\ndefine( 'DB_CHARSET', 'utf8mb4' );\ndefine( 'DB_COLLATE', '' );\n` +
      saltNames.map((n) => `define( '${n}', '${salt()}' );\n`).join('') +
      `$table_prefix = '${prefix}';\n` +
      // no calls to wordpress.org from tests (update checks would wait for timeouts offline)
      "define( 'WP_HTTP_BLOCK_EXTERNAL', true );\ndefine( 'AUTOMATIC_UPDATER_DISABLED', true );\ndefine( 'WP_AUTO_UPDATE_CORE', false );\n" +
      "define( 'WP_DEBUG', false );\ndefine( 'FS_METHOD', 'direct' );\n" +
      "if ( ! defined( 'ABSPATH' ) ) {\n\tdefine( 'ABSPATH', __DIR__ . '/' );\n}\nrequire_once ABSPATH . 'wp-settings.php';\n",
  )

  let n = 0
  const php = (code: string, o: { env?: Record<string, string>; load?: boolean } = {}): Promise<string> => {
    const file = path.join(scripts, `script-${process.pid}-${++n}.php`)
    // what a web request would set; no REMOTE_ADDR (a command line has none)
    const prelude = `<?php\n$_SERVER['HTTP_HOST'] = '127.0.0.1:${port}';\n$_SERVER['SERVER_NAME'] = '127.0.0.1';\n$_SERVER['SERVER_PORT'] = '${port}';\n$_SERVER['REQUEST_URI'] = '/';\n$_SERVER['REQUEST_METHOD'] = 'GET';\n`
    const body = code.replace(/^\s*<\?php\s*/, '')
    fs.writeFileSync(file, `${prelude}${o.load === false ? '' : `require '${wpRoot}/wp-load.php';\n`}${body}\n`, { mode: 0o644 })
    return new Promise((resolve, reject) => {
      const p = spawn('php', ['-d', 'display_errors=stderr', file], { uid, gid, cwd: wpRoot, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: base, ...inheritedClock(), ...(o.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      p.stdout.on('data', (d: Buffer) => (out += d.toString()))
      p.stderr.on('data', (d: Buffer) => (err += d.toString()))
      p.on('close', (code) => {
        fs.rmSync(file, { force: true })
        if (code === 0) resolve(out)
        else reject(new Error(`php exited ${code}: ${err || out}`))
      })
    })
  }

  // wp_install() from a script, as the installer page would run it
  await php(`
define( 'WP_INSTALLING', true );
require '${wpRoot}/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
$r = wp_install( ${phpString(opts.title ?? 'Peakguard Test Shop')}, '${ADMIN_USER}', 'admin@shop.example', true, '', '${ADMIN_PASS}' );
update_option( 'siteurl', '${url}' );
update_option( 'home', '${url}' );
echo $r['user_id'];
`, { load: false })

  let proc: ChildProcess | null = null
  let serverLog = ''
  const startServer = async (): Promise<void> => {
    const p = spawn('php', ['-S', `${bind}:${port}`, '-t', wpRoot], {
      cwd: wpRoot,
      uid,
      gid,
      detached: true, // its own process group: the workers outlive the master, stop() ends the group
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: base, PHP_CLI_SERVER_WORKERS: '4', ...inheritedClock() },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    proc = p
    p.stderr?.on('data', (d: Buffer) => (serverLog = (serverLog + d.toString()).slice(-4000)))
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${url}/wp-includes/images/blank.gif`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.arrayBuffer().then(() => true),
        () => false,
      )
      if (ok) return
      if (p.exitCode !== null) break
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`php -S did not start on ${bind}:${port}: ${serverLog}`)
  }
  const stopServer = async (): Promise<void> => {
    const p = proc
    proc = null
    if (!p?.pid) return
    const exited = p.exitCode !== null ? Promise.resolve() : new Promise((r) => p.once('exit', r))
    try {
      process.kill(-p.pid, 'SIGTERM')
    } catch {
      /* already gone */
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))])
    try {
      process.kill(-p.pid, 'SIGKILL') // workers that did not leave with the master
    } catch {
      /* the whole group is gone */
    }
  }
  await startServer()

  const configFile = path.join(base, 'peakguard.yaml')
  fs.writeFileSync(
    configFile,
    `dataDir: ${dataDir}\nlockWaitSeconds: 2\nsites:\n  - id: ${siteId}\n    wpRoot: ${wpRoot}\n    db:\n      host: ${server.host}\n      port: ${server.port}\n` +
      `      user: ${server.user}\n      password: "${server.password}"\n      name: ${dbName}\n      tablePrefix: ${prefix}\n` +
      `    bridge:\n      dir: ${bridgeDir}\n      url: ${url}\n` +
      (opts.siteConfig ?? ''),
  )

  const client = (b = url) => new WpClient(b)
  const login = async (user = ADMIN_USER, pass = ADMIN_PASS): Promise<WpClient> => {
    const c = client()
    await c.get('/wp-login.php') // sets wordpress_test_cookie, which the login form requires
    const r = await c.post('/wp-login.php', { log: user, pwd: pass, 'wp-submit': 'Log In', redirect_to: `${url}/wp-admin/`, testcookie: '1' })
    if (!c.loggedIn()) throw new Error(`login as ${user} failed: HTTP ${r.status} at ${r.url}: ${r.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400)}`)
    return c
  }
  const activateLink = async (jar: WpClient, pluginFile: string): Promise<string> => {
    const page = await jar.get('/wp-admin/plugins.php')
    const enc = encodeURIComponent(pluginFile).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    const m = new RegExp(`href="(plugins\\.php\\?action=activate&(?:amp;|#038;)plugin=${enc.replace(/[.%]/g, '\\$&')}&[^"]*)"`).exec(page.body)
    if (!m) throw new Error(`no Activate link for ${pluginFile} on plugins.php (HTTP ${page.status})`)
    return `/wp-admin/${decodeEntities(m[1] as string)}`
  }

  return {
    base,
    wpRoot,
    wpContent,
    url,
    port,
    dbName,
    prefix,
    server,
    db,
    configFile,
    dataDir,
    bridgeDir,
    siteId,
    uid,
    gid,
    php,
    login,
    client,
    createUser: async (login, pass, role) => {
      const out = await php(`$id = wp_insert_user( array( 'user_login' => ${JSON.stringify(login)}, 'user_pass' => ${JSON.stringify(pass)}, 'user_email' => ${JSON.stringify(`${login}@shop.example`)}, 'role' => ${JSON.stringify(role)} ) );
if ( is_wp_error( $id ) ) { fwrite( STDERR, $id->get_error_message() ); exit( 1 ); }
echo $id;`)
      return Number(out.trim())
    },
    activateLink,
    activatePluginViaAdmin: async (jar, pluginFile, link) => jar.get(link ?? (await activateLink(jar, pluginFile))),
    activePlugins: async () => JSON.parse(await php(`echo json_encode( array_values( (array) get_option( 'active_plugins', array() ) ) );`)) as string[],
    nonce: async (jar, action) => {
      const cookie = [...jar.cookies].find(([k]) => k.startsWith('wordpress_logged_in_'))
      if (!cookie) throw new Error('the client is not logged in: a nonce belongs to a login session')
      // the session token is in the logged-in cookie (PHP hands it to WordPress URL-decoded)
      const out = await php(`$c = ${phpString(decodeURIComponent(cookie[1]))};
$_COOKIE[ LOGGED_IN_COOKIE ] = $c;
$user = wp_validate_auth_cookie( $c, 'logged_in' );
if ( ! $user ) { fwrite( STDERR, 'the logged-in cookie is not valid' ); exit( 1 ); }
wp_set_current_user( $user );
echo wp_create_nonce( ${phpString(action)} );`)
      return out.trim()
    },
    cli: (args, env) => runCli(['--config', configFile, ...args], env),
    startServer,
    stopServer,
    stop: async () => {
      await stopServer()
      await db.query(`DROP DATABASE \`${dbName}\``).catch(() => undefined)
      await db.end().catch(() => undefined)
      fs.rmSync(base, { recursive: true, force: true })
    },
  }
}
