// The life of one response run: the states it passes through as events go out, exactly one response.done
// whatever happens (a failure, or a transport that interrupts from inside its send, as a slow-consumer
// disconnect does), and the transition guard that makes any other state change a loud bug.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import type { ResponseStatus } from '../../src/protocol.js';
import { ResponseRun, type ResponseState } from '../../src/session/response-run.js';
import { IllegalTransitionError, RUN_TRANSITIONS, RunLifecycle } from '../../src/session/run-state.js';
import { SessionToolRunner } from '../../src/session/tool-runner.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { collectGarbage } from '../heap.js';
import {
  createSession,
  drained,
  EventRecorder,
  lookupTool,
  PendingTool,
  turn,
  type Event,
  type Harness,
} from './harness.js';
import { answer, ScriptedChat, toolStep, words, type Reply } from './scripted-chat.js';

/** A ResponseRun on its own, recording `type:state` at every event it emits. */
function standaloneRun(chat: ScriptedChat, tools = new ToolRegistry([lookupTool], { defaultTimeoutMs: 1_000 })) {
  const recorder = new EventRecorder();
  const trail: string[] = [];
  const settled: { status: ResponseStatus; heardLength: number }[] = [];
  const run = new ResponseRun({
    responseId: 'resp_1',
    turnId: 'turn_1',
    chat,
    request: { model: 'asi1-mini', messages: [{ role: 'user', content: 'Hi' }], sessionId: 'sess_test' },
    tools: new SessionToolRunner(tools, () => [], 1_000, 'sess_test'),
    maxToolSteps: 3,
    maxToolCallsPerStep: 16,
    emit: recorder.send,
    onSettled: (status, heardLength) => settled.push({ status, heardLength }),
    logger: pino({ level: 'silent' }),
  });
  recorder.react = (e) => trail.push(`${e.type}:${run.state}`);
  return { run, recorder, trail, settled };
}

describe('response run: states', () => {
  it('passes created → streaming → tool-wait → streaming → done on a reply with a tool step', async () => {
    const slow = new PendingTool('slow_lookup');
    const chat = new ScriptedChat();
    chat.enqueue(toolStep('Let me see.', [{ name: 'slow_lookup', arguments: '{}' }]), answer('Found.'));
    const { run, trail, settled } = standaloneRun(
      chat,
      new ToolRegistry([slow.definition], { defaultTimeoutMs: 1_000 }),
    );
    expect(run.state).toBe('created');
    run.start();
    await slow.running;
    await drained();
    expect(run.state).toBe('tool-wait');
    slow.calls[0]?.result.resolve('here');
    await drained();
    expect(run.state).toBe('done');
    expect(trail[0]).toBe('response.created:created');
    expect(trail).toContain('response.tool_call:streaming');
    expect(trail.at(-1)).toBe('response.done:done');
    expect(new Set(trail.slice(1, -1).map((t) => t.split(':')[1]))).toEqual(new Set(['streaming']));
    expect(settled).toEqual([{ status: 'completed', heardLength: 'Let me see. Found.'.length }]);
  });

  it.each<[string, () => Reply, ResponseState, ResponseStatus]>([
    [
      'an upstream failure',
      () => ({ beats: [...words('Half an '), { fail: new GatewayError('GW_UPSTREAM_DROPPED') }] }),
      'failed',
      'failed',
    ],
    [
      'an interrupt while streaming',
      () => ({ beats: [...words('Half an answer.'), { type: 'finish', reason: 'stop' }] }),
      'interrupted',
      'interrupted',
    ],
  ])(
    'ends in one final state after %s, and an interrupt after that is a no-op',
    async (_name, reply, state, status) => {
      const chat = new ScriptedChat();
      chat.enqueue(reply());
      const { run, recorder, settled } = standaloneRun(chat);
      run.start();
      if (state === 'interrupted') {
        await recorder.waitForType('response.delta');
        expect(run.interrupt()).toBe(true);
      }
      await chat.calls[0]?.ended;
      await drained();
      expect(run.state).toBe(state);
      expect(run.isSettled).toBe(true);
      expect(run.interrupt()).toBe(false);
      expect(recorder.ofType('response.done')).toMatchObject([{ status }]);
      expect(settled).toHaveLength(1);
    },
  );
});

describe('response run: exactly one response.done when the transport interrupts from inside its send', () => {
  /** A session whose sink interrupts the active response when `when` matches (a slow-consumer disconnect). */
  function interruptingSession(when: (e: Event) => boolean): Harness {
    const h = createSession();
    let fired = false;
    h.recorder.react = (e) => {
      if (!fired && when(e)) {
        fired = true;
        h.session.interruptActive('client_cancel');
      }
    };
    return h;
  }

  async function expectOneDone(h: Harness) {
    await drained();
    await h.session.whenIdle();
    await Promise.all(h.chat.calls.map((c) => c.ended));
    await drained();
    expect(h.recorder.ofType('response.done')).toMatchObject([{ status: 'interrupted' }]);
    expect(h.recorder.ofType('error')).toEqual([]);
    // Every response the observer saw start, it saw settle once and only after its start (per-address counts balance).
    expect(h.observer.settled).toHaveLength(h.observer.started);
    expect(h.observer.lowest).toBe(0);
    // And the session carries on.
    h.chat.enqueue(answer('Next.'));
    expect(await turn(h, 'Next?')).toMatchObject({ status: 'completed', text: 'Next.' });
  }

  it('at response.created', async () => {
    const h = interruptingSession((e) => e.type === 'response.created');
    h.session.handle({ type: 'turn', text: 'Hi' });
    // The run is over before its first step: it never asks the upstream.
    expect(h.chat.requests).toHaveLength(0);
    await expectOneDone(h);
    expect(h.observer.started).toBe(2);
  });

  it('at the last sentence, spoken when the reply completes', async () => {
    const h = interruptingSession((e) => e.type === 'response.speech');
    // No finish event: "Hello there." waits in the segmenter (a final dot waits for more) until completion.
    h.chat.enqueue({ beats: words('Hello there.'), finishReason: 'stop' });
    h.session.handle({ type: 'turn', text: 'Hi' });
    await expectOneDone(h);
  });

  it('at the last sentence, spoken when the reply fails', async () => {
    const h = interruptingSession((e) => e.type === 'response.speech');
    h.chat.enqueue({ beats: [...words('Hello there.'), { fail: new GatewayError('GW_UPSTREAM_DROPPED') }] });
    h.session.handle({ type: 'turn', text: 'Hi' });
    await expectOneDone(h);
  });

  it('at a tool call announced only when the stream ended', async () => {
    const h = interruptingSession((e) => e.type === 'response.tool_call');
    // The arguments never parse as a whole object, so the call completes only at the end of the stream.
    h.chat.enqueue({
      beats: [
        { type: 'tool_call', index: 0, id: 'call_1', name: 'lookup', argumentsDelta: '{"q":"x"' },
        { type: 'finish', reason: 'tool_calls' },
      ],
    });
    h.session.handle({ type: 'turn', text: 'Hi' });
    await expectOneDone(h);
    // No second step: the interrupted run asked nothing more (the next request is the next turn's).
    expect(h.chat.requests).toHaveLength(2);
    expect(h.chat.requests[1]?.messages.at(-1)).toEqual({ role: 'user', content: 'Next?' });
  });
});

describe('response run: the transition guard', () => {
  const STATES: ResponseState[] = ['created', 'streaming', 'tool-wait', 'done', 'interrupted', 'failed'];

  it('allows exactly the transitions of the table and throws on every other one', () => {
    for (const from of STATES) {
      for (const to of STATES) {
        const lifecycle = new RunLifecycle('resp_t', from);
        if (RUN_TRANSITIONS[from].includes(to)) {
          lifecycle.moveTo(to);
          expect(lifecycle.state).toBe(to);
        } else {
          expect(() => lifecycle.moveTo(to), `${from} → ${to}`).toThrow(IllegalTransitionError);
          expect(lifecycle.state).toBe(from);
        }
      }
    }
  });

  it('has the documented table: settled states are final, every live state can be interrupted', () => {
    expect(RUN_TRANSITIONS).toEqual({
      created: ['streaming', 'interrupted'],
      streaming: ['tool-wait', 'done', 'interrupted', 'failed'],
      'tool-wait': ['streaming', 'interrupted', 'failed'],
      done: [],
      interrupted: [],
      failed: [],
    });
  });

  it('names the run and both states in the error', () => {
    const lifecycle = new RunLifecycle('resp_x', 'done');
    expect(() => lifecycle.moveTo('streaming')).toThrow('resp_x: illegal state change done → streaming');
    const error = (() => {
      try {
        lifecycle.moveTo('failed');
      } catch (err) {
        return err;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(IllegalTransitionError);
    expect(error).toMatchObject({ name: 'IllegalTransitionError', responseId: 'resp_x', from: 'done', to: 'failed' });
  });

  it('starts a run in "created", not yet settled', () => {
    const lifecycle = new RunLifecycle('resp_new');
    expect(lifecycle.state).toBe('created');
    expect(lifecycle.isSettled).toBe(false);
  });
});

describe('response run: what outlives it', () => {
  /** A run that completed the reply, dropped by everything but a WeakRef; its spoken() is what is kept. */
  async function completedRun(reply: string) {
    const chat = new ScriptedChat();
    chat.enqueue(answer(reply));
    const { run, settled } = standaloneRun(chat);
    run.start();
    await chat.calls[0]?.ended;
    await drained();
    expect(settled).toMatchObject([{ status: 'completed' }]);
    return { spoken: run.spoken(), ref: new WeakRef(run) };
  }

  it('keeps what a client still speaking the reply needs, and lets the run itself go', async () => {
    const { spoken, ref } = await completedRun('The first sentence is here. The second one follows it.');
    // A WeakRef's target lives at least until the job that made it ends.
    await drained();
    collectGarbage();
    expect(ref.deref()).toBeUndefined();
    expect(spoken.responseId).toBe('resp_1');
    const heard = spoken.heardLength('The first sentence is here.'.length);
    expect(heard).toBe('The first sentence is here.'.length);
    expect(spoken.historyMessages(heard, 'interrupted')).toEqual([
      { role: 'assistant', content: 'The first sentence is here. [interrupted by the user]' },
    ]);
  });
});
