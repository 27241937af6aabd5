#!/usr/bin/env bash
# tests/infra needs the Node tools pinned in infra/package-lock.json: the CDK CLI
# (aws-cdk 2.1148.1) and asl-validator. Idempotent: runs `npm ci` only when
# infra/node_modules is missing or older than the lock file.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v npm >/dev/null 2>&1; then
    echo "20-infra: npm is not installed; the infra tests need Node 20+ and npm" >&2
    exit 1
fi
if [ ! -d infra/node_modules ] || [ infra/package-lock.json -nt infra/node_modules/.package-lock.json ]; then
    npm ci --prefix infra --no-audit --no-fund
fi
