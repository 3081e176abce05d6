// peakguard restore ID [--dry-run] [--only PATH|option:NAME|entity:TYPE/THEME/SLUG|table:NAME[#KEY] …] [--yes]: puts the live site back to a state.
import type { Command } from 'commander'
import { parseOnly, shortId, visible } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { resolveState, restore, type RestoreReport } from '../services/index.ts'
import { assertMayRestore, restoreAs, type OperateDeps } from '../services/operate.ts'
import { restoreJson } from '../services/reports.ts'
import { changeLines } from './diff.ts'
import { print, shown, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

interface RestoreFlags {
  dryRun?: boolean
  only: string[]
  yes?: boolean
  breakGlass?: boolean
  reason?: string
  acrossSchemaChange?: boolean
  restoreMarkers?: boolean
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('restore <id>')
    .description('restore the live code and settings to a recorded state; content (posts, orders, users, uploads) is never touched')
    .option('--dry-run', 'show what would be written, write nothing')
    .option('--only <item>', 'restore only this plugin/theme directory, file, option:NAME, Site Editor entity:TYPE/THEME/SLUG or settings table:NAME[#KEY] (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('-y, --yes', 'do not ask for confirmation (required without a terminal)')
    .option('--break-glass', 'admin only, during a freeze: restore a state recorded during the freeze (audited and notified)')
    .option('--reason <text>', 'why glass is broken (required with --break-glass)')
    .option('--across-schema-change', 'the database schema or a migration marker changed since the state: restore code and settings anyway, keeping the live schema and markers (audited)')
    .option('--restore-markers', 'admin only, with --across-schema-change: write the state\'s migration markers too (after restoring the tables from a database backup)')
    .action((idText: string, flags: RestoreFlags) =>
      run(async (o) => {
        const only = parseOnly(flags.only)
        if (!flags.dryRun && !flags.yes) {
          if (!rt.isInteractive())
            throw new PeakguardError('CONFIRM_REQUIRED', 'restore writes to the live site: pass --yes to confirm (or --dry-run to see the plan)')
        }
        if (flags.breakGlass && !flags.reason?.trim()) throw new PeakguardError('USAGE', '--break-glass needs --reason TEXT: breaking glass is audited and notified, with its reason')
        // a dry run writes nothing, so it needs no proof and leaves no audit entry
        const actor = flags.dryRun ? null : await rt.actor(o, flags.breakGlass || flags.restoreMarkers ? 'break-glass' : 'restore')
        const layout = { acrossSchemaChange: flags.acrossSchemaChange === true, restoreMarkers: flags.restoreMarkers === true }
        const r = await withSite(rt, o, async (site) => {
          const target = await resolveState(site, idText)
          const g = await rt.governance(o)
          const deps: OperateDeps = { ...g, site }
          try {
            // refused before anything is asked: a restore the freeze forbids needs no confirmation
            if (actor) await assertMayRestore(deps, target, !!flags.breakGlass)
            if (!flags.dryRun && !flags.yes) {
              const plan = await restore(site, { target, dryRun: true, only, ...layout })
              rt.err(shown([...layoutLines(plan), ...changeLines(plan.plan)]))
              // refused before anything is asked: the answer would be a refusal anyway
              if (plan.layout?.crosses && !layout.acrossSchemaChange)
                throw new PeakguardError('SCHEMA_CHANGE', `restoring ${shortId(target)} crosses a database migration (shown above). Nothing was written; to restore code and settings and keep the live schema, repeat with --across-schema-change`)
              if (!(await rt.confirm(`Restore site ${site.id} to ${shortId(target)}: write ${plan.files.written} files, remove ${plan.files.removed}, write ${plan.options.written} settings rows, remove ${plan.options.removed}? [y/N] `)))
                throw new PeakguardError('CONFIRM_REQUIRED', 'restore cancelled: nothing was changed')
            }
            return await restoreAs(deps, actor, { target, only, onlyText: flags.only, dryRun: flags.dryRun, breakGlass: flags.breakGlass ? { reason: flags.reason ?? '' } : null, ...layout })
          } finally {
            await g.close()
          }
        })
        print(rt, o, restoreJson(r), () => text(r))
        if (r.verified === false) throw verifyError(r)
      }),
    )
}

/**
 * What a restore does about a database migration between the live site and the target, first and in words: the
 * tables, what it means, what peakguard does. Empty when there is none.
 */
export function layoutLines(r: RestoreReport): string[] {
  const l = r.layout
  if (!l) return []
  if (!l.crosses)
    return ['note: this state was recorded before peakguard kept the database schema: whether the schema changed since cannot be told (code and settings are restored as usual)']
  const lines = ['WARNING: this restore crosses a database migration. Since that state:']
  for (const s of l.schema) lines.push(`  ${s}`)
  if (l.markers.length || l.markersRestored.length) lines.push(`  migration markers changed: ${[...l.markers, ...l.markersRestored].join(', ')}`)
  lines.push(
    'Putting old code over tables a newer version migrated is a downgrade no plugin supports. peakguard restores the code and settings,',
    `keeps the live schema${l.tables.length ? ' (and the rows of settings tables whose columns changed)' : ''}${l.markers.length ? ` and the live values of the migration markers ${l.markers.join(', ')}` : ''}${l.markersRestored.length ? `, writes the state's markers ${l.markersRestored.join(', ')} (--restore-markers)` : ''}, and never touches content tables.`,
  )
  if (!l.acknowledged) lines.push('To go ahead: --across-schema-change (audited, with the tables named).')
  return lines
}

function text(r: RestoreReport): string[] {
  const lines: string[] = []
  if (r.recovered) lines.push(`first ${r.recovered}`)
  lines.push(...layoutLines(r))
  if (r.dryRun) {
    lines.push(`dry run: restoring ${shortId(r.target)} would write ${r.files.written} files, remove ${r.files.removed}, write ${r.options.written} settings rows (options, Site Editor entities, table rows), remove ${r.options.removed}`)
    lines.push(...changeLines(r.plan))
    return lines
  }
  lines.push(`restored ${shortId(r.target)}${r.fleet ? ' on every node of the fleet' : ''}: ${r.files.written} files written, ${r.files.removed} removed${r.fleet ? ' (on the leader)' : ''}; ${r.options.written} settings rows written, ${r.options.removed} removed`)
  lines.push(`safety snapshot (undo with 'peakguard restore ${shortId(r.safetySnapshot)}'): ${r.safetySnapshot}`)
  lines.push(...fleetLines(r))
  lines.push(r.verified ? `verified: the live site matches the restored state${r.fleet ? ' on every node' : ''}` : 'NOT verified: see the differences below')
  if (r.caches)
    lines.push(r.caches.ok ? `caches flushed through the WordPress bridge (${r.caches.detail})` : `caches NOT flushed: ${r.caches.detail} — PHP may serve old code until opcache expires; reload php-fpm`)
  for (const h of r.hooks)
    lines.push(
      h.exitCode === 0
        ? `post-restore: ${h.command}: ok (${h.durationMs} ms)`
        : `post-restore: ${h.command}: FAILED (${h.error ?? `exit ${h.exitCode}`})${h.output ? `: ${h.output.split('\n').slice(-3).join(' / ')}` : ''} — the restore itself is done; run it by hand`,
    )
  lines.push(...purgeLines(r))
  return lines
}

const KIND = { plugin: 'page-cache plugin', http: 'HTTP purge', cloudflare: 'CDN' } as const

/** Each purge of what caches pages and its outcome, then the check of the page past the caches. */
/** A fleet restore: one line per node — its files written, re-read, its caches flushed. */
export function fleetLines(r: RestoreReport): string[] {
  if (!r.fleet) return []
  return [
    `fleet restore ${r.fleet.op}, node by node:`,
    ...r.fleet.nodes.map(
      (n) =>
        // a node's id and error come from the fleet's table: shown escaped
        `  ${visible(n.node)}: ${n.status === 'done' ? `${n.files} file(s) written or removed, ${n.verified ? 'verified' : 'NOT verified'}, caches ${visible(n.caches ?? 'not flushed (no bridge)')}` : n.status === 'failed' ? `FAILED: ${visible(n.error ?? 'unknown')}` : n.status === 'reverted' ? 'put its files back (the leader\'s part failed)' : 'staged, did not report the swap (it takes the restored state when it is back)'}`,
    ),
  ]
}

function purgeLines(r: RestoreReport): string[] {
  const lines = r.purges.map((p) =>
    p.ok ? `purged ${p.name} (${KIND[p.kind]}): ${p.detail}` : `purge FAILED: ${p.name} (${KIND[p.kind]}): ${p.detail} — the restore itself is done; visitors may get cached old pages until it is purged by hand`,
  )
  if (r.probe) lines.push(r.probe.ok ? `page checked past the caches: ${r.probe.detail}` : `page check past the caches FAILED: ${r.probe.detail}`)
  return lines
}

/** A finished restore whose result differs from the target: exit 4, naming what differs (the JSON report is already printed). */
function verifyError(r: RestoreReport): PeakguardError {
  const m = r.mismatches
  const items = m ? [...m.files.map((f) => f.path), ...m.options.map((o) => `option:${o.name}`), ...m.links.map((l) => l.path), ...m.dirs.map((d) => `${d.path}/ (directory ${d.change === 'modified' ? 'mode/owner' : d.change})`)] : []
  const more = items.length > 20 ? ` and ${items.length - 20} more` : ''
  return new PeakguardError('VERIFY_FAILED', `after the restore these still differ from ${shortId(r.target)}: ${items.slice(0, 20).join(', ')}${more}`, {
    details: { printed: true },
  })
}
