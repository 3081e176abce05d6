// Launch night, end to end, in a real browser: Debian's chromium driven by playwright-core against the
// demo's stack (scripts/demo-stack.ts: a private MariaDB, Debian's WordPress under php -S, the peakguard
// daemon and its UI). The WordPress admin activates a plugin that breaks every page → the overview shows
// the site unhealthy and the change with its actor → Restore → Confirm → the shop works again, its name and
// theme are back, and every order placed since is still there. Also: a viewer cannot restore, a forged POST
// is refused, an approver decides a held change. Screenshots go to test-artifacts/.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { startDemoStack, type DemoLogin, type DemoStack } from '../scripts/demo-stack.ts'
import { withoutFaketime } from './harness/clock.ts'
import { isSnapshot } from './harness/daemon.ts'
import { freePort } from './harness/mariadb.ts'
import { REPO } from './harness/site.ts'
import { formFields } from './harness/wordpress.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARTIFACTS = path.join(REPO, 'test-artifacts')
// as root on a closed network: no sandbox (root), and none of Chromium's own calls home
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

function requireChromium(): void {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`the browser test needs Debian's chromium at ${CHROMIUM}: install it with 'apt-get install -y chromium' (scripts/setup.sh does)`)
}

interface Gate {
  url: string
  /** while set, requests wait (up to 8 s, within the probe's timeout) until release() */
  hold: boolean
  release(): void
  close(): Promise<void>
}

/** A loopback proxy to WordPress at `port` whose requests can be held. */
async function probeGate(port: number): Promise<Gate> {
  const held: (() => void)[] = []
  const forward = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const up = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.writeHead(502).end())
    req.pipe(up)
  }
  const g: Gate = {
    url: '',
    hold: false,
    release: () => {
      g.hold = false
      for (const go of held.splice(0)) go()
    },
    close: async () => undefined,
  }
  const server = http.createServer((req, res) => {
    if (!g.hold) return forward(req, res)
    held.push(() => forward(req, res))
    setTimeout(() => g.release(), 8000).unref()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  g.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
  g.close = () => new Promise((r) => server.close(() => r()))
  return g
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = await fn().catch(() => null)
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 500))
  }
}

describe('launch night in a real browser (demo stack: WordPress, MariaDB, daemon, chromium)', function () {
  this.timeout(300_000)
  let stack: DemoStack
  let browser: Browser
  let site: string
  let gate: Gate

  const option = async (name: string): Promise<string | undefined> => {
    const [rows] = (await stack.wp.db.query(`SELECT option_value FROM \`${stack.wp.prefix}options\` WHERE option_name = ?`, [name])) as [{ option_value: string }[], unknown]
    return rows[0]?.option_value
  }
  const api = async <T>(p: string): Promise<T> => {
    const res = await fetch(`${stack.uiUrl}${p}`, { headers: { authorization: `Bearer ${stack.adminToken}` } })
    assert.equal(res.status, 200, `${p}: HTTP ${res.status}`)
    return (await res.json()) as T
  }

  async function logIn(who: DemoLogin, viewport = { width: 1100, height: 900 }): Promise<Page> {
    const ctx = await browser.newContext({ viewport })
    const page = await ctx.newPage()
    await page.goto(`${stack.uiUrl}/`)
    assert.match(page.url(), /\/login/, 'the UI asks who you are first')
    await page.getByLabel('User name').fill(who.name)
    await page.getByLabel('Password').fill(who.password)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.waitForURL(`${stack.uiUrl}/`)
    return page
  }

  before(async () => {
    requireChromium()
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    // the daemon probes WordPress through a gate the test can hold, so that the moment between a recorded
    // change and its first probe round — "not probed yet" — lasts as long as the test needs to look at it.
    // Proven states are probed hourly: every round within the test is the fast cadence of a new state. The
    // probe checks the page holds the shop's title (a regex, as a WooCommerce probe set would check a form)
    const wpPort = await freePort()
    gate = await probeGate(wpPort)
    stack = await startDemoStack({
      wpPort,
      siteConfig:
        '    freeze: { zone: Europe/Amsterdam, policy: hold }\n' +
        `    health: { interval: 1h, fastInterval: 1s, fastRounds: 30, goodAfter: 15s, probes: [{ name: shop home, url: "${gate.url}", headers: { Host: "127.0.0.1:${wpPort}" }, mustContain: [{ regex: "<title>[^<]*Shop", flags: i }] }] }\n`,
    })
    site = stack.wp.siteId
    // the browser keeps the machine's own clock in a clock-shifted run (under libfaketime its timed waits
    // crawl: a page load took seconds): what is tested is the server's clock, and a browser's clock may be
    // anything — the session cookie carries no expiry for it to judge
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, env: withoutFaketime() })
  })

  after(async () => {
    await browser?.close()
    await stack?.stop()
    await gate?.close()
  })

  it('a plugin breaks the shop at 3 a.m.; the operator restores the last known-good in two clicks; no order is lost', async () => {
    // the daemon marks the launch state known-good once it stayed healthy (health.goodAfter)
    const good = await until('a known-good state', async () => (await api<{ id: string; knownGood: boolean }[]>(`/api/sites/${site}/states`)).find((s) => s.knownGood), 90_000)
    const blogname = await option('blogname')
    const theme = await option('stylesheet')
    const ordersBefore = await stack.orders()

    // the WordPress admin, in wp-admin: renames the shop, switches the theme, activates the broken plugin
    const wpAdmin = await stack.wp.login()
    const general = await wpAdmin.get('/wp-admin/options-general.php')
    const renamed = await wpAdmin.post('/wp-admin/options.php', { ...formFields(general.body, 'options.php'), blogname: 'Upsell Test Shop' })
    assert.equal(renamed.status, 200)
    const themes = await wpAdmin.get('/wp-admin/themes.php')
    const activate = /href="(?:[^"]*\/wp-admin\/)?(themes\.php\?action=activate&(?:amp;|#038;)stylesheet=twentytwentyone&(?:amp;|#038;)_wpnonce=[0-9a-f]+)"/.exec(themes.body)
    assert.ok(activate, 'an Activate link for Twenty Twenty-One')
    await wpAdmin.get(`/wp-admin/${(activate[1] as string).replace(/&(amp|#038);/g, '&')}`)
    assert.equal(await option('stylesheet'), 'twentytwentyone')
    const page = await logIn(stack.logins.operator)
    const from = stack.daemon.lines.length
    gate.hold = true
    const activated = await stack.wp.activatePluginViaAdmin(wpAdmin, stack.brokenPlugin)
    assert.equal(activated.status, 200)
    const broken = await stack.daemon.waitFor((l) => isSnapshot(l) && String(l.summary).includes('active_plugins'), 30_000, from)
    // orders keep coming in after the bad change
    await stack.addOrder('19.99')
    await stack.addOrder('59.00')
    const home = await fetch(`${stack.wp.url}/`)
    assert.equal(home.status, 500)
    assert.match(await home.text(), /critical error/)

    // the break is recorded and no probe round has seen it yet: the overview says so, and never HEALTHY
    await until('the overview to show the broken state live', async () => {
      await page.reload()
      return (await page.content()).includes(String(broken.state).slice(0, 12))
    })
    const notProbed = page.locator('[data-health="not-probed"]')
    assert.ok(await notProbed.isVisible(), `right after the break: ${await page.locator('.health').first().innerText()}`)
    assert.match(await notProbed.innerText(), /NOT PROBED YET \(changed \d+ s ago\)/)
    await page.screenshot({ path: path.join(ARTIFACTS, 'overview-not-probed.png'), fullPage: true })
    gate.release()
    // the health probes see the critical-error page within a round or two
    await until('the overview to show the site unhealthy', async () => {
      await page.reload()
      return page.locator('[data-health="unhealthy"]').isVisible()
    })
    const changes = page.locator('table.states')
    await assert.doesNotReject(changes.getByText(/wp:admin/).first().waitFor(), 'the change is shown with its actor')
    // the changes in words, as the night shift reads them; the raw items one click away
    const words = await changes.innerText()
    assert.match(words, /plugin Demo Upsell activated/)
    assert.match(words, /theme switched from .+ to Twenty Twenty-One/)
    assert.match(words, /site title changed/)
    assert.match(await page.locator('[data-health="unhealthy"]').innerText(), /UNHEALTHY/)
    await page.screenshot({ path: path.join(ARTIFACTS, 'overview-unhealthy.png'), fullPage: true })

    // the diff of the bad state against the known-good, as the operator would check it
    const diff = await browser.newPage()
    await diff.context().addCookies(await page.context().cookies())
    await diff.goto(`${stack.uiUrl}/sites/${site}/states/${String(broken.state)}?against=${good.id}`)
    await diff.getByText('active_plugins').first().waitFor()
    assert.match(await diff.content(), /PHP-serialized, shown unserialized/)
    await diff.screenshot({ path: path.join(ARTIFACTS, 'diff.png'), fullPage: true })
    await diff.close()

    // two clicks: Restore, Confirm
    await page.getByTestId('restore-last-good').click()
    await page.getByRole('heading', { name: /Restore .* to/ }).waitFor()
    assert.match(await page.content(), /orders/)
    const clicked = Date.now()
    await page.getByRole('button', { name: 'Confirm restore' }).click()
    await page.locator('[data-result]').waitFor()
    const shown = Date.now() - clicked
    assert.equal(await page.locator('[data-result]').getAttribute('data-result'), 'verified')
    assert.match(await page.content(), /Caches: flushed through the WordPress bridge/)
    await page.screenshot({ path: path.join(ARTIFACTS, 'restore-result.png'), fullPage: true })
    // a figure for the record (no timed assertion: shared machines vary): Confirm → result page, and the server's own restore time
    const entry = (await api<{ entries: { details: { durationMs?: number } }[] }>(`/api/sites/${site}/audit?type=restore`)).entries.findLast((e) => e.details.durationMs !== undefined)
    console.log(`      restore through the UI: Confirm → verified result page ${shown} ms (the restore itself: ${entry?.details.durationMs} ms)`)

    // the shop works again, with its name and theme, and with every order
    const after = await fetch(`${stack.wp.url}/`)
    const body = await after.text()
    assert.equal(after.status, 200, body.slice(0, 300))
    assert.doesNotMatch(body, /critical error/)
    assert.equal(await option('blogname'), blogname)
    assert.equal(await option('stylesheet'), theme)
    assert.equal(await stack.orders(), ordersBefore + 2, 'the orders placed after the known-good state are all still there')
    await page.goto(`${stack.uiUrl}/`)
    await until('the overview to show the site healthy', async () => {
      await page.reload()
      return page.locator('[data-health="healthy"]').isVisible()
    })
    await page.screenshot({ path: path.join(ARTIFACTS, 'overview-healthy.png'), fullPage: true })

    // a forged POST without the CSRF token, from the operator's own browser session, is refused
    const forged = await page.request.post(`${stack.uiUrl}/sites/${site}/restores`, { form: { target: String(broken.state) }, maxRedirects: 0 })
    assert.equal(forged.status(), 403)
    assert.match(await forged.text(), /CSRF/)
    assert.equal(await option('blogname'), blogname, 'the forged restore changed nothing')
    await page.context().close()
  })

  it('a viewer, on a phone: readable pages with labelled fields, no Restore button, and the API refuses the viewer', async () => {
    const page = await logIn(stack.logins.viewer, { width: 390, height: 844 })
    await page.getByRole('heading', { name: `Site ${site}` }).waitFor()
    assert.equal(await page.getByTestId('restore-last-good').count(), 0)
    for (const p of ['/', `/sites/${site}/states`, `/sites/${site}/freeze`, `/sites/${site}/audit`]) {
      await page.goto(`${stack.uiUrl}${p}`)
      // nothing wider than the phone (no sideways scrolling), and every visible field has a label
      const layout = await page.evaluate(() => ({
        wide: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        unlabelled: [...document.querySelectorAll('input:not([type=hidden]), select, textarea')].filter((e) => !(e as HTMLInputElement).labels?.length).map((e) => e.outerHTML),
      }))
      assert.ok(layout.wide <= 1, `${p} is ${layout.wide} px wider than a phone`)
      assert.deepEqual(layout.unlabelled, [], `${p}: fields without a label`)
    }
    await page.goto(`${stack.uiUrl}/`)
    await page.screenshot({ path: path.join(ARTIFACTS, 'overview-phone.png'), fullPage: true })
    const csrf = await page.locator('input[name="_csrf"]').first().getAttribute('value')
    const states = (await (await page.request.get(`${stack.uiUrl}/api/sites/${site}/states`)).json()) as { id: string }[]
    const r = await page.request.post(`${stack.uiUrl}/api/sites/${site}/restores`, { data: { target: states[1]?.id, dryRun: false }, headers: { 'x-csrf-token': csrf ?? '' } })
    assert.equal(r.status(), 403)
    assert.match(((await r.json()) as { error: { message: string } }).error.message, /role viewer/)
    await page.context().close()
  })

  it('during a freeze a change made outside WordPress is held, and an approver approves it', async () => {
    const page = await logIn(stack.logins.approver)
    await page.goto(`${stack.uiUrl}/sites/${site}/freeze`)
    await page.getByLabel(/^For/).first().fill('2h')
    await page.getByLabel(/Reason \(shown to everyone/).fill('Campaign launch')
    await page.getByRole('button', { name: 'Freeze' }).click()
    await page.getByText('FROZEN').first().waitFor()
    const from = stack.daemon.lines.length
    await stack.wp.db.query(`UPDATE \`${stack.wp.prefix}options\` SET option_value = 'Now with free shipping' WHERE option_name = 'blogdescription'`)
    await stack.daemon.waitFor((l) => l.msg === 'freeze: change held for approval', 30_000, from)
    await page.goto(`${stack.uiUrl}/sites/${site}/requests`)
    const card = page.locator('section.request').first()
    await card.getByText('blogdescription').first().waitFor()
    assert.match(await card.innerText(), /outside WordPress/)
    await card.getByLabel(/Note/).fill('free shipping is part of the campaign')
    await card.getByRole('button', { name: 'Approve' }).click()
    await page.getByText(/Approved .*: kept live/).waitFor()
    assert.equal(await option('blogdescription'), 'Now with free shipping')
    const audit = await api<{ entries: { type: string; actor: string }[] }>(`/api/sites/${site}/audit?type=approval`)
    assert.ok(audit.entries.some((e) => e.actor === stack.logins.approver.name))
    await page.context().close()
  })
})
