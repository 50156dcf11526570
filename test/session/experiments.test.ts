// The session's side of an A/B experiment and of the quality signals: the arm (from the session id or a userKey,
// its model, instructions and escalation), leaving the figures when the client picks a model, feedback, re-asks,
// a reply cut while spoken, and what one reply reports (model, heard part, tools, tokens, cost).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Experiment } from '../../src/experiment-config.js';
import { assignArm } from '../../src/experiments/assignment.js';
import { parseSnapshot, type SessionSnapshot } from '../../src/session/snapshot.js';
import { createSession, historyOf, turn, type HarnessOptions } from './harness.js';
import { answer, toolStep } from './scripted-chat.js';

const EXPERIMENT: Experiment = {
  name: 'mini-vs-asi1',
  arms: [
    { name: 'mini', weight: 1, model: 'asi1-mini' },
    { name: 'deep', weight: 1, model: 'asi1', instructions: 'Be thorough.', maxOutputTokens: 900, escalation: false },
  ],
};

function experimentFile(experiment: Experiment = EXPERIMENT): string {
  const path = join(mkdtempSync(join(tmpdir(), 'exp-')), 'experiment.json');
  writeFileSync(path, JSON.stringify(experiment));
  return path;
}

function inExperiment(options: HarnessOptions & { sessionId?: string } = {}) {
  return createSession({ ...options, env: { EXPERIMENTS_FILE: experimentFile(), ...options.env } });
}

/** A session id that lands in `arm`. */
function idInArm(arm: string): string {
  for (let i = 0; ; i += 1) if (assignArm(EXPERIMENT, `sess_${i}`).name === arm) return `sess_${i}`;
}

describe('experiment arms in the session', () => {
  it('announces its arm in session.ready and applies the arm’s model, instructions and output tokens', async () => {
    const h = createSession({ env: { EXPERIMENTS_FILE: experimentFile() }, sessionId: idInArm('deep') });
    expect(h.recorder.events[0]).toMatchObject({
      type: 'session.ready',
      model: 'asi1',
      experiment: { name: 'mini-vs-asi1', arm: 'deep', counted: true },
    });
    h.chat.enqueue(answer('Thorough.'));
    await turn(h, 'Hello');
    const request = h.chat.requests[0];
    expect(request).toMatchObject({ model: 'asi1', maxTokens: 900 });
    expect(request?.messages[0]).toEqual({ role: 'system', content: 'Be thorough.' });
    // escalation: false in the arm: asi1 is offered no consult_deeper_model.
    expect(request?.tools?.map((t) => t.function.name) ?? []).not.toContain('consult_deeper_model');
    expect(h.quality.calls.slice(0, 2)).toMatchObject([{ kind: 'session', arm: 'deep' }, { kind: 'reply' }]);
    expect(h.quality.replies[0]).toMatchObject({ arm: 'deep', model: 'asi1', status: 'completed' });
  });

  it('a userKey before the first turn moves the session to that user’s arm; after it, GW_USER_KEY_LOCKED', async () => {
    const key = 'user-42';
    const expected = assignArm(EXPERIMENT, `user:${key}`);
    const h = inExperiment();
    h.session.handle({ type: 'session.update', userKey: key });
    expect(h.recorder.ofType('session.updated')[0]?.experiment).toEqual({
      name: 'mini-vs-asi1',
      arm: expected.name,
      counted: true,
    });
    expect(h.session.currentSettings.model).toBe(expected.model);
    h.chat.enqueue(answer('Hi.'));
    await turn(h, 'Hello');
    h.session.handle({ type: 'session.update', eventId: 'late', userKey: 'someone-else' });
    expect(h.recorder.ofType('error')).toMatchObject([{ code: 'GW_USER_KEY_LOCKED', eventId: 'late' }]);
  });

  it('a model the client chooses wins over the arm and takes the session out of the figures', async () => {
    const h = inExperiment();
    h.session.handle({ type: 'session.update', model: 'asi1-ultra' });
    expect(h.recorder.ofType('session.updated')[0]).toMatchObject({
      model: 'asi1-ultra',
      experiment: { counted: false },
    });
    h.chat.enqueue(answer('Hi.'));
    await turn(h, 'Hello');
    expect(h.quality.replies[0]).toMatchObject({ arm: null, model: 'asi1-ultra' });
  });

  it('keeps its arm across a snapshot (another instance), counted or not, and is not counted twice', () => {
    const a = createSession({ env: { EXPERIMENTS_FILE: experimentFile() }, sessionId: idInArm('mini') });
    a.session.handle({ type: 'session.update', model: 'asi1' });
    const stored = parseSnapshot(JSON.stringify(a.session.snapshot())) as SessionSnapshot;
    expect(stored.experiment).toEqual({ name: 'mini-vs-asi1', arm: 'mini', counted: false });
    const b = createSession({ env: { EXPERIMENTS_FILE: experimentFile() }, restore: stored, sessionId: 'other' });
    expect(b.recorder.events[0]).toMatchObject({ experiment: { arm: 'mini', counted: false }, model: 'asi1' });
    expect(b.quality.calls.filter((c) => c.kind === 'session')).toEqual([]);
  });
});

describe('quality signals', () => {
  it('reports each reply once with its model, heard part, tool calls, tokens and estimated cost', async () => {
    const h = createSession({ env: { MODEL_PRICES: '{"asi1-mini":{"input":1,"output":4}}' } });
    h.chat.enqueue(
      toolStep('', [{ name: 'lookup', arguments: '{"q":"x"}' }]),
      answer('Found.', { promptTokens: 1000, completionTokens: 500, totalTokens: 1500 }),
    );
    await turn(h, 'Look it up');
    expect(h.quality.replies).toEqual([
      expect.objectContaining({
        arm: null,
        model: 'asi1-mini',
        models: ['asi1-mini'],
        status: 'completed',
        replyChars: 'Found.'.length,
        heardChars: 'Found.'.length,
        toolCalls: 1,
        toolErrors: 0,
        escalated: false,
        promptTokens: 1000,
        completionTokens: 500,
        costUsd: (1000 * 1 + 500 * 4) / 1_000_000,
      }),
    ]);
  });

  it('feedback is acknowledged, replaces an earlier rating, and an unknown id is GW_UNKNOWN_RESPONSE', async () => {
    const h = createSession();
    h.chat.enqueue(answer('One.'));
    const done = await turn(h, 'Hi');
    h.session.handle({ type: 'feedback', eventId: 'f1', responseId: done.responseId, rating: 'down' });
    h.session.handle({ type: 'feedback', responseId: done.responseId, rating: 'down' });
    h.session.handle({ type: 'feedback', responseId: done.responseId, rating: 'up', comment: 'changed my mind' });
    h.session.handle({ type: 'feedback', eventId: 'f4', responseId: 'resp_nope', rating: 'up' });
    expect(h.recorder.ofType('feedback.received')).toEqual([
      { type: 'feedback.received', responseId: done.responseId, eventId: 'f1' },
      { type: 'feedback.received', responseId: done.responseId },
      { type: 'feedback.received', responseId: done.responseId },
    ]);
    expect(h.recorder.ofType('error')).toMatchObject([{ code: 'GW_UNKNOWN_RESPONSE', eventId: 'f4' }]);
    expect(h.quality.calls.filter((c) => c.kind === 'feedback')).toEqual([
      { kind: 'feedback', arm: null, model: 'asi1-mini', rating: 'down', previous: null },
      { kind: 'feedback', arm: null, model: 'asi1-mini', rating: 'up', previous: 'down' },
    ]);
    // A client toggling up and down is answered every time, but only its first ratings reach the figures.
    for (let i = 0; i < 20; i += 1)
      h.session.handle({ type: 'feedback', responseId: done.responseId, rating: i % 2 === 0 ? 'down' : 'up' });
    expect(h.recorder.ofType('feedback.received')).toHaveLength(23);
    expect(h.quality.calls.filter((c) => c.kind === 'feedback')).toHaveLength(3);
  });

  it('a turn that restates the previous one counts as a re-ask against the reply to it', async () => {
    const h = createSession();
    h.chat.enqueue(answer('Noon.'), answer('It is noon.'), answer('Sunny.'));
    await turn(h, 'What time is it in Paris?');
    await turn(h, 'what time is it in Paris now');
    await turn(h, 'And the weather?');
    expect(h.quality.calls.filter((c) => c.kind === 'reask')).toEqual([
      { kind: 'reask', arm: null, model: 'asi1-mini' },
    ]);
  });

  it('a completed reply the client stopped while speaking it counts as cut, with what was heard', async () => {
    const h = createSession();
    h.chat.enqueue(answer('The first sentence. The second sentence.'));
    const done = await turn(h, 'Tell me');
    h.session.handle({ type: 'response.cancel', responseId: done.responseId, heardChars: 5 });
    expect(h.quality.calls.filter((c) => c.kind === 'cut')).toEqual([
      { kind: 'cut', arm: null, model: 'asi1-mini', replyChars: done.text.length, heardChars: 'The'.length },
    ]);
    h.chat.enqueue(answer('Ok.'));
    await turn(h, 'Go on');
    expect(historyOf(h.chat.requests[1])[1]?.content).toContain('[interrupted by the user]');
  });
});
