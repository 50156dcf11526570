#!/usr/bin/env bash
# Checks deploy/nginx.conf, the compose load balancer, with a real nginx in front of two real gateways, all on
# loopback (no container engine): the config is the committed one with only what compose provides swapped in
# (replica addresses gateway-N:8080 -> 127.0.0.1:<port>, listen 8080 -> 127.0.0.1:<port>, pid and log paths)
# and Docker's DNS (`resolver` and the `resolve` server flag, nginx >= 1.27.3) taken out when this nginx is older.
#
# Checked through nginx: the page; a browser-like WebSocket (Origin = the page's origin, so Host must keep its
# port) gets session.ready and a completed voice turn; a foreign Origin is refused; X-Forwarded-For from the
# client is replaced, not trusted (MAX_CONNECTIONS_PER_IP=1 per replica: three sockets claiming three addresses
# get two through, one per replica); after SIGTERM to one replica, new sockets go to the other.
#
# Usage: bash scripts/docker/check-lb.sh   (needs nginx: apt-get install -y nginx; after npm ci; about 15 s)
set -euo pipefail

CONTEXT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$CONTEXT"
log() { printf "[check-lb] %s (%ss)\n" "$*" "$SECONDS"; }
fail() { printf '[check-lb] FAIL: %s\n' "$*" >&2; exit 1; }
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || fail "nginx is not installed (apt-get install -y nginx)"
[ -d node_modules ] || fail "run npm ci first"

WORK="$(mktemp -d /tmp/asi1-check-lb.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  # TERM first: nginx's master then stops its workers (KILL would orphan them), the gateways drain.
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0; for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ "$rc" -ne 0 ]; then for f in "$WORK"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done; fi
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
log "start"
free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# The gateway, compiled into the work dir (public/ and node_modules from the checkout).
node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir "$WORK/app/dist" > "$WORK/tsc.log" 2>&1 || fail "tsc"
cp package.json "$WORK/app/"
ln -s "$CONTEXT/node_modules" "$WORK/app/node_modules"
ln -s "$CONTEXT/public" "$WORK/app/public"

log "compiled"
P1="$(free_port)"; P2="$(free_port)"; LB="$(free_port)"
start_gateway() { # name port
  (cd "$WORK/app" && exec env -i "PATH=$PATH" NODE_ENV=production HOST=127.0.0.1 "PORT=$2" TRUST_PROXY=on \
    MAX_CONNECTIONS_PER_IP=1 SHUTDOWN_GRACE_MS=2000 SIMULATOR_TTFT_MS=20 SIMULATOR_TOKEN_INTERVAL_MS=2 \
    node dist/src/server.js) > "$WORK/$1.log" 2>&1 &
  PIDS+=($!)
  disown $!
}
start_gateway gateway-1 "$P1"; G1=${PIDS[-1]}
start_gateway gateway-2 "$P2"

# The committed config, with compose's names and ports swapped for loopback ones.
sed -e "s/gateway-1:8080/127.0.0.1:$P1/; s/gateway-2:8080/127.0.0.1:$P2/" \
    -e "s/^\(\s*\)listen 8080;/\1listen 127.0.0.1:$LB;/" \
    -e "s|^pid .*|pid $WORK/nginx.pid;|; s|access_log /dev/stdout|access_log $WORK/access.log|" \
    deploy/nginx.conf > "$WORK/nginx.conf"
nginx_version="$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')"
if [ "$(printf '%s\n1.27.3\n' "$nginx_version" | sort -V | head -n1)" != 1.27.3 ]; then
  sed -i -e '/^\s*resolver /d' -e 's/ resolve;/;/' "$WORK/nginx.conf"
  log "nginx $nginx_version: without resolver/resolve (Docker DNS only; compose uses nginx 1.28)"
fi
[ "$(grep -c "127.0.0.1:$P1\|127.0.0.1:$P2\|listen 127.0.0.1:$LB" "$WORK/nginx.conf")" = 3 ] || fail "config substitution"
"$NGINX" -t -p "$WORK" -c "$WORK/nginx.conf" > "$WORK/nginx-t.log" 2>&1 || fail "nginx -t: $(cat "$WORK/nginx-t.log")"
log "nginx -t: ok"
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -g 'daemon off;' > "$WORK/nginx.log" 2>&1 &
PIDS+=($!)
disown $!

for port in "$P1" "$P2" "$LB"; do
  for _ in $(seq 1 200); do
    node -e "fetch('http://127.0.0.1:$port/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" 2>/dev/null && break
    sleep 0.1
  done
done

node --input-type=module - "$LB" "$G1" <<'EOF'
const [lb, g1] = process.argv.slice(2).map(Number);
const { default: WebSocket } = await import(`${process.cwd()}/node_modules/ws/wrapper.mjs`);
const base = `127.0.0.1:${lb}`;
const check = (ok, what) => { if (!ok) { console.error(`[check-lb] FAIL: ${what}`); process.exit(1); } console.log(`[check-lb] ${what}`); };

const page = await fetch(`http://${base}/`);
check(page.status === 200 && page.headers.get('content-type')?.startsWith('text/html'), `page through nginx: ${page.status}`);

function open(headers) {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${base}/v1/voice`, { headers });
    ws.once('unexpected-response', (req, res) => { resolve({ status: res.statusCode }); req.destroy(); });
    ws.once('error', (err) => resolve({ error: String(err) }));
    ws.once('message', (data) => resolve({ ws, ready: JSON.parse(String(data)) }));
  });
}
function turn(ws) {
  return new Promise((resolve) => {
    ws.on('message', (data) => { const e = JSON.parse(String(data)); if (e.type === 'response.done') resolve(e); });
    ws.send(JSON.stringify({ type: 'turn', text: 'Hello through the load balancer' }));
  });
}

// A browser on the page's origin: Host must reach the gateway with its port for the same-origin check.
const browser = await open({ Origin: `http://${base}` });
check(browser.ready?.type === 'session.ready', `WebSocket upgrade with Origin http://${base}: ${browser.ready?.type ?? JSON.stringify(browser)}`);
const done = await turn(browser.ws);
check(done.status === 'completed', `voice turn through nginx: response.done ${done.status}, ${done.text.length} chars`);
browser.ws.close();
const foreign = await open({ Origin: 'http://evil.example' });
check(foreign.status === 403, `foreign Origin refused: ${foreign.status}`);

// X-Forwarded-For is set by nginx: three sockets that claim three addresses are all 127.0.0.1 to the replicas,
// which allow one each (MAX_CONNECTIONS_PER_IP=1).
await new Promise((r) => setTimeout(r, 200));
const spoofed = [];
for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) spoofed.push(await open({ 'X-Forwarded-For': ip }));
const accepted = spoofed.filter((s) => s.ws).length;
check(accepted === 2, `client X-Forwarded-For not trusted: ${accepted} of 3 spoofed-address sockets accepted (one per replica), the third got ${spoofed.find((s) => !s.ws)?.status}`);
for (const s of spoofed) s.ws?.close();
await new Promise((r) => setTimeout(r, 200));

// One replica stops: new sockets land on the other.
process.kill(g1, 'SIGTERM');
await new Promise((r) => setTimeout(r, 300));
let ok = 0;
for (let i = 0; i < 4; i++) {
  const s = await open({});
  if (s.ws) { ok++; s.ws.close(); await new Promise((r) => setTimeout(r, 50)); }
}
check(ok === 4, `gateway-1 stopped (SIGTERM): ${ok} of 4 new sockets served by gateway-2`);
process.exit(0);
EOF
grep -q '"shutdown requested"' "$WORK/gateway-1.log" || fail "gateway-1 did not log its shutdown"
log "OK"
