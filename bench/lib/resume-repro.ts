// Minimal reproduction of a cross-instance resume that never answers (found by `npm run soak -- --instances 2`).
// Two gateways A and B on one redis-server. 1) on A: a turn, drop the socket mid-stream; 2) on B: resume, wait for
// session.resumed (relayed from A), drop the socket while A's response still streams; 3) wait until A finished
// the response (A then releases the session to B, whose relay was aborted, so nobody hosts it); 4) on A: resume.
// Expected: the replay, then session.resumed (or GW_RESUME_FAILED). Run: npx tsx bench/lib/resume-repro.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import WebSocket from 'ws';
import { startSimulator } from '../../src/simulator/server.js';
import { RedisServer } from '../../test/redis-server.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (...a: unknown[]) => console.log(...a);

const simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 40, interTokenMs: 20 } });
const redis = await RedisServer.start();
const logFile = createWriteStream(process.env.REPRO_LOG ?? '/tmp/resume-repro-gateways.log');
const gw: { name: string; port: number; child: ChildProcess }[] = [];
for (const name of ['A', 'B']) {
  const port = await freePort();
  const child = spawn(process.execPath, ['dist/src/server.js'], {
    env: {
      ...process.env,
      ASI_ONE_API_KEY: 'x',
      ASI_BASE_URL: simulator.url,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'info',
      REDIS_URL: redis.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => logFile.write(d.toString().replace(/^/gm, `${name} `)));
  child.stderr?.on('data', (d: Buffer) => logFile.write(d.toString().replace(/^/gm, `${name} `)));
  gw.push({ name, port, child });
}
for (const g of gw) {
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${g.port}/readyz`)).ok) break;
    } catch {
      /* not yet */
    }
    await sleep(100);
  }
}

let lastSeq = 0;
let sessionId = '';
let resumeToken = '';
function open(g: (typeof gw)[number], label: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${g.port}/v1/voice`);
  const events: { type: string; seq: number; [k: string]: unknown }[] = [];
  let dead = false;
  ws.on('message', (data) => {
    if (dead) return;
    const e = JSON.parse(String(data)) as { type: string; seq: number; [k: string]: unknown };
    events.push(e);
    if (e.type === 'session.ready' && sessionId === '') {
      sessionId = String(e.sessionId);
      resumeToken = String(e.resumeToken);
    }
    if (e.type !== 'session.ready' || label === 'ws1') lastSeq = e.seq;
    const brief =
      e.type === 'response.delta' || e.type === 'response.speech'
        ? `${e.type} ${String(e.responseId)}`
        : JSON.stringify(e).slice(0, 160);
    log(`${label}@${g.name} <- seq ${e.seq} ${brief}`);
  });
  ws.on('close', (code) => log(`${label}@${g.name} closed ${code}${dead ? ' (by us)' : ''}`));
  const kill = () => {
    dead = true;
    ws.terminate();
    log(`${label}@${g.name} terminated by the client (lastSeq ${lastSeq})`);
  };
  const waitFor = async (pred: (e: (typeof events)[number]) => boolean, ms: number) => {
    const t = Date.now();
    while (Date.now() - t < ms) {
      if (events.some(pred)) return true;
      await sleep(5);
    }
    return false;
  };
  return { ws, events, kill, waitFor, opened: new Promise((r) => ws.once('open', r)) };
}
const [A, B] = gw as [(typeof gw)[number], (typeof gw)[number]];

// 1) A: a turn; drop after 3 deltas.
const c1 = open(A, 'ws1');
await c1.opened;
await c1.waitFor((e) => e.type === 'session.ready', 5000);
c1.ws.send(JSON.stringify({ type: 'turn', text: 'Tell me something long.' }));
await c1.waitFor(
  (e) => e.type === 'response.delta' && c1.events.filter((x) => x.type === 'response.delta').length >= 3,
  5000,
);
c1.kill();

// 2) B: resume, wait for session.resumed (relayed), then drop while A still streams the response.
const c2 = open(B, 'ws2');
await c2.opened;
await c2.waitFor((e) => e.type === 'session.ready', 5000);
c2.ws.send(JSON.stringify({ type: 'session.resume', sessionId, resumeToken, lastSeq }));
log(`ws2@B -> session.resume lastSeq ${lastSeq}`);
await c2.waitFor((e) => e.type === 'session.resumed', 5000);
c2.kill();

// 3) let A finish the response (it then releases the session to B).
await sleep(3000);

// 4) A: resume.
const c3 = open(A, 'ws3');
await c3.opened;
await c3.waitFor((e) => e.type === 'session.ready', 5000);
c3.ws.send(JSON.stringify({ type: 'session.resume', sessionId, resumeToken, lastSeq }));
log(`ws3@A -> session.resume lastSeq ${lastSeq}`);
const answered = await c3.waitFor(
  (e) => e.type === 'session.resumed' || (e.type === 'error' && e.code === 'GW_RESUME_FAILED'),
  10_000,
);
log(answered ? 'OK: the resume was answered' : 'BUG: no session.resumed and no GW_RESUME_FAILED within 10 s');
// The socket does speak for the session though: a ping is answered in the old numbering.
c3.ws.send(JSON.stringify({ type: 'ping', eventId: 'p1' }));
await c3.waitFor((e) => e.type === 'pong', 2000);
c3.ws.close();
for (const g of gw) g.child.kill('SIGTERM');
await Promise.all(gw.map((g) => new Promise((r) => g.child.once('exit', r))));
await redis.kill();
await simulator.close();
process.exit(answered ? 0 : 1);
