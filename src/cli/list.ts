// peakguard list: every recorded state, newest first.
import type { Command } from 'commander'
import { shortId, wordsLine, type StateInfo } from '../core/index.ts'
import { listStates } from '../services/index.ts'
import { stateJson } from '../services/reports.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('list')
    .description('list the recorded states, newest first')
    .action(() =>
      run(async (o) => {
        const states = await withSite(rt, o, (site) => listStates(site))
        print(
          rt,
          o,
          states.map(stateJson),
          () =>
            states.length === 0
              ? "no states yet: run 'peakguard snapshot'"
              : states
                  .map((s) => `${shortId(s.id)}  ${s.time.replace('T', ' ').slice(0, 19)}Z  ${s.trigger.padEnd(11)} ${s.knownGood ? 'GOOD ' : '     '} ${what(s)}${s.causedBy ? `  — by ${s.causedBy}` : ''}`),
        )
      }),
    )
}

/** What happened in words, with the message when one was given; a state recorded before words were shows its message (the raw summary). */
function what(s: StateInfo): string {
  if (!s.words?.length) return s.message
  return s.message === s.summary ? wordsLine(s.words) : `${wordsLine(s.words)}  (${s.message})`
}
