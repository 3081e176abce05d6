// A real MariaDB for the tests: the machine's server on 127.0.0.1:3306 (root, no password) when one runs,
// else a private server this harness starts in a temporary directory (about 3 s) and stops at the end.
// Each test site gets its own database, so tests never see each other's rows.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import mysql from 'mysql2/promise'

export interface Server {
  host: string
  port: number
  user: string
  password: string
  private: boolean
}

let server: Server | null = null
let proc: ChildProcess | null = null
let dataDir: string | null = null

const INSTALL = 'apt-get install -y mariadb-server'

async function canConnect(port: number): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 1500 })
    await c.end()
    return true
  } catch {
    return false
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port
      s.close(() => resolve(port))
    })
    s.on('error', reject)
  })
}

function which(bin: string): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = path.join(dir, bin)
    if (fs.existsSync(p)) return p
  }
  return null
}

export async function mariadb(): Promise<Server> {
  if (server) return server
  if (!process.env.PEAKGUARD_TEST_PRIVATE_DB && (await canConnect(3306))) {
    server = { host: '127.0.0.1', port: 3306, user: 'root', password: '', private: false }
    return server
  }
  const daemon = which('mariadbd') ?? which('mysqld')
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db')
  if (!daemon || !installDb) throw new Error(`no MariaDB server on this machine and none running on 127.0.0.1:3306: install it with '${INSTALL}'`)
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-mariadb-'))
  const init = spawnSync(installDb, ['--no-defaults', `--datadir=${dataDir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' })
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`)
  const port = await freePort()
  proc = spawn(daemon, ['--no-defaults', `--datadir=${dataDir}`, `--socket=${dataDir}/s`, `--port=${port}`, '--bind-address=127.0.0.1', '--user=root', '--skip-grant-tables=0', '--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let log = ''
  proc.stderr?.on('data', (d: Buffer) => (log += d.toString()))
  for (let i = 0; i < 300; i++) {
    if (await canConnect(port)) {
      server = { host: '127.0.0.1', port, user: 'root', password: '', private: true }
      return server
    }
    if (proc.exitCode !== null) break
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`the private MariaDB did not start: ${log.slice(-2000)}`)
}

export async function stopMariadb(): Promise<void> {
  if (proc && proc.exitCode === null) {
    proc.kill('SIGTERM')
    await new Promise((r) => proc?.once('exit', r))
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
  proc = null
  server = null
  dataDir = null
}

/** Stops and starts the private server (for outage tests); a no-op error on the shared one. */
export function isPrivate(): boolean {
  return !!server?.private
}

export async function rootConnection(database?: string): Promise<mysql.Connection> {
  const s = await mariadb()
  return mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database, charset: 'utf8mb4_general_ci', multipleStatements: true })
}
