// Lint for peakguard: typescript-eslint's recommended rules (syntax only, no type information, so it
// stays fast inside `npm test`) plus the import walls from ARCHITECTURE.md, "Layout and who may import
// whom": core ← services ← {adapters, http, cli} ← main. A line that crosses a wall fails the build.
import { builtinModules } from 'node:module'
import { defineConfig, globalIgnores } from 'eslint/config'
import tseslint from 'typescript-eslint'

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
  // A dynamic import() is invisible to no-restricted-imports: in a walled folder, import statically.
  'no-restricted-syntax': [
    'error',
    { selector: 'ImportExpression', message: 'dynamic import() slips past the import walls: use a static import (ARCHITECTURE.md)' },
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
  // The harness returns parsed JSON: tests and benchmarks may hold it as `any`. Production code may not.
  { files: ['test/**/*.ts', 'bench/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },

  // ── import walls ────────────────────────────────────────────────────────────────────────────────
  {
    files: ['src/core/**/*.ts'],
    rules: restrict(
      wall(`^${BUILTIN}`, 'core is plain TypeScript: no I/O, so no node builtins — reach the world through a port (ARCHITECTURE.md)'),
      wall(`^(?!\\.|${BUILTIN})`, 'core is plain TypeScript: no I/O, no packages (ARCHITECTURE.md)'),
      wall(
        up('services', 'adapters', 'http', 'cli', 'main', 'config'),
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
        up('adapters', 'http', 'cli', 'main'),
        'services sit below adapters, http, cli and main (core ← services ← {adapters, http, cli} ← main) (ARCHITECTURE.md)',
      ),
    ),
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: restrict(
      wall(
        // an adapter's own *.worker.ts (the same outside system, run on another thread) is part of it, and so
        // is its *-php.ts (the PHP source it writes into WordPress, e.g. wp-bridge-php.ts); durable-file.ts is
        // the crash-safe write every file-keeping adapter needs, a file-system primitive rather than an adapter
        '^\\.(?:$|/(?![\\w-]+\\.worker\\.ts$|[\\w-]+-php\\.ts$|durable-file\\.ts$))',
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
      wall(up('main'), 'main is the composition root: it imports the CLI, never the other way round (ARCHITECTURE.md)'),
      wall(
        '^(?:mysql2|simple-git)(?:/|$)|^(?:node:)?(?:fs|child_process)(?:/|$)',
        'cli commands do no I/O of their own: they reach the world through the injected Runtime that main.ts composes (ARCHITECTURE.md)',
      ),
    ),
  },
  {
    files: ['src/http/**/*.ts'],
    rules: restrict(
      wall(up('adapters'), 'http routes call services; adapters are wired in by main.ts (ARCHITECTURE.md)'),
      wall(up('main'), 'main is the composition root: it imports http, never the other way round (ARCHITECTURE.md)'),
      wall('^(?:mysql2|simple-git)(?:/|$)', 'http routes call services: databases and git belong in an adapter (ARCHITECTURE.md)'),
    ),
  },
)
