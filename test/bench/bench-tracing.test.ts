// `npm run bench:tracing` works: its OTLP sink counts the spans of protobuf, gzip and JSON exports and answers
// as a collector does; and a toy run (2 sessions × 2 turns per gateway, one round) measures both gateways, writes
// every figure, and reports what the sink received, whether or not this build exports traces (nothing received
// is flagged, not a failure). Counts and shapes only, never a timing.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { startOtlpSink } from '../../bench/tracing/otlp-sink.js';
import type { TracingResults } from '../../bench/tracing/run.js';
import { runBenchScript } from './run-bench-script.js';

const outDir = mkdtempSync(join(tmpdir(), 'bench-tracing-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function varint(value: number): Buffer {
  const bytes: number[] = [];
  for (; value >= 0x80; value = Math.floor(value / 128)) bytes.push((value % 128) | 0x80);
  bytes.push(value);
  return Buffer.from(bytes);
}
const field = (number: number, payload: Buffer | string): Buffer => {
  const bytes = Buffer.from(payload);
  return Buffer.concat([varint(number * 8 + 2), varint(bytes.length), bytes]);
};
const fixed64 = (number: number): Buffer => Buffer.concat([varint(number * 8 + 1), Buffer.alloc(8, 7)]);

/** A span as OTLP protobuf lays it out: ids, name, kind (varint), start and end times (fixed64), an attribute. */
const span = (name: string): Buffer =>
  Buffer.concat([
    field(1, Buffer.alloc(16, 1)),
    field(2, Buffer.alloc(8, 2)),
    field(5, name),
    varint(6 * 8),
    varint(2),
    fixed64(7),
    fixed64(8),
    field(9, Buffer.concat([field(1, 'gen_ai.system'), field(2, field(1, 'asi1'))])),
  ]);
const scopeSpans = (...spans: Buffer[]): Buffer =>
  Buffer.concat([field(1, field(1, 'asi1-voice-gateway')), ...spans.map((s) => field(2, s))]);
const resourceSpans = (...scopes: Buffer[]): Buffer =>
  Buffer.concat([field(1, field(1, field(1, 'service.name'))), ...scopes.map((s) => field(2, s))]);

async function post(url: string, body: Buffer | string, headers: Record<string, string>): Promise<string> {
  const response = await fetch(url, { method: 'POST', body, headers });
  expect(response.status).toBe(200);
  return response.text();
}

describe('bench:tracing OTLP sink', () => {
  it('counts the spans of protobuf (plain and gzip) and JSON exports, and answers 200', async () => {
    const sink = await startOtlpSink();
    try {
      const request = Buffer.concat([
        field(1, resourceSpans(scopeSpans(span('turn'), span('chat asi1-mini')), scopeSpans(span('speech')))),
        field(1, resourceSpans(scopeSpans(span('tool')))),
      ]);
      const proto = { 'content-type': 'application/x-protobuf' };
      expect(await post(`${sink.url}/v1/traces`, request, proto)).toBe('');
      await post(`${sink.url}/v1/traces`, gzipSync(request), { ...proto, 'content-encoding': 'gzip' });
      const json = { resourceSpans: [{ scopeSpans: [{ spans: [{ name: 'turn' }, { name: 'speech' }] }] }] };
      const answer = await post(`${sink.url}/v1/traces`, JSON.stringify(json), { 'content-type': 'application/json' });
      expect(answer).toBe('{}');
      await post(`${sink.url}/v1/metrics`, '{}', { 'content-type': 'application/json' });
      await post(`${sink.url}/v1/traces`, 'not otlp', { 'content-type': 'application/json' });
      const stats = sink.stats();
      expect(stats).toMatchObject({ requests: 4, spans: 4 + 4 + 2, unreadable: 1, otherPaths: { '/v1/metrics': 1 } });
      expect(stats.contentTypes).toEqual({ 'application/x-protobuf': 2, 'application/json': 3 });
      expect(stats.bytes).toBeGreaterThan(request.length);
    } finally {
      await sink.close();
    }
  });
});

describe('bench:tracing toy run', () => {
  it('measures both gateways in one round and reports the sink, exported or not', { timeout: 60_000 }, async () => {
    const out = join(outDir, 'tracing.json');
    const args = ['--sessions', '2', '--rounds', '1', '--max-turns', '2', '--bsp-delay-ms', '100', '--out', out];
    const { code, output } = await runBenchScript('bench/tracing.ts', args, { OTEL_EXPORTER_OTLP_ENDPOINT: 'x' });
    expect(code, output).toBe(0);
    const results = JSON.parse(readFileSync(out, 'utf8')) as TracingResults;
    expect(results).toMatchObject({ schema: 1, kind: 'tracing', options: { sessions: 2, rounds: 1, maxTurns: 2 } });
    // The caller's OTEL_* reach neither gateway: only the tracing one gets the sink.
    expect(results.ignoredCallerEnv).toEqual(['OTEL_EXPORTER_OTLP_ENDPOINT']);
    expect(results.gatewayEnv.off).not.toHaveProperty('OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(results.gatewayEnv.on).toMatchObject({ OTEL_BSP_SCHEDULE_DELAY: '100' });
    expect(results.gatewayEnv.on.OTEL_EXPORTER_OTLP_ENDPOINT).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect(results.windows.map((w) => `${w.round}:${w.mode}`)).toEqual(['0:off', '0:on']);
    for (const w of results.windows) {
      expect([w.turns, w.failed, w.ttftMs.n], w.mode).toEqual([4, 0, 4]);
      expect(w.chunks, w.mode).toBeGreaterThan(0);
      expect(w.cpuSeconds, w.mode).toBeGreaterThan(0);
    }
    for (const mode of ['off', 'on'] as const) {
      const m = results.figures[mode];
      expect(m.turns).toBe(4);
      expect(m.cpuMsPer1000Deltas).toBeGreaterThan(0);
      expect(m.cpuMsPerTurn).toBeGreaterThan(0);
    }
    expect(typeof results.figures.addedFirstTokenP50Ms).toBe('number');
    expect(typeof results.figures.addedCpuMsPerTurn).toBe('number');

    const { sink } = results;
    for (const key of ['requests', 'bytes', 'spans', 'unreadable'] as const) expect(typeof sink[key]).toBe('number');
    expect(results.targets.map((t) => t.id)).toEqual(['first-token-p50-added', 'cpu-per-turn-added', 'spans-exported']);
    expect(results.targets.find((t) => t.id === 'spans-exported')).toMatchObject({
      value: sink.spans,
      pass: sink.spans > 0,
    });
    expect(output).toContain(`OTLP sink: ${sink.requests} export request(s), ${sink.bytes} bytes, ${sink.spans} spans`);
    // Exported: every span counted came from the tracing gateway's 4 turns. Not (yet): flagged in the report.
    if (sink.spans > 0) expect(sink.unreadable).toBe(0);
    else expect(output).toContain('The tracing gateway exported no span');
    for (const target of results.targets) expect(output).toContain(target.description);
  });
});
