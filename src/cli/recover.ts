// peakguard recover --from-s3 --site ID --data-dir DIR [--config FILE]: rebuilds a site's journal on a new
// host from its S3 replica alone (every snapshot and known-good mark), checks it, and says what to run next.
import type { Command } from 'commander'
import { shortId } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('recover')
    .description("rebuild a site's journal from its S3 replica into an empty data directory (disaster recovery)")
    .option('--from-s3', 'from the S3 replica configured for the site (the only source there is)')
    .option('--data-dir <dir>', "the data directory to rebuild in (the journal goes to DIR/<site>/); default: the config's")
    .option('--manifest <key>', 'rebuild from this manifest (manifests/…json) instead of the newest, e.g. when the newest is damaged')
    .action((flags: { fromS3?: boolean; dataDir?: string; manifest?: string }) =>
      run(async (o) => {
        if (!flags.fromS3) throw new PeakguardError('USAGE', 'say where to recover from: peakguard recover --from-s3 --site ID --data-dir DIR')
        const r = await rt.recover({ site: o.site, config: o.config, dataDir: flags.dataDir, manifest: flags.manifest })
        const moved = r.dataDir !== r.configDataDir
        print(rt, o, r, () =>
          [
            `recovered site ${r.site} from ${r.location}`,
            `  manifest    #${r.seq} ${r.manifest}, pushed ${r.pushedAt}`,
            `  downloaded  ${r.bundles} bundle(s), ${r.bytes} bytes`,
            `  journal     ${r.journal}: ${r.commits} snapshots, ${r.marks} known-good, newest ${shortId(r.head) ?? '(none)'}; checked (git fsck, newest state readable)`,
            ...(moved ? [`  NOTE        ${r.config} keeps this site's data in ${r.configDataDir}: set dataDir there to ${r.dataDir.replace(/\/[^/]+$/, '')} before the next steps`] : []),
            `next: peakguard restore last-good --site ${r.site} --dry-run   (then without --dry-run to put the site back)`,
          ],
        )
      }),
    )
}
