// Freeze windows: the calendar across DST changes (Europe/Amsterdam and America/New_York, 2026), one-off
// windows with an offset and in a zone, config validation, and the CLI on a real site (MariaDB, git):
// freeze start/status/stop, allow, baselines, and the audit entry every action leaves.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { SiteDir } from '../src/adapters/site-dir.ts'
import { parseConfig } from '../src/config.ts'
import { nextSpan, parseTime, spansAt, spansBetween, windowProblems, type FreezeSettings, type FreezeWindowConfig } from '../src/services/freeze-calendar.ts'
import { bridgeState, freezeStatus, recordBaseline, startManual } from '../src/services/freeze.ts'
import { freezeForbidding } from '../src/services/operate.ts'
import { clockAt } from './harness/clock.ts'
import { startDaemon, type RunningDaemon } from './harness/daemon.ts'
import { createSite, REPO, type CliResult, type TestSite } from './harness/site.ts'
import { login, makeUsers } from './harness/users.ts'

const H = 3600_000
const Z = (iso: string) => Date.parse(iso)
const iso = (ms: number) => new Date(ms).toISOString()
const spanIso = (s: { start: number; end: number }) => [iso(s.start), iso(s.end)]

/** The wall-clock time of an instant in a zone, as "YYYY-MM-DD HH:MM". */
function wall(ms: number, zone: string): string {
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      .formatToParts(new Date(ms))
      .map((x) => [x.type, x.value]),
  )
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`
}

const rec = (cron: string, duration: number, zone: string, name = 'w'): FreezeWindowConfig => ({ name, cron, duration, zone, reason: `${name} freeze` })

describe('freeze calendar: recurring windows across DST', () => {
  const AMS = 'Europe/Amsterdam'
  const NY = 'America/New_York'

  it('Amsterdam, spring forward 2026-03-29 (02:00 CET → 03:00 CEST at 01:00Z): a Sunday 02:00 window opens at 03:00', () => {
    const w = rec('0 2 * * 0', 2 * H, AMS)
    const spans = spansBetween([w], Z('2026-03-21T00:00Z'), Z('2026-04-06T00:00Z')).map(spanIso)
    assert.deepEqual(spans, [
      // 03-22: 02:00 CET (+01) = 01:00Z, two hours
      ['2026-03-22T01:00:00.000Z', '2026-03-22T03:00:00.000Z'],
      // 03-29: 02:00 does not exist; the first valid time after the gap is 03:00 CEST (+02) = 01:00Z;
      // elapsed 2 h later is 03:00Z = 05:00 CEST
      ['2026-03-29T01:00:00.000Z', '2026-03-29T03:00:00.000Z'],
      // 04-05: 02:00 CEST (+02) = 00:00Z
      ['2026-04-05T00:00:00.000Z', '2026-04-05T02:00:00.000Z'],
    ])
    const gap = spansBetween([w], Z('2026-03-28T00:00Z'), Z('2026-03-30T00:00Z'))[0]!
    assert.equal(wall(gap.start, AMS), '2026-03-29 03:00')
    assert.equal(wall(gap.end, AMS), '2026-03-29 05:00')
  })

  it('Amsterdam, fall back 2026-10-25 (03:00 CEST → 02:00 CET at 01:00Z): a 02:30 window opens once, at the first 02:30', () => {
    const w = rec('30 2 * * *', H, AMS)
    assert.deepEqual(spansBetween([w], Z('2026-10-24T12:00Z'), Z('2026-10-26T12:00Z')).map(spanIso), [
      // 02:30 CEST (+02) = 00:30Z — the first of the two 02:30s; the second (01:30Z, CET) opens nothing.
      // One elapsed hour later is 01:30Z, which the clocks show as 02:30 again (CET)
      ['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z'],
      // 10-26: 02:30 CET (+01) = 01:30Z
      ['2026-10-26T01:30:00.000Z', '2026-10-26T02:30:00.000Z'],
    ])
    assert.deepEqual(spansAt([w], Z('2026-10-25T01:29Z')).map(spanIso), [['2026-10-25T00:30:00.000Z', '2026-10-25T01:30:00.000Z']])
    assert.deepEqual(spansAt([w], Z('2026-10-25T01:30Z')), [], 'no second opening at the repeated 02:30 (01:30Z)')
  })

  it('Amsterdam: a 22:00 window of 8 h lasts 8 real hours across either change, and is still open the next morning', () => {
    const w = rec('0 22 * * *', 8 * H, AMS)
    // 10-24 22:00 CEST (+02) = 20:00Z; + 8 h = 04:00Z = 05:00 CET (the clocks went back an hour at 01:00Z)
    const fall = spansAt([w], Z('2026-10-25T03:59Z'))
    assert.deepEqual(fall.map(spanIso), [['2026-10-24T20:00:00.000Z', '2026-10-25T04:00:00.000Z']])
    assert.equal(wall(fall[0]!.end, AMS), '2026-10-25 05:00')
    assert.deepEqual(spansAt([w], Z('2026-10-25T04:00Z')), [], 'ended at 04:00Z')
    // 03-28 22:00 CET (+01) = 21:00Z; + 8 h = 05:00Z = 07:00 CEST (the clocks jumped ahead at 01:00Z)
    const spring = spansAt([w], Z('2026-03-29T04:30Z'))
    assert.deepEqual(spring.map(spanIso), [['2026-03-28T21:00:00.000Z', '2026-03-29T05:00:00.000Z']])
    assert.equal(wall(spring[0]!.end, AMS), '2026-03-29 07:00')
  })

  it('New York, spring forward 2026-03-08 (02:00 EST → 03:00 EDT at 07:00Z): a Sunday 02:00 window opens at 03:00 EDT', () => {
    const w = rec('0 2 * * 0', H, NY)
    assert.deepEqual(spansBetween([w], Z('2026-02-28T00:00Z'), Z('2026-03-16T00:00Z')).map(spanIso), [
      // 03-01: 02:00 EST (-05) = 07:00Z
      ['2026-03-01T07:00:00.000Z', '2026-03-01T08:00:00.000Z'],
      // 03-08: 02:00 does not exist; 03:00 EDT (-04) = 07:00Z
      ['2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z'],
      // 03-15: 02:00 EDT (-04) = 06:00Z
      ['2026-03-15T06:00:00.000Z', '2026-03-15T07:00:00.000Z'],
    ])
  })

  it('New York, fall back 2026-11-01 (02:00 EDT → 01:00 EST at 06:00Z): a 01:30 window opens once, at 01:30 EDT', () => {
    const w = rec('30 1 * * *', 30 * 60_000, NY)
    assert.deepEqual(spansBetween([w], Z('2026-10-31T12:00Z'), Z('2026-11-02T12:00Z')).map(spanIso), [
      // 01:30 EDT (-04) = 05:30Z; the second 01:30 (EST, 06:30Z) opens nothing
      ['2026-11-01T05:30:00.000Z', '2026-11-01T06:00:00.000Z'],
      // 11-02: 01:30 EST (-05) = 06:30Z
      ['2026-11-02T06:30:00.000Z', '2026-11-02T07:00:00.000Z'],
    ])
    // 10-31 22:00 EDT (-04) = 11-01 02:00Z; 8 elapsed hours = 10:00Z = 05:00 EST
    const night = spansAt([rec('0 22 * * *', 8 * H, NY)], Z('2026-11-01T09:59Z'))
    assert.deepEqual(night.map(spanIso), [['2026-11-01T02:00:00.000Z', '2026-11-01T10:00:00.000Z']])
    assert.equal(wall(night[0]!.end, NY), '2026-11-01 05:00')
  })

  it('occurrences that overlap or touch are one freeze, whatever the question; the next one is found', () => {
    // weekdays from 00:00 for 24 h: one freeze from Monday 00:00 to Saturday 00:00, not five
    const weekdays = rec('0 0 * * 1-5', 24 * H, 'UTC', 'weekdays')
    const a = spansAt([weekdays], Z('2026-11-25T12:00Z')) // a Wednesday
    assert.deepEqual(a.map(spanIso), [['2026-11-23T00:00:00.000Z', '2026-11-28T00:00:00.000Z']])
    assert.deepEqual(spansAt([weekdays], Z('2026-11-27T23:59Z')).map(spanIso), a.map(spanIso), 'the same span from another moment')
    assert.deepEqual(spansAt([weekdays], Z('2026-11-28T00:00Z')), [])
    assert.deepEqual(spanIso(nextSpan([weekdays], Z('2026-11-25T12:00Z'))!), ['2026-11-30T00:00:00.000Z', '2026-12-05T00:00:00.000Z'])
    // weekdays 09:00–17:00 Amsterdam: on Friday evening the next one is Monday 09:00 CET = 08:00Z
    const office = rec('0 9 * * 1-5', 8 * H, AMS, 'office')
    assert.deepEqual(spanIso(nextSpan([office], Z('2026-11-27T18:00Z'))!), ['2026-11-30T08:00:00.000Z', '2026-11-30T16:00:00.000Z'])
  })
})

describe('freeze calendar: one-off windows', () => {
  it('with an offset: that instant, whatever the zone', () => {
    const w: FreezeWindowConfig = { name: 'black-friday', start: '2026-11-27T00:00+01:00', end: '2026-11-30T08:00:00+01:00', zone: 'America/New_York', reason: 'BF' }
    assert.deepEqual(spansBetween([w], Z('2026-11-01T00:00Z'), Z('2026-12-31T00:00Z')).map(spanIso), [['2026-11-26T23:00:00.000Z', '2026-11-30T07:00:00.000Z']])
    assert.deepEqual(spansAt([w], Z('2026-11-30T07:00Z')), [], 'the end is exclusive')
    assert.equal(spansAt([w], Z('2026-11-26T23:00Z')).length, 1, 'the start is inclusive')
  })

  it('wall-clock in a zone: standard and summer time; a time in a gap moves forward, a repeated one is the first', () => {
    const ny: FreezeWindowConfig = { name: 'launch', start: '2026-11-27T00:00', end: '2026-11-30T08:00', zone: 'America/New_York', reason: 'launch' }
    // EST (-05): 05:00Z and 13:00Z
    assert.deepEqual(spansBetween([ny], 0, Z('2027-01-01T00:00Z')).map(spanIso), [['2026-11-27T05:00:00.000Z', '2026-11-30T13:00:00.000Z']])
    // EDT (-04) in summer
    assert.equal(iso(parseTime('2026-07-04T09:00', 'America/New_York')), '2026-07-04T13:00:00.000Z')
    // 02:30 on 2026-03-29 does not exist in Amsterdam: moved forward by the gap, 03:30 CEST = 01:30Z
    assert.equal(iso(parseTime('2026-03-29T02:30', 'Europe/Amsterdam')), '2026-03-29T01:30:00.000Z')
    // 02:30 on 2026-10-25 happens twice in Amsterdam: the first, 02:30 CEST = 00:30Z
    assert.equal(iso(parseTime('2026-10-25T02:30', 'Europe/Amsterdam')), '2026-10-25T00:30:00.000Z')
    // 01:30 on 2026-11-01 happens twice in New York: the first, 01:30 EDT = 05:30Z
    assert.equal(iso(parseTime('2026-11-01T01:30', 'America/New_York')), '2026-11-01T05:30:00.000Z')
    // a date alone is its midnight
    assert.equal(iso(parseTime('2026-12-24', 'Europe/Amsterdam')), '2026-12-23T23:00:00.000Z')
  })
})

// Two freezes open at once, at fixed instants (never the machine's clock): Friday 2026-11-27 23:30 UTC is
// inside the Black Friday window (until Monday 08:00 CET) and the nightly Amsterdam window (22:00 CET for
// 8 h); a 'deploy-hold' window opens Monday 07:00 CET, before Black Friday ends, and holds until 10:00.
const OVERLAP_WINDOWS = [
  '        - { name: black-friday, start: "2026-11-27T00:00+01:00", end: "2026-11-30T08:00+01:00", reason: "Black Friday" }',
  '        - { name: nightly, cron: "0 22 * * *", duration: 8h, zone: Europe/Amsterdam, reason: "nightly batch" }',
  '        - { name: deploy-hold, start: "2026-11-30T07:00", end: "2026-11-30T10:00", zone: Europe/Amsterdam, reason: "deploy review" }',
].join('\n')
const FRIDAY_NIGHT = '2026-11-27T23:30:00Z'

describe('freeze: two freezes open at once (fixed instants)', () => {
  const settings = (): FreezeSettings => {
    const cfg = parseConfig(`sites:\n  - id: shop\n    wpRoot: /var/www/shop\n    db: { user: wordpress, name: wordpress }\n    freeze:\n      zone: Europe/Amsterdam\n      windows:\n${OVERLAP_WINDOWS}\n`, 'p.yaml')
    return cfg.sites[0]!.freeze
  }
  let dir: string
  let docs: SiteDir
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-overlap-'))
    docs = new SiteDir(dir)
  })
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('status names every open freeze; it ends when changes are free again, across a window that opens before the others end', async () => {
    const now = Z(FRIDAY_NIGHT)
    const s = await freezeStatus(docs, settings(), now)
    assert.deepEqual(s.open.map((x) => x.source), ['black-friday', 'nightly'], 'both open freezes, by start')
    assert.equal(s.active?.source, 'black-friday', 'the one ending last governs (its baseline is shown)')
    assert.deepEqual(s.following.map((x) => x.source), ['deploy-hold'], 'deploy-hold opens before Black Friday ends')
    assert.equal(iso(s.endsAt!), '2026-11-30T09:00:00.000Z', 'free again at 10:00 CET on Monday, when deploy-hold ends')
    assert.equal(s.next?.source, 'nightly', 'the next freeze after that is Monday night')
    assert.equal(iso(s.next!.start), '2026-11-30T21:00:00.000Z')

    // Monday 06:30 UTC (07:30 CET): nightly is over; Black Friday and deploy-hold are open
    const monday = await freezeStatus(docs, settings(), Z('2026-11-30T06:30:00Z'))
    assert.deepEqual(monday.open.map((x) => x.source), ['black-friday', 'deploy-hold'])
    assert.equal(monday.active?.source, 'deploy-hold', 'deploy-hold ends last now')
    assert.deepEqual(monday.following, [])
    assert.equal(iso(monday.endsAt!), '2026-11-30T09:00:00.000Z')

    // one open freeze: ends is its end
    const tuesday = await freezeStatus(docs, settings(), Z('2026-12-01T22:00:00Z'))
    assert.deepEqual(tuesday.open.map((x) => x.source), ['nightly'])
    assert.equal(iso(tuesday.endsAt!), '2026-12-02T05:00:00.000Z')
    assert.equal((await freezeStatus(docs, settings(), Z('2026-12-02T12:00:00Z'))).endsAt, null, 'free at noon')
  })

  it('a manual freeze beside a window: both are named; the later end is when changes are free again', async () => {
    const now = Z(FRIDAY_NIGHT)
    const deps = { site: 'shop', docs, audit: { append: async () => null }, now: () => now }
    await startManual(deps, { forMs: 10 * H, reason: 'payment provider incident', actor: 'ada', baseline: null })
    const s = await freezeStatus(docs, settings(), now)
    assert.deepEqual(s.open.map((x) => x.source), ['black-friday', 'nightly', 'manual'])
    assert.equal(s.active?.source, 'black-friday')
    assert.equal(iso(s.endsAt!), '2026-11-30T09:00:00.000Z')
    // without the configured windows the manual freeze governs, and its end is the end
    const alone = await freezeStatus(docs, { ...settings(), windows: [] }, now)
    assert.deepEqual(alone.open.map((x) => x.source), ['manual'])
    assert.equal(iso(alone.endsAt!), '2026-11-28T09:30:00.000Z')
  })

  it("a manual freeze started inside the nightly window: 'the freeze began' is when the nightly one began, for restores and the baseline", async () => {
    const now = Z(FRIDAY_NIGHT)
    const nightly = settings().windows.filter((w) => w.name === 'nightly')
    const deps = { site: 'shop', docs, audit: { append: async () => null }, now: () => Z('2026-11-27T23:00:00Z') }
    await recordBaseline(deps, { source: 'nightly', start: Z('2026-11-27T21:00:00Z'), state: 'aaaa', actor: 'peakguard' })
    await startManual(deps, { forMs: 8 * H, reason: 'payment provider incident', actor: 'ada', baseline: 'bbbb' })
    const s = await freezeStatus(docs, { ...settings(), windows: nightly }, now)
    assert.equal(s.active?.source, 'manual', 'the manual freeze ends last (07:00 UTC)')
    assert.equal(s.baseline?.state, 'aaaa', 'the baseline is the state before the site froze, at 21:00 UTC')
    const op = { site: null as never, docs, audit: deps.audit, notify: null as never, windows: nightly, now: () => now }
    const during = await freezeForbidding(op, 'cccc', '2026-11-27T22:30:00Z')
    assert.equal(during?.source, 'nightly', 'a state from 22:30, inside the nightly window, is not restored without an approval')
    assert.equal(await freezeForbidding(op, 'dddd', '2026-11-27T20:59:00Z'), null, 'a state from before 21:00 is')
    assert.equal((await freezeForbidding(op, 'eeee', '2026-11-27T23:10:00Z'))?.source, 'nightly', 'the first freeze it was recorded in is named')
  })

  it("the bridge's state file lists every freeze of the next days, so WordPress can say the same", async () => {
    const st = await bridgeState(docs, { id: 'shop', freeze: settings(), protectedOptions: [], ignoredOptions: [] }, Z(FRIDAY_NIGHT))
    const byName = st.freezes.map((f) => `${f.source} ${new Date(f.start * 1000).toISOString()} ${new Date(f.end * 1000).toISOString()}`)
    assert.deepEqual(byName.slice(0, 4), [
      'black-friday 2026-11-26T23:00:00.000Z 2026-11-30T07:00:00.000Z',
      'nightly 2026-11-27T21:00:00.000Z 2026-11-28T05:00:00.000Z',
      'nightly 2026-11-28T21:00:00.000Z 2026-11-29T05:00:00.000Z',
      'nightly 2026-11-29T21:00:00.000Z 2026-11-30T05:00:00.000Z',
    ])
    assert.ok(byName.includes('deploy-hold 2026-11-30T06:00:00.000Z 2026-11-30T09:00:00.000Z'), byName.join('\n'))
  })
})

describe('freeze config: a window that cannot be computed is CONFIG_INVALID, naming it', () => {
  const cfg = (windows: string, extra = '') =>
    `sites:\n  - id: shop\n    wpRoot: /var/www/shop\n    db: { user: wordpress, name: wordpress }\n    freeze:\n${extra}      windows:\n${windows}`
  const invalid = (text: string, ...want: RegExp[]) =>
    assert.throws(
      () => parseConfig(text, 'p.yaml'),
      (e: Error & { code?: string }) => e.code === 'CONFIG_INVALID' && want.every((r) => r.test(e.message)),
      `expected CONFIG_INVALID matching ${want.join(' ')}`,
    )

  it('accepts good windows, with their defaults', () => {
    const c = parseConfig(
      cfg('        - { name: bf, start: "2026-11-27T00:00+01:00", end: "2026-11-30T08:00+01:00" }\n        - { name: nightly, cron: "0 22 * * *", duration: 8h, zone: Europe/Amsterdam }\n', '      zone: Europe/Amsterdam\n'),
      'p.yaml',
    )
    const f = c.sites[0]!.freeze
    assert.equal(f.zone, 'Europe/Amsterdam')
    assert.deepEqual(f.windows[1], { name: 'nightly', cron: '0 22 * * *', duration: 8 * H, zone: 'Europe/Amsterdam', reason: 'scheduled freeze' })
    assert.equal(f.windows[0]!.zone, 'UTC')
  })

  it('the commented example windows in systemd/peakguard.example.yaml are valid', () => {
    const text = fs.readFileSync(path.join(REPO, 'systemd/peakguard.example.yaml'), 'utf8')
    const block = /^ {6}# windows:\n((?: {6}# {3}.*\n)+)/m.exec(text)
    assert.ok(block, 'the example has a commented windows block')
    const windows = block[1]!.replace(/^ {6}# {3}/gm, '        ')
    const f = parseConfig(cfg(windows), 'example.yaml').sites[0]!.freeze
    assert.deepEqual(f.windows.map((w) => w.name), ['black-friday', 'launch', 'nightly'])
  })
  it('a bad cron expression', () =>
    invalid(cfg('        - { name: nightly, cron: "0 25 * * *", duration: 8h }\n'), /p\.yaml:\d+: sites\.0\.freeze\.windows\.0\.cron/, /freeze window "nightly"/, /hour/))
  it('six fields', () => invalid(cfg('        - { name: secs, cron: "0 0 22 * * *" }\n'), /freeze window "secs"/, /five-field cron/))
  it('a cron that never fires', () => invalid(cfg('        - { name: feb31, cron: "0 0 31 2 *" }\n'), /freeze window "feb31".*never fires/))
  it('an unknown zone', () => invalid(cfg('        - { name: nightly, cron: "0 22 * * *", zone: Europe/Amsterdan }\n'), /freeze window "nightly": unknown time zone "Europe\/Amsterdan"/))
  it('an end before the start', () =>
    invalid(cfg('        - { name: bf, start: "2026-11-30T00:00Z", end: "2026-11-27T00:00Z" }\n'), /windows\.0\.end/, /freeze window "bf": ends \(2026-11-27T00:00:00\.000Z\) before it starts/))
  it('an unparseable or impossible date', () => {
    invalid(cfg('        - { name: bf, start: "next friday", end: "2026-11-27T00:00Z" }\n'), /freeze window "bf": start "next friday" is not an ISO date-time/)
    invalid(cfg('        - { name: bf, start: "2026-02-30T00:00", end: "2026-03-27T00:00Z" }\n'), /freeze window "bf": start "2026-02-30T00:00" is not a real date/)
  })
  it('a window that never ends (its occurrences overlap without end)', () =>
    invalid(cfg('        - { name: always, cron: "0 0 * * *", duration: 24h }\n'), /windows\.0\.duration/, /freeze window "always": its occurrences .* overlap one another 1000 times or more in a row: it would never end/))
  it('a daily 24 h window in a zone with DST joins into a freeze of a year: refused, naming its length', () =>
    invalid(cfg('        - { name: daily, cron: "0 22 * * *", duration: 24h, zone: Europe/Amsterdam }\n'), /windows\.0\.duration/, /freeze window "daily": its occurrences .* join into one freeze of 3\d\d days/))
  it('whether a window is valid does not depend on the day it is checked (fixed instants through a week)', () => {
    // every 5 minutes for 10, Monday to Thursday: 1152 occurrences in a row, the same from any day
    const w = rec('*/5 * * * 1-4', 10 * 60_000, 'Europe/Amsterdam', 'chatty')
    // a weekday window of 8 h at 09:00: fine on every day
    const office = rec('0 9 * * 1-5', 8 * H, 'America/St_Johns', 'office')
    for (const at of ['2026-11-30T00:01Z', '2026-12-02T12:00Z', '2026-12-03T23:59Z', '2026-12-05T12:00Z', '2026-10-25T01:30Z', '2027-03-14T07:30Z']) {
      assert.deepEqual(windowProblems(w, Z(at)).map((p) => p.field), ['duration'], at)
      assert.deepEqual(windowProblems(office, Z(at)), [], at)
    }
  })
  it('a zero duration, a name used twice, a bad site zone', () => {
    invalid(cfg('        - { name: n, cron: "0 22 * * *", duration: 0 }\n'), /freeze window "n": the duration must be longer than zero/)
    invalid(cfg('        - { name: n, cron: "0 22 * * *" }\n        - { name: n, cron: "0 23 * * *" }\n'), /windows\.1\.name/, /"n" is used twice/)
    invalid(cfg('        - { name: manual, cron: "0 22 * * *" }\n'), /'manual'/)
    invalid(cfg('        []\n', '      zone: Mars/Olympus\n'), /sites\.0\.freeze\.zone: unknown time zone "Mars\/Olympus"/)
  })
})

describe('peakguard freeze and allow on a site', function () {
  this.timeout(180_000)
  let site: TestSite
  const ok = (r: CliResult, what: string) => assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
  const auditOf = async () => {
    const a = await site.cli(['--json', 'audit'])
    ok(a, 'audit')
    return a.json.entries as { type: string; actor: string; summary: string; details: Record<string, unknown> }[]
  }

  before(async () => {
    site = await createSite({ siteConfig: '    freeze:\n      zone: Europe/Amsterdam\n      approvalUrl: https://chat.example.com/approvals\n' })
  })
  after(async () => {
    await site?.cleanup()
  })

  it('freeze start --for 10m: frozen until then, with the state now as its baseline; status shows it in the site zone and UTC', async () => {
    const snap = await site.cli(['--json', 'snapshot'])
    ok(snap, 'snapshot')
    const t0 = Date.now()
    const r = await site.cli(['--json', 'freeze', 'start', '--for', '10m', '--reason', 'campaign launch'])
    ok(r, 'freeze start')
    const t1 = Date.now()
    assert.equal(r.json.baseline.state, snap.json.id, 'the baseline is the journal head at the start')

    const s = await site.cli(['--json', 'freeze', 'status'])
    ok(s, 'status')
    assert.equal(s.json.frozen, true)
    assert.equal(s.json.active.source, 'manual')
    assert.equal(s.json.active.reason, 'campaign launch')
    const end = Date.parse(s.json.endsAt)
    assert.ok(end >= t0 + 10 * 60_000 && end <= t1 + 10 * 60_000, `ends 10 minutes after the start: ${s.json.endsAt}`)
    assert.equal(s.json.baseline.state, snap.json.id)
    assert.equal(s.json.policy, 'revert')
    assert.equal(s.json.zone, 'Europe/Amsterdam')

    const text = await site.cli(['freeze', 'status'])
    ok(text, 'status text')
    assert.match(text.stdout, /FROZEN: manual freeze: campaign launch/)
    assert.match(text.stdout, new RegExp(`ends +${wall(end, 'Europe/Amsterdam')}(:\\d\\d)? CES?T \\(Europe/Amsterdam\\) · ${new Date(end).toISOString().slice(0, 16)}`))
    assert.match(text.stdout, /https:\/\/chat\.example\.com\/approvals/)

    const audit = await auditOf()
    const start = audit.find((e) => e.type === 'freeze-start')
    assert.ok(start, 'a freeze-start entry')
    assert.equal(start.details.reason, 'campaign launch')
    const base = audit.find((e) => e.type === 'freeze-baseline')
    assert.ok(base, 'a freeze-baseline entry')
    assert.equal(base.details.state, snap.json.id)
    assert.equal(base.details.source, 'manual')
  })

  it('refuses a freeze or a stop without a reason, saying why a reason is needed', async () => {
    for (const args of [
      ['freeze', 'start', '--for', '10m'],
      ['freeze', 'start', '--for', '10m', '--reason', '  '],
      ['freeze', 'stop'],
      ['allow', '--scope', 'plugins/hello.php', '--for', '30m'],
    ]) {
      const r = await site.cli(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, /needs --reason TEXT: the reason is recorded in the audit log and shown to everyone the freeze stops/, args.join(' '))
    }
    // one printable line: a newline would forge a line in the audit log, ESC would reach the next terminal
    for (const reason of ['launch\n2026-12-06T03:00:00Z #99 freeze-stop ada FAKE', '\u001b]0;pwned\u0007', 'x\u202Etxet'])
      for (const args of [
        ['freeze', 'start', '--for', '10m', '--reason', reason],
        ['allow', '--scope', 'plugins/hello.php', '--for', '30m', '--reason', reason],
        ['snapshot', '-m', reason],
      ]) {
        const r = await site.cli(args)
        assert.equal(r.code, 2, `${JSON.stringify(args)}: ${r.stderr}`)
        assert.match(r.stderr, /holds a control character \(U\+[0-9A-F]{4}\): write it on one line, printable characters only/)
      }
    const after = JSON.stringify((await site.cli(['--json', 'freeze', 'status'])).json)
    assert.ok(!/FAKE|pwned|txet/.test(after), `no freeze or allow-window was opened with such a reason: ${after}`)
    const both = await site.cli(['freeze', 'start', '--for', '10m', '--until', '2030-01-01T00:00Z', '--reason', 'x'])
    assert.equal(both.code, 2)
    assert.match(both.stderr, /exactly one of --until TIME or --for DURATION/)
    const long = await site.cli(['freeze', 'start', '--for', '8d', '--reason', 'x'])
    assert.equal(long.code, 2)
    assert.match(long.stderr, /at most 7 days/)
    const past = await site.cli(['freeze', 'start', '--until', '2020-01-01T00:00Z', '--reason', 'x'])
    assert.equal(past.code, 2)
    assert.match(past.stderr, /not in the future/)
  })

  it('allow --scope plugins/hello.php --for 30m opens an allow-window; a bad scope is refused', async () => {
    const t0 = Date.now()
    const r = await site.cli(['--json', 'allow', '--scope', 'plugins/hello.php', '--for', '30m', '--reason', 'hotfix for the banner'])
    ok(r, 'allow')
    assert.equal(r.json.allow.scope, 'plugins/hello.php')
    const s = await site.cli(['--json', 'freeze', 'status'])
    ok(s, 'status')
    assert.equal(s.json.allowed.length, 1)
    assert.equal(s.json.allowed[0].scope, 'plugins/hello.php')
    assert.equal(s.json.allowed[0].reason, 'hotfix for the banner')
    const end = Date.parse(s.json.allowed[0].end)
    assert.ok(end >= t0 + 30 * 60_000 && end <= Date.now() + 30 * 60_000, s.json.allowed[0].end)
    const theme = await site.cli(['--json', 'allow', '--scope', 'theme:storefront', '--for', '5m', '--reason', 'css fix'])
    ok(theme, 'allow theme:')
    assert.equal(theme.json.allow.scope, 'themes/storefront')

    for (const [scope, why] of [
      ['uploads/2026', /outside themes, plugins, mu-plugins/],
      ['plugins', /too broad/],
      ['option:', /give an option name/],
    ] as const) {
      const bad = await site.cli(['allow', '--scope', scope, '--for', '30m', '--reason', 'x'])
      assert.equal(bad.code, 2, `${scope}: ${bad.stderr}`)
      assert.match(bad.stderr, why, scope)
      assert.match(bad.stderr, /write plugins\/NAME, themes\/NAME/)
    }
    const long = await site.cli(['allow', '--scope', 'plugins/akismet', '--for', '2d', '--reason', 'x'])
    assert.equal(long.code, 2)
    assert.match(long.stderr, /at most 24h/)

    const audit = (await auditOf()).filter((e) => e.type === 'allow-window')
    assert.deepEqual(audit.map((e) => e.details.scope), ['plugins/hello.php', 'themes/storefront'])
  })

  it('freeze stop ends the manual freeze, audited with its reason; a second stop has nothing to stop', async () => {
    const r = await site.cli(['freeze', 'stop', '--reason', 'launch went fine'])
    ok(r, 'stop')
    assert.match(r.stdout, /manual freeze stopped/)
    const s = await site.cli(['--json', 'freeze', 'status'])
    assert.equal(s.json.frozen, false)
    assert.equal(s.json.active, null)
    const again = await site.cli(['freeze', 'stop', '--reason', 'again'])
    assert.equal(again.code, 2)
    assert.match(again.stderr, /no freeze is on/)
    const stop = (await auditOf()).find((e) => e.type === 'freeze-stop')
    assert.ok(stop, 'a freeze-stop entry')
    assert.equal(stop.details.reason, 'launch went fine')
    assert.match(stop.summary, /launch went fine/)
  })

  it("hands each change to the WordPress bridge's state file at once, in epoch seconds", async () => {
    ok(await site.cli(['wp', 'install-bridge']), 'install-bridge')
    const state = () => JSON.parse(fs.readFileSync(path.join(site.dataDir, 'bridge', 'shop', 'state.json'), 'utf8'))
    const r = await site.cli(['--json', 'freeze', 'start', '--for', '15m', '--reason', 'bridge check'])
    ok(r, 'freeze start')
    const manual = state().freezes.find((f: { source: string }) => f.source === 'manual')
    assert.ok(manual, `the manual freeze is in state.json: ${JSON.stringify(state())}`)
    assert.equal(manual.end, Math.ceil(Date.parse(r.json.freeze.end) / 1000))
    ok(await site.cli(['allow', '--scope', 'plugins/akismet', '--for', '10m', '--reason', 'update']), 'allow')
    assert.ok(state().allows.some((a: { scope: string }) => a.scope === 'plugins/akismet'), 'the allow-window is in state.json')
    ok(await site.cli(['freeze', 'stop', '--reason', 'checked']), 'stop')
    assert.ok(!state().freezes.some((f: { source: string }) => f.source === 'manual'), 'the stopped freeze is gone from state.json')
    ok(await site.cli(['wp', 'uninstall-bridge']), 'uninstall-bridge')
  })

  it('--until is read in the site zone unless it has an offset', async () => {
    // tomorrow 09:00 in Amsterdam, written as wall-clock time
    const tomorrow = new Date(Date.now() + 24 * H)
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam' }).format(tomorrow) // YYYY-MM-DD
    const r = await site.cli(['--json', 'freeze', 'start', '--until', `${day}T09:00`, '--reason', 'morning release'])
    ok(r, 'freeze start --until')
    assert.equal(wall(Date.parse(r.json.freeze.end), 'Europe/Amsterdam'), `${day} 09:00`)
    ok(await site.cli(['freeze', 'stop', '--reason', 'done']), 'stop')
  })

  it('two windows open at once (fixed instant): status, the UI banner name both and when changes are free again; freeze stop cannot end them', async () => {
    const at = clockAt(FRIDAY_NIGHT)
    const other = await createSite({ siteConfig: `    freeze:\n      policy: hold\n      zone: Europe/Amsterdam\n      windows:\n${OVERLAP_WINDOWS}\n` })
    let daemon: RunningDaemon | null = null
    try {
      const s = await other.cli(['--json', 'freeze', 'status'], at)
      ok(s, 'status')
      assert.equal(s.json.now.slice(0, 16), FRIDAY_NIGHT.slice(0, 16), 'the CLI ran at the chosen instant')
      assert.equal(s.json.frozen, true)
      assert.equal(s.json.active.source, 'black-friday')
      assert.deepEqual(s.json.open.map((x: { source: string }) => x.source), ['black-friday', 'nightly'])
      assert.deepEqual(s.json.following.map((x: { source: string }) => x.source), ['deploy-hold'])
      assert.equal(s.json.endsAt, '2026-11-30T09:00:00.000Z')
      assert.equal(s.json.policy, 'hold')
      assert.equal(s.json.next.source, 'nightly')

      const text = await other.cli(['freeze', 'status'], at)
      ok(text, 'status text')
      assert.match(text.stdout, /FROZEN: freeze window 'black-friday': Black Friday/)
      assert.match(text.stdout, /ends +2026-11-30 10:00 CET \(Europe\/Amsterdam\) · 2026-11-30T09:00:00Z \(in \d+[hd]\): changes are free again then/)
      assert.match(text.stdout, /also +freeze window 'nightly': nightly batch \(until 2026-11-28 06:00 CET/)
      assert.match(text.stdout, /then +freeze window 'deploy-hold': deploy review \(2026-11-30 07:00 CET/)

      const r = await other.cli(['freeze', 'stop', '--reason', 'we are done'], at)
      assert.equal(r.code, 5, r.stderr)
      assert.match(r.stderr, /configured freeze window black-friday .* cannot be stopped with 'freeze stop'/)
      assert.match(r.stderr, /peakguard allow --scope/)
      assert.match(r.stderr, /--break-glass/)

      // a manual freeze beside them, then the UI from a daemon whose clock is at the same instant
      const tokens = await makeUsers(other.configFile, 'ada', {})
      ok(await other.cli(['freeze', 'start', '--for', '2h', '--reason', 'payment incident'], { ...at, PEAKGUARD_TOKEN: tokens.ada as string }), 'freeze start')
      daemon = await startDaemon(other, at)
      const { c } = await login(daemon.url, 'ada', 'ada-password-1')
      const page = await c.get('/sites/shop/freeze')
      assert.equal(page.status, 200)
      assert.match(page.body, /Stop the manual freeze/, 'the manual freeze can be stopped though a window ends later')
      const banner = /<div class="banner frozen"[\s\S]*?<\/div>/.exec(page.body)?.[0].replace(/<[^>]+>/g, '').replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/\s+/g, ' ') ?? ''
      assert.match(banner, /FROZEN — freeze window 'black-friday': Black Friday\./, banner)
      assert.match(banner, /Also freeze window 'nightly': nightly batch \(until 2026-11-28 06:00 CET/, banner)
      // the fake clock starts at the instant and runs on: on a loaded machine the CLI may set it seconds later
      assert.match(banner, /Also manual freeze: payment incident \(until 2026-11-28 02:30(:\d{2})? CET/, banner)
      assert.match(banner, /Then freeze window 'deploy-hold': deploy review \(2026-11-30 07:00 CET/, banner)
      assert.match(banner, /Changes are free again 2026-11-30 10:00 CET \(Europe\/Amsterdam\)/, banner)
    } finally {
      await daemon?.stop()
      await other.cleanup()
    }
  })

  it('a config with a bad window stops every command, naming the window', async () => {
    const bad = await createSite({ siteConfig: '    freeze:\n      windows:\n        - { name: sale, cron: "0 22 * *", duration: 8h }\n' })
    try {
      const r = await bad.cli(['freeze', 'status'])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /sites\.0\.freeze\.windows\.0\.cron: freeze window "sale": not a five-field cron expression/)
    } finally {
      await bad.cleanup()
    }
  })
})
