// The pure rules in src/core: path safety, ignore globs, --only selectors, diffs.
import assert from 'node:assert/strict'
import { assertSafePath, diffStates, globToRegExp, ignoreRules, DEFAULT_IGNORED_OPTIONS, parseOnly, stateOf, summarize } from '../../src/core/index.ts'

describe('core: scope', () => {
  it('accepts paths inside the scope and refuses everything else', () => {
    for (const ok of ['plugins/akismet/akismet.php', 'themes/x/y/z.css', 'mu-plugins/a.php', 'object-cache.php', 'plugins/a b/ä.php', 'plugins/x\\..\\y', 'themes/t/a\\b.css'])
      assert.doesNotThrow(() => assertSafePath(ok), ok)
    for (const [bad, why] of [
      ['plugins/../../etc/passwd', /'\.\.'/],
      ['/etc/passwd', /absolute/],
      ['plugins//x.php', /empty segment/],
      ['uploads/2026/a.jpg', /outside themes, plugins, mu-plugins/],
      ['wp-config.php', /not a drop-in/],
      ['plugins/a\u0000b', /NUL/],
    ] as const)
      assert.throws(() => assertSafePath(bad), (e: Error & { code?: string }) => e.code === 'UNSAFE_PATH' && why.test(e.message), bad)
  })

  it('ignores transients, cron and lock rows by default, and site-specific globs', () => {
    const rules = ignoreRules([...DEFAULT_IGNORED_OPTIONS, 'my_cache_*'], ['**/cache/**', '**/*.log'])
    for (const n of ['_transient_timeout_x', '_site_transient_update_core', 'cron', 'core_updater.lock', 'jpsq_sync_123', 'my_cache_a', '1:_site_transient_x'])
      assert.equal(rules.option(n), true, n)
    for (const n of ['blogname', 'active_plugins', 'transient_not', 'cronjob', '1:site_name']) assert.equal(rules.option(n), false, n)
    assert.equal(rules.file('plugins/w3tc/cache/page.html'), true)
    assert.equal(rules.file('plugins/x/debug.log'), true)
    assert.equal(rules.file('plugins/x/x.php'), false)
    assert.equal(globToRegExp('plugins/*/readme.txt').test('plugins/a/b/readme.txt'), false)
  })

  it('parses --only selectors', () => {
    assert.deepEqual(parseOnly(['plugins/akismet/', 'option:blogname', 'wp-content/themes/storefront']), {
      paths: ['plugins/akismet', 'themes/storefront'],
      options: ['blogname'],
    })
    assert.equal(parseOnly([]), null)
    assert.throws(() => parseOnly(['../etc']), /refusing/)
    assert.throws(() => parseOnly(['option:']), /give an option name/)
  })

  it('diffs two states by content, metadata, links and option value/autoload', () => {
    const f = (path: string, blob: string, mode = 0o644) => ({ path, kind: 'file' as const, blob, mode, uid: 33, gid: 33 })
    const o = (name: string, blob: string, autoload = 'yes') => ({ table: 'wp_options', name, blob, autoload })
    const a = stateOf([f('plugins/a/x.php', '1'), f('plugins/a/y.php', '2'), f('plugins/b/z.php', '3')], [], [o('blogname', 'b1'), o('home', 'h1')])
    const b = stateOf([f('plugins/a/x.php', '9'), f('plugins/a/y.php', '2', 0o600), f('plugins/c/n.php', '4')], [{ path: 'themes/t', target: '/usr/share/t' }], [o('blogname', 'b1', 'no'), o('siteurl', 's')])
    const d = diffStates(a, b)
    assert.deepEqual(
      d.files.map((x) => [x.path, x.change, x.content]),
      [
        ['plugins/a/x.php', 'modified', true],
        ['plugins/a/y.php', 'modified', false],
        ['plugins/b/z.php', 'removed', true],
        ['plugins/c/n.php', 'added', true],
      ],
    )
    assert.deepEqual(d.options.map((x) => [x.name, x.change, x.value]), [['blogname', 'modified', false], ['home', 'removed', true], ['siteurl', 'added', true]])
    assert.deepEqual(d.links.map((x) => [x.path, x.change]), [['themes/t', 'added']])
    assert.match(summarize(d), /plugins\/a \(2 files\); plugins\/b \(1 file\); plugins\/c \(1 file\); themes\/t \(1 file\); options: blogname, home, siteurl$/)
  })
})
