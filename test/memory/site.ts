// A Site (src/services/site.ts) built from the memory adapters, with a small WordPress-like wp-content and
// options table, a hand-driven clock for the journal's commit times, and everything the governance
// services are handed (documents, audit, notifications) kept where a test can look.
import { DEFAULT_IGNORED_FILES, DEFAULT_IGNORED_OPTIONS, ignoreRules, type AuditInput, type HookResult, type SiteState } from '../../src/core/index.ts'
import type { Site } from '../../src/services/index.ts'
import { MemoryFiles } from './files.ts'
import { MemoryJournal } from './journal.ts'
import { MemoryNotifier } from './notify.ts'
import { MemorySettings } from './settings.ts'
import { MemorySiteDir } from './site-dir.ts'

/** A clock a test moves by hand: starts at a fixed instant, so no test depends on when it runs. */
export interface Clock {
  now: number
  advance(ms: number): number
}

export function clockAt(iso = '2026-11-27T01:00:00Z'): Clock {
  const c = {
    now: Date.parse(iso),
    advance(ms: number) {
      c.now += ms
      return c.now
    },
  }
  return c
}

export interface MemorySite {
  site: Site
  files: MemoryFiles
  settings: MemorySettings
  journal: MemoryJournal
  dir: MemorySiteDir
  notify: MemoryNotifier
  audit: AuditInput[]
  /** the environment of each post-restore run */
  hookRuns: Record<string, string>[]
  clock: Clock
  /** what the governance services take: documents, audit and notifications */
  governance: { docs: MemorySiteDir; audit: { append(input: AuditInput): Promise<void> }; notify: MemoryNotifier }
}

export function memorySite(o: { id?: string; clock?: Clock; bare?: boolean } = {}): MemorySite {
  const id = o.id ?? 'shop'
  const clock = o.clock ?? clockAt()
  const files = new MemoryFiles({ ignoreFiles: DEFAULT_IGNORED_FILES, followLinksInto: ['/memory/usr-share-wordpress'] })
  const settings = new MemorySettings({ ignoredOptions: DEFAULT_IGNORED_OPTIONS })
  const journal = new MemoryJournal((loc) => files.contentAt(loc), () => clock.now)
  const dir = new MemorySiteDir()
  const notify = new MemoryNotifier(id)
  const audit: AuditInput[] = []
  const hookRuns: Record<string, string>[] = []
  if (!o.bare) {
    files.put('plugins/akismet/akismet.php', '<?php // Akismet 5.0\n', { uid: 33, gid: 33 })
    files.put('plugins/akismet/readme.txt', '=== Akismet ===\n', { uid: 33, gid: 33 })
    files.put('plugins/hello.php', '<?php // Hello Dolly\n')
    files.put('themes/storefront/style.css', '/* Theme Name: Storefront */\n')
    files.put('themes/storefront/functions.php', '<?php\n', { mode: 0o640 })
    files.put('uploads/2026/11/photo.jpg', 'not state')
    settings.set('siteurl', 'https://shop.example')
    settings.set('blogname', 'Shop')
    settings.set('active_plugins', 'a:1:{i:0;s:19:"akismet/akismet.php";}')
    settings.set('template', 'storefront')
    settings.set('_transient_feed', 'noise', 'no')
  }
  const site: Site = {
    id,
    journal,
    files,
    settings,
    dir,
    ignore: ignoreRules(DEFAULT_IGNORED_OPTIONS, DEFAULT_IGNORED_FILES),
    lockWaitMs: 200,
    hooks: {
      postRestore: async (env): Promise<HookResult[]> => {
        hookRuns.push(env)
        return []
      },
    },
    health: dir,
    bridge: null,
    siteOwning: async () => null,
  }
  return {
    site,
    files,
    settings,
    journal,
    dir,
    notify,
    audit,
    hookRuns,
    clock,
    governance: { docs: dir, audit: { append: async (e) => void audit.push(e) }, notify },
  }
}

/** The live site as a plain, comparable value: the files, links, directories and option rows in scope. */
export async function liveOf(m: MemorySite): Promise<{ files: [string, string, number, number][]; links: string[]; options: [string, string, string | null, boolean][] }> {
  const scan = await m.files.scan()
  const rows = (await m.settings.read()).filter((r) => !m.site.ignore.option(r.name))
  return {
    files: scan.files.map((f) => [f.path, f.blob, f.mode, f.uid] as [string, string, number, number]).sort(),
    links: scan.links.map((l) => `${l.path} -> ${l.target}`).sort(),
    options: rows.map((r) => [r.name, r.blob, r.autoload, !!r.nullValue] as [string, string, string | null, boolean]).sort(),
  }
}

/** A journal state in the same shape as liveOf. */
export function plainState(s: SiteState): Awaited<ReturnType<typeof liveOf>> {
  return {
    files: [...s.files.values()].map((f) => [f.path, f.blob, f.mode, f.uid] as [string, string, number, number]).sort(),
    links: [...s.links.values()].map((l) => `${l.path} -> ${l.target}`).sort(),
    options: [...s.options.values()].map((r) => [r.name, r.blob, r.autoload, !!r.nullValue] as [string, string, string | null, boolean]).sort(),
  }
}
