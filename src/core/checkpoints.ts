// Every durable step peakguard takes, by name. A step is a point after which a crash leaves something on
// disk that the next command must finish or undo: a file renamed into place, a ref moved, an object
// uploaded. Code marks the step with `checkpoint(name)`; the composition root installs what happens there
// (nothing in production; with PEAKGUARD_FAULT=name[#n] the process is killed there, and with
// PEAKGUARD_CHECKPOINT_LOG=file every name passed is appended to that file). test/crash.test.ts reads this
// table and kills a process at each entry in turn: a new durable step is tested once it is named here.

/** name → what is durable when the process dies right after it */
export const CHECKPOINTS = {
  'snapshot:file': 'a file of the live site streamed into the journal, the commit not yet written',
  'restore:after-safety-snapshot': 'the safety snapshot is recorded; nothing restored yet, no intent written',
  'restore:after-intent': 'the restore intent is on disk; nothing restored yet',
  'restore:file': 'one file of the target written back into the live site',
  'restore:after-files': 'every file restored; settings not yet',
  'restore:after-settings': 'files and settings restored; not yet verified nor recorded',
  'restore:intent-cleared': 'the restore is recorded and its intent removed; the recovery note (if any) not yet written',
  'doc:last-recovery': 'the note of what the last recovery did is on disk (status shows it)',
  'journal:objects': "a commit's file contents are in the journal as a pack; no commit names them yet",
  'journal:commit': 'git fast-import wrote the commit and moved the branch: the snapshot exists',
  'journal:head-cache': "the newest snapshot's state is cached beside the journal (a cache only)",
  'journal:mark': 'the known-good tag is written',
  'journal:unmark': 'the known-good tag is deleted',
  'journal:folder': "the audit log's copy in the journal moved (the ref the replicator carries off the host)",
  'journal:bundle': 'the bundle of a push is on disk, fsynced; replica.json does not name it yet',
  'journal:bundle-imported': "one bundle of the replica's chain is unpacked into the journal; its refs not set yet",
  'journal:refs-set': "the rebuilt journal's refs are set from the manifest",
  'audit:append': 'one audit entry is appended and fsynced',
  'users:write': 'the users file is replaced',
  'doc:freeze': 'the freeze document (manual freeze, allow-windows, baselines) is replaced',
  'doc:request': 'a change request document is written (opened, reverted, asked for, decided)',
  'doc:gate': 'the state the gate accepted last is written',
  'doc:config': "the digest of the config the daemon started with is written (after its audit entry)",
  'bridge:secret': "the bridge's shared secret is written; no state file nor mu-plugin yet",
  'bridge:state': "the bridge's state file (what WordPress enforces) is replaced",
  'bridge:plugin': 'the mu-plugin is written into wp-content/mu-plugins: WordPress loads the bridge',
  'replica:prepared': "replica.json names the push's bundle file and keys; nothing of it uploaded",
  'replica:rekeyed': 'a resumed push chose new keys for what is not confirmed stored',
  'replica:upload': 'the bundle is stored on S3; replica.json does not say so yet',
  'replica:bundle-stored': 'replica.json says the bundle is stored; the manifest not uploaded',
  'replica:manifest': 'the manifest is stored on S3 (the push is visible remotely); replica.json does not say so yet',
  'replica:pushed': 'replica.json records the push; the local bundle file not yet removed',
  'replica:done': "replica.json's lag and error fields are brought up to date at the end of a push",
  'recover:replica-state': 'a recovered journal is complete and replica.json says the remote has everything',
  'prune:object-deleted': 'one superseded object is deleted from S3',
} as const

export type CheckpointName = keyof typeof CHECKPOINTS

let hook: (name: CheckpointName) => void = () => undefined

/** Marks a durable step (see CHECKPOINTS). Costs a function call when no hook is installed. */
export function checkpoint(name: CheckpointName): void {
  hook(name)
}

/** Installed once by the composition root. */
export function onCheckpoint(h: (name: CheckpointName) => void): void {
  hook = h
}
