// Issue #19's switch: the standard OTEL_* variables turn tracing on (an OTLP endpoint) or keep it off (none, the
// SDK disabled, the none exporter); what the gateway cannot honour is listed with the other configuration
// problems; TRACE_USER_TEXT is validated; a collector's header values are redacted from logs like any secret.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configuredSecrets } from '../../src/secrets.js';
import { configProblems } from '../helpers.js';

const ENDPOINT = 'http://collector:4318';

describe('the tracing switch', () => {
  it('is off without an endpoint, and records no user text by default', () => {
    expect(loadConfig({}).tracing).toEqual({ enabled: false, endpoint: undefined, userText: false, headerValues: [] });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT }, `${ENDPOINT}/`],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` }, `${ENDPOINT}/v1/traces`],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://user:pw@collector:4318' }, 'https://collector:4318/'],
  ])('is on with an OTLP endpoint (%o), logged without credentials', (env, logged) => {
    expect(loadConfig(env).tracing).toMatchObject({ enabled: true, endpoint: logged });
  });

  it.each([
    { OTEL_SDK_DISABLED: 'true' },
    { OTEL_SDK_DISABLED: 'TRUE' },
    { OTEL_TRACES_EXPORTER: 'none' },
    { OTEL_EXPORTER_OTLP_ENDPOINT: '  ' },
  ])('stays off with the endpoint set and %o', (env) => {
    expect(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, ...env }).tracing.enabled).toBe(false);
  });

  it('takes TRACE_USER_TEXT=on', () => {
    expect(loadConfig({ TRACE_USER_TEXT: 'on' }).tracing.userText).toBe(true);
  });

  it('lists what it cannot honour with every other problem', () => {
    expect(
      configProblems({
        OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317',
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_TRACES_EXPORTER: 'otlp,zipkin',
        TRACE_USER_TEXT: 'yes',
        PORT: 'eighty',
      }),
    ).toEqual([
      expect.stringMatching(/^PORT:/),
      expect.stringMatching(/^TRACE_USER_TEXT: must be one of off, on/),
      'OTEL_EXPORTER_OTLP_ENDPOINT: must be an http:// or https:// URL, the OTLP/HTTP receiver (got "collector:4317")',
      'OTEL_EXPORTER_OTLP_PROTOCOL: only OTLP over HTTP is supported (http/json or http/protobuf, port 4318 by default), not "grpc"',
      'OTEL_TRACES_EXPORTER: must be otlp or none (got "otlp,zipkin")',
    ]);
  });

  it('refuses an exporter it does not have beside an endpoint, rather than staying silently off', () => {
    expect(configProblems({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_TRACES_EXPORTER: 'console' })).toEqual([
      'OTEL_TRACES_EXPORTER: must be otlp or none (got "console")',
    ]);
  });

  it('ignores what would not matter while tracing is off (a stray global variable never blocks start-up)', () => {
    expect(configProblems({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual([]);
    expect(configProblems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317', OTEL_SDK_DISABLED: 'true' })).toEqual([]);
  });

  it('accepts both OTLP/HTTP encodings', () => {
    for (const protocol of ['http/json', 'http/protobuf'])
      expect(
        configProblems({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: protocol }),
      ).toEqual([]);
  });

  it("redacts a collector's header values from logs, as written and decoded", () => {
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT,
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Basic%20dXNlcjpwdw==,x-tenant=acme-prod',
    });
    expect(configuredSecrets(config)).toEqual(
      expect.arrayContaining(['Basic%20dXNlcjpwdw==', 'Basic dXNlcjpwdw==', 'acme-prod']),
    );
  });
});
