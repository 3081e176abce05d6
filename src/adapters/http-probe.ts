// Health probes over HTTP (ProbePort) with Node's fetch: follows redirects as a browser would, gives up
// after the timeout, and keeps the first 256 KB of the body — enough to recognise WordPress's error pages.
import type { ProbePort, ProbeResponse, ProbeSpec } from '../core/index.ts'

const BODY_LIMIT = 256 * 1024

export class HttpProbe implements ProbePort {
  async fetch(probe: ProbeSpec): Promise<ProbeResponse> {
    const { url, timeoutMs } = probe
    const started = performance.now()
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      const res = await fetch(url, {
        redirect: 'follow',
        signal,
        // a probe is not a visitor: no cookies, no caches in between
        headers: { 'user-agent': 'peakguard-probe', 'cache-control': 'no-cache' },
      })
      const body = await readLimited(res)
      return { url, status: res.status, latencyMs: performance.now() - started, body, error: null }
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } }
      const error = signal.aborted ? `no answer within ${timeoutMs} ms` : (err.cause?.code ?? err.message)
      return { url, status: null, latencyMs: performance.now() - started, body: '', error }
    }
  }
}

async function readLimited(res: Response): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.length
    if (size >= BODY_LIMIT) {
      await reader.cancel()
      break
    }
  }
  return Buffer.concat(chunks).subarray(0, BODY_LIMIT).toString('utf8')
}
