// The tool calls of a step as the client and the model see them: announced the moment their arguments are
// complete, listed for the model in its own order, bad arguments and unknown tools answered with an error the
// model can read, speech flushed at the first sign of a call, the tools each step offers, and how the text of
// successive steps joins into one reply.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FILLER_DELAY_MS, ResponseRun, type ToolChoice } from '../../src/session/response-run.js';
import { SessionToolRunner } from '../../src/session/tool-runner.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { ToolDefinition } from '../../src/tools/types.js';
import type { ChatEvent, ChatMessage } from '../../src/upstream/types.js';
import { createSession, EventRecorder, historyOf, lookupTool, PendingTool, turn } from './harness.js';
import { answer, Gate, ScriptedChat, toolStep, words, type Reply } from './scripted-chat.js';

afterEach(() => {
  vi.useRealTimers();
});

const fn = (id: string, args: string, name = 'lookup') => ({
  id,
  type: 'function' as const,
  function: { name, arguments: args },
});
const fragment = (index: number, argumentsDelta: string, id?: string, name?: string): ChatEvent => ({
  type: 'tool_call',
  index,
  ...(id === undefined ? {} : { id }),
  ...(name === undefined ? {} : { name }),
  argumentsDelta,
});
const endOfCalls: ChatEvent = { type: 'finish', reason: 'tool_calls' };

/** The tool step of the second request: what the model got back of the first step. */
function stepSeenByModel(messages: ChatMessage[] | undefined): ChatMessage[] {
  return (messages ?? []).slice(2);
}

describe('tool calls: announced and answered', () => {
  it('announces calls as they complete, but gives them to the model in its own order with their results', async () => {
    const h = createSession();
    h.chat.enqueue(
      {
        beats: [
          fragment(0, '{"q":', 'c0', 'lookup'),
          fragment(1, '{"q":"b"}', 'c1', 'lookup'),
          fragment(0, '"a"}'),
          endOfCalls,
        ],
      },
      answer('A and B.'),
    );
    await turn(h, 'Both');
    expect(h.recorder.ofType('response.tool_call').map((c) => c.callId)).toEqual(['c1', 'c0']);
    expect(stepSeenByModel(h.chat.requests[1]?.messages)).toEqual([
      { role: 'assistant', content: null, tool_calls: [fn('c0', '{"q":"a"}'), fn('c1', '{"q":"b"}')] },
      { role: 'tool', tool_call_id: 'c0', content: '{"answer":"A"}' },
      { role: 'tool', tool_call_id: 'c1', content: '{"answer":"B"}' },
    ]);
  });

  it('answers arguments that are not JSON with an error, without running the tool, and shows the model "{}"', async () => {
    const spy = new PendingTool('spy');
    const h = createSession({ tools: [spy.definition] });
    h.chat.enqueue({ beats: [fragment(0, '{"q": oops', 'c1', 'spy'), endOfCalls] }, answer('Sorry.'));
    await turn(h, 'Go');
    expect(h.recorder.ofType('response.tool_call')).toMatchObject([
      { callId: 'c1', arguments: '{"q": oops', runsOn: 'server' },
    ]);
    expect(spy.calls).toEqual([]);
    const [call, result] = stepSeenByModel(h.chat.requests[1]?.messages);
    expect(call).toEqual({ role: 'assistant', content: null, tool_calls: [fn('c1', '{}', 'spy')] });
    expect(result).toMatchObject({ role: 'tool', tool_call_id: 'c1' });
    expect(JSON.parse(result?.content ?? '')).toEqual({ error: 'The arguments are not valid JSON: {"q": oops' });
  });

  it.each([
    ['no arguments at all', ''],
    ['arguments of whitespace only', ' \n'],
  ])('runs a call sent with %s with {}, and shows the model "{}"', async (_name, args) => {
    const spy = new PendingTool('spy');
    const h = createSession({ tools: [spy.definition] });
    h.chat.enqueue({ beats: [fragment(0, args, 'c1', 'spy'), endOfCalls] }, answer('Done.'));
    h.session.handle({ type: 'turn', text: 'Go' });
    await spy.running;
    expect(spy.calls[0]?.args).toEqual({});
    spy.calls[0]?.result.resolve('fine');
    await h.session.whenIdle();
    expect(stepSeenByModel(h.chat.requests[1]?.messages)).toEqual([
      { role: 'assistant', content: null, tool_calls: [fn('c1', '{}', 'spy')] },
      { role: 'tool', tool_call_id: 'c1', content: 'fine' },
    ]);
  });

  it('answers a tool the model made up with an error it can read; the client sees it as a server call', async () => {
    const h = createSession();
    h.chat.enqueue(toolStep('', [{ name: 'teleport', arguments: '{}', id: 'c1' }]), answer('I cannot.'));
    await turn(h, 'Beam me up');
    expect(h.recorder.ofType('response.tool_call')).toMatchObject([
      { callId: 'c1', name: 'teleport', runsOn: 'server' },
    ]);
    expect(stepSeenByModel(h.chat.requests[1]?.messages)[1]).toEqual({
      role: 'tool',
      tool_call_id: 'c1',
      content: '{"error":"Unknown tool \\"teleport\\"."}',
    });
  });

  it('past MAX_TOOL_STEPS ignores a call even when it completes only as the stream ends', async () => {
    const h = createSession({ env: { MAX_TOOL_STEPS: '1' } });
    h.chat.enqueue(toolStep('', [{ name: 'lookup', arguments: '{"q":"x"}', id: 'c1' }]), {
      beats: [
        { type: 'text', text: 'Enough.' },
        fragment(0, '{"q":"y"', 'c2', 'lookup'),
        { type: 'finish', reason: 'stop' },
      ],
    });
    const done = await turn(h, 'Keep going');
    expect(done).toMatchObject({ status: 'completed', text: 'Enough.' });
    expect(h.recorder.ofType('response.tool_call').map((c) => c.callId)).toEqual(['c1']);
    expect(h.chat.requests).toHaveLength(2);
  });
});

describe('tool calls: how many one step may make', () => {
  it('runs the first MAX_TOOL_CALLS_PER_STEP calls of a step and ignores the rest: never announced, run or kept', async () => {
    const h = createSession({ env: { MAX_TOOL_CALLS_PER_STEP: '2' } });
    const calls = ['a', 'b', 'c', 'd', 'e'].map((q, i) => ({ name: 'lookup', arguments: `{"q":"${q}"}`, id: `c${i}` }));
    h.chat.enqueue(toolStep('', calls), answer('A and B.'));
    expect(await turn(h, 'All of them')).toMatchObject({ status: 'completed', text: 'A and B.' });
    expect(h.recorder.ofType('response.tool_call').map((c) => c.callId)).toEqual(['c0', 'c1']);
    expect(stepSeenByModel(h.chat.requests[1]?.messages)).toEqual([
      { role: 'assistant', content: null, tool_calls: [fn('c0', '{"q":"a"}'), fn('c1', '{"q":"b"}')] },
      { role: 'tool', tool_call_id: 'c0', content: '{"answer":"A"}' },
      { role: 'tool', tool_call_id: 'c1', content: '{"answer":"B"}' },
    ]);
  });

  it('keeps assembling the calls it runs while ignoring fragments of calls past the cap', async () => {
    const h = createSession({ env: { MAX_TOOL_CALLS_PER_STEP: '1' } });
    h.chat.enqueue(
      {
        beats: [
          fragment(7, '{"q":', 'c7', 'lookup'),
          fragment(8, '{"q":"no"}', 'c8', 'lookup'),
          fragment(7, '"x"}'),
          endOfCalls,
        ],
      },
      answer('X.'),
    );
    await turn(h, 'Go');
    expect(h.recorder.ofType('response.tool_call').map((c) => [c.callId, c.arguments])).toEqual([['c7', '{"q":"x"}']]);
  });
});

describe('tool calls: speech around them', () => {
  it("speaks what was said before a call at the call's first fragment, before its arguments are complete", async () => {
    const h = createSession();
    const gate = new Gate();
    h.chat.enqueue(
      {
        beats: [...words('Let me check'), fragment(0, '{"q":', 'c1', 'lookup'), gate, fragment(0, '"x"}'), endOfCalls],
      },
      answer('X.'),
    );
    h.session.handle({ type: 'turn', text: 'Check' });
    await gate.reached;
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Let me check']);
    expect(h.recorder.ofType('response.tool_call')).toEqual([]);
    gate.release();
    await h.session.whenIdle();
  });

  it('speaks the last sentence as soon as the answer finishes, before the upstream closes its stream', async () => {
    const h = createSession();
    const gate = new Gate();
    h.chat.enqueue({ beats: [...words('Hello there.'), { type: 'finish', reason: 'stop' }, gate] });
    h.session.handle({ type: 'turn', text: 'Hi' });
    await gate.reached;
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Hello there.']);
    expect(h.recorder.ofType('response.done')).toEqual([]);
    gate.release();
    await h.session.whenIdle();
  });

  it('times the filler from the first call of the step, not from later ones', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const slow = new PendingTool('slow_lookup');
    const h = createSession({ tools: [slow.definition] });
    const gate = new Gate();
    h.chat.enqueue(
      { beats: [fragment(0, '{}', 'c0', 'slow_lookup'), gate, fragment(1, '{}', 'c1', 'slow_lookup'), endOfCalls] },
      answer('Both.'),
    );
    h.session.handle({ type: 'turn', text: 'Two lookups' });
    await gate.reached;
    vi.advanceTimersByTime(FILLER_DELAY_MS - 300);
    gate.release();
    await h.recorder.waitFor((e) => e.type === 'response.tool_call' && e.callId === 'c1');
    vi.advanceTimersByTime(300);
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['One moment.']);
    h.session.close();
  });

  it('says nothing when the reply starts speaking while its tool runs', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const slow = new PendingTool('slow_lookup');
    const h = createSession({ tools: [slow.definition] });
    const gate = new Gate();
    h.chat.enqueue({
      beats: [fragment(0, '{}', 'c0', 'slow_lookup'), ...words('Working on it. Still'), gate, endOfCalls],
    });
    h.session.handle({ type: 'turn', text: 'Look it up' });
    await gate.reached;
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Working on it.']);
    vi.advanceTimersByTime(FILLER_DELAY_MS * 2);
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Working on it.']);
    h.session.close();
  });

  it('fills a long tool wait with exactly "One moment."', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const slow = new PendingTool('slow_lookup');
    const h = createSession({ tools: [slow.definition] });
    h.chat.enqueue(toolStep('', [{ name: 'slow_lookup', arguments: '{}' }]), answer('Found.'));
    h.session.handle({ type: 'turn', text: 'Look it up' });
    await slow.running;
    vi.advanceTimersByTime(FILLER_DELAY_MS);
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['One moment.']);
    slow.calls[0]?.result.resolve('ok');
    await h.session.whenIdle();
  });
});

describe('tool calls: one reply across steps', () => {
  it.each<[string, string, Reply, string]>([
    [
      'a step ending in a word and one starting with a word',
      'Let me check.',
      answer('It is X.'),
      'Let me check. It is X.',
    ],
    ['a step ending in a space', 'Let me check. ', answer('It is X.'), 'Let me check. It is X.'],
    [
      'a step starting with a space',
      'Let me check.',
      {
        beats: [
          { type: 'text', text: ' It is X.' },
          { type: 'finish', reason: 'stop' },
        ],
      },
      'Let me check. It is X.',
    ],
    [
      'a step streamed in pieces of words',
      'Let me check.',
      {
        beats: [
          { type: 'text', text: 'PAR' },
          { type: 'text', text: 'IS.' },
          { type: 'finish', reason: 'stop' },
        ],
      },
      'Let me check. PARIS.',
    ],
  ])('joins %s with exactly one space', async (_name, before, after, text) => {
    const h = createSession();
    h.chat.enqueue(toolStep(before, [{ name: 'lookup', arguments: '{"q":"x"}' }]), after);
    expect(await turn(h, 'Check')).toMatchObject({ status: 'completed', text });
  });

  it('gives the model a step that said only whitespace as its calls without text, and adds no empty final message', async () => {
    const h = createSession();
    h.chat.enqueue(
      toolStep('\n\n', [{ name: 'lookup', arguments: '{"q":"x"}', id: 'c1' }]),
      {
        beats: [
          { type: 'text', text: ' ' },
          { type: 'finish', reason: 'stop' },
        ],
      },
      answer('Ok.'),
    );
    await turn(h, 'Check');
    await turn(h, 'Next');
    expect(historyOf(h.chat.requests[2])).toEqual([
      { role: 'user', content: 'Check' },
      { role: 'assistant', content: null, tool_calls: [fn('c1', '{"q":"x"}')] },
      { role: 'tool', tool_call_id: 'c1', content: '{"answer":"X"}' },
      { role: 'user', content: 'Next' },
    ]);
  });

  it('gives each step the steps before it, and the next turn the whole reply', async () => {
    const h = createSession();
    h.chat.enqueue(
      toolStep('One.', [{ name: 'lookup', arguments: '{"q":"a"}', id: 'c1' }]),
      toolStep('Two.', [{ name: 'lookup', arguments: '{"q":"b"}', id: 'c2' }]),
      answer('Three.'),
    );
    await turn(h, 'Go');
    expect(historyOf(h.chat.requests[2])).toEqual([
      { role: 'user', content: 'Go' },
      { role: 'assistant', content: 'One.', tool_calls: [fn('c1', '{"q":"a"}')] },
      { role: 'tool', tool_call_id: 'c1', content: '{"answer":"A"}' },
      { role: 'assistant', content: ' Two.', tool_calls: [fn('c2', '{"q":"b"}')] },
      { role: 'tool', tool_call_id: 'c2', content: '{"answer":"B"}' },
    ]);
  });
});

describe('tool calls: the tools each step offers', () => {
  function runWith(tools: ToolDefinition[], toolChoice: ToolChoice | undefined, ...replies: Reply[]) {
    const chat = new ScriptedChat();
    chat.enqueue(...replies);
    const recorder = new EventRecorder();
    const run = new ResponseRun({
      responseId: 'resp_1',
      turnId: 'turn_1',
      chat,
      request: { model: 'asi1-mini', messages: [{ role: 'user', content: 'Hi' }], sessionId: 'sess_test' },
      tools: new SessionToolRunner(new ToolRegistry(tools, { defaultTimeoutMs: 1_000 }), () => [], 1_000, 'sess_test'),
      maxToolSteps: 3,
      maxToolCallsPerStep: 16,
      ...(toolChoice === undefined ? {} : { toolChoice }),
      emit: recorder.send,
      onSettled: () => undefined,
      logger: pino({ level: 'silent' }),
    });
    run.start();
    return { chat, done: recorder.waitForType('response.done') };
  }
  const other = new PendingTool('other').definition;
  const names = (chat: ScriptedChat) => chat.requests.map((r) => [r.toolChoice, r.tools?.map((t) => t.function.name)]);

  it('offers neither tools nor a tool_choice when no tool is declared', async () => {
    const { chat, done } = runWith([], undefined, answer('Hi.'));
    await done;
    expect(chat.requests[0]).not.toHaveProperty('tools');
    expect(chat.requests[0]).not.toHaveProperty('toolChoice');
  });

  it('offers only the named tool, as required, on the first step; every tool, auto, after it', async () => {
    const { chat, done } = runWith(
      [lookupTool, other],
      { name: 'lookup' },
      toolStep('', [{ name: 'lookup', arguments: '{"q":"x"}' }]),
      answer('X.'),
    );
    await done;
    expect(names(chat)).toEqual([
      ['required', ['lookup']],
      ['auto', ['lookup', 'other']],
    ]);
  });

  it('offers every tool, auto, when the named tool is not declared', async () => {
    const { chat, done } = runWith([lookupTool, other], { name: 'missing' }, answer('Hi.'));
    await done;
    expect(names(chat)).toEqual([['auto', ['lookup', 'other']]]);
  });
});
