// `npm run bench:hot-path` works at toy scale: both paths relay every reply whole (the script checks each
// session's response.done text and fails otherwise), and it prints its table with a figure for each path and
// their ratio. Shapes only, never a timing.
import { describe, expect, it } from 'vitest';
import { runBenchScript } from './run-bench-script.js';

describe('bench:hot-path', () => {
  it('measures both paths on the same replies and prints the ratio', async () => {
    const { code, output } = await runBenchScript('bench/hot-path.ts', [
      '--rounds',
      '2',
      '--sessions',
      '5',
      '--tokens',
      '13',
    ]);
    expect(code, output).toBe(0);
    const row = /\| JavaScript from SSE bytes to frame bytes \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)× \|/.exec(output);
    expect(row, output).not.toBeNull();
    const [gateway, floor, ratio] = row!.slice(1).map(Number) as [number, number, number];
    expect(gateway).toBeGreaterThan(0);
    expect(floor).toBeGreaterThan(0);
    expect(ratio).toBeCloseTo(gateway / floor, 1);
    // 13 deltas and response.done on the floor; the gateway adds response.created and its speech segments.
    const frames = /frames per reply: gateway ([\d.]+), floor relay ([\d.]+); every reply relayed whole/.exec(output);
    expect(frames, output).not.toBeNull();
    expect(Number(frames![2])).toBe(14);
    expect(Number(frames![1])).toBeGreaterThan(15);
  });
});
