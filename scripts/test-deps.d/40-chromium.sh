#!/usr/bin/env bash
# The dashboards' browser tests (tests/e2e/test_dashboards_browser.py) drive Debian's Chromium
# through Playwright (`playwright install` cannot download browsers here). Idempotent: installs
# only when no chromium binary is there. Needs root (or passwordless sudo).
set -euo pipefail
if [ -x /usr/bin/chromium ] || [ -x /usr/lib/chromium/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "40-chromium: chromium is missing and this user cannot install it; run as root:" >&2
    echo "  apt-get update && apt-get install -y chromium" >&2
    exit 1
fi
$sudo apt-get update
$sudo apt-get install -y chromium
