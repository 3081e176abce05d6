// peakguard prune [--keep-days N] [--dry-run] [--yes]: deletes replica objects superseded by a newer,
// verified full bundle (old bundles and manifests, leftovers of failed uploads) once they are older than
// the retention period. Every snapshot and known-good state stays: the full bundle holds them all. The
// only command that deletes anything on S3; normal operation only creates objects.
import type { Command } from 'commander'
import { PeakguardError } from '../errors.ts'
import { applyPrune, planReplicaPrune } from '../services/index.ts'
import { print, shown, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('prune')
    .description('delete S3 replica objects superseded by a newer verified full bundle')
    .option('--keep-days <n>', 'keep superseded objects younger than this many days', '30')
    .option('--dry-run', 'list what would be deleted, delete nothing')
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .action((flags: { keepDays: string; dryRun?: boolean; yes?: boolean }) =>
      run(async (o) => {
        const days = Number(flags.keepDays)
        if (!Number.isFinite(days) || days < 0) throw new PeakguardError('USAGE', `--keep-days ${flags.keepDays}: a number of days (0 or more)`)
        if (!flags.dryRun && !flags.yes && !rt.isInteractive()) throw new PeakguardError('CONFIRM_REQUIRED', 'prune deletes objects on S3: pass --yes to confirm (or --dry-run to see the list)')
        const r = await rt.openReplica(o)
        try {
          const plan = await planReplicaPrune(r, days * 86_400_000)
          if (!flags.dryRun && !flags.yes && plan.remove.length) {
            rt.err(shown(plan.remove.map((x) => `  would delete ${x.key} (${x.lastModified})`)))
            if (!(await rt.confirm(`Delete these ${plan.remove.length} objects (${plan.removedBytes} bytes) from ${plan.location}? [y/N] `)))
              throw new PeakguardError('CONFIRM_REQUIRED', 'prune cancelled: nothing was deleted')
          }
          // exactly the plan that was shown (and confirmed): no second look that might differ
          const p = flags.dryRun ? plan : await applyPrune(r, plan)
          print(rt, o, p, () =>
            [
              `${p.dryRun ? 'would delete' : 'deleted'} ${p.remove.length} object(s), ${p.removedBytes} bytes, from ${p.location}; kept ${p.keep.length}`,
              ...(p.anchor ? [`every state is in the chain of ${p.anchor}, which was downloaded and verified first`] : []),
              ...p.remove.map((x) => `  ${p.dryRun ? 'would delete' : 'deleted'} ${x.key} (${x.lastModified})`),
              ...p.notes.map((n) => `note: ${n}`),
            ],
          )
        } finally {
          await r.close()
        }
      }),
    )
}
