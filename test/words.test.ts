// Changes in words on a real site (MariaDB, the CLI, the daemon's pages): a plugin written with its header
// and activated through active_plugins, a theme switch, a plugin update — `list`, `show` and the timeline
// say them as WordPress people do, by whom, with the raw items one click away; a hostile plugin name is
// shown as text, never as markup.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { startDaemon } from './harness/daemon.ts'
import { createSite, phpSerialize, WWW, type TestSite } from './harness/site.ts'
import { login, makeUsers } from './harness/users.ts'

const header = (name: string, version: string) => `<?php\n/**\n * Plugin Name: ${name}\n * Version: ${version}\n */\n`

describe('changes in words (real site)', function () {
  this.timeout(240_000)
  let site: TestSite
  before(async () => {
    site = await createSite()
    assert.equal((await site.cli(['snapshot', '-m', 'baseline'])).code, 0)
  })
  after(async () => site?.cleanup())

  const put = (rel: string, text: string) => {
    const p = path.join(site.wpContent, rel)
    fs.mkdirSync(path.dirname(p), { recursive: true })
    fs.writeFileSync(p, text)
    fs.chownSync(p, WWW, WWW)
  }
  const setOption = (name: string, value: string) => site.db.query('UPDATE wp_options SET option_value = ? WHERE option_name = ?', [value, name])

  it('says a plugin added and activated and the site title changed, in list and show, with who did it and the raw items', async () => {
    put('plugins/demo-upsell/demo-upsell.php', header('Demo Upsell', '1.0.0'))
    put('plugins/demo-upsell/includes/offer.php', '<?php\n')
    await setOption('active_plugins', phpSerialize(['woocommerce/woocommerce.php', 'akismet/akismet.php', 'demo-upsell/demo-upsell.php']))
    await setOption('blogname', 'Campaign Shop — Black Friday')
    const snap = await site.cli(['snapshot', '--json'])
    assert.equal(snap.code, 0, snap.stderr)

    const list = await site.cli(['list', '--json'])
    assert.deepEqual(list.json[0].words, ['plugin Demo Upsell added and activated', 'site title changed'])
    assert.equal(list.json[1].words, null, 'the first state has nothing to compare with')
    const text = (await site.cli(['list'])).stdout.split('\n')[0] as string
    assert.match(text, /plugin Demo Upsell added and activated; site title changed {2}— by \S+$/)

    const shown = await site.cli(['show', 'latest'])
    assert.match(shown.stdout, /^changed {2}plugin Demo Upsell added and activated; site title changed$/m)
    assert.match(shown.stdout, /^\+ file {3}plugins\/demo-upsell\/demo-upsell\.php$/m, 'the raw items are still listed')
    assert.match(shown.stdout, /^~ option wp_options\.active_plugins$/m)
    assert.deepEqual((await site.cli(['show', 'latest', '--json'])).json.words, ['plugin Demo Upsell added and activated', 'site title changed'])
  })

  it('says a theme switch by the themes’ names, and a plugin update with both versions', async () => {
    await setOption('template', 'twentytwentythree')
    await setOption('stylesheet', 'twentytwentythree')
    const wc = fs.readFileSync(path.join(site.wpContent, 'plugins/woocommerce/woocommerce.php'), 'utf8')
    put('plugins/woocommerce/woocommerce.php', wc.replaceAll('9.4.0', '9.5.0'))
    for (let i = 0; i < 3; i++) put(`plugins/woocommerce/includes/class-wc-part-${i}.php`, `<?php\nclass WC_Part_${i} { /* 9.5.0 */ }\n`)
    assert.equal((await site.cli(['snapshot'])).code, 0)
    assert.deepEqual((await site.cli(['list', '--json'])).json[0].words, ['theme switched from Storefront to Twenty Twenty-Three', 'plugin WooCommerce updated 9.4.0 → 9.5.0 (4 files)'])
  })

  it('shows the words on the timeline and the state page, the raw items one click away, a hostile name as text', async () => {
    put('plugins/evil/evil.php', header('<img src=x onerror=alert(1)>', '1'))
    assert.equal((await site.cli(['snapshot'])).code, 0)
    await makeUsers(site.configFile, 'ada', { vic: 'viewer' })
    const daemon = await startDaemon(site)
    try {
      await daemon.waitFor((l) => l.msg === 'peakguard daemon running', 60_000)
      const { c } = await login(daemon.url, 'vic', 'vic-password-1')
      const timeline = (await c.get('/sites/shop/states')).body
      assert.match(timeline, /<summary>theme switched from Storefront to Twenty Twenty-Three; plugin WooCommerce updated 9\.4\.0 → 9\.5\.0 \(4 files\)<\/summary>/)
      assert.match(timeline, /<summary>plugin &lt;img src=x onerror=alert\(1\)&gt; added<\/summary>/)
      assert.doesNotMatch(timeline, /<img src=x/)
      const id = (await site.cli(['list', '--json'])).json[2].id as string
      const page = (await c.get(`/sites/shop/states/${id}`)).body
      assert.match(page, /<li>plugin Demo Upsell added and activated<\/li>/)
      assert.match(page, /<details class="words"><summary>6 item\(s\) since the state before<\/summary>/)
      assert.match(page, /<li><code>\+ plugins\/demo-upsell\/demo-upsell\.php<\/code><\/li>/)
    } finally {
      await daemon.stop()
    }
  })
})
