// peakguard replicate [--wait] [--timeout D] [--json]: pushes what is not on the S3 replica yet, now.
// With --wait it keeps retrying (backoff with jitter) until the replica has every snapshot and mark, and
// fails if it cannot get there within --timeout.
import type { Command } from 'commander'
import ms from 'ms'
import { PeakguardError } from '../errors.ts'
import { retryDelayMs, visible } from '../core/index.ts'
import { pushOnce, type PushResult } from '../services/index.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

/** A wrong key, another history, missing credentials or bucket: waiting does not help, say so at once. */
function retryable(e: unknown): boolean {
  const err = e as PeakguardError
  if (err.code !== 'S3_FAILED' && err.code !== 'BUSY') return false
  return !(err.details as { permanent?: boolean } | undefined)?.permanent
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('replicate')
    .description('push the snapshots and marks not yet on the S3 replica')
    .option('--wait', 'retry until the replica is up to date (non-zero exit if it cannot get there)')
    .option('--timeout <duration>', 'with --wait: give up after this long', '10m')
    .action((flags: { wait?: boolean; timeout: string }) =>
      run(async (o) => {
        const timeoutMs = (ms as (s: string) => number | undefined)(flags.timeout)
        if (typeof timeoutMs !== 'number' || timeoutMs <= 0) throw new PeakguardError('USAGE', `--timeout ${flags.timeout}: not a duration (e.g. 30s, 10m)`)
        const r = await rt.openReplica(o)
        const pushes: PushResult[] = []
        const started = Date.now()
        let attempts = 0
        let more = false
        try {
          for (;;) {
            try {
              const p = await pushOnce(r)
              if (p.pushed) pushes.push(p)
              more = p.more
              attempts = 0
              if (!p.more || !flags.wait) break
            } catch (e) {
              attempts++
              const delay = retryDelayMs(attempts, 1000, 60_000, Math.random())
              if (!retryable(e)) throw e
              if (!flags.wait || Date.now() + delay - started > timeoutMs) {
                const why = (e as Error).message
                throw new PeakguardError((e as PeakguardError).code ?? 'S3_FAILED', flags.wait ? `the replica could not be brought up to date within ${flags.timeout} (${attempts} attempts): ${why}` : `${why} (the daemon retries by itself; 'peakguard replicate --wait' retries until it is through)`, { cause: e })
              }
              rt.err(`peakguard: push failed (${visible((e as Error).message)}); retrying in ${Math.round(delay / 1000)} s`)
              await new Promise((res) => setTimeout(res, delay))
            }
          }
        } finally {
          await r.close()
        }
        const bytes = pushes.reduce((n, p) => n + p.bytes, 0)
        print(rt, o, { location: r.store.location, upToDate: !more, pushes }, () =>
          pushes.length
            ? [
                ...pushes.map((p) => `pushed #${p.seq} to ${r.store.location}${p.bundle ? `: ${p.bundle.full ? 'full' : 'incremental'} bundle of ${p.bundle.size} bytes` : ': refs only'}`),
                `${bytes} bytes written; ${more ? 'the journal changed meanwhile: more is waiting (--wait pushes until it is through)' : 'the replica is up to date'}`,
              ]
            : `${r.store.location} is up to date: nothing to push`,
        )
      }),
    )
}
