// Starting and talking to the bench's separate processes: the simulator wrapper, the gateway (with the
// probe preloaded), a peer proxy and the load workers. Everything binds 127.0.0.1. CPU readers: cpu.ts.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ProcessStats, StreamEndRecord } from './messages.js';

export { cpuSecondsOf, cpuSplitOf, machineCpu } from './cpu.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BENCH_DIR = fileURLToPath(new URL('../', import.meta.url));
/** Request/response over a child's IPC channel: `{ id, probe }` out, `{ probeReply: id, ... }` back. */
export class Probe {
  #next = 1;
  readonly #pending = new Map<number, (reply: Record<string, unknown>) => void>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (message: { probeReply?: number }) => {
      if (typeof message?.probeReply !== 'number') return;
      const resolve = this.#pending.get(message.probeReply);
      this.#pending.delete(message.probeReply);
      resolve?.(message as Record<string, unknown>);
    });
  }

  ask<T extends Record<string, unknown>>(
    probe: string,
    extra: Record<string, unknown> = {},
    timeoutMs = 30_000,
  ): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`probe "${probe}" timed out`));
      }, timeoutMs);
      this.#pending.set(id, (reply) => {
        clearTimeout(timer);
        if (typeof reply.error === 'string') reject(new Error(`probe "${probe}" failed: ${reply.error}`));
        else resolve(reply as T);
      });
      this.child.send({ id, probe, ...extra });
    });
  }

  reset(): Promise<unknown> {
    return this.ask('reset');
  }

  async stats(gc = false): Promise<ProcessStats> {
    return (await this.ask<{ stats: ProcessStats }>('stats', { gc })).stats;
  }
}

/** Remembers the last lines a child wrote, for error reports. */
export function tail(child: ChildProcess, lines: string[], echo: boolean, max = 40): void {
  const take = (chunk: Buffer): void => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > max) lines.shift();
      if (echo) process.stderr.write(`  | ${line}\n`);
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function forkTs(
  script: string,
  args: string[] = [],
  options: { cwd?: string; execArgv?: string[] } = {},
): ChildProcess {
  return fork(script, args, {
    cwd: options.cwd ?? ROOT,
    execArgv: ['--import', 'tsx', ...(options.execArgv ?? [])],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

/**
 * Resolves with the first IPC message `accept` returns non-undefined for; rejects if the child is gone first.
 * Gone means 'close', not 'exit': a worker exits as soon as its result is handed to the IPC pipe, and a busy
 * parent can see the exit before it has read a large result out of the pipe ('close' comes after the channel is
 * drained). So a waited child must never be disconnect()ed by us: without its channel's end, 'close' never comes.
 */
export function waitForMessage<T>(
  child: ChildProcess,
  accept: (message: unknown) => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown): void => {
      const value = accept(message);
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onGone = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`${what}: process exited (code ${code}, signal ${signal})`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what}: timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('close', onGone);
    };
    child.on('message', onMessage);
    child.once('close', onGone);
  });
}

export interface SimulatorProcess {
  child: ChildProcess;
  probe: Probe;
  url: string;
  pid: number;
  clockOffsetMs: number;
  ends(): Promise<StreamEndRecord[]>;
}

export async function startSimulatorProcess(workload: {
  ttftMs: number;
  itlMs: number;
  tokens: number;
}): Promise<SimulatorProcess> {
  const child = forkTs(`${BENCH_DIR}sim-server.ts`, [
    '--ttft',
    String(workload.ttftMs),
    '--itl',
    String(workload.itlMs),
    '--tokens',
    String(workload.tokens),
  ]);
  const ready = await waitForMessage(
    child,
    (m) =>
      (m as { ready?: boolean }).ready === true
        ? (m as { url: string; pid: number; clockOffsetMs: number })
        : undefined,
    30_000,
    'simulator',
  );
  const probe = new Probe(child);
  return {
    child,
    probe,
    url: ready.url,
    pid: ready.pid,
    clockOffsetMs: ready.clockOffsetMs,
    ends: async () => (await probe.ask<{ ends: StreamEndRecord[] }>('ends')).ends,
  };
}

export interface ServerProcess {
  child: ChildProcess;
  probe: Probe;
  pid: number;
  port: number;
  output: string[];
}

/**
 * The gateway as its own process: `node --import bench/gateway-probe.mjs dist/src/server.js` (or src/ through
 * tsx), pointed at the simulator, logging at warn. Resolves once /readyz is 200 (the upstream pool is warm).
 */
export async function startGatewayProcess(options: {
  simUrl: string;
  fromSrc: boolean;
  /** Another build's server.js to run instead of dist/src/server.js (A/B comparisons); cwd stays the repo. */
  entry?: string;
  cpuProfDir?: string;
  cpuProfName?: string;
  /** --node-flag: V8 and Node options before the script (e.g. --single-threaded-gc, which NODE_OPTIONS refuses). */
  nodeFlags?: readonly string[];
  env: Record<string, string>;
  echo: boolean;
}): Promise<ServerProcess> {
  const port = await freePort();
  const args = [...(options.nodeFlags ?? []), '--import', `${BENCH_DIR}gateway-probe.mjs`];
  if (options.cpuProfDir !== undefined) {
    args.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
    if (options.cpuProfName !== undefined) args.push(`--cpu-prof-name=${options.cpuProfName}.cpuprofile`);
  }
  if (options.fromSrc) args.unshift('--import', 'tsx');
  args.push(options.fromSrc ? 'src/server.ts' : (options.entry ?? 'dist/src/server.js'));
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      ...process.env,
      ASI_ONE_API_KEY: 'bench',
      ASI_BASE_URL: options.simUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output: string[] = [];
  tail(child, output, options.echo);
  await waitForHttp(`http://127.0.0.1:${port}/readyz`, child, 30_000, output);
  return { child, probe: new Probe(child), pid: child.pid!, port, output };
}

/** Polls `url` until it answers 200 (any answer when `anyStatus`). */
export async function waitForHttp(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  output: string[],
  anyStatus = false,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `${url}: the process exited (code ${child.exitCode}, signal ${child.signalCode}):\n${output.join('\n')}`,
      );
    }
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (anyStatus || response.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`${url} did not become ready within ${timeoutMs} ms:\n${output.join('\n')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Stops a child with SIGTERM and waits for it (SIGKILL after `graceMs`). */
export function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
