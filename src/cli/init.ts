// peakguard init --wp-root DIR: reads wp-config.php, checks the database and writes a working config.
import type { Command } from 'commander'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('init')
    .description("add a WordPress site to the config from its wp-config.php (the database is checked first)")
    .requiredOption('--wp-root <dir>', 'the WordPress directory (holding wp-config.php)')
    .option('--site-id <id>', 'a short name for the site', 'default')
    .option('--data-dir <dir>', 'where journals live (outside the web root)')
    .action((flags: { wpRoot: string; siteId: string; dataDir?: string }) =>
      run(async (o) => {
        const r = await rt.init({ wpRoot: flags.wpRoot, siteId: flags.siteId, dataDir: flags.dataDir, config: o.config })
        print(rt, o, r, () =>
          [
            `added site ${r.site} to ${r.config}`,
            `  wp-content  ${r.wpContent}`,
            `  journal     ${r.dataDir}`,
            `  settings    ${r.tables.join(', ')}${r.multisite ? ' (multisite)' : ''}`,
            `next: peakguard snapshot --config ${r.config}${r.site === 'default' ? '' : ` --site ${r.site}`}`,
          ].join('\n'),
        )
      }),
    )
}
