// `--pair-entry FILE`: two builds of the gateway side by side in every gateway phase, half the sessions each. Each
// build's CPU per delta from scripted figures, the option's checks, then `--smoke --pair-entry` end to end with a
// second gateway started from src (test/fixtures/gateway-from-src.mjs). Shapes and counts only, never a timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairedFigure, pairEntryOf, type PairedFigure } from '../../bench/lib/paired.js';
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
      build: 60,
      other: 60,
      ratio: 1,
    });
    const figure = pairedFigure(phase([30, 33], [500_000, 500_000]));
    expect([figure.build, figure.other]).toEqual([60, 66]);
    expect(figure.ratio).toBeCloseTo(1.1, 10);
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
    expect(() => pairEntryOf({ ...paired, rounds: '2' }, levels)).toThrow(/not with --rounds/);
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

describe('bench --pair-entry (smoke)', () => {
  it('runs the two builds side by side and reports each one and their ratio', { timeout: 60_000 }, async () => {
    const args = ['--smoke', '--idle', '0', '--pair-entry', FIXTURE];
    const run = await runBenchRun<{ paired: { build: string; other: string; figures: PairedFigure[] } | null }>(
      args,
      outDir,
    );
    // Both gateways of the level's phase started: the run's build (src in smoke) and the other file.
    expect(run.output).toMatch(/\(pid \d+, src via tsx\) for 2-a/);
    expect(run.output).toMatch(/gateway-from-src\.mjs\) for 2-b/);
    expect(run.results.paired?.other).toMatch(/gateway-from-src\.mjs$/);
    const figures = run.results.paired?.figures ?? [];
    expect(figures).toHaveLength(1);
    const [figure] = figures;
    expect(figure!.sessions).toBe(2);
    expect(figure!.build).toBeGreaterThan(0);
    expect(figure!.other).toBeGreaterThan(0);
    expect(figure!.ratio).toBeCloseTo(figure!.other! / figure!.build!, 10);
    expect(run.markdown).toContain('## Paired A/B: two builds in the same window');
  });
});
