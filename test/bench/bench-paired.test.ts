// `--pair-entry FILE`: two builds of the gateway side by side in every gateway phase, half the sessions each. Each
// build's CPU per delta from scripted figures, the option's checks, then `--smoke --pair-entry` end to end with a
// second gateway started from src (test/fixtures/gateway-from-src.mjs). Shapes and counts only, never a timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pairedFigure, pairedWorkers, pairEntryOf, type PairedFigure } from '../../bench/lib/paired.js';
import type { PathReport } from '../../bench/lib/phase.js';
import { runBenchRun } from './run-bench-script.js';

const phase = (instanceCpuSeconds: number[], instanceChunks: number[]) =>
  ({ sessions: 1000, server: { instanceCpuSeconds }, instanceChunks }) as unknown as PathReport;

const OPTIONS = { sweep: false, redis: false, 'cpu-prof': false };
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
    expect([1, 2, 3, 4].map(pairedWorkers)).toEqual([2, 2, 4, 4]);
  });

  it('refuses a missing file, and the modes that do not measure levels', () => {
    expect(pairEntryOf(OPTIONS)).toBeNull();
    expect(pairEntryOf({ ...OPTIONS, 'pair-entry': FIXTURE })).toMatch(/gateway-from-src\.mjs$/);
    expect(() => pairEntryOf({ ...OPTIONS, 'pair-entry': 'no/such/server.js' })).toThrow(/no such file/);
    expect(() => pairEntryOf({ ...OPTIONS, sweep: true, 'pair-entry': FIXTURE })).toThrow(/not with --sweep/);
    expect(() => pairEntryOf({ ...OPTIONS, rounds: '2', 'pair-entry': FIXTURE })).toThrow(/not with --rounds/);
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
