// `npm run bench:hot-path`: the gateway's own CPU per delta, from upstream SSE bytes to WebSocket frame bytes, in
// one process with no I/O: the upstream stream reader, the reply run (speech segmentation included), the event
// log with its replay buffer, and the outbox. Beside it, in the same run and on the same bytes, the floor relay's
// per-delta work (split, JSON.parse, one JSON.stringify). The ratio of the two is the part of §2's figure that
// the gateway's code decides; the socket and HTTP work both pay is left out, so it moves far less in the
// whole-system bench. Each figure is the fastest of --rounds (default 7), each round from a collected heap (the
// npm script runs node with --expose-gc); --sessions N replies interleaved per round (1000), --tokens each (60).
// --evict-kb N (0) writes over N KiB between chunks (cache-evictor.ts): colder caches, nearer a real relay's.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { EventLog } from '../src/hosting/event-log.js';
import { Outbox } from '../src/hosting/outbox.js';
import { SecretRedactor } from '../src/secrets.js';
import { ResponseRun } from '../src/session/response-run.js';
import { SessionToolRunner } from '../src/session/tool-runner.js';
import { createGen2Encoder } from '../src/simulator/wire-gen2.js';
import { tokenize } from '../src/simulator/plan.js';
import { ToolRegistry } from '../src/tools/registry.js';
import { createChunkReader } from '../src/upstream/chunk-reader.js';
import { outputBudgetChars } from '../src/upstream/output-budget.js';
import { SseStreamReader, type StreamHost } from '../src/upstream/sse-stream-reader.js';
import type { ChatEventSink, ChatOutcome, ChatStreamer } from '../src/upstream/types.js';
import { CacheEvictor } from './lib/cache-evictor.js';
import { readContents } from './lib/floor-sse.js';
import { intOption } from './lib/focused-bench.js';
import { buildBenchReply } from './lib/workload.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string' },
    sessions: { type: 'string' },
    tokens: { type: 'string' },
    'evict-kb': { type: 'string' },
  },
  strict: true,
});
const rounds = intOption('rounds', values.rounds, 7, 1);
const sessions = intOption('sessions', values.sessions, 1_000, 1);
const tokens = intOption('tokens', values.tokens, 60, 1);
const evictKib = intOption('evict-kb', values['evict-kb'], 0, 0);
/** Between two chunks (either path): a no-op, or the cache eviction of --evict-kb. */
const evictor = evictKib > 0 ? new CacheEvictor(evictKib) : null;

/** One reply's SSE body as the simulator sends it (gen-2), one Buffer per chunk, as they reach the gateway. */
function replyChunks(): Buffer[] {
  const encoder = createGen2Encoder({ model: 'asi1-mini', stampEmitTime: false });
  // finish() reads only these two fields of a plan.
  const plan = { finishReason: 'stop', usage: { promptTokens: 1, completionTokens: tokens, totalTokens: 1 + tokens } };
  const events = [
    encoder.opening(),
    ...tokenize(buildBenchReply(tokens)).map((token) => encoder.content(token)),
    ...encoder.finish(plan as never, false),
    '[DONE]',
  ];
  return events.map((data) => Buffer.from(`data: ${data}\n\n`));
}

/** A WebSocket as far as the outbox uses it: open, never backed up, counting what it is handed. */
class CountingSocket {
  readonly OPEN = 1;
  readonly readyState = 1;
  readonly bufferedAmount = 0;
  frames = 0;
  /** The last frame, kept to check the run at its end (a reference: no copy, no parse on the measured path). */
  last: string | Buffer = '';
  send(data: string | Buffer): void {
    this.frames += 1;
    this.last = data;
  }
}

/** The text of the last frame's response.done: both paths must have relayed the whole reply. */
function doneText(socket: CountingSocket): string {
  const event = JSON.parse(socket.last.toString()) as { type?: string; text?: string };
  return event.type === 'response.done' ? (event.text ?? '') : '';
}

const OUTCOME: ChatOutcome = { finishReason: 'stop', usage: null, aborted: false, attempts: 1 };

/**
 * The upstream client's body path without the HTTP: each request gets a real SseStreamReader, and the driver
 * pushes the reply's chunks to all open requests in turn, one chunk each, as many sessions' streams interleave.
 */
class InterleavedUpstream implements ChatStreamer {
  private readonly secrets = new SecretRedactor([]);
  readonly open: { reader: SseStreamReader; settle: () => void }[] = [];
  stream(_request: unknown, sink: ChatEventSink): Promise<ChatOutcome> {
    const host: StreamHost = {
      alive() {},
      deliver(events) {
        for (const event of events) sink(event);
      },
      fail(code) {
        throw new Error(code);
      },
      failWith(error) {
        throw error;
      },
      streamDone() {},
      cutAtBudget() {},
    };
    const reader = new SseStreamReader(
      host,
      createChunkReader(),
      outputBudgetChars(undefined),
      this.secrets,
      undefined,
    );
    return new Promise((resolve) => this.open.push({ reader, settle: () => resolve(OUTCOME) }));
  }

  /** Every open request's body, chunk by chunk across requests; then each ends. */
  play(chunks: readonly Buffer[]): void {
    const open = this.open.splice(0);
    for (const chunk of chunks)
      for (const request of open) {
        request.reader.push(chunk);
        evictor?.evict();
      }
    for (const request of open) {
      request.reader.flush();
      request.settle();
    }
  }
}

interface GatewaySession {
  socket: CountingSocket;
  outbox: Outbox;
  tools: SessionToolRunner;
}

function gatewaySession(): GatewaySession {
  const socket = new CountingSocket();
  const log = new EventLog(2_000, 1024 * 1024);
  const outbox = new Outbox(socket as never, log, {
    softLimitBytes: 1 << 20,
    hardLimitBytes: 1 << 22,
    onOverflow() {},
  });
  const tools = new SessionToolRunner(new ToolRegistry([], { defaultTimeoutMs: 1_000 }), () => [], 1_000, 'sess_b');
  return { socket, outbox, tools };
}

const logger = pino({ level: 'silent' });

/** One reply on every session at once, through the gateway's path; resolves when all settled. */
async function gatewayRound(sessions: readonly GatewaySession[], chunks: readonly Buffer[], round: number) {
  const chat = new InterleavedUpstream();
  const settled = sessions.map(
    (session, i) =>
      new Promise<void>((resolve) => {
        new ResponseRun({
          responseId: `resp_${round}_${i}`,
          turnId: `turn_${round}_${i}`,
          chat,
          request: { model: 'asi1-mini', messages: [{ role: 'user', content: 'Hi' }], sessionId: 'sess_b' },
          tools: session.tools,
          maxToolSteps: 3,
          maxToolCallsPerStep: 16,
          emit: (event) => session.outbox.send(event),
          onSettled: () => resolve(),
          logger,
        }).start();
      }),
  );
  // The runs call the upstream from a microtask of start().
  for (let turns = 0; chat.open.length < sessions.length; turns += 1) {
    if (turns > 100) throw new Error(`${sessions.length - chat.open.length} runs never called the upstream`);
    await Promise.resolve();
  }
  chat.play(chunks);
  await Promise.all(settled);
}

interface FloorSession {
  socket: CountingSocket;
  buffer: string;
  text: string;
  responseId: string;
}

/** The floor relay's per-delta work (bench/floor-relay.ts) on the same bytes, interleaved the same way. */
function floorRound(sessions: readonly FloorSession[], chunks: readonly Buffer[], round: number): void {
  sessions.forEach((session, i) => {
    session.responseId = `resp_${round}_${i}`;
    session.text = '';
    session.buffer = '';
  });
  for (const chunk of chunks)
    for (const session of sessions) {
      floorChunk(session, chunk);
      evictor?.evict();
    }
  for (const session of sessions) {
    const { responseId, text } = session;
    session.socket.send(JSON.stringify({ type: 'response.done', responseId, status: 'completed', text }));
  }
}

/** One upstream chunk of one floor session, read as the floor relay reads it, each delta sent as it sends it. */
function floorChunk(session: FloorSession, chunk: Buffer): void {
  readContents(session, chunk, (content) => {
    session.text += content;
    const responseId = session.responseId;
    session.socket.send(JSON.stringify({ type: 'response.delta', responseId, text: content }));
  });
}

/** CPU microseconds (user + system) that `work` takes. */
async function cpuOf(work: () => unknown): Promise<number> {
  // Each round starts from a collected heap, so one round does not pay for another's garbage.
  (globalThis as { gc?: () => void }).gc?.();
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

const fastest = (values: number[]): number => Math.min(...values);

/** Frames a session's socket took per reply, over the warm-up and the measured rounds. */
const framesPerReply = (list: { socket: CountingSocket }[]): number =>
  list.reduce((sum, session) => sum + session.socket.frames, 0) / list.length / (rounds + 1);

/**
 * The table and its notes. With --evict-kb each figure is the fastest round less the eviction's cost measured alone;
 * the loop runs in cache there and not between chunks, so the net figures are upper bounds, and no ratio is given.
 */
function report(gateway: number[], floor: number[], frames: [number, number], eviction: number): string[] {
  const [rawGateway, rawFloor] = [fastest(gateway), fastest(floor)];
  const [g, f] = [rawGateway - eviction, rawFloor - eviction];
  const ratio = evictor === null ? `${(g / f).toFixed(2)}×` : '–';
  const rows = [
    `| µs per delta (fastest of ${rounds} rounds, ${sessions} sessions × ${tokens} deltas) | gateway | floor relay | gateway ÷ floor | gateway − floor |`,
    '| --- | --- | --- | --- | --- |',
    `| JavaScript from SSE bytes to frame bytes | ${g.toFixed(2)} | ${f.toFixed(2)} | ${ratio} | ${(g - f).toFixed(2)} |`,
    '',
    `frames per reply: gateway ${frames[0].toFixed(1)}, floor relay ${frames[1].toFixed(1)}; every reply relayed whole`,
    `rounds: gateway ${gateway.map((v) => v.toFixed(2)).join(' ')}; floor ${floor.map((v) => v.toFixed(2)).join(' ')}`,
  ];
  if (evictor !== null)
    rows.push(
      `caches: ${evictKib} KiB written over between two chunks; raw gateway ${rawGateway.toFixed(2)}, floor relay ${rawFloor.toFixed(2)}, less the eviction alone ${eviction.toFixed(2)} µs per delta`,
    );
  return rows;
}

async function main(): Promise<void> {
  const chunks = replyChunks();
  const gatewaySessions = Array.from({ length: sessions }, gatewaySession);
  const floorSessions: FloorSession[] = Array.from({ length: sessions }, () => ({
    socket: new CountingSocket(),
    buffer: '',
    text: '',
    responseId: '',
  }));
  const deltas = sessions * tokens;
  // A warm-up round each, so both are measured optimised.
  await gatewayRound(gatewaySessions, chunks, 0);
  floorRound(floorSessions, chunks, 0);
  const gateway: number[] = [];
  const floor: number[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    gateway.push((await cpuOf(() => gatewayRound(gatewaySessions, chunks, round))) / deltas);
    floor.push((await cpuOf(() => floorRound(floorSessions, chunks, round))) / deltas);
  }
  const reply = buildBenchReply(tokens);
  const wrong = [...gatewaySessions, ...floorSessions].filter((session) => doneText(session.socket) !== reply);
  if (wrong.length > 0) throw new Error(`${wrong.length} sessions did not relay the whole reply`);
  // As many evictions per delta in both paths: one per chunk.
  const eviction = evictor === null ? 0 : (evictor.costAlone() * chunks.length) / tokens;
  const frames: [number, number] = [framesPerReply(gatewaySessions), framesPerReply(floorSessions)];
  const rows = report(gateway, floor, frames, eviction);
  process.stdout.write(`${rows.join('\n')}\n`);
}

await main();
