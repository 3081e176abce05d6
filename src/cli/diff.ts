// peakguard diff FROM [TO]: what differs between two states, or a state and the live site (TO defaults to
// live). Text mode shows unified diffs of text files and option values; binary content is named with sizes.
// A Site Editor entity or a settings-table row is shown field by field (core/record-fields.ts): a unified
// diff per changed post column, meta value, the terms, or column — never its raw record bytes.
import type { Command } from 'commander'
import { createTwoFilesPatch } from 'diff'
import { isRecordName, schemaChangeText, kindOfName, recordLabel, visible, type OptionChange, type StateDiff } from '../core/index.ts'
import { contentAsText } from '../core/content.ts'
import { recordFieldChanges, type FieldBytes, type FieldChange } from '../core/record-fields.ts'
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
    // the database schema in words (a restore never writes it)
    ...(d.schema ?? []).map((c) => `~ schema ${schemaChangeText(c)}`),
    ...d.links.map((l) => `${sign[l.change]} link   ${l.path} -> ${l.to?.target ?? l.from?.target ?? ''}`),
    ...d.dirs.map((x) => `${sign[x.change]} dir    ${x.path}${x.from && x.to ? ` (${dirMeta(x.from)} → ${dirMeta(x.to)})` : x.to ? ` (${dirMeta(x.to)})` : ''}`),
    ...d.files.map((f) => `${sign[f.change]} file   ${f.path}${f.change === 'modified' && !f.content ? ' (mode/owner)' : ''}`),
    ...d.options.map((x) =>
      isRecordName(x.name)
        ? `${sign[x.change]} ${kindOfName(x.name) === 'entity' ? 'entity' : 'row   '} ${x.name}  (${recordLabel(x.name)})`
        : `${sign[x.change]} option ${x.table}.${x.name}${x.change === 'modified' && !x.value ? ' (autoload)' : ''}`,
    ),
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
  for (const x of d.options) {
    if (!x.value) continue
    const before = x.from && a.get(x.from.blob)
    const after = x.to && b.get(x.to.blob)
    if (isRecordName(x.name)) out.push(...recordLines(x, before, after, from.label, to.label))
    else emit(`option:${x.table}.${x.name}`, before, after)
  }
  return shown(out, { tab: true })
}

/**
 * An entity or settings-table row, field by field: its name and what people call it, then per changed
 * field a unified diff (a post's JSON content — global styles are one line of it — indented). A side that
 * is no readable record (a damaged journal) is said so and diffed as it is.
 */
export function recordLines(x: OptionChange, before: Uint8Array | undefined, after: Uint8Array | undefined, fromLabel: string, toLabel: string): string[] {
  const head = `${x.change} ${recordLabel(x.name)}: ${x.name}`
  let fields: FieldChange[] | null
  try {
    fields = recordFieldChanges(x.name, before, after)
  } catch (e) {
    return [head, `  not a readable record (${(e as Error).message}): ${before?.length ?? 0} → ${after?.length ?? 0} bytes`, '']
  }
  const out = [head]
  for (const f of fields ?? []) {
    const label = `${visible(x.name)} ${visible(f.field)}`
    let x0 = fieldText(f.before, f.content)
    let y0 = fieldText(f.after, f.content)
    // a column's value seldom ends in a line break: no "\ No newline at end of file" after every one
    if (x0 !== null && y0 !== null && !x0.endsWith('\n') && !y0.endsWith('\n')) [x0, y0] = [x0 && `${x0}\n`, y0 && `${y0}\n`]
    const nulls = [f.before === null ? 'was NULL' : '', f.after === null ? 'now NULL' : ''].filter(Boolean).join(', ')
    if (x0 === null || y0 === null) {
      out.push(`Binary or large content differs: ${label} (${f.before?.length ?? 0} → ${f.after?.length ?? 0} bytes)`)
      continue
    }
    if (x0 === y0) {
      out.push(`${f.change} ${visible(f.field)}${nulls ? ` (${nulls})` : ''}`)
      continue
    }
    // a field of a record added or removed whole, on one line: said, not a four-line patch of one line
    const one = f.change === 'added' ? y0 : f.change === 'removed' ? x0 : null
    if (one !== null && one.indexOf('\n') === one.length - 1) {
      out.push(`${f.change === 'added' ? '+' : '-'} ${visible(f.field)}: ${one.slice(0, -1)}`)
      continue
    }
    out.push(
      ...createTwoFilesPatch(f.before !== undefined ? `a/${label}` : '/dev/null', f.after !== undefined ? `b/${label}` : '/dev/null', x0, y0, fromLabel, toLabel, { context: 3 })
        .split('\n')
        .slice(1),
    )
    if (nulls) out.push(`(${visible(f.field)}: ${nulls})`)
  }
  return out[out.length - 1] === '' ? out : [...out, '']
}

/** A field as text: '' for NULL or absent, a post's JSON content indented, null when binary or too large. */
function fieldText(v: FieldBytes, content: boolean): string | null {
  const t = v ? contentAsText(v) : ''
  if (!t || !content || !/^\s*[[{]/.test(t)) return t
  try {
    return `${JSON.stringify(JSON.parse(t), null, 2)}\n`
  } catch {
    return t
  }
}
