// One node of a fleet as its recordings see it: what it read last per unit (kept in its data directory, so a
// restart knows what changed while it was down), and whether it leads (records settings). See nodeReading.
import { nodeReading, type NodeReading, type SiteState, type UnitDigests } from '../core/index.ts'

/** Where a node keeps its last reading per unit (a document in its data directory). */
export interface NodeBaseStore {
  readDoc<T>(name: string): Promise<T | null>
  writeDoc(name: string, value: unknown): Promise<void>
}

const DOC = 'node-files'

export class NodeView {
  readonly node: string
  private readonly store: NodeBaseStore
  /** whether this node records settings now (the fleet's settings leader) */
  leads: () => boolean

  constructor(node: string, store: NodeBaseStore, leads: () => boolean) {
    this.node = node
    this.store = store
    this.leads = leads
  }

  /**
   * The node's last reading per unit; null before its first. Read from its document every time: a CLI snapshot on
   * this host may have written it since (a small file, read under the site's lock).
   */
  async lastReading(): Promise<UnitDigests | null> {
    const doc = await this.store.readDoc<{ node?: unknown; units?: unknown }>(DOC)
    const units = doc && doc.node === this.node && doc.units && typeof doc.units === 'object' ? Object.entries(doc.units as Record<string, unknown>) : null
    return units ? new Map(units.filter((e): e is [string, string] => typeof e[1] === 'string')) : null
  }

  /** This node's reading (`scanned`: the units read from disk; null: all) laid over the fleet's newest state. */
  async reading(live: SiteState, head: SiteState | null, scanned: ReadonlySet<string> | null): Promise<NodeReading> {
    return nodeReading(live, head, await this.lastReading(), scanned, this.leads())
  }

  /** Keeps a reading once it is in the journal (or found unchanged); null (a partial first reading) keeps none. */
  async remember(base: UnitDigests | null): Promise<void> {
    if (!base) return
    await this.store.writeDoc(DOC, { node: this.node, units: Object.fromEntries(base) })
  }
}
