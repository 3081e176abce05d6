// Global fixtures (.mocharc.json "require"): one MariaDB for the whole run — the machine's on 3306, or a
// private one stopped at the end. They run once in mocha's main process; with --parallel, the worker
// processes started after them inherit PEAKGUARD_TEST_DB and use that server instead of starting their own.
import { mariadb, stopMariadb } from './harness/mariadb.ts'

export async function mochaGlobalSetup(): Promise<void> {
  process.env.PEAKGUARD_TEST_DB = JSON.stringify(await mariadb())
}

export async function mochaGlobalTeardown(): Promise<void> {
  await stopMariadb()
}
