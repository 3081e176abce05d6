// Reads what peakguard needs from a site's wp-config.php without running PHP: the DB_* constants,
// $table_prefix, MULTISITE and WP_CONTENT_DIR when it is a plain string. Handles both quote styles,
// define() with or without spaces, and the DB_HOST forms host, host:port, host:/socket and :/socket.
import fs from 'node:fs'
import path from 'node:path'
import { PeakguardError } from '../errors.ts'

export interface WpConfig {
  file: string
  dbName: string
  dbUser: string
  dbPassword: string
  dbHost: string
  host: string
  port: number
  socket: string | null
  tablePrefix: string
  multisite: boolean
  wpContent: string
}

const DEFAULT_SOCKETS = ['/run/mysqld/mysqld.sock', '/var/run/mysqld/mysqld.sock']

/** A PHP string literal's value ('…' or "…"); only simple escapes, which is all wp-config.php uses. */
function phpString(lit: string): string {
  const q = lit[0]
  const body = lit.slice(1, -1)
  if (q === "'") return body.replace(/\\(['\\])/g, '$1')
  return body.replace(/\\([\\"$nrt])/g, (_, c: string) => ({ n: '\n', r: '\r', t: '\t' })[c as 'n'] ?? c)
}

const STR = String.raw`('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")`

function stripComments(php: string): string {
  // drop /* */ and line comments outside strings, so commented-out defines are not read
  return php.replace(new RegExp(String.raw`${STR}|/\*[\s\S]*?\*/|(?:\/\/|#)[^\n]*`, 'g'), (m) => (m[0] === "'" || m[0] === '"' ? m : ''))
}

export function parseDbHost(dbHost: string): { host: string; port: number; socket: string | null } {
  const h = dbHost.trim()
  const sock = /^([^:]*):(\/.+)$/.exec(h)
  if (sock) return { host: sock[1] || 'localhost', port: 3306, socket: sock[2] as string }
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(h)
  if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : 3306, socket: null }
  const hp = /^([^:]+):(\d+)$/.exec(h)
  if (hp) return { host: hp[1] as string, port: Number(hp[2]), socket: null }
  // 'localhost' means the default socket to PHP's mysqli, not TCP
  if (h === 'localhost') {
    const s = DEFAULT_SOCKETS.find((p) => fs.existsSync(p))
    if (s) return { host: 'localhost', port: 3306, socket: s }
  }
  return { host: h || 'localhost', port: 3306, socket: null }
}

export function readWpConfig(wpRoot: string): WpConfig {
  const root = path.resolve(wpRoot)
  // WordPress also looks one directory up for wp-config.php
  const candidates = [path.join(root, 'wp-config.php'), path.join(path.dirname(root), 'wp-config.php')]
  const file = candidates.find((f) => fs.existsSync(f))
  if (!file) throw new PeakguardError('WP_CONFIG', `no wp-config.php in ${root} (or its parent): is --wp-root the WordPress directory?`)
  let php: string
  try {
    php = stripComments(fs.readFileSync(file, 'utf8'))
  } catch (e) {
    throw new PeakguardError('WP_CONFIG', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`, { cause: e })
  }
  const define = (name: string): string | undefined => {
    const m = new RegExp(String.raw`define\s*\(\s*(['"])${name}\1\s*,\s*${STR}\s*\)`).exec(php)
    return m ? phpString(m[2] as string) : undefined
  }
  const bool = (name: string): boolean => new RegExp(String.raw`define\s*\(\s*(['"])${name}\1\s*,\s*(true|1|'1'|"1")\s*\)`, 'i').test(php)
  const need = (name: string): string => {
    const v = define(name)
    if (v === undefined) throw new PeakguardError('WP_CONFIG', `${file} has no define('${name}', '…') that peakguard can read`)
    return v
  }
  const prefix = new RegExp(String.raw`\$table_prefix\s*=\s*${STR}\s*;`).exec(php)
  if (!prefix) throw new PeakguardError('WP_CONFIG', `${file} sets no $table_prefix = '…';`)
  const tablePrefix = phpString(prefix[1] as string)
  if (!/^[A-Za-z0-9_]+$/.test(tablePrefix)) throw new PeakguardError('WP_CONFIG', `$table_prefix ${JSON.stringify(tablePrefix)} in ${file} has characters WordPress does not allow`)
  const dbHost = define('DB_HOST') ?? 'localhost'
  const contentDir = define('WP_CONTENT_DIR')
  return {
    file,
    dbName: need('DB_NAME'),
    dbUser: need('DB_USER'),
    dbPassword: define('DB_PASSWORD') ?? '',
    dbHost,
    ...parseDbHost(dbHost),
    tablePrefix,
    multisite: bool('MULTISITE'),
    wpContent: contentDir && path.isAbsolute(contentDir) ? contentDir : path.join(root, 'wp-content'),
  }
}
