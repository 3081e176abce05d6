// The bounded read of an HTTP answer every adapter that calls out needs (the bridge, purges, notification
// senders): a shared primitive, like durable-file.ts, not an outside system of its own.

/**
 * The body as text, at most `max` bytes of it (the rest is not read). A body that was cut ends before its
 * last word: that word may be a prefix of a secret the caller scrubs, which it would not recognise.
 */
export async function readBounded(res: Response, max: number): Promise<string> {
  if (!res.body) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
    size += value.length
    if (size > max) {
      await reader.cancel().catch(() => undefined)
      return Buffer.concat(chunks).subarray(0, max).toString('utf8').replace(/\S*$/, '')
    }
  }
  return Buffer.concat(chunks).toString('utf8')
}
