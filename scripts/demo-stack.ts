// The demo stack: a private MariaDB, a real WordPress shop (Debian's wordpress served by php -S) with a
// few plugins, sample orders and a Site Editor design (Twenty Twenty-Three's header with a Checkout
// button, a background colour), peakguard's users and WordPress bridge, and the daemon with its UI — the
// whole thing `npm run demo` starts for a person to click through, and the browser end-to-end test starts
// for itself. Built from the test harness (test/harness/*) so the demo runs exactly what the tests test.
// Never touches a database server that was already there: it starts a MariaDB of its own and stops it.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { fastDaemonConfig, isSnapshot, startDaemon, type RunningDaemon } from '../test/harness/daemon.ts'
import { PrivateMariadb } from '../test/harness/mariadb.ts'
import { REPO } from '../test/harness/site.ts'
import { cliWithInput, ok } from '../test/harness/users.ts'
import { ADMIN_PASS, ADMIN_USER, createWordPress, requirePortFree, requireWordPress, type HttpResult, type TestWordPress } from '../test/harness/wordpress.ts'

export type DemoRole = 'admin' | 'approver' | 'operator' | 'viewer'

export interface DemoLogin {
  name: string
  password: string
  role: DemoRole
}

export interface DemoStack {
  wp: TestWordPress
  /** http://127.0.0.1:PORT: the daemon's UI, API and /healthz (ui.listen) */
  uiUrl: string
  daemon: RunningDaemon
  /** peakguard users, one per role (not WordPress logins: none is mapped to one) */
  logins: Record<DemoRole, DemoLogin>
  /** an API token of logins.admin, for the CLI (PEAKGUARD_TOKEN) or the API (Authorization: Bearer) */
  adminToken: string
  /** the WordPress administrator (wp-login.php) */
  wpAdmin: { name: string; password: string }
  /** the plugin (file relative to wp-content/plugins) that breaks every front-end page once activated; inactive at start */
  brokenPlugin: string
  /** the Checkout page the header's button leads to (a page: content, never in a snapshot) */
  checkoutUrl: string
  /**
   * The 3 a.m. Site Editor slip: saves the header template part without its Checkout button the way the
   * Site Editor does, as the WordPress admin (a REST save with cookie and nonce); WordPress's answer.
   */
  breakHeader(): Promise<HttpResult>
  /** the number of orders (shop_order posts) in the shop */
  orders(): Promise<number>
  /** places an order (a shop_order post: content, never in a snapshot); its post id */
  addOrder(total?: string): Promise<number>
  /** `ps` lines of the processes this stack started that still run (the daemon, php -S and its workers, mariadbd) */
  processes(): string[]
  /** stops the daemon, php -S and the private MariaDB; safe to call twice. A temporary folder is removed, a given `dir` kept. */
  stop(): Promise<void>
}

export interface DemoStackOptions {
  /** the stack's folder (the demo: <repo>/snapshots/demo), wiped first so every run starts afresh; default a new temporary one */
  dir?: string
  /** WordPress's port (the demo: 8080); default a free one */
  wpPort?: number
  /** the daemon's UI port (the demo: 8087); default a free one */
  uiPort?: number
  /** more YAML for the site's config, indented 4 spaces; a key it sets replaces the stack's line for that key */
  siteConfig?: string
  /** progress, one line per step */
  log?: (line: string) => void
}

export const SHOP_TITLE = 'Night Shift Shop'

/** The shop plugin (active) and what it prints on every front-end page. */
export const DEMO_SHOP = { file: 'peakguard-demo-shop/peakguard-demo-shop.php', marker: 'PEAKGUARD-DEMO-SHOP-5d1e' }

/** The broken release (inactive at start): "Demo Upsell" in wp-admin's plugin list. */
export const DEMO_UPSELL = { file: 'peakguard-demo-upsell/peakguard-demo-upsell.php', name: 'Demo Upsell' }

/**
 * The shop's design, kept by Twenty Twenty-Three as Site Editor entities (posts), not files: its header
 * template part, with the shop's name and a Checkout button, and the user's global styles, a background
 * colour. Made before the daemon starts, so the demo's first snapshots record them.
 */
export const DEMO_DESIGN = {
  theme: 'twentytwentythree',
  /** the header's name for `--only` and allow-window scopes */
  header: 'entity:wp_template_part/twentytwentythree/header',
  globalStyles: 'entity:wp_global_styles/twentytwentythree/wp-global-styles-twentytwentythree',
  /** the Checkout button's class: on every front-end page while the header is intact */
  checkout: 'peakguard-demo-checkout',
  background: '#fff4d6',
} as const

/** Whether a front-end page shows the header's Checkout button. */
export function showsCheckout(html: string): boolean {
  return new RegExp(`class="wp-block-button ${DEMO_DESIGN.checkout}"><a [^>]*>Checkout</a>`).test(html)
}

/**
 * Twenty Twenty-Three's header as the Site Editor saves it: the site title and, on the right, a Checkout
 * button — or, the night someone tidies the header up, a campaign line where the button was.
 */
function headerMarkup(checkoutUrl: string | null): string {
  const right =
    checkoutUrl === null
      ? '<!-- wp:paragraph -->\n<p>Campaign night: 50% off until midnight</p>\n<!-- /wp:paragraph -->'
      : `<!-- wp:buttons -->\n<div class="wp-block-buttons"><!-- wp:button {"className":"${DEMO_DESIGN.checkout}"} -->\n` +
        `<div class="wp-block-button ${DEMO_DESIGN.checkout}"><a class="wp-block-button__link wp-element-button" href="${checkoutUrl}">Checkout</a></div>\n` +
        '<!-- /wp:button --></div>\n<!-- /wp:buttons -->'
  return (
    '<!-- wp:group {"layout":{"type":"constrained"}} -->\n<div class="wp-block-group">' +
    '<!-- wp:group {"align":"wide","style":{"spacing":{"padding":{"bottom":"var:preset|spacing|40"}}},"layout":{"type":"flex","justifyContent":"space-between"}} -->\n' +
    '<div class="wp-block-group alignwide" style="padding-bottom:var(--wp--preset--spacing--40)"><!-- wp:site-title {"level":0} /-->\n\n' +
    `${right}</div>\n<!-- /wp:group --></div>\n<!-- /wp:group -->`
  )
}

// As the Site Editor saves them (its REST controllers call the same functions): the header a
// wp_template_part post with its theme and area terms, the styles the user's wp_global_styles post, which
// WordPress itself creates for the active theme. wp_insert_post sets tax_input only for a user who may
// assign the terms, as the editor's admin may. The markup and colour travel in the environment.
const DESIGN_PHP = `wp_set_current_user( 1 );
$page = wp_insert_post( array( 'post_type' => 'page', 'post_status' => 'publish', 'post_title' => 'Checkout', 'post_name' => 'checkout', 'post_content' => '<!-- wp:paragraph --><p>The demo shop takes no payments: this is where the checkout would be.</p><!-- /wp:paragraph -->' ), true );
if ( is_wp_error( $page ) ) { fwrite( STDERR, $page->get_error_message() ); exit( 1 ); }
$url = get_permalink( $page );
$header = wp_insert_post( wp_slash( array(
\t'post_type'    => 'wp_template_part',
\t'post_status'  => 'publish',
\t'post_name'    => 'header',
\t'post_title'   => 'Header',
\t'post_content' => str_replace( '{{checkout}}', esc_url( $url ), getenv( 'HEADER_MARKUP' ) ),
\t'tax_input'    => array( 'wp_theme' => array( get_stylesheet() ), 'wp_template_part_area' => array( WP_TEMPLATE_PART_AREA_HEADER ) ),
) ), true );
if ( is_wp_error( $header ) ) { fwrite( STDERR, $header->get_error_message() ); exit( 1 ); }
$styles = WP_Theme_JSON_Resolver::get_user_global_styles_post_id();
if ( ! $styles ) { fwrite( STDERR, 'WordPress made no global styles post' ); exit( 1 ); }
$config = array( 'version' => WP_Theme_JSON::LATEST_SCHEMA, 'isGlobalStylesUserThemeJSON' => true, 'styles' => array( 'color' => array( 'background' => getenv( 'BACKGROUND' ) ) ) );
$r = wp_update_post( wp_slash( array( 'ID' => $styles, 'post_content' => wp_json_encode( $config ) ) ), true );
if ( is_wp_error( $r ) ) { fwrite( STDERR, $r->get_error_message() ); exit( 1 ); }
echo $url;`

/** Fixed, well-known passwords: the demo prints them, and everything it starts listens on 127.0.0.1 only. */
export const DEMO_LOGINS: Record<DemoRole, DemoLogin> = {
  admin: { name: 'admin', password: 'night-shift-admin-2026', role: 'admin' },
  approver: { name: 'approver', password: 'night-shift-approver-2026', role: 'approver' },
  operator: { name: 'operator', password: 'night-shift-operator-2026', role: 'operator' },
  viewer: { name: 'viewer', password: 'night-shift-viewer-2026', role: 'viewer' },
}

// Orders are posts of type shop_order, as WooCommerce keeps them without HPOS: content, so a rollback of
// code and settings leaves every order in place — the point the demo makes.
const SHOP_PHP = `<?php
/**
 * Plugin Name: Peakguard Demo Shop
 * Description: The demo's little shop: keeps orders (post type shop_order, under Orders in wp-admin) and greets visitors on every page.
 * Version: 1.0.0
 */
add_action( 'init', function () {
\tregister_post_type( 'shop_order', array( 'label' => 'Orders', 'public' => false, 'show_ui' => true, 'menu_icon' => 'dashicons-cart', 'supports' => array( 'title', 'custom-fields' ) ) );
} );
add_action( 'wp_body_open', function () {
\tprintf( '<div id="peakguard-demo-shop" data-marker="${DEMO_SHOP.marker}" style="padding:1em;background:#1e1e1e;color:#fff;text-align:center"><strong>%s</strong>: campaign night, 50%% off until midnight</div>', esc_html( get_bloginfo( 'name' ) ) );
} );
`

// Loads fine (WordPress sandboxes an activation and refuses a plugin that dies while loading, so this one
// must not), then dies on every front-end request: a class its beta forgot to ship. WordPress's fatal
// error handler turns that into "There has been a critical error on this website." with HTTP 500;
// wp-admin never runs template_redirect, so the admin can still get in.
const UPSELL_PHP = `<?php
/**
 * Plugin Name: ${DEMO_UPSELL.name}
 * Description: "Customers also bought" boxes on every page of the shop for the campaign.
 * Version: 2.0.0-beta.1
 */
add_action( 'template_redirect', function () {
\tif ( is_admin() ) {
\t\treturn;
\t}
\t$box = new Demo_Upsell_Recommendations( get_queried_object_id() );
\t$box->render();
} );
`

/** The stack's lines of the site config; `siteConfig`'s own keys replace them. */
function siteConfigFor(extra: string): string {
  const mine =
    fastDaemonConfig() +
    // probe the home page every 2 s; a state that stays healthy 15 s is known-good, so one is soon after start
    '    health: { interval: 2s, goodAfter: 15s }\n' +
    // the night shift rolls back by hand in the UI: that is what the demo shows
    '    autoRollback: { enabled: false }\n' +
    // a zone for the UI to show times in
    '    freeze: { zone: Europe/Amsterdam }\n'
  const theirs = new Set([...extra.matchAll(/^ {4}([A-Za-z]+):/gm)].map((m) => m[1]))
  return mine.split('\n').filter((l) => l && !theirs.has(/^ {4}([A-Za-z]+):/.exec(l)?.[1] ?? '')).map((l) => `${l}\n`).join('') + extra
}

/** Empties `dir` for a new run. A folder with files in it is wiped only under the repository's scratch folder snapshots/: a mistyped `dir` must never cost anyone their files. */
function wipe(dir: string): void {
  if (!fs.existsSync(dir) || fs.readdirSync(dir).length === 0) return
  const scratch = path.join(REPO, 'snapshots') + path.sep
  if (!dir.startsWith(scratch)) throw new Error(`refusing to wipe ${dir}: it is not empty, and the demo stack wipes only folders under ${scratch} (give a new or empty folder)`)
  fs.rmSync(dir, { recursive: true, force: true })
}

export async function startDemoStack(opts: DemoStackOptions = {}): Promise<DemoStack> {
  const log = opts.log ?? (() => undefined)
  const dir = opts.dir && path.resolve(opts.dir)
  // the cheap checks first: nothing is started when a Debian package is missing or a port is taken
  requireWordPress()
  if (opts.wpPort !== undefined) await requirePortFree(opts.wpPort)
  if (opts.uiPort !== undefined) await requirePortFree(opts.uiPort)
  if (dir) wipe(dir)

  log('starting a private MariaDB (the one on 3306, if any, is not touched)')
  const mariadb = await PrivateMariadb.create()
  let wp: TestWordPress | null = null
  let daemon: RunningDaemon | null = null
  // every process of the stack names one of these on its command line: mariadbd its datadir, php -S the
  // WordPress root, the daemon its config
  const marks = [mariadb.dataDir]
  let stopping: Promise<void> | null = null
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // the daemon first (it records a pending change, which needs the database), the database last
      if (daemon) {
        const d = daemon
        const exited = await Promise.race([d.stop('SIGTERM'), new Promise((r) => setTimeout(() => r('timeout'), 20_000))])
        if (exited === 'timeout') await d.stop('SIGKILL')
      }
      if (wp) {
        if (dir) {
          await wp.stopServer()
          await wp.db.end().catch(() => undefined)
        } else await wp.stop()
      }
      await mariadb.destroy()
    })())

  try {
    log(`building a WordPress shop in ${dir ?? 'a temporary folder'}`)
    wp = await createWordPress({ server: mariadb.server, base: dir, port: opts.wpPort, title: SHOP_TITLE, siteConfig: siteConfigFor(opts.siteConfig ?? '') })
    const site = wp
    marks.push(site.wpRoot, site.configFile)

    for (const [file, php] of [[DEMO_SHOP.file, SHOP_PHP], [DEMO_UPSELL.file, UPSELL_PHP]] as const) {
      const abs = path.join(site.wpContent, 'plugins', file)
      fs.mkdirSync(path.dirname(abs), { recursive: true })
      fs.writeFileSync(abs, php)
    }
    // wp-content is the web server's, as on a Debian host
    const chown = spawnSync('chown', ['-R', `${site.uid}:${site.gid}`, site.wpContent], { encoding: 'utf8' })
    if (chown.status !== 0) throw new Error(`chown of ${site.wpContent} failed: ${chown.stderr}`)
    await site.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php';\n$r = activate_plugin( ${JSON.stringify(DEMO_SHOP.file)} );\nif ( is_wp_error( $r ) ) { fwrite( STDERR, $r->get_error_message() ); exit( 1 ); }`)

    log('designing the shop in the Site Editor\'s way: a header with a Checkout button, a background colour')
    const checkoutUrl = (await site.php(DESIGN_PHP, { env: { HEADER_MARKUP: headerMarkup('{{checkout}}'), BACKGROUND: DEMO_DESIGN.background } })).trim()
    const breakHeader = async (): Promise<HttpResult> => {
      const admin = await site.login()
      const route = `/wp/v2/template-parts/${DEMO_DESIGN.theme}//header`
      return admin.request('POST', `/?rest_route=${encodeURIComponent(route)}`, { form: { content: headerMarkup(null) }, headers: { 'X-WP-Nonce': await site.nonce(admin, 'wp_rest') } })
    }

    // the total travels in the environment: never pasted into PHP source
    const addOrder = async (total = '24.95'): Promise<number> => {
      const out = await site.php(
        `$total = getenv( 'ORDER_TOTAL' );
$id = wp_insert_post( array( 'post_type' => 'shop_order', 'post_status' => 'private', 'post_title' => 'Order', 'meta_input' => array( '_order_total' => $total ) ), true );
if ( is_wp_error( $id ) ) { fwrite( STDERR, $id->get_error_message() ); exit( 1 ); }
wp_update_post( array( 'ID' => $id, 'post_title' => sprintf( 'Order #%d: EUR %s', $id, $total ) ) );
echo $id;`,
        { env: { ORDER_TOTAL: total } },
      )
      return Number(out.trim())
    }
    const orders = async (): Promise<number> => {
      const [rows] = await site.db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${site.prefix}posts\` WHERE post_type = 'shop_order'`)
      return Number(rows[0]?.n)
    }
    await addOrder('49.90')
    await addOrder('129.00')

    log('adding the peakguard users and the WordPress bridge')
    const pg = (args: string[], input = '', token?: string) => cliWithInput(site.configFile, args, input, token ? { PEAKGUARD_TOKEN: token } : {})
    const { admin } = DEMO_LOGINS
    // the first user must be an admin (the bootstrap); the others are added with its token
    ok(await pg(['user', 'add', admin.name, '--role', 'admin', '--password-stdin'], `${admin.password}\n`), `peakguard user add ${admin.name}`)
    const t = await pg(['--as', admin.name, '--password-stdin', '--json', 'token', 'create', '--user', admin.name, '--note', 'demo stack'], `${admin.password}\n`)
    ok(t, `peakguard token create for ${admin.name}`)
    const adminToken = (t.json as { token: string }).token
    for (const u of Object.values(DEMO_LOGINS).filter((u) => u !== admin))
      ok(await pg(['user', 'add', u.name, '--role', u.role, '--password-stdin'], `${u.password}\n`, adminToken), `peakguard user add ${u.name}`)
    ok(await pg(['wp', 'install-bridge'], '', adminToken), 'peakguard wp install-bridge')

    // one visit before the daemon starts: the theme writes its theme_mods option on the first page view,
    // which would otherwise be the daemon's second snapshot; and the shop must work before it is watched
    const home = await site.client().get('/')
    if (home.status !== 200 || !home.body.includes(DEMO_SHOP.marker)) throw new Error(`the demo shop's home page does not work: HTTP ${home.status} at ${site.url}/`)
    if (!showsCheckout(home.body)) throw new Error(`the demo shop's home page at ${site.url}/ shows no Checkout button: Twenty Twenty-Three did not use the demo's header template part`)

    log('starting the peakguard daemon')
    daemon = await startDaemon(site, {}, [], opts.uiPort !== undefined ? { listen: `127.0.0.1:${opts.uiPort}` } : {})
    // ready once the launch state is recorded: from then on every change is a snapshot of its own
    await daemon.waitFor(isSnapshot, 60_000)

    return {
      wp: site,
      uiUrl: daemon.url,
      daemon,
      logins: DEMO_LOGINS,
      adminToken,
      wpAdmin: { name: ADMIN_USER, password: ADMIN_PASS },
      brokenPlugin: DEMO_UPSELL.file,
      checkoutUrl,
      breakHeader,
      orders,
      addOrder,
      processes: () =>
        spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
          .stdout.split('\n')
          .filter((l) => marks.some((m) => l.includes(m))),
      stop,
    }
  } catch (e) {
    await stop()
    throw e
  }
}
