// What the notification tests share: a log that keeps its lines, and a wait for what must happen.
import assert from 'node:assert/strict'
import type { LogPort } from '../../src/core/index.ts'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface CapturedLog extends LogPort {
  lines: { level: string; fields: Record<string, unknown>; msg: string }[]
  text(): string
}

export function captureLog(): CapturedLog {
  const lines: CapturedLog['lines'] = []
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, fields, msg })
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), text: () => JSON.stringify(lines) }
}

/** Waits for what must happen; the limit only bounds a broken run (generous: 2 cores are shared in CI). */
export async function until(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(10)
  }
}
