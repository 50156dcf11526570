#!/usr/bin/env bash
# What the tests need from Debian, installed from apt when missing (never downloaded otherwise): chromium for the
# browser tests (driven by playwright-core), redis-server for the scale-out tests (each test run starts its own
# on a free port) and openssl for the TLS tests (they make a throw-away CA and server certificate). `npm test` runs this first, so the README's test command works on a fresh machine.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "The tests need Debian's ${missing[*]}: run 'apt-get install ${missing[*]}' as root." >&2
    exit 1
  fi
fi
echo "Installing Debian's ${missing[*]} for the tests..." >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The redis package may start a system service; the tests start their own servers and need none.
if [[ " ${missing[*]} " == *" redis-server "* ]]; then
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || $SUDO service redis-server stop >/dev/null 2>&1 || true
fi
/usr/bin/chromium --version >&2
/usr/bin/redis-server --version >&2
