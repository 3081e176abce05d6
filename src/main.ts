#!/usr/bin/env node
// The entry point: the crash-test hook, the Runtime the composition root builds (src/compose/), and the
// CLI. Nothing else: what a command needs is loaded when it runs, so `peakguard --help` starts fast.
import fs from 'node:fs'
import module from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli } from './cli/program.ts'
import { report, type GlobalOptions } from './cli/runtime.ts'
import { onCheckpoint } from './core/checkpoints.ts'
import { runtime } from './compose/runtime.ts'

/**
 * PEAKGUARD_FAULT=name[#n] kills the process (SIGKILL) the n-th time it passes checkpoint `name` (see
 * core/checkpoints.ts): the crash tests use it to prove that a command interrupted at any durable step is
 * finished or undone by the next one. With PEAKGUARD_FAULT_SIGNAL=SIGSTOP the process stops there instead,
 * so a test can break something under it (the database) and let it go on (SIGCONT).
 * PEAKGUARD_CHECKPOINT_LOG=file appends each checkpoint passed to that file (how the crash test learns
 * which command reaches which step).
 */
function installFaultHook(env: NodeJS.ProcessEnv): void {
  const spec = env.PEAKGUARD_FAULT
  const log = env.PEAKGUARD_CHECKPOINT_LOG
  if (!spec && !log) return
  const [name, nth] = (spec ?? '').split('#')
  let hits = 0
  onCheckpoint((at) => {
    if (log) fs.appendFileSync(log, `${at}\n`)
    if (at === name && ++hits === Number(nth ?? 1)) process.kill(process.pid, env.PEAKGUARD_FAULT_SIGNAL === 'SIGSTOP' ? 'SIGSTOP' : 'SIGKILL')
  })
}

// run the CLI when this file is the program (not when a test imports it)
const entry = process.argv[1] ? fs.realpathSync(process.argv[1]) : ''
if (entry === fs.realpathSync(fileURLToPath(import.meta.url))) {
  // compiled modules are kept on disk between runs: each later command starts faster (Node ≥ 22.1). In the
  // user's own cache folder, never the shared /tmp Node defaults to: peakguard runs as root, and code cache
  // planted there by another local user would be loaded by it
  module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE || path.join(os.homedir(), '.cache/peakguard/node-compile-cache'))
  installFaultHook(process.env)
  const rt = runtime()
  // the last guard: a failure nobody awaited still goes through the error table (message, exit code, JSON),
  // never a bare stack trace; the daemon exits with it and systemd starts it again
  process.on('unhandledRejection', (e) => {
    process.exit(report(rt, { json: process.argv.includes('--json') } as GlobalOptions, e))
  })
  process.exitCode = await runCli(process.argv.slice(2), rt)
  await rt.finish?.().catch(() => undefined)
}
