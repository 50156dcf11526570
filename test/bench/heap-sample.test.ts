// `--heap-sample allocated|promoted`: a proxy's sampled heap per delta, by module. The summary of a scripted
// profile (modules, bytes per delta, the order), the phases grouped by level, the table, and then
// `--smoke --floor --heap-sample promoted` end to end: the probe samples each proxy's window and the results say
// what it found. Only shapes and counts are checked, never a timing.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { runBenchScript } from './run-bench-script.js';

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
      'dist/src/session/response-run.js',
    );
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
    const figures = summariseHeapSample(file, 'promoted', 10, 2);
    expect(figures).toEqual({
      mode: 'promoted',
      file,
      bytesPerDelta: 70,
      // Top 2: undici's two sites together, then the repository file; JSON.parse is left out.
      byModule: [
        { module: 'undici', bytesPerDelta: 35 },
        { module: 'src/a.ts', bytesPerDelta: 30 },
      ],
    });
    expect(summariseHeapSample(file, 'allocated', 0).bytesPerDelta).toBe(0);
  });

  it('groups the sampled phases by level, numbers a path measured again, and sets them side by side', () => {
    const figures = (bytes: number, module: string): HeapSampleFigures => ({
      mode: 'allocated',
      file: 'x',
      bytesPerDelta: bytes,
      byModule: [{ module, bytesPerDelta: bytes }],
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
    expect(table).toContain('| all sampled | 6400 | 4400 | 4300 | 6500 |');
    expect(table).toContain('| `undici` | 6400 | – | – | 6500 |');
    expect(table).toContain('| `ws` | – | 4400 | 4300 | – |');
  });
});

describe('bench --heap-sample (smoke)', () => {
  it(
    'samples the window of the gateway and of the floor relay, and reports each per delta',
    { timeout: 60_000 },
    async () => {
      const args = ['--smoke', '--floor', '--idle', '0', '--heap-sample', 'promoted', '--out-dir', outDir];
      const { code, output } = await runBenchScript('bench/run.ts', args);
      expect(code, output).toBe(0);
      const json = readdirSync(outDir).find((f) => f.endsWith('.json'));
      const results = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as {
        levels: Record<'direct' | 'gateway' | 'floor', { server: { heapSample: HeapSampleFigures | null } | null }>[];
      };
      const [level] = results.levels;
      expect(level!.direct.server).toBeNull();
      for (const path of ['gateway', 'floor'] as const) {
        const heap = level![path].server!.heapSample!;
        expect(heap.mode).toBe('promoted');
        expect(existsSync(heap.file)).toBe(true);
        expect(heap.bytesPerDelta).toBeGreaterThan(0);
        expect(heap.byModule.length).toBeGreaterThan(0);
      }
      const md = readFileSync(join(outDir, json!.replace(/\.json$/, '.md')), 'utf8');
      expect(md).toContain('## Heap sampled per delta (promoted), 2 sessions');
      expect(md).toContain('| bytes per delta | gateway | floor |');
    },
  );

  it('refuses a mode it does not know', async () => {
    const { code, output } = await runBenchScript('bench/run.ts', [
      '--smoke',
      '--heap-sample',
      'all',
      '--out-dir',
      outDir,
    ]);
    expect(code).not.toBe(0);
    expect(output).toContain('--heap-sample is allocated or promoted, got "all"');
  });
});
