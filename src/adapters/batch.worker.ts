// Runs a batch of an adapter's own work (hashing files, writing pack objects) in a short-lived child
// process running that adapter's *.worker.ts file. Not an adapter: the one helper the adapters that work
// in batches share (the import walls allow *.worker.ts files for that reason).
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/**
 * Runs a batch in a child process of `file` (which answers when PEAKGUARD_BATCH is `kind`): the parallelism of worker threads, but every byte the
 * batch allocated is returned to the system when the child exits — a daemon that recorded a 30k-file
 * tree with worker threads kept ~800 MB resident for good (glibc keeps freed memory in its arenas).
 */
export function inChild<T>(file: URL, kind: string, input: unknown): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = fork(fileURLToPath(file), [], {
      env: { ...process.env, PEAKGUARD_BATCH: kind },
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [],
    })
    let answer: Answer<T> | null = null
    child.once('message', (m) => (answer = m as Answer<T>))
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      if (!answer) reject(new Error(`${kind} batch process exited with ${signal ?? code}`))
      else if ('error' in answer) reject(Object.assign(new Error(answer.error.message), { code: answer.error.code, path: answer.error.path }))
      else resolve(answer.value)
    })
    child.send(input as never)
  })
}

type Answer<T> = { value: T } | { error: { message: string; code?: string; path?: string } }

/** The child's side: when this process was started for `kind`, answers the one batch it is sent, then exits. */
export function serveBatch<I, O>(kind: string, work: (input: I) => O): void {
  if (process.env.PEAKGUARD_BATCH !== kind || !process.send) return
  process.once('message', (input: I) => {
    let answer: Answer<O>
    try {
      answer = { value: work(input) }
    } catch (e) {
      const err = e as NodeJS.ErrnoException
      answer = { error: { message: err.message, code: err.code, path: err.path } }
    }
    process.send!(answer, () => process.exit(0))
  })
}
