// Speculation in the session core: a reply started on an interim is held, then adopted when the turn commits with
// the same words (everything held goes out right after response.created) or discarded without a trace. Its tools
// never run before adoption. SPECULATION_STABLE_MS=0 makes a speculation start as the interim arrives.
import { describe, expect, it } from 'vitest';
import { createSession, drained, historyOf, PendingTool, turn, type Harness } from './harness.js';
import { answer, Gate, toolStep, words, type Reply } from './scripted-chat.js';

const SPECULATE_AT_ONCE = { SPECULATION_STABLE_MS: '0' };

function speculating(extra: Record<string, string> = {}, tools?: PendingTool[]): Harness {
  return createSession({
    env: { ...SPECULATE_AT_ONCE, ...extra },
    ...(tools ? { tools: tools.map((t) => t.definition) } : {}),
  });
}

/** A reply that holds after its first words until the test releases the gate. */
function heldAnswer(first: string, rest: string): { reply: Reply; gate: Gate } {
  const gate = new Gate();
  return { gate, reply: { beats: [...words(first), gate, ...words(rest), { type: 'finish', reason: 'stop' }] } };
}

/** Event types from `from` on, without the seq-free session.ready. */
function types(h: Harness, from = 0): string[] {
  return h.recorder.events.slice(from).map((e) => e.type);
}

describe('speculation: adopt', () => {
  it('holds a speculative reply, then sends response.created and everything held at once when the final matches', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('It is ', 'noon.');
    h.chat.enqueue(reply);
    const before = h.recorder.events.length;
    h.session.handle({ type: 'turn.interim', text: 'um what time is it' });
    await gate.reached;
    expect(h.chat.calls).toHaveLength(1);
    expect(historyOf(h.chat.requests[0]).at(-1)).toEqual({ role: 'user', content: 'um what time is it' });
    expect(types(h, before)).toEqual([]); // held: nothing reaches the client
    h.session.handle({ type: 'turn', text: 'What time is it?', turnId: 't-7' });
    expect(types(h, before)).toEqual(['response.created', 'response.delta', 'response.delta']);
    expect(h.recorder.events[before]).toMatchObject({ type: 'response.created', turnId: 't-7' });
    gate.release();
    const done = await h.recorder.waitForType('response.done', before);
    expect(done).toMatchObject({ status: 'completed', text: 'It is noon.' });
    expect(done.timings.speculative).toBe(true);
    expect(done.timings.firstTokenMs).toBe(0); // its first words were held until the commit: sent with it
    expect(h.chat.calls).toHaveLength(1);
    expect(h.speculation).toMatchObject({ started: 1, adopted: 1, discarded: [] });
    expect(h.speculation.turns).toEqual([{ upstreamRequests: 1, speculative: true }]);
    expect(h.observer.started).toBe(1);
    // History holds the committed words once, then the reply.
    h.chat.enqueue(answer('Sure.'));
    await turn(h, 'Thanks');
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'What time is it?' },
      { role: 'assistant', content: 'It is noon.' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('adopts a speculation that already finished: created, its deltas and its done, in that order', async () => {
    const h = speculating();
    h.chat.enqueue(answer('Noon.'));
    const before = h.recorder.events.length;
    h.session.handle({ type: 'turn.interim', text: 'What time is it' });
    await h.chat.calls[0]?.ended;
    await drained();
    expect(types(h, before)).toEqual([]);
    h.session.handle({ type: 'turn', text: 'what time is it' });
    expect(types(h, before)).toEqual(['response.created', 'response.delta', 'response.speech', 'response.done']);
    expect(h.session.hasActiveResponse).toBe(false);
  });

  it('numbers responses without a gap: a discarded speculation does not use up an id', async () => {
    const h = speculating();
    h.chat.enqueue(answer('A.'), answer('B.'));
    h.session.handle({ type: 'turn.interim', text: 'first words' });
    const done = await turn(h, 'other words');
    expect(done.responseId).toMatch(/^resp_1_/);
  });
});

describe('speculation: discard', () => {
  it('aborts the speculation at once when the final differs, and the client never sees it', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('It is ', 'noon.');
    h.chat.enqueue(reply, answer('Sunny.'));
    const before = h.recorder.events.length;
    h.session.handle({ type: 'turn.interim', text: 'what time is it' });
    await gate.reached;
    const speculative = h.chat.calls[0];
    const done = await turn(h, 'what is the weather');
    expect(speculative?.signal.aborted).toBe(true);
    expect(done.text).toBe('Sunny.');
    expect(h.recorder.events.slice(before).some((e) => 'text' in e && e.text.includes('It is'))).toBe(false);
    expect(types(h, before).filter((t) => t === 'response.created')).toHaveLength(1);
    expect(h.speculation.discarded).toEqual([{ reason: 'mismatch', tokens: 2 }]);
    expect(h.speculation.turns).toEqual([{ upstreamRequests: 2, speculative: false }]);
    expect(done.timings.speculative).toBe(false);
    expect(h.observer.started).toBe(1);
    expect(h.observer.settled).toHaveLength(1);
  });

  it('a revised interim aborts the running speculation; a later stable one may speculate again', async () => {
    const h = speculating();
    const first = heldAnswer('Ten ', 'past.');
    h.chat.enqueue(first.reply, answer('Paris is sunny.'));
    h.session.handle({ type: 'turn.interim', text: 'what time' });
    await first.gate.reached;
    h.session.handle({ type: 'turn.interim', text: 'what is the weather in Paris' });
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    expect(h.chat.calls).toHaveLength(2);
    const done = await turn(h, 'What is the weather in Paris?');
    expect(done).toMatchObject({ text: 'Paris is sunny.', timings: { speculative: true } });
    expect(h.speculation.discarded.map((d) => d.reason)).toEqual(['revised']);
    expect(h.speculation.turns).toEqual([{ upstreamRequests: 2, speculative: true }]);
  });

  it('caps speculations per turn (SPECULATIONS_PER_TURN) and runs at most one at a time', async () => {
    const h = speculating({ SPECULATIONS_PER_TURN: '2' });
    const gates = [new Gate(), new Gate()];
    h.chat.enqueue(...gates.map((g) => ({ beats: [g] })), answer('Done.'));
    h.session.handle({ type: 'turn.interim', text: 'one' });
    h.session.handle({ type: 'turn.interim', text: 'one two' });
    expect(h.chat.calls.map((c) => c.signal.aborted)).toEqual([true, false]); // never two at once
    h.session.handle({ type: 'turn.interim', text: 'one two three' });
    h.session.handle({ type: 'turn.interim', text: 'one two three four' });
    expect(h.chat.calls).toHaveLength(2);
    await turn(h, 'one two three four five');
    expect(h.chat.calls).toHaveLength(3);
    expect(h.speculation.turns).toEqual([{ upstreamRequests: 3, speculative: false }]);
  });

  it('discards a speculation whose prompt changed before the commit (settings updated)', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('It ', 'is.');
    h.chat.enqueue(reply, answer('Fresh.'));
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    await gate.reached;
    h.session.handle({ type: 'session.update', model: 'asi1' });
    const done = await turn(h, 'hello there');
    expect(done.text).toBe('Fresh.');
    expect(h.chat.requests[1]?.model).toBe('asi1');
    expect(h.speculation.discarded.map((d) => d.reason)).toEqual(['stale']);
  });

  it('does not adopt a speculation whose upstream failed: the turn gets a fresh request', async () => {
    const h = speculating({ UPSTREAM_MAX_RETRIES: '0' });
    h.chat.enqueue({ beats: [{ fail: new Error('boom') }] }, answer('Recovered.'));
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    await h.chat.calls[0]?.ended;
    await drained();
    const done = await turn(h, 'hello there');
    expect(done).toMatchObject({ status: 'completed', text: 'Recovered.' });
    expect(h.speculation.discarded.map((d) => d.reason)).toEqual(['failed']);
    expect(h.recorder.ofType('error')).toEqual([]);
  });

  it('closing the session aborts a held speculation and sends nothing of it', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('It ', 'is.');
    h.chat.enqueue(reply);
    const before = h.recorder.events.length;
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    await gate.reached;
    h.session.close();
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    gate.release();
    await h.chat.calls[0]?.ended;
    expect(types(h, before)).toEqual([]);
    expect(h.speculation.discarded.map((d) => d.reason)).toEqual(['closed']);
  });
});

describe('speculation: when it starts', () => {
  it('waits while a reply is active and speculates once it ended; never on a dangling interim or with speculate off', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('One ', 'two.');
    h.chat.enqueue(reply, { beats: [new Gate()] });
    h.session.handle({ type: 'turn', text: 'count' });
    await gate.reached;
    h.session.handle({ type: 'turn.interim', text: 'stop please' });
    expect(h.chat.calls).toHaveLength(1);
    gate.release();
    await h.recorder.waitForType('response.done');
    // The words said while the reply played are still the utterance in progress.
    expect(h.chat.calls).toHaveLength(2);
    expect(historyOf(h.chat.requests[1]).at(-1)).toEqual({ role: 'user', content: 'stop please' });
    h.session.handle({ type: 'turn.interim', text: 'book a table and' });
    expect(h.chat.calls[1]?.signal.aborted).toBe(true);
    expect(h.chat.calls).toHaveLength(2);
    h.session.handle({ type: 'session.update', turnDetection: { speculate: false } });
    h.session.handle({ type: 'turn.interim', text: 'book a table for two' });
    expect(h.chat.calls).toHaveLength(2);
  });

  it('a settings change drops a running speculation at once and speculates anew; speculate:false stops it', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('It ', 'is.');
    h.chat.enqueue(reply);
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    await gate.reached;
    h.chat.enqueue({ beats: [new Gate()] });
    h.session.handle({ type: 'session.update', instructions: 'Be brief.' });
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    expect(h.speculation.discarded.map((d) => d.reason)).toEqual(['stale']);
    // The same words are speculated on again, under the new prompt.
    expect(h.chat.calls).toHaveLength(2);
    expect(h.chat.requests[1]?.messages[0]).toEqual({ role: 'system', content: 'Be brief.' });
    h.session.handle({ type: 'session.update', turnDetection: { speculate: false } });
    expect(h.chat.calls[1]?.signal.aborted).toBe(true);
    h.session.handle({ type: 'turn.interim', text: 'hello there again' });
    expect(h.chat.calls).toHaveLength(2);
  });

  it('ignores a late interim that repeats the words just committed', async () => {
    const h = speculating();
    h.chat.enqueue(answer('Noon.'));
    await turn(h, 'what time is it');
    h.session.handle({ type: 'turn.interim', text: 'What time is it' });
    expect(h.chat.calls).toHaveLength(1);
    h.chat.enqueue({ beats: [new Gate()] });
    h.session.handle({ type: 'turn.interim', text: 'and the date' });
    expect(h.chat.calls).toHaveLength(2);
    h.session.close();
  });

  it('a session moving to another instance drops its speculation here', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('It ', 'is.');
    h.chat.enqueue(reply);
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    await gate.reached;
    h.session.leaveTurnInProgress();
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    expect(h.speculation.discarded.map((d) => d.reason)).toEqual(['closed']);
  });

  it('SPECULATION=off turns it off for every session, and session.updated says so', () => {
    const h = speculating({ SPECULATION: 'off' });
    h.session.handle({ type: 'session.update', turnDetection: { speculate: true } });
    expect(h.recorder.ofType('session.updated')[0]?.turnDetection).toEqual({ speculate: false, serverCommit: null });
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    expect(h.chat.calls).toHaveLength(0);
  });

  it('waits for the interim to stay unchanged SPECULATION_STABLE_MS, unless it ends like a sentence', async () => {
    const h = createSession({ env: { SPECULATION_STABLE_MS: '5000' } });
    h.chat.enqueue({ beats: [new Gate()] });
    h.session.handle({ type: 'turn.interim', text: 'what time is it' });
    expect(h.chat.calls).toHaveLength(0);
    h.session.handle({ type: 'turn.interim', text: 'What time is it?' });
    expect(h.chat.calls).toHaveLength(1);
    h.session.close();
  });

  it('refuses an interim over MAX_TURN_CHARS with a typed error', () => {
    const h = speculating({ MAX_TURN_CHARS: '10' });
    h.session.handle({ type: 'turn.interim', text: 'x'.repeat(11), eventId: 'e1' });
    expect(h.recorder.ofType('error')).toMatchObject([{ code: 'GW_TEXT_TOO_LONG', eventId: 'e1' }]);
  });
});

describe('speculation: no side effects', () => {
  it('a speculative tool call never runs when discarded', async () => {
    const lookup = new PendingTool('slow_lookup');
    const h = speculating({}, [lookup]);
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{"q":"x"}' }]), answer('Other.'));
    h.session.handle({ type: 'turn.interim', text: 'look it up' });
    await h.chat.calls[0]?.ended;
    await drained();
    expect(lookup.calls).toHaveLength(0);
    await turn(h, 'never mind');
    await drained();
    expect(lookup.calls).toHaveLength(0);
    expect(h.recorder.ofType('response.tool_call')).toEqual([]);
  });

  it('a speculative tool call runs once, after response.created, when adopted', async () => {
    const lookup = new PendingTool('slow_lookup');
    const h = speculating({}, [lookup]);
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{"q":"x"}' }]), answer('Found it.'));
    h.session.handle({ type: 'turn.interim', text: 'look it up' });
    await h.chat.calls[0]?.ended;
    await drained();
    expect(lookup.calls).toHaveLength(0);
    const before = h.recorder.events.length;
    h.session.handle({ type: 'turn', text: 'Look it up.' });
    expect(types(h, before).slice(0, 2)).toEqual(['response.created', 'response.tool_call']);
    await lookup.running;
    expect(lookup.calls).toHaveLength(1);
    lookup.calls[0]?.result.resolve({ ok: 1 });
    const done = await h.recorder.waitForType('response.done', before);
    expect(done).toMatchObject({ status: 'completed', text: 'Found it.' });
    expect(lookup.calls).toHaveLength(1);
  });
});

describe('speculation: barge-in keeps its guarantees', () => {
  it('a barge-in while the held events go out takes effect after them: deltas add up to done.text', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('One two ', 'three.');
    h.chat.enqueue(reply);
    h.session.handle({ type: 'turn.interim', text: 'count' });
    await gate.reached;
    // A transport dropping a slow consumer interrupts the response from inside the send of its first delta.
    h.recorder.react = (event) => {
      if (event.type === 'response.delta') h.session.interruptActive('client_cancel');
    };
    const before = h.recorder.events.length;
    h.session.handle({ type: 'turn', text: 'count' });
    expect(types(h, before)).toEqual(['response.created', 'response.delta', 'response.delta', 'response.done']);
    const deltas = h.recorder.ofType('response.delta').map((d) => d.text);
    expect(h.recorder.ofType('response.done')[0]).toMatchObject({ status: 'interrupted', text: deltas.join('') });
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
  });

  it('a held tool call never runs when the reply is interrupted as it is adopted', async () => {
    const lookup = new PendingTool('slow_lookup');
    const h = speculating({}, [lookup]);
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{"q":"x"}' }]));
    h.session.handle({ type: 'turn.interim', text: 'look it up' });
    await h.chat.calls[0]?.ended;
    await drained();
    h.recorder.react = (event) => {
      if (event.type === 'response.tool_call') h.session.interruptActive('client_cancel');
    };
    h.session.handle({ type: 'turn', text: 'look it up' });
    await drained();
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'interrupted' }]);
    expect(lookup.calls).toHaveLength(0);
  });

  it('an adopted reply interrupted by response.cancel gets one done, commits what was heard, and aborts upstream', async () => {
    const h = speculating();
    const { reply, gate } = heldAnswer('The first part. ', 'The second part.');
    h.chat.enqueue(reply, answer('Ok.'));
    h.session.handle({ type: 'turn.interim', text: 'tell me' });
    await gate.reached;
    h.session.handle({ type: 'turn', text: 'tell me' });
    const created = await h.recorder.waitForType('response.created');
    h.session.handle({ type: 'response.cancel', responseId: created.responseId });
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    gate.release();
    await h.chat.calls[0]?.ended;
    const dones = h.recorder.ofType('response.done');
    expect(dones).toHaveLength(1);
    expect(dones[0]).toMatchObject({ status: 'interrupted', timings: { speculative: true } });
    expect(h.recorder.events.at(-1)?.type).toBe('response.done');
    await turn(h, 'go on');
    expect(historyOf(h.chat.requests[1]).slice(0, 2)).toEqual([
      { role: 'user', content: 'tell me' },
      { role: 'assistant', content: 'The first part. [interrupted by the user]' },
    ]);
  });
});
