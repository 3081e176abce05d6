// What people type for times in the CLI's --since/--until and the UI's filters, read at fixed instants in
// fixed zones: never the machine's clock or TZ.
import assert from 'node:assert/strict'
import { parseWhen } from '../../src/services/inputs.ts'

const NOW = Date.parse('2026-12-06T03:30:00Z')
const iso = (ms: number) => new Date(ms).toISOString()

describe('services: times people type (parseWhen)', () => {
  it('a duration is that long before now; a number needs its unit', () => {
    assert.equal(iso(parseWhen('2h', '--since', NOW, 'UTC')), '2026-12-06T01:30:00.000Z')
    assert.equal(iso(parseWhen(' 7d ', '--since', NOW, 'UTC')), '2026-11-29T03:30:00.000Z')
    assert.equal(iso(parseWhen('1.5h', '--since', NOW, 'UTC')), '2026-12-06T02:00:00.000Z')
    // '2026' is not 2026 ms ago: with no unit it is read as a date (the year alone is not one people mean here)
    assert.throws(() => parseWhen('2026', '--since', NOW, 'UTC'), /--since "2026": give an ISO time/)
  })

  it("an ISO time without an offset is wall-clock time in the site's zone, a date alone its midnight there", () => {
    assert.equal(iso(parseWhen('2026-12-01T09:00', '--since', NOW, 'America/St_Johns')), '2026-12-01T12:30:00.000Z')
    assert.equal(iso(parseWhen('2026-12-01T09:00', '--since', NOW, 'Pacific/Chatham')), '2026-11-30T19:15:00.000Z')
    assert.equal(iso(parseWhen('2026-12-01', '--until', NOW, 'Europe/Amsterdam')), '2026-11-30T23:00:00.000Z')
    // the night the clocks go back in Amsterdam: 02:30 happens twice; the first is meant
    assert.equal(iso(parseWhen('2026-10-25T02:30', '--since', NOW, 'Europe/Amsterdam')), '2026-10-25T00:30:00.000Z')
    // with an offset it is that instant, whatever the zone
    assert.equal(iso(parseWhen('2026-12-01T09:00Z', '--since', NOW, 'Pacific/Chatham')), '2026-12-01T09:00:00.000Z')
    assert.equal(iso(parseWhen('2026-12-01T09:00-03:30', '--since', NOW, 'UTC')), '2026-12-01T12:30:00.000Z')
  })

  it('anything else is USAGE naming the field and what to write', () => {
    for (const bad of ['yesterday-ish', '', '2026-02-30', '12:00', 'h2', '-2h', '2026-12-01T25:00'])
      assert.throws(() => parseWhen(bad, 'since', NOW, 'Europe/Amsterdam'), (e: Error & { code?: string }) => e.code === 'USAGE' && /since .*give an ISO time .* in Europe\/Amsterdam\) or a duration ago/.test(e.message), bad)
  })
})
