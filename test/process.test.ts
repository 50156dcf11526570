// The real process: starts without a key in simulator mode (and says so), drains on SIGTERM within its
// deadline, and refuses a bad configuration with one message listing every problem.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { VoiceClient } from './helpers.js';

let child: ChildProcess | undefined;
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
});

function startServer(env: Record<string, string>) {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  let stderr = '';
  const stderrWaiters: { text: string; resolve: () => void }[] = [];
  proc.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of stderrWaiters.filter((w) => stderr.includes(w.text))) w.resolve();
  });
  const stderrContains = (text: string) =>
    stderr.includes(text) ? Promise.resolve() : new Promise<void>((resolve) => stderrWaiters.push({ text, resolve }));
  const logLines: Record<string, unknown>[] = [];
  const port = new Promise<number>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      const record = JSON.parse(line) as { msg?: string; port?: number };
      logLines.push(record);
      if (record.msg === 'voice gateway listening' && record.port !== undefined) resolve(record.port);
    });
  });
  return { proc, port, stderr: () => stderr, stderrContains, logLines };
}

describe('the server process', () => {
  it('runs on the simulator without a key, says so loudly, and drains on SIGTERM', async () => {
    const server = startServer({
      SIMULATOR_TTFT_MS: '0',
      SIMULATOR_TOKEN_INTERVAL_MS: '40',
      SHUTDOWN_GRACE_MS: '100',
      LOG_LEVEL: 'info',
    });
    const port = await server.port;
    await server.stderrContains('OFFLINE SIMULATOR MODE');
    expect(server.stderr()).not.toContain('OPEN ACCESS'); // listening on loopback only
    const client = await VoiceClient.connect(`ws://127.0.0.1:${port}/v1/voice`);
    expect(client.events[0]).toMatchObject({ type: 'session.ready', upstream: 'simulator' });
    client.send({ type: 'turn', text: 'Tell me a long story' });
    await client.waitForType('response.delta');
    const exited = once(server.proc, 'exit');
    server.proc.kill('SIGTERM');
    const closed = await client.closed;
    expect(closed.code).toBe(1001);
    expect(client.events.at(-1)).toMatchObject({ type: 'response.done', status: 'interrupted' });
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });

  it.each(['exception', 'rejection'])(
    'on an uncaught %s, logs its stack, drains running replies and exits 1',
    async (kind) => {
      const server = startServer({
        SIMULATOR_TTFT_MS: '0',
        SIMULATOR_TOKEN_INTERVAL_MS: '40',
        SHUTDOWN_GRACE_MS: '100',
        TOOLS_MODULE: 'test/fixtures/crashing-tools.mjs',
        CRASH_KIND: kind,
      });
      const port = await server.port;
      const client = await VoiceClient.connect(`ws://127.0.0.1:${port}/v1/voice`);
      client.send({ type: 'turn', text: 'Tell me a long story' });
      await client.waitForType('response.delta');
      const exited = once(server.proc, 'exit');
      server.proc.kill('SIGUSR2');
      // Drained like a SIGTERM: the reply in progress gets its response.done, the socket a 1001.
      expect((await client.closed).code).toBe(1001);
      expect(client.events.at(-1)).toMatchObject({ type: 'response.done' });
      const [code] = (await exited) as [number | null];
      expect(code).toBe(1);
      const fatal = server.logLines.find((l) => l.msg === 'crash: draining, then exiting with code 1') as
        { level?: number; kind?: string; err?: { stack?: string } } | undefined;
      expect(fatal).toMatchObject({
        level: 60,
        kind: kind === 'exception' ? 'uncaughtException' : 'unhandledRejection',
      });
      expect(fatal?.err?.stack).toContain('Error: deliberate');
      expect(fatal?.err?.stack).toContain('crashing-tools.mjs');
    },
  );

  it('warns loudly when it listens beyond loopback without GATEWAY_TOKENS, and only then', async () => {
    const open = startServer({ HOST: '0.0.0.0', SIMULATOR_TTFT_MS: '0' });
    await open.port;
    await open.stderrContains('OPEN ACCESS');
    expect(
      open.logLines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('GATEWAY_TOKENS is not set')),
    ).toMatchObject({ level: 40, originCheck: 'Host header only' });
    open.proc.kill('SIGKILL');
    const guarded = startServer({ HOST: '0.0.0.0', SIMULATOR_TTFT_MS: '0', GATEWAY_TOKENS: 'tok-1' });
    await guarded.port;
    expect(guarded.stderr()).not.toContain('OPEN ACCESS');
    guarded.proc.kill('SIGKILL');
  });

  it('reports a failed start-up through the redacting logger and exits 1, the key in no case on any stream', async () => {
    const key = 'sk-process-secret-7f3a';
    const server = startServer({
      ASI_ONE_API_KEY: key,
      ASI_BASE_URL: 'http://127.0.0.1:1/v1',
      TOOLS_MODULE: 'test/fixtures/leaky-tools.mjs',
    });
    const [code] = (await once(server.proc, 'exit')) as [number | null];
    expect(code).toBe(1);
    const fatal = server.logLines.find((l) => l.msg === 'start-up failed') as
      { err?: { message?: string } } | undefined;
    expect(fatal?.err?.message).toContain('cannot load tools with key [redacted]');
    const everything = `${JSON.stringify(server.logLines)}${server.stderr()}`.toLowerCase();
    expect(everything).not.toContain(key);
  });

  it('refuses to start on bad configuration, listing every problem', async () => {
    const server = startServer({ PORT: 'x', ASI_MODEL: 'gpt-4', ASI_ONE_API_KEY: 'sk_do_not_print_me' });
    const [code] = (await once(server.proc, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(server.stderr()).toContain('PORT');
    expect(server.stderr()).toContain('ASI_MODEL');
    expect(server.stderr()).not.toContain('sk_do_not_print_me');
  });
});
