// bench/inproc.ts — peakguard's operations in-process, the way a warm, long-lived process (the coming
// daemon and web UI) runs them: no process start-up, modules loaded, the journal's and the file scanner's
// in-memory caches warm. Spawned once by bench/run.ts; composes the site exactly like the CLI does
// (dist/bin/peakguard.js's loadConfig + pickSite + openSite, the services of dist/services/index.js).
//
//   node bench/inproc.ts [--config FILE] [--site ID]
//
// Reads one JSON request per line on stdin and answers each with one JSON line on stdout, in order:
//   {"op":"open","config":FILE,"site":ID}  (re)opens the site (closing the previous one): a fresh Site object
//   {"op":"snapshot"}                      snapshot(site, { trigger: 'manual' })
//   {"op":"restore","target":ID}           resolveState(site, ID) + restore(site, { target })
//   {"op":"close"}                         closes the site
// → {"ok":true,"ms":N,"result":{…}} or {"ok":false,"ms":N,"error":{"code","message","stack"}}
// ms is performance.now() around the service calls only (not the JSON, not the pipe). The site stays open
// between requests, so its caches carry over exactly as in a daemon. End of stdin closes the site and exits.
import { performance } from 'node:perf_hooks'
import readline from 'node:readline'
import { parseArgs } from 'node:util'
// types from the sources, code from the built dist/ (the same JS the CLI runs); dist has no .d.ts, so
// the modules are imported by URL and typed as their sources
import type * as SitesModule from '../src/compose/sites.ts'
import type * as ConfigModule from '../src/config.ts'
import type * as ServicesModule from '../src/services/index.ts'

const DIST = new URL('../dist/', import.meta.url)
const { openSite, pickSite } = (await import(new URL('compose/sites.js', DIST).href)) as typeof SitesModule
const { loadConfig } = (await import(new URL('config.js', DIST).href)) as typeof ConfigModule
const { snapshot, restore, resolveState } = (await import(new URL('services/index.js', DIST).href)) as typeof ServicesModule

type OpenSite = Awaited<ReturnType<typeof openSite>>

const { values: argv } = parseArgs({ options: { config: { type: 'string' }, site: { type: 'string' } }, strict: true })

let site: OpenSite | null = null

function answer(msg: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(msg) + '\n')
}

function need(): OpenSite {
  if (!site) throw new Error('no site is open: send {"op":"open"} first')
  return site
}

async function handle(req: any): Promise<{ ms: number; result: unknown }> {
  switch (req.op) {
    case 'open': {
      const file = String(req.config ?? argv.config ?? '')
      if (!file) throw new Error('open: no config (pass "config" or --config)')
      if (site) await site.close()
      site = null
      const t0 = performance.now()
      const cfg = loadConfig(file)
      site = await openSite(cfg, pickSite(cfg, req.site ?? argv.site))
      const ms = performance.now() - t0
      return { ms, result: { site: site.id } }
    }
    case 'snapshot': {
      const s = need()
      const t0 = performance.now()
      const r = await snapshot(s, { trigger: 'manual', ...(req.message ? { message: String(req.message) } : {}) })
      const ms = performance.now() - t0
      return { ms, result: { id: r.id, created: r.created, summary: r.summary } }
    }
    case 'restore': {
      const s = need()
      const t0 = performance.now()
      const target = await resolveState(s, String(req.target))
      const t1 = performance.now()
      const r = await restore(s, { target })
      const ms = performance.now() - t0
      return {
        ms,
        result: {
          safetySnapshot: r.safetySnapshot,
          target: r.target,
          snapshot: r.snapshot,
          files: r.files,
          options: r.options,
          verified: r.verified,
          recovered: r.recovered,
          mismatches: r.mismatches ? { files: r.mismatches.files.length, options: r.mismatches.options.length } : null,
          resolveMs: t1 - t0,
        },
      }
    }
    case 'close': {
      if (site) await site.close()
      site = null
      return { ms: 0, result: null }
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`)
  }
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of rl) {
  if (!line.trim()) continue
  let req: any
  try {
    req = JSON.parse(line)
  } catch {
    answer({ ok: false, ms: 0, error: { code: 'BAD_REQUEST', message: `not JSON: ${line.slice(0, 200)}` } })
    continue
  }
  try {
    const { ms, result } = await handle(req)
    answer({ ok: true, ms, result })
  } catch (e) {
    const err = e as Error & { code?: string; cause?: unknown }
    const cause = err.cause instanceof Error ? `\ncaused by: ${err.cause.stack ?? err.cause.message}` : ''
    answer({ ok: false, ms: 0, error: { code: err.code ?? err.name, message: err.message, stack: `${err.stack ?? ''}${cause}` } })
  }
}
if (site) await (site as OpenSite).close()
