// The WordPress bridge (BridgePort): installs and removes the generated mu-plugin
// wp-content/mu-plugins/peakguard-bridge.php, keeps the bridge folder (outside the web root) that it reads
// and writes — state.json (freeze windows and the daemon's loopback address, written here), events.jsonl (appended
// by PHP) and events.jsonl.1 (its rotated copy, written by PHP), secret (the shared secret of the cache flush and
// purge endpoints, and of the bridge's pre-update request to the daemon) — and
// calls those endpoints, on loopback only: the request carries the secret. The flush (opcache, object cache)
// is answered before any plugin loads; the purge (each active page-cache plugin's purge function) once they
// are loaded, with an answer that is checked and bounded here. The folder must be reachable by the web
// server's user (wp-content's owner and group): install checks every directory on the way and refuses
// when PHP could not get there, instead of leaving a bridge that silently enforces nothing.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { BridgeInstallReport, BridgePort, BridgeState, BridgeStatusReport, PurgeResult } from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { writeFileDurably } from './durable-file.ts'
import { readBounded } from './http-body.ts'
import { checkpoint } from '../core/checkpoints.ts'
import { BRIDGE_FILE, BRIDGE_VERSION, bridgePhp } from './wp-bridge-php.ts'

export interface WpBridgeOptions {
  site: string
  wpContent: string
  bridgeDir: string
  /** bridge.url from the config; null: the home option */
  url: string | null
  timeoutMs: number
  /** the site's home option, read when bridge.url is not set */
  homeUrl: () => Promise<string | null>
  /** the site's full option ignore list (baked into the PHP for when state.json is unreadable) */
  ignoredOptions: readonly string[]
}

const STATE = 'state.json'
const EVENTS = 'events.jsonl'
const SECRET = 'secret'
/** a note that install made wp-content/mu-plugins, so uninstall removes it again when it is empty */
const MADE_MU = 'created-mu-plugins'

/** How the page-cache plugins are named when their purge could not be asked for at all. */
const PLUGINS = 'page-cache plugins'
/** The most of the purge answer read: a few dozen plugins' results are a few KB. */
const ANSWER_MAX = 64 * 1024
/** At most this many plugin purges are taken from one answer (the bridge knows fewer than 20). */
const PURGES_MAX = 40

/** Text from PHP for a report: printable ASCII on one line (as the bridge writes it), at most `max` characters. */
function phpText(v: unknown, max: number): string | null {
  if (typeof v !== 'string') return null
  const t = v.replace(/[^\x20-\x7e]+/g, ' ').trim()
  return t.length > max ? `${t.slice(0, max - 1)}…` : t
}

/**
 * The bridge's answer to a purge, checked: its purges (each a name, whether it worked, what happened), or the
 * reason it ran none; null when the text is not such an answer (an older bridge, or another page).
 */
function purgeAnswer(text: string): { purges: PurgeResult[] } | { error: string } | null {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    return null
  }
  if (!body || typeof body !== 'object') return null
  const b = body as { ok?: unknown; error?: unknown; purges?: unknown }
  if (b.ok === false) {
    const error = phpText(b.error, 500)
    return error ? { error } : null
  }
  if (b.ok !== true || !Array.isArray(b.purges) || b.purges.length > PURGES_MAX) return null
  const purges: PurgeResult[] = []
  for (const p of b.purges as unknown[]) {
    if (!p || typeof p !== 'object') return null
    const x = p as { name?: unknown; ok?: unknown; detail?: unknown }
    const name = phpText(x.name, 80)
    const detail = phpText(x.detail, 320)
    if (!name || detail === null || typeof x.ok !== 'boolean') return null
    purges.push({ name, kind: 'plugin', ok: x.ok, detail })
  }
  return { purges }
}


function failed(message: string, cause?: unknown): PeakguardError {
  return new PeakguardError('BRIDGE_FAILED', message, cause === undefined ? undefined : { cause })
}

/** Can a process of uid/gid pass through (x) this directory? Supplementary groups are not known here. */
function canEnter(st: fs.Stats, uid: number, gid: number): boolean {
  if (uid === 0) return true
  if (st.uid === uid) return (st.mode & 0o100) !== 0
  if (st.gid === gid) return (st.mode & 0o010) !== 0
  return (st.mode & 0o001) !== 0
}

/** Whether a URL's hostname is this host's loopback: 127.0.0.0/8, ::1 (also IPv4-mapped) or localhost. */
function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1')
  if (h === 'localhost') return true
  // WHATWG URL has already turned 0x7f.1, 2130706433 and the like into dotted decimal
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  // ::ffff:127.x.y.z, which URL writes as ::ffff:7fxx:yyzz
  return /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(h)
}

/** Writes a file durably (see durable-file.ts) with its mode and owner; a hidden temporary name in mu-plugins. */
function atomicWrite(file: string, data: string, mode: number, uid: number, gid: number): void {
  try {
    writeFileDurably(file, data, { mode, owner: { uid, gid }, tmp: path.join(path.dirname(file), `.~pg-${path.basename(file)}.${process.pid}.tmp`) })
  } catch (e) {
    throw fsFailure(e, { doing: 'writing', what: file, otherwise: 'BRIDGE_FAILED' })
  }
}

/**
 * The shared secret in a bridge folder (what the bridge sends with its pre-update request), or null when there is
 * none or it is too short to be one install-bridge wrote (64 hex digits).
 */
export function readBridgeSecret(bridgeDir: string): string | null {
  try {
    const secret = fs.readFileSync(path.join(bridgeDir, SECRET), 'utf8').trim()
    return secret.length >= 32 ? secret : null
  } catch {
    return null
  }
}

export class WpBridge implements BridgePort {
  private readonly o: WpBridgeOptions

  constructor(o: WpBridgeOptions) {
    this.o = o
  }

  get file(): string {
    return path.join(this.o.wpContent, 'mu-plugins', BRIDGE_FILE)
  }

  get dir(): string {
    return this.o.bridgeDir
  }

  get eventsFile(): string {
    return path.join(this.o.bridgeDir, EVENTS)
  }

  async installed(): Promise<{ version: number } | null> {
    let text: string
    try {
      text = fs.readFileSync(this.file, 'utf8')
    } catch {
      return null
    }
    const m = /define\(\s*'PEAKGUARD_BRIDGE_VERSION',\s*(\d+)\s*\)/.exec(text)
    return { version: m ? Number(m[1]) : 0 }
  }

  /** wp-content's owner and group: the web server's user, as far as peakguard can tell. */
  private web(): { uid: number; gid: number } {
    const st = fs.statSync(this.o.wpContent, { throwIfNoEntry: false })
    if (!st?.isDirectory()) throw failed(`${this.o.wpContent} is not a directory: is wpRoot/wpContent of site ${this.o.site} right?`)
    return { uid: st.uid, gid: st.gid }
  }

  /** The first directory on the way to the bridge folder that the web server user cannot pass, or null. */
  private blocker(uid: number, gid: number): string | null {
    const parts = path.resolve(this.o.bridgeDir).split(path.sep).filter(Boolean)
    let p: string = path.sep
    for (const seg of ['', ...parts]) {
      p = seg ? path.join(p, seg) : p
      const st = fs.statSync(p, { throwIfNoEntry: false })
      if (!st) return p
      if (!canEnter(st, uid, gid)) return p
    }
    return null
  }

  async writeState(state: BridgeState): Promise<void> {
    const st = fs.statSync(this.o.bridgeDir, { throwIfNoEntry: false })
    if (!st) throw failed(`the bridge folder ${this.o.bridgeDir} does not exist: run 'peakguard wp install-bridge --site ${this.o.site}'`)
    // readable by the web server's group (the folder's group), never by others
    atomicWrite(path.join(this.o.bridgeDir, STATE), `${JSON.stringify(state, null, 1)}\n`, 0o640, process.getuid?.() ?? st.uid, st.gid)
    checkpoint('bridge:state')
  }

  /**
   * Where the bridge's endpoint is and the secret it wants, or why it cannot be called (no URL, not a loopback
   * address, no secret).
   */
  private async endpoint(action: 'flush' | 'purge'): Promise<{ url: URL; where: string; secret: string } | { problem: string }> {
    let base: string | null
    try {
      base = this.o.url ?? (await this.o.homeUrl())
    } catch (e) {
      return { problem: `cannot read the home URL: ${(e as Error).message}` }
    }
    if (!base) return { problem: `no URL for the cache ${action}: set bridge.url for site ${this.o.site} to the site's loopback URL, e.g. http://127.0.0.1` }
    let url: URL
    try {
      url = new URL(base)
    } catch {
      return { problem: `not a URL: ${base}` }
    }
    const where = `${url.origin}${url.pathname}`
    // the request carries the secret: never to an address that leaves this host (home is often a CDN)
    if (!isLoopbackHost(url.hostname))
      return {
        problem: `not ${action === 'flush' ? 'flushing' : 'purging'} through ${where}: the ${action} request carries the bridge secret, so it goes to a loopback address only (127.0.0.0/8, ::1, localhost); ${
          this.o.url ? 'bridge.url' : `the home option (bridge.url is not set)`
        } is ${url.hostname}: set bridge.url for site ${this.o.site} to the site's loopback URL, e.g. http://127.0.0.1 (with the port the web server listens on)`,
      }
    let secret: string
    try {
      secret = fs.readFileSync(path.join(this.o.bridgeDir, SECRET), 'utf8').trim()
    } catch (e) {
      return { problem: `no bridge secret in ${this.o.bridgeDir} (${(e as NodeJS.ErrnoException).code}): is the bridge installed?` }
    }
    url.searchParams.set('peakguard-bridge', action)
    return { url, where, secret }
  }

  /** The sentence for a 403 from the bridge: the usual reasons a loopback request still looks foreign to PHP. */
  private refusedBy(where: string, action: string): string {
    return `${where} refused the ${action} (HTTP 403): the request must reach PHP from 127.0.0.1/::1 with the secret of ${this.o.bridgeDir} and no forwarding header (X-Forwarded-For, Forwarded, X-Real-IP, X-Client-IP): point bridge.url at the web server itself, not at a proxy in front of it`
  }

  async flushCaches(): Promise<{ ok: boolean; detail: string }> {
    const e = await this.endpoint('flush')
    if ('problem' in e) return { ok: false, detail: e.problem }
    const { url, where, secret } = e
    try {
      // no redirects: the secret goes to this address only
      const res = await fetch(url, { headers: { 'x-peakguard-secret': secret }, redirect: 'manual', signal: AbortSignal.timeout(this.o.timeoutMs) })
      const text = await res.text()
      if (res.status === 403) return { ok: false, detail: this.refusedBy(where, 'flush') }
      if (res.status !== 200) return { ok: false, detail: `${where} answered HTTP ${res.status}${res.headers.get('location') ? ` (redirect to ${res.headers.get('location')})` : ''}` }
      let body: { ok?: unknown; opcache?: unknown; objectCache?: unknown }
      try {
        body = JSON.parse(text) as typeof body
      } catch {
        return { ok: false, detail: `${where} did not answer as the bridge does: is it installed ('peakguard wp bridge-status')?` }
      }
      if (body.ok !== true) return { ok: false, detail: `${where}: the bridge did not flush` }
      return { ok: true, detail: `opcache ${body.opcache ? 'reset' : 'not reset (off in this PHP)'}, object cache ${body.objectCache ? 'flushed' : 'not flushed'}` }
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } }
      return { ok: false, detail: `${where}: ${err.name === 'TimeoutError' ? `no answer within ${this.o.timeoutMs} ms` : (err.cause?.code ?? err.message)}` }
    }
  }

  /**
   * Asks WordPress (loopback, shared secret, as the flush) to call the purge function of each page-cache plugin
   * that is active: one result per plugin found, none when none is (or the mu-plugin is not installed). The
   * plugins' purges run one after another in one PHP request, which gets `timeoutMs` in all. Never rejects:
   * what goes wrong is one failed result naming the page-cache plugins. The answer is PHP's, so it is checked
   * and bounded before anything of it reaches a report, a page or the audit log.
   */
  async purgePlugins(timeoutMs: number): Promise<PurgeResult[]> {
    if (!(await this.installed())) return []
    const failed = (detail: string): PurgeResult[] => [{ name: PLUGINS, kind: 'plugin', ok: false, detail }]
    const e = await this.endpoint('purge')
    if ('problem' in e) return failed(e.problem)
    const { url, where, secret } = e
    // a URL no page cache has seen: a cached answer to an earlier purge can never stand in for this one
    url.searchParams.set('peakguard-nonce', randomBytes(8).toString('hex'))
    try {
      const res = await fetch(url, { headers: { 'x-peakguard-secret': secret, 'cache-control': 'no-cache' }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
      const text = await readBounded(res, ANSWER_MAX)
      if (res.status === 403) return failed(this.refusedBy(where, 'purge'))
      // after a plugin's fatal error the bridge still answers, but a SAPI may keep PHP's 500 status
      const answer = res.status === 200 || res.status >= 500 ? purgeAnswer(text) : null
      if (answer === null && res.status !== 200)
        return failed(
          `${where} answered HTTP ${res.status}${res.status >= 500 ? ": PHP failed before the bridge could answer (a plugin that stops PHP while WordPress loads? see the web server's error log)" : ''}`,
        )
      if (answer === null) return failed(`${where} did not answer as a bridge that purges does: reinstall it ('peakguard wp install-bridge --site ${this.o.site}')`)
      if ('error' in answer) return failed(answer.error)
      return answer.purges
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } }
      return failed(
        `${where}: ${err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms (purge.timeout): a plugin's purge function may hang; the purges may still finish` : (err.cause?.code ?? err.message)}`,
      )
    }
  }

  /** Prepares the bridge folder, writes `state` (the freeze as it is now) and then the mu-plugin. */
  async install(state: BridgeState): Promise<BridgeInstallReport> {
    const web = this.web()
    const warnings: string[] = []
    if (web.uid === 0)
      warnings.push(`${this.o.wpContent} is owned by root, so peakguard cannot tell the web server's user: make sure PHP can read ${this.o.bridgeDir} and append to ${this.eventsFile}`)
    const me = process.getuid?.() ?? 0
    const dir = this.o.bridgeDir
    try {
      fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o755 })
      fs.mkdirSync(dir, { recursive: true, mode: 0o750 })
      fs.chownSync(dir, me, web.gid)
      fs.chmodSync(dir, 0o750)
    } catch (e) {
      throw failed(`cannot prepare the bridge folder ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e)
    }
    const blocked = this.blocker(web.uid, web.gid)
    if (blocked)
      throw failed(
        `the web server user (uid ${web.uid}, gid ${web.gid}, the owner of ${this.o.wpContent}) cannot reach ${dir}: ${blocked} does not let it through. ` +
          `Set bridge.dir for site ${this.o.site} to a folder outside the web root that PHP can reach (e.g. /var/lib/peakguard-bridge/${this.o.site}), or allow passing through with 'chmod o+x ${blocked}'`,
      )
    const secretFile = path.join(dir, SECRET)
    const createdSecret = !fs.existsSync(secretFile)
    // the web server reads it through its group; nobody else
    if (createdSecret) {
      atomicWrite(secretFile, `${randomBytes(32).toString('hex')}\n`, 0o640, me, web.gid)
      checkpoint('bridge:secret')
    } else {
      fs.chownSync(secretFile, me, web.gid)
      fs.chmodSync(secretFile, 0o640)
    }
    // PHP appends to events.jsonl and, past 64 MB, copies it into events.jsonl.1: it cannot create files here
    for (const events of [this.eventsFile, `${this.eventsFile}.1`]) {
      fs.closeSync(fs.openSync(events, 'a', 0o660))
      fs.chownSync(events, fs.statSync(events).uid, web.gid)
      fs.chmodSync(events, 0o660)
    }
    // before the mu-plugin exists: WordPress never sees the bridge without a state to enforce
    await this.writeState(state)

    const muDir = path.dirname(this.file)
    if (!fs.existsSync(muDir)) {
      fs.mkdirSync(muDir, { mode: 0o755 })
      fs.chownSync(muDir, web.uid, web.gid)
      fs.chmodSync(muDir, 0o755)
      fs.writeFileSync(path.join(dir, MADE_MU), `${muDir}\n`)
    }
    const owner = fs.statSync(muDir)
    const previous = await this.installed()
    atomicWrite(this.file, bridgePhp({ dir: path.resolve(dir), site: this.o.site, ignoredOptions: this.o.ignoredOptions }), 0o644, owner.uid, owner.gid)
    checkpoint('bridge:plugin')
    return { file: this.file, dir, version: BRIDGE_VERSION, previous: previous?.version ?? null, createdSecret, warnings }
  }

  /** Removes the mu-plugin (and mu-plugins, when install made it and it is empty); the bridge folder stays. */
  async uninstall(): Promise<{ file: string; removed: boolean }> {
    const removed = fs.existsSync(this.file)
    try {
      fs.rmSync(this.file, { force: true })
      const made = path.join(this.o.bridgeDir, MADE_MU)
      const muDir = path.dirname(this.file)
      if (fs.existsSync(made) && fs.existsSync(muDir) && fs.readdirSync(muDir).length === 0) fs.rmdirSync(muDir)
      fs.rmSync(made, { force: true })
    } catch (e) {
      throw failed(`cannot remove ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, e)
    }
    return { file: this.file, removed }
  }

  async status(): Promise<BridgeStatusReport> {
    const dir = this.o.bridgeDir
    let state: BridgeStatusReport['state'] = { readable: false, writtenAt: null, ageSeconds: null, freezes: 0, activeFreeze: false }
    try {
      const s = JSON.parse(fs.readFileSync(path.join(dir, STATE), 'utf8')) as BridgeState
      if (!Array.isArray(s.freezes)) throw new Error('no freezes')
      const now = Date.now() / 1000
      state = {
        readable: true,
        writtenAt: typeof s.writtenAt === 'number' ? new Date(s.writtenAt * 1000).toISOString() : null,
        ageSeconds: typeof s.writtenAt === 'number' ? Math.max(0, Math.round(now - s.writtenAt)) : null,
        freezes: s.freezes.length,
        activeFreeze: s.freezes.some((f) => f.start <= now && now < f.end),
      }
    } catch {
      /* missing or not peakguard's: reported as unreadable */
    }
    let count = 0
    let bytes = 0
    try {
      const fd = fs.openSync(this.eventsFile, 'r')
      try {
        const buf = Buffer.alloc(1 << 16)
        for (;;) {
          const n = fs.readSync(fd, buf, 0, buf.length, null)
          if (n === 0) break
          bytes += n
          for (let i = 0; i < n; i++) if (buf[i] === 0x0a) count++
        }
      } finally {
        fs.closeSync(fd)
      }
    } catch {
      /* no events yet */
    }
    return {
      site: this.o.site,
      file: this.file,
      dir,
      installed: await this.installed(),
      current: BRIDGE_VERSION,
      state,
      events: { count, bytes },
      secret: fs.existsSync(path.join(dir, SECRET)),
    }
  }
}
