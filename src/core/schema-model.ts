// The database schema as a state holds it (tables, columns, indexes, engine, collation) and a change of it: plain
// shapes, apart from schema.ts's rules so that state.ts can name them without importing those rules.

export interface ColumnDef {
  name: string
  /** COLUMN_TYPE without an integer display width (`bigint unsigned`, `varchar(191)`, `tinyint(1)`): see the adapter's normalType */
  type: string
  nullable: boolean
  /** COLUMN_DEFAULT as the server says it (MariaDB quotes string literals: `'pending'`, and says `NULL`); null: none */
  default: string | null
}

export interface IndexDef {
  name: string
  unique: boolean
  /** in index order; a prefix index as `name(191)` */
  columns: string[]
}

export interface TableDef {
  name: string
  engine: string | null
  collation: string | null
  /** in table order */
  columns: ColumnDef[]
  /** by name */
  indexes: IndexDef[]
}

/** The tables of the site's prefix, by name. */
export interface SchemaInfo {
  tables: ReadonlyMap<string, TableDef>
}

/** How one table differs between two schemas, in words. */
export interface SchemaChange {
  table: string
  change: 'created' | 'dropped' | 'altered' | 'renamed'
  /** for 'renamed': the table's name before */
  from?: string
  /** for 'altered': what changed, one phrase each ("column `status` added (varchar(20) NOT NULL)") */
  details: string[]
  /** for 'altered': its columns changed (not only its indexes, engine or collation): a row of the old shape may not fit */
  columns?: true
}
