// Bounded soak test (`npm run soak`, never part of `npm test`): N sessions × M turns through a separate gateway
// process, with random barge-ins, disconnects and injected upstream faults. Checks that every response.created
// gets exactly one response.done and that nothing of a response follows it; reports lost responses, error counts
// and gateway memory over time. Exits non-zero when an invariant breaks.
// Usage: npm run soak -- [--sessions 50] [--turns 20] [--fault-rate 0.25] [--barge-in-rate 0.3] [--out file.json]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import type { ServerEvent } from '../src/protocol.js';
import type { SimScenario } from '../src/simulator/scenario.js';
import { startSimulator } from '../src/simulator/server.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '50' },
    turns: { type: 'string', default: '20' },
    'fault-rate': { type: 'string', default: '0.25' },
    'barge-in-rate': { type: 'string', default: '0.3' },
    'disconnect-rate': { type: 'string', default: '0.05' },
    out: { type: 'string' },
  },
});
const sessions = Number(args.sessions);
const turns = Number(args.turns);
const faultRate = Number(args['fault-rate']);
const bargeInRate = Number(args['barge-in-rate']);
const disconnectRate = Number(args['disconnect-rate']);

/** A random upstream fault, or nothing: every way the simulator can fail. */
function randomScenario(): Partial<SimScenario> | undefined {
  const r = Math.random();
  if (r >= faultRate) return undefined;
  const faults: Partial<SimScenario>[] = [
    { status: 500 },
    { status: 503, errorBody: 'html' },
    { status: 429, retryAfter: '0' },
    { status: 400 },
    { dropAfterChunks: 1 + Math.floor(Math.random() * 20) },
    { stallAfterChunks: Math.floor(Math.random() * 10) },
    { profile: 'gen1', reasoning: 'thinking hard' },
    { toolCalls: [{ name: 'calculate', arguments: '{"expression":"6*7"}' }] },
    { splitWrites: true, crlf: true, keepAliveComments: true },
  ];
  return faults[Math.floor((r / faultRate) * faults.length)];
}

const simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 40, interTokenMs: 8 }, scenarioFor: randomScenario });
const port = await freePort();
// The built gateway, as operators run it (built first when dist/ is missing or stale).
execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
const gateway = spawn(process.execPath, ['dist/src/server.js'], {
  env: {
    ...process.env,
    ASI_ONE_API_KEY: 'soak',
    ASI_BASE_URL: simulator.url,
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    UPSTREAM_STALL_TIMEOUT_MS: '800',
    UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '2000',
    TURNS_PER_MINUTE: '100000',
    MAX_CONNECTIONS_PER_IP: '100000',
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});
await waitForHealth(port);
const url = `ws://127.0.0.1:${port}/v1/voice`;

const totals = { created: 0, done: 0, lost: 0, resumes: 0, violations: [] as string[], status: {} as Record<string, number>, errors: {} as Record<string, number>, disconnects: 0 };
const memory: { atMs: number; rssMiB: number; heapMiB: number }[] = [];
const startedAt = Date.now();
const sampler = setInterval(() => void sampleMemory(), 1_000);
/** RSS from /proc, and the V8 heap in use from the gateway's own /metrics (what a leak would grow). */
async function sampleMemory(): Promise<void> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text().catch(() => '');
  const heap = Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0);
  memory.push({ atMs: Date.now() - startedAt, rssMiB: rssMiB(gateway.pid ?? 0), heapMiB: Math.round(heap / 104857.6) / 10 });
}

await Promise.all(Array.from({ length: sessions }, (_, i) => runSession(i)));
clearInterval(sampler);
await sampleMemory();
// The server's own accounting must match: every response it created was settled (dropped sockets included).
const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const serverSettled = [...metrics.matchAll(/^asi1_gateway_responses_total\{status="\w+"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
const serverActive = Number(/^asi1_gateway_active_responses (\d+)/m.exec(metrics)?.[1] ?? NaN);
if (serverSettled !== totals.created) totals.violations.push(`server settled ${serverSettled} responses, clients saw ${totals.created} created`);
if (serverActive !== 0) totals.violations.push(`server still has ${serverActive} active responses`);
const processGauges = Object.fromEntries(
  ['nodejs_external_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_open_fds', 'nodejs_active_handles_total', 'asi1_gateway_open_sessions'].map((name) => [
    name,
    Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN),
  ]),
);
gateway.kill('SIGTERM');
await new Promise((resolve) => gateway.once('exit', resolve));
await simulator.close();

const report = {
  date: new Date().toISOString(),
  sessions,
  turns,
  faultRate,
  bargeInRate,
  disconnectRate,
  durationS: Math.round((Date.now() - startedAt) / 100) / 10,
  upstreamRequests: simulator.requests.length,
  serverSettled,
  processGauges,
  ...totals,
  memory: {
    rss: { firstMiB: memory[0]?.rssMiB, maxMiB: Math.max(...memory.map((m) => m.rssMiB)), lastMiB: memory.at(-1)?.rssMiB },
    heap: { firstMiB: memory[0]?.heapMiB, maxMiB: Math.max(...memory.map((m) => m.heapMiB)), lastMiB: memory.at(-1)?.heapMiB },
    samples: memory,
  },
};
console.log(JSON.stringify({ ...report, memory: { ...report.memory, samples: report.memory.samples.length } }, null, 2));
if (args.out) writeFileSync(args.out, JSON.stringify(report, null, 2));
process.exit(totals.lost === 0 && totals.violations.length === 0 ? 0 : 1);

/**
 * One session: M turns, with random barge-ins and dropped connections. After a drop the client reconnects and
 * resumes (protocol 1.1) from the last seq it saw, so every response it started must still reach response.done.
 */
async function runSession(index: number): Promise<void> {
  const state = { created: new Set<string>(), done: new Map<string, number>(), texts: new Map<string, string>() };
  // Set from the first session.ready and kept current as events arrive (a mutable box: callbacks update it).
  const resume: { sessionId: string; resumeToken: string; lastSeq: number } = { sessionId: '', resumeToken: '', lastSeq: 0 };
  let turn = 0;
  let awaitingDone: string | null = null;
  while (turn < turns || awaitingDone !== null) {
    const socket = new WebSocket(url);
    const inbox: ServerEvent[] = [];
    let waiter: ((e: ServerEvent) => void) | undefined;
    socket.on('message', (data) => {
      const event = JSON.parse(String(data)) as ServerEvent;
      if (event.type === 'session.ready') {
        if (resume.sessionId === '') Object.assign(resume, { sessionId: event.sessionId, resumeToken: event.resumeToken ?? '', lastSeq: event.seq });
      } else {
        resume.lastSeq = event.seq;
        check(event, state, index);
      }
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w(event);
      } else inbox.push(event);
    });
    const next = () => {
      const queued = inbox.shift();
      return queued ? Promise.resolve(queued) : new Promise<ServerEvent>((resolve) => (waiter = resolve));
    };
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const ready = await next();
    if (ready.type === 'session.ready' && resume.sessionId !== ready.sessionId) {
      socket.send(JSON.stringify({ type: 'session.resume', ...resume }));
      // Replayed events (errors included) come first; the answer is session.resumed or GW_RESUME_FAILED.
      let answer = await next();
      while (answer.type !== 'session.resumed' && !(answer.type === 'error' && answer.code === 'GW_RESUME_FAILED')) answer = await next();
      if (answer.type === 'error') totals.violations.push(`session ${index}: resume failed (${answer.code})`);
      else totals.resumes += 1;
    }
    let dropped = false;
    while (!dropped && (turn < turns || awaitingDone !== null)) {
      if (awaitingDone === null) {
        turn += 1;
        socket.send(JSON.stringify({ type: 'turn', text: `Soak session ${index} turn ${turn}: tell me something.` }));
      }
      const bargeAfter = Math.random() < bargeInRate ? 1 + Math.floor(Math.random() * 15) : -1;
      const dropAfter = Math.random() < disconnectRate ? 1 + Math.floor(Math.random() * 10) : -1;
      let deltas = 0;
      for (;;) {
        if (awaitingDone !== null && state.done.has(awaitingDone)) {
          awaitingDone = null;
          break;
        }
        const event = await Promise.race([next(), closed.then(() => null)]);
        if (event === null) {
          dropped = true;
          break;
        }
        if (event.type === 'response.created') awaitingDone = event.responseId;
        if (event.type === 'response.delta') {
          deltas += 1;
          if (deltas === bargeAfter) socket.send(JSON.stringify({ type: 'response.cancel', heardChars: Math.floor(Math.random() * 40) }));
          if (deltas === dropAfter) {
            totals.disconnects += 1;
            socket.terminate();
          }
        }
        if (event.type === 'response.done' && event.responseId === awaitingDone) {
          awaitingDone = null;
          break;
        }
        if (event.type === 'error' && event.code === 'GW_RATE_LIMITED') break;
      }
    }
    socket.close();
    await closed;
  }
  // Every response this session saw created must have been seen done, across all its connections.
  for (const id of state.created) if (!state.done.has(id)) totals.lost += 1;
}

function check(event: ServerEvent, state: { created: Set<string>; done: Map<string, number>; texts: Map<string, string> }, index: number): void {
  if (!('responseId' in event) || event.responseId === undefined) return;
  const id = event.responseId;
  if (state.done.has(id)) totals.violations.push(`session ${index}: ${event.type} after response.done of ${id}`);
  switch (event.type) {
    case 'response.created':
      totals.created += 1;
      state.created.add(id);
      state.texts.set(id, '');
      return;
    case 'response.delta':
      state.texts.set(id, (state.texts.get(id) ?? '') + event.text);
      return;
    case 'response.done':
      totals.done += 1;
      state.done.set(id, event.seq);
      totals.status[event.status] = (totals.status[event.status] ?? 0) + 1;
      if (event.error) totals.errors[event.error.code] = (totals.errors[event.error.code] ?? 0) + 1;
      if (state.texts.get(id) !== event.text) totals.violations.push(`session ${index}: deltas of ${id} do not join to its text`);
      return;
    default:
      return;
  }
}

function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the gateway did not become healthy');
}
