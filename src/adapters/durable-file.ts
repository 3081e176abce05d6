// Crash-safe writes of small files, shared by the adapters that keep files on this host (site data,
// users, the WordPress bridge, the audit log, the journal). A primitive of the local file system rather
// than an outside system of its own, so adapters may import it (eslint.config.js says so). Errors are
// thrown as they come: each caller names its file and classifies them for the operator.
import fs from 'node:fs'
import path from 'node:path'

/**
 * Written to a temporary file in the same directory, flushed, renamed into place, and the directory
 * flushed: after a crash or a power cut the file is either the old one or the new one, never torn.
 * The mode is set on the open file, so neither the umask nor a leftover temporary file widens it.
 */
export function writeFileDurably(file: string, data: string | Uint8Array, o: { mode: number; owner?: { uid: number; gid: number }; tmp?: string }): void {
  const tmp = o.tmp ?? `${file}.tmp`
  try {
    const fd = fs.openSync(tmp, 'w', o.mode)
    try {
      fs.fchmodSync(fd, o.mode)
      if (o.owner) fs.fchownSync(fd, o.owner.uid, o.owner.gid)
      fs.writeFileSync(fd, data)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(tmp, file)
    syncDir(path.dirname(file))
  } catch (e) {
    fs.rmSync(tmp, { force: true })
    throw e
  }
}

/** Flushes a directory: a file created or renamed in it survives a power cut only then. */
export function syncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r')
  try {
    fs.fsyncSync(fd)
  } finally {
    fs.closeSync(fd)
  }
}
