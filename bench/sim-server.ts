// Bench-only wrapper around the project's ASI:One simulator (src/simulator), run as its own process by
// bench/run.ts. It fixes the workload (TTFT, inter-token time, a 60-token reply whose chunks carry their emit
// time in the text) and reports over IPC what only the simulator can see: when each upstream stream was
// closed by its client (cancel latency), plus its own event-loop delay and CPU.

import { parseArgs } from 'node:util';
import { startSimulator, type RecordedRequest, type StreamEnd } from '../src/simulator/server.js';
import { clockOffsetMs, createLoopMonitor } from './lib/clock.js';
import type { ProcessStats, StreamEndRecord } from './lib/messages.js';
import { buildBenchReply } from './lib/workload.js';

const { values } = parseArgs({
  options: {
    ttft: { type: 'string', default: '300' },
    itl: { type: 'string', default: '20' },
    tokens: { type: 'string', default: '60' },
  },
  strict: true,
});

const monitor = createLoopMonitor();
let cpuMark = process.cpuUsage();
const streamOf = new Map<number, { sessionId: string; startedAt: number }>();
let ends: StreamEndRecord[] = [];
const endReasons: Record<string, number> = {};

const sim = await startSimulator({
  port: 0,
  host: '127.0.0.1',
  defaults: {
    profile: 'gen2',
    ttftMs: Number(values.ttft),
    interTokenMs: Number(values.itl),
    tokensPerChunk: 1,
    reply: buildBenchReply(Number(values.tokens)),
    stampEmitTimeInText: true,
  },
});

sim.events.on('request', (request: RecordedRequest) => {
  const header = request.headers['x-session-id'];
  if (typeof header === 'string')
    streamOf.set(request.id, { sessionId: header, startedAt: performance.timeOrigin + request.receivedAt });
});
sim.events.on('stream-end', (end: StreamEnd) => {
  const stream = streamOf.get(end.id);
  streamOf.delete(end.id);
  endReasons[end.reason] = (endReasons[end.reason] ?? 0) + 1;
  if (stream !== undefined) ends.push({ ...stream, at: performance.timeOrigin + end.at, reason: end.reason });
});

interface Request {
  id: number;
  probe: 'reset' | 'stats' | 'ends';
}

process.on('message', (message: Request) => {
  const reply = (body: object): void => void process.send?.({ probeReply: message.id, ...body });
  if (message.probe === 'reset') {
    monitor.histogram.reset();
    cpuMark = process.cpuUsage();
    reply({ ok: true });
  } else if (message.probe === 'stats') {
    const cpu = process.cpuUsage(cpuMark);
    const stats: ProcessStats = {
      loop: monitor.read(),
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      memory: process.memoryUsage(),
    };
    reply({ stats, endReasons, activeStreams: sim.activeStreams() });
  } else if (message.probe === 'ends') {
    reply({ ends });
    ends = [];
  }
});
process.once('disconnect', () => void sim.close().then(() => process.exit(0)));
process.once('SIGTERM', () => void sim.close().then(() => process.exit(0)));
process.send?.({ ready: true, url: sim.url, port: sim.port, clockOffsetMs: clockOffsetMs(), pid: process.pid });
