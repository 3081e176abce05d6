// peakguard show ID: one state with what changed in it.
import type { Command } from 'commander'
import { shortId } from '../core/index.ts'
import { resolveState, showState } from '../services/index.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'
import { changeLines } from './diff.ts'
import { stateDetailJson } from '../services/reports.ts'
import { stateWords } from '../services/words.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('show <id>')
    .description('show one state (full id, unambiguous prefix, latest, last-good) and what changed in it')
    .action((idText: string) =>
      run(async (o) => {
        const { d, words } = await withSite(rt, o, async (site) => {
          const d = await showState(site, await resolveState(site, idText))
          // --json keeps what the snapshot stored (as the API does); the text says it for older states too
          return { d, words: o.json ? d.words : await stateWords(site, d) }
        })
        const json = stateDetailJson(d)
        print(rt, o, json, () =>
          [
            `state    ${d.id}${d.knownGood ? '  (known-good' + (d.note ? `: ${d.note}` : '') + ')' : ''}`,
            `time     ${d.time}`,
            `trigger  ${d.trigger}`,
            `message  ${d.message}`,
            ...(words?.length ? [`changed  ${words.join('; ')}`] : []),
            `parent   ${d.parent ?? '(none: first state)'}`,
            ...auditLines(d.trailers),
            `holds    ${d.counts.files} files, ${d.counts.options} options`,
            `health   ${
              d.health
                ? `${d.health.passes} probe rounds passed, ${d.health.failures} failed (${d.health.firstProbe} – ${d.health.lastProbe})` +
                  (d.health.lastFailure ? `; last failure ${d.health.lastFailure.at}: ${d.health.lastFailure.reason}` : '') +
                  (d.health.markedGoodAt ? `; marked known-good ${d.health.markedGoodAt}` : '')
                : 'never probed while live'
            }`,
            '',
            ...changeLines(d.changes),
          ],
        )
      }),
    )
}

/** Who and why, for a restore; and a snapshot taken while the settings could not be read. */
function auditLines(t: Record<string, string>): string[] {
  const lines: string[] = []
  if (t['Peakguard-Restore-Of'])
    lines.push(`restores ${t['Peakguard-Restore-Of']}` + (t['Peakguard-Safety-Snapshot'] ? ` (undo: peakguard restore ${shortId(t['Peakguard-Safety-Snapshot'])})` : ''))
  if (t['Peakguard-Actor']) lines.push(`by       ${t['Peakguard-Actor']}${t['Peakguard-Restore-Trigger'] ? ` (${t['Peakguard-Restore-Trigger']})` : ''}`)
  if (t['Peakguard-Reason']) lines.push(`why      ${t['Peakguard-Reason']}`)
  if (t['Peakguard-Caused-By']) lines.push(`caused   ${t['Peakguard-Caused-By']}${t['Peakguard-Events'] ? ` [${t['Peakguard-Events']}]` : ''}`)
  if (t['Peakguard-Freeze']) lines.push(`freeze   ${t['Peakguard-Freeze']}`)
  if (t['Peakguard-Pre-Update-Missed']) lines.push(`WARNING  no snapshot was taken before this update: ${t['Peakguard-Pre-Update-Missed']}`)
  if (t['Peakguard-Settings']) lines.push(`settings ${t['Peakguard-Settings']}`)
  return lines
}
