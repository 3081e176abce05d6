// A config change in the audit log: the daemon reads its config once, at start, so a start with a changed
// file is when a change takes effect — and then, once, each site's audit log says so (a digest only).
import type { DocStorePort } from '../core/index.ts'
import { shortId } from '../core/index.ts'
import type { AuditLog } from './audit.ts'

/** Appends a config-reload entry when `config.sha256` differs from the one the daemon last started with. */
export async function auditConfigChange(d: { site: string; docs: DocStorePort; audit: AuditLog }, config: { file: string; sha256: string }): Promise<boolean> {
  const last = await d.docs.readDoc<{ sha256: string; file: string }>('config')
  if (last?.sha256 === config.sha256) return false
  // a start killed between the entry and the document appended it already: the document only is written
  const logged = (await d.audit.query({ type: 'config-reload' })).at(-1)
  if ((logged?.details as { sha256?: unknown } | undefined)?.sha256 === config.sha256) {
    await d.docs.writeDoc('config', { sha256: config.sha256, file: config.file })
    return false
  }
  await d.audit.append({
    type: 'config-reload',
    actor: 'peakguard',
    site: d.site,
    summary: last
      ? `the daemon started with a changed config ${config.file} (sha256 ${shortId(config.sha256)}, was ${shortId(last.sha256)})`
      : `the daemon started with config ${config.file} (sha256 ${shortId(config.sha256)})`,
    details: { file: config.file, sha256: config.sha256, previous: last?.sha256 ?? null },
  })
  await d.docs.writeDoc('config', { sha256: config.sha256, file: config.file })
  return true
}
