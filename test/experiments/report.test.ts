// GET /v1/experiments' body from an arm's running totals: counts, rates with intervals, cost, and the comparison.
import { describe, expect, it } from 'vitest';
import { feedbackDelta, latencyDelta, MemoryFiguresStore, replyDelta } from '../../src/experiments/figures.js';
import { buildReport } from '../../src/experiments/report.js';
import type { ReplyQuality } from '../../src/metrics.js';

const EXPERIMENT = {
  name: 'e',
  arms: [
    { name: 'a', weight: 1, model: 'asi1-mini' as const },
    { name: 'b', weight: 1, model: 'asi1' as const },
  ],
};

function reply(overrides: Partial<ReplyQuality>): ReplyQuality {
  return {
    arm: 'a',
    model: 'asi1-mini',
    models: ['asi1-mini'],
    status: 'completed',
    firstTokenMs: 100,
    firstSpeechMs: 300,
    replyChars: 100,
    heardChars: 100,
    toolCalls: 0,
    toolErrors: 0,
    escalated: false,
    promptTokens: 10,
    completionTokens: 20,
    costUsd: 0.002,
    ...overrides,
  };
}

describe('the experiments report', () => {
  it('turns running totals into counts, rates, cost and a comparison with the first arm', async () => {
    const store = new MemoryFiguresStore();
    store.add('a', { sessions: 2 });
    store.add('b', { sessions: 1 });
    for (let i = 0; i < 4; i += 1) store.add('a', replyDelta(reply({ firstTokenMs: 100 + i })));
    store.add('a', replyDelta(reply({ status: 'interrupted', costUsd: null, heardChars: 50 })));
    for (let i = 0; i < 3; i += 1)
      store.add('b', replyDelta(reply({ arm: 'b', model: 'asi1', firstTokenMs: 400 + i })));
    store.add('b', feedbackDelta('down', null));
    const report = buildReport(EXPERIMENT, await store.read(['a', 'b']));
    const [a, b] = report.arms;
    expect(a).toMatchObject({ sessions: 2, responses: 5, status: { completed: 4, interrupted: 1 } });
    expect(a?.rates.interruption.value).toBe(0.2);
    expect(a?.heardRatio.mean).toBeCloseTo(0.9, 10);
    // Four replies cost 0.002 each; the fifth (cut off) reported no usage: 0.008 known, 2.5 replies per conversation.
    expect(a?.cost).toEqual({ usd: 0.008, perSessionUsd: 0.005, costedReplies: 4 });
    expect(a?.firstTokenMs).toMatchObject({ count: 5, mean: 101.2 });
    expect(a?.vsFirst).toBeUndefined();
    expect(b?.feedback).toEqual({ up: 0, down: 1 });
    expect(b?.vsFirst?.firstTokenMs.difference).toBeCloseTo(401 - 101.2, 10);
    expect(b?.vsFirst?.firstTokenMs.pValue).toBeLessThan(0.001);
  });

  it('has no arms without an experiment, and buckets a latency past the last edge in the open bucket', () => {
    expect(buildReport(null, new Map())).toEqual({ experiment: null, arms: [] });
    expect(latencyDelta('x', 60_000)).toEqual({ 'x.count': 1, 'x.sum': 60_000, 'x.sq': 3.6e9, 'x.b13': 1 });
    expect(latencyDelta('x', null)).toEqual({});
  });
});
