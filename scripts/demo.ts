// npm run demo: a real WordPress shop on 127.0.0.1:8080 (its own MariaDB, a few plugins, sample orders,
// Twenty Twenty-Three with a customised header and background colour) watched by peakguard, whose UI is
// on 127.0.0.1:8087 — to click through the night shift's story yourself: break the shop from wp-admin (a
// broken plugin, a header without its Checkout button), then put it back from peakguard. Prints the URLs
// and logins, then the daemon's events as they happen. Ctrl-C stops everything it started; every run
// starts afresh in snapshots/demo/. (`npm run demo:story` tells a scripted version of the story by itself.)
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import type { LogLine } from '../test/harness/daemon.ts'
import { REPO } from '../test/harness/site.ts'
import { DEMO_DESIGN, DEMO_UPSELL, startDemoStack, type DemoStack } from './demo-stack.ts'

const WP_PORT = 8080
const UI_PORT = 8087
const DIR = path.join(REPO, 'snapshots/demo')

const say = (text = ''): void => void process.stdout.write(`${text}\n`)
const bold = (text: string): string => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text)

/**
 * WordPress runs as www-data and MariaDB is started privately, which only root can do: run this script
 * alone again under sudo (npm, its dependencies and the build stay the caller's). Resolves never.
 */
function rerunAsRoot(): Promise<never> {
  if (spawnSync('sudo', ['--version'], { stdio: 'ignore' }).error) {
    say(`the demo runs WordPress as www-data and a MariaDB of its own, which needs root: run it as root (sudo is not installed)`)
    process.exit(1)
  }
  say('the demo runs WordPress as www-data and a MariaDB of its own, which needs root: running it with sudo')
  const child = spawn('sudo', ['--', process.execPath, ...process.argv.slice(1)], { stdio: 'inherit' })
  // Ctrl-C reaches sudo and the demo from the terminal; this process only waits for them
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => sig === 'SIGTERM' && child.kill(sig))
  return new Promise(() => child.on('close', (code) => process.exit(code ?? 1)))
}

function banner(s: DemoStack, seconds: number): void {
  const l = s.logins
  const who = (r: keyof DemoStack['logins']) => `${l[r].name} / ${l[r].password}`.padEnd(38)
  say()
  say(bold(`peakguard demo: ready in ${seconds} s`))
  say()
  say(`  the shop (WordPress)   ${s.wp.url}/`)
  say(`  wp-admin               ${s.wp.url}/wp-admin/   ${s.wpAdmin.name} / ${s.wpAdmin.password}`)
  say()
  say(`  peakguard              ${s.uiUrl}/`)
  say(`    admin                ${who('admin')} everything, users and break-glass too`)
  say(`    approver             ${who('approver')} freezes, approves change requests`)
  say(`    operator             ${who('operator')} restores, marks known-good`)
  say(`    viewer               ${who('viewer')} looks only`)
  say()
  say('  what to try:')
  say('    1. wait about 15 s: peakguard marks the shop\'s healthy state known-good')
  say(`    2. in wp-admin > Plugins, activate "${DEMO_UPSELL.name}": every page of the shop now shows WordPress's critical error`)
  say('    3. in peakguard, restore the last known-good state (as operator): the shop is back, and no order is lost')
  say('    4. in wp-admin > Appearance > Editor, open the header, delete its "Checkout" button and Save: no page of the shop has it any more')
  say('    5. in peakguard, open the last known-good state and click "Restore just this" beside template part "header" (as operator):')
  say(`       the button is back, nothing else moved (the CLI's way: restore last-good --only ${DEMO_DESIGN.header})`)
  say('    (an approver can also freeze the shop; then changes in wp-admin need a second person to approve them)')
  say()
  say(`  Ctrl-C stops everything the demo started. Its files are in ${DIR} until the next run.`)
  say()
}

/** A daemon log line as one line of the feed; null for noise (debug lines, the repeats of a failing probe). */
function feedLine(l: LogLine, failing: { now: boolean }): string | null {
  if (l.level === 'debug' || l.level === 'raw') return null
  const at = new Date(String(l.time)).toLocaleTimeString('en-GB')
  if (l.msg === 'health probe failed') {
    if (failing.now) return null
    failing.now = true
    const reasons = (l.failures as { reason: string }[] | undefined)?.map((f) => f.reason).join('; ')
    return `${at}  health probe failed: ${reasons} (repeats are not shown)`
  }
  failing.now = false
  if (l.msg === 'snapshot') return `${at}  snapshot ${String(l.state).slice(0, 12)} (${l.trigger}): ${l.summary}`
  if (l.msg === 'state marked known-good') return `${at}  known-good: ${String(l.state).slice(0, 12)}`
  return `${at}  ${l.level === 'info' ? '' : `${l.level}: `}${l.msg}`
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) await rerunAsRoot()
  let stack: DemoStack | null = null
  let stopping = false
  const stop = async (code: number, why: string): Promise<never> => {
    // a second signal (sudo relays the terminal's Ctrl-C as well) changes nothing: stopping is under way
    if (stopping) return new Promise<never>(() => undefined)
    stopping = true
    say(`\n${why}: stopping the daemon, WordPress (php -S) and the MariaDB`)
    await stack?.stop()
    const left = stack?.processes() ?? []
    say(left.length ? `still running, stop them by hand:\n${left.join('\n')}` : 'stopped: nothing the demo started is running')
    process.exit(left.length ? 1 : code)
  }
  // handled from the start: a Ctrl-C while the stack comes up stops it once it is up (or failed)
  let interrupted: NodeJS.Signals | null = null
  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    process.on(sig, () => {
      interrupted = sig
      if (stack) void stop(0, sig)
    })

  const t0 = Date.now()
  try {
    stack = await startDemoStack({ dir: DIR, wpPort: WP_PORT, uiPort: UI_PORT, log: (line) => say(`demo: ${line}`) })
  } catch (e) {
    // a Ctrl-C reaches the children too, so the start fails; startDemoStack has stopped what it started
    if (interrupted) say(`\n${interrupted}: stopped while starting`)
    else say(`\nthe demo could not start: ${(e as Error).message}`)
    process.exit(interrupted ? 0 : 1)
  }
  if (interrupted) return void (await stop(0, interrupted))
  banner(stack, Math.round((Date.now() - t0) / 1000))

  // the daemon's events as they happen
  const d = stack.daemon
  const failing = { now: false }
  let seen = 0
  const feed = () => {
    for (; seen < d.lines.length; seen++) {
      const line = feedLine(d.lines[seen] as LogLine, failing)
      if (line) say(line)
    }
  }
  feed()
  d.proc.stdout?.on('data', () => setImmediate(feed))
  void d.exited.then((code) => stopping || stop(1, `the peakguard daemon exited (code ${code}); its last output:\n${d.output().slice(-2000)}\n`))
}

await main()
