// peakguard diff FROM [TO]: what differs between two states, or a state and the live site (TO defaults to
// live). Text mode shows unified diffs of text files and option values; binary content is named with sizes.
import type { Command } from 'commander'
import { createTwoFilesPatch } from 'diff'
import { visible, type StateDiff } from '../core/index.ts'
import { contentAsText } from '../core/content.ts'
import { diffStatesOf, LIVE, type DiffSide } from '../services/index.ts'
import { diffJson } from '../services/reports.ts'
import { print, shown, withSite, type GlobalOptions, type Runtime } from './runtime.ts'

export function register(program: Command, rt: Runtime, run: (fn: (o: GlobalOptions) => Promise<void>) => Promise<void>): void {
  program
    .command('diff <from> [to]')
    .description(`what differs from one state to another (default: to the live site)`)
    .action((from: string, to: string | undefined) =>
      run(async (o) => {
        await withSite(rt, o, async (site) => {
          const r = await diffStatesOf(site, from, to ?? LIVE)
          const json = diffJson(r)
          if (o.json) return print(rt, o, json, () => [])
          rt.out(await unified(r.diff, r.from, r.to))
        })
      }),
    )
}

/** One line per change, for `show` and the head of `diff`. */
export function changeLines(d: StateDiff): string[] {
  const sign = { added: '+', removed: '-', modified: '~' } as const
  const lines = [
    ...d.links.map((l) => `${sign[l.change]} link   ${l.path} -> ${l.to?.target ?? l.from?.target ?? ''}`),
    ...d.dirs.map((x) => `${sign[x.change]} dir    ${x.path}${x.from && x.to ? ` (${dirMeta(x.from)} → ${dirMeta(x.to)})` : x.to ? ` (${dirMeta(x.to)})` : ''}`),
    ...d.files.map((f) => `${sign[f.change]} file   ${f.path}${f.change === 'modified' && !f.content ? ' (mode/owner)' : ''}`),
    ...d.options.map((x) => `${sign[x.change]} option ${x.table}.${x.name}${x.change === 'modified' && !x.value ? ' (autoload)' : ''}`),
  ]
  return lines.length ? lines : ['no differences']
}

function dirMeta(d: { mode: number; uid: number; gid: number }): string {
  return `${d.mode.toString(8).padStart(4, '0')} ${d.uid}:${d.gid}`
}

/**
 * The diff as lines for a terminal: names and content with their control characters made visible (shown()),
 * tabs kept — a file's bytes can neither forge a line of the diff nor send an escape sequence.
 */
async function unified(d: StateDiff, from: DiffSide, to: DiffSide): Promise<string> {
  const out: string[] = [`diff ${from.label} → ${to.label}`, ...changeLines(d), '']
  const oldBlobs = [...d.files.map((f) => f.from?.blob), ...d.options.map((x) => x.from?.blob)].filter((b): b is string => !!b)
  const newBlobs = [...d.files.map((f) => f.to?.blob), ...d.options.map((x) => x.to?.blob)].filter((b): b is string => !!b)
  const [a, b] = await Promise.all([from.load(oldBlobs), to.load(newBlobs)])
  const emit = (name: string, before: Uint8Array | undefined, after: Uint8Array | undefined) => {
    const x = contentAsText(before)
    const y = contentAsText(after)
    if (x === null || y === null) {
      out.push(`Binary or large content differs: ${name} (${before?.length ?? 0} → ${after?.length ?? 0} bytes)`, '')
      return
    }
    // the name is made visible first: every newline left in the patch is one of its own
    out.push(...createTwoFilesPatch(before ? `a/${visible(name)}` : '/dev/null', after ? `b/${visible(name)}` : '/dev/null', x, y, from.label, to.label).split('\n'))
  }
  for (const f of d.files) if (f.content) emit(f.path, f.from && a.get(f.from.blob), f.to && b.get(f.to.blob))
  for (const x of d.options) if (x.value) emit(`option:${x.table}.${x.name}`, x.from && a.get(x.from.blob), x.to && b.get(x.to.blob))
  return shown(out, { tab: true })
}
