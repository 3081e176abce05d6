// peakguard mark-good ID [--note TEXT] / unmark-good ID: the states the night shift goes back to.
import type { Command } from 'commander'
import { shortId } from '../core/index.ts'
import { markGood, resolveState, unmarkGood } from '../services/index.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('mark-good <id>')
    .description('mark a state as known-good')
    .option('--note <text>', 'why it is known to be good')
    .action((idText: string, flags: { note?: string }) =>
      run(async (o) => {
        const actor = await rt.actor(o, 'mark')
        const id = await withSite(rt, o, async (site) => {
          const id = await resolveState(site, idText)
          await markGood(site, id, flags.note ?? '')
          await (await rt.audit(o)).append({ type: 'mark-good', actor: actor.name, site: site.id, summary: `${actor.name} marked ${shortId(id)} known-good`, details: { state: id, note: flags.note ?? '' } })
          return id
        })
        print(rt, o, { id, knownGood: true }, () => `marked ${id} known-good`)
      }),
    )
  program
    .command('unmark-good <id>')
    .description('remove the known-good mark of a state')
    .action((idText: string) =>
      run(async (o) => {
        const actor = await rt.actor(o, 'mark')
        const id = await withSite(rt, o, async (site) => {
          const id = await resolveState(site, idText)
          await unmarkGood(site, id)
          await (await rt.audit(o)).append({ type: 'unmark-good', actor: actor.name, site: site.id, summary: `${actor.name} removed the known-good mark of ${shortId(id)}`, details: { state: id } })
          return id
        })
        print(rt, o, { id, knownGood: false }, () => `${id} is no longer marked known-good`)
      }),
    )
}
