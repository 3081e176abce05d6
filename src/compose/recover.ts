// `peakguard recover --from-s3`, composed: the site's replica opened into a data directory of its own, the
// journal rebuilt by the service (services/replica-recovery.ts), the audit log put back beside it.
import fs from 'node:fs'
import path from 'node:path'
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
  const journalDir = new SiteDir(dataDir).journalDir
  if (fs.existsSync(journalDir) && fs.readdirSync(journalDir).length > 0)
    throw new PeakguardError('USAGE', `${journalDir} is not empty: recover rebuilds only into an empty data directory, never over a journal (choose another --data-dir)`)
  const r = requireReplica(await openReplica(s, dataDir), s, cfg.file)
  try {
    const report = await recoverFromRemote(r, o.manifest)
    // the audit log came with the journal: put its segments back where the site keeps them
    await r.extras?.restore()
    return { ...report, site: s.id, dataDir, journal: journalDir, configDataDir: s.dataDir, config: cfg.file }
  } catch (e) {
    // a failed rebuild leaves nothing half-made behind: the directory was empty before
    fs.rmSync(journalDir, { recursive: true, force: true })
    fs.rmSync(path.join(dataDir, 'replica.json'), { force: true })
    throw e
  } finally {
    await r.close()
  }
}
