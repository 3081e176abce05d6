// The WordPress bridge (BridgePort): installs and removes the generated mu-plugin
// wp-content/mu-plugins/peakguard-bridge.php, keeps the bridge folder (outside the web root) that it reads
// and writes — state.json (freeze windows, written here), events.jsonl (appended by PHP) and events.jsonl.1
// (its rotated copy, written by PHP), secret (the cache flush endpoint's shared secret) — and calls that
// endpoint, on loopback only: the request carries the secret. The folder must be reachable by the web
// server's user (wp-content's owner and group): install checks every directory on the way and refuses
// when PHP could not get there, instead of leaving a bridge that silently enforces nothing.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import type { BridgeInstallReport, BridgePort, BridgeState, BridgeStatusReport } from '../core/index.ts'
import { fsFailure, PeakguardError } from '../errors.ts'
import { writeFileDurably } from './durable-file.ts'
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

  async flushCaches(): Promise<{ ok: boolean; detail: string }> {
    let base: string | null
    try {
      base = this.o.url ?? (await this.o.homeUrl())
    } catch (e) {
      return { ok: false, detail: `cannot read the home URL: ${(e as Error).message}` }
    }
    if (!base) return { ok: false, detail: `no URL for the cache flush: set bridge.url for site ${this.o.site} to the site's loopback URL, e.g. http://127.0.0.1` }
    let url: URL
    try {
      url = new URL(base)
    } catch {
      return { ok: false, detail: `not a URL: ${base}` }
    }
    const where = `${url.origin}${url.pathname}`
    // the request carries the secret: never to an address that leaves this host (home is often a CDN)
    if (!isLoopbackHost(url.hostname))
      return {
        ok: false,
        detail: `not flushing through ${where}: the flush request carries the bridge secret, so it goes to a loopback address only (127.0.0.0/8, ::1, localhost); ${
          this.o.url ? 'bridge.url' : `the home option (bridge.url is not set)`
        } is ${url.hostname}: set bridge.url for site ${this.o.site} to the site's loopback URL, e.g. http://127.0.0.1 (with the port the web server listens on)`,
      }
    let secret: string
    try {
      secret = fs.readFileSync(path.join(this.o.bridgeDir, SECRET), 'utf8').trim()
    } catch (e) {
      return { ok: false, detail: `no bridge secret in ${this.o.bridgeDir} (${(e as NodeJS.ErrnoException).code}): is the bridge installed?` }
    }
    url.searchParams.set('peakguard-bridge', 'flush')
    try {
      // no redirects: the secret goes to this address only
      const res = await fetch(url, { headers: { 'x-peakguard-secret': secret }, redirect: 'manual', signal: AbortSignal.timeout(this.o.timeoutMs) })
      const text = await res.text()
      if (res.status === 403)
        return {
          ok: false,
          detail: `${where} refused the flush (HTTP 403): the request must reach PHP from 127.0.0.1/::1 with the secret of ${this.o.bridgeDir} and no forwarding header (X-Forwarded-For, Forwarded, X-Real-IP, X-Client-IP): point bridge.url at the web server itself, not at a proxy in front of it`,
        }
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
