// Secrets never reach a log line or a client in any letter case (issue #14, defect 6), and tokens a client puts
// in a URL never reach the access log, which still skips the probes whatever their query string (defect 7).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { configuredSecrets } from '../src/secrets.js';
import { sanitizeUpstreamText } from '../src/upstream/http-errors.js';
import { startAwkwardUpstream, type AwkwardUpstream } from './awkward-upstream-server.js';
import { startGatewayFor, startStack, until, VoiceClient, type GatewayUnderTest } from './helpers.js';

let upstream: AwkwardUpstream | undefined;
let gateway: GatewayUnderTest | undefined;
afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await upstream?.close();
  upstream = undefined;
});

function lineSink() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(chunk.toString());
      callback();
    },
  });
  return { lines, destination };
}

/** A plain pino logger (no secret hook): what reaches it is only what the gateway itself made safe. */
function captureLogs(level: string) {
  const { lines, destination } = lineSink();
  return { lines, logger: pino({ level }, destination) };
}

interface LogRecord {
  msg?: string;
  reqId?: string;
  req?: { url?: string };
}

describe('secrets in any letter case', () => {
  const KEY = 'sk-test-secret-123';
  const ECHO = '{"error":{"message":"KEY SK-TEST-SECRET-123"}}';

  it.each([
    [401, 'GW_UPSTREAM_AUTH'],
    [400, 'GW_UPSTREAM_BAD_REQUEST'],
  ])('never shows or logs the key when a %i body echoes it upper-cased', async (status, code) => {
    const { lines, logger } = captureLogs('debug');
    upstream = await startAwkwardUpstream((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(ECHO);
    });
    gateway = await startGatewayFor(upstream.baseUrl, { env: { ASI_ONE_API_KEY: KEY, LOG_LEVEL: 'debug' }, logger });
    const client = await VoiceClient.connect(gateway.voiceUrl);
    const done = await client.turn('Hi');
    await client.close();
    expect(done.error?.code).toBe(code);
    expect(done.error?.message).toContain('[redacted]');
    expect(done.error?.message.toLowerCase()).not.toContain('secret');
    // The failure is logged at debug with the (sanitised) upstream body: the key must not be in it, in any case.
    expect(lines.some((line) => line.includes('"response failed"'))).toBe(true);
    const everything = `${JSON.stringify(client.events)}\n${lines.join('')}`.toLowerCase();
    expect(everything).not.toContain(KEY);
    expect(everything).not.toContain('test-secret');
  });

  it('removes a key and any 12-character fragment of it in any case from upstream text', () => {
    const secret = 'MixedCaseSecretValue';
    const out = sanitizeUpstreamText(`full MIXEDCASESECRETVALUE, cut mixedCASEsec, other mIxEdCaSe`, [secret]);
    expect(out).toBe('full [redacted], cut [redacted], other mIxEdCaSe');
    expect(sanitizeUpstreamText('header Sk-Live_Abcdef123456 sent', [])).toBe('header [redacted] sent');
  });

  it('removes a key that the upstream split with invisible characters, which would still read whole on a screen', () => {
    const secret = 'sk_live_0123456789abcdefghij';
    // A zero-width space, a soft hyphen, a word joiner, a BOM and a bidi mark, each every few characters.
    const invisibles = ['\u200b', '\u00ad', '\u2060', '\ufeff', '\u200e'];
    const split = [...secret].map((c, i) => c + (i % 3 === 2 ? invisibles[i % invisibles.length]! : '')).join('');
    expect(split.length).toBeGreaterThan(secret.length);
    const out = sanitizeUpstreamText(`Invalid key: ${split}.`, [secret]);
    expect(out.replace(/\p{Default_Ignorable_Code_Point}/gu, '')).not.toContain('0123');
    expect(out).toBe('Invalid key: [redacted].');
  });

  it('redacts gateway tokens, the Redis password and the metrics token from log lines in any case', () => {
    const config = loadConfig({
      GATEWAY_TOKENS: 'Gw-Token-Alpha-77,other-token-22',
      REDIS_URL: 'redis://:p4ssw0rd-long@127.0.0.1:6379/0',
      METRICS_TOKEN: 'Metrics-Token-99',
    });
    const { lines, destination } = lineSink();
    const logger = createLogger('debug', { destination, secrets: configuredSecrets(config) });
    // What an ioredis failure looks like: the message, the stack, and the AUTH command's arguments.
    const err = Object.assign(new Error('NOAUTH for redis://:P4SSW0RD-LONG@127.0.0.1:6379 (token gw-token-alpha-77)'), {
      command: { name: 'auth', args: ['P4ssw0rd-Long'] },
    });
    logger.error({ err }, 'redis error');
    logger.warn(`client sent GW-TOKEN-ALPHA-77 and metrics-token-99 in a frame`);
    logger.child({ token: 'OTHER-TOKEN-22' }).info({ nested: { list: ['x Metrics-TOKEN-99 y'] } }, 'nested');
    logger.info({ n: 1 }, 'nothing secret here');
    expect(lines).toHaveLength(4);
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const everything = lines.join('').toLowerCase();
    for (const secret of ['gw-token-alpha-77', 'other-token-22', 'p4ssw0rd-long', 'metrics-token-99']) {
      expect(everything).not.toContain(secret);
    }
    expect(records[0]).toMatchObject({
      msg: 'redis error',
      err: { message: 'NOAUTH for redis://:[redacted]@127.0.0.1:6379 (token [redacted])' },
    });
    expect(records[1]).toMatchObject({ msg: 'client sent [redacted] and [redacted] in a frame' });
    expect(records[2]).toMatchObject({ token: '[redacted]', nested: { list: ['x [redacted] y'] } });
    expect(lines[3]).toMatch(/"msg":"nothing secret here"\}\n$/);
  });

  it('finds a secret that pino writes escaped (quotes, backslashes)', () => {
    const { lines, destination } = lineSink();
    const logger = createLogger('info', { destination, secrets: ['Ab"Cd\\Ef-12345'] });
    logger.info({ detail: 'saw ab"cd\\ef-12345 here' }, 'AB"CD\\EF-12345');
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ msg: '[redacted]', detail: 'saw [redacted] here' });
  });
});

/** Opens a WebSocket the server refuses or closes; resolves when it is done either way. */
function attempt(url: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.on('unexpected-response', (_req, res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}

describe('tokens in URLs', () => {
  const TOKEN = 'abc123secret';

  it('never access-logs a query value, and never access-logs the probes, query string or not', async () => {
    const { lines, logger } = captureLogs('trace');
    const stack = await startStack({
      env: { GATEWAY_TOKENS: 'the-real-token', METRICS_TOKEN: 'the-metrics-token' },
      logger,
    });
    try {
      await attempt(`${stack.voiceUrl}?token=${TOKEN}`);
      expect((await fetch(`${stack.httpUrl}/v1/voice?token=${TOKEN}&${TOKEN}`)).status).toBe(401);
      expect((await fetch(`${stack.httpUrl}/metrics?token=${TOKEN}`)).status).toBe(401);
      expect((await fetch(`${stack.httpUrl}/healthz?x=1`)).status).toBe(200);
      expect((await fetch(`${stack.httpUrl}/readyz?probe=${TOKEN}`)).status).toBe(200);
      expect((await fetch(`${stack.httpUrl}/nowhere?token=${TOKEN}`)).status).toBe(404);
      await attempt(`${stack.httpUrl.replace('http', 'ws')}/healthz?token=${TOKEN}`);
      const records = (): LogRecord[] => lines.map((line) => JSON.parse(line) as LogRecord);
      await until(() => records().some((r) => r.msg?.startsWith('Route GET:/nowhere')));

      expect(lines.join('')).not.toContain(TOKEN);
      const incoming = records().filter((r) => r.msg === 'incoming request');
      // The refused requests are logged, with the parameter names and no values.
      expect(incoming.map((r) => r.req?.url)).toEqual(
        expect.arrayContaining([
          '/v1/voice?token=[redacted]',
          '/v1/voice?token=[redacted]&[redacted]',
          '/nowhere?token=[redacted]',
        ]),
      );
      expect(records().find((r) => r.msg?.startsWith('Route GET:/nowhere'))?.msg).toBe(
        'Route GET:/nowhere?token=[redacted] not found',
      );
      // The probes are not, whatever their query string; nor is their completion.
      expect(incoming.filter((r) => /^\/(metrics|healthz|readyz)\b/.test(r.req?.url ?? ''))).toEqual([]);
      const logged = new Set(incoming.map((r) => r.reqId));
      expect(records().filter((r) => r.msg === 'request completed' && !logged.has(r.reqId))).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
