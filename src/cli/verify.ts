// peakguard verify [--remote] [--read-data]: the local journal's integrity (git fsck) and replication state;
// --remote: every object the newest manifest needs is on S3 and the remote history is this journal's;
// --read-data: the replica is downloaded, decrypted and rebuilt in a scratch journal and compared.
import type { Command } from 'commander'
import { PeakguardError } from '../errors.ts'
import { verifyReplica } from '../services/index.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('verify')
    .description('check the journal, and with --remote the S3 replica')
    .option('--remote', 'check that the S3 replica holds every object its newest manifest needs')
    .option('--read-data', 'with --remote: download, decrypt and rebuild the replica, and compare it with this journal')
    .action((flags: { remote?: boolean; readData?: boolean }) =>
      run(async (o) => {
        if (flags.readData && !flags.remote) throw new PeakguardError('USAGE', '--read-data checks the replica: use it with --remote')
        const replica = flags.remote || rt.hasReplica(o) ? await rt.openReplica(o) : null
        try {
          const v = await withSite(rt, o, (site) => verifyReplica(site.journal, replica, !!flags.remote, !!flags.readData))
          print(rt, o, v, () => {
            const l = v.local
            const lines = [
              `journal       ${l.problems.length ? `PROBLEMS: ${l.problems.join('; ')}` : `ok (${l.snapshots} snapshots, git fsck clean)`}`,
              ...(replica ? [`replication   ${l.pending ? 'changes waiting to be pushed' : 'nothing waiting'}${l.lastError ? `; last error: ${l.lastError}` : ''}`] : []),
            ]
            const r = v.remote
            if (r)
              lines.push(
                `remote        ${r.location}: ${r.manifest ? `manifest #${r.seq} of ${r.pushedAt}, ${r.objects} objects, ${r.bytes} bytes${r.behind ? `, ${r.behind} snapshot(s) behind this host` : ''}` : 'empty'}`,
                ...(r.readData ? [`read-data     ${r.readData.bundles} bundle(s), ${r.readData.bytes} bytes downloaded and decrypted; ${r.readData.commits} snapshots rebuilt, identical to this journal's`] : []),
                ...r.problems.map((p) => `PROBLEM       ${p}`),
              )
            lines.push(v.ok ? 'verify: ok' : 'verify: FAILED')
            return lines
          })
          if (!v.ok) throw new PeakguardError('REPLICA_INVALID', 'verify found problems (listed above)', { details: { printed: true } })
        } finally {
          await replica?.close()
        }
      }),
    )
}
