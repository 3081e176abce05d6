// "Hello Migrate", a test plugin that migrates its own table the way real plugins do, as a zip WordPress's
// upgrader installs (tests of the pre-update snapshot, and of restores across a schema change). Version 1
// creates nothing but its `hello_migrate_db_version` option (1, on activation). Version 2 and later, on
// plugins_loaded when that option is below 2 — the first page load after the update — create
// {prefix}hello_migrate_log, ALTER it to add a column, insert a row and set the option to 2; with `breakHome`
// a version also breaks every front-end page after that (a broken update that migrated its data). The zip is written
// here (deflate, fixed timestamps: no `zip` program needed); WordPress unpacks it with ZipArchive when PHP has
// php-zip, else with its bundled PclZip (zlib only), as on a host without php-zip.
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import type { TestWordPress } from './wordpress.ts'

export const HELLO_MIGRATE = {
  name: 'Hello Migrate',
  dir: 'hello-migrate',
  file: 'hello-migrate/hello-migrate.php',
  /** without the table prefix */
  table: 'hello_migrate_log',
  /** the plugin's migration marker (matches the default `*_db_version`) */
  option: 'hello_migrate_db_version',
  /** the column version 2 adds with ALTER TABLE */
  column: 'level',
  /** the row version 2 inserts */
  message: 'migrated to 2',
} as const

/** The version header of version N: "1.0", "2.0", … */
export const versionText = (n: number) => `${n}.0`

export interface MigrationPluginOptions {
  /**
   * the version also breaks every front-end page: it throws on template_redirect, after its upgrade routine ran on
   * plugins_loaded, so WordPress answers its critical-error page (HTTP 500) — a broken update that migrated its data
   */
  breakHome?: boolean
}

/** The code `breakHome` adds: an uncaught exception once WordPress is about to render a front-end page. */
const BREAK_HOME = `
// the broken part of this release: every front-end page dies, after the migration above has run
add_action( 'template_redirect', function () {
\tthrow new RuntimeException( '${HELLO_MIGRATE.name}: the home page is broken' );
} );
`

/** The plugin's main file at version N. */
export function migrationPluginPhp(n: number, opts: MigrationPluginOptions = {}): string {
  const broken = opts.breakHome ? BREAK_HOME : ''
  const head = `<?php
/**
 * Plugin Name: ${HELLO_MIGRATE.name}
 * Description: peakguard's test plugin: from version 2 on it migrates a table of its own.
 * Version: ${versionText(n)}
 */
register_activation_hook( __FILE__, function () {
\tadd_option( '${HELLO_MIGRATE.option}', 1 );
} );
`
  if (n < 2) return head + broken
  return `${head}
// as real plugins do: the code is new, the data catches up on the next request
add_action( 'plugins_loaded', function () {
\tif ( (int) get_option( '${HELLO_MIGRATE.option}', 1 ) >= 2 ) {
\t\treturn;
\t}
\tglobal $wpdb;
\t// once, whatever runs at the same time (a page load, WP-Cron's loopback, a health probe): a lock of this
\t// database's, then the version read again from the table, past WordPress's options cache
\t$lock = "CONCAT( DATABASE(), '.${HELLO_MIGRATE.dir}' )";
\tif ( '1' !== (string) $wpdb->get_var( "SELECT GET_LOCK( $lock, 30 )" ) ) {
\t\treturn;
\t}
\tif ( (int) $wpdb->get_var( $wpdb->prepare( "SELECT option_value FROM $wpdb->options WHERE option_name = %s", '${HELLO_MIGRATE.option}' ) ) < 2 ) {
\t\t$t = $wpdb->prefix . '${HELLO_MIGRATE.table}';
\t\t$wpdb->query( "CREATE TABLE IF NOT EXISTS \`$t\` ( id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, message VARCHAR(200) NOT NULL ) ENGINE=InnoDB" );
\t\t$wpdb->query( "ALTER TABLE \`$t\` ADD COLUMN \`${HELLO_MIGRATE.column}\` VARCHAR(20) NOT NULL DEFAULT 'info'" );
\t\t$wpdb->insert( $t, array( 'message' => '${HELLO_MIGRATE.message}', '${HELLO_MIGRATE.column}' => 'notice' ) );
\t\tupdate_option( '${HELLO_MIGRATE.option}', 2 );
\t}
\t$wpdb->query( "SELECT RELEASE_LOCK( $lock )" );
} );
${broken}`
}

/** 1 January 2026, 00:00, as a DOS date and time: a zip made twice is the same bytes. */
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1
const DOS_TIME = 0

/** A zip archive (deflate) of `files` (path → content), each a regular file of mode 0644. */
export function zipOf(files: Record<string, string | Buffer>): Buffer {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8')
    const packed = zlib.deflateRawSync(data)
    const nameBytes = Buffer.from(name, 'utf8')
    const crc = zlib.crc32(data)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed: 2.0
    local.writeUInt16LE(0x0800, 6) // names are UTF-8
    local.writeUInt16LE(8, 8) // deflate
    local.writeUInt16LE(DOS_TIME, 10)
    local.writeUInt16LE(DOS_DATE, 12)
    local.writeUInt32LE(crc, 14)
    local.writeUInt32LE(packed.length, 18)
    local.writeUInt32LE(data.length, 22)
    local.writeUInt16LE(nameBytes.length, 26)
    local.writeUInt16LE(0, 28)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE((3 << 8) | 20, 4) // made by: Unix, 2.0
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(0x0800, 8)
    central.writeUInt16LE(8, 10)
    central.writeUInt16LE(DOS_TIME, 12)
    central.writeUInt16LE(DOS_DATE, 14)
    central.writeUInt32LE(crc, 16)
    central.writeUInt32LE(packed.length, 20)
    central.writeUInt32LE(data.length, 24)
    central.writeUInt16LE(nameBytes.length, 28)
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38) // external attributes: a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42)
    locals.push(local, nameBytes, packed)
    centrals.push(central, nameBytes)
    offset += local.length + nameBytes.length + packed.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(Object.keys(files).length, 8)
  end.writeUInt16LE(Object.keys(files).length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return Buffer.concat([...locals, cd, end])
}

/** The plugin's zip at version N (hello-migrate/hello-migrate.php and a readme). */
export function migrationPluginZip(n: number, opts: MigrationPluginOptions = {}): Buffer {
  return zipOf({
    [HELLO_MIGRATE.file]: migrationPluginPhp(n, opts),
    [`${HELLO_MIGRATE.dir}/readme.txt`]: `=== ${HELLO_MIGRATE.name} ===\nStable tag: ${versionText(n)}\n`,
  })
}

/** Writes the zip of version N where the web server user can read it (<base>/packages/hello-migrate-N.0.zip); its path. */
export function writeMigrationZip(wp: Pick<TestWordPress, 'base' | 'uid' | 'gid'>, n: number, opts: MigrationPluginOptions = {}): string {
  const dir = path.join(wp.base, 'packages')
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 })
  fs.chmodSync(dir, 0o755)
  const file = path.join(dir, `hello-migrate-${versionText(n)}.zip`)
  fs.writeFileSync(file, migrationPluginZip(n, opts), { mode: 0o644 })
  return file
}

/** A PHP string literal. */
const lit = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`

export interface UpgraderRun {
  /** what Plugin_Upgrader::install() returned: true, or the error's message */
  result: true | string
  /** the upgrader skin's messages */
  messages: string[]
  /** what PHP wrote to its error log during the run (error_log(): the bridge says here when it took no pre-update snapshot) */
  phpLog: string
}

/**
 * Installs the zip of version N through WordPress's Plugin_Upgrader as the admin user, as wp-admin's "Upload
 * Plugin" does; `overwrite` replaces an installed copy ("Replace current with uploaded", overwrite_package).
 */
export async function installMigrationZip(wp: TestWordPress, n: number, overwrite: boolean, opts: MigrationPluginOptions = {}): Promise<UpgraderRun> {
  const zip = writeMigrationZip(wp, n, opts)
  const log = path.join(wp.base, 'packages', `php-error-${process.pid}-${Date.now()}.log`)
  fs.writeFileSync(log, '', { mode: 0o666 })
  fs.chownSync(log, wp.uid, wp.gid)
  const out = await wp.php(`
ini_set( 'log_errors', '1' );
ini_set( 'error_log', ${lit(log)} );
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once ABSPATH . 'wp-admin/includes/class-wp-upgrader.php';
wp_set_current_user( 1 );
$skin     = new Automatic_Upgrader_Skin();
$upgrader = new Plugin_Upgrader( $skin );
$r        = $upgrader->install( ${lit(zip)}, array( 'overwrite_package' => ${overwrite ? 'true' : 'false'} ) );
echo json_encode( array( 'result' => true === $r ? true : ( is_wp_error( $r ) ? $r->get_error_message() : var_export( $r, true ) ), 'messages' => array_map( 'strval', $skin->get_upgrade_messages() ) ) );
`)
  const phpLog = fs.readFileSync(log, 'utf8')
  fs.rmSync(log, { force: true })
  const json = JSON.parse(out.slice(out.indexOf('{'))) as { result: true | string; messages: string[] }
  return { ...json, phpLog }
}

/** Installs version 1 from its zip and activates it (its option hello_migrate_db_version becomes 1). */
export async function installMigrationPlugin(wp: TestWordPress): Promise<void> {
  const r = await installMigrationZip(wp, 1, false)
  if (r.result !== true) throw new Error(`installing ${HELLO_MIGRATE.name} 1.0 failed: ${r.result} (${r.messages.join(' | ')})`)
  await wp.php(`require_once ABSPATH . 'wp-admin/includes/plugin.php';
wp_set_current_user( 1 );
$r = activate_plugin( ${lit(HELLO_MIGRATE.file)} );
if ( is_wp_error( $r ) ) { fwrite( STDERR, $r->get_error_message() ); exit( 1 ); }`)
}

/** Upgrades to version N (default 2) through Plugin_Upgrader from its local zip, as wp-admin's upload-over does. */
export async function upgradeMigrationPlugin(wp: TestWordPress, n = 2, opts: MigrationPluginOptions = {}): Promise<UpgraderRun> {
  const r = await installMigrationZip(wp, n, true, opts)
  if (r.result !== true) throw new Error(`upgrading ${HELLO_MIGRATE.name} to ${versionText(n)} failed: ${r.result} (${r.messages.join(' | ')})`)
  return r
}

/** One page load: version 2's upgrade routine runs on plugins_loaded (creates the table, alters it, bumps the option). */
export async function runMigration(wp: TestWordPress): Promise<void> {
  const res = await fetch(`${wp.url}/`, { signal: AbortSignal.timeout(60_000) })
  await res.arrayBuffer()
  if (res.status !== 200) throw new Error(`the page load that runs ${HELLO_MIGRATE.name}'s migration answered HTTP ${res.status}`)
}
