// peakguard init --wp-root DIR: reads wp-config.php, checks the database and writes a working config.
import type { Command } from 'commander'
import { PeakguardError } from '../errors.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

interface InitFlags {
  wpRoot: string
  siteId: string
  dataDir?: string
  s3Bucket?: string
  s3Prefix?: string
  s3Region?: string
  s3Endpoint?: string
  s3PathStyle?: boolean
  s3KeyFile?: string
  uiListen?: string
  settingsTables?: string
  fleet?: boolean
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('init')
    .description("add a WordPress site to the config from its wp-config.php (the database is checked first)")
    .requiredOption('--wp-root <dir>', 'the WordPress directory (holding wp-config.php)')
    .option('--site-id <id>', 'a short name for the site', 'default')
    .option('--data-dir <dir>', 'where journals live (outside the web root)')
    .option('--s3-bucket <name>', 'replicate every snapshot to this S3 bucket')
    .option('--s3-prefix <prefix>', 'objects go under PREFIX/<site id>/ (default: peakguard)')
    .option('--s3-region <region>', 'the bucket\'s region (default: us-east-1)')
    .option('--s3-endpoint <url>', 'an S3-compatible server (MinIO, R2, Wasabi, Ceph) instead of AWS')
    .option('--s3-path-style', 'path-style URLs (most S3-compatible servers need them)')
    .option('--s3-key-file <file>', 'encrypt the replica with this AES-256 key file (32 bytes, mode 0600)')
    .option('--fleet', 'this site runs on several web nodes sharing its database and replica (needs --s3-bucket; run init on every node)')
    .option('--ui-listen <host:port>', 'where the daemon serves the web UI (default 127.0.0.1:8087; keep it on loopback behind a TLS proxy)')
    .option('--settings-tables <list>', "plugin settings tables to record beside options, comma-separated: a preset (woocommerce) or table names without the prefix; each is checked in the database first")
    .action((flags: InitFlags) =>
      run(async (o) => {
        const s3Given = flags.s3Prefix ?? flags.s3Region ?? flags.s3Endpoint ?? flags.s3PathStyle ?? flags.s3KeyFile
        if (s3Given !== undefined && !flags.s3Bucket) throw new PeakguardError('USAGE', 'the --s3-* options need --s3-bucket')
        if (flags.fleet && !flags.s3Bucket) throw new PeakguardError('USAGE', '--fleet needs --s3-bucket: the nodes of a fleet share their history through the S3 replica')
        const s3 = flags.s3Bucket
          ? { bucket: flags.s3Bucket, prefix: flags.s3Prefix, region: flags.s3Region, endpoint: flags.s3Endpoint, forcePathStyle: flags.s3PathStyle, keyFile: flags.s3KeyFile }
          : undefined
        const r = await rt.init({
          wpRoot: flags.wpRoot,
          siteId: flags.siteId,
          dataDir: flags.dataDir,
          config: o.config,
          s3,
          uiListen: flags.uiListen,
          fleet: flags.fleet === true,
          ...(flags.settingsTables !== undefined ? { settingsTables: [flags.settingsTables] } : {}),
          // a preset found in the database is asked about only where a person answers
          ask: rt.isInteractive() && !o.json,
        })
        const where = `site ${r.site} in ${r.config}`
        print(rt, o, r, () =>
          [
            `added site ${r.site} to ${r.config}`,
            `  wp-content  ${r.wpContent}`,
            `  journal     ${r.dataDir}`,
            `  settings    ${r.tables.join(', ')}${r.multisite ? ' (multisite)' : ''}`,
            ...(r.settingsTables.length ? [`  tables      settingsTables: [${r.settingsTables.join(', ')}] (recorded row by row beside the options)`] : []),
            ...(r.offer
              ? [
                  `  found       ${r.offer.presets.join(', ')}: its settings tables are in the database but NOT recorded; to record them, add this line to ${where}:`,
                  `                ${r.offer.line}`,
                  `              (or give init ${r.offer.flag})`,
                ]
              : []),
            ...r.warnings.map((w) => `  WARNING     ${w}`),
            ...(r.fleet ? [`  fleet       node ${r.fleet.node}; fleet tables ${r.fleet.tables[0]}, ${r.fleet.tables.slice(1).map((t) => t.slice(t.indexOf('peakguard_') + 'peakguard'.length)).join(', ')} ready`] : []),
            ...(r.s3 ? [`  replica     ${r.s3.location}${r.s3.encrypted ? ', encrypted (AES-256-GCM)' : ', NOT encrypted (--s3-key-file)'}; ${r.s3.check}`] : []),
            `  web UI      http://${r.uiListen} (served by 'peakguard daemon'; create the first user with 'peakguard user add NAME --role admin --password-stdin')`,
            `next: peakguard snapshot --config ${r.config}${r.site === 'default' ? '' : ` --site ${r.site}`}`,
          ],
        )
      }),
    )
}
