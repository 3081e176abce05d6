// The pages: server-rendered HTML forms that work without JavaScript (web/static/app.js only adds progress
// and confirmation niceties). Every POST carries the session's CSRF token (the login form a stateless one:
// LoginCsrf); every route checks the role, whatever the page showed.
// Each resource has its router in routes/; this file only mounts them, in the order the paths were
// always matched (after app.ts's session, auth and CSRF middleware).
import { Router } from 'express'
import type { DenialRecorder } from '../services/audit.ts'
import type { LoginCsrf } from './auth.ts'
import type { AppDeps } from './deps.ts'
import type { Views } from './render.ts'
import { auditRoutes } from './routes/audit.ts'
import { freezeRoutes } from './routes/freeze.ts'
import { loginRoutes } from './routes/login.ts'
import { requestRoutes } from './routes/requests.ts'
import { restoreRoutes } from './routes/restores.ts'
import { stateRoutes } from './routes/states.ts'
import { userRoutes } from './routes/users.ts'

export function pageRouter(deps: AppDeps, views: Views, login: { csrf: LoginCsrf; denials: DenialRecorder }): Router {
  const r = Router()
  r.use(loginRoutes(deps, views, login))
  r.use(stateRoutes(deps, views))
  r.use(restoreRoutes(deps, views))
  r.use(requestRoutes(deps, views))
  r.use(freezeRoutes(deps, views))
  r.use(auditRoutes(deps, views))
  r.use(userRoutes(deps, views))
  return r
}
