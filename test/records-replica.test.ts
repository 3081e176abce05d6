// Site Editor entities and settings-table rows travel like every other part of a state: replicated to S3
// (real s3rver, encrypted), the journal lost with its host's disk, `recover --from-s3` into an empty data
// directory, and `restore last-good` puts back the header template part, the global styles and the rows of a
// settings table — with the entities' post ids — on a real WordPress and MariaDB.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type mysql from 'mysql2/promise'
import { S3Server } from './harness/s3.ts'
import { createWordPress, type TestWordPress } from './harness/wordpress.ts'

const CREDS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' }
const HEADER_GOOD = 'PG-HEADER-CHECKOUT-5b1e'
const HEADER_BROKEN = 'PG-HEADER-BROKEN-77aa'

async function rows(db: mysql.Connection, sql: string): Promise<Record<string, unknown>[]> {
  const [r] = await db.query<mysql.RowDataPacket[]>(sql)
  return r.map((x) => ({ ...x }))
}

describe('Site Editor entities and settings tables through the S3 replica', function () {
  this.timeout(300_000)
  let s3: S3Server
  let wp: TestWordPress
  let keyDir: string

  before(async () => {
    s3 = await S3Server.start()
    keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-key-'))
    const key = path.join(keyDir, 'replica.key')
    fs.writeFileSync(key, Buffer.alloc(32, 9), { mode: 0o600 })
    wp = await createWordPress({
      siteConfig:
        `    settingsTables:\n      - pg_shipping_rules\n` +
        `    s3:\n      bucket: ${s3.bucket}\n      prefix: records\n      region: us-east-1\n      endpoint: ${s3.endpoint}\n      forcePathStyle: true\n      timeout: 3s\n      keyFile: ${key}\n`,
    })
    // a plugin's settings table: a composite primary key, a NULL, a decimal
    await wp.db.query(
      `CREATE TABLE ${wp.prefix}pg_shipping_rules (zone varchar(40) NOT NULL, method_order int NOT NULL, label varchar(100) NULL, amount decimal(10,4) NOT NULL, PRIMARY KEY (zone, method_order)) DEFAULT CHARSET utf8mb4`,
    )
    await wp.db.query(`INSERT INTO ${wp.prefix}pg_shipping_rules VALUES ('EU', 1, 'Standard', 4.9500), ('EU', 2, NULL, 12.0000), ('US/CA', 1, 'Ground', 7.5000)`)
  })
  after(async () => {
    await wp?.stop()
    await s3?.destroy()
    if (keyDir) fs.rmSync(keyDir, { recursive: true, force: true })
  })

  it('recovered from S3 onto an empty data directory, restore last-good brings back the header, the global styles and the rows, ids kept', async () => {
    // the shop's design, made as the Site Editor makes it
    const ids = JSON.parse(
      // as the admin: without the capability to assign terms WordPress leaves the wp_theme term off the new post
      await wp.php(`wp_set_current_user( 1 );
$gs = WP_Theme_JSON_Resolver::get_user_global_styles_post_id();
$p = get_post( $gs ); $c = json_decode( $p->post_content, true ); $c['styles']['color']['background'] = '#0a7d3b';
wp_update_post( array( 'ID' => $gs, 'post_content' => wp_json_encode( $c ) ) );
$tp = wp_insert_post( array( 'post_type' => 'wp_template_part', 'post_name' => 'header', 'post_title' => 'Header', 'post_status' => 'publish',
  'post_content' => '<!-- wp:paragraph --><p>${HEADER_GOOD}</p><!-- /wp:paragraph -->' ) );
wp_set_object_terms( $tp, get_stylesheet(), 'wp_theme' ); wp_set_object_terms( $tp, 'header', 'wp_template_part_area' );
echo wp_json_encode( array( 'styles' => $gs, 'header' => $tp ) );`),
    ) as { styles: number; header: number }
    assert.equal((await wp.cli(['snapshot', '-m', 'campaign design'])).code, 0)
    assert.equal((await wp.cli(['mark-good', 'latest'])).code, 0)
    const goodRules = await rows(wp.db, `SELECT * FROM ${wp.prefix}pg_shipping_rules ORDER BY zone, method_order`)
    const home = await wp.client().get('/')
    assert.ok(home.body.includes(HEADER_GOOD), 'the home page shows the customised header')
    assert.ok(home.body.includes('#0a7d3b'), `the home page has the global background colour: ${home.body.match(/background[^;]{0,80}/g)?.slice(0, 5)}`)

    // the 3 a.m. change: the header loses its button, the colour changes, a shipping rule goes
    await wp.db.query(`UPDATE ${wp.prefix}posts SET post_content = REPLACE(post_content, '${HEADER_GOOD}', '${HEADER_BROKEN}') WHERE ID = ?`, [ids.header])
    await wp.db.query(`UPDATE ${wp.prefix}posts SET post_content = REPLACE(post_content, '#0a7d3b', '#ff00ff') WHERE ID = ?`, [ids.styles])
    await wp.db.query(`DELETE FROM ${wp.prefix}pg_shipping_rules WHERE zone = 'US/CA'`)
    const broken = await wp.cli(['snapshot', '-m', '3 a.m.', '--json'])
    assert.equal(broken.code, 0, broken.stderr)
    const rep = await wp.cli(['replicate', '--wait', '--json'], CREDS)
    assert.equal(rep.code, 0, rep.stderr)

    // the host's disk with the journal is gone: recover it from the bucket
    fs.rmSync(path.join(wp.dataDir, wp.siteId), { recursive: true, force: true })
    const rec = await wp.cli(['recover', '--from-s3', '--site', wp.siteId, '--data-dir', wp.dataDir, '--json'], CREDS)
    assert.equal(rec.code, 0, rec.stderr + rec.stdout)
    assert.equal(rec.json.marks, 1)

    const restored = await wp.cli(['restore', 'last-good', '--yes', '--json'], CREDS)
    assert.equal(restored.code, 0, restored.stderr)
    assert.equal(restored.json.verified, true)
    const after = await wp.client().get('/')
    assert.ok(after.body.includes(HEADER_GOOD) && !after.body.includes(HEADER_BROKEN), 'the header is back on the home page')
    assert.ok(after.body.includes('#0a7d3b'), 'the global background colour is back in the page styles')
    assert.deepEqual(await rows(wp.db, `SELECT * FROM ${wp.prefix}pg_shipping_rules ORDER BY zone, method_order`), goodRules)
    const kept = await rows(wp.db, `SELECT ID, post_type FROM ${wp.prefix}posts WHERE post_type IN ('wp_template_part', 'wp_global_styles') ORDER BY ID`)
    assert.deepEqual(kept.map((r) => Number(r.ID)).sort(), [ids.styles, ids.header].sort((a, b) => a - b), 'the entities keep their post ids')
  })
})
