// Roles: which role may do what. The table is the access rule every front end shares; a role allows
// everything a lower role allows.
import assert from 'node:assert/strict'
import { AUDIT_TYPES, leastRoleFor, NOTIFY_EVENTS, roleAllows, ROLES, type Action } from '../../src/core/index.ts'

const ACTIONS: Action[] = ['view', 'snapshot', 'restore', 'mark', 'request', 'approve', 'freeze', 'users', 'break-glass']

describe('roles', () => {
  it('gives each role exactly these actions', () => {
    const allowed = Object.fromEntries(ROLES.map((r) => [r, ACTIONS.filter((a) => roleAllows(r, a))]))
    assert.deepEqual(allowed, {
      viewer: ['view'],
      operator: ['view', 'snapshot', 'restore', 'mark', 'request'],
      approver: ['view', 'snapshot', 'restore', 'mark', 'request', 'approve', 'freeze'],
      admin: ACTIONS,
    })
  })

  it('names the least role for an action, and that role and every higher one allow it, no lower one', () => {
    for (const a of ACTIONS) {
      const least = leastRoleFor(a)
      for (const r of ROLES) assert.equal(roleAllows(r, a), ROLES.indexOf(r) >= ROLES.indexOf(least), `${r} ${a}`)
    }
  })

  it('keeps approving and breaking glass away from operators: the two-person rule needs them apart', () => {
    assert.equal(roleAllows('operator', 'approve'), false)
    assert.equal(roleAllows('approver', 'break-glass'), false)
    assert.equal(roleAllows('approver', 'users'), false)
  })
})

describe('event names', () => {
  it('has no duplicate audit types or notification events (a webhook filter names them)', () => {
    assert.equal(new Set(AUDIT_TYPES).size, AUDIT_TYPES.length)
    assert.equal(new Set(NOTIFY_EVENTS).size, NOTIFY_EVENTS.length)
    assert.ok(NOTIFY_EVENTS.includes('freeze-violation') && AUDIT_TYPES.includes('break-glass'))
  })
})
