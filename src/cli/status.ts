// peakguard status: the site's journal, its newest and last known-good states, pending live changes, and
// what was done about an interrupted restore — and, from the running daemon (asked over ui.listen),
// watching or scanning, pending changes, the last snapshot, the database connection and health.
import type { Command } from 'commander'
import { shortId, visible } from '../core/index.ts'
import { siteStatus, type DaemonSiteStatus } from '../services/index.ts'
import { print, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('status')
    .description("the site's states, live changes not yet recorded, recovery notes, and what the daemon is doing")
    .action(() =>
      run(async (o) => {
        // the daemon is asked while the site is read (it never throws: it says why it cannot answer)
        const [s, daemon] = await withSite(rt, o, (site) => Promise.all([siteStatus(site), rt.daemonStatus(o, site.id)]))
        print(rt, o, { ...s, daemon }, () =>
          [
            `site          ${s.site}`,
            `states        ${s.states}`,
            `latest        ${s.latest ? `${shortId(s.latest.id)} ${s.latest.time} ${s.latest.message}` : '(none)'}`,
            `last good     ${s.lastGood ? `${shortId(s.lastGood.id)} ${s.lastGood.time}` : '(none)'}`,
            `live changes  ${s.pendingChanges ? `${s.pendingChanges.files} files, ${s.pendingChanges.options} options not yet recorded` : s.liveError ? `cannot compare: ${s.liveError}` : '-'}`,
            ...(s.busy ? [`running       ${s.busy}`] : []),
            ...(s.pendingRestore
              ? [`UNFINISHED    restore to ${shortId(s.pendingRestore.target)} could not be finished: ${s.pendingRestore.error}; go back with 'peakguard restore ${shortId(s.pendingRestore.safetySnapshot)} --yes'`]
              : []),
            `recovery      ${s.lastRecovery ? `${s.lastRecovery.at}: ${s.lastRecovery.what}` : 'nothing to recover'}`,
            ...s.warnings.map((w) => `WARNING       ${w}`),
            `journal       ${s.journalProblems.length ? `PROBLEMS: ${s.journalProblems.join('; ')}` : 'ok'}`,
            ...daemonLines(daemon),
          ],
        )
      }),
    )
}

function daemonLines(d: Awaited<ReturnType<Runtime['daemonStatus']>>): string[] {
  if (!d.running) return [`daemon        not running (${d.reason}): changes are recorded only by 'peakguard snapshot'`]
  const s = d.site
  if (!s) return [`daemon        running at ${d.url}, but not for this site (restart it after adding a site)`]
  if (!s.started) return [`daemon        running, but this site could not start: ${s.startError}`]
  const h = s.health
  const round = h.lastRound
  return [
    `daemon        ${s.mode === 'watch' ? 'watching for changes' : s.mode === 'scan' ? `SCANNING periodically: ${s.modeReason}` : s.mode}`,
    `pending       ${s.pendingChanges ? `${s.pendingChanges} changes since ${s.pendingSince}, snapshot after the quiet period` : s.recording ? 'recording now' : 'none'}`,
    `last snapshot ${s.lastSnapshot ? `${s.lastSnapshot.at} (${s.lastSnapshot.trigger}): ${s.lastSnapshot.created ? `${shortId(s.lastSnapshot.id)} ${s.lastSnapshot.summary}` : 'no change'}` : '(none yet)'}`,
    ...(s.lastError ? [`last error    ${s.lastError.at}: ${s.lastError.message}`] : []),
    `database      ${s.db.connected ? 'connected' : `UNREACHABLE since ${s.db.since}: ${s.db.error}; files are still recorded`}`,
    `health        ${liveHealthLine(h.live, Date.now())}` +
      (h.live.verdict !== 'not-probed' && h.current?.healthySince ? `; healthy since ${h.current.healthySince}` : '') +
      (h.consecutiveFailures ? `; ${h.consecutiveFailures} failed rounds in a row` : ''),
    `last round    ${round ? `${round.at}, ${round.ok ? 'passed' : 'FAILED'}, saw ${round.state ? `state ${shortId(round.state)}` : 'changes not yet recorded (counted for no state)'}` : '(none yet)'}`,
    `known-good    ${s.lastGood ? shortId(s.lastGood) : '(none)'}`,
    `auto-rollback ${h.autoRollback.enabled ? (h.autoRollback.halted ? `STOPPED: ${h.autoRollback.halted.reason}` : h.autoRollback.blocked && h.autoRollback.blocked.from === h.live.state ? `on; BLOCKED at ${h.autoRollback.blocked.at}: ${h.autoRollback.blocked.reason}` : 'on') : 'off'}${h.autoRollback.last ? `; last ${h.autoRollback.last.at} ${shortId(h.autoRollback.last.from)} → ${shortId(h.autoRollback.last.to)}` : ''}`,
    ...(h.lastAlert ? [`ALERT         ${h.lastAlert.at}: ${h.lastAlert.message}`] : []),
    ...replicaLines(s.replica),
    ...fleetLines(s.fleet),
  ]
}

/** The fleet as this node sees it: its role, every node (up or down, leader, drift), and this node's drift by file. */
export function fleetLines(f: DaemonSiteStatus['fleet']): string[] {
  if (!f) return []
  const nodeLine = (n: (typeof f.nodes)[number]) =>
    `  ${visible(n.node).padEnd(12)} ${n.up ? (n.role === 'leader' && n.node === f.leader ? 'LEADER  ' : 'follower') : 'DOWN    '} heartbeat ${Math.round(n.ageSeconds * 10) / 10} s ago` +
    (!n.up ? '' : n.drift ? `; DRIFT: ${n.drift.count} file(s) differ from ${shortId(n.drift.desired)} (${n.drift.units.slice(0, 3).map((x) => visible(x)).join(', ')}${n.drift.units.length > 3 ? ', …' : ''})` : n.compared ? '; files as the fleet\'s state' : '; not compared yet')
  return [
    `fleet         node ${visible(f.node)}, ${f.role === 'leader' ? 'the settings LEADER' : `follower (leader: ${f.leader ? visible(f.leader) : 'NONE alive'})`} since ${f.since}${f.dbError ? `; DATABASE UNREACHABLE: ${visible(f.dbError)}` : ''}`,
    ...f.nodes.map(nodeLine),
    ...(f.behind ? [`BEHIND        this node's copy of the journal has lacked the fleet's newest state ${shortId(f.behind.head)} since ${f.behind.since}: see the replica lines above`] : []),
    ...(f.drift ? [`DRIFT         this node's files differ from the fleet's state ${shortId(f.drift.desired)}: ${f.drift.count} file(s): ${f.drift.paths.slice(0, 10).map((x) => visible(x)).join(', ')}${f.drift.count > 10 ? ', …' : ''}`] : []),
  ]
}

function replicaLines(r: DaemonSiteStatus['replica']): string[] {
  if (!r) return ['replica       none (no s3 block: snapshots live on this host only)']
  const state = r.pendingSince === null ? 'up to date' : `${r.alert ? 'ALERT: ' : ''}${r.lagSeconds} s behind (oldest change not on S3 since ${r.pendingSince})${r.pushing ? ', pushing now' : ''}`
  return [
    `replica       ${r.location}${r.encrypted ? ' (encrypted)' : ' (NOT encrypted)'}: ${state}`,
    ...(r.lastPush ? [`last push     #${r.lastPush.seq} at ${r.lastPush.at}: ${r.lastPush.bytes} bytes in ${r.lastPush.ms} ms`] : []),
    ...(r.lastError ? [`push error    ${r.lastError.at} (attempt ${r.lastError.attempts}): ${r.lastError.message}${r.nextRetryAt ? `; next try ${r.nextRetryAt}` : ''}`] : []),
  ]
}

/** The health of what is live now, in words: a verdict only when a round saw it. */
export function liveHealthLine(l: DaemonSiteStatus['health']['live'], now: number): string {
  const ago = l.since ? ` (changed ${agoText(now - Date.parse(l.since))} ago)` : ''
  if (l.verdict === 'not-probed') return `not probed yet${ago}${l.state ? '' : ': changes wait to be recorded'}; probing ${l.cadence === 'fast' ? 'fast' : 'at the normal interval'}`
  const r = l.round!
  if (l.verdict === 'healthy') return `HEALTHY: the round at ${r.at} saw live state ${shortId(l.state ?? '')} pass`
  return `UNHEALTHY: the round at ${r.at} saw live state ${shortId(l.state ?? '')} fail (${r.probes.filter((p) => !p.ok).map((p) => `${p.name ?? p.url}: ${p.reason}`).join('; ')})`
}

function agoText(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`
}
