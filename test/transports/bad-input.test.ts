// Hostile and malformed client input: every bad frame gets a typed error, the connection stays usable where
// that makes sense, and the server never crashes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hardFrameCap } from '../../src/app.js';
import { startStack, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack;
beforeAll(async () => {
  // The frame budget has tests of its own (test/robustness.test.ts); here every frame must be handled.
  stack = await startStack({ env: { MAX_FRAME_BYTES: '4096', MAX_TURN_CHARS: '100', FRAMES_PER_SECOND: '1000000' } });
});
afterAll(async () => {
  await stack.close();
});

async function errorFor(frame: unknown, options: { binary?: boolean } = {}) {
  const client = await VoiceClient.connect(stack.voiceUrl);
  if (options.binary) client.socket.send(Buffer.from([1, 2, 3]), { binary: true });
  else client.send(frame);
  const error = await client.waitForType('error');
  // The connection is still usable afterwards.
  client.send({ type: 'ping', eventId: 'after' });
  expect(await client.waitForType('pong')).toMatchObject({ eventId: 'after' });
  await client.close();
  return error;
}

describe('bad input', () => {
  it.each([
    ['non-JSON', 'GW_INVALID_JSON', 'this is not json'],
    ['a JSON array', 'GW_INVALID_EVENT', '[1,2,3]'],
    ['a JSON string', 'GW_INVALID_EVENT', '"turn"'],
    ['no type', 'GW_INVALID_EVENT', { text: 'hi' }],
    ['a non-string type', 'GW_INVALID_EVENT', { type: 42 }],
    ['an unknown type', 'GW_UNKNOWN_EVENT', { type: 'launch.missiles' }],
    ['a prototype-polluting type', 'GW_UNKNOWN_EVENT', { type: '__proto__' }],
    ['a turn without text', 'GW_INVALID_EVENT', { type: 'turn' }],
    ['a turn with numeric text', 'GW_INVALID_EVENT', { type: 'turn', text: 42 }],
    ['an empty turn', 'GW_EMPTY_TURN', { type: 'turn', text: '   ' }],
    ['an over-long turn', 'GW_TEXT_TOO_LONG', { type: 'turn', text: 'x'.repeat(101) }],
    ['a negative heardChars', 'GW_INVALID_EVENT', { type: 'response.cancel', heardChars: -1 }],
    ['a fractional heardChars', 'GW_INVALID_EVENT', { type: 'response.cancel', heardChars: 1.5 }],
    ['a temperature out of range', 'GW_INVALID_EVENT', { type: 'session.update', temperature: 9 }],
    ['tools that are not an array', 'GW_INVALID_EVENT', { type: 'session.update', tools: 'all' }],
    ['a tool with a bad name', 'GW_INVALID_EVENT', { type: 'session.update', tools: [{ name: 'no spaces allowed' }] }],
    ['duplicate tool names', 'GW_INVALID_TOOLS', { type: 'session.update', tools: [{ name: 'a' }, { name: 'a' }] }],
    [
      'tool parameters that are not an object schema',
      'GW_INVALID_TOOLS',
      { type: 'session.update', tools: [{ name: 'a', parameters: { type: 'string' } }] },
    ],
    ['a tool.result for an unknown call', 'GW_UNKNOWN_TOOL_CALL', { type: 'tool.result', callId: 'nope', output: 'x' }],
    ['a cancel with nothing active', 'GW_NO_ACTIVE_RESPONSE', { type: 'response.cancel' }],
    ['a frame over the frame limit', 'GW_FRAME_TOO_LARGE', { type: 'turn', text: 'x'.repeat(5000) }],
  ])('answers %s with %s', async (_name, code, frame) => {
    const error = await errorFor(frame);
    expect(error).toMatchObject({ type: 'error', code, retryable: false });
    expect(error.message.length).toBeGreaterThan(0);
  });

  it('answers a binary frame with GW_BINARY_FRAME', async () => {
    expect(await errorFor(null, { binary: true })).toMatchObject({ code: 'GW_BINARY_FRAME' });
  });

  it('echoes the eventId of the frame that caused an error', async () => {
    expect(await errorFor({ type: 'turn', text: '', eventId: 'abc' })).toMatchObject({
      code: 'GW_EMPTY_TURN',
      eventId: 'abc',
    });
  });

  it('closes with 1009 when a frame exceeds the hard cap', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send('x'.repeat(hardFrameCap(stack.config.maxFrameBytes) + 1));
    expect((await client.closed).code).toBe(1009);
  });

  it('fails the connection with 1007 on a text frame that is not UTF-8 (RFC 6455 §8.1)', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.socket.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    expect((await client.closed).code).toBe(1007);
  });

  it('survives thousands of random and malformed frames, then completes a normal turn', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const types = [
      'turn',
      'session.update',
      'response.cancel',
      'tool.result',
      'ping',
      'nope',
      '',
      '__proto__',
      'constructor',
    ];
    const values = [
      null,
      true,
      0,
      -1,
      1e308,
      'x',
      '',
      [],
      {},
      { a: 1 },
      '\u0000',
      '\ud800',
      'é🎉',
      Number.MAX_SAFE_INTEGER,
    ];
    const frames = 3000;
    for (let i = 0; i < frames; i += 1) {
      const kind = random();
      if (kind < 0.1) {
        const bytes = Buffer.alloc(Math.floor(random() * 64));
        for (let b = 0; b < bytes.length; b += 1) bytes[b] = Math.floor(random() * 256);
        client.socket.send(bytes, { binary: true });
      } else if (kind < 0.2) {
        // Random UTF-16 code units, lone surrogates included (ws encodes those as U+FFFD).
        let text = '';
        for (let c = Math.floor(random() * 64); c > 0; c -= 1)
          text += String.fromCharCode(Math.floor(random() * 0x10000));
        client.send(text);
      } else if (kind < 0.4) {
        client.send(JSON.stringify({ type: pick(types), text: pick(values) }).slice(0, Math.floor(random() * 40)));
      } else {
        const frame: Record<string, unknown> = { type: pick(types) };
        for (const key of [
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
        ]) {
          if (random() < 0.3) frame[key] = pick(values);
        }
        // Turns that happen to be valid start (and interrupt) responses; that is part of the storm too.
        client.send(frame);
      }
    }
    client.send({ type: 'ping', eventId: 'end-of-storm' });
    await client.waitFor((e) => e.type === 'pong' && e.eventId === 'end-of-storm');
    const done = await client.turn('Are you still there?');
    expect(done.status).toBe('completed');
    expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
    // Every response that was created got exactly one done.
    const created = client.events.filter((e) => e.type === 'response.created').length;
    expect(client.events.filter((e) => e.type === 'response.done')).toHaveLength(created);
    await client.close();
  });
});
