// Bench-only preload (`node --import ./bench/gateway-probe.mjs dist/src/server.js`): measures the host
// process from inside (event-loop delay with monitorEventLoopDelay, CPU, memory after a forced GC) and answers
// bench/run.ts over the IPC channel. Inert when the process has no IPC channel. Never touches the gateway.
import diagnostics from 'node:diagnostics_channel';
import net from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import process from 'node:process';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { heapSampler } from './heap-sampler.mjs';

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
  // BENCH_PROBE_UPSTREAM=1 (bench --probe-upstream): undici's own diagnostics channels time each upstream
  // request from its creation by an undici client (at dispatch, unless it first queued in a pool with no free
  // client) to its headers being written, split by whether it went out on a socket's first request or on a
  // reused keep-alive socket, and count connects.
  const upstream = { connects: 0, fresh: [], reused: [] };
  if (process.env.BENCH_PROBE_UPSTREAM === '1') {
    const created = new WeakMap();
    const used = new WeakSet();
    diagnostics.subscribe('undici:client:beforeConnect', () => {
      upstream.connects += 1;
    });
    // Chat requests only: the warm-up's GETs open or refresh sockets (which then count as used), they are no turn.
    diagnostics.subscribe('undici:request:create', ({ request }) => {
      if (request.method === 'POST') created.set(request, performance.now());
    });
    diagnostics.subscribe('undici:client:sendHeaders', ({ request, socket }) => {
      const at = created.get(request);
      if (at !== undefined) (used.has(socket) ? upstream.reused : upstream.fresh).push(performance.now() - at);
      used.add(socket);
    });
  }
  const summary = (samples) => {
    const sorted = [...samples].sort((a, b) => a - b);
    // Nearest rank, as bench/lib/clock.ts computes every other percentile.
    const at = (p) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] ?? null;
    return { count: sorted.length, p50Ms: at(0.5), p90Ms: at(0.9), p99Ms: at(0.99) };
  };
  const late = (ns) => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  // BENCH_HEAP_SAMPLE=allocated|promoted (bench --heap-sample): heap-sampler.mjs over each window.
  const heapMode = process.env.BENCH_HEAP_SAMPLE;
  const heap =
    heapMode === 'allocated' || heapMode === 'promoted'
      ? heapSampler(heapMode, process.env.BENCH_HEAP_SAMPLE_DIR ?? '.', gc)
      : null;

  process.on('message', (message) => {
    if (message === null || typeof message !== 'object' || typeof message.probe !== 'string') return;
    const reply = (body) => process.send?.({ probeReply: message.id, ...body });
    // A failure (the inspector, a full disk) goes back to the bench as an error: it must not take the host down.
    answer(message, reply).catch((err) => reply({ error: err instanceof Error ? err.message : String(err) }));
  });

  async function answer(message, reply) {
    if (message.probe === 'reset') {
      histogram.reset();
      cpuMark = process.cpuUsage();
      writes.count = 0;
      writes.wallMs = 0;
      upstream.connects = 0;
      upstream.fresh.length = 0;
      upstream.reused.length = 0;
      await heap?.start();
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
      // Stopped before the memory stats' forced collections, which would otherwise count as freed samples.
      const heapSample = await heap?.stop();
      if (message.gc === true) {
        gc();
        gc();
      }
      reply({
        stats: {
          loop,
          cpuUserMs: cpu.user / 1000,
          cpuSystemMs: cpu.system / 1000,
          memory: process.memoryUsage(),
          writes: { ...writes },
          ...(heapSample === undefined ? {} : { heapSample }),
          ...(process.env.BENCH_PROBE_UPSTREAM === '1'
            ? {
                upstream: {
                  connects: upstream.connects,
                  fresh: summary(upstream.fresh),
                  reused: summary(upstream.reused),
                },
              }
            : {}),
        },
      });
    }
  }
  // If bench/run.ts dies, do not leave an orphaned gateway behind: shut down as on SIGTERM.
  process.once('disconnect', () => process.kill(process.pid, 'SIGTERM'));
  process.channel?.unref();
}
