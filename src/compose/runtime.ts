// The Runtime every CLI command gets from the composition root: ready-made sites, replicas, governance
// documents, audit logs and the users file, built from a config loaded once per process. What a command
// needs is loaded when the command runs (prepare): `peakguard --help` loads none of it — zod, mysql2, git,
// the AWS SDK and Express each cost start-up that the night shift feels at every command.
import os from 'node:os'
import * as terminal from '../adapters/terminal.ts'
import type { GlobalOptions, Runtime } from '../cli/runtime.ts'
import type { LoadedConfig } from '../config.ts'
import type { DocStorePort } from '../core/index.ts'
import { PeakguardError } from '../errors.ts'

type Loaded = {
  config: typeof import('../config.ts')
  sites: typeof import('./sites.ts')
  notifiers: typeof import('./notifiers.ts')
  log: typeof import('../adapters/log.ts')
}

/** How long a command waits for its notifications to go out when it ends. */
const NOTIFY_CLOSE_MS = 5000

export function runtime(env: NodeJS.ProcessEnv = process.env): Runtime {
  let loaded: Loaded | null = null
  const configs = new Map<string, LoadedConfig>()

  const mods = (): Loaded => {
    if (!loaded) throw new PeakguardError('INTERNAL', 'the runtime was used before prepare()')
    return loaded
  }
  /** the config file of this process, parsed once (a command reads it from several places) */
  const config = (o: GlobalOptions): LoadedConfig => {
    const { configPath, loadConfig } = mods().config
    const file = configPath(o.config)
    let cfg = configs.get(file)
    if (!cfg) {
      cfg = loadConfig(file)
      configs.set(file, cfg)
    }
    return cfg
  }
  const site = (o: GlobalOptions) => mods().sites.pickSite(config(o), o.site)
  // a fleet's governance documents are the fleet's (compose/fleet.ts FleetDocs), loaded only on a fleet's node
  const sharedDocs = (o: GlobalOptions, local: DocStorePort): DocStorePort => {
    const s = site(o)
    if (!s.fleet) return local
    const shared = import('./fleet.ts').then((m) => m.fleetDocs(config(o), s, local, mods().sites.openReplica))
    return {
      readDoc: async (name) => (await shared).readDoc(name),
      writeDoc: async (name, value) => (await shared).writeDoc(name, value),
      listDocs: async (prefix) => (await shared).listDocs(prefix),
      lockDocs: async () => (await shared).lockDocs(),
    }
  }
  const osUser = () => env.SUDO_USER || env.USER || os.userInfo().username

  const rt: Runtime = {
    finish: async () => {
      // only a host with a fleet loads the fleet's composition (its connections would keep the process alive)
      if ([...configs.values()].some((c) => c.sites.some((x) => x.fleet))) await (await import('./fleet.ts')).closeFleets()
    },
    prepare: async () => {
      if (loaded) return
      const [config, sites, notifiers, log] = await Promise.all([import('../config.ts'), import('./sites.ts'), import('./notifiers.ts'), import('../adapters/log.ts')])
      loaded = { config, sites, notifiers, log }
    },
    runDaemon: async (o) => (await import('./daemon.ts')).runDaemon(config(o), o),
    daemonStatus: async (o, siteId) => {
      const { daemonStatus, hostPort } = await import('./daemon-client.ts')
      return daemonStatus(hostPort(config(o).config.ui.listen), siteId, env.PEAKGUARD_TOKEN)
    },
    openSite: async (o) => {
      const opened = await mods().sites.openSite(config(o), site(o))
      if (!site(o).fleet) return opened
      // a node of a fleet: what this command writes goes into the fleet's one journal (compose/fleet.ts)
      const { joinFleet, stderrLog } = await import('./fleet.ts')
      const parts = await joinFleet(config(o), site(o), opened, mods().sites.openReplica, stderrLog).catch(async (e: unknown) => {
        await opened.close()
        throw e
      })
      const close = opened.close
      return Object.assign(opened, { close: async () => void (await Promise.all([close(), parts?.close()])) })
    },
    init: async (o) => (await import('./init.ts')).init(o),
    recover: async (o) => (await import('./recover.ts')).recover(config(o), o),
    openReplica: async (o) => {
      const s = site(o)
      return mods().sites.requireReplica(await mods().sites.openReplica(s), s, config(o).file)
    },
    docs: (o) => sharedDocs(o, mods().sites.siteDocs(site(o))),
    freezeSettings: (o) => {
      const s = site(o)
      return { site: s.id, freeze: s.freeze }
    },
    hasReplica: (o) => site(o).s3 !== null,
    notifier: (o) => {
      const s = site(o)
      // a command's delivery problems go to stderr (stdout may be --json); warnings only. A shell may lack the
      // daemon's environment (the SMTP password, the routing key): that destination fails and says so, the
      // command does not. PagerDuty's open incidents are the daemon's to keep: a command opens none
      return new (mods().notifiers.Notifiers)(s, config(o).config.ui, mods().log.createLog('warn', process.stderr), { missingSecret: 'skip', persistIncidents: false, env })
    },
    governance: async (o) => {
      const s = site(o)
      const notify = rt.notifier(o)
      return {
        site: s.id,
        docs: sharedDocs(o, mods().sites.siteDocs(s)),
        audit: mods().sites.auditLogFor(s, undefined, config(o)),
        notify,
        windows: s.freeze.windows,
        now: () => Date.now(),
        close: () => notify.close(NOTIFY_CLOSE_MS),
      }
    },
    showConfig: (o) => {
      const cfg = config(o)
      const shown = mods().config.redact({ ...cfg.config, node: cfg.node, sites: [...cfg.sites] })
      return { file: cfg.file, config: shown, yaml: mods().config.toYaml(shown) }
    },
    actor: async (o, action) => {
      const cfg = config(o)
      const { whoActs } = await import('../services/actor.ts')
      return whoActs(
        mods().sites.accessFor(cfg),
        {
          as: o.as,
          token: env.PEAKGUARD_TOKEN,
          passwordStdin: o.passwordStdin,
          osUser: osUser(),
          sudoUser: env.SUDO_USER,
          user: env.USER,
          readPassword: terminal.readStdinLine,
          auditAll: (input) => mods().sites.auditAll(cfg, input),
        },
        action,
      )
    },
    audit: async (o) => mods().sites.auditLogFor(site(o), undefined, config(o)),
    access: async (o) => mods().sites.accessFor(config(o)),
    auditAll: async (o, input) => mods().sites.auditAll(config(o), input),
    bridge: async (o) => mods().sites.bridgeControl(site(o), config(o).config.ui.listen),
    readStdinLine: terminal.readStdinLine,
    isInteractive: terminal.isInteractive,
    confirm: terminal.confirm,
    out: terminal.out,
    err: terminal.err,
  }
  return rt
}
