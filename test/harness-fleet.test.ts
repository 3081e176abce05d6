// The fleet harness works (no fleet behaviour of the daemon here): three nodes of one real WordPress, each
// served on its own port with links to its own address; a setting saved and a plugin activated through node
// b's wp-admin land in the one database and show on node c; a login made on one node is valid on the
// others; each node's wp-content is a directory of its own; the shared s3rver answers; every node's config
// reads back as one site `shop` with the node's id, the shared database and replica and the fleet block.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { PutObjectCommand } from '@aws-sdk/client-s3'
import type mysql from 'mysql2/promise'
import { createFleet, FLEET_S3_PREFIX, FLEET_SITE, type TestFleet } from './harness/fleet.ts'
import { DEMO_BANNER, DEMO_HELLO, formFields, WpClient } from './harness/wordpress.ts'

describe('fleet harness: three web nodes of one WordPress', function () {
  this.timeout(120_000)
  let fleet: TestFleet

  const option = async (name: string): Promise<string | undefined> => {
    const [rows] = await fleet.db.conn.query<mysql.RowDataPacket[]>(`SELECT option_value AS v FROM \`${fleet.db.prefix}options\` WHERE option_name = ?`, [name])
    return rows[0]?.v as string | undefined
  }

  before(async () => {
    fleet = await createFleet({
      // a key of the caller's replaces the harness's default; a function gives each node its own lines
      fleet: 'nodeTimeout: 3s',
      siteExtra: (n) => `hooks:\n  postRestore: ["echo restored on ${n.id}"]`,
    })
  })
  after(async () => {
    await fleet?.cleanup()
  })

  it('refuses node ids that are not node ids, or twice the same, before building anything', async () => {
    await assert.rejects(createFleet({ nodes: ['a', 'a'] }), /node ids must differ: a, a/)
    await assert.rejects(createFleet({ nodes: ['a', '-b'] }), /node id "-b"/)
  })

  it('serves the home page on each node, on a port of its own, with links to its own address', async () => {
    assert.deepEqual(fleet.nodes.map((n) => n.id), ['a', 'b', 'c'])
    assert.equal(new Set(fleet.nodes.map((n) => n.port)).size, 3, 'three ports')
    assert.equal(fleet.url('a'), fleet.wp.url, 'node a is the installed WordPress')
    for (const n of fleet.nodes) {
      const r = await new WpClient(n.url).get('/')
      assert.equal(r.status, 200, `node ${n.id}`)
      assert.equal(r.url, `${n.url}/`, `node ${n.id} does not redirect elsewhere`)
      assert.ok(r.body.includes(`${n.url}/?p=1`) && r.body.includes(`${n.url}/wp-includes/`), `node ${n.id} links to its own address`)
      for (const other of fleet.nodes.filter((o) => o.id !== n.id)) assert.ok(!r.body.includes(other.url), `node ${n.id}'s page names no other node (${other.id})`)
    }
    assert.equal(await option('home'), fleet.url('a'), 'the shared home option names the first node')
  })

  it("saves a setting through node b's wp-admin: it is in the one database and on node c's pages", async () => {
    const admin = await fleet.client('b')
    const general = await admin.get('/wp-admin/options-general.php')
    assert.equal(general.status, 200)
    assert.equal(general.url, `${fleet.url('b')}/wp-admin/options-general.php`, 'wp-admin stays on node b')
    const title = `Fleet Shop ${fleet.nodes.map((n) => n.port).join('-')}`
    const saved = await admin.post('/wp-admin/options.php', { ...formFields(general.body, 'options.php'), blogname: title })
    assert.equal(saved.status, 200)
    assert.match(saved.url, new RegExp(`^${fleet.url('b')}/wp-admin/options-general\\.php\\?settings-updated=true`))
    assert.equal(await option('blogname'), title, 'in the database')
    assert.equal(await option('home'), fleet.url('a'), "node b's own address did not go into the shared home option")
    assert.equal(await option('siteurl'), fleet.url('a'))
    const onC = await new WpClient(fleet.url('c')).get('/')
    assert.ok(onC.body.includes(title), 'node c shows the new title')
  })

  it("activates a plugin with its nonce link on node b's plugins.php: node c runs it", async () => {
    const admin = await fleet.client('b')
    const r = await fleet.wp.activatePluginViaAdmin(admin, DEMO_BANNER.file)
    assert.equal(r.status, 200)
    assert.match(r.body, /Plugin activated/)
    assert.ok(r.url.startsWith(`${fleet.url('b')}/wp-admin/plugins.php`), r.url)
    assert.deepEqual(await fleet.wp.activePlugins(), [DEMO_BANNER.file])
    for (const id of ['a', 'c']) assert.ok((await new WpClient(fleet.url(id)).get('/')).body.includes(DEMO_BANNER.marker), `node ${id} shows the banner`)
  })

  it('a login made on one node is valid on every node (one set of salts, one cookie name), as behind a load balancer', async () => {
    const onA = await fleet.client('a')
    for (const id of ['b', 'c']) {
      const jar = new WpClient(fleet.url(id))
      for (const [k, v] of onA.cookies) jar.cookies.set(k, v)
      const r = await jar.get('/wp-admin/')
      assert.equal(r.status, 200, `node ${id}`)
      assert.equal(r.url, `${fleet.url(id)}/wp-admin/`, `node ${id} did not send the login to wp-login.php`)
      assert.match(r.body, /<title>Dashboard/)
    }
    const stranger = await new WpClient(fleet.url('c')).get('/wp-admin/')
    assert.match(stranger.url, /wp-login\.php/, 'without the cookie node c asks for a login: the test above could fail')
  })

  it("gives each node its own wp-content, the web server's as on the first", () => {
    const a = fleet.byId('a')
    const b = fleet.byId('b')
    const c = fleet.byId('c')
    assert.notEqual(fs.realpathSync(a.wpContent), fs.realpathSync(b.wpContent))
    assert.notEqual(fs.statSync(a.wpContent).ino, fs.statSync(b.wpContent).ino)
    const before = fleet.tree('b')
    assert.deepEqual(before, fleet.tree('a'), 'the copies start byte for byte, mode and owner alike')
    assert.equal(before.get(`plugins/${DEMO_HELLO.file}`)?.split(' ')[1], `${fleet.wp.uid}:${fleet.wp.gid}`, 'owned by the web server user')
    fs.writeFileSync(path.join(a.wpContent, 'plugins', 'only-on-a.php'), '<?php // node a only\n')
    assert.ok(fleet.tree('a').has('plugins/only-on-a.php'))
    assert.ok(!fleet.tree('b').has('plugins/only-on-a.php'), 'not on node b')
    assert.ok(!fs.existsSync(path.join(c.wpContent, 'plugins', 'only-on-a.php')), 'not on node c')
    assert.deepEqual(fleet.tree('b'), before, "node b's files did not change")
    for (const n of fleet.nodes) assert.ok(fs.readFileSync(path.join(n.wpRoot, 'wp-config.php'), 'utf8').includes(`define( 'WP_HOME', '${n.url}' );`), `node ${n.id}'s wp-config names its address`)
    const salts = (n: { wpRoot: string }) => fs.readFileSync(path.join(n.wpRoot, 'wp-config.php'), 'utf8').match(/define\( '\w+_(?:KEY|SALT)', '[^']+' \);/g)
    assert.equal(salts(a)?.length, 8)
    assert.deepEqual(salts(b), salts(a))
    assert.deepEqual(salts(c), salts(a))
  })

  it('runs one s3rver, which answers', async () => {
    const s3 = fleet.s3
    assert.ok(s3, 'an s3rver by default')
    await s3.client().send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'harness-check/hello', Body: 'hello' }))
    assert.deepEqual((await s3.listKeys('harness-check/')).map((o) => o.key), ['harness-check/hello'])
    assert.equal((await s3.getBytes('harness-check/hello')).toString(), 'hello')
  })

  it("reads every node's config back as the one site with the node's id, the shared database and replica, and the fleet block", async () => {
    const s3 = fleet.s3!
    for (const n of fleet.nodes) {
      const r = await fleet.cli(n.id, ['--json', 'config'])
      assert.equal(r.code, 0, `node ${n.id}: ${r.stderr}`)
      const c = r.json.config as { node: string; dataDir: string; sites: Record<string, any>[] }
      assert.equal(c.node, n.id)
      assert.equal(c.dataDir, n.dataDir)
      assert.equal(c.sites.length, 1)
      const site = c.sites[0]!
      assert.equal(site.id, FLEET_SITE)
      assert.equal(site.wpRoot, n.wpRoot)
      assert.equal(site.db.name, fleet.db.name)
      assert.equal(site.db.tablePrefix, fleet.db.prefix)
      assert.deepEqual({ bucket: site.s3.bucket, prefix: site.s3.prefix, endpoint: site.s3.endpoint, forcePathStyle: site.s3.forcePathStyle }, { bucket: s3.bucket, prefix: FLEET_S3_PREFIX, endpoint: s3.endpoint, forcePathStyle: true })
      assert.deepEqual(site.fleet, { heartbeat: 250, nodeTimeout: 3000, readyWait: 20_000, sharedFiles: false })
      assert.deepEqual(site.bridge.url, n.url)
      assert.deepEqual(site.health.probes.map((p: { url: string }) => p.url), [`${n.url}/`], 'each node probes its own web server')
      assert.deepEqual(site.hooks.postRestore, [`echo restored on ${n.id}`])
    }
  })

  it("installs the bridge on every node: each node's wp-content and bridge dir get their own", async () => {
    await fleet.installBridges()
    for (const n of fleet.nodes) {
      const plugin = fs.readFileSync(path.join(n.wpContent, 'mu-plugins', 'peakguard-bridge.php'), 'utf8')
      assert.ok(plugin.includes(n.bridgeDir), `node ${n.id}'s bridge reads its own folder`)
      assert.ok(fs.existsSync(path.join(n.bridgeDir, 'secret')), `node ${n.id} has a secret`)
    }
    assert.equal(new Set(fleet.nodes.map((n) => n.bridgeDir)).size, 3)
  })
})
