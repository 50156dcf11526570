// The soak test's gateway processes: starting the built gateway N times on loopback, sampling their memory
// while the load runs, reading their own accounting from /metrics at the end, and stopping them.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import type { RedisServer } from '../../test/redis-server.js';

export interface SoakGateway {
  port: number;
  child: ChildProcess;
}

/** One memory sample of every gateway: RSS and V8 heap in use, MiB, `atMs` after the start. */
export interface MemorySample {
  atMs: number;
  rssMiB: number[];
  heapMiB: number[];
}

/** What the gateways' own /metrics say at the end of the run. */
export interface ServerAccounting {
  serverSettled: number;
  serverActive: number;
  processGauges: Record<string, number>[];
}

/** The built gateway, as operators run it (built first when dist/ is missing or stale), `count` times. */
export async function startGateways(
  count: number,
  simulatorUrl: string,
  redis: RedisServer | null,
): Promise<SoakGateway[]> {
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { stdio: 'inherit' });
  const gateways: SoakGateway[] = [];
  for (let i = 0; i < count; i += 1) {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/src/server.js'], {
      env: {
        ...process.env,
        ASI_ONE_API_KEY: 'soak',
        ASI_BASE_URL: simulatorUrl,
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'warn',
        UPSTREAM_STALL_TIMEOUT_MS: '800',
        UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '2000',
        TURNS_PER_MINUTE: '100000',
        TURNS_PER_MINUTE_PER_TOKEN: '1000000',
        MAX_CONNECTIONS_PER_IP: '100000',
        MAX_RESPONSES_PER_IP: '100000',
        TURNS_PER_MINUTE_PER_IP: '1000000',
        ...(redis === null ? { REDIS_URL: '' } : { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `soak${process.pid}:` }),
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    gateways.push({ port, child });
  }
  await Promise.all(gateways.map((g) => waitForHealth(g.port)));
  return gateways;
}

/** RSS from /proc, and the V8 heap in use from each gateway's own /metrics (what a leak would grow). */
export async function sampleMemory(gateways: SoakGateway[], startedAt: number): Promise<MemorySample> {
  const heaps = await Promise.all(
    gateways.map(async (g) => {
      const text = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text().catch(() => '');
      return Math.round(Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(text)?.[1] ?? 0) / 104857.6) / 10;
    }),
  ).catch(() => gateways.map(() => 0));
  return { atMs: Date.now() - startedAt, rssMiB: gateways.map((g) => rssMiB(g.child.pid ?? 0)), heapMiB: heaps };
}

/** Responses settled and still active, and the process gauges, summed/listed over the gateways. */
export async function serverAccounting(gateways: SoakGateway[]): Promise<ServerAccounting> {
  let serverSettled = 0;
  let serverActive = 0;
  const processGauges: Record<string, number>[] = [];
  for (const g of gateways) {
    const metrics = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text();
    serverSettled += [...metrics.matchAll(/^asi1_gateway_responses_total\{status="\w+"\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    serverActive += Number(/^asi1_gateway_active_responses (\d+)/m.exec(metrics)?.[1] ?? NaN);
    processGauges.push(
      Object.fromEntries(
        [
          'nodejs_external_memory_bytes',
          'nodejs_heap_size_used_bytes',
          'process_open_fds',
          'nodejs_active_handles_total',
          'asi1_gateway_open_sessions',
          'asi1_gateway_redis_up',
        ].map((name) => [name, Number(new RegExp(`^${name} (\\d+)`, 'm').exec(metrics)?.[1] ?? NaN)]),
      ),
    );
  }
  return { serverSettled, serverActive, processGauges };
}

/** SIGTERM to every gateway, then waits until each has exited. */
export async function stopGateways(gateways: SoakGateway[]): Promise<void> {
  for (const g of gateways) g.child.kill('SIGTERM');
  await Promise.all(
    gateways.map((g) =>
      g.child.exitCode === null ? new Promise((resolve) => g.child.once('exit', resolve)) : undefined,
    ),
  );
}

function rssMiB(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Math.round(Number(match[1]) / 102.4) / 10 : 0;
  } catch {
    return 0;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForHealth(port: number): Promise<void> {
  for (let i = 0; i < 300; i += 1) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the gateway did not become healthy');
}
