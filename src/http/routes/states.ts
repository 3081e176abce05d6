// The overview of every site, a site's timeline of states, and one state with its diff against the live
// site or another state.
import { Router } from 'express'
import { shortId, wordsLine, type StateDiff } from '../../core/index.ts'
import { PeakguardError } from '../../errors.ts'
import { diffStatesOf, listStates, LIVE, resolveState, showState } from '../../services/index.ts'
import { restoreBlocker } from '../../services/operate.ts'
import { stateWords } from '../../services/words.ts'
import { demand } from '../auth.ts'
import type { AppDeps } from '../deps.ts'
import { diffItems } from '../diff-view.ts'
import type { Views } from '../render.ts'
import { overview, PAGE_SIZE, timeline } from '../site-actions.ts'
import { siteIn, str, takeFlash } from './page-context.ts'

export function stateRoutes(deps: AppDeps, views: Views): Router {
  const r = Router()

  r.get('/', async (req, res) => {
    demand(req, res, 'view')
    const st = await deps.status()
    const sites = await Promise.all(deps.sites.map((s) => overview(s, st.sites.find((x) => x.site === s.id) ?? null)))
    views.render(res, 'overview', { title: 'Overview', list: sites, flash: takeFlash(req) })
  })

  r.get('/sites/:site/states', async (req, res) => {
    demand(req, res, 'view')
    const s = siteIn(deps, req)
    const f = { actor: str(req.query.actor), kind: str(req.query.kind), since: str(req.query.since), until: str(req.query.until), page: Number(req.query.page) || 1 }
    let t: Awaited<ReturnType<typeof timeline>>
    let error: string | null = null
    try {
      t = await timeline(s, f)
    } catch (e) {
      if (!(e instanceof PeakguardError) || e.code !== 'USAGE') throw e
      error = e.message
      t = await timeline(s, { page: 1 })
    }
    views.render(res, 'timeline', { title: `Timeline · ${s.id}`, site: s.id, zone: s.zone, f, t, error, pageSize: PAGE_SIZE, line: wordsLine })
  })

  r.get('/sites/:site/states/:id', async (req, res) => {
    demand(req, res, 'view')
    const s = siteIn(deps, req)
    const id = await resolveState(s.site, String(req.params.id))
    const d = await showState(s.site, id)
    const against = str(req.query.against) || LIVE
    // the state against the live site (what a restore of it would change) or against another state
    const r = await diffStatesOf(s.site, against, id)
    const { items, more, schema } = await diffItems(r.diff, r.from, r.to)
    const states = (await listStates(s.site)).slice(0, 200)
    const words = await stateWords(s.site, d)
    views.render(res, 'state', { title: `State ${shortId(id)} · ${s.id}`, site: s.id, zone: s.zone, d, words, raw: rawItems(d.changes), against, againstLabel: r.from.label, items, more, schema, states, blocker: await restoreBlocker(s.operate, id, d.time) })
  })

  return r
}

/** How many raw items of a state's own change the page lists (a plugin update can hold thousands). */
const RAW_MAX = 500

/** The state's own change as raw items (what the words explain): `+ plugins/x/x.php`, `~ option:blogname`. */
function rawItems(d: StateDiff): { items: string[]; more: number } {
  const sign = { added: '+', removed: '−', modified: '~' } as const
  const all = [
    ...d.files.map((f) => `${sign[f.change]} ${f.path}${f.change === 'modified' && !f.content ? ' (mode/owner)' : ''}`),
    ...d.links.map((l) => `${sign[l.change]} ${l.path} (link)`),
    ...d.dirs.map((x) => `${sign[x.change]} ${x.path}/ (folder)`),
    ...d.options.map((o) => `${sign[o.change]} option:${o.name}${o.change === 'modified' && !o.value ? ' (autoload)' : ''}`),
  ]
  return { items: all.slice(0, RAW_MAX), more: Math.max(0, all.length - RAW_MAX) }
}
