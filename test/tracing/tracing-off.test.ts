// Issue #19: tracing off costs nothing. Without an OTLP endpoint the gateway never loads the OpenTelemetry SDK
// (src/tracing/otel-sdk.ts is watched through vi.mock), its tracing is null, and a whole turn runs with no span
// and no trace ids in its log lines; with one, the SDK is loaded at start-up, and a stop never waits long on it.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { startTracing, stopTracing } from '../../src/tracing/start-tracing.js';
import type { Tracing } from '../../src/tracing/tracing.js';
import { VoiceClient } from '../helpers.js';

const sdk = vi.hoisted(() => ({ loads: 0 }));
vi.mock('../../src/tracing/otel-sdk.js', async (importOriginal) => {
  sdk.loads += 1;
  return importOriginal();
});

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

describe('tracing off', () => {
  it('never loads the SDK: no tracing, and a turn leaves no trace ids in the log', async () => {
    simulator = await startSimulator({ defaults: { ttftMs: 0, interTokenMs: 0 } });
    const config = loadConfig({
      HOST: '127.0.0.1',
      PORT: '0',
      ASI_ONE_API_KEY: 'sk-test',
      ASI_BASE_URL: simulator.url,
      LOG_LEVEL: 'info',
    });
    expect(config.tracing.enabled).toBe(false);
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as never);
        done();
      },
    });
    const gateway = await startGateway(config, pino({ level: 'info' }, sink));
    try {
      expect(gateway.tracing).toBeNull();
      const address = gateway.app.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const client = await VoiceClient.connect(`ws://127.0.0.1:${port}/v1/voice`);
      await client.turn('Hello there.');
      await client.close();
      const done = lines.find((line) => line.msg === 'response done');
      expect(done).toBeDefined();
      expect(done).not.toHaveProperty('trace_id');
      expect(simulator.requests.at(-1)?.headers.traceparent).toBeUndefined();
    } finally {
      await gateway.stop();
    }
    expect(sdk.loads).toBe(0);
  });

  it('loads the SDK only once an endpoint is configured', async () => {
    const config = loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' });
    const tracing = await startTracing(config.tracing, pino({ level: 'silent' }));
    expect(sdk.loads).toBe(1);
    expect(tracing).not.toBeNull();
    await tracing?.shutdown();
  });
});

describe('stopping tracing', () => {
  it('gives up on a final export that does not finish (a collector that is down), and says so', async () => {
    const warnings: unknown[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line)) });
    const stuck = { shutdown: () => new Promise<void>(() => undefined) } as unknown as Tracing;
    await stopTracing(stuck, logger, 20);
    expect(warnings).toEqual([
      expect.objectContaining({ reason: 'timeout', msg: 'the last traces could not be exported before stopping' }),
    ]);
  });
});
