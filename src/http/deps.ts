// What the web UI needs from the composition root (src/compose/): each site with its journal, governance
// documents, audit log and the daemon's queue, and the users file. Types only.
import type { AuditInput, DocStorePort, NotifyPort } from '../core/index.ts'
import type { Access } from '../services/access.ts'
import type { AuditLog } from '../services/audit.ts'
import type { FreezeSettings } from '../services/freeze-calendar.ts'
import type { FreezeDeps } from '../services/freeze.ts'
import type { OperateDeps } from '../services/operate.ts'
import type { PreUpdateWhat } from '../services/pre-update.ts'
import type { DaemonStatus, Site } from '../services/index.ts'

/** One site as the UI drives it. */
export interface UiSite {
  id: string
  /** the site's zone (freeze.zone): times are shown in it, with UTC on hover */
  zone: string
  freeze: FreezeSettings
  site: Site
  docs: DocStorePort
  audit: AuditLog
  notify: NotifyPort
  /** what a person's restore takes (services/operate.ts), ready-made by the composition root */
  operate: OperateDeps
  /** what a manual freeze and an allow-window take (services/freeze.ts), ready-made too */
  freezing: FreezeDeps
  /** hands the current freeze state to the WordPress bridge (after a freeze change); false without a bridge */
  syncBridge(): Promise<boolean>
  /** runs a write (restore, decision) in the daemon's one-at-a-time queue of this site, never beside a snapshot */
  /** runs `fn` in the daemon's per-site queue; `release` lets the queue go on before `fn` is done */
  exclusive<T>(fn: (release: () => void) => Promise<T>): Promise<T>
  /** the WordPress bridge's requests to the daemon (POST /bridge/pre-update); absent: refused as an unknown site */
  bridge?: {
    /** the shared secret in the site's bridge folder, or null when there is none */
    secret(): Promise<string | null>
    /** a snapshot of the live state before the upgrader writes (services/pre-update.ts) */
    /** `received`: when the request came (the bridge waits bridge.preUpdateWait from about then); `gone`: the bridge hung up */
    preUpdate(what: PreUpdateWhat, req: { received: number; gone: () => boolean }): Promise<{ snapshot: string; created: boolean; message: string }>
  }
}

export interface AppDeps {
  status(): Promise<DaemonStatus>
  metrics(): Promise<{ contentType: string; body: string }>
  sites: UiSite[]
  /** the users file (logins, API tokens, roles) */
  access: Access
  /** an entry in every site's audit log (logins that failed, user and token changes concern them all) */
  auditAll(input: Omit<AuditInput, 'site'>): Promise<void>
  /** Express's 'trust proxy' (ui.trustProxy): set when a TLS proxy in front sets X-Forwarded-Proto */
  trustProxy?: string | boolean
  /** the host the UI listens on (ui.listen's host) and the other names it answers to (ui.hosts) */
  hosts?: { listen: string; names: readonly string[] }
  /** where the templates and static files are (web/) */
  webDir: string
  /** the daemon's log: errors the UI cannot explain to the person at the page (never a request body) */
  log?: { error(fields: Record<string, unknown>, msg: string): void; warn(fields: Record<string, unknown>, msg: string): void }
}

