// peakguard config: the configuration as peakguard understood it — defaults filled in, paths resolved,
// the database password redacted.
import type { Command } from 'commander'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('config')
    .description('show the configuration with every default and resolved path (secrets redacted)')
    .action(() =>
      run(async (o) => {
        const c = rt.showConfig(o)
        print(rt, o, c, () => [`# ${c.file}`, ...c.yaml.split('\n')])
      }),
    )
}
