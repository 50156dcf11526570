#!/usr/bin/env bash
# Builds the real image from the unchanged Dockerfile with Debian's podman, on a machine that has no Docker
# engine and reaches no container registry (only Debian's mirror and the npm registry), then checks it.
#
#  1. Base image, assembled locally in place of node:24-bookworm-slim: `debootstrap --variant=minbase bookworm`,
#     plus this machine's node and npm at /usr/local/bin (where the official images have them), the shared
#     libraries node needs, and a `node` user with uid/gid 1000, imported with `podman import` as
#     localhost/node-base:local. Cached in $PODMAN_WORK between runs.
#  2. `podman build --isolation=chroot --format docker --build-arg NODE_IMAGE=localhost/node-base:local .`
#     (vfs storage): every stage and RUN step of the Dockerfile, with `npm ci` against the npm registry.
#  3. Inspection: the image config (user, env, workdir, entrypoint/cmd, healthcheck, stop signal, ports, labels)
#     and the exported filesystem: /app holds only dist/, public/, package*.json and production node_modules,
#     all owned by root and not writable by the `node` user.
#  4. Run without a container engine (`podman run` fails here: setting RLIMIT_NOFILE is denied): the exported
#     root filesystem, mounted read-only, with /proc, a minimal /dev and a tmpfs /tmp, in new mount, PID and
#     network namespaces (loopback only), entered with `unshare --root --wd --setuid --setgid` as the image's
#     user, with the image's Env, WorkingDir and Entrypoint+Cmd, unchanged (PORT 8080). Checked from inside the
#     namespace: /healthz, the image's HEALTHCHECK command (run in the container's root as its user, like the
#     engine does), /readyz, the page, one voice turn; then SIGTERM to node, PID 1, must exit 0.
#
# Usage (as root; several minutes the first time): bash scripts/docker/build-image-podman.sh [--no-cache]
# Environment: PODMAN_WORK (cache dir, default /var/tmp/asi1-voice-podman), IMAGE (default
# localhost/asi1-voice-gateway:local), DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail

CONTEXT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="${PODMAN_WORK:-/var/tmp/asi1-voice-podman}"
IMAGE="${IMAGE:-localhost/asi1-voice-gateway:local}"
BASE_IMAGE="localhost/node-base:local"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
NO_CACHE=()
[ "${1:-}" = "--no-cache" ] && NO_CACHE=(--no-cache)
# Own storage, vfs (no overlay or fuse needed), cgroupfs and file events: nothing here depends on systemd.
PODMAN=(podman --root "$WORK/storage" --runroot "$WORK/runroot" --storage-driver=vfs --cgroup-manager=cgroupfs --events-backend=file)

log() { printf '[build-image-podman] %s\n' "$*"; }
fail() { printf '[build-image-podman] FAIL: %s\n' "$*" >&2; exit 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
human() { numfmt --to=iec-i --suffix=B --format='%.1f' "$1"; }

[ "$(id -u)" = 0 ] || fail "run as root (debootstrap, podman with vfs storage, namespaces)"
mkdir -p "$WORK"

# ---------------------------------------------------------------------------------------------------------
# Tools.
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "$(podman --version), $(debootstrap --version | head -n1), node $(node --version)"

# ---------------------------------------------------------------------------------------------------------
# 1. The base image.
NODE_BIN="$(readlink -f "$(command -v node)")"
NPM_DIR="$(cd "$(dirname "$(readlink -f "$(command -v npm)")")/.." && pwd)"
NODE_VERSION="$(node --version | sed 's/^v//')"
if "${PODMAN[@]}" image exists "$BASE_IMAGE" \
  && [ "$("${PODMAN[@]}" image inspect --format '{{ index .Labels "node.version" }}' "$BASE_IMAGE")" = "$NODE_VERSION" ]; then
  log "base image $BASE_IMAGE (node $NODE_VERSION) already there"
else
  if [ ! -f "$WORK/debootstrap/.complete" ]; then
    log "debootstrap --variant=minbase bookworm from $MIRROR"
    rm -rf "$WORK/debootstrap"
    debootstrap --variant=minbase bookworm "$WORK/debootstrap" "$MIRROR" > "$WORK/debootstrap.log" 2>&1 \
      || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    touch "$WORK/debootstrap/.complete"
  fi
  ROOTFS="$WORK/base-rootfs"
  rm -rf "$ROOTFS"
  cp -a "$WORK/debootstrap" "$ROOTFS"
  rm -f "$ROOTFS/.complete"
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/log/* "$ROOTFS"/tmp/*
  # node and npm where the official node images put them.
  install -D -m 0755 "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
  mkdir -p "$ROOTFS/usr/local/lib/node_modules" "$ROOTFS/usr/local/etc"
  cp -a "$NPM_DIR" "$ROOTFS/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOTFS/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$ROOTFS/usr/local/bin/npx"
  # Shared libraries node links against that the minimal system lacks (normally none: libstdc++6 is there).
  ldd "$NODE_BIN" | awk '/=> \//{print $3} /^\s*\/[^ ]+ \(/{print $1}' | while read -r lib; do
    real="$(readlink -f "$lib")"
    [ -e "$ROOTFS$lib" ] || { log "adding $lib"; install -D -m 0644 "$real" "$ROOTFS$lib"; }
  done
  # This machine reaches the npm registry through TLS inspection, with its CA in the system bundle and npm's
  # `cafile` setting. npm in the base image gets the same (global npmrc + bundle), as a company base image would;
  # node itself keeps its own CA store, so the gateway at run time is unaffected. Not needed with node:24-*.
  host_cafile="$(npm config get cafile 2>/dev/null || true)"
  if [ -n "$host_cafile" ] && [ "$host_cafile" != null ] && [ -f "$host_cafile" ]; then
    install -D -m 0644 "$host_cafile" "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
    printf 'cafile=/etc/ssl/certs/ca-certificates.crt\n' > "$ROOTFS/usr/local/etc/npmrc"
    log "npm in the base trusts this machine's CA bundle ($host_cafile)"
  fi
  env -i /usr/sbin/chroot "$ROOTFS" /usr/local/bin/node --version > /dev/null || fail "node does not run in the base root"
  env -i PATH=/usr/local/bin:/usr/bin:/bin /usr/sbin/chroot "$ROOTFS" /usr/local/bin/npm --version > /dev/null || fail "npm does not run in the base root"
  # The `node` user and group (uid/gid 1000, home /home/node), as in the official images.
  chroot "$ROOTFS" groupadd --gid 1000 node
  chroot "$ROOTFS" useradd --uid 1000 --gid node --shell /bin/bash --create-home node
  log "importing $BASE_IMAGE ($(du -sh "$ROOTFS" | cut -f1))"
  tar --numeric-owner --xattrs -C "$ROOTFS" -c . | "${PODMAN[@]}" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change "LABEL node.version=$NODE_VERSION" \
    --change 'LABEL org.opencontainers.image.description="local stand-in for node:24-bookworm-slim (scripts/docker/build-image-podman.sh)"' \
    --change 'CMD ["node"]' \
    - "$BASE_IMAGE" > /dev/null
  rm -rf "$ROOTFS"
fi
BASE_SIZE="$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$BASE_IMAGE")"
log "base image: $(human "$BASE_SIZE") (debian bookworm minbase + node $NODE_VERSION + npm)"

# ---------------------------------------------------------------------------------------------------------
# 2. The build: the Dockerfile as it is.
VERSION="$(node -p "require('$CONTEXT/package.json').version")"
build_start=$(now_ms)
log "podman build ${NO_CACHE[*]} (log: $WORK/build.log)"
"${PODMAN[@]}" build --isolation=chroot --format docker --pull=never "${NO_CACHE[@]}" \
  --build-arg "NODE_IMAGE=$BASE_IMAGE" \
  --build-arg "VERSION=$VERSION" \
  --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  --build-arg "REVISION=${REVISION:-}" \
  -t "$IMAGE" -f "$CONTEXT/Dockerfile" "$CONTEXT" > "$WORK/build.log" 2>&1 \
  || { tail -n 40 "$WORK/build.log" >&2; fail "podman build"; }
BUILD_MS=$(( $(now_ms) - build_start ))
log "built $IMAGE in $(( BUILD_MS / 1000 )).$(( BUILD_MS % 1000 / 100 )) s"
grep -E '^(STEP|\[[0-9]+/[0-9]+\] STEP) ' "$WORK/build.log" | sed 's/^/    /' || true

# ---------------------------------------------------------------------------------------------------------
# 3. Inspection.
"${PODMAN[@]}" image inspect "$IMAGE" > "$WORK/inspect.json"
IMAGE_SIZE="$("${PODMAN[@]}" image inspect --format '{{.Size}}' "$IMAGE")"
APP_LAYERS=$(( IMAGE_SIZE - BASE_SIZE ))
SAVED="$WORK/image.tar"
"${PODMAN[@]}" save --format docker-archive -o "$SAVED" "$IMAGE" > /dev/null
GZ_SIZE="$(gzip -c "$SAVED" | wc -c)"
rm -f "$SAVED"
log "image size: $(human "$IMAGE_SIZE") uncompressed ($IMAGE_SIZE bytes), of which the app's own layers $(human "$APP_LAYERS") above the base; $(human "$GZ_SIZE") as a gzipped archive"
"${PODMAN[@]}" history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | cut -c1-150 | sed 's/^/    /'

eval "$(node --input-type=module - "$WORK/inspect.json" <<'EOF'
import { readFileSync } from 'node:fs';
const [image] = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const c = image.Config ?? {};
const hc = image.HealthCheck ?? image.Healthcheck ?? c.Healthcheck ?? c.HealthCheck;
const q = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
check(c.User === 'node', `User is ${c.User}`);
check(c.WorkingDir === '/app', `WorkingDir is ${c.WorkingDir}`);
check((c.Env ?? []).includes('NODE_ENV=production'), 'NODE_ENV=production missing');
check(JSON.stringify(c.Entrypoint) === '["node"]' && JSON.stringify(c.Cmd) === '["dist/src/server.js"]', `Entrypoint ${JSON.stringify(c.Entrypoint)} Cmd ${JSON.stringify(c.Cmd)}`);
check(Object.keys(c.ExposedPorts ?? {}).includes('8080/tcp'), '8080/tcp not exposed');
check(c.StopSignal === 'SIGTERM', `StopSignal ${c.StopSignal}`);
check(hc?.Test?.[0] === 'CMD' && hc.Test[1] === 'node', `Healthcheck ${JSON.stringify(hc)}`);
const labels = c.Labels ?? image.Labels ?? {};
for (const k of ['title', 'description', 'source', 'licenses', 'version', 'revision', 'created', 'base.name']) check(`org.opencontainers.image.${k}` in labels, `label ${k} missing`);
check(labels['org.opencontainers.image.licenses'] === 'Apache-2.0', 'licenses label');
if (problems.length) { console.error(problems.join('\n')); console.log('exit 1'); }
console.error(`[build-image-podman] config: User=${c.User} WorkingDir=${c.WorkingDir} Entrypoint=${JSON.stringify(c.Entrypoint)} Cmd=${JSON.stringify(c.Cmd)} StopSignal=${c.StopSignal} ExposedPorts=${Object.keys(c.ExposedPorts ?? {})}`);
console.error(`[build-image-podman] healthcheck: ${JSON.stringify(hc?.Test)} every ${(hc?.Interval ?? 0) / 1e9}s; labels: ${Object.entries(labels).filter(([k]) => k.startsWith('org.opencontainers')).map(([k, v]) => `${k.slice(25)}=${v.length > 40 ? v.slice(0, 37) + '...' : v}`).join(', ')}`);
console.log(`IMAGE_ENV=(${(c.Env ?? []).map(q).join(' ')})`);
console.log(`IMAGE_ARGV=(${[...(c.Entrypoint ?? []), ...(c.Cmd ?? [])].map(q).join(' ')})`);
console.log(`IMAGE_HEALTHCHECK=(${(hc?.Test ?? []).slice(1).map(q).join(' ')})`);
console.log(`IMAGE_USER=${q(c.User)}; IMAGE_WORKDIR=${q(c.WorkingDir)}; IMAGE_STOPSIGNAL=${q(c.StopSignal ?? 'SIGTERM')}`);
EOF
)" || fail "image config"

# The exported filesystem of a (created, never started) container.
ROOTFS="$WORK/image-rootfs"
rm -rf "$ROOTFS"; mkdir -p "$ROOTFS"
"${PODMAN[@]}" rm -f asi1-verify > /dev/null 2>&1 || true
"${PODMAN[@]}" create --name asi1-verify "$IMAGE" > /dev/null
"${PODMAN[@]}" export asi1-verify | tar --numeric-owner -xpf - -C "$ROOTFS"
"${PODMAN[@]}" rm -f asi1-verify > /dev/null 2>&1  # (its note about systemd healthcheck timers is harmless)
IMAGE_UID="$(awk -F: -v u="$IMAGE_USER" '$1==u{print $3}' "$ROOTFS/etc/passwd")"
IMAGE_GID="$(awk -F: -v u="$IMAGE_USER" '$1==u{print $4}' "$ROOTFS/etc/passwd")"
[ "$IMAGE_UID" = 1000 ] || fail "user $IMAGE_USER has uid '$IMAGE_UID' in /etc/passwd"
APP="$ROOTFS$IMAGE_WORKDIR"
[ -f "$APP/dist/src/server.js" ] || fail "/app/dist/src/server.js missing"
[ -f "$APP/public/index.html" ] || fail "/app/public/index.html missing"
entries="$(cd "$APP" && ls -A | sort | tr '\n' ' ')"
[ "$entries" = "dist node_modules package-lock.json package.json public " ] || fail "unexpected /app contents: $entries"
[ -z "$(find "$APP" ! -user 0 -print -quit)" ] || fail "files under /app not owned by root"
[ -z "$(find "$APP" -perm -o+w ! -type l -print -quit)" ] || fail "world-writable files under /app"
[ -z "$(find "$ROOTFS" -xdev -name '.env' -print -quit)" ] || fail ".env in the image"
node --input-type=module - "$APP" <<'EOF' || fail "dependencies in /app/node_modules"
import { existsSync, readFileSync } from 'node:fs';
const app = process.argv[2];
const pkg = JSON.parse(readFileSync(`${app}/package.json`, 'utf8'));
const dev = [...new Set([...Object.keys(pkg.devDependencies ?? {}), 'typescript', 'vitest', 'eslint', 'tsx'])];
const present = dev.filter((d) => existsSync(`${app}/node_modules/${d}`));
const missing = Object.keys(pkg.dependencies ?? {}).filter((d) => !existsSync(`${app}/node_modules/${d}/package.json`));
if (present.length || missing.length) { console.error({ devDependenciesPresent: present, missing }); process.exit(1); }
console.log(`[build-image-podman] /app/node_modules: all ${Object.keys(pkg.dependencies).length} production dependencies, none of ${dev.length} dev ones`);
EOF
log "filesystem: user $IMAGE_USER=$IMAGE_UID:$IMAGE_GID; /app = $entries(root-owned, read-only to $IMAGE_USER); /app $(du -sh "$APP" | cut -f1), node_modules $(du -sh "$APP/node_modules" | cut -f1)"

# ---------------------------------------------------------------------------------------------------------
# 4. Run the entrypoint in the exported root, as a container engine would.
RUNLOG="$WORK/run.log"
# Inside new mount, PID and network namespaces: loopback up, the root read-only, /proc, /dev and /tmp mounted,
# then `unshare --root --wd --setgid --setuid` becomes the image's user in its root and runs Entrypoint+Cmd
# with exactly the image's Env (plus HOME and HOSTNAME, which an engine adds).
unshare --mount --pid --net --uts --fork --kill-child -- bash -c '
  set -euo pipefail
  R=$1; WD=$2; U=$3; G=$4; shift 4
  hostname asi1-verify
  ip link set lo up
  mount --make-rprivate /
  mount --bind "$R" "$R"
  mount -o remount,bind,ro "$R"
  mount -t proc proc "$R/proc"
  mount -t tmpfs -o nosuid,noexec,mode=755 tmpfs "$R/dev"
  for d in null zero full random urandom tty; do touch "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
  mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs "$R/tmp"
  exec "$@"
' verify "$ROOTFS" "$IMAGE_WORKDIR" "$IMAGE_UID" "$IMAGE_GID" \
  env -i "${IMAGE_ENV[@]}" HOME=/home/node HOSTNAME=asi1-verify \
  unshare --root="$ROOTFS" --wd="$IMAGE_WORKDIR" --setgid="$IMAGE_GID" --setuid="$IMAGE_UID" -- "${IMAGE_ARGV[@]}" \
  > "$RUNLOG" 2>&1 &
RUNNER=$!
cleanup() {
  kill -KILL "$RUNNER" 2>/dev/null || true
  wait "$RUNNER" 2>/dev/null || true
}
trap cleanup EXIT
run_started=$(now_ms)
NODE_PID=""
until [ -n "$NODE_PID" ] && [ "$(readlink "/proc/$NODE_PID/exe" 2>/dev/null)" != "$(readlink -f "$(command -v unshare)")" ] \
  && [ "$(readlink "/proc/$NODE_PID/exe" 2>/dev/null)" != "$(readlink -f "$(command -v env)")" ] \
  && [ "$(readlink "/proc/$NODE_PID/exe" 2>/dev/null)" != "$(readlink -f "$(command -v bash)")" ]; do
  kill -0 "$RUNNER" 2>/dev/null || { cat "$RUNLOG" >&2; fail "the container process exited"; }
  NODE_PID="$(awk '{print $1}' "/proc/$RUNNER/task/$RUNNER/children" 2>/dev/null || true)"
  sleep 0.05
done
nspid="$(awk '/^NSpid/{print $NF}' "/proc/$NODE_PID/status")"
log "entrypoint running: host pid $NODE_PID = pid $nspid in its namespace, uid $(awk '/^Uid/{print $2}' "/proc/$NODE_PID/status"), root $(readlink "/proc/$NODE_PID/root"), cwd $(readlink "/proc/$NODE_PID/cwd" | sed "s|^$ROOTFS||"), exe $(readlink "/proc/$NODE_PID/exe" | sed "s|^$ROOTFS||")"
[ "$nspid" = 1 ] || fail "node is not PID 1 in its namespace"

# Commands in the container's network namespace (host node), and exec-like commands in its root as its user.
in_net() { nsenter --target "$NODE_PID" --net -- "$@"; }
in_container() { env -i "${IMAGE_ENV[@]}" HOME=/home/node nsenter --target "$NODE_PID" --net --mount --pid --root --wd --setuid "$IMAGE_UID" --setgid "$IMAGE_GID" -- "$@"; }
http() {
  in_net node -e "fetch(process.argv[1],{signal:AbortSignal.timeout(3000)}).then(async r=>{const b=await r.text();console.log(r.status,(r.headers.get('content-type')||'-').split(';')[0],b.length)},()=>console.log('000 - 0'))" "$1"
}
until [ "$(http http://127.0.0.1:8080/healthz | cut -d' ' -f1)" = 200 ]; do
  kill -0 "$RUNNER" 2>/dev/null || { cat "$RUNLOG" >&2; fail "the server exited"; }
  [ $(( $(now_ms) - run_started )) -lt 30000 ] || { cat "$RUNLOG" >&2; fail "/healthz did not answer within 30 s"; }
  sleep 0.1
done
log "/healthz 200 on :8080 in the container's network namespace, $(( $(now_ms) - run_started )) ms after start"
in_container "${IMAGE_HEALTHCHECK[@]}" || fail "the image's HEALTHCHECK failed inside the container"
log "HEALTHCHECK ${IMAGE_HEALTHCHECK[0]} -e ... run inside the container as uid $IMAGE_UID: exit 0"
until [ "$(http http://127.0.0.1:8080/readyz | cut -d' ' -f1)" = 200 ]; do
  [ $(( $(now_ms) - run_started )) -lt 30000 ] || fail "/readyz: $(http http://127.0.0.1:8080/readyz)"
  sleep 0.1
done
page="$(http http://127.0.0.1:8080/)"
[[ "$page" == "200 text/html "* ]] || fail "page: $page"
log "/readyz 200; page: $page"
in_net node --input-type=module - "$APP" <<'EOF' || fail "voice turn"
const [app] = process.argv.slice(2);
const { default: WebSocket } = await import(`${app}/node_modules/ws/wrapper.mjs`);
const ws = new WebSocket('ws://127.0.0.1:8080/v1/voice');
const timer = setTimeout(() => { console.error('no response.done within 10 s'); process.exit(1); }, 10_000);
let ready;
ws.on('message', (data) => {
  const event = JSON.parse(String(data));
  if (event.type === 'session.ready') { ready = event; ws.send(JSON.stringify({ type: 'turn', text: 'Hello there' })); }
  if (event.type === 'response.done') {
    clearTimeout(timer);
    if (event.status !== 'completed') { console.error(event); process.exit(1); }
    console.log(`[build-image-podman] voice turn: session.ready (upstream ${ready.upstream}, model ${ready.model}) ... response.done completed`);
    ws.close();
  }
});
ws.on('error', (err) => { console.error(err); process.exit(1); });
EOF
stop_at=$(now_ms)
kill -s "${IMAGE_STOPSIGNAL#SIG}" "$NODE_PID"
rc=0; wait "$RUNNER" || rc=$?
trap - EXIT
STOP_MS=$(( $(now_ms) - stop_at ))
[ "$rc" = 0 ] || { tail -n 20 "$RUNLOG" >&2; fail "exit status $rc after $IMAGE_STOPSIGNAL"; }
grep -q 'shutdown requested' "$RUNLOG" || fail "no 'shutdown requested' in the log"
log "$IMAGE_STOPSIGNAL to PID 1: exit 0 in $STOP_MS ms"
rm -rf "$ROOTFS"

log "SUMMARY image=$IMAGE size=$IMAGE_SIZE ($(human "$IMAGE_SIZE")) app_layers=$APP_LAYERS ($(human "$APP_LAYERS")) gzip=$GZ_SIZE ($(human "$GZ_SIZE")) base=$BASE_SIZE ($(human "$BASE_SIZE")) build_ms=$BUILD_MS stop_ms=$STOP_MS"
