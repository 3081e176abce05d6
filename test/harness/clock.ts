// A process clock a test chooses: the environment that starts a child process (the peakguard CLI, the
// daemon) at a fixed instant, through Debian's libfaketime. The clock then runs on from that instant, and
// the processes the child starts (git, php) go on from where it is instead of starting over; timers
// (the monotonic clock) are left alone, so timeouts and intervals behave as usual.
// In-process code takes its clock as a parameter (`now`) instead; this is for the code behind a process
// boundary, which a test cannot hand a parameter to.
import fs from 'node:fs'

export const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/** Fails with the install command when libfaketime is missing (a test must not pass by skipping). */
export function requireFaketime(): string {
  if (!fs.existsSync(LIBFAKETIME)) throw new Error(`libfaketime is missing (${LIBFAKETIME}): install it with 'apt-get install faketime' (scripts/setup.sh does)`)
  return LIBFAKETIME
}

/**
 * The environment that starts a process at `iso` (an ISO instant with its offset, e.g. 2026-11-27T23:30Z),
 * optionally in the time zone `tz`. Epoch seconds are handed over (FAKETIME_FMT=%s), so the instant does
 * not depend on the zone the process runs in.
 */
export function clockAt(iso: string, tz?: string): NodeJS.ProcessEnv {
  const ms = Date.parse(iso)
  if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso) || Number.isNaN(ms)) throw new Error(`clockAt: ${iso} is not an ISO instant with an offset`)
  const preload = [requireFaketime(), ...(process.env.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p && p !== LIBFAKETIME)].join(':')
  return {
    LD_PRELOAD: preload,
    FAKETIME: `@${Math.floor(ms / 1000)}`,
    FAKETIME_FMT: '%s',
    FAKETIME_DONT_RESET: '1',
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
    // libfaketime keeps the clock's starting point in shared memory named here; inherited from a test run
    // that itself runs under libfaketime, the child would start from that run's beginning, not at `iso`
    FAKETIME_SHARED: undefined,
    ...(tz ? { TZ: tz } : {}),
  }
}

/**
 * The clock variables of this process (libfaketime's and TZ), for a child the harness starts with a clean
 * environment (php as www-data): so that, in a run with a shifted clock, WordPress sees the time the CLI
 * and the daemon see.
 */
export function inheritedClock(): Record<string, string> {
  const out: Record<string, string> = {}
  // not FAKETIME_SHARED: its semaphore belongs to root, and php runs as www-data (a relative offset needs no
  // shared starting point)
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && (k === 'LD_PRELOAD' || k === 'TZ' || (k.startsWith('FAKETIME') && k !== 'FAKETIME_SHARED'))) out[k] = v
  return out
}

/** This process's environment without libfaketime (for a child that must run on the machine's clock). */
export function withoutFaketime(): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('FAKETIME')) out[k] = v
  const preload = (out.LD_PRELOAD ?? '').split(/[: ]/).filter((p) => p && p !== LIBFAKETIME)
  if (preload.length) out.LD_PRELOAD = preload.join(':')
  else delete out.LD_PRELOAD
  return out
}
