// Tool steps at the core: a server tool runs inside the response and the next step sees its result; a client
// tool waits for tool.result; barge-in aborts a running tool; MAX_TOOL_STEPS caps the rounds; the filler.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FILLER_DELAY_MS, FILLER_TEXT } from '../../src/session/response-run.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { createSession, historyOf, PendingTool, turn, type EventOf } from './harness.js';
import { answer, Gate, toolStep } from './scripted-chat.js';

afterEach(() => {
  vi.useRealTimers();
});

type Assistant = Extract<ChatMessage, { role: 'assistant' }>;

describe('session core: tool steps', () => {
  it('runs a server tool inside the response and continues it: one response, the result right after its call', async () => {
    const h = createSession();
    h.chat.enqueue(
      toolStep('Let me check.', [{ name: 'lookup', arguments: '{"q":"paris"}', id: 'call_1' }]),
      answer('It is PARIS.'),
    );
    const done = await turn(h, 'Look up Paris');
    expect(done).toMatchObject({ status: 'completed', text: 'Let me check. It is PARIS.' });
    expect(h.recorder.ofType('response.created')).toHaveLength(1);
    expect(h.recorder.ofType('response.done')).toHaveLength(1);
    expect(h.recorder.ofType('response.tool_call')).toEqual([
      {
        type: 'response.tool_call',
        responseId: done.responseId,
        callId: 'call_1',
        name: 'lookup',
        arguments: '{"q":"paris"}',
        runsOn: 'server',
      },
    ]);
    // The second step's request: the tool step as the upstream expects it.
    expect(historyOf(h.chat.requests[1]).slice(-2)).toEqual([
      {
        role: 'assistant',
        content: 'Let me check.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"q":"paris"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"answer":"PARIS"}' },
    ]);
    // What was said before the call was spoken before the call was announced.
    const kinds = h.recorder.ofResponse(done.responseId).map((e) => e.type);
    expect(kinds.indexOf('response.speech')).toBeLessThan(kinds.indexOf('response.tool_call'));
    // The next turn sees the whole exchange in order.
    h.chat.enqueue(answer('You are welcome.'));
    await turn(h, 'Thanks');
    expect(historyOf(h.chat.requests[2]).map((m) => m.role)).toEqual([
      'user',
      'assistant',
      'tool',
      'assistant',
      'user',
    ]);
    // (The committed final text keeps the space that joined it to the step before: reported, not relied on.)
    expect((historyOf(h.chat.requests[2])[3] as Assistant).content?.trim()).toBe('It is PARIS.');
  });

  it('marks a reply cut off inside a tool step as interrupted, even though no final text was heard', async () => {
    const h = createSession();
    h.chat.enqueue(
      toolStep('Let me check that for you.', [{ name: 'lookup', arguments: '{"q":"paris"}', id: 'call_1' }]),
      answer('It is PARIS.'),
    );
    const done = await turn(h, 'Look up Paris');
    // The listener heard only "Let me check", still inside the first step, and barged in.
    h.session.handle({ type: 'response.cancel', responseId: done.responseId, heardChars: 'Let me check'.length });
    h.chat.enqueue(answer('Sure.'));
    await turn(h, 'Never mind');
    const history = historyOf(h.chat.requests[2]);
    expect(history.map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user']);
    expect((history[3] as Assistant).content).toBe('[interrupted by the user]');
    expect(JSON.stringify(history)).not.toContain('PARIS.');
  });

  it("waits inside the response for a client tool's tool.result and gives it to the model", async () => {
    const h = createSession();
    h.session.handle({
      type: 'session.update',
      tools: [{ name: 'get_location', parameters: { type: 'object', properties: {} } }],
    });
    h.chat.enqueue(
      toolStep('', [{ name: 'get_location', arguments: '{}', id: 'call_loc' }]),
      answer('You are in Lisbon.'),
    );
    h.session.handle({ type: 'turn', text: 'Where am I?' });
    const call = await h.recorder.waitForType('response.tool_call');
    expect(call).toMatchObject({ callId: 'call_loc', name: 'get_location', runsOn: 'client' });
    expect(h.chat.requests).toHaveLength(1);
    h.session.handle({ type: 'tool.result', callId: 'call_loc', output: { city: 'Lisbon' } });
    const done = await h.recorder.waitForType('response.done');
    expect(done).toMatchObject({ status: 'completed', text: 'You are in Lisbon.' });
    expect(historyOf(h.chat.requests[1]).at(-1)).toEqual({
      role: 'tool',
      tool_call_id: 'call_loc',
      content: '{"city":"Lisbon"}',
    });
    // The call is answered: a second result is unknown.
    h.session.handle({ type: 'tool.result', callId: 'call_loc', output: 'late' });
    expect(h.recorder.events.at(-1)).toMatchObject({ type: 'error', code: 'GW_UNKNOWN_TOOL_CALL' });
  });

  it('aborts a running tool on barge-in; the unfinished step is not committed, what was said before it is', async () => {
    const slow = new PendingTool('slow_lookup');
    const h = createSession({ tools: [slow.definition] });
    h.chat.enqueue(toolStep('Checking now.', [{ name: 'slow_lookup', arguments: '{}' }]), answer('Okay.'));
    h.session.handle({ type: 'turn', text: 'Look it up' });
    const call = await h.recorder.waitForType('response.tool_call');
    await slow.running;
    h.session.handle({ type: 'response.cancel', responseId: call.responseId });
    expect(slow.calls[0]?.signal.aborted).toBe(true);
    // The tool sees an ordinary AbortError, as from abort() without a reason.
    expect(slow.calls[0]?.signal.reason).toBeInstanceOf(DOMException);
    expect(slow.calls[0]?.signal.reason).toMatchObject({ name: 'AbortError', message: 'This operation was aborted' });
    expect(h.recorder.events.at(-1)).toMatchObject({ type: 'response.done', status: 'interrupted' });
    await turn(h, 'Never mind');
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Look it up' },
      { role: 'assistant', content: 'Checking now. [interrupted by the user]' },
      { role: 'user', content: 'Never mind' },
    ]);
  });

  it('caps tool rounds at MAX_TOOL_STEPS, then asks for an answer without tools and ignores calls it still makes', async () => {
    const h = createSession({ env: { MAX_TOOL_STEPS: '2' } });
    const again = (id: string) => toolStep('', [{ name: 'lookup', arguments: '{"q":"x"}', id }]);
    h.chat.enqueue(again('c1'), again('c2'), {
      ...again('c3'),
      beats: [...again('c3').beats.slice(0, -1), { type: 'text', text: 'Done.' }, { type: 'finish', reason: 'stop' }],
    });
    const done = await turn(h, 'Keep looking');
    expect(done).toMatchObject({ status: 'completed', text: 'Done.' });
    expect(h.chat.requests.map((r) => r.toolChoice)).toEqual(['auto', 'auto', 'none']);
    // Tools stay declared on the capped request (history refers to them), but its calls are never run.
    expect(h.chat.requests[2]?.tools?.map((t) => t.function.name)).toEqual(['lookup']);
    expect(h.recorder.ofType('response.tool_call').map((c) => c.callId)).toEqual(['c1', 'c2']);
    expect(h.recorder.ofType('response.done')).toHaveLength(1);
  });

  it('with MAX_TOOL_STEPS=0 the first request already asks for an answer without tools', async () => {
    const h = createSession({ env: { MAX_TOOL_STEPS: '0' } });
    h.chat.enqueue(answer('No tools today.'));
    await turn(h, 'Look it up');
    expect(h.chat.requests[0]?.toolChoice).toBe('none');
  });

  it('treats finish_reason "tool_calls" without any call as the end of the answer', async () => {
    const h = createSession();
    h.chat.enqueue({
      beats: [
        { type: 'text', text: 'I would call a tool here.' },
        { type: 'finish', reason: 'tool_calls' },
      ],
    });
    const done = await turn(h, 'Do it');
    expect(done).toMatchObject({ status: 'completed', text: 'I would call a tool here.' });
    expect(h.chat.requests).toHaveLength(1);
  });
});

describe('session core: the filler', () => {
  function slowSession() {
    const slow = new PendingTool('slow_lookup');
    return { slow, h: createSession({ tools: [slow.definition] }) };
  }

  it(`speaks "${FILLER_TEXT}" when a tool runs ${FILLER_DELAY_MS} ms before anything was spoken`, async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { slow, h } = slowSession();
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{}' }]), answer('Found it.'));
    h.session.handle({ type: 'turn', text: 'Look it up' });
    await h.recorder.waitForType('response.tool_call');
    await slow.running;
    vi.advanceTimersByTime(FILLER_DELAY_MS - 1);
    expect(h.recorder.ofType('response.speech')).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.recorder.ofType('response.speech')).toMatchObject([{ index: 0, text: FILLER_TEXT }]);
    // The filler is spoken, never shown nor kept: the reply's text and history do not hold it.
    slow.calls[0]?.result.resolve('ok');
    const done = (await h.recorder.waitForType('response.done')) as EventOf<'response.done'>;
    expect(done.text).toBe('Found it.');
    expect(JSON.stringify(h.chat.requests[1]?.messages)).not.toContain(FILLER_TEXT);
  });

  it('says nothing when the tool answers in time, even if the next step is slow to start', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { slow, h } = slowSession();
    const gate = new Gate();
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{}' }]), {
      beats: [gate, { type: 'text', text: 'Found' }, { type: 'finish', reason: 'stop' }],
    });
    h.session.handle({ type: 'turn', text: 'Look it up' });
    await h.recorder.waitForType('response.tool_call');
    await slow.running;
    vi.advanceTimersByTime(FILLER_DELAY_MS - 1);
    slow.calls[0]?.result.resolve('ok');
    await gate.reached;
    vi.advanceTimersByTime(FILLER_DELAY_MS);
    expect(h.recorder.ofType('response.speech')).toEqual([]);
    gate.release();
    await h.session.whenIdle();
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Found']);
  });

  it('says nothing when the reply was already speaking before the call', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { slow, h } = slowSession();
    h.chat.enqueue(toolStep('Let me see.', [{ name: 'slow_lookup', arguments: '{}' }]));
    h.session.handle({ type: 'turn', text: 'Look it up' });
    await h.recorder.waitForType('response.tool_call');
    await slow.running;
    vi.advanceTimersByTime(FILLER_DELAY_MS * 2);
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Let me see.']);
    h.session.close();
  });

  it('says nothing once the response was interrupted', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const { slow, h } = slowSession();
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{}' }]));
    h.session.handle({ type: 'turn', text: 'Look it up' });
    await h.recorder.waitForType('response.tool_call');
    await slow.running;
    h.session.handle({ type: 'response.cancel' });
    vi.advanceTimersByTime(FILLER_DELAY_MS * 2);
    expect(h.recorder.ofType('response.speech')).toEqual([]);
  });
});
