#!/usr/bin/env bash
# The tracker's npm packages (sdk/), exactly as sdk/package-lock.json pins them.
# Idempotent: runs `npm ci` only when sdk/node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v npm >/dev/null 2>&1; then
    echo "30-sdk: npm is not installed; the tracker tests (sdk/) need Node 20+ and npm" >&2
    exit 1
fi
if [ ! -d sdk/node_modules ] || [ sdk/package-lock.json -nt sdk/node_modules/.package-lock.json ]; then
    npm ci --prefix sdk --no-audit --no-fund
fi
