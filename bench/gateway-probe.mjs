// Bench-only preload (`node --import ./bench/gateway-probe.mjs dist/src/server.js`): measures the host
// process from inside (event-loop delay with monitorEventLoopDelay, CPU, memory after a forced GC) and answers
// bench/run.ts over the IPC channel. Inert when the process has no IPC channel. Never touches the gateway.
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import process from 'node:process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const RESOLUTION_MS = 10;

if (typeof process.send === 'function') {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc');
  let cpuMark = process.cpuUsage();
  // BENCH_PROBE_WRITES=1 (bench --probe-writes): count socket writes and the wall time spent inside them.
  const writes = { count: 0, wallMs: 0 };
  if (process.env.BENCH_PROBE_WRITES === '1') {
    const original = net.Socket.prototype._writeGeneric;
    net.Socket.prototype._writeGeneric = function timedWriteGeneric(...args) {
      const start = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        writes.count += 1;
        writes.wallMs += performance.now() - start;
      }
    };
  }
  const late = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

  process.on('message', (message) => {
    if (message === null || typeof message !== 'object' || typeof message.probe !== 'string') return;
    const reply = (body) => process.send?.({ probeReply: message.id, ...body });
    if (message.probe === 'reset') {
      histogram.reset();
      cpuMark = process.cpuUsage();
      writes.count = 0;
      writes.wallMs = 0;
      reply({ ok: true });
      return;
    }
    if (message.probe === 'stats') {
      const cpu = process.cpuUsage(cpuMark);
      const loop = {
        p50Ms: late(histogram.percentile(50)),
        p99Ms: late(histogram.percentile(99)),
        maxMs: late(histogram.max),
        samples: histogram.count,
      };
      if (message.gc === true) {
        gc();
        gc();
      }
      reply({ stats: { loop, cpuUserMs: cpu.user / 1000, cpuSystemMs: cpu.system / 1000, memory: process.memoryUsage(), writes: { ...writes } } });
    }
  });
  // If bench/run.ts dies, do not leave an orphaned gateway behind: shut down as on SIGTERM.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel?.unref();
}
