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

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): Promise<number> {
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

/** A MariaDB server of the test's own, in a temporary directory: it can be stopped and started again (outage tests). */
export class PrivateMariadb {
  readonly dataDir: string
  readonly server: Server
  private proc: ChildProcess | null = null
  private readonly daemon: string

  private constructor(dataDir: string, port: number, daemon: string) {
    this.dataDir = dataDir
    this.daemon = daemon
    this.server = { host: '127.0.0.1', port, user: 'root', password: '', private: true }
  }

  static async create(): Promise<PrivateMariadb> {
    const daemon = which('mariadbd') ?? which('mysqld')
    const installDb = which('mariadb-install-db') ?? which('mysql_install_db')
    if (!daemon || !installDb) throw new Error(`no MariaDB server on this machine and none running on 127.0.0.1:3306: install it with '${INSTALL}'`)
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-mariadb-'))
    const init = spawnSync(installDb, ['--no-defaults', `--datadir=${dir}`, '--user=root', '--auth-root-authentication-method=normal', '--skip-test-db'], { encoding: 'utf8' })
    if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr || init.stdout}`)
    const db = new PrivateMariadb(dir, await freePort(), daemon)
    await db.start()
    return db
  }

  async start(): Promise<void> {
    const proc = spawn(
      this.daemon,
      ['--no-defaults', `--datadir=${this.dataDir}`, `--socket=${this.dataDir}/s`, `--port=${this.server.port}`, '--bind-address=127.0.0.1', '--user=root', '--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    this.proc = proc
    let log = ''
    proc.stderr?.on('data', (d: Buffer) => (log += d.toString()))
    for (let i = 0; i < 300; i++) {
      if (await canConnect(this.server.port)) return
      if (proc.exitCode !== null) break
      await new Promise((r) => setTimeout(r, 100))
    }
    throw new Error(`the private MariaDB did not start: ${log.slice(-2000)}`)
  }

  async stop(): Promise<void> {
    const proc = this.proc
    this.proc = null
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc.once('exit', r))
      proc.kill('SIGTERM')
      await exited
    }
  }

  async destroy(): Promise<void> {
    await this.stop()
    fs.rmSync(this.dataDir, { recursive: true, force: true })
  }
}

let privateServer: PrivateMariadb | null = null

export async function mariadb(): Promise<Server> {
  if (server) return server
  // the run's server, started by the global fixture (test/fixtures.ts) in mocha's main process
  if (process.env.PEAKGUARD_TEST_DB) {
    server = JSON.parse(process.env.PEAKGUARD_TEST_DB) as Server
    return server
  }
  if (!process.env.PEAKGUARD_TEST_PRIVATE_DB && (await canConnect(3306))) {
    server = { host: '127.0.0.1', port: 3306, user: 'root', password: '', private: false }
    return server
  }
  privateServer = await PrivateMariadb.create()
  server = privateServer.server
  return server
}

export async function stopMariadb(): Promise<void> {
  await privateServer?.destroy()
  privateServer = null
  server = null
}

export async function rootConnection(database?: string, on?: Server): Promise<mysql.Connection> {
  const s = on ?? (await mariadb())
  return mysql.createConnection({ host: s.host, port: s.port, user: s.user, password: s.password, database, charset: 'utf8mb4_general_ci', multipleStatements: true })
}
