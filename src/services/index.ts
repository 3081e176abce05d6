// services: what peakguard does — record a snapshot, restore a state, browse the journal — built only on
// the ports in core. Must never import express, mysql2, the AWS SDK, chokidar, node:fs, or any adapter:
// the composition root (src/compose/) hands each service its adapters.
export * from './site.ts'
// every write goes through the writer (the lock, crash recovery, the order of steps): the recorder's and the
// restorer's steps are not exported on their own
export * from './writer.ts'
export type { SnapshotOptions, SnapshotResult } from './recorder.ts'
export { runHooks, type RestoreOptions, type RestoreReport } from './restorer.ts'
export * from './catalog.ts'
export * from './site-daemon.ts'
export * from './prober.ts'
export * from './daemon.ts'
export * from './replicator.ts'
export * from './replica-recovery.ts'
export * from './replica-sync.ts'
export * from './fleet.ts'
export * from './node-view.ts'
export * from './shared-journal.ts'
export * from './attribution.ts'
export * from './requests.ts'
export * from './gate.ts'
export * from './site-governance.ts'
