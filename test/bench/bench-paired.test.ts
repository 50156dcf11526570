// `--pair-entry FILE`: two builds of the gateway side by side in every gateway phase, half the sessions each. Each
// build's CPU per delta from scripted figures, the option's checks, then `--smoke --pair-entry` end to end with a
// second gateway started from src (test/fixtures/gateway-from-src.mjs). Shapes and counts only, never a timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  pairedFigure,
  pairedLevels,
  pairedSection,
  pairEntryOf,
  type PairedFigure,
  type PairedLevel,
} from '../../bench/lib/paired.js';
import { workersFor } from '../../bench/lib/run-levels.js';
import type { PathReport } from '../../bench/lib/phase.js';
import { chunksByInstance } from '../../bench/lib/phase-figures.js';
import { runBenchRun } from './run-bench-script.js';

const phase = (instanceCpuSeconds: number[], instanceChunks: number[]) =>
  ({ sessions: 1000, server: { instanceCpuSeconds }, instanceChunks }) as unknown as PathReport;

const OPTIONS = {
  sweep: false,
  redis: false,
  floor: false,
  'cpu-prof': false,
  'probe-writes': false,
  'probe-upstream': false,
};
const FIXTURE = 'test/fixtures/gateway-from-src.mjs';

describe('paired figures', () => {
  it("divides each build's CPU by the deltas its own clients received", () => {
    expect(pairedFigure(phase([30, 36], [500_000, 600_000]))).toEqual({
      sessions: 1000,
      round: 1,
      build: 60,
      other: 60,
      ratio: 1,
    });
    const figure = pairedFigure(phase([30, 33], [500_000, 500_000]));
    expect([figure.build, figure.other]).toEqual([60, 66]);
    expect(figure.ratio).toBeCloseTo(1.1, 10);
  });

  it('reads the other build as the first gateway in even rounds, where the two swap places', () => {
    const figures = [1, 2, 3].map((round) => pairedFigure(phase([30, 33], [500_000, 500_000]), round));
    expect(figures.map((f) => [f.round, f.build, f.other])).toEqual([
      [1, 60, 66],
      [2, 66, 60],
      [3, 60, 66],
    ]);
    expect(figures[1]!.ratio).toBeCloseTo(60 / 66, 10);
  });

  it("summarises a level's rounds by the geometric mean of their ratios, so a ratio and its inverse give 1", () => {
    const figure = (sessions: number, round: number, ratio: number | null): PairedFigure => ({
      sessions,
      round,
      build: 60,
      other: ratio === null ? null : 60 * ratio,
      ratio,
    });
    const levels = pairedLevels([
      figure(100, 1, 1.1),
      figure(100, 2, 1 / 1.1),
      figure(1000, 1, 0.9),
      figure(1000, 2, 1),
    ]);
    expect(levels.map((l) => [l.sessions, l.ratios.length])).toEqual([
      [100, 2],
      [1000, 2],
    ]);
    expect(levels[0]!.mean).toBeCloseTo(1, 10);
    expect(levels[1]!).toMatchObject({ min: 0.9, max: 1 } satisfies Partial<PairedLevel>);
    expect(levels[1]!.mean).toBeCloseTo(Math.sqrt(0.9), 10);
    expect(pairedLevels([figure(100, 1, null)])).toEqual([
      { sessions: 100, ratios: [], mean: null, min: null, max: null },
    ]);
    const section = pairedSection([figure(1000, 1, 0.9), figure(1000, 2, 1)], 'dist', 'other.js');
    expect(section).toContain('| 1000 | 2 (b first) | 60.00 | 60.00 | 1.000 |');
    expect(section).toContain(`| 1000 | 2 | ${Math.sqrt(0.9).toFixed(3)} | 0.900–1.000 |`);
    // One round: no summary table.
    expect(pairedSection([figure(1000, 1, 0.9)], 'dist', 'other.js')).not.toContain('geometric mean');
  });

  it('has no ratio when a build relayed nothing or was not measured', () => {
    expect(pairedFigure(phase([30, 33], [500_000, 0]))).toMatchObject({ other: null, ratio: null });
    expect(pairedFigure(phase([30], [500_000]))).toMatchObject({ build: 60, other: null, ratio: null });
  });

  it('gives each build the same number of load workers', () => {
    expect([1, 2, 3, 4].map((workers) => workersFor(workers, 2))).toEqual([2, 2, 4, 4]);
  });

  it('refuses a missing file, the options that would mix the two gateways, and levels it cannot split', () => {
    const levels = [2, 1000];
    const paired = { ...OPTIONS, 'pair-entry': FIXTURE };
    expect(pairEntryOf(OPTIONS, levels)).toBeNull();
    expect(pairEntryOf(paired, levels)).toMatch(/gateway-from-src\.mjs$/);
    expect(() => pairEntryOf({ ...paired, 'pair-entry': 'no/such/server.js' }, levels)).toThrow(/no such file/);
    expect(() => pairEntryOf({ ...paired, sweep: true }, levels)).toThrow(/not with --sweep/);
    expect(() => pairEntryOf({ ...paired, floor: true }, levels)).toThrow(/not with --floor/);
    expect(() => pairEntryOf({ ...paired, 'probe-writes': true }, levels)).toThrow(/not with --probe-writes/);
    expect(() => pairEntryOf({ ...paired, paths: 'direct,floor' }, levels)).toThrow(/gateway in --paths/);
    expect(pairEntryOf({ ...paired, paths: 'gateway' }, levels)).not.toBeNull();
    expect(() => pairEntryOf(paired, [1, 100])).toThrow(/at least 2 sessions/);
    expect(() => pairEntryOf(paired, [])).toThrow(/at least 2 sessions/);
  });

  it("credits each gateway with its own workers' chunks: worker w drove gateway w % 2", () => {
    const results = [3, 5, 7, 11].map((chunks, workerIndex) => ({ workerIndex, chunks }));
    expect(chunksByInstance(results, 2)).toEqual([3 + 7, 5 + 11]);
    expect(chunksByInstance(results, 1)).toEqual([26]);
    expect(chunksByInstance(results, 0)).toEqual([26]); // the direct path: no proxy
  });
});

const outDir = mkdtempSync(join(tmpdir(), 'bench-paired-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

interface PairedResults {
  paired: { build: string; other: string; figures: PairedFigure[]; levels: PairedLevel[] } | null;
  phases: { path: string; server: { instancePids: number[] } | null }[];
}

/** The pids the run logged for gateways of `label` ("2-a", "2-b"), in the order they started. */
const pidsOf = (output: string, label: string): number[] =>
  [...output.matchAll(new RegExp(`\\(pid (\\d+), [^)]*\\) for ${label}\\n`, 'g'))].map((m) => Number(m[1]));

describe('bench --pair-entry (smoke)', () => {
  it(
    'runs the two builds side by side, in places swapped every other round, and reports each one and their ratios',
    {
      timeout: 90_000,
    },
    async () => {
      const args = ['--smoke', '--idle', '0', '--pair-entry', FIXTURE, '--rounds', '2'];
      const run = await runBenchRun<PairedResults>(args, outDir);
      // Both gateways of each round's phase started: the run's build (src in smoke) and the other file.
      expect(run.output.match(/\(pid \d+, src via tsx\) for 2-a/g)).toHaveLength(2);
      expect(run.output.match(/gateway-from-src\.mjs\) for 2-b/g)).toHaveLength(2);
      expect(run.output).toMatch(
        /pair for 2: the first gateway \(even load workers\) is a[\s\S]*pair for 2: the first gateway \(even load workers\) is b/,
      );
      expect(run.results.paired?.other).toMatch(/gateway-from-src\.mjs$/);
      // The places really swap: in round 2 the first gateway (its CPU and its workers' deltas come first) is b.
      const [a1, a2] = pidsOf(run.output, '2-a');
      const [b1, b2] = pidsOf(run.output, '2-b');
      expect(run.results.phases.filter((p) => p.path === 'gateway').map((p) => p.server?.instancePids)).toEqual([
        [a1, b1],
        [b2, a2],
      ]);
      const figures = run.results.paired?.figures ?? [];
      expect(figures.map((f) => [f.sessions, f.round])).toEqual([
        [2, 1],
        [2, 2],
      ]);
      for (const figure of figures) {
        expect(figure.build).toBeGreaterThan(0);
        expect(figure.other).toBeGreaterThan(0);
        expect(figure.ratio).toBeCloseTo(figure.other! / figure.build!, 10);
      }
      const [level] = run.results.paired?.levels ?? [];
      expect(level!.ratios).toEqual(figures.map((f) => f.ratio));
      expect(level!.mean).toBeCloseTo(Math.sqrt(figures[0]!.ratio! * figures[1]!.ratio!), 10);
      expect(run.markdown).toContain('## Paired A/B: two builds in the same window');
      expect(run.markdown).toContain('b ÷ a, geometric mean');
    },
  );
});
