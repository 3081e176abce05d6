// Lint for peakguard: typescript-eslint's recommended rules (syntax only, no type information, so it
// stays fast inside `npm test`) plus the import walls from ARCHITECTURE.md, "Layout and who may import
// whom": core ← services ← {adapters, http, cli} ← main. A line that crosses a wall fails the build.
import { builtinModules } from 'node:module'
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'
import importX, { createNodeResolver } from 'eslint-plugin-import-x'

const TS = ['src/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts']

// Bare builtin names ('fs', 'path', 'fs/promises', …) as well as the node: prefix.
const BUILTIN = `(?:node:|(?:${builtinModules
  .filter((m) => !m.startsWith('_') && !m.startsWith('node:'))
  .map((m) => m.replace(/[\\^$.*+?()[\]{}|-]/g, '\\$&'))
  .join('|')})(?:/|$))`

/** One no-restricted-imports pattern group: `regex` is matched against the import source string. */
const wall = (regex, message) => ({ regex, message })

/** `../name`, `../../name/…`, `../name.ts`: a relative import that climbs out to a sibling of this folder. */
const up = (...names) => `^(?:\\.\\./)+(?:${names.join('|')})(?:[/.]|$)`

/** Groups must not overlap: every group that matches reports its own error for the same line. */
const restrict = (...patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
  // A dynamic import() of our own modules is invisible to no-restricted-imports: in a walled folder, import
  // them statically. A package named by a literal may be loaded late (nodemailer at the first mail).
  'no-restricted-syntax': [
    'error',
    { selector: "ImportExpression[source.type='Literal'][source.value=/^\\./]", message: 'dynamic import() slips past the import walls: use a static import (ARCHITECTURE.md)' },
    { selector: "ImportExpression[source.type!='Literal']", message: 'dynamic import() slips past the import walls: use a static import (ARCHITECTURE.md)' },
  ],
})

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', 'snapshots/', 'test-artifacts/', 'web/vendor/', '**/*.min.js']),

  { files: TS, extends: [tseslint.configs.recommended] },
  {
    files: TS,
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
        },
      ],
    },
  },
  // No import cycle anywhere in src: a circle (the recorder and the restorer calling each other, once) hides
  // who owns a step. The writer owns the lock and the order of a write; everything else points one way.
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js'] })],
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  // The harness returns parsed JSON: tests and benchmarks may hold it as `any`. Production code may not.
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },

  // ── import walls ────────────────────────────────────────────────────────────────────────────────
  {
    files: ['src/core/**/*.ts'],
    rules: restrict(
      wall(`^${BUILTIN}`, 'core is plain TypeScript: no I/O, so no node builtins — reach the world through a port (ARCHITECTURE.md)'),
      wall(`^(?!\\.|${BUILTIN})`, 'core is plain TypeScript: no I/O, no packages (ARCHITECTURE.md)'),
      wall(
        up('services', 'adapters', 'http', 'cli', 'compose', 'main', 'config'),
        'core is the innermost layer: it imports only files inside core and ../errors.ts (ARCHITECTURE.md)',
      ),
    ),
  },
  {
    files: ['src/services/**/*.ts'],
    rules: restrict(
      wall(
        '^(?:express|mysql2|chokidar|simple-git)(?:/|$)|^@aws-sdk/',
        'services are built on ports: express, mysql2, the AWS SDK, chokidar and git belong in an adapter or http (ARCHITECTURE.md)',
      ),
      wall(
        '^(?:node:)?(?:fs|child_process)(?:/|$)',
        'services do no I/O of their own: files and processes go through a port that an adapter implements (ARCHITECTURE.md)',
      ),
      wall(
        up('adapters', 'http', 'cli', 'compose', 'main'),
        'services sit below adapters, http, cli and the composition root (core ← services ← {adapters, http, cli} ← compose ← main) (ARCHITECTURE.md)',
      ),
    ),
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: restrict(
      wall(
        // an adapter's own *.worker.ts (the same outside system, run on another thread) is part of it, and so
        // is its *-php.ts (the PHP source it writes into WordPress, e.g. wp-bridge-php.ts); durable-file.ts is
        // the crash-safe write every file-keeping adapter needs, a file-system primitive rather than an adapter;
        // delivery-queue.ts the retrying queue every notification sender needs; http-body.ts the bounded read of an answer;
        // mysql-records.ts and mysql-schema.ts are MysqlSettings' own parts for Site Editor entities and settings
        // tables, and for the schema of the site's tables (the same database)
        '^\\.(?:$|/(?![\\w-]+\\.worker\\.ts$|[\\w-]+-php\\.ts$|durable-file\\.ts$|delivery-queue\\.ts$|http-body\\.ts$|mysql-records\\.ts$|mysql-schema\\.ts$))',
        'adapters never import each other: one outside system per file; share code through core (ARCHITECTURE.md)',
      ),
      wall(
        '^\\.\\.(?:$|/(?!core/|errors\\.ts$))',
        'an adapter implements a port: its only relative imports are ../core/… and ../errors.ts — never services, http, cli, config or main (ARCHITECTURE.md)',
      ),
    ),
  },
  {
    files: ['src/cli/**/*.ts'],
    rules: restrict(
      wall(up('adapters'), 'cli commands reach the world through the injected Runtime, never an adapter (ARCHITECTURE.md)'),
      wall(up('main', 'compose'), 'compose/ and main.ts build the Runtime and hand it to the CLI, never the other way round (ARCHITECTURE.md)'),
      wall(
        '^(?:mysql2|simple-git)(?:/|$)|^(?:node:)?(?:fs|child_process)(?:/|$)',
        'cli commands do no I/O of their own: they reach the world through the injected Runtime that main.ts composes (ARCHITECTURE.md)',
      ),
    ),
  },
  {
    files: ['src/http/**/*.ts'],
    rules: restrict(
      wall(up('adapters'), 'http routes call services; adapters are wired in by the composition root (compose/) (ARCHITECTURE.md)'),
      wall(up('main', 'compose'), 'compose/ is the composition root: it imports http, never the other way round (ARCHITECTURE.md)'),
      wall('^(?:mysql2|simple-git)(?:/|$)', 'http routes call services: databases and git belong in an adapter (ARCHITECTURE.md)'),
    ),
  },
  // main.ts is the entry point only: the fault hook, the Runtime from compose/, the CLI
  {
    files: ['src/main.ts'],
    rules: restrict(
      wall(
        '^\\./(?!cli/|compose/runtime\\.ts$|core/checkpoints\\.ts$)',
        'main.ts only starts the CLI with the Runtime compose/runtime.ts builds: wiring belongs in compose/ (ARCHITECTURE.md)',
      ),
      wall(`^(?!\\.|${BUILTIN})`, 'main.ts imports no package: what a command needs is loaded when it runs (compose/runtime.ts)'),
    ),
  },
  // the config file: parsed and validated (zod, yaml), written durably; it knows no adapter but the durable write
  {
    files: ['src/config.ts'],
    rules: restrict(
      wall(
        '^\\./(?!core/|errors\\.ts$|services/freeze-calendar\\.ts$|adapters/durable-file\\.ts$)',
        'config.ts reads and writes the config file only: it imports core, errors, the freeze calendar (to check windows) and the durable write (ARCHITECTURE.md)',
      ),
    ),
  },
)
