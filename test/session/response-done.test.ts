// What response.done tells a client (and the metrics observer) about a reply: its text (reasoning shown only
// with THINK_TAGS=display), its timings, its usage summed over tool steps (completed replies only), and the
// error that ended it. What history keeps of a reply a failure cut short.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { ReplyRecord } from '../../src/session/reply-record.js';
import { ResponseRun } from '../../src/session/response-run.js';
import { reportSettled } from '../../src/session/run-report.js';
import { SessionToolRunner } from '../../src/session/tool-runner.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import type { TurnTrace } from '../../src/tracing/turn-trace.js';
import type { ChatStreamer, ChatUsage } from '../../src/upstream/types.js';
import {
  createSession,
  EventRecorder,
  historyOf,
  lookupTool,
  ObserverLog,
  PendingTool,
  turn,
  type EventOf,
} from './harness.js';
import { answer, Gate, ScriptedChat, toolStep, words } from './scripted-chat.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** A ResponseRun on its own (created now, started by the test), with an observer. */
function standaloneRun(
  chat: ChatStreamer,
  tools = new ToolRegistry([lookupTool], { defaultTimeoutMs: 1_000 }),
  logger = pino({ level: 'silent' }),
) {
  const recorder = new EventRecorder();
  const observer = new ObserverLog();
  const run = new ResponseRun({
    responseId: 'resp_1',
    turnId: 'turn_1',
    chat,
    request: { model: 'asi1-mini', messages: [{ role: 'user', content: 'Hi' }], sessionId: 'sess_test' },
    tools: new SessionToolRunner(tools, () => [], 1_000, 'sess_test'),
    maxToolSteps: 3,
    maxToolCallsPerStep: 16,
    observer,
    emit: recorder.send,
    onSettled: () => undefined,
    logger,
  });
  const done = () => recorder.waitForType('response.done');
  return { run, recorder, observer, done };
}

const usage = (prompt: number, completion: number): ChatUsage => ({
  promptTokens: prompt,
  completionTokens: completion,
  totalTokens: prompt + completion,
});

describe('response.done: timings', () => {
  it("times the first delta, the first speech and the whole reply from the response's creation (to 0.1 ms)", async () => {
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const [first, second, last] = [new Gate(), new Gate(), new Gate()];
    const chat = new ScriptedChat();
    chat.enqueue({
      beats: [
        first,
        { type: 'text', text: 'Hello ' },
        second,
        ...words('there. More'),
        last,
        { type: 'finish', reason: 'stop' },
      ],
    });
    const { run, recorder, observer, done } = standaloneRun(chat);
    now = 1000.26; // the gateway's own time before it asks the upstream
    run.start();
    await first.reached;
    now = 1012.34;
    first.release();
    await second.reached;
    now = 1020.06;
    second.release();
    await last.reached;
    expect(recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Hello there.']);
    now = 1050.04; // later deltas and speech do not move the firsts
    last.release();
    const event = await done();
    expect(recorder.ofType('response.speech').map((s) => s.text)).toEqual(['Hello there.', 'More']);
    expect(event.timings).toEqual({ firstTokenMs: 12.3, firstSpeechMs: 20.1, totalMs: 50, speculative: false });
    expect(observer.settled).toEqual([
      { status: 'completed', timings: event.timings, addedMs: 0.3, upstreamModels: ['asi1-mini'] },
    ]);
  });

  it('reports no first token, no first speech and no added time for a reply that said nothing', async () => {
    let now = 500;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const chat = new ScriptedChat();
    chat.enqueue({
      beats: [
        { type: 'text', text: '' },
        { type: 'finish', reason: 'stop' },
      ],
    });
    const { run, recorder, observer, done } = standaloneRun(chat);
    now = 507.5;
    run.start();
    const event = await done();
    expect(event).toMatchObject({
      status: 'completed',
      text: '',
      timings: { firstTokenMs: null, firstSpeechMs: null, totalMs: 7.5 },
    });
    // An empty delta is never forwarded.
    expect(recorder.ofType('response.delta')).toEqual([]);
    expect(observer.settled[0]).not.toHaveProperty('addedMs');
  });

  it('counts the added time up to the first upstream request only, not the requests of later steps', async () => {
    let now = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    const gate = new Gate();
    const chat = new ScriptedChat();
    chat.enqueue(toolStep('Checking.', [{ name: 'lookup', arguments: '{"q":"a"}' }]), {
      beats: [gate, ...answer('Done.').beats],
    });
    const { run, observer, done } = standaloneRun(chat);
    now = 2;
    run.start();
    await gate.reached;
    now = 40;
    gate.release();
    await done();
    expect(observer.settled[0]?.addedMs).toBe(2);
  });
});

describe('response.done: usage', () => {
  it('sums the usage of every step of a completed reply, for the client and the observer', async () => {
    const chat = new ScriptedChat();
    const step = (q: string) => toolStep('', [{ name: 'lookup', arguments: `{"q":"${q}"}` }]);
    // The middle step reported no usage: it adds nothing.
    chat.enqueue({ ...step('a'), usage: usage(100, 10) }, { ...step('b'), usage: null }, answer('A.', usage(130, 5)));
    const { run, observer, done } = standaloneRun(chat);
    run.start();
    const event = await done();
    expect(event).toMatchObject({
      status: 'completed',
      text: 'A.',
      usage: { promptTokens: 230, completionTokens: 15, totalTokens: 245 },
    });
    expect(observer.settled[0]?.usage).toEqual({ promptTokens: 230, completionTokens: 15, totalTokens: 245 });
  });

  it('takes usage from the end of the request: a usage event mid-stream is neither forwarded nor counted twice', async () => {
    const chat = new ScriptedChat();
    chat.enqueue({ beats: [{ type: 'usage', usage: usage(7, 1) }, ...answer('Hi.').beats], usage: usage(7, 1) });
    const { run, recorder, done } = standaloneRun(chat);
    run.start();
    expect(await done()).toMatchObject({ status: 'completed', text: 'Hi.', usage: usage(7, 1) });
    expect(recorder.events.map((e) => e.type)).toEqual([
      'response.created',
      'response.delta',
      'response.speech',
      'response.done',
    ]);
  });

  it('reports no usage for a reply that failed or was interrupted, even after a step with usage', async () => {
    const failing = new ScriptedChat();
    failing.enqueue(
      { ...toolStep('', [{ name: 'lookup', arguments: '{"q":"a"}' }]), usage: usage(100, 10) },
      { beats: [...words('Half '), { fail: new GatewayError('GW_UPSTREAM_DROPPED') }] },
    );
    const failed = standaloneRun(failing);
    failed.run.start();
    expect(await failed.done()).not.toHaveProperty('usage');
    expect(failed.observer.settled[0]).not.toHaveProperty('usage');

    const gate = new Gate();
    const held = new ScriptedChat();
    held.enqueue(
      { ...toolStep('', [{ name: 'lookup', arguments: '{"q":"a"}' }]), usage: usage(100, 10) },
      { beats: [gate] },
    );
    const cut = standaloneRun(held);
    cut.run.start();
    await gate.reached;
    cut.run.interrupt();
    expect(await cut.done()).not.toHaveProperty('usage');
  });
});

describe('response.done: failures', () => {
  it('carries the error that ended the reply, and the observer its code', async () => {
    const chat = new ScriptedChat();
    chat.enqueue({ beats: [...words('Half an '), { fail: new GatewayError('GW_UPSTREAM_DROPPED') }] });
    const { run, observer, done } = standaloneRun(chat);
    run.start();
    const event = await done();
    const expected = new GatewayError('GW_UPSTREAM_DROPPED');
    expect(event).toMatchObject({
      status: 'failed',
      text: 'Half an ',
      error: { code: 'GW_UPSTREAM_DROPPED', message: expected.message, retryable: expected.retryable },
    });
    expect(observer.settled).toMatchObject([{ status: 'failed', errorCode: 'GW_UPSTREAM_DROPPED' }]);
  });

  it('fails a reply whose upstream request says it was aborted when nobody aborted it', async () => {
    const chat: ChatStreamer = {
      stream: () => Promise.resolve({ finishReason: null, usage: null, aborted: true, attempts: 1 }),
    };
    const { run, done } = standaloneRun(chat);
    run.start();
    expect(await done()).toMatchObject({
      status: 'failed',
      error: { code: 'GW_INTERNAL', message: 'The response was aborted.' },
    });
  });

  it('stops a running tool when the upstream fails after the call started', async () => {
    const slow = new PendingTool('slow_lookup');
    const chat = new ScriptedChat();
    chat.enqueue({
      beats: [
        { type: 'tool_call', index: 0, id: 'c1', name: 'slow_lookup', argumentsDelta: '{}' },
        { fail: new GatewayError('GW_UPSTREAM_DROPPED') },
      ],
    });
    const { run, done } = standaloneRun(chat, new ToolRegistry([slow.definition], { defaultTimeoutMs: 1_000 }));
    run.start();
    await slow.running;
    expect((await done()).status).toBe('failed');
    expect(slow.calls[0]?.signal.aborted).toBe(true);
  });

  it('commits what a failure cut short, marked so the model knows it did not choose to stop there', async () => {
    const h = createSession();
    h.chat.enqueue(
      { beats: [...words('Half an '), { fail: new GatewayError('GW_UPSTREAM_DROPPED') }] },
      answer('Sorry.'),
    );
    expect(await turn(h, 'Hi')).toMatchObject({ status: 'failed' });
    await turn(h, 'Again?');
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Half an [cut off by a connection error]' },
      { role: 'user', content: 'Again?' },
    ]);
  });
});

describe('response.done: an observer that throws', () => {
  it('still settles the reply: it is in history, and the next turn is answered', async () => {
    const h = createSession();
    h.chat.enqueue(answer('The answer.'), answer('Again.'));
    vi.spyOn(h.observer, 'responseSettled').mockImplementationOnce(() => {
      throw new Error('It is not possible to decrease a counter');
    });
    expect(await turn(h, 'Hi')).toMatchObject({ status: 'completed', text: 'The answer.' });
    expect(await turn(h, 'And?')).toMatchObject({ status: 'completed', text: 'Again.' });
    expect(historyOf(h.chat.requests[1])).toEqual([
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'The answer.' },
      { role: 'user', content: 'And?' },
    ]);
  });
});

describe('reportSettled: a trace or an observer that throws', () => {
  it('still gives the observer its summary, and ends the trace, when the other one throws', () => {
    const failing = () => {
      throw new Error('exporter gone');
    };
    const logger = pino({ level: 'silent' });
    const report = (trace: object, observer: ObserverLog) =>
      reportSettled(new ReplyRecord(false), {
        responseId: 'resp_1',
        status: 'completed',
        error: undefined,
        emit: () => undefined,
        logger,
        observer,
        trace: trace as TurnTrace,
      });
    const observer = new ObserverLog();
    expect(() => report({ end: failing }, observer)).not.toThrow();
    expect(observer.settled).toHaveLength(1); // the client's slot is freed whatever the trace does
    const ended: unknown[] = [];
    const throwing = Object.assign(new ObserverLog(), { responseSettled: failing });
    expect(() => report({ end: (end: unknown) => ended.push(end) }, throwing)).not.toThrow();
    expect(ended).toHaveLength(1);
  });
});

describe('response.done: reasoning (THINK_TAGS)', () => {
  const reply = {
    beats: [
      { type: 'reasoning' as const, text: 'hmm', raw: '<think>hmm</think>' },
      { type: 'reasoning' as const, text: 'quiet' },
      { type: 'reasoning' as const, text: '', raw: '' },
      ...words('The answer.'),
      { type: 'finish' as const, reason: 'stop' },
    ],
  };

  it('shows think blocks with THINK_TAGS=display, in deltas and in the text, but never speaks or keeps them', async () => {
    const h = createSession({ env: { THINK_TAGS: 'display' } });
    h.chat.enqueue(reply, answer('Next.'));
    const done = await turn(h, 'Think');
    expect(h.recorder.ofType('response.delta').map((d) => d.text)).toEqual(['<think>hmm</think>', 'The ', 'answer.']);
    expect(done.text).toBe('<think>hmm</think>The answer.');
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual(['The answer.']);
    await turn(h, 'And?');
    expect(historyOf(h.chat.requests[1])[1]).toEqual({ role: 'assistant', content: 'The answer.' });
  });

  it('drops reasoning by default: neither sent nor in the text', async () => {
    const h = createSession();
    h.chat.enqueue(reply);
    const done: EventOf<'response.done'> = await turn(h, 'Think');
    expect(h.recorder.ofType('response.delta').map((d) => d.text)).toEqual(['The ', 'answer.']);
    expect(done.text).toBe('The answer.');
  });
});

describe('the log line of a response', () => {
  /** A logger at info level whose lines the test reads. */
  function capturingLogger() {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    return { logger, lines, done: () => lines.filter((l) => l.msg === 'response done') };
  }

  it('logs one info line per completed response: status, timings, usage, steps and length, never the text', async () => {
    const chat = new ScriptedChat();
    chat.enqueue(
      toolStep('Secret plan.', [{ name: 'lookup', arguments: '{"q":"a"}', id: 'c1' }]),
      answer('Secret answer.', usage(10, 2)),
    );
    const log = capturingLogger();
    const { run, done } = standaloneRun(chat, undefined, log.logger);
    run.start();
    const event = await done();
    expect(log.lines.map((l) => l.msg)).toEqual(['response started', 'tool call', 'response done']);
    expect(log.lines[1]).toMatchObject({ level: 30, callId: 'c1', tool: 'lookup', runsOn: 'server' });
    expect(log.done()).toEqual([
      expect.objectContaining({
        level: 30,
        status: 'completed',
        timings: event.timings,
        usage: usage(10, 2),
        toolSteps: 1,
        chars: event.text.length,
      }),
    ]);
    expect(JSON.stringify(log.lines)).not.toContain('Secret');
  });

  it('logs a failed response at warn level, with its error code', async () => {
    const chat = new ScriptedChat();
    chat.enqueue({ beats: [...words('Secret '), { fail: new GatewayError('GW_UPSTREAM_DROPPED') }] });
    const log = capturingLogger();
    const { run, done } = standaloneRun(chat, undefined, log.logger);
    run.start();
    await done();
    expect(log.done()).toEqual([
      expect.objectContaining({
        level: 40,
        status: 'failed',
        errorCode: 'GW_UPSTREAM_DROPPED',
        toolSteps: 0,
        chars: 7,
      }),
    ]);
    expect(JSON.stringify(log.lines)).not.toContain('Secret');
  });

  it('logs an interrupted response at info level', async () => {
    const gate = new Gate();
    const chat = new ScriptedChat();
    chat.enqueue({ beats: [...words('Secret '), gate] });
    const log = capturingLogger();
    const { run, done } = standaloneRun(chat, undefined, log.logger);
    run.start();
    await gate.reached;
    run.interrupt();
    await done();
    expect(log.done()).toEqual([expect.objectContaining({ level: 30, status: 'interrupted', chars: 7 })]);
  });
});
