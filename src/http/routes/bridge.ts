// POST /bridge/pre-update: the WordPress bridge asks for a snapshot of the state before its upgrader writes a
// package (services/pre-update.ts). Machine to machine, so no session and no CSRF token — in their place the
// same guard the bridge's own endpoints have in the other direction: the request comes from this host's
// loopback, passed no proxy (no forwarding header at all), and is signed with the named site's bridge secret (the
// `secret` file in its bridge folder): an HMAC of its time and body, compared in constant time. The secret itself
// never crosses the socket, so a process that took the daemon's port while it was down learns nothing it could
// use for longer than a signature's few minutes. It opens nothing else: one route, one action.
// Mounted before the sessions, the CSRF check and the app's body parsers; answers JSON, errors included.
import { createHmac, timingSafeEqual } from 'node:crypto'
import express, { Router, type NextFunction, type Request, type Response } from 'express'
import { asPeakguardError, PeakguardError } from '../../errors.ts'
import { parseBody, preUpdateBody } from '../bodies.ts'
import type { AppDeps } from '../deps.ts'

/** Headers a proxy sets: with any of them the peer's address proves nothing (the bridge's FORWARDING_HEADERS). */
const FORWARDING_HEADERS = [
  'x-forwarded-for',
  'forwarded',
  'x-real-ip',
  'x-client-ip',
  'client-ip',
  'x-forwarded',
  'forwarded-for',
  'x-cluster-client-ip',
  'true-client-ip',
  'cf-connecting-ip',
  'fastly-client-ip',
  'x-original-forwarded-for',
  // what a reverse proxy on this host adds even when it passes no client address (nginx for ui.trustProxy)
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-forwarded-port',
  'x-forwarded-server',
  'x-forwarded-ssl',
  'front-end-https',
  'via',
]

/** The peer's address (the socket's, never a header's) on this host's loopback: 127.0.0.0/8, ::1, ::ffff:127.x. */
export function loopbackPeer(addr: string | undefined): boolean {
  if (!addr) return false
  const a = addr.toLowerCase().replace(/^::ffff:/, '')
  return a === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(a)
}

/** How far a signature's time may be from the daemon's clock (the same host's: only a replay is that old). */
const SIGNATURE_MAX_AGE_S = 300

/**
 * Whether `header` (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" keyed with the secret>`) signs `body` with
 * `secret`, made within SIGNATURE_MAX_AGE_S of `nowS`; compared in time that does not depend on where it differs.
 */
export function signedBy(header: string, body: Buffer, secret: string, nowS: number): boolean {
  const m = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header)
  if (!m) return false
  const t = Number(m[1])
  if (Math.abs(nowS - t) > SIGNATURE_MAX_AGE_S) return false
  const want = createHmac('sha256', secret).update(`${m[1]}.`).update(body).digest()
  return timingSafeEqual(want, Buffer.from(m[2] as string, 'hex'))
}

/** A body parser's or Express's failure as a PeakguardError (400 unreadable JSON, 413 too large). */
function fromHttpError(e: unknown): PeakguardError | null {
  const status = (e as { status?: unknown }).status
  if (typeof status !== 'number' || status < 400 || status >= 500) return null
  if (status === 413) return new PeakguardError('USAGE', 'the request is too large (at most 8 kB)')
  return new PeakguardError('USAGE', `the request could not be read (HTTP ${status}): send a JSON object`)
}

export function bridgeRoutes(deps: AppDeps): Router {
  const r = Router()
  // before the body is read: a request from elsewhere costs nothing more
  const peer = (req: Request, _res: Response, next: NextFunction) => {
    if (!loopbackPeer(req.socket.remoteAddress))
      return next(new PeakguardError('FORBIDDEN', "the bridge's requests come from this host's loopback address only (127.0.0.1, ::1)"))
    const via = FORWARDING_HEADERS.find((h) => req.headers[h] !== undefined)
    if (via) return next(new PeakguardError('FORBIDDEN', `the bridge's requests reach the daemon directly, never through a proxy (the request has a ${via} header)`))
    next()
  }

  // the body's bytes as sent: the signature is over them, not over their parse
  const json = express.json({ limit: '8kb', verify: (req, _res, buf) => void ((req as Request & { raw?: Buffer }).raw = Buffer.from(buf)) })
  r.post('/bridge/pre-update', peer, json, async (req, res) => {
    // the bridge stops waiting after its wait (bridge.preUpdateWait): the snapshot must be taken before then or not at all
    const received = Date.now()
    const body = parseBody(preUpdateBody, req.body)
    const s = deps.sites.find((x) => x.id === body.site)
    const given = req.get('x-peakguard-signature') ?? ''
    const raw = (req as Request & { raw?: Buffer }).raw ?? Buffer.alloc(0)
    const secret = s?.bridge ? await s.bridge.secret() : null
    // an unknown site is answered as a wrong signature: without the secret nobody learns which sites there are
    if (!s?.bridge || !secret || !given || !signedBy(given, raw, secret, Math.floor(received / 1000)))
      throw new PeakguardError(
        'AUTH_FAILED',
        `the request is not signed with the bridge secret of site ${body.site}, or its signature is more than ${SIGNATURE_MAX_AGE_S} s old: reinstall the bridge ('peakguard wp install-bridge --site ${body.site}')`,
      )
    const r = await s.bridge.preUpdate(body.what, { received, gone: () => req.socket.destroyed })
    res.json({ snapshot: r.snapshot, created: r.created, message: r.message })
  })

  // this router's errors as JSON: the bridge reads the message into PHP's error log
  r.use('/bridge', (e: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const err = fromHttpError(e) ?? asPeakguardError(e)
    if (err.code === 'INTERNAL') deps.log?.error({ err: err.cause instanceof Error ? err.cause.stack : String(err.cause) }, `pre-update snapshot: ${err.message}`)
    res.status(err.httpStatus).json({ error: { code: err.code, message: err.message } })
  })
  return r
}
