// Change notifications for a site's files (FileWatchPort) with chokidar 6: one inotify watch per
// directory under themes, plugins and mu-plugins (symlinked theme/plugin directories followed, their
// changes reported under the link's path) plus the drop-in files, present or not yet created.
// Running out of inotify watches (ENOSPC) does not stop chokidar: it keeps going and silently misses
// changes in the directories it could not watch. So the first ENOSPC closes the watcher and reports
// failure; the daemon then scans periodically instead.
import path from 'node:path'
import { watch, type FSWatcher } from 'chokidar'
import { DROP_INS, ignoreRules, SCOPE_DIRS, type FileWatchPort, type WatchFailure } from '../core/index.ts'

const FATAL = new Set(['ENOSPC', 'EMFILE', 'ENFILE'])

export class FsWatcher implements FileWatchPort {
  private watcher: FSWatcher | null = null
  private readonly wpContent: string
  private readonly ignoredFile: (rel: string) => boolean

  constructor(wpContent: string, ignoredFiles: readonly string[]) {
    this.wpContent = path.resolve(wpContent)
    const rules = ignoreRules([], ignoredFiles)
    this.ignoredFile = (rel) => rules.file(rel)
  }

  async start(on: { changed(path: string): void; failed(f: WatchFailure): void; warned(f: WatchFailure): void }): Promise<void> {
    const root = this.wpContent
    const w = watch([...SCOPE_DIRS.map((d) => path.join(root, d)), ...DROP_INS.map((f) => path.join(root, f))], {
      ignoreInitial: true,
      followSymlinks: true,
      // atomic holds every unlink back 100 ms to merge it with a following add: the daemon needs neither
      atomic: false,
      // no awaitWriteFinish: the daemon waits for quiet itself, without adding 2 s to every event
      ignored: (p: string) => {
        const rel = path.relative(root, p)
        return rel !== '' && !rel.startsWith('..') && this.ignoredFile(rel)
      },
    })
    this.watcher = w
    let failed = false
    let ready: () => void = () => undefined
    const isReady = new Promise<void>((resolve) => {
      ready = resolve
      w.once('ready', () => resolve())
    })
    w.on('all', (_event, p) => {
      const rel = path.relative(root, p)
      if (!rel.startsWith('..')) on.changed(rel)
    })
    w.on('error', (e: unknown) => {
      const err = e as NodeJS.ErrnoException
      const code = err.code ?? 'UNKNOWN'
      if (FATAL.has(code)) {
        if (failed) return
        failed = true
        void this.close()
        ready() // a closed watcher never becomes ready
        on.failed({
          code,
          message:
            code === 'ENOSPC'
              ? `the inotify watch limit is reached (at ${err.path ?? 'a directory'}): raise it with 'sysctl fs.inotify.max_user_watches=524288' (and put it in /etc/sysctl.d/60-peakguard.conf); scanning periodically until then`
              : `cannot watch more files (${code}): raise the open-file limit (LimitNOFILE=) or fs.inotify.max_user_instances; scanning periodically until then`,
        })
      } else on.warned({ code, message: `${err.path ?? ''}: ${err.message}` })
    })
    await isReady
  }

  async close(): Promise<void> {
    const w = this.watcher
    this.watcher = null
    await w?.close()
  }
}
