// The client against the real gateway and simulator: connect (with and without a token), a turn streamed as deltas
// and speech, settings, refused turns, barge-in with heardChars committing only what was heard, and interim
// transcripts (protocol 1.2): a speculative reply adopted by its final, a server-committed turn and its final.
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../../src/upstream/types.js';
import { connect as connectAnywhere, VoiceGatewayError, type WebSocketConstructor } from '../src/index.js';
import { connect } from '../src/node.js';
import { collect, nextCommitted, startStack, type Stack } from './support.js';

let stack: Stack;
afterEach(async () => {
  await stack.close();
});

const REPLY = 'The sky is blue. Grass is green. Snow is white.';
const LONG_REPLY =
  'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

function requestBody(index: number): { messages: ChatMessage[]; temperature?: number } {
  return stack.simulator.requests[index]?.body as { messages: ChatMessage[]; temperature?: number };
}

/** A `ws` class that records how each socket was opened (the constructor arguments). */
function recordingWebSocket(calls: { protocols: unknown; headers: unknown }[]): WebSocketConstructor {
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }) {
      calls.push({ protocols, headers: options?.headers });
      super(url, protocols, options);
    }
  }
  return Recording as unknown as WebSocketConstructor;
}

describe('a session on the real gateway', () => {
  it('connects, streams a reply as deltas and speech segments, and resolves done with the response.done event', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY });
    const session = await connect({ url: stack.voiceUrl });
    expect(session.state).toBe('open');
    expect(session.protocol).toEqual({ major: 1, minor: 4 });
    expect(session.ready).toMatchObject({ type: 'session.ready', sessionId: session.id, upstream: 'simulator' });
    const reply = session.turn('Tell me about colours');
    const deltas = collect(reply.deltas);
    const speech = collect(reply.speech);
    const done = await reply.done;
    await Promise.all([deltas.finished, speech.finished]);
    expect(done).toMatchObject({
      type: 'response.done',
      status: 'completed',
      text: REPLY,
      responseId: reply.responseId,
    });
    expect(deltas.items.length).toBeGreaterThan(3);
    expect(deltas.items.join('')).toBe(REPLY);
    expect(reply.text).toBe(REPLY);
    // Segmenting is the gateway's business; the client delivers every segment, in order.
    expect(speech.items.length).toBeGreaterThan(1);
    expect(speech.items.map((s) => s.text).join(' ')).toBe(REPLY);
    expect(speech.items.map((s) => s.index)).toEqual(speech.items.map((_, i) => i));
    // A second iteration starts from the first delta again.
    const again: string[] = [];
    for await (const text of reply.deltas) again.push(text);
    expect(again).toEqual(deltas.items);
    expect(requestBody(0).messages.at(-1)).toEqual({ role: 'user', content: 'Tell me about colours' });
    await session.close();
    expect(session.state).toBe('closed');
    expect(() => session.turn('Anyone there?')).toThrow(expect.objectContaining({ code: 'CLIENT_CLOSED' }));
  });

  it('presents a token as an Authorization header from the node entry and as a bearer subprotocol from the main one', async () => {
    stack = await startStack({ env: { GATEWAY_TOKENS: 'tok-123' } });
    const viaHeader: { protocols: unknown; headers: unknown }[] = [];
    const fromNode = await connect({ url: stack.voiceUrl, token: 'tok-123', WebSocket: recordingWebSocket(viaHeader) });
    expect(viaHeader).toEqual([{ protocols: ['asi1-voice.v1'], headers: { Authorization: 'Bearer tok-123' } }]);
    const viaSubprotocol: { protocols: unknown; headers: unknown }[] = [];
    const likeBrowser = await connectAnywhere({
      url: stack.voiceUrl,
      token: 'tok-123',
      WebSocket: recordingWebSocket(viaSubprotocol),
    });
    expect(viaSubprotocol).toEqual([{ protocols: ['asi1-voice.v1', 'bearer.tok-123'], headers: undefined }]);
    expect((await likeBrowser.turn('Hi').done).status).toBe('completed');
    const refused = await connect({ url: stack.voiceUrl, token: 'wrong' }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(VoiceGatewayError);
    expect(refused).toMatchObject({ code: 'CLIENT_CONNECT_FAILED', retryable: true });
    await Promise.all([fromNode.close(), likeBrowser.close()]);
  });

  it('applies settings with update(), resolving with session.updated, and rejects an invalid one with the typed error', async () => {
    stack = await startStack();
    const session = await connect({ url: stack.voiceUrl, settings: { instructions: 'Answer in one word.' } });
    expect(session.settings).toMatchObject({ instructions: 'Answer in one word.', temperature: null });
    const settings = await session.update({ instructions: 'Talk like a pirate.', temperature: 0.5 });
    expect(settings).toMatchObject({ instructions: 'Talk like a pirate.', temperature: 0.5, model: 'asi1-mini' });
    expect(session.settings).toEqual(settings);
    const error = await session.update({ model: 'gpt-4' }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(VoiceGatewayError);
    expect(error).toMatchObject({ code: 'GW_UNKNOWN_MODEL', retryable: false, eventId: expect.any(String) });
    await session.turn('Ahoy').done;
    expect(requestBody(0).messages[0]).toEqual({ role: 'system', content: 'Talk like a pirate.' });
    expect(requestBody(0).temperature).toBe(0.5);
    await session.close();
  });

  it('rejects a refused turn with the gateway error that echoes its turnId, and its iterators throw it; an interim is answered early', async () => {
    // Speculate on a stable interim at once.
    stack = await startStack({ env: { SPECULATION_STABLE_MS: '0' } });
    const session = await connect({ url: stack.voiceUrl });
    const reply = session.turn('   ', { turnId: 'blank-1' });
    const error = await reply.done.catch((err: unknown) => err);
    expect(error).toMatchObject({
      name: 'VoiceGatewayError',
      code: 'GW_EMPTY_TURN',
      eventId: 'blank-1',
      retryable: false,
    });
    await expect(collect(reply.deltas).finished).rejects.toBe(error);
    // The gateway speaks 1.2: the interim starts a reply, which the final with the same words adopts.
    stack.simulator.enqueue({ reply: REPLY });
    session.interim('what time is it');
    const done = await session.turn('What time is it?').done;
    expect(done).toMatchObject({ status: 'completed', text: REPLY, timings: { speculative: true } });
    expect(stack.simulator.requests).toHaveLength(1); // the speculation's request, and no other
    await session.close();
  });
});

describe('barge-in', () => {
  it('cancels with heardChars counted from the segments spoken, and the next request keeps only the heard part', async () => {
    stack = await startStack();
    // Hold the stream after its first two sentences, so both were segmented for speech.
    stack.simulator.enqueue({ reply: LONG_REPLY, gate: { name: 'held', afterChunks: 16 } });
    const session = await connect({ url: stack.voiceUrl });
    const reply = session.turn('Tell me three things.');
    let segments = 0;
    for await (const segment of reply.speech) {
      // The speaker finished the first segment and had said 'The second ' of the next one.
      if (++segments === 1) reply.heard.spoken(segment);
      else {
        reply.heard.speaking(segment, 'The second '.length);
        break;
      }
    }
    expect(reply.heard.chars).toBe('The first sentence is here.'.length + 'The second '.length);
    const done = await reply.cancel();
    expect(done).toMatchObject({ status: 'interrupted', responseId: reply.responseId });
    stack.simulator.gate('held').release();
    await session.turn('Wait, what?').done;
    expect(requestBody(1).messages.slice(1)).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'assistant', content: 'The first sentence is here. The second [interrupted by the user]' },
      { role: 'user', content: 'Wait, what?' },
    ]);
    await session.close();
  });

  it('truncates a reply that finished streaming but was cut off while it was still being spoken', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: LONG_REPLY });
    const session = await connect({ url: stack.voiceUrl });
    const reply = session.turn('Tell me three things.');
    const done = await reply.done;
    expect(done.status).toBe('completed');
    await reply.cancel({ heardChars: 'The first sentence is here.'.length });
    await session.turn('Go on.').done;
    expect(requestBody(1).messages[2]).toEqual({
      role: 'assistant',
      content: 'The first sentence is here. [interrupted by the user]',
    });
    await session.close();
  });
});

describe('turns the gateway commits itself (serverCommit)', () => {
  it('hands over the committed reply through the committed event, and the final that confirms it gets that same reply', async () => {
    stack = await startStack();
    stack.simulator.enqueue({ reply: REPLY });
    const session = await connect({
      url: stack.voiceUrl,
      settings: { turnDetection: { serverCommit: { stableMs: 200 } } },
    });
    expect(session.settings?.turnDetection).toEqual({ speculate: true, serverCommit: { stableMs: 200 } });
    const committed = nextCommitted(session);
    session.interim('what time is it', { turnId: 'u1' });
    const { reply, turn } = await committed;
    expect(turn).toEqual({ turnId: 'u1', text: 'what time is it' });
    expect(reply.turnId).toBe('u1');
    const deltas = collect(reply.deltas);
    const done = await reply.done;
    await deltas.finished;
    expect(done).toMatchObject({ status: 'completed', text: REPLY, responseId: reply.responseId });
    expect(deltas.items.join('')).toBe(REPLY);
    // The recognizer's final arrives after the reply: absorbed, answered by the same reply, no second request.
    const final = session.turn('What time is it?');
    expect(await final.done).toBe(done);
    expect(final.absorbedInto).toBe(reply);
    expect(final.responseId).toBe(reply.responseId);
    const again = collect(final.deltas);
    await again.finished;
    expect(again.items).toEqual(deltas.items);
    expect(stack.simulator.requests).toHaveLength(1);
    await session.close();
  });
});
