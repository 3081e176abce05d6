// Stored bytes (a file's content, an option's value) as text a diff can show, or null when they are binary
// or too large to diff. One rule for the CLI's `peakguard diff` and the web UI's state page, so both call
// the same content binary. Display only: a restore always writes the stored bytes.

/** Bigger than this is not diffed as text: a line diff of megabytes costs seconds and reads as noise. */
export const MAX_TEXT_BYTES = 512 * 1024

/** How far a NUL byte is looked for, as git does: binary formats show one early. */
const BINARY_SNIFF_BYTES = 8000

/** The bytes as UTF-8 text; '' when absent (an added or removed side); null when binary, not UTF-8 or too large. */
export function contentAsText(bytes: Uint8Array | undefined): string | null {
  if (!bytes) return ''
  if (bytes.length > MAX_TEXT_BYTES || bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return null
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return null
  }
}
