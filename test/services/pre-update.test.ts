// The pre-update snapshot's words and the upgrade's account, without WordPress: the message a pre-update
// snapshot gets for each kind of package, the bridge's `upgraded` events turned into the Peakguard-Upgrade
// trailer (only for what changed), and where the bridge is told to find the daemon (loopback only).
import assert from 'node:assert/strict'
import type { StateDiff, WpEvent } from '../../src/core/index.ts'
import { attribute, attributionTrailers, upgradeOf } from '../../src/services/attribution.ts'
import { daemonForBridge } from '../../src/services/freeze.ts'
import { PeakguardError } from '../../src/errors.ts'
import { preUpdateMessage, preUpdateSnapshot } from '../../src/services/pre-update.ts'
import type { SiteRecording } from '../../src/services/site-daemon.ts'
import { memorySite, type MemorySite } from '../memory/site.ts'

const T0 = 1_700_000_000_000
const names = { userName: (uid: number) => `uid${uid}` }
const event = (event: string, subject: string): WpEvent => ({ time: (T0 + 500) / 1000, event, subject, user: 'admin', userId: 1, ip: null, cli: false, cron: false })
const fileChanged = (path: string): StateDiff => ({ files: [{ path, change: 'modified', content: true }], options: [], links: [], dirs: [] }) as unknown as StateDiff

describe('the pre-update snapshot: its message, and the upgrade named in the update\'s snapshot', () => {
  it('the message names the upgrade as WordPress is about to run it', () => {
    assert.equal(preUpdateMessage({ type: 'plugin', action: 'update', plugin: 'hello/hello.php', from: '1.0' }), 'before plugin update hello/hello.php 1.0')
    assert.equal(preUpdateMessage({ type: 'plugin', action: 'update', plugin: 'hello/hello.php', from: '1.0', to: '1.1' }), 'before plugin update hello/hello.php 1.0 → 1.1')
    assert.equal(preUpdateMessage({ type: 'theme', action: 'update', theme: 'twentytwentythree' }), 'before theme update twentytwentythree')
    assert.equal(preUpdateMessage({ type: 'core', action: 'update' }), 'before core update')
    assert.equal(preUpdateMessage({ type: 'core', action: 'update', from: '6.1.9', to: '6.2' }), 'before core update 6.1.9 → 6.2')
    assert.equal(preUpdateMessage({ type: 'plugin', action: 'install', package: 'hello-2.0.zip' }), 'before installing a plugin from hello-2.0.zip')
    assert.equal(preUpdateMessage({ type: 'theme', action: 'install' }), 'before installing a theme')
    assert.equal(preUpdateMessage({ type: 'translation', action: 'update', language: 'de_DE', slug: 'akismet', to: '5.0' }), 'before translation update de_DE (akismet) 5.0')
    assert.equal(preUpdateMessage({ type: 'other', action: 'update', package: 'x.zip' }), 'before package update x.zip')
  })

  it("an `upgraded` event names the unit it wrote; core and translations none", () => {
    assert.deepEqual(upgradeOf('plugin hello-migrate/hello-migrate.php: 1.0 → 2.0'), { unit: 'plugins/hello-migrate', what: 'plugin hello-migrate/hello-migrate.php: 1.0 → 2.0' })
    assert.deepEqual(upgradeOf('plugin hello.php: 2.0 installed')?.unit, 'plugins/hello.php')
    assert.deepEqual(upgradeOf('theme twentytwentythree: 1.0 → 1.1')?.unit, 'themes/twentytwentythree')
    assert.deepEqual(upgradeOf('core: 6.1.9 → 6.2'), { unit: null, what: 'core: 6.1.9 → 6.2' })
    assert.equal(upgradeOf('something else'), null)
  })

  it('the update\'s snapshot gets a Peakguard-Upgrade trailer for the upgrades of what changed, and only those', () => {
    const events = [
      event('upgrader_process_complete', 'plugin update hello-migrate/hello-migrate.php'),
      event('upgraded', 'plugin hello-migrate/hello-migrate.php: 1.0 → 2.0'),
      event('upgraded', 'plugin other/other.php: 3.0 → 4.0'),
    ]
    const a = attribute(fileChanged('plugins/hello-migrate/hello-migrate.php'), events, T0, T0 + 2000, names)
    assert.equal(attributionTrailers(a)['Peakguard-Upgrade'], 'plugin hello-migrate/hello-migrate.php: 1.0 → 2.0 (WordPress upgrader, wp:admin (#1))')
    const none = attribute(fileChanged('plugins/third/x.php'), [event('upgraded', 'plugin other/other.php: 3.0 → 4.0')], T0, T0 + 2000, names)
    assert.equal(attributionTrailers(none)['Peakguard-Upgrade'], undefined)
    const core = attribute({ files: [], options: [{ table: 'wp_options', name: 'db_version', change: 'modified', value: true }], links: [], dirs: [] } as unknown as StateDiff, [event('upgraded', 'core: 6.1.9 → 6.2')], T0, T0 + 2000, names)
    assert.equal(attributionTrailers(core)['Peakguard-Upgrade'], 'core: 6.1.9 → 6.2 (WordPress upgrader, wp:admin (#1))')
    // a translation writes nothing peakguard records, and core explains only its database version: an SQL edit of
    // siteurl in the same window stays a change from outside WordPress, with no upgrade named
    const siteurl = { files: [], options: [{ table: 'wp_options', name: 'siteurl', change: 'modified', value: true }], links: [], dirs: [] } as unknown as StateDiff
    const sql = attribute(siteurl, [event('upgraded', 'translation de_DE plugin akismet: 5.0'), event('upgraded', 'core: 6.1.9 → 6.2')], T0, T0 + 2000, names)
    assert.equal(attributionTrailers(sql)['Peakguard-Upgrade'], undefined)
    assert.equal(sql.kind, 'unknown')
  })

  it('the bridge is told to ask the daemon on loopback only', () => {
    assert.deepEqual(daemonForBridge({ host: '127.0.0.1', port: 8087 }, 15_000), { url: 'http://127.0.0.1:8087', waitSeconds: 15 })
    assert.deepEqual(daemonForBridge({ host: '0.0.0.0', port: 8087 }, 2500), { url: 'http://127.0.0.1:8087', waitSeconds: 2.5 })
    assert.deepEqual(daemonForBridge({ host: '::', port: 9 }, 0)?.url, 'http://127.0.0.1:9')
    assert.deepEqual(daemonForBridge({ host: 'localhost', port: 9 }, 0)?.url, 'http://127.0.0.1:9')
    assert.deepEqual(daemonForBridge({ host: '::1', port: 9 }, 0)?.url, 'http://[::1]:9')
    assert.equal(daemonForBridge({ host: '10.0.0.5', port: 8087 }, 15_000), null)
    assert.equal(daemonForBridge({ host: 'peakguard.example', port: 8087 }, 15_000), null)
  })

  describe('the daemon side: in time or not at all, and one reading for requests that wait together', () => {
    /** A SiteRecording as preUpdateSnapshot uses it: a queue of exclusive jobs over a memory site. */
    function recordingOf(m: MemorySite) {
      let queue: Promise<unknown> = Promise.resolve()
      const rec = {
        site: m.site,
        governance: null,
        status: () => ({ lastSnapshot: null }),
        exclusive<T>(fn: (release: () => void) => Promise<T>): Promise<T> {
          const run = queue.then(() => fn(() => undefined))
          queue = run.catch(() => undefined)
          return run
        },
      }
      return rec as unknown as SiteRecording
    }
    const log = { debug() {}, info() {}, warn() {}, error() {} }
    const what = { type: 'plugin', action: 'update', plugin: 'hello/hello.php' } as const

    it('takes no snapshot once the bridge has stopped waiting (or is about to), nor for a bridge that hung up', async () => {
      const m = memorySite()
      const rec = recordingOf(m)
      const before = (await m.journal.log()).length
      const d = { metrics: null, log, waitMs: 15_000 }
      // the request came 14 s ago: less than the margin a full reading needs is left
      await assert.rejects(preUpdateSnapshot(rec, d, what, { received: Date.now() - 14_000, gone: () => false }), (e: unknown) => e instanceof PeakguardError && e.code === 'BUSY' && /too late/.test(e.message))
      await assert.rejects(preUpdateSnapshot(rec, d, what, { received: Date.now(), gone: () => true }), /too late/)
      assert.equal((await m.journal.log()).length, before, 'nothing was recorded under the name "before …"')
      const r = await preUpdateSnapshot(rec, d, what, { received: Date.now(), gone: () => false })
      assert.equal(r.created, true)
      assert.equal((await m.journal.log())[0]?.trailers['Peakguard-Trigger'], 'pre-update')
    })

    it('requests that arrive while one waits in the queue share its reading: one snapshot, not one each', async () => {
      const m = memorySite()
      const rec = recordingOf(m)
      let letGo: () => void = () => undefined
      // a restore holds the queue
      const held = rec.exclusive(() => new Promise<void>((r) => (letGo = r)))
      const d = { metrics: null, log, waitMs: 15_000 }
      const asks = [1, 2, 3].map(() => preUpdateSnapshot(rec, d, what, { received: Date.now(), gone: () => false }))
      const before = (await m.journal.log()).length
      letGo()
      await held
      const answers = await Promise.all(asks)
      assert.deepEqual(new Set(answers.map((a) => a.snapshot)).size, 1)
      assert.equal((await m.journal.log()).length, before + 1)
    })
  })
})
