// peakguard requests | request ID | approve ID | reject ID: the change requests a freeze opened, and
// their decision under the two-person rule.
import type { Command } from 'commander'
import { shortId, type ChangeRequest } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { askForApproval, decide, listRequests, loadRequest, type GovernanceDeps } from '../services/index.ts'
import { decisionJson } from '../services/reports.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

async function governance(rt: Runtime, o: GlobalOptions): Promise<GovernanceDeps & { close(): Promise<void> }> {
  return rt.governance(o)
}

function lines(r: ChangeRequest): string[] {
  const state = r.status === 'pending' ? (r.reverted ? 'PENDING (reverted: waiting for approval)' : 'PENDING (live, held for approval)') : r.status.toUpperCase()
  return [
    `${r.id}  ${state}`,
    `  when     ${r.createdAt} during freeze '${r.freeze.source}' (until ${r.freeze.end})`,
    `  changes  ${r.summary}`,
    ...(r.schema?.length ? [`  schema   ${r.schema.join('; ')}`] : []),
    ...(r.held ? [`  holds    ${r.held}`] : []),
    `  by       ${r.attribution.label}${r.attribution.events?.length ? ` [${r.attribution.events.join('; ')}]` : ''}`,
    `  requester ${r.requester}${r.reason ? `: ${r.reason}` : ''}`,
    `  states   before ${shortId(r.base)}, attempted ${shortId(r.attempted)} (peakguard diff ${shortId(r.base)} ${shortId(r.attempted)})`,
    ...(r.decision ? [`  decided  ${r.status} by ${r.decision.by} at ${r.decision.at}${r.decision.breakGlass ? ' (BREAK-GLASS)' : ''}${r.decision.note ? `: ${r.decision.note}` : ''}`] : []),
    ...(r.outcome ? [`  outcome  ${r.outcome}`] : []),
  ]
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('requests')
    .description('list the change requests a freeze opened (pending ones; --all for decided ones too)')
    .option('--all', 'include approved and rejected requests')
    .action((c: { all?: boolean }) =>
      run(async (o) => {
        await rt.actor(o, 'view')
        const list = await listRequests(rt.docs(o), { all: c.all })
        print(rt, o, list, () => (list.length ? list.flatMap((r, i) => [...(i ? [''] : []), ...lines(r)]) : c.all ? 'no change requests' : 'no pending change requests'))
      }),
    )

  program
    .command('request <id>')
    .description('ask for the approval of a change you made during a freeze, with a reason')
    .requiredOption('--reason <text>', 'why the change is needed (the approver decides on it)')
    .action((id: string, c: { reason: string }) =>
      run(async (o) => {
        const actor = await rt.actor(o, 'request')
        const g = await governance(rt, o)
        try {
          const r = await withSite(rt, o, (site) => askForApproval(g, site, id, actor, c.reason))
          print(rt, o, r, () => ['asked for approval:', ...lines(r)])
        } finally {
          await g.close()
        }
      }),
    )

  for (const verb of ['approve', 'reject'] as const) {
    program
      .command(`${verb} <id>`)
      .description(
        verb === 'approve'
          ? 'approve a change request (a reverted change is applied again); never your own'
          : 'reject a change request (a change kept live is reverted); never your own',
      )
      .option('--note <text>', 'a note kept with the decision', '')
      .option('--break-glass', 'admin only: decide even though you made or requested the change (audited and notified)')
      .option('--reason <text>', 'why glass is broken (required with --break-glass)')
      .action((id: string, c: { note: string; breakGlass?: boolean; reason?: string }) =>
        run(async (o) => {
          if (c.breakGlass && !c.reason?.trim()) throw new PeakguardError('USAGE', '--break-glass needs --reason TEXT: breaking glass is audited and notified, with its reason')
          if (!c.breakGlass && c.reason) throw new PeakguardError('USAGE', `--reason goes with --break-glass; a note on the decision is --note`)
          const actor = await rt.actor(o, c.breakGlass ? 'break-glass' : 'approve')
          const g = await governance(rt, o)
          try {
            const before = await loadRequest(g.docs, id)
            const d = await withSite(rt, o, (site) => decide(g, site, { id: before.id, actor, approve: verb === 'approve', note: c.note, breakGlass: c.breakGlass ? { reason: c.reason ?? '' } : null }))
            print(rt, o, decisionJson(d), () => [
              `${verb === 'approve' ? 'approved' : 'rejected'}: ${d.request.outcome}`,
              ...lines(d.request),
              ...(d.restore?.caches ? [`caches ${d.restore.caches.ok ? 'flushed' : `NOT flushed: ${d.restore.caches.detail}`}`] : []),
              ...(d.restore?.safetySnapshot ? [`undo: peakguard restore ${shortId(d.restore.safetySnapshot)}`] : []),
            ])
          } finally {
            await g.close()
          }
        }),
      )
  }
}
