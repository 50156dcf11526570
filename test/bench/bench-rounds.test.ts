// `--floor --rounds N`: §2's figure (the gateway's CPU per delta over the floor relay's) as the median of N
// alternated pairs. The median and range on scripted pairs, then `--smoke --floor --rounds 2` end to end at toy
// scale. Only shapes and counts are checked, never a timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuPair, cpuRatioLevel, cpuRatioTable, type CpuRatioLevel } from '../../bench/lib/cpu-ratio.js';
import type { PathReport } from '../../bench/lib/phase.js';
import { runBenchRun, runBenchScript } from './run-bench-script.js';

const withCpu = (cpuSecondsPerMillionChunks: number | null) =>
  ({ server: cpuSecondsPerMillionChunks === null ? null : { cpuSecondsPerMillionChunks } }) as unknown as PathReport;

describe('gateway ÷ floor relay, CPU per delta', () => {
  it("takes each pair's ratio, and the median of the pairs, whatever their order", () => {
    const pairs = [
      cpuPair(withCpu(60), withCpu(40)),
      cpuPair(withCpu(66), withCpu(40)),
      cpuPair(withCpu(50), withCpu(40)),
    ];
    expect(pairs.map((p) => p.ratio)).toEqual([1.5, 1.65, 1.25]);
    expect(cpuRatioLevel(1000, pairs)).toMatchObject({ median: 1.5, min: 1.25, max: 1.65 });
    // Even count: the mean of the middle two.
    expect(cpuRatioLevel(1000, pairs.slice(0, 2)).median).toBeCloseTo(1.575, 10);
  });

  it('leaves a pair without a figure out of the median, and says so in the table', () => {
    const level = cpuRatioLevel(100, [cpuPair(withCpu(60), withCpu(null)), cpuPair(withCpu(45), withCpu(30))]);
    expect(level).toMatchObject({ median: 1.5, min: 1.5, max: 1.5 });
    expect(level.pairs[0]!.ratio).toBeNull();
    expect(cpuRatioTable([level])).toContain('60.0 / – (–); 45.0 / 30.0 (1.50)');
    expect(cpuRatioLevel(100, [cpuPair(withCpu(null), withCpu(30))]).median).toBeNull();
  });
});

const outDir = mkdtempSync(join(tmpdir(), 'bench-rounds-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('bench --floor --rounds (smoke)', () => {
  it(
    'alternates the gateway and the floor relay and reports every pair and their median',
    { timeout: 60_000 },
    async () => {
      const args = ['--smoke', '--floor', '--rounds', '2', '--idle', '0'];
      const { output, results, markdown: md } = await runBenchRun<{ cpuRatio: CpuRatioLevel[] }>(args, outDir);
      // Round 1 measures every path once; round 2 the floor relay first (every other round does), then the gateway.
      expect(output).toMatch(/gateway @2:[\s\S]*floor {3}@2:[\s\S]*floor #2 @2:[\s\S]*gateway #2 @2:/);
      expect(results.cpuRatio).toHaveLength(1);
      const [level] = results.cpuRatio;
      expect(level!.sessions).toBe(2);
      expect(level!.pairs).toHaveLength(2);
      for (const pair of level!.pairs) {
        expect(pair.gateway).toBeGreaterThan(0);
        expect(pair.floor).toBeGreaterThan(0);
        expect(pair.ratio).toBeCloseTo(pair.gateway! / pair.floor!, 10);
      }
      expect(level!.median).toBeCloseTo((level!.pairs[0]!.ratio! + level!.pairs[1]!.ratio!) / 2, 10);
      expect(md).toContain('## CPU per delta: gateway ÷ floor relay (2 pairs per level, alternated)');
    },
  );

  it.each([
    [['--rounds', '2'], '--rounds compares the gateway with the floor relay (add --floor) or two builds'],
    [['--floor', '--rounds', '2', '--paths', 'direct,gateway'], '--rounds needs both the gateway and the floor relay'],
    [['--floor', '--rounds', '2', '--sweep'], '--rounds applies to --levels, and this run has none'],
  ])('refuses %j, which could not make a pair', async (args, message) => {
    const { code, output } = await runBenchScript('bench/run.ts', ['--smoke', ...args, '--out-dir', outDir]);
    expect(code).not.toBe(0);
    expect(output).toContain(message);
  });
});
