// Structured logs (LogPort) with pino: one JSON line per event on stdout, which systemd's journal keeps.
// Option values never reach a log line: callers log names and counts only, and anything under a key
// called value/password/secret/token is censored on the way out as a second line of defence.
import { pino } from 'pino'
import type { LogPort } from '../core/index.ts'

export function createLog(level: string, destination: NodeJS.WritableStream = process.stdout): LogPort & { flush(): void } {
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['value', 'password', 'secret', 'token', '*.value', '*.password', '*.secret', '*.token'], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination as never,
  )
  return {
    debug: (f, m) => logger.debug(f, m),
    info: (f, m) => logger.info(f, m),
    warn: (f, m) => logger.warn(f, m),
    error: (f, m) => logger.error(f, m),
    flush: () => logger.flush(),
  }
}
