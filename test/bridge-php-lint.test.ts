// The bridge's PHP is a real file (src/adapters/wp-bridge.php) so PHP's own parser checks it: `php -l` on the
// template as it is (its placeholders are valid PHP) and on a bridge generated from it for a bridge folder and
// site id that hold quotes and backslashes, which phpLit must escape or the generated file does not parse.
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { BRIDGE_VERSION, bridgePhp } from '../src/adapters/wp-bridge-php.ts'

const TEMPLATE = fileURLToPath(new URL('../src/adapters/wp-bridge.php', import.meta.url))

/** `php -l file`: its output, or an assertion that names what is wrong. */
function phpLint(file: string): string {
  const r = spawnSync('php', ['-l', file], { encoding: 'utf8' })
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') assert.fail('php is not installed: apt-get install -y php-cli')
  assert.equal(r.status, 0, `php -l ${file} failed:\n${r.stdout}${r.stderr}`)
  return r.stdout
}

describe('the bridge PHP passes php -l', () => {
  let tmp: string
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-bridge-lint-'))
  })
  after(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it('the template file, placeholders and all', () => {
    assert.match(phpLint(TEMPLATE), /No syntax errors detected/)
  })

  it('a generated bridge whose folder, site id and ignored options hold quotes and backslashes', () => {
    const dir = "/srv/o'neil \\ data/__PEAKGUARD_SITE__/bridge\\"
    const php = bridgePhp({ dir, site: "shop'\\s", ignoredOptions: ['cron', "it's", 'back\\slash\\'] })
    assert.doesNotMatch(php, /__PEAKGUARD_(?!SITE__\/)/, 'every placeholder is filled, and a value that names one is written as it is')
    assert.ok(php.includes("\tconst DIR  = '/srv/o\\'neil \\\\ data/__PEAKGUARD_SITE__/bridge\\\\';\n"))
    assert.ok(php.includes("\tconst SITE = 'shop\\'\\\\s';\n"))
    assert.ok(php.includes("\tconst FALLBACK_IGNORED = array( 'cron', 'it\\'s', 'back\\\\slash\\\\' );\n"))
    assert.ok(php.includes(`define( 'PEAKGUARD_BRIDGE_VERSION', ${BRIDGE_VERSION} );`))
    assert.ok(php.includes(` * Bridge folder (outside the web root): ${dir}\n`))
    const file = path.join(tmp, 'peakguard-bridge.php')
    fs.writeFileSync(file, php)
    assert.match(phpLint(file), /No syntax errors detected/)
    // and PHP reads the constants back as the exact strings (ABSPATH defined, so the class is declared)
    const probe = path.join(tmp, 'probe.php')
    fs.writeFileSync(probe, `<?php define('ABSPATH', '/'); function add_action() {} function add_filter() {} require ${JSON.stringify(file)}; echo json_encode(array(Peakguard_Bridge::DIR, Peakguard_Bridge::SITE, Peakguard_Bridge::FALLBACK_IGNORED));`)
    const out = execFileSync('php', [probe], { encoding: 'utf8' })
    assert.deepEqual(JSON.parse(out), [dir, "shop'\\s", ['cron', "it's", 'back\\slash\\']])
  })
})
