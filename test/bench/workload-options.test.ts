// `npm run bench -- --tokens N --think-ms N`: the workload's reply length and pause, e.g. one-token replies so that
// a turn's own work (its start, its upstream call, its end) is what the CPU per delta measures.
import { describe, expect, it } from 'vitest';
import { benchSettings, type BenchArgs } from '../../bench/lib/run-options.js';
import { WORKLOAD } from '../../bench/lib/workload.js';

const settingsOf = (extra: Record<string, unknown>) =>
  benchSettings({ 'node-flag': [], 'knee-ms': '5', levels: '10', ...extra } as unknown as BenchArgs);

describe('--tokens and --think-ms', () => {
  it("leave the issue's workload as it is when not given", () => {
    expect(settingsOf({}).workload).toEqual(WORKLOAD);
  });

  it('set the tokens per reply and the pause, with the barge-in after a third of the tokens, at most 20', () => {
    const { workload, cycleMs } = settingsOf({ tokens: '3', 'think-ms': '500' });
    expect(workload).toMatchObject({ tokens: 3, thinkMs: 500, cancelAfterChunks: 1 });
    expect(cycleMs).toBe(WORKLOAD.ttftMs + WORKLOAD.itlMs * 2 + 500);
    expect(settingsOf({ tokens: '1' }).workload.cancelAfterChunks).toBe(1);
    expect(settingsOf({ tokens: '600' }).workload.cancelAfterChunks).toBe(WORKLOAD.cancelAfterChunks);
  });

  it('refuse what is not a whole number of tokens or a positive pause', () => {
    for (const tokens of ['0', '1.5', 'x']) expect(() => settingsOf({ tokens })).toThrow(/--tokens expects/);
    expect(() => settingsOf({ 'think-ms': '0' })).toThrow(/--think-ms expects/);
  });
});
