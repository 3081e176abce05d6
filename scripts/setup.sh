#!/usr/bin/env bash
# Brings a fresh Debian 12 machine (Node 20 and npm only) to where peakguard's demo and tests run:
# the Debian packages they need, then `npm ci` (which brings Node 24 into node_modules/.bin and builds).
# Runs before `npm test`, `npm run demo` and `npm run bench`; does nothing that is already done.
#   scripts/setup.sh [extra-debian-package ...]
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# wordpress + themes + php-cli + php-mysql: the real WordPress of test/harness/wordpress.ts (and the demo);
# chromium: the browser the end-to-end test drives (playwright-core launches /usr/bin/chromium);
# faketime: libfaketime, which sets the process clock for the clock-shifted test runs (scripts/test-clocks.ts);
# openssl: the self-signed certificates of the HTTPS probe and SMTP (STARTTLS, TLS) tests
want=(git mariadb-server util-linux wordpress wordpress-theme-twentytwentythree wordpress-theme-twentytwentyone php-cli php-mysql chromium faketime openssl "$@")
missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  sudo_ apt-get update -qq
  sudo_ apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # the package starts a server on 127.0.0.1:3306 where it can; the tests start a private one otherwise
fi

# npm ci when node_modules is missing or older than the lock file
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
[ -f dist/main.js ] || npm run build --silent
