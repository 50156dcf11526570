#!/usr/bin/env bash
# Performs the Dockerfile's steps for the runtime stage, and for the stages it copies from, in a clean temporary
# directory, then starts the result as the image would and checks it. No container engine is needed.
#
# The steps are not written out here: scripts/docker/dockerfile.mjs reads them from the Dockerfile (`plan`), so a
# change to the Dockerfile changes what runs here. Each stage gets a directory standing for its filesystem root;
# COPY from the build context applies .dockerignore; the production install runs exactly as in the Dockerfile.
# Substitutions (printed in the plan): the base image is this machine's node/npm, and the build stage's full
# `npm ci` is this checkout's node_modules (same lockfile) rather than a second download.
#
# Then: the runtime tree holds nothing but package*.json, node_modules (no devDependency), dist/ and public/;
# it is started with the image's ENV, WORKDIR and ENTRYPOINT+CMD, as uid 1000 (the image's `node` user) on
# root-owned files, as PID 1 of its own PID namespace when run as root (as in a container, so SIGTERM reaches
# it only through the handler it installs), with no API key (simulator mode); PORT is a free port and HOST is
# 127.0.0.1 (as `docker run -e PORT=... -e HOST=...` would set them). Checked: /healthz, the image's own
# HEALTHCHECK command, /readyz, the page, one voice turn over /v1/voice, and that SIGTERM makes it exit 0 within
# SHUTDOWN_GRACE_MS + 5 s.
#
# Usage: bash scripts/docker/verify-runtime-stage.sh   (after `npm ci`; takes about 15-30 s)
set -euo pipefail

CONTEXT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CONTEXT
cd "$CONTEXT"
started=$(date +%s%N)
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
log() { printf '[verify-runtime-stage] %s\n' "$*"; }
fail() { printf '[verify-runtime-stage] FAIL: %s\n' "$*" >&2; exit 1; }

[ -d node_modules ] || fail "run npm ci first: the build stage uses this checkout's node_modules"

WORK="$(mktemp -d /tmp/asi1-runtime-stage.XXXXXX)"
chmod 755 "$WORK"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -KILL "$SERVER_PID" 2>/dev/null || true; fi
  if [ "$rc" -ne 0 ] && [ -f "$WORK/server.log" ]; then
    echo '--- server log (last 40 lines) ---' >&2
    tail -n 40 "$WORK/server.log" >&2 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------------------
log "plan from the Dockerfile:"
node scripts/docker/dockerfile.mjs plan Dockerfile "$WORK/stages" > "$WORK/plan.sh" || fail "the Dockerfile cannot be performed step by step"
grep -E '^# (----|[A-Z]+ )|^# substituted' "$WORK/plan.sh" | grep -vE '^# (ARG|LABEL) ' | sed 's/^/    /'
step_started=$(date +%s%N)
# shellcheck source=/dev/null
source "$WORK/plan.sh" > "$WORK/steps.log" 2>&1 || { cat "$WORK/steps.log" >&2; fail "a Dockerfile step failed"; }
set -euo pipefail
log "stages performed in $(ms_since "$step_started") ms"

APP="$IMAGE_ROOT$IMAGE_WORKDIR"
[ -f "$APP/dist/src/server.js" ] || fail "dist/src/server.js missing from the runtime tree"
[ -f "$APP/public/index.html" ] || fail "public/index.html missing from the runtime tree"

# ---------------------------------------------------------------------------------------------------------
# Contents: only what the runtime needs; every production dependency, no development one.
entries="$(cd "$APP" && ls -A | sort | tr '\n' ' ')"
[ "$entries" = "dist node_modules package-lock.json package.json public " ] || fail "unexpected runtime contents: $entries"
if [ -e "$APP/dist/test" ] || [ -e "$APP/src" ]; then fail "sources or tests in the runtime tree"; fi
node --input-type=module - "$APP" <<'EOF' || fail "dependency check"
import { existsSync, readFileSync } from 'node:fs';
const app = process.argv[2];
const pkg = JSON.parse(readFileSync(`${app}/package.json`, 'utf8'));
const dev = Object.keys(pkg.devDependencies ?? {});
const named = ['typescript', 'vitest', 'eslint', 'tsx'];
const present = [...new Set([...dev, ...named])].filter((d) => existsSync(`${app}/node_modules/${d}`));
const missing = Object.keys(pkg.dependencies ?? {}).filter((d) => !existsSync(`${app}/node_modules/${d}/package.json`));
const bins = ['tsc', 'vitest', 'eslint', 'tsx'].filter((b) => existsSync(`${app}/node_modules/.bin/${b}`));
if (present.length || missing.length || bins.length) {
  console.error({ devDependenciesPresent: present, productionDependenciesMissing: missing, devBins: bins });
  process.exit(1);
}
console.log(`[verify-runtime-stage] node_modules: ${Object.keys(pkg.dependencies).length} production dependencies, no devDependency (${dev.length} checked)`);
EOF
log "runtime tree: $(du -sh "$APP" | cut -f1) (node_modules $(du -sh "$APP/node_modules" | cut -f1))"

# ---------------------------------------------------------------------------------------------------------
# Start it as the image would.
PORT="$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"
GRACE_MS=10000
for kv in "${IMAGE_ENV[@]}"; do [[ "$kv" == SHUTDOWN_GRACE_MS=* ]] && GRACE_MS="${kv#*=}"; done
RUN_ENV=(env -i "PATH=$PATH" "HOME=/home/node" "${IMAGE_ENV[@]}" "PORT=$PORT" "HOST=127.0.0.1")
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  [ "$IMAGE_USER" = node ] || fail "expected USER node, got '$IMAGE_USER'"
  chown -R root:root "$IMAGE_ROOT"
  RUN_AS=(setpriv --reuid=1000 --regid=1000 --clear-groups --)
  if "${RUN_AS[@]}" test -w "$APP" || "${RUN_AS[@]}" test -w "$APP/dist/src/server.js"; then fail "the app is writable by uid 1000"; fi
  # Its own PID namespace, so that node is PID 1 as in a container (skipped where namespaces are not allowed).
  if unshare --pid --fork --kill-child --mount-proc true 2>/dev/null; then RUN_AS=(unshare --pid --fork --kill-child --mount-proc -- "${RUN_AS[@]}"); fi
fi
log "starting: ${IMAGE_ARGV[*]} (cwd $IMAGE_WORKDIR, ${IMAGE_ENV[*]}, PORT=$PORT HOST=127.0.0.1${RUN_AS:+, via ${RUN_AS[*]}})"
(cd "$APP" && exec "${RUN_AS[@]}" "${RUN_ENV[@]}" "${IMAGE_ARGV[@]}") > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
# The process to signal is node itself: the innermost process of the chain (unshare forks it).
node_pid() {
  local pid=$SERVER_PID child
  while child="$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)" && [ -n "$child" ]; do pid=$child; done
  echo "$pid"
}

base="http://127.0.0.1:$PORT"
http() { # http URL -> "STATUS CONTENT-TYPE BODYLENGTH"
  node -e "fetch(process.argv[1],{signal:AbortSignal.timeout(3000)}).then(async r=>{const b=await r.text();console.log(r.status,(r.headers.get('content-type')||'-').split(';')[0],b.length)},()=>console.log('000 - 0'))" "$1"
}
deadline=$(( $(date +%s) + 20 ))
until [ "$(http "$base/healthz" | cut -d' ' -f1)" = 200 ]; do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited during start-up"
  [ "$(date +%s)" -lt "$deadline" ] || fail "/healthz did not answer within 20 s"
  sleep 0.1
done
log "/healthz 200 after $(ms_since "$step_started") ms from the first step"

if [ "${#IMAGE_HEALTHCHECK[@]}" -gt 0 ]; then
  (cd "$APP" && env -i "PATH=$PATH" "${IMAGE_ENV[@]}" "PORT=$PORT" "${IMAGE_HEALTHCHECK[@]}") || fail "the image's HEALTHCHECK command failed"
  log "HEALTHCHECK command exits 0"
else
  fail "the Dockerfile has no HEALTHCHECK"
fi

until [ "$(http "$base/readyz" | cut -d' ' -f1)" = 200 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "/readyz did not become 200: $(http "$base/readyz")"
  sleep 0.1
done
log "/readyz 200"
page="$(http "$base/")"
[[ "$page" == "200 text/html "* ]] || fail "the page is not served: $page"
log "page: $page"

# One voice turn end to end, with the runtime tree's own ws package (a production dependency).
node --input-type=module - "$APP" "ws://127.0.0.1:$PORT/v1/voice" <<'EOF' || fail "voice turn"
const [app, url] = process.argv.slice(2);
const { default: WebSocket } = await import(`${app}/node_modules/ws/wrapper.mjs`);
const ws = new WebSocket(url);
const timer = setTimeout(() => { console.error('no response.done within 10 s'); process.exit(1); }, 10_000);
const seen = [];
ws.on('message', (data) => {
  const event = JSON.parse(String(data));
  seen.push(event.type);
  if (event.type === 'session.ready') ws.send(JSON.stringify({ type: 'turn', text: 'Hello there' }));
  if (event.type === 'response.done') {
    clearTimeout(timer);
    if (event.status !== 'completed') { console.error('response.done', event); process.exit(1); }
    console.log(`[verify-runtime-stage] voice turn: ${[...new Set(seen)].join(', ')}; upstream simulator, "${event.text.slice(0, 40)}..."`);
    ws.close();
  }
});
ws.on('error', (err) => { console.error(err); process.exit(1); });
EOF

# ---------------------------------------------------------------------------------------------------------
# Graceful stop: the STOPSIGNAL to node (PID 1 of its namespace), exit 0 within the grace period + margin.
target="$(node_pid)"
nspid="$(awk '/^NSpid/{print $NF}' "/proc/$target/status")"
[[ "${RUN_AS[*]}" != unshare* ]] || [ "$nspid" = 1 ] || fail "node is pid $nspid in its namespace, not 1"
signal_at=$(date +%s%N)
kill -s "${IMAGE_STOPSIGNAL#SIG}" "$target"
limit_ms=$(( GRACE_MS + 5000 ))
while kill -0 "$SERVER_PID" 2>/dev/null; do
  [ "$(ms_since "$signal_at")" -lt "$limit_ms" ] || fail "still running ${limit_ms} ms after $IMAGE_STOPSIGNAL"
  sleep 0.05
done
rc=0; wait "$SERVER_PID" || rc=$?
SERVER_PID=""
[ "$rc" = 0 ] || fail "exit status $rc after $IMAGE_STOPSIGNAL"
grep -q '"shutdown requested"' "$WORK/server.log" || grep -q 'shutdown requested' "$WORK/server.log" || fail "no 'shutdown requested' in the log"
log "$IMAGE_STOPSIGNAL to node (pid $target, pid $nspid in its namespace): exit 0 after $(ms_since "$signal_at") ms"
log "OK in $(ms_since "$started") ms"
