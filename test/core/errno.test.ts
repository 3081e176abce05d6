// One errno mapping for every adapter (errors.ts fsFailure): a full disk, a refused write, a refused read and
// anything else each become the code the operator acts on, with the file named. Plain values, no I/O.
import assert from 'node:assert/strict'
import { fsFailure, PeakguardError } from '../../src/errors.ts'

/** An error shaped as node:fs throws it. */
const errno = (code: string, message = `${code}: something, open '/x'`) => Object.assign(new Error(message), { code })

describe('errors: fsFailure maps errno to the error table', () => {
  it('a full disk or quota is DISK_FULL, with the hint for a full disk', () => {
    for (const code of ['ENOSPC', 'EDQUOT']) {
      const e = errno(code)
      const f = fsFailure(e, { doing: 'writing', what: '/site/wp-content/a.php', hint: { full: 'free some space', refused: 'not this one' } })
      assert.equal(f.code, 'DISK_FULL')
      assert.equal(f.message, 'no space left on the device while writing /site/wp-content/a.php: free some space')
      assert.equal(f.cause, e)
    }
    assert.equal(fsFailure(errno('ENOSPC'), { doing: 'appending to', what: 'the audit log in /d' }).message, 'no space left on the device while appending to the audit log in /d')
  })

  it('a refused write is READ_ONLY and says why; a refused read says "cannot read" and is FS_FAILED', () => {
    const ro = fsFailure(errno('EROFS'), { doing: 'writing', what: '/w/x.php' })
    assert.equal(ro.code, 'READ_ONLY')
    assert.equal(ro.message, 'cannot write /w/x.php (EROFS: read-only file system)')
    for (const code of ['EACCES', 'EPERM']) {
      const w = fsFailure(errno(code), { doing: 'creating', what: 'the lock /d/lock', hint: { refused: 'run it as root' } })
      assert.equal(w.code, 'READ_ONLY')
      assert.equal(w.message, `cannot create the lock /d/lock (${code}: permission denied): run it as root`)
      const r = fsFailure(errno(code), { doing: 'reading', what: '/w/secret.php' })
      assert.equal(r.code, 'FS_FAILED')
      assert.equal(r.message, `cannot read /w/secret.php (${code}: permission denied)`)
    }
  })

  it("anything else is FS_FAILED, or the caller's own code, quoting the error's message", () => {
    const other = fsFailure(errno('EISDIR', 'EISDIR: illegal operation on a directory, open'), { doing: 'writing', what: '/w' })
    assert.equal(other.code, 'FS_FAILED')
    assert.equal(other.message, 'cannot write /w: EISDIR: illegal operation on a directory, open')
    assert.equal(fsFailure(errno('EIO'), { doing: 'writing', what: '/b', otherwise: 'BRIDGE_FAILED' }).code, 'BRIDGE_FAILED')
    // the code decides, never the otherwise: a full disk under the bridge is still DISK_FULL
    assert.equal(fsFailure(errno('ENOSPC'), { doing: 'writing', what: '/b', otherwise: 'BRIDGE_FAILED' }).code, 'DISK_FULL')
    assert.equal(fsFailure('a string', { doing: 'reading', what: '/s' }).message, 'cannot read /s: a string')
    assert.equal(fsFailure(undefined, { doing: 'reading', what: '/s' }).code, 'FS_FAILED')
  })

  it('a PeakguardError passes through unchanged', () => {
    const mine = new PeakguardError('CHANGED_WHILE_RECORDING', 'x changed')
    assert.equal(fsFailure(mine, { doing: 'writing', what: '/w' }), mine)
  })
})
