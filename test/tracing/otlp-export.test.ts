// Issue #19 end to end: the real server process with OTEL_EXPORTER_OTLP_ENDPOINT pointed at an OTLP/HTTP receiver
// started here (a real socket; the SDK's exporter sends OTLP JSON) and a simulator as its upstream. What arrives:
// the resource, the span tree under the client's traceparent, the traceparent the upstream saw, the collector's
// header, and no key. The spans of a turn arrive by the time the process has drained on SIGTERM (shutdown flush).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { VoiceClient } from '../helpers.js';
import { clientTraceparent } from './span-rig.js';

const API_KEY = 'sk-otlp-test-key-5f1c';
const COLLECTOR_TOKEN = 'collector-secret-9a7e';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

let child: ChildProcess | undefined;
let receiver: Server | undefined;
let simulator: Simulator | undefined;
afterEach(async () => {
  child?.kill('SIGKILL');
  child = undefined;
  receiver?.close();
  receiver = undefined;
  await simulator?.close();
  simulator = undefined;
});

/** An OTLP/HTTP receiver: records every request (path, headers, body) and answers 200 {}. */
async function startReceiver(): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`, received };
}

/** The server process (src/server.ts through tsx) with `env`; resolves its port once it listens. */
function startServer(env: Record<string, string>): { proc: ChildProcess; port: Promise<number>; log: string[] } {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child = proc;
  const log: string[] = [];
  const port = new Promise<number>((resolve) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      log.push(line);
      const record = JSON.parse(line) as { msg?: string; port?: number };
      if (record.msg === 'voice gateway listening' && record.port !== undefined) resolve(record.port);
    });
  });
  return { proc, port, log };
}

function attribute(attributes: OtlpSpan['attributes'], key: string): unknown {
  const value = attributes.find((a) => a.key === key)?.value;
  return value === undefined ? undefined : Object.values(value)[0];
}

describe('traces over OTLP/HTTP', () => {
  it('exports each turn to the configured endpoint, the whole tree, by the time the process has drained', async () => {
    const { url, received } = await startReceiver();
    simulator = await startSimulator({ apiKey: API_KEY, defaults: { ttftMs: 0, interTokenMs: 0 } });
    simulator.enqueue({ reply: 'It is a fine day. Nothing else to report.' });
    const server = startServer({
      ASI_ONE_API_KEY: API_KEY,
      ASI_BASE_URL: simulator.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: url,
      OTEL_EXPORTER_OTLP_HEADERS: `x-collector-token=${COLLECTOR_TOKEN}`,
      OTEL_SERVICE_NAME: 'voice-gateway-under-test',
      SHUTDOWN_GRACE_MS: '100',
    });
    const port = await server.port;
    const client = await VoiceClient.connect(`ws://127.0.0.1:${port}/v1/voice`);
    const parent = clientTraceparent();
    client.send({ type: 'turn', text: 'How is the day?', traceparent: parent.traceparent });
    await client.waitFor((e) => e.type === 'response.done');
    // The batch processor waits (5 s by default); a drain on SIGTERM flushes it before the process exits.
    expect(received).toEqual([]);
    const exited = once(server.proc, 'exit');
    server.proc.kill('SIGTERM');
    expect(((await exited) as [number | null])[0]).toBe(0);

    expect(received.length).toBeGreaterThan(0);
    for (const request of received) {
      expect(request.path).toBe('/v1/traces');
      expect(request.headers['content-type']).toBe('application/json');
      expect(request.headers['x-collector-token']).toBe(COLLECTOR_TOKEN);
    }
    const payloads = received.map(
      (r) =>
        JSON.parse(r.body) as {
          resourceSpans: { resource: { attributes: OtlpSpan['attributes'] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
        },
    );
    const resources = payloads.flatMap((p) => p.resourceSpans.map((r) => r.resource.attributes));
    expect(resources.map((r) => attribute(r, 'service.name'))).toContain('voice-gateway-under-test');
    const spans = payloads.flatMap((p) => p.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
    const turn = spans.find((s) => s.name === 'turn');
    const chat = spans.find((s) => s.name === 'chat asi1-mini');
    expect(turn?.traceId).toBe(parent.traceId);
    expect(turn?.parentSpanId).toBe(parent.spanId);
    expect(chat?.parentSpanId).toBe(turn?.spanId);
    expect(spans.find((s) => s.name === 'speech.first_segment')?.parentSpanId).toBe(turn?.spanId);
    expect(attribute(chat!.attributes, 'gen_ai.provider.name')).toBe('openai_compatible'); // a custom ASI_BASE_URL
    expect(attribute(turn!.attributes, 'asi1_gateway.response.status')).toBe('completed');
    // The simulator (the upstream) was called from the model call's span.
    const chatRequest = simulator.requests.find((r) => r.headers.traceparent !== undefined);
    expect(chatRequest?.headers.traceparent).toBe(`00-${parent.traceId}-${chat?.spanId}-01`);
    // Neither the model key nor the collector's token is in any span, nor the token in any log line.
    for (const request of received) expect(request.body).not.toContain(API_KEY);
    expect(received.map((r) => r.body).join('')).not.toContain(COLLECTOR_TOKEN);
    expect(server.log.join('\n')).not.toContain(COLLECTOR_TOKEN);
    expect(server.log.some((line) => line.includes('exporting traces over OTLP/HTTP'))).toBe(true);
  });
});
