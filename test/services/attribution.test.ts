// Attribution of Site Editor entities and settings-table rows: the bridge names an entity the way peakguard
// names its row (entity:TYPE/THEME/SLUG) and a settings table as table:NAME; attribute() maps an entity event to
// the row of that name (also when the row carries a duplicate's #<post id>) and a table event to every row of
// that table — and to nothing else, so a save of one entity never names the user behind another change.
import assert from 'node:assert/strict'
import { entityName, type OptionChange, type StateDiff, type WpEvent } from '../../src/core/index.ts'
import { attribute } from '../../src/services/attribution.ts'

const T0 = 1_700_000_000_000
const names = { userName: (uid: number) => `uid${uid}` }
const utf8 = (s: string) => new TextEncoder().encode(s)

function changed(...rows: [table: string, name: string][]): StateDiff {
  const options: OptionChange[] = rows.map(([table, name]) => ({ table, name, change: 'modified', value: true, from: { table, name, blob: 'a'.repeat(40), autoload: null }, to: { table, name, blob: 'b'.repeat(40), autoload: null } }))
  return { files: [], options, links: [], dirs: [] }
}

function event(event: string, subject: string, user = 'admin', atMs = T0 + 500): WpEvent {
  return { time: atMs / 1000, event, subject, user, userId: user === 'admin' ? 1 : 7, ip: '127.0.0.1', cli: false, cron: false }
}

const HEADER = 'entity:wp_template_part/twentytwentythree/header'
const STYLES = 'entity:wp_global_styles/twentytwentythree/wp-global-styles-twentytwentythree'

describe('attribution of Site Editor entities and settings tables', () => {
  it('an entity event names the user of the row with that name', () => {
    const a = attribute(changed(['wp_posts', HEADER]), [event('entity_saved', HEADER)], T0, T0 + 2000, names)
    assert.equal(a.kind, 'wordpress')
    assert.equal(a.label, 'wp:admin (#1) from 127.0.0.1')
    assert.deepEqual(a.events, [`entity_saved ${HEADER}`])
  })

  it('a deleted entity is attributed by its entity_deleted event', () => {
    const home = 'entity:wp_template/twentytwentythree/home'
    const diff: StateDiff = { ...changed(), options: [{ table: 'wp_posts', name: home, change: 'removed', value: true, from: { table: 'wp_posts', name: home, blob: 'a'.repeat(40), autoload: null } }] }
    const a = attribute(diff, [event('entity_deleted', home)], T0, T0 + 2000, names)
    assert.equal(a.who, 'admin')
  })

  it("an entity event covers the row of a duplicate (the bridge cannot know peakguard's #<post id>)", () => {
    const a = attribute(changed(['wp_posts', `${HEADER}#42`]), [event('entity_saved', HEADER)], T0, T0 + 2000, names)
    assert.equal(a.who, 'admin')
  })

  it('an entity event does not cover another entity, nor an option of the same text', () => {
    const footer = 'entity:wp_template_part/twentytwentythree/footer'
    const other = attribute(changed(['wp_posts', HEADER]), [event('entity_saved', footer)], T0, T0 + 2000, names)
    assert.equal(other.kind, 'unknown')
    assert.match(other.label, /outside WordPress/)
    // a slug is a prefix of another: no match
    const prefix = attribute(changed(['wp_posts', `${HEADER}-2`]), [event('entity_saved', HEADER)], T0, T0 + 2000, names)
    assert.equal(prefix.kind, 'unknown')
  })

  it('names with bytes outside [A-Za-z0-9._~-] match the name the bridge writes (percent-encoded, upper-case hex)', () => {
    // a theme "Shop Theme/2" and a slug with UTF-8 in it, as core names the row
    const name = entityName(utf8('wp_template'), utf8('Shop Theme/2'), utf8('caf\u00e9 <b>'))
    assert.equal(name, 'entity:wp_template/Shop%20Theme%2F2/caf%C3%A9%20%3Cb%3E')
    const a = attribute(changed(['wp_posts', name]), [event('entity_saved', 'entity:wp_template/Shop%20Theme%2F2/caf%C3%A9%20%3Cb%3E')], T0, T0 + 2000, names)
    assert.equal(a.who, 'admin')
  })

  it('a table event covers every changed row of that table, and no other table', () => {
    const diff = changed(['wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#3'], ['wp_woocommerce_tax_rates', 'table:woocommerce_tax_rates#7'])
    const a = attribute(diff, [event('table_write', 'table:woocommerce_tax_rates')], T0, T0 + 2000, names)
    assert.equal(a.who, 'admin')
    assert.deepEqual(a.events, ['table_write table:woocommerce_tax_rates'])
    const other = attribute(diff, [event('table_write', 'table:woocommerce_tax_rate_locations')], T0, T0 + 2000, names)
    assert.equal(other.kind, 'unknown')
    // a table whose name starts like another's is another table
    const longer = attribute(changed(['wp_woocommerce_tax_rates2', 'table:woocommerce_tax_rates2#1']), [event('table_write', 'table:woocommerce_tax_rates')], T0, T0 + 2000, names)
    assert.equal(longer.kind, 'unknown')
  })

  it('of several matching events the newest names the cause; refusals and events outside the window name nobody', () => {
    const diff = changed(['wp_posts', HEADER], ['wp_posts', STYLES])
    const a = attribute(diff, [event('entity_saved', STYLES, 'editor', T0 + 100), event('entity_saved', HEADER, 'admin', T0 + 900)], T0, T0 + 2000, names)
    assert.equal(a.who, 'admin')
    assert.deepEqual(a.events, [`entity_saved ${STYLES}`, `entity_saved ${HEADER}`])
    const refused = attribute(diff, [event('freeze_refused', HEADER)], T0, T0 + 2000, names)
    assert.equal(refused.kind, 'unknown')
    const early = attribute(diff, [event('entity_saved', HEADER, 'admin', T0 - 5000)], T0, T0 + 2000, names)
    assert.equal(early.kind, 'unknown')
  })

  it('a WP-CLI save of an entity is attributed to WP-CLI', () => {
    const cli = { ...event('entity_saved', HEADER), cli: true, ip: null }
    const a = attribute(changed(['wp_posts', HEADER]), [cli], T0, T0 + 2000, names)
    assert.equal(a.kind, 'wp-cli')
    assert.equal(a.label, 'wp-cli as admin')
  })
})
