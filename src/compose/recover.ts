// `peakguard recover --from-s3`, composed: the site's replica opened into a data directory of its own, the
// journal rebuilt by the service (services/replica-recovery.ts), the audit log put back beside it.
import fs from 'node:fs'
import path from 'node:path'
import { writeFileDurably } from '../adapters/durable-file.ts'
import { SiteDir } from '../adapters/site-dir.ts'
import type { RecoverOptions, RecoverResult } from '../cli/runtime.ts'
import type { LoadedConfig } from '../config.ts'
import { PeakguardError } from '../errors.ts'
import { recoverFromRemote } from '../services/index.ts'
import { openReplica, pickSite, requireReplica } from './sites.ts'

/** `peakguard recover --from-s3`: rebuilds a site's journal on a new host into an empty data directory. */
export async function recover(cfg: LoadedConfig, o: RecoverOptions): Promise<RecoverResult> {
  const s = pickSite(cfg, o.site)
  const dataDir = o.dataDir ? path.join(path.resolve(o.dataDir), s.id) : s.dataDir
  const dir = new SiteDir(dataDir)
  const journalDir = dir.journalDir
  // a rebuild killed part-way leaves this mark: its half-made journal (and audit log) are its own, and are
  // thrown away and rebuilt; any other journal here is someone's history, never overwritten
  const mark = path.join(dataDir, 'recovering.json')
  const earlier = readMark(mark)
  if (earlier) {
    fs.rmSync(journalDir, { recursive: true, force: true })
    fs.rmSync(path.join(dataDir, 'replica.json'), { force: true })
    if (!earlier.auditExisted) fs.rmSync(dir.auditDir, { recursive: true, force: true })
  } else if (fs.existsSync(journalDir) && fs.readdirSync(journalDir).length > 0)
    throw new PeakguardError('USAGE', `${journalDir} is not empty: recover rebuilds only into an empty data directory, never over a journal (choose another --data-dir)`)
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  writeFileDurably(mark, JSON.stringify({ auditExisted: earlier ? earlier.auditExisted : fs.existsSync(dir.auditDir) }), { mode: 0o600 })
  const r = requireReplica(await openReplica(s, dataDir), s, cfg.file)
  try {
    const report = await recoverFromRemote(r, o.manifest)
    // the audit log came with the journal: put its segments back where the site keeps them
    await r.extras?.restore()
    fs.rmSync(mark, { force: true })
    return { ...report, site: s.id, dataDir, journal: journalDir, configDataDir: s.dataDir, config: cfg.file }
  } catch (e) {
    // a failed rebuild leaves nothing half-made behind: the directory was empty before
    fs.rmSync(journalDir, { recursive: true, force: true })
    fs.rmSync(path.join(dataDir, 'replica.json'), { force: true })
    fs.rmSync(mark, { force: true })
    throw e
  } finally {
    await r.close()
  }
}

function readMark(file: string): { auditExisted: boolean } | null {
  try {
    const m = JSON.parse(fs.readFileSync(file, 'utf8')) as { auditExisted?: unknown }
    return { auditExisted: m.auditExisted === true }
  } catch {
    return null
  }
}
