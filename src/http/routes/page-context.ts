// What every page route reads from its request: the site named in the path, a query value that is a
// string (a repeated `?x=a&x=b` is an array and counts as absent), and the one-shot flash message a
// POST leaves in the session for the page it redirects to.
import type { Request } from 'express'
import { siteOf } from '../api.ts'
import type { AppDeps, UiSite } from '../deps.ts'

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export const siteIn = (deps: AppDeps, req: Request): UiSite => siteOf(deps, req.params.site)

export const flash = (req: Request, text: string): void => void (req.session.flash = text)

export const takeFlash = (req: Request): string | null => {
  const f = req.session?.flash
  if (f) req.session.flash = undefined
  return f ?? null
}
