// peakguard freeze start (--until T | --for DURATION) --reason TEXT | freeze stop --reason TEXT | freeze
// status: the manual freeze, and what governs the site now (configured windows included). Starting and
// stopping need role approver; every step is audited. The journal's head at the start is the baseline.
import type { Command } from 'commander'
import ms from 'ms'
import { visible, type FreezeSpan } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'
import { parseDuration } from '../services/inputs.ts'
import { freezeStartJson, freezeStatusJson, freezeStopJson } from '../services/reports.ts'
import { formatInZone, parseTime, siteZone } from '../services/freeze-calendar.ts'
import { freezeStatus, requireReason, startManual, stopManual, type FreezeDeps, type FreezeStatus } from '../services/freeze.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export { parseDuration }

export async function freezeDeps(rt: Runtime, o: GlobalOptions): Promise<FreezeDeps> {
  return rt.governance(o)
}

/**
 * Hands the new freeze state to the WordPress bridge at once (when installed), so WordPress enforces it even
 * with the daemon down. The change is recorded and audited already: a failure here is a warning, and the
 * daemon writes the state again on its next round.
 */
export async function syncBridge(rt: Runtime, o: GlobalOptions): Promise<void> {
  try {
    await (await rt.bridge(o)).syncState()
  } catch (e) {
    rt.err(`peakguard: warning: the WordPress bridge's state file was not updated (${visible((e as Error).message)}); the daemon updates it on its next round`)
  }
}

/** Both the site's zone and UTC: people read the first, logs and other hosts the second. */
export function when(t: number, zone: string): string {
  return `${formatInZone(t, zone)} · ${new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')}`
}

function left(t: number, now: number): string {
  const d = t - now
  return d <= 0 ? 'now' : `in ${ms(Math.max(1000, Math.round(d / 60_000) * 60_000), { long: false })}`
}

const POLICY: Record<string, string> = {
  revert: 'revert — a change no approval covers is undone at once and waits as a change request',
  hold: 'hold — a change no approval covers stays live, flagged, until approved or rejected',
  alert: 'alert — changes are recorded and notified only',
}

function statusText(s: FreezeStatus, zone: string, now: number): string[] {
  const lines: string[] = []
  const name = (f: FreezeSpan) => (f.source === 'manual' ? 'manual freeze' : `freeze window '${f.source}'`)
  if (s.active) {
    // every open freeze is named; 'ends' is when changes are free again, whichever freeze holds longest
    const endsAt = s.endsAt ?? s.active.end
    lines.push(`FROZEN: ${name(s.active)}: ${s.active.reason}`)
    lines.push(`  since     ${when(s.active.start, zone)}`)
    lines.push(`  ends      ${when(endsAt, zone)} (${left(endsAt, now)})${s.open.length + s.following.length > 1 ? ': changes are free again then' : ''}`)
    for (const o of s.open.filter((x) => x !== s.active)) lines.push(`  also      ${name(o)}: ${o.reason} (until ${when(o.end, zone)})`)
    for (const o of s.following) lines.push(`  then      ${name(o)}: ${o.reason} (${when(o.start, zone)} → ${when(o.end, zone)})`)
    lines.push(`  baseline  ${s.baseline ? (s.baseline.state ?? 'empty journal') : 'not recorded yet'}`)
    lines.push(`  policy    ${POLICY[s.policy] ?? s.policy}`)
    if (s.approvalUrl) lines.push(`  approvals ${s.approvalUrl}`)
  } else lines.push(`not frozen (policy during a freeze: ${s.policy})`)
  if (s.allowed.length)
    for (const w of s.allowed) lines.push(`  allowed   ${w.scope} until ${when(w.end, zone)} — ${w.actor}: ${w.reason} (${w.id})`)
  else if (s.active) lines.push('  allowed   nothing pre-approved (peakguard allow --scope S --for 30m --reason TEXT)')
  lines.push(s.next ? `next: ${name(s.next)} ${when(s.next.start, zone)} → ${when(s.next.end, zone)}: ${s.next.reason}` : 'next: no freeze planned')
  return lines
}

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  const freeze = program.command('freeze').description('manual freezes, and what freeze governs the site now')

  freeze
    .command('start')
    .description('freeze the site now, until a time or for a duration (role approver); the state now is its baseline')
    .option('--until <time>', "end: ISO date-time, with an offset or in the site's zone (freeze.zone), e.g. 2026-11-30T08:00")
    .option('--for <duration>', 'length, e.g. 10m, 2h, 1d (at most 7 days)')
    .option('--reason <text>', 'why (required): audited and shown to everyone the freeze stops')
    .action((c: { until?: string; for?: string; reason?: string }) =>
      run(async (o) => {
        const reason = requireReason(c.reason, 'a manual freeze')
        if (!!c.until === !!c.for) throw new PeakguardError('USAGE', 'give exactly one of --until TIME or --for DURATION')
        const { freeze: settings } = rt.freezeSettings(o)
        const zone = siteZone(settings)
        const until = c.until ? parseTime(c.until, zone) : undefined
        const forMs = c.for ? parseDuration(c.for, '--for') : undefined
        const actor = await rt.actor(o, 'freeze')
        const deps = await freezeDeps(rt, o)
        const head = await withSite(rt, o, (site) => site.journal.head())
        const r = await startManual(deps, { until, forMs, reason, actor: actor.name, baseline: head })
        await syncBridge(rt, o)
        print(rt, o, freezeStartJson(r, zone), () =>
          [
            `${r.replaced ? 'manual freeze changed' : 'frozen'} until ${when(r.freeze.end, zone)}: ${r.freeze.reason}`,
            `baseline: ${r.baseline.state ?? 'empty journal'} (the state at the freeze's start)`,
          ],
        )
      }),
    )

  freeze
    .command('stop')
    .description('end the manual freeze now (role approver); a configured window is not stopped by this')
    .option('--reason <text>', 'why (required): audited')
    .action((c: { reason?: string }) =>
      run(async (o) => {
        const reason = requireReason(c.reason, 'stopping a freeze')
        const { freeze: settings } = rt.freezeSettings(o)
        const actor = await rt.actor(o, 'freeze')
        const r = await stopManual(await freezeDeps(rt, o), settings.windows, { reason, actor: actor.name })
        await syncBridge(rt, o)
        const zone = siteZone(settings)
        print(rt, o, freezeStopJson(r), () => [
          `manual freeze stopped (it would have lasted until ${when(r.stopped.end, zone)})`,
          ...(r.stillFrozen ? [`still FROZEN by freeze window '${r.stillFrozen.source}' until ${when(r.stillFrozen.end, zone)}`] : []),
        ])
      }),
    )

  freeze
    .command('status')
    .description('the freeze on now (its source and end, in the site zone and UTC), what is allowed, the policy, the next window')
    .action(() =>
      run(async (o) => {
        await rt.actor(o, 'view')
        const { site, freeze: settings } = rt.freezeSettings(o)
        const zone = siteZone(settings)
        const now = Date.now()
        const s = await freezeStatus(rt.docs(o), settings, now)
        print(
          rt,
          o,
          freezeStatusJson(site, s, zone, now),
          () => statusText(s, zone, now),
        )
      }),
    )
}
