#!/usr/bin/env bash
# Installs the npm dependencies when node_modules is missing or older than the
# lock file. Quiet and quick when they are up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "Installing npm dependencies (better-sqlite3 may compile from source: a minute or two)..." >&2
  npm ci --no-audit --no-fund >&2
fi
