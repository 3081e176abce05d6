// The running daemon, asked over its HTTP API (`peakguard status` shows what the daemon sees of a site).
import type { DaemonSiteStatus, DaemonStatus } from '../services/index.ts'

export type DaemonAnswer = { running: true; url: string; site: DaemonSiteStatus | null } | { running: false; url: string; reason: string }

/** The daemon on ui.listen (a wildcard address is asked on loopback), with the API token when there is one. */
export async function daemonStatus(listen: { host: string; port: number }, siteId: string, token: string | undefined): Promise<DaemonAnswer> {
  const { port } = listen
  let { host } = listen
  if (host === '0.0.0.0') host = '127.0.0.1'
  if (host === '::') host = '::1'
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
  try {
    const res = await fetch(`${url}/api/status`, { signal: AbortSignal.timeout(3000), headers: token ? { authorization: `Bearer ${token}` } : {} })
    if (res.status === 401) return { running: false, url, reason: `the daemon at ${url} answers, but its API needs a token: set PEAKGUARD_TOKEN (peakguard token create)` }
    if (!res.ok) return { running: false, url, reason: `${url} answered HTTP ${res.status}` }
    const body = (await res.json()) as DaemonStatus
    return { running: true, url, site: body.sites.find((x) => x.site === siteId) ?? null }
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } }
    return { running: false, url, reason: `nothing answers at ${url}: ${err.cause?.code ?? err.message}` }
  }
}

/** ui.listen ("host:port", "[::1]:port") as host and port: where the daemon listens, and where status asks it. */
export function hostPort(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':')
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) }
}
