// The rig of the scale-out tests (test/cluster/scale-out-*.test.ts): two gateway instances sharing one real
// redis-server (started per file) in front of one simulator, the clients a test connects, and resume helpers.
// Instances are started per test (startPair); `a`, `b`, `simulator` and `redis` are live bindings.
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startGatewayFor, VoiceClient, type GatewayUnderTest } from '../helpers.js';
import { RedisServer } from '../redis-server.js';

export type Ready = Extract<ServerEvent, { type: 'session.ready' }>;
export type Done = Extract<ServerEvent, { type: 'response.done' }>;

export const REPLY = 'One two three four five six seven eight.';

export let redis: RedisServer;
export let simulator: Simulator;
export let a: GatewayUnderTest;
export let b: GatewayUnderTest;
export let testNo = 0;
export const clients: VoiceClient[] = [];

/** Registers the calling file's hooks: one redis-server for the file, instances and clients closed after each test. */
export function useScaleOutRig(): void {
  beforeAll(async () => {
    redis = await RedisServer.start();
  });
  afterAll(async () => {
    await redis.kill();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.socket.terminate();
    await a.close();
    await b.close();
    await simulator.close();
  });
}

export async function startPair(env: Record<string, string> = {}): Promise<void> {
  testNo += 1;
  simulator = await startSimulator({ port: 0, host: '127.0.0.1', defaults: { ttftMs: 0, interTokenMs: 0 } });
  const shared = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `t${testNo}:`, ...env };
  a = await startGatewayFor(simulator.url, { env: shared });
  b = await startGatewayFor(simulator.url, { env: shared });
}

export async function connect(gateway: GatewayUnderTest): Promise<VoiceClient> {
  const client = await VoiceClient.connect(gateway.voiceUrl);
  clients.push(client);
  return client;
}

export function ready(client: VoiceClient): Ready {
  return client.events[0] as Ready;
}

export function lastSeq(client: VoiceClient): number {
  return client.events.at(-1)?.seq ?? 0;
}

/** Resumes `from`'s session on `gateway`; resolves at session.resumed or an error. */
export async function resumeOn(
  gateway: GatewayUnderTest,
  from: VoiceClient,
  options: { lastSeq?: number; token?: string } = {},
): Promise<VoiceClient> {
  const client = await connect(gateway);
  const { sessionId, resumeToken } = ready(from);
  client.send({
    type: 'session.resume',
    sessionId,
    resumeToken: options.token ?? resumeToken ?? '',
    lastSeq: options.lastSeq ?? lastSeq(from),
  });
  await client.waitFor((e) => e.type === 'session.resumed' || e.type === 'error');
  return client;
}

/** Asks, on `client`, to resume the session `from` started, after `lastSeq`. */
export function askResume(client: VoiceClient, from: VoiceClient, lastSeq: number, eventId?: string): void {
  const { sessionId, resumeToken } = ready(from);
  client.send({
    type: 'session.resume',
    sessionId,
    resumeToken: resumeToken ?? '',
    lastSeq,
    ...(eventId === undefined ? {} : { eventId }),
  });
}

export function deltaText(events: readonly ServerEvent[], responseId: string): string {
  return events.flatMap((e) => (e.type === 'response.delta' && e.responseId === responseId ? [e.text] : [])).join('');
}

/** The events of one session across its connections, each after its own session.ready (dropped). */
export function sessionEvents(...connections: VoiceClient[]): ServerEvent[] {
  const [first, ...rest] = connections;
  return [...(first?.events ?? []), ...rest.flatMap((c) => c.events.slice(1))];
}

export function expectGapless(events: readonly ServerEvent[]): void {
  const seqs = events.map((e) => e.seq);
  expect(seqs).toEqual(seqs.map((_, i) => i + 1));
}

export function lastMessages(): ChatMessage[] {
  return (simulator.requests.at(-1)?.body as { messages: ChatMessage[] }).messages.slice(1);
}

/** The next turn on `client` completes with the reply to `asked` (REPLY, however it reached the client) in its history. */
export async function expectNextTurnAfterReply(client: VoiceClient, asked: string, next: string): Promise<void> {
  simulator.enqueue({ reply: 'Next.' });
  expect((await client.turn(next)).status).toBe('completed');
  expect(lastMessages()).toEqual([
    { role: 'user', content: asked },
    { role: 'assistant', content: REPLY },
    { role: 'user', content: next },
  ]);
}

/** A client on A whose reply to "Count" is held by gate `gate` after "One two ": the response is mid-stream. */
export async function countHeldOnA(
  gate: string,
): Promise<{ first: VoiceClient; created: Extract<ServerEvent, { type: 'response.created' }> }> {
  simulator.enqueue({ reply: REPLY, gate: { name: gate, afterChunks: 2 } });
  const first = await connect(a);
  first.send({ type: 'turn', text: 'Count' });
  const created = await first.waitForType('response.created');
  await simulator.gate(gate).reached;
  await first.waitFor(() => deltaText(first.events, created.responseId) === 'One two ');
  return { first, created };
}
