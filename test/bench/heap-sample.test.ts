// `--heap-sample allocated|promoted`: a proxy's sampled heap per delta, by module, and what its scavenges
// promoted. The summary of a scripted profile (modules, bytes per delta, the order), the phases grouped by level,
// the table; the probe itself in a child process, in both modes; then `--smoke --floor --heap-sample promoted`
// end to end. Only shapes, counts and sums are checked, never a timing.

import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  heapSampleLevels,
  heapSampleTable,
  moduleOf,
  summariseHeapSample,
  type HeapSampleFigures,
} from '../../bench/lib/heap-sample.js';
import { runBenchRun, runBenchScript } from './run-bench-script.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const outDir = mkdtempSync(join(tmpdir(), 'bench-heap-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

const node = (functionName: string, url: string, selfSize: number, children: object[] = []) => ({
  callFrame: { functionName, url },
  selfSize,
  children,
});

describe('a sampled heap profile, per delta', () => {
  it('names the module of each site: a package, a file of the repository, a Node module, or V8', () => {
    expect(moduleOf({ functionName: 'onBody', url: 'file:///x/node_modules/undici/lib/a.js' })).toBe('undici');
    expect(moduleOf({ functionName: 'f', url: 'file:///x/node_modules/@pinojs/redact/index.js' })).toBe(
      '@pinojs/redact',
    );
    expect(moduleOf({ functionName: 'send', url: `file://${REPO}dist/src/session/response-run.js` })).toBe(
      'src/session/response-run.js',
    );
    // Another build run with --gateway-entry: named as this build's file, not as a package called ".ab".
    expect(
      moduleOf({ functionName: 'send', url: `file://${REPO}node_modules/.ab/old/src/session/response-run.js` }),
    ).toBe('src/session/response-run.js');
    expect(moduleOf({ functionName: 'clearBuffer', url: 'node:internal/streams/writable' })).toBe(
      'node:internal/streams/writable',
    );
    expect(moduleOf({ functionName: '(V8 API)', url: '' })).toBe('(V8 API)');
    expect(moduleOf({ functionName: '', url: '' })).toBe('(anonymous)');
  });

  it('adds up the bytes each module allocated itself, divided by the deltas, largest first', () => {
    const file = join(outDir, 'scripted.heapprofile');
    const head = node('(root)', '', 0, [
      node('run', `file://${REPO}src/a.ts`, 300, [
        node('onBody', 'file:///x/node_modules/undici/lib/a.js', 200, [
          node('parse', 'file:///x/node_modules/undici/lib/b.js', 150),
        ]),
      ]),
      node('JSON.parse', '', 50),
    ]);
    writeFileSync(file, JSON.stringify({ head, samples: [] }));
    const gc = { scavenges: 3, markCompacts: 1, pauseMs: 4, promotedBytes: 120 };
    const figures = summariseHeapSample({ file, mode: 'promoted', gc }, 10, 2);
    expect(figures).toEqual({
      mode: 'promoted',
      file,
      bytesPerDelta: 70,
      gc: { ...gc, promotedBytesPerDelta: 12, pauseMsPerThousandDeltas: 400 },
      // Top 2: undici's two sites together, then the repository file; JSON.parse is left out.
      byModule: [
        { module: 'undici', bytesPerDelta: 35 },
        { module: 'src/a.ts', bytesPerDelta: 30 },
      ],
    });
    expect(summariseHeapSample({ file, mode: 'allocated', gc }, 0).bytesPerDelta).toBe(0);
  });

  it('groups the sampled phases by level, numbers a path measured again, and sets them side by side', () => {
    const figures = (bytes: number, module: string): HeapSampleFigures => ({
      mode: 'allocated',
      file: 'x',
      bytesPerDelta: bytes,
      byModule: [{ module, bytesPerDelta: bytes }],
      gc: {
        scavenges: 2,
        markCompacts: 0,
        pauseMs: 1,
        promotedBytes: bytes,
        promotedBytesPerDelta: bytes / 10,
        pauseMsPerThousandDeltas: 2.5,
      },
    });
    const phase = (path: string, sessions: number, heap: HeapSampleFigures | null) => ({
      path,
      sessions,
      server: { heapSample: heap },
    });
    const levels = heapSampleLevels([
      { path: 'direct', sessions: 2, server: null },
      phase('gateway', 2, figures(6400, 'undici')),
      phase('floor', 2, figures(4400, 'ws')),
      phase('floor', 2, figures(4300, 'ws')),
      phase('gateway', 2, figures(6500, 'undici')),
      phase('gateway', 4, null),
    ]);
    expect(levels).toHaveLength(1);
    expect(levels[0]!.paths.map((p) => p.path)).toEqual(['gateway', 'floor', 'floor #2', 'gateway #2']);
    const table = heapSampleTable(levels[0]!);
    expect(table).toContain('| bytes per delta | gateway | floor | floor #2 | gateway #2 |');
    expect(table).toContain('| promoted by scavenges (GC profiler) | 640 | 440 | 430 | 650 |');
    expect(table).toContain('| scavenges / mark-compacts in the window | 2 / 0 | 2 / 0 | 2 / 0 | 2 / 0 |');
    expect(table).toContain('| all sampled (allocated) | 6400 | 4400 | 4300 | 6500 |');
    expect(table).toContain('| `undici` | 6400 | – | – | 6500 |');
    expect(table).toContain('| `ws` | – | 4400 | 4300 | – |');
  });
});

/** The bytes a `.heapprofile` sampled, all its sites together. */
function sampledBytes(file: string): number {
  type Node = { selfSize: number; children: Node[] };
  const sum = (node: Node): number => node.selfSize + node.children.reduce((total, c) => total + sum(c), 0);
  return sum((JSON.parse(readFileSync(file, 'utf8')) as { head: Node }).head);
}

const ALLOCATES = `const kept = [];
// The probe's channel does not keep a process alive (a server does); this timer stands in for one.
setInterval(() => {}, 60_000);
process.on('message', (m) => {
  if (m.work === undefined) return;
  for (let i = 0; i < m.work; i += 1) { const o = { i, at: [i] }; if (i % 100 === 0) kept.push(o); }
  process.send({ worked: kept.length });
});
// Messages that arrive before a listener are lost: the test starts once this one is in place.
process.send({ ready: true });`;

/** A child with the bench's probe preloaded: reset, allocate `objects` (keeping one in 100), stats. */
async function probeWindow(mode: 'allocated' | 'promoted', objects: number) {
  const script = join(outDir, 'allocates.mjs');
  writeFileSync(script, ALLOCATES);
  const child = fork(script, [], {
    execArgv: ['--import', join(REPO, 'bench/gateway-probe.mjs')],
    env: { ...process.env, BENCH_HEAP_SAMPLE: mode, BENCH_HEAP_SAMPLE_DIR: outDir },
  });
  const next = (key: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const on = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off('message', on);
        resolve(message);
      };
      child.on('message', on);
    });
  const ready = next('ready');
  try {
    await ready;
    child.send({ id: 1, probe: 'reset' });
    await next('probeReply');
    child.send({ work: objects });
    await next('worked');
    child.send({ id: 2, probe: 'stats', gc: false });
    const reply = await next('probeReply');
    return (reply as { stats: { heapSample: { file: string; gc: HeapSampleFigures['gc'] } } }).stats.heapSample;
  } finally {
    child.kill();
  }
}

describe('the probe with --heap-sample', () => {
  it(
    'profiles the window: every allocation, or what no scavenge freed, with the GC profiler beside it',
    { timeout: 60_000 },
    async () => {
      const objects = 1_000_000; // tens of megabytes of short-lived objects: several scavenges
      const allocated = await probeWindow('allocated', objects);
      const promoted = await probeWindow('promoted', objects);
      for (const sample of [allocated, promoted]) {
        expect(existsSync(sample.file)).toBe(true);
        expect(sample.gc.scavenges).toBeGreaterThan(0);
      }
      // Short-lived garbage is most of what the window allocated, and none of what outlived the scavenges.
      expect(sampledBytes(allocated.file)).toBeGreaterThan(20_000_000);
      expect(sampledBytes(promoted.file)).toBeLessThan(sampledBytes(allocated.file) / 5);
    },
  );
});

describe('bench --heap-sample (smoke)', () => {
  it(
    'samples the window of the gateway and of the floor relay, and reports each per delta',
    { timeout: 60_000 },
    async () => {
      type Levels = Record<
        'direct' | 'gateway' | 'floor',
        { chunks: number; server: { heapSample: HeapSampleFigures | null } | null }
      >[];
      const args = ['--smoke', '--floor', '--idle', '0', '--heap-sample', 'promoted'];
      const { results, markdown: md } = await runBenchRun<{ levels: Levels }>(args, join(outDir, 'run'));
      const [level] = results.levels;
      expect(level!.direct.server).toBeNull();
      for (const path of ['gateway', 'floor'] as const) {
        const report = level![path];
        const heap = report.server!.heapSample!;
        expect(heap.mode).toBe('promoted');
        // Every byte the profile sampled, over the deltas the clients received in the window.
        expect(heap.bytesPerDelta * report.chunks).toBeCloseTo(sampledBytes(heap.file), 3);
        expect(heap.bytesPerDelta).toBeGreaterThan(0);
        expect(heap.byModule.length).toBeGreaterThan(0);
        expect(heap.gc.promotedBytesPerDelta * report.chunks).toBeCloseTo(heap.gc.promotedBytes, 3);
      }
      expect(md).toContain('## Heap sampled per delta (promoted), 2 sessions');
      expect(md).toContain('| bytes per delta | gateway | floor |');
      expect(md).toContain('| promoted by scavenges (GC profiler) |');
    },
  );

  it.each([
    [['--heap-sample', 'all'], '--heap-sample is allocated or promoted, got "all"'],
    [['--heap-sample', 'allocated', '--sweep'], '--heap-sample applies to --levels, not to --sweep or --redis'],
  ])('refuses %j', async (args, message) => {
    const { code, output } = await runBenchScript('bench/run.ts', ['--smoke', ...args, '--out-dir', outDir]);
    expect(code).not.toBe(0);
    expect(output).toContain(message);
  });
});
