// The capacity modes of `bench/run.ts`: the sweep's knee rule on scripted measurements (re-measuring a failing
// step, leaving after two failed steps in a row, knees bounded by the schedule, the ratios' targets), then
// `--smoke --sweep --floor --redis` end to end at toy scale. Only shapes and counts are checked, never a timing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PathName } from '../../bench/lib/messages.js';
import type { PathReport } from '../../bench/lib/phase.js';
import { runSweep, type SweepReport } from '../../bench/lib/sweep.js';
import { runBenchRun } from './run-bench-script.js';

const DIRECT_P99 = 300;

/** Just the figures the sweep reads: first-token p99 `ttftP99`, no failures, 20 % of a core. */
function fakeReport(path: PathName, sessions: number, ttftP99: number): PathReport {
  const summary = { n: 100, p50: ttftP99, p95: ttftP99, p99: ttftP99, max: ttftP99, mean: ttftP99 };
  return {
    path,
    sessions,
    ttftMs: summary,
    perTokenMs: summary,
    cancelMs: { ...summary, unmatched: 0 },
    turns: { inWindow: 100, started: 100, completed: 100, interrupted: 0, failed: 0 },
    errors: {},
    connectFailed: 0,
    windowSeconds: 10,
    machineCpuPercent: 50,
    otherCpuPercent: 1,
    server: path === 'direct' ? null : { cpuSeconds: 2, cpuSecondsPerMillionChunks: 40 },
  } as unknown as PathReport;
}

/** Runs the sweep over `added[path]`: the added first-token p99 (ms) of each successive measurement of that path. */
async function sweepOver(
  steps: number[],
  added: Partial<Record<PathName, number[]>>,
): Promise<{ sweep: SweepReport; measured: string[] }> {
  const measured: string[] = [];
  const queues = new Map(Object.entries(added).map(([path, values]) => [path, [...values]]));
  const paths = Object.keys(added) as ('gateway' | 'floor' | 'peer')[];
  const sweep = await runSweep(
    { steps, kneeMs: 5, paths },
    (path, sessions) => {
      measured.push(`${path}@${sessions}`);
      const next = path === 'direct' ? 0 : queues.get(path)!.shift();
      if (next === undefined) throw new Error(`${path} measured more often than scripted`);
      return Promise.resolve(fakeReport(path, sessions, DIRECT_P99 + next));
    },
    () => undefined,
  );
  return { sweep, measured };
}

describe('the capacity sweep', () => {
  it('measures a failing step again, and a path leaves after two failed steps in a row', async () => {
    const { sweep, measured } = await sweepOver([50, 100, 200, 300, 400], {
      // 50 passes; 100 fails, then passes when measured again; 200 and 300 fail twice each.
      gateway: [1, 7, 2, 9, 8, 9, 9],
    });
    expect(measured).toEqual([
      'direct@50',
      'gateway@50',
      'direct@100',
      'gateway@100',
      'gateway@100',
      'direct@200',
      'gateway@200',
      'gateway@200',
      'direct@300',
      'gateway@300',
      'gateway@300',
    ]);
    expect(sweep.knees).toEqual([
      expect.objectContaining({ path: 'gateway', knee: 100, failedAt: 200, isolatedFailures: [] }),
    ]);
    const kept = sweep.steps[1]!.cells[0]!;
    expect(kept).toMatchObject({ pass: true, addedTtftP99: [7, 2] });
    expect(kept.added.ttftP99).toBe(2);
    expect(sweep.knees[0]!.atKnee).toMatchObject({ proxyCpuPercent: 20, coresPer1000Sessions: 2 });
  });

  it('keeps going past a single failed step, and reports it below the knee', async () => {
    const { sweep } = await sweepOver([50, 100, 200, 300, 400], { floor: [1, 6, 6, 1, 6, 6, 6, 6] });
    expect(sweep.knees[0]).toMatchObject({ knee: 200, failedAt: 300, isolatedFailures: [100] });
    expect(sweep.steps.map((s) => s.sessions)).toEqual([50, 100, 200, 300, 400]);
  });

  it('bounds the ratios of the knees when a path failed the first step or never failed', async () => {
    const { sweep } = await sweepOver([50, 100, 200], {
      gateway: [1, 1, 1],
      floor: [1, 1, 9, 9],
      peer: [9, 9, 9, 9],
    });
    expect(sweep.knees.map((k) => [k.path, k.knee, k.failedAt])).toEqual([
      ['gateway', 200, null],
      ['floor', 100, 200],
      ['peer', null, 50],
    ]);
    expect(sweep.ratios).toEqual([
      { of: 'gateway', to: 'floor', target: 0.8, ratio: 2, bound: 'at least', met: true },
      { of: 'gateway', to: 'peer', target: 5, ratio: 4, bound: 'at least', met: null },
    ]);
  });

  it('decides a ratio of two knees that both failed', async () => {
    const { sweep } = await sweepOver([50, 100, 200, 300], { gateway: [1, 1, 9, 9, 9, 9], floor: [1, 1, 1, 9, 9] });
    expect(sweep.ratios).toEqual([{ of: 'gateway', to: 'floor', target: 0.8, ratio: 0.5, bound: 'exact', met: false }]);
  });
});

const outDir = mkdtempSync(join(tmpdir(), 'bench-sweep-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

describe('bench --smoke --sweep --floor --redis', () => {
  it(
    'reports a knee per path, the ratio to the floor, the cost per 1,000 users and scale-out with Redis',
    { timeout: 150_000 },
    async () => {
      const args = ['--smoke', '--sweep', '--floor', '--redis', '--idle', '4'];
      type Results = Record<string, Record<string, unknown>>;
      const { results, markdown } = await runBenchRun<Results>(args, outDir);
      expect(results.levels).toEqual([]);

      const sweep = results.sweep as unknown as SweepReport;
      expect(sweep.schedule).toEqual([2, 4]);
      expect(sweep.knees.map((k) => k.path)).toEqual(['gateway', 'floor']);
      for (const knee of sweep.knees) {
        expect(Object.keys(knee)).toEqual(expect.arrayContaining(['knee', 'failedAt', 'isolatedFailures', 'atKnee']));
        if (knee.knee !== null) expect(knee.atKnee).toMatchObject({ proxyCpuPercent: expect.any(Number) });
      }
      expect(sweep.ratios).toEqual([expect.objectContaining({ of: 'gateway', to: 'floor', target: 0.8 })]);
      expect(sweep.steps[0]!.cells.map((c) => c.path)).toEqual(['gateway', 'floor']);

      const cost = results.cost as Record<string, unknown>;
      expect(Object.keys(cost.dutyCycle as object)).toEqual(
        expect.arrayContaining(['turnsPerSessionMinute', 'deltasPerSessionSecond', 'replyInProgress', 'streaming']),
      );
      expect(cost.idle).toMatchObject({ sessions: 4 });
      for (const row of cost.rows as Record<string, unknown>[])
        expect(row).toMatchObject({ coresPer1000: expect.any(Number), rssPerActiveSessionKiB: expect.any(Number) });

      const scaleOut = results.scaleOut as unknown as {
        levels: { sessions: number; rows: { instances: number; redis: boolean; instanceCpuPercent: number[] }[] }[];
      };
      expect(scaleOut.levels).toHaveLength(1);
      const rows = scaleOut.levels[0]!.rows;
      expect(rows.map((r) => [r.instances, r.redis, r.instanceCpuPercent.length])).toEqual([
        [1, false, 1],
        [1, true, 1],
        [2, true, 2],
      ]);
      expect(rows.map((r) => (r as unknown as { redisCpuPercent: number | null }).redisCpuPercent === null)).toEqual([
        true,
        false,
        false,
      ]);

      for (const heading of [
        '## Capacity sweep',
        '## Cost per 1,000 concurrently talking users',
        '## Scale-out with Redis',
      ])
        expect(markdown).toContain(heading);
    },
  );
});
