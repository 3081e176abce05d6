// The terminal a command runs in: stdin's first line (a password, read without echo on a terminal), a
// yes/no question on stderr, and lines on stdout and stderr.
import readline from 'node:readline/promises'
import { PeakguardError } from '../errors.ts'

let stdinLine: Promise<string> | null = null

/** stdin's first line; on a terminal it is read without echo. */
export function readStdinLine(): Promise<string> {
  stdinLine ??= new Promise<string>((resolve, reject) => {
    const input = process.stdin
    const tty = input.isTTY
    let buf = ''
    const finish = (line: string) => {
      input.off('data', onData)
      input.off('end', onEnd)
      input.off('error', reject)
      if (tty) {
        input.setRawMode(false)
        process.stderr.write('\n')
      }
      input.pause()
      resolve(line.replace(/\r$/, ''))
    }
    const onData = (d: Buffer) => {
      const text = d.toString('utf8')
      if (tty && text.includes('\u0003')) {
        input.setRawMode(false)
        reject(new PeakguardError('USAGE', 'cancelled'))
        return
      }
      buf += tty ? text.replace(/\r/g, '\n') : text
      const i = buf.indexOf('\n')
      if (i >= 0) finish(buf.slice(0, i))
    }
    const onEnd = () => finish(buf)
    if (tty) {
      process.stderr.write('password: ')
      input.setRawMode(true)
    }
    input.on('data', onData)
    input.on('end', onEnd)
    input.on('error', reject)
    input.resume()
  })
  return stdinLine
}

/** true when a person can answer a question (stdin and stderr are terminals) */
export function isInteractive(): boolean {
  return !!process.stdin.isTTY && !!process.stderr.isTTY
}

export async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim())
  } finally {
    rl.close()
  }
}

export function out(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
}

export function err(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`)
}
