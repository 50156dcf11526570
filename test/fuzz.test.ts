// Property-based fuzzing of both WebSocket endpoints (fast-check) against one gateway on the simulator: random
// and mutated frames (valid events with fields swapped, prototype keys, deep nesting, huge strings, random JSON,
// binary, resumes and cancels in any order). Properties: the process never exits, /healthz stays ok, every
// response.created gets exactly one response.done, seq stays gap-free (across a resume too), and a well-behaved
// session beside the fuzzer completes every turn. `npm test` runs a few cases; FUZZ_RUNS=2000 runs many more
// (docs/robustness.md).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { startStack, until, VoiceClient, type Stack } from './helpers.js';
import { RealtimeTestClient, realtimeUrl } from './realtime-client.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 20);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** Per property: a run takes tens of milliseconds, plus headroom on a busy machine. */
const TIMEOUT_MS = 10_000 + RUNS * 150;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: {
      // The fuzzer is one client address with many sessions: its caps are lifted so every frame is handled.
      FRAMES_PER_SECOND: '1000000',
      MAX_CONNECTIONS_PER_IP: '1000000',
      MAX_RESPONSES_PER_IP: '100000',
      TURNS_PER_MINUTE: '100000',
      TURNS_PER_MINUTE_PER_IP: '1000000',
      MAX_FRAME_BYTES: '65536',
      CLIENT_TOOL_TIMEOUT_MS: '300',
    },
  });
});
afterAll(async () => {
  await stack.close();
});

const PROTO = ['__proto__', 'toString', 'hasOwnProperty', 'constructor', 'valueOf'];
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(...PROTO),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const nested = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

/** A frame: raw text, binary bytes, or a JSON object (sent stringified). */
type Frame = { text: string } | { bytes: Uint8Array } | { json: Record<string, unknown> };

function frames(
  types: readonly string[],
  fields: readonly string[],
  extra: fc.Arbitrary<Frame>[],
): fc.Arbitrary<Frame[]> {
  const event = fc
    .tuple(
      fc.constantFrom(...types, ...PROTO),
      fc.dictionary(fc.constantFrom(...fields, ...PROTO), anyValue, { maxKeys: 4 }),
    )
    .map(([type, rest]): Frame => ({ json: { ...rest, type } }));
  const frame = fc.oneof(
    { weight: 6, arbitrary: event },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v): Frame => ({ text: JSON.stringify(v) ?? 'null' })) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }).map((text): Frame => ({ text })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes): Frame => ({ bytes })) },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 60, max: 5_000 })
        .map((n): Frame => ({ text: `{"type":"${types[0] ?? 'x'}","x":${nested(n)}}` })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1_000, max: 80_000 })
        .map((n): Frame => ({ json: { type: types[1] ?? 'x', text: 'é'.repeat(n) } })),
    },
    ...extra.map((arbitrary) => ({ weight: 3, arbitrary })),
  );
  return fc.array(frame, { maxLength: 25 });
}

function send(socket: WebSocket, frame: Frame): void {
  if ('bytes' in frame) socket.send(frame.bytes, { binary: true });
  else socket.send('text' in frame ? frame.text : JSON.stringify(frame.json));
}

async function healthy(): Promise<boolean> {
  const response = await fetch(`${stack.httpUrl}/healthz`);
  return response.ok && ((await response.json()) as { status: string }).status === 'ok';
}

/** Every response.created has exactly one response.done, and nothing of a response follows its done. */
function checkResponses(events: readonly { type: string; responseId?: string; response?: { id: string } }[]): void {
  const open = new Set<string>();
  const done = new Set<string>();
  for (const event of events) {
    const id = event.responseId ?? event.response?.id;
    if (id === undefined || !event.type.startsWith('response.')) continue;
    expect(done.has(id), `${event.type} after response.done of ${id}`).toBe(false);
    if (event.type === 'response.created') open.add(id);
    if (event.type === 'response.done') {
      expect(open.delete(id), `response.done without response.created: ${id}`).toBe(true);
      done.add(id);
    }
  }
  expect([...open]).toEqual([]);
}

/** A session that behaves, running turns while the fuzzer runs; every one of its turns must complete. */
function bystander() {
  const statuses: string[] = [];
  let stop = false;
  const running = (async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    while (!stop) statuses.push((await client.turn('What is the capital of France?')).status);
    await client.close();
  })();
  return {
    async finish() {
      stop = true;
      await running;
      expect(statuses.length).toBeGreaterThan(0);
      expect(statuses.every((s) => s === 'completed')).toBe(true);
    },
  };
}

/** Fails with the seed, the path and a clipped counterexample (a full one can be megabytes of nested JSON). */
function shortReport<Ts>(details: fc.RunDetails<Ts>): void {
  if (!details.failed) return;
  const example = JSON.stringify(details.counterexample) ?? '';
  const clipped = example.length > 2_000 ? `${example.slice(0, 2_000)}… (${example.length} characters)` : example;
  const cause = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `fuzz property failed: ${cause}\nreplay with FUZZ_SEED=${details.seed} (path ${details.counterexamplePath ?? ''})\n${clipped}`,
  );
}

function params<Ts>(): fc.Parameters<Ts> {
  return {
    numRuns: RUNS,
    ...(SEED === undefined ? {} : { seed: SEED }),
    endOnFailure: true,
    asyncReporter: async (details) => shortReport(details),
  };
}

describe('fuzzing /v1/voice', () => {
  const cancel = fc
    .record({ type: fc.constant('response.cancel'), heardChars: fc.nat(500) })
    .map((json): Frame => ({ json }));
  const resumeStranger = fc
    .record({
      type: fc.constant('session.resume'),
      sessionId: fc.string(),
      resumeToken: fc.string(),
      lastSeq: fc.nat(),
    })
    .map((json): Frame => ({ json }));
  const turn = fc.string({ minLength: 1, maxLength: 40 }).map((text): Frame => ({ json: { type: 'turn', text } }));
  const voiceFrames = frames(
    ['session.update', 'turn', 'response.cancel', 'tool.result', 'ping', 'session.resume'],
    [
      'text',
      'model',
      'heardChars',
      'responseId',
      'callId',
      'output',
      'tools',
      'temperature',
      'eventId',
      'maxOutputTokens',
      'instructions',
      'turnId',
      'sessionId',
      'resumeToken',
      'lastSeq',
    ],
    [cancel, resumeStranger, turn],
  );

  it(
    'keeps every invariant over random frames, a drop and a resume in the middle',
    { timeout: TIMEOUT_MS },
    async () => {
      const calm = bystander();
      await fc.assert(
        fc.asyncProperty(voiceFrames, voiceFrames, async (before, after) => {
          const first = await VoiceClient.connect(stack.voiceUrl);
          const { sessionId, resumeToken } = first.events[0] as { sessionId: string; resumeToken: string };
          for (const frame of before) send(first.socket, frame);
          first.send({ type: 'ping', eventId: 'barrier' });
          await first.waitFor((e) => e.type === 'pong' && e.eventId === 'barrier');
          const lastSeq = first.events.at(-1)?.seq ?? 0;
          first.socket.terminate();
          // A new connection resumes the dropped session, then carries on with more random frames.
          const second = await VoiceClient.connect(stack.voiceUrl);
          const from = second.events.length;
          second.send({ type: 'session.resume', sessionId, resumeToken, lastSeq });
          await second.waitFor((e) => e.type === 'session.resumed' || e.type === 'error', from);
          for (const frame of after) send(second.socket, frame);
          second.send({ type: 'ping', eventId: 'end' });
          await second.waitFor((e) => e.type === 'pong' && e.eventId === 'end');
          const resumed = second.events.some((e) => e.type === 'session.resumed');
          // The resumed session's stream: what the first connection saw, then what the second got after its own ready.
          const stream = () => (resumed ? [...first.events, ...second.events.slice(from)] : second.events);
          const count = (type: string) => stream().filter((e) => e.type === type).length;
          await until(() => count('response.created') === count('response.done'));
          expect(stream().map((e) => e.seq)).toEqual(stream().map((_, i) => i + 1));
          checkResponses(stream() as never);
          second.socket.terminate();
          expect(await healthy()).toBe(true);
        }),
        params(),
      );
      await calm.finish();
    },
  );
});

describe('fuzzing /v1/realtime', () => {
  const itemCreate = fc
    .record({
      type: fc.constantFrom('message', 'function_call_output', 'function_call', ...PROTO),
      role: fc.constantFrom('user', 'assistant', 'system', 'x'),
      content: fc.constantFrom([{ type: 'input_text', text: 'Hi there' }], [], 'x'),
    })
    .map((item): Frame => ({ json: { type: 'conversation.item.create', item } }));
  const respond = fc.constant<Frame>({ json: { type: 'response.create' } });
  const realtimeFrames = frames(
    [
      'session.update',
      'conversation.item.create',
      'response.create',
      'response.cancel',
      'conversation.item.truncate',
      'conversation.item.delete',
      'conversation.item.retrieve',
      'input_audio_buffer.append',
    ],
    [
      'event_id',
      'session',
      'item',
      'response',
      'item_id',
      'content_index',
      'audio_end_ms',
      'response_id',
      'previous_item_id',
    ],
    [itemCreate, respond],
  );

  it('keeps every invariant over random frames', { timeout: TIMEOUT_MS }, async () => {
    const calm = bystander();
    await fc.assert(
      fc.asyncProperty(realtimeFrames, async (sequence) => {
        const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
        for (const frame of sequence) send(client.socket, frame);
        client.send({ type: 'conversation.item.retrieve', event_id: 'end', item_id: 'no_such_item' });
        await client.waitFor((e) => e.type === 'error' && e.error?.event_id === 'end');
        const count = (type: string) => client.events.filter((e) => e.type === type).length;
        await until(() => count('response.created') === count('response.done'));
        checkResponses(client.events as never);
        client.socket.terminate();
        expect(await healthy()).toBe(true);
      }),
      params(),
    );
    await calm.finish();
  });
});
