// Secrets in values shown to a browser (core/secrets.ts): hidden by their key's name at any depth — in parsed
// values and in raw text that does not parse (a serialized value with a wrong length, one turned into plain
// text) — and by their shape (known key formats, private keys, JWTs, passwords in URLs, random tokens);
// ordinary words, URLs, colours, ids, versions and paths stay readable.
import assert from 'node:assert/strict'
import { hasSecretShape, isRandomToken, isSecretName, redactShapesIn, redactText, redactValue, SECRET_DEPTH } from '../../src/core/index.ts'

/** A mask that shows a fingerprint, as the page's does: a changed secret must read as changed. */
const mask = (s: string) => {
  let h = 5381
  for (const c of s) h = ((h * 33) ^ (c.codePointAt(0) as number)) >>> 0
  return `<hidden #${h.toString(16)}>`
}
const HIDDEN = /<hidden #[0-9a-f]+>/

/** Asserts that none of `secrets` is in `out` and that something was hidden. */
function hides(out: string, secrets: string[], what: string): void {
  for (const s of secrets) assert.ok(!out.includes(s), `${what}: "${s}" is shown in\n${out}`)
  assert.match(out, HIDDEN, `${what}: nothing marked hidden in\n${out}`)
}

/** Deterministic pseudo-random strings (xorshift), so a failure reproduces. */
function randomStrings(n: number, len: number, alphabet: string, seed: number): string[] {
  let x = seed
  const next = () => {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    return (x >>> 0) / 2 ** 32
  }
  return Array.from({ length: n }, () => Array.from({ length: len }, () => alphabet[Math.floor(next() * alphabet.length)]).join(''))
}

const STRIPE = 'sk_live_51HqLyjWDarjtT1zdp7dcXyZ'
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

describe('core: secrets kept out of what is shown', () => {
  describe('names', () => {
    it('knows a secret by its name, in any case and spelling', () => {
      for (const n of ['api_key', 'secret_key', 'STRIPE_SECRET', 'smtp_pass', 'password', 'db_pwd', 'access_token', 'AUTH_SALT', 'nonce_salt', 'oauth', 'client_credentials', 'private_key', 'signature', 'session_cookie', 'sentry_dsn', 'apiKey', 'x-auth'])
        assert.ok(isSecretName(n), n)
    })
    it('leaves ordinary names alone', () => {
      for (const n of ['blogname', 'siteurl', 'home', 'enabled', 'title', 'author', 'authors', 'template', 'active_plugins', 'widget_text', 'color', 'version'])
        assert.ok(!isSecretName(n), n)
    })
  })

  describe('shapes', () => {
    const known: [string, string][] = [
      ['Stripe secret key', STRIPE],
      ['Stripe test key', 'sk_test_4eC39HqLyjWDarjtT1zdp7dc'],
      ['Stripe restricted key', 'rk_live_51HqLyjWDarjtT1zdp7dc'],
      ['Stripe publishable key (public, hidden anyway)', 'pk_live_51HqLyjWDarjtT1zdp7dc'],
      ['Stripe webhook secret', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
      ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE'],
      ['AWS temporary key id', 'ASIAJEXAMPLEXEG2JICEA'.slice(0, 20)],
      ['GitHub token', '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'],
      ['GitHub OAuth token', 'gho_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['GitHub app token', 'ghs_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['GitHub user token', 'ghu_16C7e42F292c6912E7710c838347Ae178B4a'],
      ['GitHub fine-grained token', 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz'],
      ['Slack bot token', 'xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
      ['Slack user token', 'xoxp-123456789012-1234567890123-abcdef'],
      ['Google API key', 'AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI'],
      ['GitLab token', 'glpat-xxxxXXXX1234yyyyZZZZ'],
      ['JWT', 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'],
      ['OpenAI key', 'sk-proj-abcdefghijklmnopqrstuvwxyz012345'],
      ['SendGrid key', 'SG.abcdefghijklmnopqrstuv.abcdefghijklmnopqrstuvwxyz0123456789ABC'],
      ['Mailgun key', 'key-0123456789abcdef0123456789abcdef'],
      ['license key', 'ABCD-1234-EFGH-5678'],
      ['hex key (32 digits)', '9f86d081884c7d659a2feaa0c55ad015'],
      ['random token under no name', 'Zx8Kq2LmP9vR4tY7wB3nC6dF1gH5jS0a'],
      ['base64 secret', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'],
    ]
    for (const [what, secret] of known)
      it(`${what}: hidden wherever it stands`, () => {
        assert.ok(hasSecretShape(secret), what)
        for (const text of [secret, `before ${secret} after`, `{"note":"${secret}"}`, `s:${secret.length}:"${secret}";`, `url?x=${secret}&y=1`])
          hides(redactText(text, mask), [secret], `${what} in ${text}`)
      })

    it('hides a private key, also one cut off before its END line', () => {
      const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----'
      const out = redactText(`key file:\n${pem}\nend`, mask)
      hides(out, ['MIIEowIBAAKCAQEAu1SU1', 'VTLw7onLRnrq0', 'BEGIN RSA PRIVATE KEY'], 'PEM')
      assert.match(out, /^key file:\n<hidden #[0-9a-f]+>\nend$/)
      hides(redactText('{"pem":"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqh"}', mask), ['MIIEvQIBADANBgkqh'], 'cut-off PEM')
      hides(redactText('-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n-----END OPENSSH PRIVATE KEY-----', mask), ['b3BlbnNzaC1rZXktdjEAAAAABG5vbmU'], 'OpenSSH')
    })

    it('hides the password of a URL, not the URL', () => {
      const out = redactText('db: mysql://wp:S3cr3t-Pass@db.internal:3306/wp; cache redis://:r3d1sPw@127.0.0.1:6379', mask)
      hides(out, ['S3cr3t-Pass', 'r3d1sPw'], 'URL passwords')
      assert.match(out, /mysql:\/\/wp:<hidden #[0-9a-f]+>@db\.internal:3306\/wp/)
      assert.match(out, /redis:\/\/:<hidden #[0-9a-f]+>@127\.0\.0\.1:6379/)
      hides(redactText('{"webhook":"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"}', mask), ['XXXXXXXXXXXXXXXXXXXXXXXX'], 'Slack webhook')
      hides(redactText('Authorization: Bearer abcDEF123456ghiJKL', mask), ['abcDEF123456ghiJKL'], 'bearer token')
    })

    it('hides random tokens of any alphabet (deterministic sample of 12,000)', () => {
      const samples = [
        ...randomStrings(2000, 24, ALNUM, 1),
        ...randomStrings(2000, 32, ALNUM, 2),
        ...randomStrings(2000, 40, `${ALNUM}+/`, 3),
        ...randomStrings(2000, 43, `${ALNUM}-_`, 4),
        ...randomStrings(2000, 32, '0123456789abcdef', 5),
        ...randomStrings(2000, 32, 'abcdefghijklmnopqrstuvwxyz0123456789', 6),
      ].filter((s) => /\d/.test(s))
      const missed = samples.filter((s) => !isRandomToken(s))
      assert.ok(missed.length <= samples.length / 500, `${missed.length} of ${samples.length} random tokens read as harmless: ${missed.slice(0, 5).join(' ')}`)
    })

    it('leaves words, URLs, colours, short ids, versions, paths, dates and identifiers readable', () => {
      const harmless = [
        'Campaign Shop — 50 % off until midnight 🎉',
        'https://shop.example/wp-content/uploads/2026/11/banner-image-final.jpg',
        'http://shop.example/?page_id=42&lang=de',
        'https://user@shop.example/profile',
        '#ff00aa',
        '#1a2b3c',
        'rgba(0, 0, 0, 0.5)',
        'order 1002',
        'G-XK2P4ZQ7R1',
        'a1b2c3',
        '9.4.0',
        'v2.11.3-beta.1',
        '1764400000.123',
        '2026-11-27T23:59:59Z',
        '/var/www/html/wp-content/plugins/woocommerce/woocommerce.php',
        '/home/user123/public_html/wp-content/uploads',
        'wp-content/themes/storefront-child/assets/css/main-2026.css',
        'woocommerce/woocommerce.php',
        'woocommerce_checkout_pay_endpoint',
        'WooCommercePaymentGatewayStripe',
        'WC_REST_Product_Variations_V2_Controller',
        'Version9Point4Point0Release',
        'getElementById2AndQuerySelectorAll',
        'MaxMind_GeoLite2_Country_Database',
        'index.php?post_type=product',
        'utf8mb4_unicode_520_ci',
        'author: Ada Lovelace',
        '1234567890123456789012345',
      ]
      for (const h of harmless) {
        assert.equal(redactText(h, mask), h, h)
        assert.equal(redactShapesIn(h, mask), h, h)
        assert.ok(!hasSecretShape(h), h)
      }
    })
  })

  describe('raw text that does not parse', () => {
    it('hides the value of a JSON pair named like a secret, in JSON that is cut off or escaped inside a string', () => {
      hides(redactText('{"api_key":"sk_live_abcdef123456","mode":"live"', mask), ['sk_live_abcdef123456'], 'cut-off JSON')
      hides(redactText('{"password": "hunter2", "user": "ada"}', mask), ['hunter2'], 'JSON')
      hides(redactText('{"token": {"live": "abc", "test": "def"}, "name": "Shop"}', mask), ['"abc"', '"def"'], 'a structure under a secret name')
      assert.match(redactText('{"token": {"live": "abc"}, "name": "Shop"}', mask), /"name": "Shop"/)
      hides(redactText('{"settings":"{\\"api_key\\":\\"abc123\\",\\"x\\":1}"}', mask), ['abc123'], 'JSON escaped in a string')
    })

    it('hides serialized values named like secrets whatever their declared length', () => {
      const right = 'a:2:{s:7:"enabled";s:3:"yes";s:10:"secret_key";s:17:"hunter2-hunter2-h";}'
      const tooLong = 'a:2:{s:7:"enabled";s:3:"yes";s:10:"secret_key";s:99:"hunter2-hunter2-h";}'
      const tooShort = 'a:2:{s:7:"enabled";s:3:"yes";s:10:"secret_key";s:5:"hunte";r2-hunter2-h";}'
      const cut = 'a:2:{s:7:"enabled";s:3:"yes";s:10:"secret_key";s:17:"hunter2-hun'
      for (const t of [right, tooLong, tooShort, cut]) {
        const out = redactText(t, mask)
        hides(out, ['hunter2', 'r2-hunter2-h', 'hun'], t)
        assert.match(out, /s:7:"enabled";s:3:"yes";/, 'the rest stays readable')
      }
      hides(redactText('a:1:{s:8:"password";a:2:{i:0;s:3:"abc";i:1;s:3:"def";}}', mask), ['"abc"', '"def"'], 'an array under a secret name')
      hides(redactText('a:1:{s:8:"password";i:123456;}', mask), ['123456'], 'a number under a secret name')
      hides(redactText('s:60:"a:1:{s:8:"settings";s:40:"a:1:{s:8:"password";s:9:"hunter2!!";}";}";', mask), ['hunter2!!'], 'serialized twice')
    })

    it('hides secrets in text that was serialized once: ini, env, query strings, PHP arrays and defines, XML', () => {
      const text = [
        'STRIPE_SECRET=hunter2hunter2',
        'smtp_password = "correct horse battery staple"',
        "$config = array('api_key' => 'p4ss-w0rd', 'host' => 'mail.example');",
        "define('AUTH_KEY', 'put your unique phrase here');",
        'https://api.example/v1?access_token=tok123tok&page=2',
        '<config><password>letmein</password><host>mail.example</host></config>',
        'Password: open sesame',
      ].join('\n')
      const out = redactText(text, mask)
      hides(out, ['hunter2hunter2', 'correct horse', 'p4ss-w0rd', 'put your unique phrase', 'tok123tok', 'letmein', 'open'], 'plain text')
      for (const visible of ["'host' => 'mail.example'", 'page=2', '<host>mail.example</host>']) assert.ok(out.includes(visible), `${visible} in\n${out}`)
    })

    it('keeps empty and boolean values of secret-named keys visible (set, cleared, switched on)', () => {
      for (const t of ['{"api_key":""}', '{"api_key":null}', '{"use_auth":true}', 'a:1:{s:7:"api_key";s:0:"";}', 'a:1:{s:8:"use_auth";b:1;}', 'password='])
        assert.equal(redactText(t, mask), t, t)
    })

    it('a changed secret reads as changed; the same secret reads the same', () => {
      const a = redactText('{"api_key":"first-value"}', mask)
      assert.notEqual(a, redactText('{"api_key":"second-value"}', mask))
      assert.equal(a, redactText('{"api_key":"first-value"}', mask))
      assert.notEqual(redactText(`x ${STRIPE}`, mask), redactText(`x ${STRIPE}Z`, mask))
    })

    it('stays linear on hostile text (512 kB in well under a second each)', () => {
      const n = 512 * 1024
      for (const t of ['\\'.repeat(n), 'a'.repeat(n), 'password=x&'.repeat(n / 11), 's:8:"password";s:99:"x'.repeat(n / 22), '{"api_key":['.repeat(n / 12), 'abc://'.repeat(n / 6), 'a-'.repeat(n / 2), '-----BEGIN PRIVATE KEY-----'.repeat(n / 27)]) {
        const t0 = performance.now()
        redactText(t, mask)
        assert.ok(performance.now() - t0 < 2000, `${t.slice(0, 20)}…: ${Math.round(performance.now() - t0)} ms`)
      }
    })
  })

  describe('parsed values', () => {
    it('the issue\'s JSON option: {"api_key":"sk_live_…"}', () => {
      const out = JSON.stringify(redactValue(JSON.parse(`{"api_key":"${STRIPE}","mode":"live"}`), mask))
      hides(out, [STRIPE, 'sk_live_'], 'JSON option')
      assert.match(out, /"mode":"live"/)
    })

    it('hides a secret nested 30 deep by its name, and everything below the depth limit', () => {
      let v: unknown = { api_key: 'hunter2-deep', note: 'visible' }
      for (let i = 0; i < 30; i++) v = { level: v }
      const out = JSON.stringify(redactValue(v, mask))
      hides(out, ['hunter2-deep'], '30 deep')
      assert.match(out, /"note":"visible"/, 'within the limit the rest is shown')
      let deeper: unknown = { innocuous: 'hunter2-deeper' }
      for (let i = 0; i < SECRET_DEPTH + 10; i++) deeper = [{ level: deeper }]
      hides(JSON.stringify(redactValue(deeper, mask)), ['hunter2-deeper', 'innocuous'], 'below the limit')
    })

    it('hides a secret under an innocuous name by its shape, and secret-shaped keys', () => {
      const out = JSON.stringify(redactValue({ settings: { value: 'Zx8Kq2LmP9vR4tY7wB3nC6dF1gH5jS0a', list: [STRIPE, 'ok'] }, [STRIPE]: { plan: 'pro' } }, mask))
      hides(out, ['Zx8Kq2LmP9vR4tY7wB3nC6dF1gH5jS0a', STRIPE], 'innocuous names')
      assert.match(out, /"ok"/)
      assert.match(out, /"plan":"pro"/)
    })

    it('hides a structure or number under a secret name; empty values and booleans stay', () => {
      const out = redactValue({ credentials: { user: 'ada', pass: 'x' }, pin_secret: 1234, api_key: '', use_token: true, nothing_private: null }, mask) as Record<string, unknown>
      assert.match(String(out.credentials), HIDDEN)
      assert.match(String(out.pin_secret), HIDDEN)
      assert.equal(out.api_key, '')
      assert.equal(out.use_token, true)
      assert.equal(out.nothing_private, null)
    })

    it('walks strings inside values as text: a serialized or JSON string inside an array', () => {
      const out = JSON.stringify(redactValue({ blob: 'a:1:{s:8:"password";s:7:"letmein";}', json: '{"client_secret":"abcdef"}' }, mask))
      hides(out, ['letmein', 'abcdef'], 'strings holding values')
    })

    it('names PHP objects by class and does not choke on hostile keys', () => {
      class WP_Thing {
        token = 'abc'
        title = 'x'
      }
      const out = redactValue(new WP_Thing(), mask) as Record<string, unknown>
      assert.equal(out.__class, 'WP_Thing')
      assert.match(String(out.token), HIDDEN)
      const hostile = redactValue(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"name":"Evil"}}'), mask) as Record<string, unknown>
      assert.equal(({} as Record<string, unknown>).polluted, undefined)
      assert.equal(hostile.__class, undefined)
    })
  })

  it('source code keeps its key-named variables readable; only shapes are hidden in it', () => {
    const code = "<?php\n$key = sanitize_key( $name );\n$stripe = new StripeClient('" + STRIPE + "');\n"
    const out = redactShapesIn(code, mask)
    assert.ok(out.includes('$key = sanitize_key( $name );'), out)
    hides(out, [STRIPE], 'code')
  })
})
