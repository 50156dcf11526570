// Barge-in: cancel-and-commit, upstream abort, and no event of a response after its response.done.
// Simulator gates hold the stream at a known point, so nothing here sleeps.
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

const REPLY = 'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

function messagesOfRequest(index: number): ChatMessage[] {
  return (stack.simulator.requests[index]?.body as { messages: ChatMessage[] }).messages;
}

function clientClosedStream(): Promise<void> {
  return new Promise((resolve) => {
    stack.simulator.events.on('stream-end', (end: { reason: string }) => {
      if (end.reason === 'client-closed') resolve();
    });
  });
}

/** Starts a turn whose stream holds after `afterChunks` chunks; resolves once those deltas reached the client. */
async function heldTurn(client: VoiceClient, gateName: string, afterChunks: number, text = 'Tell me three things.') {
  stack.simulator.enqueue({ reply: REPLY, gate: { name: gateName, afterChunks } });
  const gate = stack.simulator.gate(gateName);
  const from = client.events.length;
  client.send({ type: 'turn', text });
  const created = await client.waitForType('response.created', from);
  await gate.reached;
  // The chunks before the gate were written before the gate was reached; wait until the client has them all.
  const expected = REPLY.split(/(?<=\s)/)
    .slice(0, afterChunks)
    .join('');
  await client.waitFor(() => deltaText(client, created.responseId) === expected, from);
  return { created, gate };
}

function deltaText(client: VoiceClient, responseId: string): string {
  return client
    .ofResponse(responseId)
    .flatMap((e) => (e.type === 'response.delta' ? [e.text] : []))
    .join('');
}

describe('barge-in', () => {
  it('interrupts the active response, closes the upstream stream at once, and sends nothing after done', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    const { created, gate } = await heldTurn(client, 'g1', 3);
    const upstreamClosed = clientClosedStream();
    client.send({ type: 'response.cancel', responseId: created.responseId });
    const done = await client.waitFor((e) => e.type === 'response.done' && e.responseId === created.responseId);
    expect(done).toMatchObject({ status: 'interrupted', text: 'The first sentence ' });
    await upstreamClosed;
    gate.release();
    // A full later turn proves ordering: had anything of the old response been sent, it would precede this.
    await client.turn('Next question');
    const events = client.ofResponse(created.responseId);
    expect(events.at(-1)).toBe(done);
    expect(events.filter((e) => e.type === 'response.done')).toHaveLength(1);
    await client.close();
  });

  it('commits only what was heard, mapped from speech text back to display text, marked as interrupted', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    // Hold after the first two sentences, so both were segmented for speech.
    const { created, gate } = await heldTurn(client, 'g2', 16);
    const speech = client
      .ofResponse(created.responseId)
      .filter((e): e is Extract<ServerEvent, { type: 'response.speech' }> => e.type === 'response.speech');
    expect(speech.length).toBeGreaterThan(0);
    const firstSegment = speech[0]?.text ?? '';
    client.send({ type: 'response.cancel', heardChars: firstSegment.length });
    await client.waitForType('response.done');
    gate.release();
    await client.turn('Wait, what?');
    const history = messagesOfRequest(1).slice(1);
    expect(history[0]).toEqual({ role: 'user', content: 'Tell me three things.' });
    expect(history[1]?.role).toBe('assistant');
    expect(history[1]?.content).toBe('The first sentence is here. [interrupted by the user]');
    expect(history[2]).toEqual({ role: 'user', content: 'Wait, what?' });
    await client.close();
  });

  it('drops the assistant message when nothing was heard, but keeps what the user said', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    const { gate } = await heldTurn(client, 'g3', 2);
    client.send({ type: 'response.cancel', heardChars: 0 });
    await client.waitForType('response.done');
    gate.release();
    await client.turn('Never mind.');
    expect(messagesOfRequest(1).slice(1)).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'user', content: 'Never mind.' },
    ]);
    await client.close();
  });

  it('interrupts the active response when a new turn arrives, before the new response starts', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    const { created, gate } = await heldTurn(client, 'g4', 3);
    const from = client.events.length;
    client.send({ type: 'turn', text: 'Actually, stop.' });
    const second = await client.waitFor(
      (e) => e.type === 'response.created' && e.responseId !== created.responseId,
      from,
    );
    const types = client.events.slice(from).map((e) => `${e.type}:${'responseId' in e ? e.responseId : ''}`);
    expect(types.indexOf(`response.done:${created.responseId}`)).toBeLessThan(
      types.indexOf(`response.created:${(second as { responseId: string }).responseId}`),
    );
    gate.release();
    await client.waitFor(
      (e) => e.type === 'response.done' && e.responseId === (second as { responseId: string }).responseId,
    );
    // Without heardChars, what was sent counts as heard.
    expect(messagesOfRequest(1).slice(1)).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'assistant', content: 'The first sentence [interrupted by the user]' },
      { role: 'user', content: 'Actually, stop.' },
    ]);
    await client.close();
  });

  it('truncates a finished reply that the client was still speaking when the user cut in', async () => {
    stack.simulator.enqueue({ reply: REPLY });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Tell me three things.');
    const firstSegment = client
      .ofResponse(done.responseId)
      .find((e): e is Extract<ServerEvent, { type: 'response.speech' }> => e.type === 'response.speech');
    client.send({ type: 'response.cancel', responseId: done.responseId, heardChars: firstSegment?.text.length ?? 0 });
    await client.turn('Stop there.');
    expect(messagesOfRequest(1)[2]).toEqual({
      role: 'assistant',
      content: 'The first sentence is here. [interrupted by the user]',
    });
    expect(client.events.filter((e) => e.type === 'error')).toEqual([]);
    await client.close();
  });

  it('answers response.cancel with nothing active with GW_NO_ACTIVE_RESPONSE', async () => {
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'response.cancel', eventId: 'c1' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_NO_ACTIVE_RESPONSE', eventId: 'c1' });
    await client.close();
  });

  it('interrupts the active response and aborts upstream when the client disconnects and resume is off', async () => {
    await stack.close();
    stack = await startStack({ env: { RESUME_TTL_MS: '0' } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const { gate } = await heldTurn(client, 'g5', 2);
    const upstreamClosed = clientClosedStream();
    await client.close();
    await upstreamClosed;
    gate.release();
  });
});
