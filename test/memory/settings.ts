// SettingsPort in memory: each settings table a map of rows by name, in insertion order (as option_id
// orders them). Values are exact bytes or SQL NULL (read as the empty string, flagged nullValue); blob
// ids are git's, as the server computes them; apply() checks every table before it writes anything.
import { createHash } from 'node:crypto'
import { encodeSchema, ignoreRules, optionKey, schemaOf, type OptionEntry, type OptionValue, type SchemaInfo, type SettingsPort, type TableDef } from '../../src/core/index.ts'
import { PeakguardError } from '../../src/errors.ts'
import { blobId, copyBytes } from './blob-id.ts'

interface Row {
  value: Uint8Array | null
  autoload: string | null
}

export class MemorySettings implements SettingsPort {
  readonly tables = new Map<string, Map<string, Row>>()
  private readonly main: string
  private readonly ignored: (name: string) => boolean
  /** a test's fault: every call fails as with the database down */
  down = false
  /** the tables' schema as a test sets it (a migration: `schemaTables.set(...)`); the settings tables themselves are not in it */
  readonly schemaTables = new Map<string, TableDef>()

  constructor(o: { tables?: string[]; ignoredOptions?: readonly string[] } = {}) {
    for (const t of o.tables ?? ['wp_options']) this.tables.set(t, new Map())
    this.main = (o.tables ?? ['wp_options'])[0] as string
    this.ignored = ignoreRules(o.ignoredOptions ?? [], []).option
  }

  async sources(): Promise<string[]> {
    return [...this.tables.keys()]
  }

  // ── the world outside the port: WordPress (or a plugin) writing its rows ──────────────────────────

  set(name: string, value: string | Uint8Array | null, autoload: string | null = 'yes', table = this.main): void {
    const t = this.table(table)
    t.set(name, { value: value === null ? null : typeof value === 'string' ? new TextEncoder().encode(value) : copyBytes(value), autoload })
  }

  delete(name: string, table = this.main): void {
    this.table(table).delete(name)
  }

  get(name: string, table = this.main): string | null {
    const r = this.tables.get(table)?.get(name)
    return r?.value ? new TextDecoder().decode(r.value) : r ? '' : null
  }

  private table(name: string): Map<string, Row> {
    const t = this.tables.get(name)
    if (!t) throw new PeakguardError('DB_NO_TABLES', `settings table ${name} is not in the database any more; nothing was written`)
    return t
  }

  private reachable(): void {
    if (this.down) throw new PeakguardError('DB_UNREACHABLE', 'cannot reach the database at memory: ECONNREFUSED — is MariaDB/MySQL running there?')
  }

  // ── the port ───────────────────────────────────────────────────────────────────────────────────────

  async read(): Promise<OptionEntry[]> {
    this.reachable()
    const out: OptionEntry[] = []
    for (const [table, rows] of this.tables)
      for (const [name, r] of rows) out.push({ table, name, blob: blobId(r.value ?? new Uint8Array(0)), autoload: r.autoload, ...(r.value === null ? { nullValue: true as const } : {}) })
    return out
  }

  async values(rows: OptionEntry[]): Promise<Map<string, { value: Uint8Array; blob: string }>> {
    const out = new Map<string, { value: Uint8Array; blob: string }>()
    // as MysqlSettings: asking for no rows needs no database
    if (rows.length === 0) return out
    this.reachable()
    for (const e of rows) {
      const r = this.tables.get(e.table)?.get(e.name)
      if (!r) continue
      const value = copyBytes(r.value ?? new Uint8Array(0))
      out.set(optionKey(e.table, e.name), { value, blob: blobId(value) })
    }
    return out
  }

  async duplicates(): Promise<string[]> {
    this.reachable()
    return [] // a map cannot hold one name twice
  }

  async apply(write: OptionValue[], remove: { table: string; name: string }[]): Promise<void> {
    this.reachable()
    for (const r of [...write, ...remove]) this.table(r.table)
    for (const r of remove) this.table(r.table).delete(r.name)
    for (const r of write) {
      const t = this.table(r.table)
      const row = { value: r.nullValue ? null : copyBytes(r.value), autoload: r.autoload }
      if (t.has(r.name)) Object.assign(t.get(r.name) as Row, row)
      else t.set(r.name, row)
    }
  }

  async schema(): Promise<SchemaInfo> {
    this.reachable()
    return schemaOf([...this.schemaTables.values()])
  }

  async fingerprint(): Promise<string> {
    this.reachable()
    const parts: string[] = [`schema:${createHash('md5').update(encodeSchema(schemaOf([...this.schemaTables.values()]))).digest('hex')}`]
    for (const [table, rows] of this.tables) {
      const h = createHash('md5')
      let n = 0
      for (const [name, r] of rows) {
        if (this.ignored(name)) continue
        n++
        h.update(`${name}\0${r.autoload}\0${r.value === null ? 'N' : blobId(r.value)}\x01`)
      }
      parts.push(`${table}:${n}:${h.digest('hex')}`)
    }
    return parts.join(' ')
  }

  async homeUrl(): Promise<string | null> {
    this.reachable()
    return this.get('home')
  }

  forgetTables(): void {}

  async close(): Promise<void> {}
}
