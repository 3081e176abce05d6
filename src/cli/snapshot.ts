// peakguard snapshot [-m MSG]: records the live site if anything in scope changed.
import type { Command } from 'commander'
import { shortId } from '../core/index.ts'
import { snapshot } from '../services/index.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('snapshot')
    .description('record the live code and settings as a new state (nothing is recorded when nothing changed)')
    .option('-m, --message <text>', 'a message for the journal')
    .action((cmd: { message?: string }) =>
      run(async (o) => {
        const actor = await rt.actor(o, 'snapshot')
        const r = await withSite(rt, o, async (site) => {
          const r = await snapshot(site, { trigger: 'manual', message: cmd.message, trailers: { 'Peakguard-Actor': actor.name } })
          if (r.created)
            await (await rt.audit(o)).append({ type: 'snapshot', actor: actor.name, site: site.id, summary: `${actor.name} recorded ${shortId(r.id)}: ${r.summary}`, details: { state: r.id, summary: r.summary, trigger: 'manual' } })
          return r
        })
        const skipped = r.skipped ?? []
        print(rt, o, { id: r.id, created: r.created, summary: r.summary, skipped }, () =>
          [
            ...(r.created ? [`recorded ${r.id}`, `  ${r.summary}`] : [`no change since ${r.id}: nothing recorded`]),
            ...skipped.map((w) => `WARNING not recorded: ${w}`),
          ],
        )
      }),
    )
}
