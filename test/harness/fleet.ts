// A fleet of web nodes of one site on this one machine, for issue 19's tests: ONE real WordPress (one
// database, installed once by createWordPress) whose root is node a's; every other node is a copy of that
// root (cp -a: wp-content stays the web server's) served by a `php -S` of its own, so each node has its own
// wp-content and the database is shared, as on hosts behind a load balancer. Every node's wp-config.php
// names its own port in WP_HOME/WP_SITEURL (so wp-admin works on each node) and is otherwise the same file:
// the same salts and one cookie name, so a login made on one node is valid on every node. One s3rver holds
// the shared replica. Each node has its own data dir, bridge dir and peakguard config (`node: <id>`, the
// same site id, the shared db and s3 blocks, a fleet block with fast timings); start(id) runs its daemon.
// With { sharedContent: true } the nodes share the first node's wp-content instead (fleet.sharedFiles).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { inheritedClock } from './clock.ts'
import { fastDaemonConfig, startDaemon, type DaemonOptions, type RunningDaemon } from './daemon.ts'
import { freePort, type Server } from './mariadb.ts'
import { S3Server } from './s3.ts'
import { runCli, treeOf, type CliResult } from './site.ts'
import { ADMIN_PASS, ADMIN_USER, createWordPress, requireWordPress, WpClient, type TestWordPress } from './wordpress.ts'

/** s3rver's fixed credentials, passed to every node's daemon and CLI the way an operator would: the SDK's environment chain. */
export const S3_CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
/** The site id every node's config names. */
export const FLEET_SITE = 'shop'
/** The replica's prefix in the bucket: objects go under fleet/shop/. */
export const FLEET_S3_PREFIX = 'fleet'

/** What a node's config may be built from (siteExtra as a function). */
export interface FleetNodeInfo {
  id: string
  url: string
  port: number
}

export interface FleetOptions {
  /** node ids (default a, b, c); the first one's root is the installed WordPress */
  nodes?: string[]
  /** extra YAML inside every node's fleet block, e.g. 'sharedFiles: true' (indentation is the harness's; a key given here replaces the default's) */
  fleet?: string
  /**
   * extra YAML for the site entry of every node's config (freeze, autoRollback, …; indentation is the
   * harness's), or a function of the node for what differs per node. With no `health:` in it, each node
   * probes its own home page (the home option names node a only).
   */
  siteExtra?: string | ((node: FleetNodeInfo) => string)
  /** a shared S3 replica (default true); false: no s3rver and no s3 block (a fleet block then is refused by the config) */
  s3?: boolean
  /**
   * one wp-content for every node, as one shared over NFS/EFS: every node's config names the first node's
   * (`wpContent:`), and its fleet block has `sharedFiles: true`; the other nodes' roots link to it, so their
   * WordPress runs the same plugins and themes
   */
  sharedContent?: boolean
}

export interface FleetNodeHandle {
  id: string
  /** the node's own folder (the first node's is the WordPress harness's) */
  base: string
  wpRoot: string
  /** its own, or the first node's with { sharedContent: true } */
  wpContent: string
  /** http://127.0.0.1:PORT, its WP_HOME and WP_SITEURL */
  url: string
  port: number
  dataDir: string
  bridgeDir: string
  configFile: string
  /** the node's running daemon (start/stop), or null */
  daemon: RunningDaemon | null
  /** php -S for this node again after stopServer() (same port): the node's web server back */
  startServer(): Promise<void>
  /** stops this node's php -S (its process group): the node's web server down */
  stopServer(): Promise<void>
}

export interface FleetDb {
  server: Server
  name: string
  prefix: string
  /** a root connection to the site's database */
  conn: mysql.Connection
}

export interface TestFleet {
  nodes: FleetNodeHandle[]
  /** the WordPress harness of the first node (its php(), activePlugins(), nonce(), createUser() work on the shared database) */
  wp: TestWordPress
  /** the shared s3rver, or null with { s3: false } */
  s3: S3Server | null
  db: FleetDb
  siteId: string
  byId(id: string): FleetNodeHandle
  /** starts `peakguard daemon` with the node's config (S3 credentials in its environment); throws when that node's daemon runs already */
  start(id: string, opts?: { env?: NodeJS.ProcessEnv; daemon?: DaemonOptions }): Promise<RunningDaemon>
  /** stops the node's daemon with SIGTERM (or 'SIGKILL' for kill -9); its exit code */
  stop(id: string, signal?: NodeJS.Signals): Promise<number | null>
  /** `peakguard --config <node's config> ARGS`, with the S3 credentials in the environment */
  cli(id: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult>
  url(id: string): string
  /** a client logged in through that node's wp-login.php (admin unless told) */
  client(id: string, user?: string, pass?: string): Promise<WpClient>
  /** treeOf the node's wp-content */
  tree(id: string): Map<string, string>
  /** `peakguard wp install-bridge` on every node (each has its own bridge dir and wp-content); throws naming the node that failed */
  installBridges(): Promise<void>
  /** stops daemons and web servers, the s3rver, drops the database, removes every folder; safe to call twice */
  cleanup(): Promise<void>
}

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** YAML lines re-indented to `indent` spaces (their common indentation removed first), each ending in a newline. */
function indented(yaml: string, indent: number): string {
  const lines = yaml.replace(/\s+$/, '').split('\n').filter((l) => l.trim() !== '')
  const common = Math.min(...lines.map((l) => /^ */.exec(l)![0].length))
  return lines.map((l) => `${' '.repeat(indent)}${l.slice(common)}\n`).join('')
}

/** The fleet block: the fast defaults (and sharedFiles when the wp-content is shared), then the caller's keys (a key of theirs replaces a default). */
function fleetBlock(extra: string, sharedFiles: boolean): string {
  const theirs = extra.trim() ? indented(extra, 6) : ''
  const given = new Set([...theirs.matchAll(/^ {6}([A-Za-z0-9_]+):/gm)].map((m) => m[1]))
  const defaults = Object.entries({ heartbeat: '250ms', nodeTimeout: '2s', readyWait: '20s', ...(sharedFiles ? { sharedFiles: 'true' } : {}) }).filter(([k]) => !given.has(k))
  return `    fleet:\n${defaults.map(([k, v]) => `      ${k}: ${v}\n`).join('')}${theirs}`
}

/** The node's wp-config.php: the first node's file with this node's address (and the fleet's one cookie name) set before WordPress loads. */
function nodeWpConfig(original: string, url: string, cookieUrl: string, contentDir: string | null = null): string {
  const marker = "if ( ! defined( 'ABSPATH' ) ) {"
  if (!original.includes(marker)) throw new Error(`the harness's wp-config.php has changed: no "${marker}" line to put the node's address before`)
  const defines =
    "// this node's own address (peakguard's fleet harness): the home and siteurl options in the shared database name the first node\n" +
    `define( 'WP_HOME', '${url}' );\ndefine( 'WP_SITEURL', '${url}' );\n` +
    // the shared wp-content by its real path: the paths of the plugins' files are the ones WordPress expects
    (contentDir ? `define( 'WP_CONTENT_DIR', '${contentDir}' );\n` : '') +
    '// one cookie name on every node, as behind one load balancer: a login cookie from one node is valid on the others\n' +
    `define( 'COOKIEHASH', '${cookieHash(cookieUrl)}' );\n`
  return original.replace(marker, `${defines}${marker}`)
}

/** What WordPress names its cookies after without a COOKIEHASH: md5 of the siteurl option. */
function cookieHash(siteurl: string): string {
  return createHash('md5').update(siteurl).digest('hex')
}

/** `php -S` for a copied WordPress root, as wordpress.ts serves the first: four workers, the web server's uid, a process group of its own. */
function phpServer(root: string, port: number, home: string, uid: number, gid: number): { start(): Promise<void>; stop(): Promise<void> } {
  const url = `http://127.0.0.1:${port}`
  let proc: ChildProcess | null = null
  let log = ''
  const stop = async (): Promise<void> => {
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
  const start = async (): Promise<void> => {
    if (proc) throw new Error(`php -S on ${url} runs already`)
    const p = spawn('php', ['-S', `127.0.0.1:${port}`, '-t', root], {
      cwd: root,
      uid,
      gid,
      detached: true,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, PHP_CLI_SERVER_WORKERS: '4', ...inheritedClock() },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    proc = p
    log = ''
    p.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)))
    for (let i = 0; i < 200; i++) {
      const ok = await fetch(`${url}/wp-includes/images/blank.gif`, { signal: AbortSignal.timeout(2000) }).then(
        (r) => r.arrayBuffer().then(() => true),
        () => false,
      )
      if (ok) return
      if (p.exitCode !== null) break
      await new Promise((r) => setTimeout(r, 50))
    }
    await stop()
    throw new Error(`php -S did not start on ${url}: ${log}`)
  }
  return { start, stop }
}

/** Logs `user` in through the wp-login.php at `url`, as TestWordPress.login does for the first node. */
async function loginAt(url: string, user = ADMIN_USER, pass = ADMIN_PASS): Promise<WpClient> {
  const c = new WpClient(url)
  await c.get('/wp-login.php') // sets wordpress_test_cookie, which the login form requires
  const r = await c.post('/wp-login.php', { log: user, pwd: pass, 'wp-submit': 'Log In', redirect_to: `${url}/wp-admin/`, testcookie: '1' })
  if (!c.loggedIn()) throw new Error(`login as ${user} on ${url} failed: HTTP ${r.status} at ${r.url}: ${r.body.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 400)}`)
  return c
}

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.stdout || r.error}`)
}

export async function createFleet(opts: FleetOptions = {}): Promise<TestFleet> {
  requireWordPress()
  const ids = opts.nodes ?? ['a', 'b', 'c']
  if (ids.length === 0) throw new Error('a fleet needs at least one node')
  for (const id of ids) if (!NODE_ID.test(id)) throw new Error(`node id ${JSON.stringify(id)}: 1–64 letters, digits, ., _ and -, starting with a letter or digit`)
  if (new Set(ids).size !== ids.length) throw new Error(`node ids must differ: ${ids.join(', ')}`)

  // everything made so far, undone if a later step fails
  const undo: (() => Promise<void>)[] = []
  const servers = new Map<string, { start(): Promise<void>; stop(): Promise<void> }>()
  const nodes: FleetNodeHandle[] = []
  let wp: TestWordPress | null = null
  let s3: S3Server | null = null
  const cleanup = async (): Promise<void> => {
    // daemons first (they hold the database's locks and write to S3), then the web servers, then the rest
    await Promise.all(
      nodes.map(async (n) => {
        const d = n.daemon
        n.daemon = null
        if (!d) return
        const timer = setTimeout(() => d.proc.kill('SIGKILL'), 10_000)
        await d.stop().catch(() => undefined)
        clearTimeout(timer)
      }),
    )
    for (const f of undo.splice(0).reverse()) await f().catch(() => undefined)
  }

  try {
    wp = await createWordPress({ id: FLEET_SITE })
    const first = wp
    undo.push(() => first.stop())
    if (opts.s3 !== false) {
      const server = await S3Server.start()
      s3 = server
      undo.push(() => server.destroy())
    }
    const fleetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-fleet-'))
    fs.chmodSync(fleetDir, 0o755) // the web server user passes through to the nodes' roots and bridge dirs
    undo.push(async () => fs.rmSync(fleetDir, { recursive: true, force: true }))

    const original = fs.readFileSync(path.join(first.wpRoot, 'wp-config.php'), 'utf8')
    for (const [i, id] of ids.entries()) {
      let node: Omit<FleetNodeHandle, 'startServer' | 'stopServer'>
      if (i === 0) {
        node = { id, base: first.base, wpRoot: first.wpRoot, wpContent: first.wpContent, url: first.url, port: first.port, dataDir: first.dataDir, bridgeDir: first.bridgeDir, configFile: first.configFile, daemon: null }
        servers.set(id, { start: first.startServer, stop: first.stopServer })
      } else {
        const base = path.join(fleetDir, id)
        fs.mkdirSync(base, { mode: 0o755 })
        fs.chmodSync(base, 0o755)
        const wpRoot = path.join(base, 'www')
        // -a: modes and owners as they are (WordPress's files root's, wp-content the web server's)
        run('cp', ['-a', first.wpRoot, wpRoot])
        if (opts.sharedContent) {
          // the share mounted into this node's root: its web server serves the first node's files
          fs.rmSync(path.join(wpRoot, 'wp-content'), { recursive: true })
          fs.symlinkSync(first.wpContent, path.join(wpRoot, 'wp-content'))
        }
        const port = await freePort()
        const url = `http://127.0.0.1:${port}`
        fs.writeFileSync(path.join(wpRoot, 'wp-config.php'), nodeWpConfig(original, url, first.url, opts.sharedContent ? first.wpContent : null))
        node = { id, base, wpRoot, wpContent: opts.sharedContent ? first.wpContent : path.join(wpRoot, 'wp-content'), url, port, dataDir: path.join(base, 'data'), bridgeDir: path.join(base, 'bridge', FLEET_SITE), configFile: path.join(base, 'peakguard.yaml'), daemon: null }
        const srv = phpServer(wpRoot, port, base, first.uid, first.gid)
        servers.set(id, srv)
        undo.push(() => srv.stop())
        await srv.start()
      }
      const srv = servers.get(id)!
      nodes.push({ ...node, startServer: srv.start, stopServer: srv.stop })
    }
    // the first node's own address too (written last: the copies above were made from the file without it)
    fs.writeFileSync(path.join(first.wpRoot, 'wp-config.php'), nodeWpConfig(original, first.url, first.url))

    const server = first.server
    for (const n of nodes) {
      const info: FleetNodeInfo = { id: n.id, url: n.url, port: n.port }
      const extraRaw = typeof opts.siteExtra === 'function' ? opts.siteExtra(info) : (opts.siteExtra ?? '')
      const extra = extraRaw.trim() ? indented(extraRaw, 4) : ''
      const health = /^ {4}health:/m.test(extra) ? '' : `    health:\n      probes:\n        - url: ${n.url}/\n`
      const s3Block = s3
        ? `    s3:\n      bucket: ${s3.bucket}\n      prefix: ${FLEET_S3_PREFIX}\n      region: us-east-1\n      endpoint: ${s3.endpoint}\n      forcePathStyle: true\n      timeout: 3s\n`
        : ''
      fs.writeFileSync(
        n.configFile,
        `node: ${n.id}\ndataDir: ${n.dataDir}\nlockWaitSeconds: 2\nsites:\n  - id: ${FLEET_SITE}\n    wpRoot: ${n.wpRoot}\n${opts.sharedContent ? `    wpContent: ${n.wpContent}\n` : ''}` +
          `    db:\n      host: ${server.host}\n      port: ${server.port}\n      user: ${server.user}\n      password: "${server.password}"\n      name: ${first.dbName}\n      tablePrefix: ${first.prefix}\n` +
          `    bridge:\n      dir: ${n.bridgeDir}\n      url: ${n.url}\n` +
          s3Block +
          fleetBlock(opts.fleet ?? '', opts.sharedContent === true) +
          fastDaemonConfig() +
          health +
          extra,
      )
    }
  } catch (e) {
    await cleanup()
    throw e
  }

  const theWp = wp
  const byId = (id: string): FleetNodeHandle => {
    const n = nodes.find((x) => x.id === id)
    if (!n) throw new Error(`no node ${JSON.stringify(id)} in this fleet (nodes: ${nodes.map((x) => x.id).join(', ')})`)
    return n
  }
  const cli = (id: string, args: string[], env: NodeJS.ProcessEnv = {}) => runCli(['--config', byId(id).configFile, ...args], { ...S3_CREDS, ...env })
  let cleaned = false

  return {
    nodes,
    wp: theWp,
    s3,
    db: { server: theWp.server, name: theWp.dbName, prefix: theWp.prefix, conn: theWp.db },
    siteId: FLEET_SITE,
    byId,
    start: async (id, o = {}) => {
      const n = byId(id)
      if (n.daemon && n.daemon.proc.exitCode === null && n.daemon.proc.signalCode === null) throw new Error(`node ${id}'s daemon runs already (pid ${n.daemon.proc.pid})`)
      n.daemon = await startDaemon(n, { ...S3_CREDS, ...(o.env ?? {}) }, [], o.daemon ?? {})
      return n.daemon
    },
    stop: async (id, signal = 'SIGTERM') => {
      const n = byId(id)
      const d = n.daemon
      if (!d) throw new Error(`node ${id} has no daemon to stop (start(${JSON.stringify(id)}) first)`)
      n.daemon = null
      return d.stop(signal)
    },
    cli,
    url: (id) => byId(id).url,
    client: (id, user, pass) => loginAt(byId(id).url, user, pass),
    tree: (id) => treeOf(byId(id).wpContent),
    installBridges: async () => {
      for (const n of nodes) {
        const r = await cli(n.id, ['wp', 'install-bridge'])
        if (r.code !== 0) throw new Error(`peakguard wp install-bridge on node ${n.id} failed (exit ${r.code}): ${r.stderr || r.stdout}`)
      }
    },
    cleanup: async () => {
      if (cleaned) return
      cleaned = true
      await cleanup()
    },
  }
}

/** Polls `read` until `cond` holds; fails after `timeoutMs` showing what was read last (or the last error). */
export async function eventually<T>(what: string, read: () => Promise<T>, cond: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs
  let last: T | undefined
  let error: unknown = null
  for (;;) {
    try {
      last = await read()
      error = null
      if (cond(last)) return last
    } catch (e) {
      error = e
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${error ? String(error) : JSON.stringify(last)?.slice(0, 1500)}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}
