// The settings contract against MysqlSettings on a real MariaDB (a database of its own with WordPress's
// options table) and against the memory settings the service tests use.
import { randomBytes } from 'node:crypto'
import type mysql from 'mysql2/promise'
import { MysqlSettings } from '../../src/adapters/mysql-settings.ts'
import { MemorySettings } from '../memory/settings.ts'
import { mariadb, rootConnection } from '../harness/mariadb.ts'
import { optionsTableSql } from '../harness/site.ts'
import { describeSettingsContract } from './settings.contract.ts'

describeSettingsContract('MysqlSettings (MariaDB)', async (ignored) => {
  const server = await mariadb()
  const name = `pg_contract_${randomBytes(4).toString('hex')}`
  const root = await rootConnection()
  await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`)
  const db: mysql.Connection = await rootConnection(name)
  await db.query(optionsTableSql('wp_options'))
  return {
    settings: new MysqlSettings({ host: server.host, port: server.port, socket: null, user: server.user, password: server.password, name, tablePrefix: 'wp_', multisite: false }, { ignoredOptions: ignored }),
    table: 'wp_options',
    set: async (n, value, autoload = 'yes') => {
      const v = value === null ? null : Buffer.from(value)
      // option_value is NOT NULL in WordPress's schema; a NULL needs the column as some hosts have it
      if (v === null) await db.query('ALTER TABLE wp_options MODIFY option_value longtext NULL')
      await db.query('INSERT INTO wp_options (option_name, option_value, autoload) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE option_value = VALUES(option_value), autoload = VALUES(autoload)', [n, v, autoload])
    },
    cleanup: async () => {
      await db.end()
      await root.query(`DROP DATABASE \`${name}\``)
      await root.end()
    },
  }
})

describeSettingsContract('MemorySettings', async (ignored) => {
  const settings = new MemorySettings({ ignoredOptions: ignored })
  return {
    settings,
    table: 'wp_options',
    set: async (n, value, autoload = 'yes') => settings.set(n, value, autoload),
    cleanup: async () => undefined,
  }
})
