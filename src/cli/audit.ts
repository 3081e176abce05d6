// peakguard audit [--since T] [--until T] [--actor A] [--type T] [--json|--csv]: the site's audit log.
// peakguard audit verify: walks the hash chain; exit 4 naming the first edited, removed or reordered entry.
import type { Command } from 'commander'
import { PeakguardError } from '../errors.ts'
import { parseWhen } from '../services/inputs.ts'
import { siteZone } from '../services/freeze-calendar.ts'
import { toCsv } from '../services/reports.ts'
import { print, type GlobalOptions, type Runtime } from './runtime.ts'

interface AuditFlags {
  since?: string
  until?: string
  actor?: string
  type?: string
  csv?: boolean
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  const audit = program
    .command('audit')
    .description("the site's audit log: who did what, when (hash-chained; see 'audit verify')")
    .option('--since <time>', 'entries at or after: an ISO time or a duration ago (2h, 7d)')
    .option('--until <time>', 'entries at or before: an ISO time or a duration ago')
    .option('--actor <name>', 'only this actor')
    .option('--type <type>', 'only this type (restore, mark-good, snapshot, user, token, login-failed, …)')
    .option('--csv', 'print CSV (with a header) instead of text')
    .action((flags: AuditFlags) =>
      run(async (o) => {
        if (flags.csv && o.json) throw new PeakguardError('USAGE', 'choose one of --json and --csv')
        const now = Date.now()
        const zone = siteZone(rt.freezeSettings(o).freeze)
        const log = await rt.audit(o)
        const entries = await log.query({
          since: flags.since === undefined ? undefined : parseWhen(flags.since, '--since', now, zone),
          until: flags.until === undefined ? undefined : parseWhen(flags.until, '--until', now, zone),
          actor: flags.actor,
          type: flags.type,
        })
        if (flags.csv) {
          rt.out(toCsv(entries))
          return
        }
        print(rt, o, { entries }, () =>
          entries.length ? entries.map((e) => `${e.time}  #${e.seq}  ${e.type.padEnd(13)} ${e.actor.padEnd(12)} ${e.summary}`) : 'no audit entries match',
        )
      }),
    )

  audit
    .command('verify')
    .description('check the hash chain: exit 0 when intact, 4 naming the first edited, removed or reordered entry')
    .action(() =>
      run(async (o) => {
        const r = await (await rt.audit(o)).verify()
        print(rt, o, r, () =>
          r.ok
            ? r.first && r.last
              ? `audit log intact: ${r.entries} entries, chain from #${r.first.seq} (${r.first.time}) to #${r.last.seq} (${r.last.time})`
              : 'audit log intact: 0 entries (nothing recorded yet)'
            : `audit log TAMPERED: first bad entry at ${r.firstBad?.where}${r.firstBad?.seq !== null ? ` (seq ${r.firstBad?.seq})` : ''}: ${r.firstBad?.problem}`,
        )
        if (!r.ok) throw new PeakguardError('AUDIT_TAMPERED', r.firstBad?.message ?? 'the audit log fails its hash chain', { details: { printed: true } })
      }),
    )
}
