// Escalation in the session core: asi1-mini calls consult_deeper_model, the user hears the filler at once, and
// the deeper model answers the same conversation in the same response (same responseId, one response.done,
// `models` naming both). History holds one assistant turn. Barge-in aborts whichever request is running.
import { describe, expect, it } from 'vitest';
import { FILLER_TEXT } from '../../src/session/response-run.js';
import { createSession, historyOf, lookupTool, turn } from './harness.js';
import { answer, Gate, toolStep, words } from './scripted-chat.js';

const escalate = (question: string, model?: string) =>
  toolStep('Let me think about that.', [
    {
      name: 'consult_deeper_model',
      arguments: JSON.stringify({ question, ...(model === undefined ? {} : { model }) }),
      id: 'esc1',
    },
  ]);

describe('escalation to a deeper model', () => {
  it('offers consult_deeper_model to asi1-mini, and the deeper model answers in the same response', async () => {
    const h = createSession();
    h.chat.enqueue(escalate('Compare the two plans in depth'), answer('Plan A is cheaper. Plan B is faster.'));
    const done = await turn(h, 'Compare the plans');
    const [fast, deep] = h.chat.requests;
    expect(fast?.model).toBe('asi1-mini');
    expect(fast?.tools?.map((t) => t.function.name)).toContain('consult_deeper_model');
    expect(deep?.model).toBe('asi1');
    // The deeper model answers the conversation: same history, what was said, and the question as a hint; no tools.
    expect(historyOf(deep).slice(0, 2)).toEqual([
      { role: 'user', content: 'Compare the plans' },
      { role: 'assistant', content: 'Let me think about that.' },
    ]);
    expect(historyOf(deep)[2]).toMatchObject({ role: 'system' });
    expect(historyOf(deep)[2]?.content).toContain('Compare the two plans in depth');
    expect(deep?.tools?.map((t) => t.function.name) ?? []).not.toContain('consult_deeper_model');
    expect(done).toMatchObject({
      status: 'completed',
      text: 'Let me think about that. Plan A is cheaper. Plan B is faster.',
      models: ['asi1-mini', 'asi1'],
    });
    expect(h.recorder.ofType('response.created')).toHaveLength(1);
    expect(h.recorder.ofType('response.tool_call')).toMatchObject([{ name: 'consult_deeper_model', runsOn: 'server' }]);
    expect(h.observer.settled[0]?.upstreamModels).toEqual(['asi1-mini', 'asi1']);
    // History: one assistant turn, the two parts joined; no tool call, no tool message.
    h.chat.enqueue(answer('Sure.'));
    await turn(h, 'Thanks');
    expect(historyOf(h.chat.requests[2])).toEqual([
      { role: 'user', content: 'Compare the plans' },
      { role: 'assistant', content: 'Let me think about that. Plan A is cheaper. Plan B is faster.' },
      { role: 'user', content: 'Thanks' },
    ]);
  });

  it('speaks the filler at once when nothing was spoken before the hand-off', async () => {
    const h = createSession();
    const gate = new Gate();
    h.chat.enqueue(toolStep('', [{ name: 'consult_deeper_model', arguments: '{"question":"why"}' }]), {
      beats: [gate, ...words('Because.'), { type: 'finish', reason: 'stop' }],
    });
    h.session.handle({ type: 'turn', text: 'Why?' });
    await gate.reached;
    expect(h.recorder.ofType('response.speech').map((s) => s.text)).toEqual([FILLER_TEXT]);
    gate.release();
    const done = await h.recorder.waitForType('response.done');
    expect(done).toMatchObject({ text: 'Because.', models: ['asi1-mini', 'asi1'] });
  });

  it('asks the model the call names when it is deeper, and ESCALATION_MODEL otherwise', async () => {
    const h = createSession({ env: { ESCALATION_MODEL: 'asi1-ultra' } });
    h.chat.enqueue(escalate('a', 'asi1'), answer('One.'), escalate('b', 'gpt-9'), answer('Two.'));
    await turn(h, 'first');
    await turn(h, 'second');
    expect(h.chat.requests.map((r) => r.model)).toEqual(['asi1-mini', 'asi1', 'asi1-mini', 'asi1-ultra']);
  });

  it('a barge-in during the deeper model’s answer aborts that request and keeps what was heard, once', async () => {
    const h = createSession();
    const gate = new Gate();
    h.chat.enqueue(escalate('go deep'), {
      beats: [...words('Deep part one. '), gate, ...words('Deep part two.'), { type: 'finish', reason: 'stop' }],
    });
    h.session.handle({ type: 'turn', text: 'Go deep' });
    await gate.reached;
    h.session.handle({ type: 'response.cancel' });
    expect(h.chat.calls[1]?.signal.aborted).toBe(true);
    const dones = h.recorder.ofType('response.done');
    expect(dones).toMatchObject([{ status: 'interrupted', models: ['asi1-mini', 'asi1'] }]);
    h.chat.enqueue(answer('Ok.'));
    await turn(h, 'Stop');
    expect(historyOf(h.chat.requests[2])[1]).toEqual({
      role: 'assistant',
      content: 'Let me think about that. Deep part one. [interrupted by the user]',
    });
  });

  it('is not offered with ESCALATION=off, to the deepest model, nor as a client tool name', async () => {
    const off = createSession({ env: { ESCALATION: 'off' } });
    off.chat.enqueue(answer('Hi.'));
    await turn(off, 'Hello');
    expect(off.chat.requests[0]?.tools?.map((t) => t.function.name)).toEqual([lookupTool.name]);
    const ultra = createSession();
    ultra.session.handle({ type: 'session.update', model: 'asi1-ultra' });
    ultra.chat.enqueue(answer('Hi.'));
    await turn(ultra, 'Hello');
    expect(ultra.chat.requests[0]?.tools?.map((t) => t.function.name)).toEqual([lookupTool.name]);
    ultra.session.handle({
      type: 'session.update',
      eventId: 'u1',
      tools: [{ name: 'consult_deeper_model', parameters: { type: 'object' } }],
    });
    expect(ultra.recorder.ofType('error')).toMatchObject([{ eventId: 'u1' }]);
  });

  it('runs the other calls of the same step and gives their results to the deeper model', async () => {
    const h = createSession();
    h.chat.enqueue(
      toolStep('', [
        { name: 'lookup', arguments: '{"q":"rates"}', id: 'l1' },
        { name: 'consult_deeper_model', arguments: '{"question":"explain the rates"}', id: 'e1' },
      ]),
      answer('The rates are high.'),
    );
    const done = await turn(h, 'Explain the rates');
    expect(done.models).toEqual(['asi1-mini', 'asi1']);
    const deep = historyOf(h.chat.requests[1]);
    expect(deep[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'l1' }] });
    expect(deep[2]).toMatchObject({ role: 'tool', tool_call_id: 'l1', content: '{"answer":"RATES"}' });
    expect(deep[3]).toMatchObject({ role: 'system' });
  });
});
