#!/usr/bin/env sh
# Idempotent: make sure Debian's Chromium is there for the end-to-end tests (never `playwright install`).
# Without root or apt the e2e tests skip with the reason instead.
set -eu
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "chromium missing and not root with apt-get: the e2e browser tests will be skipped" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
  || { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; } \
  || echo "could not install chromium: the e2e browser tests will be skipped" >&2
