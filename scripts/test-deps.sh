#!/usr/bin/env bash
# System and npm dependencies the test suite needs beyond the virtualenv.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
for hook in scripts/test-deps.d/*.sh; do
    [ -e "$hook" ] || continue
    bash "$hook"
done
