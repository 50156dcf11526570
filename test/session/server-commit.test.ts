// Server commit (turnDetection.serverCommit): the session ends a turn itself once an interim stayed unchanged for
// stableMs and reads as finished, says so with turn.committed, and answers. A matching final is absorbed; a final
// or interim that extends the committed words interrupts that reply and answers the whole utterance, which
// history then holds once. Timers are faked so the waits are exact and nothing sleeps.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { createSession, historyOf, turn, type Harness, type HarnessOptions } from './harness.js';
import { answer, Gate, words, type Reply } from './scripted-chat.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function committing(options: HarnessOptions = {}, stableMs = 600): Harness {
  const h = createSession({ ...options, env: { SPECULATION_STABLE_MS: '200', ...options.env } });
  h.session.handle({ type: 'session.update', turnDetection: { serverCommit: { stableMs } } });
  return h;
}

function held(first: string, rest: string): { reply: Reply; gate: Gate } {
  const gate = new Gate();
  return { gate, reply: { beats: [...words(first), gate, ...words(rest), { type: 'finish', reason: 'stop' }] } };
}

describe('server commit', () => {
  it('echoes turnDetection in session.updated', () => {
    const h = committing();
    expect(h.recorder.ofType('session.updated')[0]?.turnDetection).toEqual({
      speculate: true,
      serverCommit: { stableMs: 600 },
    });
  });

  it('commits a stable, finished interim: turn.committed, then the (speculated) reply; a matching final is absorbed', async () => {
    const h = committing();
    h.chat.enqueue(answer('It is noon.'));
    const from = h.recorder.events.length;
    h.session.handle({ type: 'turn.interim', text: 'what time is it', turnId: 'u1' });
    vi.advanceTimersByTime(200); // the speculation starts
    expect(h.chat.calls).toHaveLength(1);
    vi.advanceTimersByTime(399);
    expect(h.recorder.ofType('turn.committed')).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.recorder.events.slice(from, from + 2)).toMatchObject([
      { type: 'turn.committed', turnId: 'u1', text: 'what time is it', by: 'server' },
      { type: 'response.created', turnId: 'u1' },
    ]);
    const done = await h.recorder.waitForType('response.done', from);
    expect(done).toMatchObject({ text: 'It is noon.', timings: { speculative: true } });
    h.session.handle({ type: 'turn', text: 'What time is it?', turnId: 'f1' });
    expect(h.recorder.ofType('response.created')).toHaveLength(1);
    expect(h.recorder.ofType('turn.absorbed')).toEqual([
      { type: 'turn.absorbed', turnId: 'f1', committedTurnId: 'u1', responseId: done.responseId },
    ]);
    expect(h.chat.calls).toHaveLength(1);
    h.chat.enqueue(answer('Bye.'));
    await turn(h, 'bye');
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'what time is it' },
      { role: 'assistant', content: 'It is noon.' },
      { role: 'user', content: 'bye' },
    ]);
  });

  it('never commits an interim that sounds unfinished, nor one that keeps changing', () => {
    const h = committing();
    h.session.handle({ type: 'turn.interim', text: 'book a table and' });
    vi.advanceTimersByTime(5_000);
    h.session.handle({ type: 'turn.interim', text: 'book a table with' });
    vi.advanceTimersByTime(500);
    h.session.handle({ type: 'turn.interim', text: 'book a table for two um' });
    vi.advanceTimersByTime(5_000);
    expect(h.recorder.ofType('turn.committed')).toEqual([]);
    expect(h.chat.calls).toHaveLength(0);
  });

  it('a final that extends the commit interrupts that reply at once and answers the whole utterance, held once in history', async () => {
    const h = committing();
    const first = held('The weather ', 'is fine.');
    h.chat.enqueue(first.reply, answer('Paris is sunny.'), answer('Ok.'));
    h.session.handle({ type: 'turn.interim', text: 'what is the weather' });
    vi.advanceTimersByTime(600);
    await first.gate.reached;
    const committed = h.recorder.ofType('response.created')[0];
    h.session.handle({ type: 'turn', text: 'What is the weather in Paris?' });
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    const dones = h.recorder.ofType('response.done');
    expect(dones).toMatchObject([{ responseId: committed?.responseId, status: 'interrupted' }]);
    const second = await h.recorder.waitFor((e) => e.type === 'response.done' && e !== dones[0]);
    expect(second).toMatchObject({ text: 'Paris is sunny.' });
    const prompt = historyOf(h.chat.requests[1]);
    expect(prompt[0]).toEqual({ role: 'user', content: 'What is the weather in Paris?' });
    expect(prompt.filter((m) => m.role === 'user')).toHaveLength(1);
    await turn(h, 'thanks');
    expect(
      historyOf(h.chat.requests[2])
        .filter((m) => m.role === 'user')
        .map((m) => m.content),
    ).toEqual(['What is the weather in Paris?', 'thanks']);
  });

  it('an interim that extends the commit interrupts the reply before any final; the next commit holds the whole utterance', async () => {
    const h = committing();
    const first = held('Sure, ', 'what time?');
    h.chat.enqueue(first.reply, answer('Booked for seven.'));
    h.session.handle({ type: 'turn.interim', text: 'book a table' });
    vi.advanceTimersByTime(600);
    await first.gate.reached;
    h.session.handle({ type: 'turn.interim', text: 'book a table at seven' });
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'interrupted' }]);
    expect(h.chat.calls[0]?.signal.aborted).toBe(true);
    vi.advanceTimersByTime(600);
    expect(h.recorder.ofType('turn.committed').map((e) => e.text)).toEqual(['book a table', 'book a table at seven']);
    await h.recorder.waitFor((e) => e.type === 'response.done' && e.status === 'completed');
    const users = historyOf(h.chat.requests.at(-1)).filter((m) => m.role === 'user');
    expect(users).toEqual([{ role: 'user', content: 'book a table at seven' }]);
    // The final that follows confirms the second commit: absorbed.
    h.session.handle({ type: 'turn', text: 'Book a table at seven.' });
    expect(h.recorder.ofType('response.created')).toHaveLength(2);
  });

  it('a client that sends no finals: the next utterance’s interims are committed in turn', async () => {
    const h = committing();
    h.chat.enqueue(answer('Noon.'), answer('Sunny.'));
    h.session.handle({ type: 'turn.interim', text: 'what time is it' });
    vi.advanceTimersByTime(600);
    await h.recorder.waitForType('response.done');
    h.session.handle({ type: 'turn.interim', text: 'what is the weather' });
    vi.advanceTimersByTime(600);
    expect(h.recorder.ofType('turn.committed').map((e) => e.text)).toEqual(['what time is it', 'what is the weather']);
    const dones = await h.recorder.waitFor((e) => e.type === 'response.done' && e.text === 'Sunny.');
    expect(dones).toMatchObject({ status: 'completed' });
  });

  it('names the reply in turn.absorbed also when the adopted speculation had already finished', async () => {
    const h = committing();
    h.chat.enqueue(answer('Noon.'));
    h.session.handle({ type: 'turn.interim', text: 'what time is it' });
    vi.advanceTimersByTime(200);
    await h.chat.calls[0]?.ended;
    await new Promise((resolve) => setImmediate(resolve));
    vi.advanceTimersByTime(400);
    const done = await h.recorder.waitForType('response.done');
    h.session.handle({ type: 'turn', text: 'what time is it', turnId: 'f2' });
    expect(h.recorder.ofType('turn.absorbed')).toMatchObject([{ turnId: 'f2', responseId: done.responseId }]);
  });

  it('an interim said while a reply played is committed once the reply ended (a client that sends no finals)', async () => {
    const h = committing();
    const first = held('One ', 'two.');
    h.chat.enqueue(first.reply, answer('Sunny.'));
    h.session.handle({ type: 'turn', text: 'count' });
    await first.gate.reached;
    h.session.handle({ type: 'turn.interim', text: 'what is the weather' });
    vi.advanceTimersByTime(5_000);
    expect(h.recorder.ofType('turn.committed')).toEqual([]);
    first.gate.release();
    await h.recorder.waitForType('response.done');
    vi.advanceTimersByTime(600);
    expect(h.recorder.ofType('turn.committed').map((e) => e.text)).toEqual(['what is the weather']);
  });

  it('turning serverCommit off cancels a pending commit', () => {
    const h = committing();
    h.session.handle({ type: 'turn.interim', text: 'what time is it' });
    vi.advanceTimersByTime(300);
    h.session.handle({ type: 'session.update', turnDetection: { serverCommit: null } });
    vi.advanceTimersByTime(5_000);
    expect(h.recorder.ofType('turn.committed')).toEqual([]);
  });

  it('a final that corrects the committed words (the recognizer heard the last one again) replaces them', async () => {
    const h = committing();
    const first = held('Paris ', 'is sunny.');
    h.chat.enqueue(first.reply, answer('Berlin is cloudy.'));
    h.session.handle({ type: 'turn.interim', text: 'what is the weather in Paris' });
    vi.advanceTimersByTime(600);
    await first.gate.reached;
    h.session.handle({ type: 'turn', text: 'What is the weather in Berlin?' });
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'interrupted' }]);
    await h.recorder.waitFor((e) => e.type === 'response.done' && e.status === 'completed');
    expect(historyOf(h.chat.requests[1])[0]).toEqual({ role: 'user', content: 'What is the weather in Berlin?' });
    expect(historyOf(h.chat.requests[1]).filter((m) => m.role === 'user')).toHaveLength(1);
  });

  it('a final with other words after a commit is a new turn (cancel-and-commit as before)', async () => {
    const h = committing();
    const first = held('One ', 'two.');
    h.chat.enqueue(first.reply, answer('Different.'));
    h.session.handle({ type: 'turn.interim', text: 'count to two' });
    vi.advanceTimersByTime(600);
    await first.gate.reached;
    h.session.handle({ type: 'turn', text: 'stop' });
    await h.recorder.waitFor((e) => e.type === 'response.done' && e.status === 'completed');
    expect(historyOf(h.chat.requests[1]).map((m) => m.content)).toEqual([
      'count to two',
      'One [interrupted by the user]',
      'stop',
    ]);
  });

  it('asks the transport’s turn limits first: refused, it says why and leaves the turn to the client’s final', () => {
    const h = committing({ admitServerCommit: () => new GatewayError('GW_RATE_LIMITED') });
    h.chat.enqueue(answer('x'));
    h.session.handle({ type: 'turn.interim', text: 'hello there' });
    vi.advanceTimersByTime(600);
    expect(h.recorder.ofType('turn.committed')).toEqual([]);
    expect(h.recorder.ofType('error')).toMatchObject([{ code: 'GW_RATE_LIMITED' }]);
  });
});
