// adapters: one outside system each, implementing one port from src/core/ports.ts —
// git-journal (JournalPort, git CLI via simple-git), wp-files (LiveFilesPort, node:fs), mysql-settings
// (SettingsPort, mysql2), site-dir (SiteDirPort, node:fs), wp-config (reads wp-config.php).
// An adapter must never import another adapter, a service, the CLI or the HTTP layer.
export {}
