// cli: one file per command (parse → service → print text or --json → exit code). Commands reach the
// outside world only through the Runtime that src/compose/runtime.ts builds; they must never import adapters,
// node:fs, mysql2 or git.
import { Command, CommanderError } from 'commander'
import { EXIT } from '../errors.ts'
import { report, type GlobalOptions, type Runtime } from './runtime.ts'
import * as config from './config.ts'
import * as daemon from './daemon.ts'
import * as diff from './diff.ts'
import * as init from './init.ts'
import * as list from './list.ts'
import * as marks from './marks.ts'
import * as prune from './prune.ts'
import * as recover from './recover.ts'
import * as replicate from './replicate.ts'
import * as requests from './requests.ts'
import * as restore from './restore.ts'
import * as show from './show.ts'
import * as snapshot from './snapshot.ts'
import * as status from './status.ts'
import * as verify from './verify.ts'
import * as audit from './audit.ts'
import * as token from './token.ts'
import * as user from './user.ts'
import * as freeze from './freeze.ts'
import * as allow from './allow.ts'
import * as wp from './wp.ts'

/** Parses argv, runs one command, and resolves to the exit code. */
export async function runCli(argv: string[], rt: Runtime): Promise<number> {
  let code: number = EXIT.ok
  const program = new Command('peakguard')
    .description('snapshots, freeze windows and one-click rollback for WordPress code and settings')
    .option('--config <file>', 'config file (default: $PEAKGUARD_CONFIG, else /etc/peakguard/peakguard.yaml)')
    .option('--site <id>', 'which site (optional when the config has one)')
    .option('--json', 'print JSON instead of text')
    .option('--as <name>', 'act as this peakguard user (default: the one mapped from SUDO_USER, else USER)')
    .option('--password-stdin', "prove it with the password on stdin's first line (user add/passwd: the NEW password; prove yourself with PEAKGUARD_TOKEN there)")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: (s) => rt.out(s.trimEnd()), writeErr: (s) => rt.err(s.trimEnd()) })
  const run = async (fn: (o: GlobalOptions) => Promise<void>): Promise<void> => {
    const o = program.opts<GlobalOptions>()
    try {
      await rt.prepare(o)
      await fn(o)
    } catch (e) {
      code = report(rt, o, e)
    }
  }
  for (const c of [init, config, snapshot, list, show, diff, restore, marks, status, daemon, replicate, verify, prune, recover, requests, user, token, audit, freeze, allow, wp]) c.register(program, rt, run)
  for (const c of program.commands) c.exitOverride()
  try {
    await program.parseAsync(argv, { from: 'user' })
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage
    throw e
  }
  return code
}
