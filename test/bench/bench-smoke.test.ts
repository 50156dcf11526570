// The benchmark harness still works end to end: `bench/run.ts --smoke` starts the simulator, the gateway
// (from src/) and the load workers as separate processes, runs 2 sessions × 2 turns through both paths and 10
// idle sessions, and writes its results. Only the shape of the JSON and the counts are checked, never a timing.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runBenchScript } from './run-bench-script.js';

const outDir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));

afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function runSmoke(): Promise<{ code: number | null; output: string }> {
  return runBenchScript('bench/run.ts', ['--smoke', '--probe-upstream', '--out-dir', outDir]);
}

const summaryKeys = ['n', 'p50', 'p95', 'p99', 'max', 'mean'];

describe('bench harness (smoke)', () => {
  it(
    'runs the direct and gateway paths and writes results JSON and markdown with every figure',
    { timeout: 45_000 },
    async () => {
      const { code, output } = await runSmoke();
      expect(code, output).toBe(0);
      const files = readdirSync(outDir);
      const json = files.find((f) => f.endsWith('.json'));
      expect(json, output).toBeDefined();
      expect(files).toContain(json!.replace(/\.json$/, '.md'));
      const results = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as Record<string, unknown>;
      expect(results).toMatchObject({ schema: 1, mode: 'smoke' });
      expect(Object.keys(results.machine as object)).toEqual(
        expect.arrayContaining(['nproc', 'cpuModel', 'memoryMiB', 'node']),
      );

      const levels = results.levels as Record<string, unknown>[];
      expect(levels).toHaveLength(1);
      const level = levels[0]!;
      expect(level.sessions).toBe(2);
      for (const path of ['direct', 'gateway'] as const) {
        const report = level[path] as Record<string, Record<string, unknown>>;
        expect(Object.keys(report.ttftMs!)).toEqual(expect.arrayContaining(summaryKeys));
        expect(Object.keys(report.perTokenMs!)).toEqual(expect.arrayContaining(summaryKeys));
        expect(Object.keys(report.cancelMs!)).toEqual(expect.arrayContaining([...summaryKeys, 'unmatched']));
        expect(report.turns).toMatchObject({ inWindow: 4, failed: 0 });
        expect(report.ttftMs!.n).toBe(4);
        expect(report.cancelMs!.n).toBe(2);
        expect(report.perTokenMs!.n as number).toBeGreaterThan(0);
      }
      const server = (level.gateway as Record<string, Record<string, unknown>>).server!;
      expect(Object.keys(server)).toEqual(
        expect.arrayContaining([
          'cpuSeconds',
          'cpuSecondsPerMillionChunks',
          'loop',
          'rssPerSessionBytes',
          'heapPerSessionBytes',
        ]),
      );
      // --probe-upstream: each of the window's 4 turns sent one upstream request, on a fresh or a reused socket.
      const upstream = server.upstream as { fresh: { count: number }; reused: { count: number } };
      expect(upstream.fresh.count + upstream.reused.count).toBe(4);
      for (const figures of [level.added, level.ratio] as Record<string, Record<string, unknown>>[]) {
        expect(Object.keys(figures.gateway!)).toEqual(
          expect.arrayContaining([
            'ttftP50',
            'ttftP95',
            'ttftP99',
            'ttftMax',
            'perTokenP50',
            'perTokenP99',
            'cancelP50',
            'cancelP99',
          ]),
        );
      }

      const idle = results.idle as Record<string, Record<string, unknown>>;
      expect(idle.sessions).toBe(10);
      expect(idle.connected).toBe(10);
      expect(Object.keys(idle.server!)).toEqual(expect.arrayContaining(['rssPerSessionBytes', 'heapPerSessionBytes']));
      // The CPU of ten connects is within a clock tick or two (10 ms): only that it is reported is checked here
      // (test/bench/phase-figures.test.ts checks the figure).
      expect(Number.isFinite(idle.server!.connectCpuMicrosPerSession)).toBe(true);
      expect(output).toContain('µs of CPU per session (upgrade to session.ready)');
      const targets = results.targets as { name: string; met: boolean | null }[];
      expect(targets).toHaveLength(6);
    },
  );
});
