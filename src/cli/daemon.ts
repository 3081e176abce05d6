// peakguard daemon: runs in the foreground (systemd's Type=simple) for every site in the config —
// watching, polling, probing — until SIGTERM or SIGINT, when pending changes are recorded before exit.
import type { Command } from 'commander'
import type { GlobalOptions, Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('daemon')
    .description('record every change within seconds, probe health, mark known-good states (foreground; for systemd)')
    .action(() => run((o) => rt.runDaemon(o)))
}
