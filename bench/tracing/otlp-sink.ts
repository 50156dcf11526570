// The tracing bench's OTLP/HTTP receiver: accepts POST /v1/traces (protobuf or JSON, gzip or not), counts the
// requests, bytes and spans that arrive and answers 200 with an empty ExportTraceServiceResponse (`{}` in JSON,
// no bytes in protobuf). Enough to tell that a gateway exported, and how much; it keeps nothing else.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface SinkStats {
  /** POSTs to /v1/traces, their bytes as sent (compressed, if they were), and the spans inside. */
  requests: number;
  bytes: number;
  spans: number;
  /** Bodies whose spans could not be counted (not OTLP, or an encoding this sink does not read). */
  unreadable: number;
  /** Requests to any other path (metrics or logs, if a gateway sent them), by path. */
  otherPaths: Record<string, number>;
  contentTypes: Record<string, number>;
}

export interface OtlpSink {
  /** http://127.0.0.1:PORT: the OTEL_EXPORTER_OTLP_ENDPOINT value (exporters add /v1/traces). */
  readonly url: string;
  stats(): SinkStats;
  close(): Promise<void>;
}

/** Protobuf fields of one message: [field number, wire type, payload of a length-delimited field]. */
function* protoFields(bytes: Uint8Array): Generator<[number, number, Uint8Array | null]> {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length) throw new Error('truncated varint');
      const byte = bytes[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < bytes.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key % 8];
    if (wire === 0) varint();
    else if (wire === 1 || wire === 5) at += wire === 1 ? 8 : 4;
    else if (wire === 2) {
      const length = varint();
      if (at + length > bytes.length) throw new Error('truncated field');
      yield [field, wire, bytes.subarray(at, at + length)];
      at += length;
      continue;
    } else throw new Error(`unsupported wire type ${wire}`);
    yield [field, wire, null];
  }
}

/** ExportTraceServiceRequest.resource_spans (1) → ResourceSpans.scope_spans (2) → ScopeSpans.spans (2). */
export function countProtobufSpans(bytes: Uint8Array): number {
  let spans = 0;
  const each = (of: Uint8Array, field: number, visit: (inner: Uint8Array) => void): void => {
    for (const [number, , payload] of protoFields(of)) if (number === field && payload !== null) visit(payload);
  };
  each(bytes, 1, (resource) => each(resource, 2, (scope) => each(scope, 2, () => (spans += 1))));
  return spans;
}

/** The OTLP JSON encoding: resourceSpans[].scopeSpans[].spans[]. */
export function countJsonSpans(text: string): number {
  const body = JSON.parse(text) as { resourceSpans?: { scopeSpans?: { spans?: unknown[] }[] }[] };
  if (!Array.isArray(body.resourceSpans)) throw new Error('no resourceSpans');
  return body.resourceSpans
    .flatMap((r) => r.scopeSpans ?? [])
    .reduce((n, scope) => n + (Array.isArray(scope.spans) ? scope.spans.length : 0), 0);
}

const isJson = (contentType: string): boolean => contentType.includes('json');

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function receive(req: IncomingMessage, res: ServerResponse, stats: SinkStats): Promise<void> {
  const raw = await readBody(req);
  const path = (req.url ?? '/').split('?')[0]!;
  const contentType = String(req.headers['content-type'] ?? 'none')
    .split(';')[0]!
    .trim();
  stats.contentTypes[contentType] = (stats.contentTypes[contentType] ?? 0) + 1;
  if (req.method !== 'POST' || path !== '/v1/traces') stats.otherPaths[path] = (stats.otherPaths[path] ?? 0) + 1;
  else {
    stats.requests += 1;
    stats.bytes += raw.length;
    try {
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      stats.spans += isJson(contentType) ? countJsonSpans(body.toString('utf8')) : countProtobufSpans(body);
    } catch {
      stats.unreadable += 1;
    }
  }
  const json = isJson(contentType);
  res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
  res.end(json ? '{}' : undefined);
}

export async function startOtlpSink(): Promise<OtlpSink> {
  const stats: SinkStats = { requests: 0, bytes: 0, spans: 0, unreadable: 0, otherPaths: {}, contentTypes: {} };
  const server = createServer({ keepAliveTimeout: 1_000 }, (req, res) => {
    receive(req, res, stats).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => structuredClone(stats),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
