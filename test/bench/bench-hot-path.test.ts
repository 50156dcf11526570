// `npm run bench:hot-path` works at toy scale: both paths relay every reply whole (the script checks each
// session's response.done text and fails otherwise), and it prints its table with a figure for each path, their
// ratio and their difference, with warm caches or with some written over between chunks. Shapes only, never a timing.
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
    const [gateway, floor] = figures(output);
    expect(gateway).toBeGreaterThan(0);
    expect(floor).toBeGreaterThan(0);
    expect(output).not.toContain('caches:');
    // 13 deltas and response.done on the floor; the gateway adds response.created and its speech segments.
    const frames = /frames per reply: gateway ([\d.]+), floor relay ([\d.]+); every reply relayed whole/.exec(output);
    expect(frames, output).not.toBeNull();
    expect(Number(frames![2])).toBe(14);
    expect(Number(frames![1])).toBeGreaterThan(15);
  });

  it('writes over the caches between chunks with --evict-kb, and reports figures net of that', async () => {
    const { code, output } = await runBenchScript('bench/hot-path.ts', [
      ...['--rounds', '2', '--sessions', '5', '--tokens', '13', '--evict-kb', '64'],
    ]);
    expect(code, output).toBe(0);
    // Net of the eviction, a toy run's figures can be near zero or below: no ratio, and each is its raw figure less
    // the eviction's cost, as the note gives them.
    const [gateway, floor] = figures(output, false);
    expect(output).toMatch(/\| JavaScript from SSE bytes to frame bytes \| [^|]+ \| [^|]+ \| – \|/);
    const note =
      /caches: 64 KiB written over between two chunks; raw gateway ([\d.]+), floor relay ([\d.]+), less the eviction alone ([\d.]+) µs per delta/.exec(
        output,
      );
    expect(note, output).not.toBeNull();
    const [rawGateway, rawFloor, eviction] = note!.slice(1).map(Number) as [number, number, number];
    expect(eviction).toBeGreaterThan(0);
    expect(gateway).toBeCloseTo(rawGateway - eviction, 1);
    expect(floor).toBeCloseTo(rawFloor - eviction, 1);
  });
});

/** The table's row: gateway, floor relay, ratio (when `withRatio`) and difference, each checked against the first two. */
function figures(output: string, withRatio = true): [number, number] {
  const number = '(-?[\\d.]+)';
  const row = new RegExp(
    `\\| JavaScript from SSE bytes to frame bytes \\| ${number} \\| ${number} \\| (?:${number}×|–) \\| ${number} \\|`,
  ).exec(output);
  expect(row, output).not.toBeNull();
  const [gateway, floor, ratio, difference] = row!.slice(1).map(Number) as [number, number, number, number];
  expect(difference).toBeCloseTo(gateway - floor, 1);
  if (withRatio) expect(ratio).toBeCloseTo(gateway / floor, 1);
  return [gateway, floor];
}
