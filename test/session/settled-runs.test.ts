// A settled reply's run is not kept: between turns (while the client speaks the reply, often for seconds) a
// session holds what a later heard-length report needs (SpokenReply), not the run's working set. Counted with
// V8's own view of the heap after a full collection: the live ResponseRun instances, through the inspector.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ResponseRun } from '../../src/session/response-run.js';
import { liveInstances } from '../heap.js';
import { createSession, drained, turn } from './harness.js';
import { answer } from './scripted-chat.js';

const REPLY = 'The first sentence is here. The second one follows it.';

afterEach(() => {
  vi.useRealTimers();
});

describe('settled replies', () => {
  it('a completed reply the client may still be speaking keeps no run, and a later cancel still truncates it', async () => {
    const h = createSession();
    h.chat.enqueue(answer(REPLY), answer('Okay.'));
    const done = await turn(h, 'Tell me two things.');
    await drained();
    expect(await liveInstances(ResponseRun)).toBe(0);
    h.session.handle({
      type: 'response.cancel',
      responseId: done.responseId,
      heardChars: 'The first sentence is here.'.length,
    });
    await turn(h, 'Stop there.');
    expect(h.chat.requests[1]?.messages.at(-2)).toEqual({
      role: 'assistant',
      content: 'The first sentence is here. [interrupted by the user]',
    });
  });

  it('a reply the server committed keeps no run while the client’s final is still to come', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const h = createSession({ env: { SPECULATION_STABLE_MS: '200' } });
    h.session.handle({ type: 'session.update', turnDetection: { serverCommit: { stableMs: 600 } } });
    h.chat.enqueue(answer(REPLY));
    h.session.handle({ type: 'turn.interim', text: 'tell me two things', turnId: 'u1' });
    vi.advanceTimersByTime(600);
    expect(h.recorder.ofType('turn.committed')).toHaveLength(1);
    await h.recorder.waitForType('response.done');
    await drained();
    expect(await liveInstances(ResponseRun)).toBe(0);
  });
});
