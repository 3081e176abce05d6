// What each request body may hold, as strict schemas (zod, as the config has): an unknown field, a wrong
// type ({"dryRun": "true"} is not a dry run: it is refused), a list where one value belongs, or an oversized
// value is a 400 naming the field — before anything is done. Free text is checked further by the services
// (core cleanText: one printable line). API bodies are JSON; the pages post HTML forms, whose values are
// strings (a repeated field is a list) and which carry their CSRF token as `_csrf`.
import { z } from 'zod'
import { PeakguardError } from '../errors.ts'

const text = (max: number) => z.string().max(max)
const id = z.string().min(1).max(200)
const onlyItem = z.string().min(1).max(1000)
const breakGlass = z.strictObject({ reason: text(1000) })
/** a session's CSRF token: a form's hidden field, or (besides the X-CSRF-Token header) a JSON body's field */
const csrf = { _csrf: z.string().max(1000).optional() }

/** POST /api/sites/:site/restores */
export const restoreBody = z.strictObject({
  ...csrf,
  target: id,
  dryRun: z.boolean().default(false),
  only: z.array(onlyItem).max(500).optional(),
  breakGlass: breakGlass.nullable().optional(),
  /** the restore crosses a database migration and the person acknowledges it (RestoreOptions.acrossSchemaChange) */
  acrossSchemaChange: z.boolean().default(false),
  /** admin: write the target's migration markers too */
  restoreMarkers: z.boolean().default(false),
})

/** POST /api/sites/:site/requests/:id/approve|reject */
export const decideBody = z.strictObject({ ...csrf, note: text(1000).optional(), breakGlass: breakGlass.nullable().optional() })

/** POST /api/sites/:site/freeze */
export const freezeBody = z.strictObject({ ...csrf, until: text(100).optional(), for: text(50).optional(), reason: text(1000) })

/** POST /api/sites/:site/freeze/stop */
export const stopBody = z.strictObject({ ...csrf, reason: text(1000) })

/** POST /api/sites/:site/allows */
export const allowBody = z.strictObject({ ...csrf, scope: text(300), for: text(50), reason: text(1000) })

/**
 * POST /bridge/pre-update, from the WordPress bridge (machine to machine: no session, no CSRF token): the site and
 * what the upgrader is about to write. Names and versions as WordPress has them: one line, no control characters.
 */
const wpText = (max: number) => z.string().min(1).max(max).regex(/^[^\x00-\x1f\x7f]*$/, 'no control characters')
export const preUpdateBody = z.strictObject({
  site: z.string().min(1).max(100),
  what: z.strictObject({
    type: z.enum(['plugin', 'theme', 'core', 'translation', 'other']),
    action: z.enum(['update', 'install']),
    plugin: wpText(300).optional(),
    theme: wpText(200).optional(),
    package: wpText(200).optional(),
    from: wpText(64).optional(),
    to: wpText(64).optional(),
    language: wpText(32).optional(),
    slug: wpText(200).optional(),
  }),
})

const checkbox = z.literal('on').optional()

export const loginForm = z.strictObject({ ...csrf, name: text(200).default(''), password: text(1024).default(''), next: text(2000).optional() })
export const logoutForm = z.strictObject(csrf)
export const restoreForm = z.strictObject({
  ...csrf,
  target: id,
  only: z.union([onlyItem, z.array(onlyItem).max(500)]).optional(),
  breakGlass: checkbox,
  reason: text(1000).optional(),
  acrossSchemaChange: checkbox,
  restoreMarkers: checkbox,
})
export const decideForm = z.strictObject({ ...csrf, note: text(1000).optional(), breakGlass: checkbox, reason: text(1000).optional() })
export const freezeForm = z.strictObject({ ...csrf, for: text(50).optional(), until: text(100).optional(), reason: text(1000) })
export const stopForm = z.strictObject({ ...csrf, reason: text(1000) })
export const allowForm = z.strictObject({ ...csrf, scope: text(300), for: text(50), reason: text(1000) })
export const userForm = z.strictObject({ ...csrf, name: text(200), role: text(50), password: text(1024), wpUsers: text(2000).optional(), osUsers: text(2000).optional() })
export const tokenForm = z.strictObject({ ...csrf, user: text(200), note: text(200).optional() })
export const emptyForm = z.strictObject(csrf)

/** The body as `schema` reads it, or USAGE (400) naming each field that is wrong and how. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const r = schema.safeParse(body ?? {})
  if (r.success) return r.data
  const problems = r.error.issues.map((i) => {
    const field = i.path.length ? i.path.map(String).join('.') : 'the body'
    if (i.code === 'unrecognized_keys') return `${i.keys.map((k) => JSON.stringify(k)).join(', ')}: no such field`
    if (i.code === 'invalid_type') return `${field}: expected ${i.expected}`
    if (i.code === 'too_big') return `${field}: too long (at most ${String(i.maximum)})`
    if (i.code === 'too_small') return `${field}: missing or empty`
    return `${field}: ${i.message}`
  })
  throw new PeakguardError('USAGE', `the request is not valid: ${problems.join('; ')}`)
}
