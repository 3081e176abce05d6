// peakguard wp install-bridge | uninstall-bridge | bridge-status: the WordPress bridge, the mu-plugin that
// enforces freeze windows inside WordPress and reports who changed what. Installing and removing it need
// the role that manages freezes (approver); its status is for viewers.
import type { Command } from 'commander'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

function age(seconds: number | null): string {
  if (seconds === null) return 'unknown age'
  if (seconds < 120) return `${seconds} s old`
  if (seconds < 7200) return `${Math.round(seconds / 60)} min old`
  return `${Math.round(seconds / 3600)} h old`
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  const wp = program.command('wp').description('the WordPress bridge (mu-plugin): freezes enforced inside WordPress, change records, cache flush')

  wp.command('install-bridge')
    .description('write wp-content/mu-plugins/peakguard-bridge.php and its folder (state, events, secret); run again to update it')
    .action(() =>
      run(async (o) => {
        await rt.actor(o, 'freeze')
        const b = await rt.bridge(o)
        const r = await b.install()
        // the flush endpoint answering proves that WordPress loads the bridge and can read its secret
        const check = await b.flushCaches()
        const state = (await b.status()).state
        print(rt, o, { ...r, state, check }, () =>
          [
            `${r.previous === null ? 'installed' : r.previous === r.version ? 'rewrote' : `updated (was version ${r.previous})`} the WordPress bridge version ${r.version}: ${r.file}`,
            `bridge folder ${r.dir}: state.json (${state.activeFreeze ? 'a freeze is on now' : 'no freeze now'}, ${state.freezes} freeze(s) ahead), events.jsonl, secret (${r.createdSecret ? 'new' : 'kept'})`,
            check.ok ? `WordPress loads it: the cache flush answered (${check.detail})` : `WARNING: the cache flush did not work: ${check.detail}`,
            ...r.warnings.map((w) => `WARNING: ${w}`),
            `remove it with 'peakguard wp uninstall-bridge' (or delete the file)`,
          ],
        )
      }),
    )

  wp.command('uninstall-bridge')
    .description('remove the mu-plugin (the bridge folder with its events stays)')
    .action(() =>
      run(async (o) => {
        await rt.actor(o, 'freeze')
        const b = await rt.bridge(o)
        const r = await b.uninstall()
        print(rt, o, { ...r, dir: b.dir }, () =>
          r.removed
            ? `removed ${r.file}: WordPress no longer enforces freezes or records events (the folder ${b.dir} is kept)`
            : `the bridge was not installed (${r.file} does not exist)`,
        )
      }),
    )

  wp.command('bridge-status')
    .description('whether the bridge is installed, its version, the age of its state file, how many events it recorded')
    .action(() =>
      run(async (o) => {
        await rt.actor(o, 'view')
        const b = await rt.bridge(o)
        const s = await b.status()
        print(rt, o, s, () => {
          const lines = [
            s.installed
              ? `installed: version ${s.installed.version}${s.installed.version !== s.current ? ` (this peakguard installs ${s.current}: run 'peakguard wp install-bridge')` : ''} at ${s.file}`
              : `not installed (${s.file}): 'peakguard wp install-bridge' installs it`,
            `folder:    ${s.dir}`,
            s.state.readable
              ? `state:     written ${s.state.writtenAt ?? '?'} (${age(s.state.ageSeconds)}), ${s.state.freezes} freeze(s), ${s.state.activeFreeze ? 'FROZEN now' : 'not frozen now'}`
              : `state:     UNREADABLE or missing: WordPress does not enforce freezes`,
            `events:    ${s.events.count} (${s.events.bytes} bytes)`,
            `secret:    ${s.secret ? 'present' : 'MISSING: the cache flush cannot work'}`,
          ]
          return lines
        })
      }),
    )
}
