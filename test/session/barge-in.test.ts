// Barge-in at the core: a new turn or response.cancel interrupts the active response before anything of the
// next one, late upstream events are dropped, and history keeps only what the listener heard.
import { describe, expect, it } from 'vitest';
import { createSession, historyOf, turn, type EventOf, type Harness } from './harness.js';
import { answer, Gate, words, type Reply } from './scripted-chat.js';

const REPLY = 'The first sentence is here. The second sentence is a little longer than that. The third one ends it.';

/** REPLY held after `afterChunks` words. */
function held(afterChunks: number, options: { ignoreAbort?: boolean } = {}): { reply: Reply; gate: Gate } {
  const gate = new Gate();
  const all = words(REPLY);
  return {
    gate,
    reply: {
      beats: [...all.slice(0, afterChunks), gate, ...all.slice(afterChunks), { type: 'finish', reason: 'stop' }],
      ...options,
    },
  };
}

/** Starts a turn whose reply holds at its gate; resolves with its response.created once the gate is reached. */
async function heldTurn(h: Harness, gate: Gate, text = 'Tell me three things.'): Promise<EventOf<'response.created'>> {
  const from = h.recorder.events.length;
  h.session.handle({ type: 'turn', text });
  const created = await h.recorder.waitForType('response.created', from);
  await gate.reached;
  return created;
}

function deltaText(h: Harness, responseId: string): string {
  return h.recorder
    .ofResponse(responseId)
    .flatMap((e) => (e.type === 'response.delta' ? [e.text] : []))
    .join('');
}

describe('session core: barge-in', () => {
  it('a new turn interrupts the active response: its response.done (interrupted) comes before the next response.created', async () => {
    const h = createSession();
    const { reply, gate } = held(3);
    h.chat.enqueue(reply, answer('Stopped.'));
    const first = await heldTurn(h, gate);
    const from = h.recorder.events.length;
    h.session.handle({ type: 'turn', text: 'Actually, stop.' });
    const second = await h.recorder.waitFor(
      (e) => e.type === 'response.created' && e.responseId !== first.responseId,
      from,
    );
    const trail = h.recorder.trail(from);
    expect(trail.indexOf(`response.done:${first.responseId}`)).toBeGreaterThanOrEqual(0);
    expect(trail.indexOf(`response.done:${first.responseId}`)).toBeLessThan(
      trail.indexOf(`response.created:${(second as EventOf<'response.created'>).responseId}`),
    );
    expect(h.recorder.ofResponse(first.responseId).at(-1)).toMatchObject({
      type: 'response.done',
      status: 'interrupted',
      text: 'The first sentence ',
    });
    // The upstream request of the interrupted response was aborted at once.
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    await h.session.whenIdle();
    // Without heardChars, what was sent counts as heard; the new user words come after it.
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'assistant', content: 'The first sentence [interrupted by the user]' },
      { role: 'user', content: 'Actually, stop.' },
    ]);
  });

  it('drops late deltas of an interrupted response: nothing of it follows its response.done', async () => {
    const h = createSession();
    const { reply, gate } = held(3, { ignoreAbort: true });
    h.chat.enqueue(reply);
    const created = await heldTurn(h, gate);
    h.session.handle({ type: 'response.cancel', responseId: created.responseId });
    gate.release();
    await h.chat.calls[0]?.ended;
    const events = h.recorder.ofResponse(created.responseId);
    expect(events.filter((e) => e.type === 'response.done')).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ type: 'response.done', status: 'interrupted', text: 'The first sentence ' });
    expect(deltaText(h, created.responseId)).toBe('The first sentence ');
  });

  it('commits only what was heard (heardChars of speech mapped back to the text), marked as interrupted', async () => {
    const h = createSession();
    const { reply, gate } = held(16);
    h.chat.enqueue(reply, answer('Sorry.'));
    const created = await heldTurn(h, gate);
    const speech = h.recorder.ofType('response.speech').filter((e) => e.responseId === created.responseId);
    expect(speech.length).toBeGreaterThan(0);
    h.session.handle({ type: 'response.cancel', heardChars: speech[0]?.text.length ?? 0 });
    expect(h.recorder.events.at(-1)).toMatchObject({ type: 'response.done', status: 'interrupted' });
    await turn(h, 'Wait, what?');
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'assistant', content: 'The first sentence is here. [interrupted by the user]' },
      { role: 'user', content: 'Wait, what?' },
    ]);
  });

  it('commits no assistant message when nothing was heard, but keeps what the user said', async () => {
    const h = createSession();
    const { reply, gate } = held(2);
    h.chat.enqueue(reply, answer('Okay.'));
    await heldTurn(h, gate);
    h.session.handle({ type: 'response.cancel', heardChars: 0 });
    await turn(h, 'Never mind.');
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Tell me three things.' },
      { role: 'user', content: 'Never mind.' },
    ]);
  });

  it('truncates a finished reply that the client was still speaking when the user cut in', async () => {
    const h = createSession();
    h.chat.enqueue(answer(REPLY), answer('Okay.'));
    const done = await turn(h, 'Tell me three things.');
    const firstSegment = h.recorder.ofType('response.speech').find((e) => e.responseId === done.responseId);
    h.session.handle({
      type: 'response.cancel',
      responseId: done.responseId,
      heardChars: firstSegment?.text.length ?? 0,
    });
    await turn(h, 'Stop there.');
    expect(historyOf(h.chat.requests[1])[1]).toEqual({
      role: 'assistant',
      content: 'The first sentence is here. [interrupted by the user]',
    });
    expect(h.recorder.ofType('error')).toEqual([]);
  });

  it('answers a cancel with nothing active with GW_NO_ACTIVE_RESPONSE, and one for another response with GW_RESPONSE_MISMATCH', async () => {
    const h = createSession();
    h.session.handle({ type: 'response.cancel', eventId: 'c1' });
    expect(h.recorder.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_NO_ACTIVE_RESPONSE', eventId: 'c1' });
    const { reply, gate } = held(2);
    h.chat.enqueue(reply);
    const created = await heldTurn(h, gate);
    h.session.handle({ type: 'response.cancel', eventId: 'c2', responseId: 'resp_other' });
    expect(h.recorder.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_RESPONSE_MISMATCH', eventId: 'c2' });
    expect(h.session.activeResponseId).toBe(created.responseId);
    h.session.close();
  });

  it('close() interrupts the active response, which still gets its response.done, and nothing is sent after it', async () => {
    const h = createSession();
    const { reply, gate } = held(3, { ignoreAbort: true });
    h.chat.enqueue(reply);
    const created = await heldTurn(h, gate);
    h.session.close();
    const after = h.recorder.events.length;
    expect(h.recorder.events.at(-1)).toMatchObject({
      type: 'response.done',
      responseId: created.responseId,
      status: 'interrupted',
    });
    gate.release();
    await h.chat.calls[0]?.ended;
    h.session.handle({ type: 'ping', eventId: 'p' });
    expect(h.recorder.events).toHaveLength(after);
    expect(h.session.hasActiveResponse).toBe(false);
  });
});
