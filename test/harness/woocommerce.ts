// WooCommerce's tables for tests that cannot install WooCommerce (no network beyond the package registries):
// the CREATE TABLE statements its installer runs, copied from its public source, with realistic rows. Also
// WordPress's own posts/postmeta/term tables (createSite's are minimal), for Site Editor entities.
//
// Sources (copied verbatim but for `{$wpdb->prefix}` → the prefix, `$collate` → COLLATE below, and
// `$max_index_length` → 191, what WooCommerce's DatabaseUtil::get_max_index_length() gives on utf8mb4):
// - woocommerce/woocommerce, plugins/woocommerce/includes/class-wc-install.php, WC_Install::get_schema(), at
//   commit 0129f1922d587d3adbf2e0987dd50d198adb6643 (trunk; its last db update is 11.2.0-1)
// - woocommerce/woocommerce, plugins/woocommerce/src/Internal/DataStores/Orders/OrdersTableDataStore.php,
//   get_database_schema() (the HPOS orders table), at commit 000233cc9f474bf75440ea306801f663f40b90e2
// - WordPress 6.1.9 (Debian's wordpress package), /usr/share/wordpress/wp-admin/includes/schema.php,
//   wp_get_db_schema(): posts, postmeta, terms, term_taxonomy, term_relationships
import { createHash } from 'node:crypto'
import type mysql from 'mysql2/promise'

/** what $wpdb->get_charset_collate() gives on a utf8mb4 MariaDB */
const COLLATE = 'DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci'

/** The `woocommerce` preset's tables, as WooCommerce's installer creates them. */
export function wooSettingsTablesSql(p: string): string[] {
  return [
    `CREATE TABLE ${p}woocommerce_attribute_taxonomies (
  attribute_id bigint(20) unsigned NOT NULL auto_increment,
  attribute_name varchar(200) NOT NULL,
  attribute_label varchar(200) NULL,
  attribute_type varchar(20) NOT NULL,
  attribute_orderby varchar(20) NOT NULL,
  attribute_public int(1) NOT NULL DEFAULT 1,
  PRIMARY KEY  (attribute_id),
  KEY attribute_name (attribute_name(20))
) ${COLLATE}`,
    `CREATE TABLE ${p}woocommerce_tax_rates (
  tax_rate_id bigint(20) unsigned NOT NULL auto_increment,
  tax_rate_country varchar(2) NOT NULL DEFAULT '',
  tax_rate_state varchar(200) NOT NULL DEFAULT '',
  tax_rate varchar(8) NOT NULL DEFAULT '',
  tax_rate_name varchar(200) NOT NULL DEFAULT '',
  tax_rate_priority bigint(20) unsigned NOT NULL,
  tax_rate_compound int(1) NOT NULL DEFAULT 0,
  tax_rate_shipping int(1) NOT NULL DEFAULT 1,
  tax_rate_order bigint(20) unsigned NOT NULL,
  tax_rate_class varchar(200) NOT NULL DEFAULT '',
  PRIMARY KEY  (tax_rate_id),
  KEY tax_rate_country (tax_rate_country),
  KEY tax_rate_state (tax_rate_state(2)),
  KEY tax_rate_class (tax_rate_class(10)),
  KEY tax_rate_priority (tax_rate_priority)
) ${COLLATE}`,
    `CREATE TABLE ${p}woocommerce_tax_rate_locations (
  location_id bigint(20) unsigned NOT NULL auto_increment,
  location_code varchar(200) NOT NULL,
  tax_rate_id bigint(20) unsigned NOT NULL,
  location_type varchar(40) NOT NULL,
  PRIMARY KEY  (location_id),
  KEY tax_rate_id (tax_rate_id),
  KEY location_type_code (location_type(10),location_code(20))
) ${COLLATE}`,
    `CREATE TABLE ${p}woocommerce_shipping_zones (
  zone_id bigint(20) unsigned NOT NULL auto_increment,
  zone_name varchar(200) NOT NULL,
  zone_order bigint(20) unsigned NOT NULL,
  PRIMARY KEY  (zone_id),
  KEY zone_order_id (zone_order, zone_id)
) ${COLLATE}`,
    `CREATE TABLE ${p}woocommerce_shipping_zone_locations (
  location_id bigint(20) unsigned NOT NULL auto_increment,
  zone_id bigint(20) unsigned NOT NULL,
  location_code varchar(200) NOT NULL,
  location_type varchar(40) NOT NULL,
  PRIMARY KEY  (location_id),
  KEY zone_id (zone_id),
  KEY location_type_code (location_type(10),location_code(20))
) ${COLLATE}`,
    `CREATE TABLE ${p}woocommerce_shipping_zone_methods (
  zone_id bigint(20) unsigned NOT NULL,
  instance_id bigint(20) unsigned NOT NULL auto_increment,
  method_id varchar(200) NOT NULL,
  method_order bigint(20) unsigned NOT NULL,
  is_enabled tinyint(1) NOT NULL DEFAULT '1',
  PRIMARY KEY  (instance_id),
  KEY zone_id (zone_id),
  KEY method_id (method_id(20))
) ${COLLATE}`,
    `CREATE TABLE ${p}wc_webhooks (
  webhook_id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  status varchar(200) NOT NULL,
  name text NOT NULL,
  user_id bigint(20) unsigned NOT NULL,
  delivery_url text NOT NULL,
  secret text NOT NULL,
  topic varchar(200) NOT NULL,
  date_created datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  date_created_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  date_modified datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  date_modified_gmt datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
  api_version smallint(4) NOT NULL,
  failure_count smallint(10) NOT NULL DEFAULT '0',
  pending_delivery tinyint(1) NOT NULL DEFAULT '0',
  PRIMARY KEY  (webhook_id),
  KEY user_id (user_id)
) ${COLLATE}`,
  ]
}

/** Content the preset must never touch: the HPOS orders table and the order items. */
export function wooOrderTablesSql(p: string): string[] {
  return [
    `CREATE TABLE ${p}woocommerce_order_items (
  order_item_id bigint(20) unsigned NOT NULL auto_increment,
  order_item_name text NOT NULL,
  order_item_type varchar(200) NOT NULL DEFAULT '',
  order_id bigint(20) unsigned NOT NULL,
  PRIMARY KEY  (order_item_id),
  KEY order_id (order_id)
) ${COLLATE}`,
    `CREATE TABLE ${p}wc_orders (
	id bigint(20) unsigned,
	status varchar(20) null,
	currency varchar(10) null,
	type varchar(20) null,
	tax_amount decimal(26,8) null,
	total_amount decimal(26,8) null,
	customer_id bigint(20) unsigned null,
	billing_email varchar(320) null,
	date_created_gmt datetime null,
	date_updated_gmt datetime null,
	parent_order_id bigint(20) unsigned null,
	payment_method varchar(100) null,
	payment_method_title text null,
	transaction_id varchar(100) null,
	ip_address varchar(100) null,
	user_agent text null,
	customer_note text null,
	PRIMARY KEY (id),
	KEY status (status),
	KEY date_created (date_created_gmt),
	KEY customer_id_billing_email (customer_id, billing_email(171)),
	KEY billing_email (billing_email(191)),
	KEY type_status_date (type, status, date_created_gmt),
	KEY parent_order_id (parent_order_id),
	KEY date_updated (date_updated_gmt)
) ${COLLATE}`,
  ]
}

export const ORDER_TABLES = ['wc_orders', 'woocommerce_order_items'] as const

/** The webhook's secret (WooCommerce signs deliveries with it): a value that must never reach a log. */
export const WEBHOOK_SECRET = 'whsec_ERP-7f1c2a9b-never-log-me'

/**
 * Creates WooCommerce's settings and order tables and seeds a shop: four tax rates (two with locations),
 * two shipping zones with their locations and methods, one attribute, one webhook, and `orders` orders.
 */
export async function installWooCommerce(db: mysql.Connection, p: string, orders = 3): Promise<void> {
  for (const sql of [...wooSettingsTablesSql(p), ...wooOrderTablesSql(p)]) await db.query(sql)
  await db.query(
    `INSERT INTO ${p}woocommerce_tax_rates (tax_rate_id, tax_rate_country, tax_rate_state, tax_rate, tax_rate_name, tax_rate_priority, tax_rate_compound, tax_rate_shipping, tax_rate_order, tax_rate_class) VALUES
     (1, 'US', 'CA', '7.2500', 'CA Sales Tax', 1, 0, 1, 0, ''),
     (2, 'DE', '', '19.0000', 'MwSt.', 1, 0, 1, 1, ''),
     (3, 'DE', '', '7.0000', 'MwSt. ermäßigt', 1, 0, 1, 2, 'reduced-rate'),
     (4, 'GB', '', '20.0000', 'VAT', 1, 0, 1, 3, '')`,
  )
  await db.query(
    `INSERT INTO ${p}woocommerce_tax_rate_locations (location_id, location_code, tax_rate_id, location_type) VALUES
     (1, '90210', 1, 'postcode'), (2, '90001...90089', 1, 'postcode'), (3, 'LOS ANGELES', 1, 'city'), (4, '10115', 2, 'postcode')`,
  )
  await db.query(`INSERT INTO ${p}woocommerce_shipping_zones (zone_id, zone_name, zone_order) VALUES (1, 'Deutschland', 0), (2, 'Europe', 1)`)
  await db.query(
    `INSERT INTO ${p}woocommerce_shipping_zone_locations (location_id, zone_id, location_code, location_type) VALUES
     (1, 1, 'DE', 'country'), (2, 2, 'EU', 'continent'), (3, 2, 'CH', 'country')`,
  )
  await db.query(
    `INSERT INTO ${p}woocommerce_shipping_zone_methods (zone_id, instance_id, method_id, method_order, is_enabled) VALUES
     (1, 1, 'flat_rate', 1, 1), (1, 2, 'free_shipping', 2, 1), (2, 3, 'flat_rate', 1, 1), (2, 4, 'local_pickup', 2, 0)`,
  )
  await db.query(
    `INSERT INTO ${p}woocommerce_attribute_taxonomies (attribute_id, attribute_name, attribute_label, attribute_type, attribute_orderby, attribute_public) VALUES
     (1, 'color', 'Colour', 'select', 'menu_order', 0)`,
  )
  await db.query(
    `INSERT INTO ${p}wc_webhooks (webhook_id, status, name, user_id, delivery_url, secret, topic, date_created, date_created_gmt, date_modified, date_modified_gmt, api_version, failure_count, pending_delivery) VALUES
     (1, 'active', 'Order created → ERP', 1, 'https://erp.example/hooks/woocommerce', ?, 'order.created', '2026-11-20 09:00:00', '2026-11-20 08:00:00', '2026-11-20 09:00:00', '2026-11-20 08:00:00', 3, 0, 0)`,
    [WEBHOOK_SECRET],
  )
  await addOrders(db, p, 1001, orders)
}

/** `n` orders from id `first` on, each with two order items, as a shop takes them during a campaign. */
export async function addOrders(db: mysql.Connection, p: string, first: number, n: number): Promise<void> {
  for (let id = first; id < first + n; id++) {
    await db.query(
      `INSERT INTO ${p}wc_orders (id, status, currency, type, tax_amount, total_amount, customer_id, billing_email, date_created_gmt, date_updated_gmt, parent_order_id, payment_method, payment_method_title, transaction_id, ip_address, user_agent, customer_note)
       VALUES (?, 'wc-processing', 'EUR', 'shop_order', 9.5800, 59.9000, 0, ?, '2026-11-27 23:10:00', '2026-11-27 23:10:05', 0, 'stripe', 'Credit card', ?, '203.0.113.7', 'Mozilla/5.0', '')`,
      [id, `customer${id}@example.com`, `ch_${id}`],
    )
    await db.query(`INSERT INTO ${p}woocommerce_order_items (order_item_name, order_item_type, order_id) VALUES ('Hoodie – black, L', 'line_item', ?), ('Flat rate', 'shipping', ?)`, [id, id])
  }
}

/** Row count and a SHA-256 over every row's bytes (hex of each column, by primary key): what "untouched" means. */
export async function tableDigest(db: mysql.Connection, table: string): Promise<{ rows: number; sha256: string }> {
  const [cols] = await db.query<mysql.RowDataPacket[]>(
    'SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [table],
  )
  const list = cols.map((r) => `COALESCE(HEX(\`${String(r.c)}\`), 'NULL')`).join(", ':', ")
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT CONCAT(${list}) AS r FROM \`${table}\` ORDER BY 1`)
  const h = createHash('sha256')
  for (const r of rows) h.update(`${String(r.r)}\n`)
  return { rows: rows.length, sha256: h.digest('hex') }
}

/** WordPress's own content tables (schema.php), replacing createSite's minimal posts/postmeta: Site Editor entities need them. */
export async function installWordPressContentTables(db: mysql.Connection, p: string): Promise<void> {
  await db.query(`DROP TABLE IF EXISTS ${p}posts, ${p}postmeta, ${p}terms, ${p}term_taxonomy, ${p}term_relationships`)
  for (const sql of wordpressContentTablesSql(p)) await db.query(sql)
}

export function wordpressContentTablesSql(p: string): string[] {
  return [
    `CREATE TABLE ${p}terms (
 term_id bigint(20) unsigned NOT NULL auto_increment,
 name varchar(200) NOT NULL default '',
 slug varchar(200) NOT NULL default '',
 term_group bigint(10) NOT NULL default 0,
 PRIMARY KEY  (term_id),
 KEY slug (slug(191)),
 KEY name (name(191))
) ${COLLATE}`,
    `CREATE TABLE ${p}term_taxonomy (
 term_taxonomy_id bigint(20) unsigned NOT NULL auto_increment,
 term_id bigint(20) unsigned NOT NULL default 0,
 taxonomy varchar(32) NOT NULL default '',
 description longtext NOT NULL,
 parent bigint(20) unsigned NOT NULL default 0,
 count bigint(20) NOT NULL default 0,
 PRIMARY KEY  (term_taxonomy_id),
 UNIQUE KEY term_id_taxonomy (term_id,taxonomy),
 KEY taxonomy (taxonomy)
) ${COLLATE}`,
    `CREATE TABLE ${p}term_relationships (
 object_id bigint(20) unsigned NOT NULL default 0,
 term_taxonomy_id bigint(20) unsigned NOT NULL default 0,
 term_order int(11) NOT NULL default 0,
 PRIMARY KEY  (object_id,term_taxonomy_id),
 KEY term_taxonomy_id (term_taxonomy_id)
) ${COLLATE}`,
    `CREATE TABLE ${p}postmeta (
	meta_id bigint(20) unsigned NOT NULL auto_increment,
	post_id bigint(20) unsigned NOT NULL default '0',
	meta_key varchar(255) default NULL,
	meta_value longtext,
	PRIMARY KEY  (meta_id),
	KEY post_id (post_id),
	KEY meta_key (meta_key(191))
) ${COLLATE}`,
    `CREATE TABLE ${p}posts (
	ID bigint(20) unsigned NOT NULL auto_increment,
	post_author bigint(20) unsigned NOT NULL default '0',
	post_date datetime NOT NULL default '0000-00-00 00:00:00',
	post_date_gmt datetime NOT NULL default '0000-00-00 00:00:00',
	post_content longtext NOT NULL,
	post_title text NOT NULL,
	post_excerpt text NOT NULL,
	post_status varchar(20) NOT NULL default 'publish',
	comment_status varchar(20) NOT NULL default 'open',
	ping_status varchar(20) NOT NULL default 'open',
	post_password varchar(255) NOT NULL default '',
	post_name varchar(200) NOT NULL default '',
	to_ping text NOT NULL,
	pinged text NOT NULL,
	post_modified datetime NOT NULL default '0000-00-00 00:00:00',
	post_modified_gmt datetime NOT NULL default '0000-00-00 00:00:00',
	post_content_filtered longtext NOT NULL,
	post_parent bigint(20) unsigned NOT NULL default '0',
	guid varchar(255) NOT NULL default '',
	menu_order int(11) NOT NULL default '0',
	post_type varchar(20) NOT NULL default 'post',
	post_mime_type varchar(100) NOT NULL default '',
	comment_count bigint(20) NOT NULL default '0',
	PRIMARY KEY  (ID),
	KEY post_name (post_name(191)),
	KEY type_status_date (post_type,post_status,post_date,ID),
	KEY post_parent (post_parent),
	KEY post_author (post_author)
) ${COLLATE}`,
  ]
}

/**
 * A Site Editor post as WordPress saves it (wp_insert_post of a wp_template / wp_template_part), with its
 * wp_theme term (and a template part's area): inserted by SQL, so any slug can be tried. Returns the post id.
 */
export async function insertEntityPost(
  db: mysql.Connection,
  p: string,
  e: { type: string; slug: string | Buffer; theme: string; content: string; title?: string; area?: string },
): Promise<number> {
  const [res] = await db.query<mysql.ResultSetHeader>(
    `INSERT INTO ${p}posts (post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, comment_status, ping_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, post_type)
     VALUES (1, '2026-11-20 10:00:00', '2026-11-20 09:00:00', ?, ?, '', 'publish', 'closed', 'closed', ?, '', '', '2026-11-20 10:00:00', '2026-11-20 09:00:00', '', ?)`,
    [e.content, e.title ?? String(e.slug), e.slug, e.type],
  )
  const id = res.insertId
  for (const [taxonomy, slug] of [['wp_theme', e.theme], ...(e.area ? [['wp_template_part_area', e.area]] : [])] as [string, string][]) {
    const [found] = await db.query<mysql.RowDataPacket[]>(
      `SELECT tt.term_taxonomy_id AS id FROM ${p}term_taxonomy tt JOIN ${p}terms t ON t.term_id = tt.term_id WHERE tt.taxonomy = ? AND t.slug = ?`,
      [taxonomy, slug],
    )
    let tt = found[0] ? Number(found[0].id) : 0
    if (!tt) {
      const [term] = await db.query<mysql.ResultSetHeader>(`INSERT INTO ${p}terms (name, slug) VALUES (?, ?)`, [slug, slug])
      const [tax] = await db.query<mysql.ResultSetHeader>(`INSERT INTO ${p}term_taxonomy (term_id, taxonomy, description, count) VALUES (?, ?, '', 0)`, [term.insertId, taxonomy])
      tt = tax.insertId
    }
    await db.query(`INSERT INTO ${p}term_relationships (object_id, term_taxonomy_id) VALUES (?, ?)`, [id, tt])
    await db.query(`UPDATE ${p}term_taxonomy SET count = count + 1 WHERE term_taxonomy_id = ?`, [tt])
  }
  return id
}
