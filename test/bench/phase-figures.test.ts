// bench/lib/phase-figures.ts: a phase's proxy figures from the CPU and memory read at its edges. A hand-built
// phase with no load results: every figure below follows from the numbers given here alone.
import { describe, expect, it } from 'vitest';
import type { ProcessStats } from '../../bench/lib/messages.js';
import { buildPathReport, type CpuPoint } from '../../bench/lib/phase-figures.js';

const point = (server: number, at: number): CpuPoint => ({
  server,
  servers: [server],
  serverPids: [4242],
  sim: 0,
  sidecars: [],
  machine: { busy: 0, total: 0 },
  at,
});
const stats = (rss: number, heapUsed: number) =>
  ({
    loop: { p50Ms: 0, p99Ms: 0, maxMs: 0 },
    cpuUserMs: 0,
    cpuSystemMs: 0,
    memory: { rss, heapUsed },
  }) as unknown as ProcessStats;

describe('a phase of idle sessions', () => {
  it('gives the CPU that connecting took per session, apart from the window and the memory per session', () => {
    const report = buildPathReport({
      path: 'gateway',
      sessions: 2000,
      idle: true,
      workers: 2,
      connected: 2000,
      results: [],
      ends: [],
      baseline: stats(100e6, 40e6),
      window: {
        cpuStart: point(10, 0),
        cpuEnd: point(12, 20_000),
        splitStart: { user: 0, system: 0 },
        splitEnd: { user: 0, system: 0 },
        serverStats: stats(0, 0),
        simStats: stats(0, 0),
        sidecarNames: [],
        memory: stats(140e6, 50e6),
        // 1.5 CPU seconds for 2,000 sessions to connect: 750 µs each.
        connectCpuSeconds: 1.5,
      },
    });
    expect(report.server).toMatchObject({
      connectCpuMicrosPerSession: 750,
      cpuSeconds: 2, // the window's, not the connects'
      rssPerSessionBytes: 20_000,
      heapPerSessionBytes: 5_000,
    });
  });
});
