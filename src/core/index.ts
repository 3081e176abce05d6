// core: the rules of peakguard as plain TypeScript — the state model, diffs and restore plans, scope and
// ignore rules, state ids, and the ports (interfaces) the services are built on.
// Must never import node:* modules, npm packages, or anything outside src/core and src/errors.ts:
// no I/O happens here, so everything in it is testable with plain values.
export * from './state.ts'
export * from './scope.ts'
export * from './diff.ts'
export * from './ports.ts'
export * from './health.ts'
export * from './replica.ts'
export * from './governance.ts'
export * from './requests.ts'
export * from './freeze.ts'
export * from './text.ts'
export * from './secrets.ts'
export * from './checkpoints.ts'
export * from './words.ts'
export * from './records.ts'
export * from './schema.ts'
export * from './fleet.ts'
