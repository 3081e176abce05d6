// Post-restore hooks (HooksPort): the configured shell commands, run one after another with /bin/sh after
// every restore (e.g. `systemctl reload php8.2-fpm` to drop opcache). A command that runs past its
// timeout is killed with its whole process group. Their output is kept short: it goes into the report.
import { spawn } from 'node:child_process'
import type { HookResult, HooksPort } from '../core/index.ts'

const OUTPUT_LIMIT = 4096

/**
 * Secrets a hook has no business with (its output even lands in restore reports): the replica key and
 * the S3 credentials the unit's EnvironmentFile loads, and — for a restore run from the CLI — the
 * caller's API token (PEAKGUARD_TOKEN: a hook that kept it could act as that user). Any other
 * PEAKGUARD_* variable named like a secret (…TOKEN, …KEY, …SECRET, …PASSWORD) goes too, so a secret
 * added later is not handed on by default.
 */
const SECRET_ENV = /^(?:PEAKGUARD_\w*(?:TOKEN|KEY|SECRET|PASSWORD|PASS|PWD)|AWS_(?:ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN)|MYSQL_PWD)$/

/** The environment of a hook: ours without the secrets, plus what the restore hands it (PEAKGUARD_SITE, …). */
function hookEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !SECRET_ENV.test(k))), ...extra }
}

export class ShellHooks implements HooksPort {
  private readonly commands: readonly string[]
  private readonly timeoutMs: number

  constructor(commands: readonly string[], timeoutMs: number) {
    this.commands = commands
    this.timeoutMs = timeoutMs
  }

  async postRestore(env: Record<string, string>): Promise<HookResult[]> {
    const results: HookResult[] = []
    for (const command of this.commands) results.push(await this.run(command, env))
    return results
  }

  private run(command: string, env: Record<string, string>): Promise<HookResult> {
    const started = performance.now()
    return new Promise((resolve) => {
      let output = ''
      let error: string | null = null
      const child = spawn('/bin/sh', ['-c', command], { env: hookEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true })
      const keep = (b: Buffer) => {
        output = (output + b.toString('utf8')).slice(-OUTPUT_LIMIT)
      }
      child.stdout.on('data', keep)
      child.stderr.on('data', keep)
      const timer = setTimeout(() => {
        error = `killed after ${this.timeoutMs} ms (hooks.timeout)`
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
      }, this.timeoutMs)
      child.on('error', (e) => {
        error = e.message
      })
      child.on('close', (code) => {
        clearTimeout(timer)
        resolve({ command, exitCode: code, error, durationMs: Math.round(performance.now() - started), output: output.trim() })
      })
    })
  }
}
