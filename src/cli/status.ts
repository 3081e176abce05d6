// peakguard status: the site's journal, its newest and last known-good states, pending live changes, and
// what was done about an interrupted restore.
import type { Command } from 'commander'
import { siteStatus } from '../services/index.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('status')
    .description("the site's newest and last known-good states, live changes not yet recorded, and recovery notes")
    .action(() =>
      run(async (o) => {
        const s = await withSite(rt, o, (site) => siteStatus(site))
        print(rt, o, s, () =>
          [
            `site          ${s.site}`,
            `states        ${s.states}`,
            `latest        ${s.latest ? `${s.latest.id.slice(0, 12)} ${s.latest.time} ${s.latest.message}` : '(none)'}`,
            `last good     ${s.lastGood ? `${s.lastGood.id.slice(0, 12)} ${s.lastGood.time}` : '(none)'}`,
            `live changes  ${s.pendingChanges ? `${s.pendingChanges.files} files, ${s.pendingChanges.options} options not yet recorded` : '-'}`,
            ...(s.busy ? [`running       ${s.busy}`] : []),
            ...(s.pendingRestore
              ? [`UNFINISHED    restore to ${s.pendingRestore.target.slice(0, 12)} could not be finished: ${s.pendingRestore.error}; go back with 'peakguard restore ${s.pendingRestore.safetySnapshot.slice(0, 12)} --yes'`]
              : []),
            `recovery      ${s.lastRecovery ? `${s.lastRecovery.at}: ${s.lastRecovery.what}` : 'nothing to recover'}`,
            `journal       ${s.journalProblems.length ? `PROBLEMS: ${s.journalProblems.join('; ')}` : 'ok'}`,
          ].join('\n'),
        )
      }),
    )
}
