// Whether traces are exported: the standard OpenTelemetry variables decide (the SDK itself reads their values when
// it starts: endpoint, headers, timeout, sampler, resource). Only what decides the switch, and what the gateway
// cannot honour, is checked here, with the rest of the configuration's problems.
import type { Env } from './config-schema.js';

export interface TracingConfig {
  /** An OTLP/HTTP endpoint is configured and the SDK is not disabled: the SDK is loaded at start-up. */
  enabled: boolean;
  /** The traces endpoint in use (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT), for logs: no credentials. */
  endpoint: string | undefined;
  /** TRACE_USER_TEXT: spans may carry what the user said (turn text, tool arguments). */
  userText: boolean;
  /** The values of OTEL_EXPORTER_OTLP_(TRACES_)HEADERS (a collector's API key): redacted from logs like any secret. */
  headerValues: readonly string[];
}

const ENDPOINTS = ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'] as const;
const PROTOCOLS = ['OTEL_EXPORTER_OTLP_TRACES_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL'] as const;

/**
 * The tracing switch from the OTEL_* variables (`env`, raw) and TRACE_USER_TEXT (`e`, validated). What the gateway
 * cannot honour is a problem only when tracing would be on: a stray global OTEL_* variable never blocks start-up.
 */
export function readTracing(
  env: NodeJS.ProcessEnv,
  e: Pick<Env, 'TRACE_USER_TEXT'>,
  problems: string[],
): TracingConfig {
  const value = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === '' ? undefined : raw;
  };
  const endpointName = ENDPOINTS.find((name) => value(name) !== undefined);
  const endpoint = endpointName === undefined ? undefined : value(endpointName);
  const exporters = (value('OTEL_TRACES_EXPORTER') ?? 'otlp').split(',').map((name) => name.trim());
  // Only `none` turns it off: another exporter name beside an endpoint is a mistake to report, not a silent off.
  const enabled =
    endpoint !== undefined &&
    value('OTEL_SDK_DISABLED')?.toLowerCase() !== 'true' &&
    !exporters.every((name) => name === 'none');
  if (enabled) checkExport(value, endpointName, endpoint, exporters, problems);
  return {
    enabled,
    endpoint: endpoint === undefined ? undefined : withoutCredentials(endpoint),
    userText: e.TRACE_USER_TEXT === 'on',
    headerValues: ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'OTEL_EXPORTER_OTLP_HEADERS'].flatMap((name) =>
      headerValues(value(name)),
    ),
  };
}

/** The endpoint is a URL, the protocol OTLP/HTTP (the gateway sends JSON, which every OTLP/HTTP receiver takes). */
function checkExport(
  value: (name: string) => string | undefined,
  endpointName: string | undefined,
  endpoint: string | undefined,
  exporters: string[],
  problems: string[],
): void {
  if (endpoint !== undefined && !/^https?:\/\/[^/]/i.test(endpoint))
    problems.push(
      `${endpointName}: must be an http:// or https:// URL, the OTLP/HTTP receiver (got ${JSON.stringify(endpoint)})`,
    );
  for (const name of PROTOCOLS) {
    const protocol = value(name);
    if (protocol !== undefined && protocol !== 'http/json' && protocol !== 'http/protobuf')
      problems.push(
        `${name}: only OTLP over HTTP is supported (http/json or http/protobuf, port 4318 by default), not ${JSON.stringify(protocol)}`,
      );
  }
  if (exporters.some((name) => name !== 'otlp' && name !== 'none'))
    problems.push(`OTEL_TRACES_EXPORTER: must be otlp or none (got ${JSON.stringify(value('OTEL_TRACES_EXPORTER'))})`);
}

/** `key1=value1,key2=value2` (W3C Baggage syntax, percent-encoded) → the values, decoded and raw. */
function headerValues(headers: string | undefined): string[] {
  if (headers === undefined) return [];
  return headers.split(',').flatMap((pair) => {
    const raw = pair.slice(pair.indexOf('=') + 1).trim();
    if (pair.indexOf('=') < 0 || raw === '') return [];
    try {
      const decoded = decodeURIComponent(raw);
      return decoded === raw ? [raw] : [raw, decoded];
    } catch {
      return [raw];
    }
  });
}

/** A URL as it may be logged: user and password dropped. */
function withoutCredentials(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return '[unparsable URL]';
  }
}
