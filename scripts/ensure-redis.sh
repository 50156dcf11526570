#!/usr/bin/env bash
# The scale-out tests run a real redis-server (Debian's package) on a free port. `npm test` runs this first, so
# the README's test command works on a fresh machine.
set -euo pipefail
if [ -x /usr/bin/redis-server ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "The scale-out tests need Debian's redis-server: run 'apt-get install redis-server' as root." >&2
    exit 1
  fi
fi
echo "Installing Debian's redis-server for the scale-out tests..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends redis-server >/dev/null
# The package starts a system service; the tests start their own servers on free ports and need none.
$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
/usr/bin/redis-server --version >&2
