// The installed CLI as one bundle (dist/bin/peakguard.js): a command's start-up is mostly Node finding,
// reading and linking ~150 small modules, which a bundle turns into a few files. Code that only some
// commands need (config parsing, adapters, the daemon, the AWS SDK) is split into chunks loaded when the
// command runs, so `peakguard --help` loads the CLI and nothing else. The worker files the adapters start
// by URL (./x.worker.js beside the module) and the bridge's PHP template sit beside the chunks; web/ is
// found at ../../web from here, as from dist/<folder>/. Run by `npm run build` after tsc.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const REPO = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const OUT = path.join(REPO, 'dist/bin')

fs.rmSync(OUT, { recursive: true, force: true })
await build({
  entryPoints: {
    peakguard: path.join(REPO, 'src/main.ts'),
    'tree-walk.worker': path.join(REPO, 'src/adapters/tree-walk.worker.ts'),
    'file-hash.worker': path.join(REPO, 'src/adapters/file-hash.worker.ts'),
    'git-objects.worker': path.join(REPO, 'src/adapters/git-objects.worker.ts'),
  },
  outdir: OUT,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  // packages written as CommonJS call require(): give them one in the ES module output
  banner: { js: "import { createRequire as __pgCreateRequire } from 'node:module'; const require = __pgCreateRequire(import.meta.url);" },
})
fs.copyFileSync(path.join(REPO, 'src/adapters/wp-bridge.php'), path.join(OUT, 'wp-bridge.php'))
fs.chmodSync(path.join(OUT, 'peakguard.js'), 0o755)
