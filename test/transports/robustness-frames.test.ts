// One client's frames can never take the process or another session down (issue #14): prototype keys as event
// and item types, a frame whose handling throws, JSON nested past the depth limit, and a burst of thousands of
// cheap frames from a client that reads promptly. Real sockets, the real simulator.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_JSON_DEPTH } from '../../src/hosting/json-depth.js';
import { startStack, until, VoiceClient, type Stack } from '../helpers.js';
import { RealtimeTestClient, realtimeUrl } from '../realtime-client.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const PROTOTYPE_KEYS = ['__proto__', 'toString', 'hasOwnProperty', 'constructor', 'valueOf', '__defineGetter__'];

/** `{"a":{"a":…}}` nested `levels` deep, as raw JSON text (never built as an object). */
function nested(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** A bystander whose turn must complete while another client misbehaves. */
async function expectBystanderServed(voiceUrl: string): Promise<void> {
  const bystander = await VoiceClient.connect(voiceUrl);
  expect((await bystander.turn('Are you still there?')).status).toBe('completed');
  await bystander.close();
}

describe('frames that used to reach inherited members', () => {
  it.each(PROTOTYPE_KEYS)(
    'answers a Realtime event of type %s with invalid_value, and the process carries on',
    async (key) => {
      stack = await startStack();
      const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
      client.send({ type: key, event_id: 'e1' });
      expect((await client.waitFor((e) => e.type === 'error')).error).toMatchObject({
        code: 'invalid_value',
        param: 'type',
        event_id: 'e1',
      });
      client.send({ type: 'conversation.item.create', event_id: 'e2', item: { type: key } });
      expect((await client.waitFor((e) => e.type === 'error' && e.error.event_id === 'e2')).error).toMatchObject({
        code: 'invalid_value',
        param: 'item.type',
      });
      await expectBystanderServed(stack.voiceUrl);
    },
  );

  it.each(PROTOTYPE_KEYS)('answers a native event of type %s with GW_UNKNOWN_EVENT', async (key) => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: key, eventId: 'e1' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_UNKNOWN_EVENT', eventId: 'e1' });
  });
});

describe('a frame whose handling throws', () => {
  it('ends that frame only: GW_INTERNAL to its client, logged with a stack, every session carries on', async () => {
    const { logger, lines } = capturingLogger();
    stack = await startStack({ logger });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const sessionId = (client.events[0] as { sessionId: string }).sessionId;
    const hosted = stack.gateway.sessions.get(sessionId);
    if (hosted === undefined) throw new Error('session not hosted');
    // A bug in the layer below the transport: Session.handle promises never to throw, and here it does once.
    vi.spyOn(hosted.session, 'handle').mockImplementationOnce(() => {
      throw new TypeError('injected bug');
    });
    client.send({ type: 'ping', eventId: 'boom' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_INTERNAL', retryable: true });
    const logged = lines.find((l) => l.msg === 'internal error') as { err?: { stack?: string } } | undefined;
    expect(logged?.err?.stack).toContain('TypeError: injected bug');
    // The same connection still works, and so does everyone else's.
    client.send({ type: 'ping', eventId: 'after' });
    expect(await client.waitForType('pong')).toMatchObject({ eventId: 'after' });
    expect((await client.turn('Hello again')).status).toBe('completed');
    await expectBystanderServed(stack.voiceUrl);
  });
});

describe('JSON nested past the depth limit', () => {
  it('refuses a session.update before applying any of it, skips no seq, and later turns still work', async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    const deep = `{"type":"session.update","eventId":"deep","instructions":"Talk like a pirate.","tools":[{"name":"t","parameters":{"type":"object","properties":${nested(20_000)}}}]}`;
    expect(deep.length).toBeGreaterThan(100_000);
    client.send(deep);
    const error = await client.waitForType('error');
    expect(error).toMatchObject({ code: 'GW_INVALID_EVENT', eventId: 'deep', retryable: false });
    expect(error.message).toContain(`${MAX_JSON_DEPTH} levels`);
    expect((await client.turn('Hello')).status).toBe('completed');
    // Nothing of the refused update was applied: the upstream saw the default prompt and no tools.
    const request = stack.simulator.requests.at(-1)?.body as {
      messages: { content: string }[];
      tools?: { function: { name: string } }[];
    };
    expect(request.messages[0]?.content).not.toContain('pirate');
    expect(request.tools?.map((t) => t.function.name)).not.toContain('t');
    expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
  });

  it(`accepts ${MAX_JSON_DEPTH} levels and refuses ${MAX_JSON_DEPTH + 1}, for a tool.result as for any frame`, async () => {
    stack = await startStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    // The frame's own object is level 1, so `output` may nest MAX_JSON_DEPTH - 1 levels.
    client.send(`{"type":"tool.result","eventId":"ok","callId":"c1","output":${nested(MAX_JSON_DEPTH - 1)}}`);
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_UNKNOWN_TOOL_CALL', eventId: 'ok' });
    const from = client.events.length;
    client.send(`{"type":"tool.result","eventId":"deep","callId":"c1","output":${nested(MAX_JSON_DEPTH)}}`);
    expect(await client.waitForType('error', from)).toMatchObject({ code: 'GW_INVALID_EVENT', eventId: 'deep' });
  });

  it('refuses the same on /v1/realtime, and the conversation goes on', async () => {
    stack = await startStack();
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
    client.send(
      `{"type":"session.update","event_id":"deep","session":{"instructions":"Talk like a pirate.","tools":[{"type":"function","name":"t","parameters":${nested(20_000)}}]}}`,
    );
    expect((await client.waitFor((e) => e.type === 'error')).error).toMatchObject({ code: 'GW_INVALID_EVENT' });
    await client.addUserText('Hello');
    expect((await client.respond()).response.status).toBe('completed');
    const request = stack.simulator.requests.at(-1)?.body as { messages: { content: string }[] };
    expect(request.messages[0]?.content).not.toContain('pirate');
  });
});

describe('a burst of cheap frames from a client that reads promptly', () => {
  /** Sends a ping until one is answered: the budget refills, and the same connection answers again. */
  async function answersAgain(client: VoiceClient): Promise<void> {
    let answered = false;
    await until(() => {
      if (client.events.some((e) => e.type === 'pong' && e.eventId === 'later')) answered = true;
      else client.send({ type: 'ping', eventId: 'later' });
      return answered;
    });
    expect(client.socket.readyState).toBe(client.socket.OPEN);
  }

  it.each([
    ['10,000 malformed frames', 10_000, () => 'x', 'GW_INVALID_JSON'],
    ['80,000 pings', 80_000, () => JSON.stringify({ type: 'ping' }), 'pong'],
  ])(
    'answers %s up to the budget, then one typed notice, never a slow-consumer close',
    async (_name, count, frame, answer) => {
      stack = await startStack({ env: { FRAMES_PER_SECOND: '50' } });
      const client = await VoiceClient.connect(stack.voiceUrl);
      for (let i = 0; i < count; i += 1) client.socket.send(frame());
      const notice = await client.waitFor((e) => e.type === 'error' && e.code === 'GW_RATE_LIMITED');
      expect(notice).toMatchObject({ retryable: true });
      expect((notice as { message: string }).message).toContain('at most 50 a second');
      // Everything answered before the notice came before it in the stream.
      const answers = client.events.filter((e) => (e.type === 'error' ? e.code : e.type) === answer).length;
      expect(answers).toBeGreaterThanOrEqual(50);
      expect(answers).toBeLessThan(count / 10);
      await answersAgain(client);
      await expectBystanderServed(stack.voiceUrl);
    },
  );

  it('applies the same budget on /v1/realtime', async () => {
    stack = await startStack({ env: { FRAMES_PER_SECOND: '20' } });
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
    for (let i = 0; i < 500; i += 1) client.send({ type: 'nope', event_id: `n${i}` });
    const notice = await client.waitFor((e) => e.type === 'error' && e.error.code === 'GW_RATE_LIMITED');
    expect(notice.error.message).toContain('at most 20 a second');
    expect(client.events.filter((e) => e.type === 'error' && e.error.code === 'invalid_value').length).toBeLessThan(
      500,
    );
  });
});
