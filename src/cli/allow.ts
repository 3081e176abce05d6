// peakguard allow --scope S --for 30m --reason TEXT: a pre-approved, scoped, time-boxed change window.
// Changes inside the scope while it is open are accepted during a freeze and attributed to it. Opening one
// is a freeze decision (role approver), audited as 'allow-window'.
import type { Command } from 'commander'
import { normalizeAllowScope } from '../core/index.ts'
import { siteZone } from '../services/freeze-calendar.ts'
import { openAllow, requireReason } from '../services/freeze.ts'
import { freezeDeps, parseDuration, syncBridge, when } from './freeze.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('allow')
    .description('pre-approve changes to one plugin, theme, drop-in or option for a while, during a freeze (role approver)')
    .requiredOption('--scope <scope>', 'plugins/NAME, themes/NAME, mu-plugins/NAME, a drop-in file, option:NAME (a * glob is allowed), theme:NAME, entity:TYPE/THEME/SLUG or table:NAME')
    .requiredOption('--for <duration>', 'how long it stays open, e.g. 30m (at most 24h)')
    .option('--reason <text>', 'why (required): audited, and the changes are attributed to it')
    .action((c: { scope: string; for: string; reason?: string }) =>
      run(async (o) => {
        const reason = requireReason(c.reason, 'an allow-window')
        const scope = normalizeAllowScope(c.scope) // a bad scope is refused before any password is asked
        const forMs = parseDuration(c.for, '--for')
        const actor = await rt.actor(o, 'freeze')
        const w = await openAllow(await freezeDeps(rt, o), { scope, forMs, reason, actor: actor.name })
        await syncBridge(rt, o)
        const zone = siteZone(rt.freezeSettings(o).freeze)
        print(rt, o, { allow: { ...w, start: new Date(w.start).toISOString(), end: new Date(w.end).toISOString() } }, () =>
          `allowed: changes to ${w.scope} until ${when(w.end, zone)} (${w.id}): ${w.reason}`,
        )
      }),
    )
}
