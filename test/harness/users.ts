// peakguard users for tests: the bootstrap admin, then users with roles, each with an API token, made
// through the real CLI (passwords on stdin, as an operator would pipe them).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { MAIN, type CliResult } from './site.ts'
import { WpClient } from './wordpress.ts'

/**
 * `peakguard --config FILE ARGS` with `input` on stdin (for --password-stdin), no terminal — as a script or
 * a CI job runs it. The caller's PEAKGUARD_TOKEN and SUDO_USER never leak in: a test passes them in `env`.
 */
export function cliWithInput(configFile: string, args: string[], input: string, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const base = { ...process.env }
    delete base.PEAKGUARD_TOKEN
    delete base.SUDO_USER
    const p = spawn(process.execPath, [MAIN, '--config', configFile, ...args], { env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    p.stdin.on('error', () => undefined)
    p.stdin.end(input)
    p.on('close', (code, signal) => {
      let json: unknown = null
      try {
        json = JSON.parse(stdout)
      } catch {
        /* text */
      }
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : 1), stdout, stderr, json })
    })
  })
}

export function ok(r: CliResult, what: string): void {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`)
}

/**
 * Makes `admin` (role admin, the bootstrap; `adminOsUsers` are OS users mapped to it) and the given users; returns each one's API token, to be
 * passed as PEAKGUARD_TOKEN.
 */
export async function makeUsers(
  configFile: string,
  admin: string,
  users: Record<string, 'viewer' | 'operator' | 'approver' | 'admin'>,
  adminOsUsers: string[] = [],
): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {}
  const aliases = adminOsUsers.flatMap((u) => ['--os-user', u])
  ok(await cliWithInput(configFile, ['user', 'add', admin, '--role', 'admin', ...aliases, '--password-stdin'], `${admin}-password-1\n`), 'bootstrap admin')
  const t = await cliWithInput(configFile, ['--as', admin, '--password-stdin', '--json', 'token', 'create', '--user', admin], `${admin}-password-1\n`)
  ok(t, `token for ${admin}`)
  tokens[admin] = (t.json as { token: string }).token
  for (const [u, role] of Object.entries(users)) {
    ok(await cliWithInput(configFile, ['user', 'add', u, '--role', role, '--password-stdin'], `${u}-password-1\n`, { PEAKGUARD_TOKEN: tokens[admin] as string }), `user add ${u}`)
    const tu = await cliWithInput(configFile, ['--json', 'token', 'create', '--user', u], '', { PEAKGUARD_TOKEN: tokens[admin] as string })
    ok(tu, `token for ${u}`)
    tokens[u] = (tu.json as { token: string }).token
  }
  return tokens
}

/** The CSRF token of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html)
  assert.ok(m, `no CSRF token on the page:\n${html.slice(0, 500)}`)
  return m[1] as string
}

/** Logs in to the web UI at `url` through its login form, as a browser would; returns the client (its cookies) and the first page. */
export async function login(url: string, name: string, password: string): Promise<{ c: WpClient; page: string }> {
  const c = new WpClient(url)
  const form = await c.get('/login')
  const r = await c.post('/login', { _csrf: csrfOf(form.body), name, password, next: '/' })
  assert.equal(r.status, 200, `login as ${name}: HTTP ${r.status} ${r.body.replace(/[\s\S]*<main/, "").slice(0, 600)}`)
  return { c, page: r.body }
}
