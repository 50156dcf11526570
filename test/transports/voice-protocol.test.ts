// Protocol v1 end to end: real sockets, the real simulator, the real chat client.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startStack, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack;
beforeEach(async () => {
  stack = await startStack();
});
afterEach(async () => {
  await stack.close();
});

function lastRequestMessages(): ChatMessage[] {
  const body = stack.simulator.requests.at(-1)?.body as { messages: ChatMessage[] };
  return body.messages;
}

describe('protocol v1', () => {
  it('opens every session with session.ready as seq 1', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    expect(client.events[0]).toMatchObject({
      type: 'session.ready',
      seq: 1,
      protocol: 1,
      model: 'asi1-mini',
      upstream: 'simulator',
      limits: { maxFrameBytes: stack.config.maxFrameBytes, maxTurnChars: stack.config.maxTurnChars },
    });
    expect((client.events[0] as { sessionId: string }).sessionId).toMatch(/^sess_/);
    await client.close();
  });

  it('streams a turn as created, deltas, speech and exactly one done whose text joins the deltas', async () => {
    stack.simulator.enqueue({ reply: 'Hello there! The sky is blue because of Rayleigh scattering. Anything else?' });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Why is the sky blue?', turnId: 't-1' });
    const created = await client.waitForType('response.created');
    expect(created.turnId).toBe('t-1');
    const done = await client.waitForType('response.done');
    const events = client.ofResponse(created.responseId);
    expect(events[0]?.type).toBe('response.created');
    expect(events.at(-1)?.type).toBe('response.done');
    expect(events.filter((e) => e.type === 'response.done')).toHaveLength(1);
    const deltas = events.flatMap((e) => (e.type === 'response.delta' ? [e.text] : []));
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe('Hello there! The sky is blue because of Rayleigh scattering. Anything else?');
    expect(done).toMatchObject({ status: 'completed', text: deltas.join('') });
    expect(done.usage?.completionTokens).toBeGreaterThan(0);
    expect(done.timings.firstTokenMs).not.toBeNull();
    expect(done.timings.firstSpeechMs).not.toBeNull();
    const speech = events.flatMap((e) => (e.type === 'response.speech' ? [e] : []));
    expect(speech.map((s) => s.index)).toEqual(speech.map((_, i) => i));
    expect(speech.map((s) => s.text).join(' ')).toContain('Rayleigh scattering');
    await client.close();
  });

  it('numbers every server event with a seq that grows by one', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('Tell me something.');
    client.send({ type: 'ping' });
    await client.waitForType('pong');
    expect(client.events.map((e) => e.seq)).toEqual(client.events.map((_, i) => i + 1));
    await client.close();
  });

  it.each(['gen1', 'gen2'] as const)('never forwards or speaks %s reasoning', async (profile) => {
    stack.simulator.enqueue({
      profile,
      reasoning: 'SECRET_REASONING the user wants a greeting.',
      reply: 'Hi. Nice to meet you today.',
    });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hello');
    expect(done.text).toBe('Hi. Nice to meet you today.');
    expect(JSON.stringify(client.events)).not.toContain('SECRET_REASONING');
    await client.close();
  });

  it('sends the voice system prompt, max_tokens and one x-session-id per session', async () => {
    const a = await VoiceClient.connect(stack.voiceUrl);
    await a.turn('One');
    await a.turn('Two');
    const b = await VoiceClient.connect(stack.voiceUrl);
    await b.turn('Three');
    const [r1, r2, r3] = stack.simulator.requests;
    expect(r1?.headers['x-session-id']).toBe(r2?.headers['x-session-id']);
    expect(r1?.headers['x-session-id']).not.toBe(r3?.headers['x-session-id']);
    expect(r1?.body).toMatchObject({ model: 'asi1-mini', stream: true, max_tokens: stack.config.maxOutputTokens });
    expect((r1?.body as { messages: ChatMessage[] }).messages[0]).toEqual({
      role: 'system',
      content: stack.config.systemPrompt,
    });
    await a.close();
    await b.close();
  });

  it('keeps the conversation: the second turn sees the first exchange', async () => {
    stack.simulator.enqueue({ reply: 'Paris is the capital.' });
    const client = await VoiceClient.connect(stack.voiceUrl);
    await client.turn('What is the capital of France?');
    await client.turn('And its population?');
    expect(lastRequestMessages().slice(1)).toEqual([
      { role: 'user', content: 'What is the capital of France?' },
      { role: 'assistant', content: 'Paris is the capital.' },
      { role: 'user', content: 'And its population?' },
    ]);
    await client.close();
  });

  it('applies session.update and answers with the effective settings', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({
      type: 'session.update',
      model: 'asi1-ultra',
      instructions: 'Be terse.',
      temperature: 0.2,
      maxOutputTokens: 50,
    });
    const updated = await client.waitForType('session.updated');
    expect(updated).toMatchObject({
      model: 'asi1-ultra',
      instructions: 'Be terse.',
      temperature: 0.2,
      maxOutputTokens: 50,
      tools: [],
    });
    await client.turn('Hi');
    expect(stack.simulator.requests.at(-1)?.body).toMatchObject({
      model: 'asi1-ultra',
      temperature: 0.2,
      max_tokens: 50,
    });
    expect(lastRequestMessages()[0]).toEqual({ role: 'system', content: 'Be terse.' });
    await client.close();
  });

  it('rejects an unknown model with GW_UNKNOWN_MODEL and keeps the old one', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'session.update', model: 'gpt-4o', eventId: 'e1' });
    expect(await client.waitForType('error')).toMatchObject({
      code: 'GW_UNKNOWN_MODEL',
      eventId: 'e1',
      retryable: false,
    });
    await client.turn('Hi');
    expect(stack.simulator.requests.at(-1)?.body).toMatchObject({ model: 'asi1-mini' });
    await client.close();
  });

  it('reports an upstream 401 as a failed response with GW_UPSTREAM_AUTH and no retry', async () => {
    stack.simulator.enqueue({ status: 401, errorBody: 'message' });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hi');
    expect(done).toMatchObject({ status: 'failed', text: '', error: { code: 'GW_UPSTREAM_AUTH', retryable: false } });
    expect(stack.simulator.requests).toHaveLength(1);
    // The session stays usable.
    expect((await client.turn('Again')).status).toBe('completed');
    await client.close();
  });

  it('retries 503s before anything was streamed, then completes', async () => {
    stack.simulator.enqueue(
      { status: 503, retryAfter: '0' },
      { status: 503, errorBody: 'html' },
      { reply: 'Recovered fine.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hi');
    expect(done).toMatchObject({ status: 'completed', text: 'Recovered fine.' });
    expect(stack.simulator.requests).toHaveLength(3);
    await client.close();
  });

  it('never retries once a delta was forwarded: a mid-stream drop fails the response', async () => {
    stack.simulator.enqueue({ reply: 'One two three four five six.', dropAfterChunks: 2 });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Count');
    expect(done.status).toBe('failed');
    expect(done.error?.code).toBe('GW_UPSTREAM_DROPPED');
    expect(done.text).toBe('One two ');
    expect(stack.simulator.requests).toHaveLength(1);
    // What was shown is committed, marked as cut off; the user's words are kept.
    await client.turn('Go on');
    expect(lastRequestMessages().slice(1, 3)).toEqual([
      { role: 'user', content: 'Count' },
      { role: 'assistant', content: 'One two [cut off by a connection error]' },
    ]);
    await client.close();
  });

  it('says the built-in simulator is offline in its default reply', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hello there');
    expect(done.text.toLowerCase()).toContain('simulator');
    const speech = client.events.filter(
      (e): e is Extract<ServerEvent, { type: 'response.speech' }> => e.type === 'response.speech',
    );
    expect(speech.length).toBeGreaterThan(1);
    await client.close();
  });
});
