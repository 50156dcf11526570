// bench/lib/cpuprofile.ts: a V8 .cpuprofile summarised by function, by module and by part of the gateway's
// work; bench/lib/profile-compare.ts: two summaries per delta, side by side. A hand-built profile with known
// stacks and sample times, so every figure is known exactly.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeProfile } from '../../bench/lib/cpuprofile.js';
import type { PathReport } from '../../bench/lib/phase.js';
import { compareProfiles, comparisonTable, floorProfileFile, lifetimeDeltas } from '../../bench/lib/profile-compare.js';
import { runBenchRun } from './run-bench-script.js';

const dir = mkdtempSync(join(tmpdir(), 'bench-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url = '') => ({
  functionName,
  url,
  lineNumber: 0,
  columnNumber: 0,
  scriptId: '0',
});
const root = 'file:///srv/gateway/dist/src';
const nodes = [
  { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 8, 13] },
  { id: 2, callFrame: frame('(idle)') },
  { id: 3, callFrame: frame('(garbage collector)') },
  // a delta: chat-attempt → session emit → ws framing and writev; and the speech segmenter's own emit → write
  { id: 4, callFrame: frame('onData', `${root}/upstream/chat-attempt.js`), children: [6, 7] },
  { id: 5, callFrame: frame('takeTurn', `${root}/transports/voice/connection.js`), children: [9] },
  { id: 6, callFrame: frame('emit', `${root}/session/session.js`), children: [10, 12] },
  { id: 7, callFrame: frame('push', `${root}/speech/segmenter.js`), children: [11] },
  { id: 8, callFrame: frame('processLines', 'file:///srv/gateway/node_modules/eventsource-parser/dist/index.js') },
  { id: 9, callFrame: frame('dispatch', 'file:///srv/gateway/node_modules/undici/lib/dispatcher/pool-base.js') },
  { id: 10, callFrame: frame('writev') },
  { id: 11, callFrame: frame('writeBuffer') },
  { id: 12, callFrame: frame('sendFrame', 'file:///srv/gateway/node_modules/ws/lib/sender.js') },
  { id: 13, callFrame: frame('cancel', `${root}/session/session.js`), children: [14] },
  { id: 14, callFrame: frame('destroy', 'node:net') },
];
// Sample i lasts until sample i + 1 (timeDeltas[i + 1]): 1, 2, 3 … 11 ms here; the last one gets the mean gap
// (144 ms / 12 samples = 12 ms).
const samples = [2, 3, 4, 6, 10, 11, 7, 9, 8, 12, 14, 2];
const timeDeltas = [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 11000];

describe('cpuprofile summary', () => {
  it('adds each sample to its function, its module and one part of the work', () => {
    const file = join(dir, 'synthetic.cpuprofile');
    writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: 144_000, samples, timeDeltas }));
    const summary = summarizeProfile(file);
    expect(summary.idleMs).toBe(1 + 12);
    expect(summary.busyMs).toBe(65);
    const part = (name: string) => summary.parts.find((p) => p.name.startsWith(name))?.selfMs;
    expect(part('garbage collection')).toBe(2);
    // A writev and a write are both socket writes, whoever wrote; the speech part keeps the rest of its stack.
    expect(part('socket writes')).toBe(5 + 6);
    expect(part('speech segmentation')).toBe(7);
    expect(part('turn start')).toBe(8);
    expect(part('barge-in')).toBe(11);
    // Otherwise the innermost frame decides: ws framing under the session's emit is ws, emit itself is the session.
    expect(part('ws: framing')).toBe(10);
    expect(part('per-token protocol')).toBe(4);
    expect(part('upstream chunks')).toBe(3);
    expect(part('SSE decoding')).toBe(9);
    expect(summary.parts.reduce((sum, p) => sum + p.selfMs, 0)).toBe(65);
    expect(summary.functions.find((f) => f.name === 'writev')?.selfMs).toBe(5);
    expect(summary.functions.find((f) => f.name === 'writeBuffer')?.selfMs).toBe(6);
    expect(summary.modules.find((m) => m.name === 'undici')?.selfMs).toBe(8);
  });
});

describe('gateway and floor relay per delta', () => {
  const write = (name: string, bytes: number): string => {
    const file = join(dir, 'prof', 'floor', name);
    mkdirSync(join(dir, 'prof', 'floor'), { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({ nodes, startTime: 0, endTime: 144_000, samples, timeDeltas }) + ' '.repeat(bytes),
    );
    return file;
  };

  it("finds the floor's own profile, not the small one of tsx's loader thread", () => {
    write('CPU.1.001.cpuprofile', 10_000);
    const main = write('CPU.1.002.cpuprofile', 20_000);
    expect(floorProfileFile(join(dir, 'prof'))).toBe(main);
    expect(floorProfileFile(join(dir, 'no-such-run'))).toBeUndefined();
  });

  it('counts the deltas of a phase over its life, and splits busy time into writes, GC and the rest', () => {
    const report = { deltaEvents: 900, turns: { started: 40, inWindow: 30 } } as unknown as PathReport;
    expect(lifetimeDeltas(report)).toBe(1200);
    const file = join(dir, 'compare.cpuprofile');
    writeFileSync(file, JSON.stringify({ nodes, startTime: 0, endTime: 144_000, samples, timeDeltas }));
    const summary = summarizeProfile(file);
    const comparison = compareProfiles({ summary, deltas: 1000 }, { summary, deltas: 2000 });
    // 65 ms busy, 11 of it socket writes and 2 of it GC (the test above).
    expect(comparison.gateway).toMatchObject({ deltas: 1000, busyUs: 65, socketWritesUs: 11, gcUs: 2, restUs: 54 });
    expect(comparison.floor).toMatchObject({ busyUs: 32.5, socketWritesUs: 5.5, restUs: 27 });
    const table = comparisonTable(comparison);
    expect(table).toContain('| socket write syscalls | 11.0 | 5.5 | 2.00× |');
    expect(table).toContain('| everything else (JavaScript, HTTP parsing, streams, GC) | 54.0 | 27.0 | 2.00× |');
  });
});

describe('bench --smoke --floor --cpu-prof', () => {
  it(
    'profiles the gateway and the floor relay and reports them per delta, side by side',
    { timeout: 60_000 },
    async () => {
      const outDir = join(dir, 'run');
      const { output, results } = await runBenchRun<{
        profileComparison: { gateway: Record<string, number>; floor: Record<string, number> } | null;
      }>(['--smoke', '--floor', '--cpu-prof', '--idle', '0'], outDir);
      expect(results.profileComparison, output).not.toBeNull();
      for (const side of [results.profileComparison!.gateway, results.profileComparison!.floor]) {
        expect(side.deltas).toBeGreaterThan(0);
        expect(side.busyUs).toBeGreaterThan(0);
        expect(side.restUs).toBeCloseTo(side.busyUs! - side.socketWritesUs!, 6);
      }
      expect(output).toContain('## Gateway and floor relay, per delta');
      expect(output).toContain("a turn's work together");
    },
  );
});
