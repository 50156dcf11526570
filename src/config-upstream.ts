// The settings of the upstream's connections (config.ts reads the rest): warm-up, keep-alive, HTTP version, and
// the extra CA, whose file is read and checked at start-up like every other problem of the configuration.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Env } from './config-schema.js';

export interface UpstreamConnections {
  /** Keep upstream connections open ahead of demand (upstream/connection-warmer.ts). */
  upstreamWarm: boolean;
  upstreamKeepAliveMs: number;
  upstreamHttp: 'auto' | 'h1' | 'h2';
  /** The PEM text of UPSTREAM_CA_FILE (checked to hold certificates), or undefined. */
  upstreamCa: string | undefined;
}

/** The settings; files and cross-checks only once the environment itself is valid (`envValid`). */
export function readUpstreamConnections(e: Env, envValid: boolean, problems: string[]): UpstreamConnections {
  const upstreamCa = envValid ? readCaFile(e.UPSTREAM_CA_FILE, problems) : undefined;
  if (envValid && e.UPSTREAM_HTTP === 'h2' && e.ASI_ONE_API_KEY !== undefined && !/^https:/i.test(e.ASI_BASE_URL))
    problems.push('UPSTREAM_HTTP: h2 needs an https:// ASI_BASE_URL (HTTP/2 is negotiated over TLS)');
  return {
    upstreamWarm: e.UPSTREAM_WARM === 'on',
    upstreamKeepAliveMs: e.UPSTREAM_KEEPALIVE_MS,
    upstreamHttp: e.UPSTREAM_HTTP,
    upstreamCa,
  };
}

/** UPSTREAM_CA_FILE's PEM text: readable, holding at least one certificate, every one of which parses. */
function readCaFile(path: string | undefined, problems: string[]): string | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    problems.push(`UPSTREAM_CA_FILE: cannot read ${JSON.stringify(path)} (${code})`);
    return undefined;
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    problems.push(`UPSTREAM_CA_FILE: no PEM certificate (-----BEGIN CERTIFICATE-----) in ${JSON.stringify(path)}`);
    return undefined;
  }
  const broken = blocks.findIndex((block) => {
    try {
      new X509Certificate(block);
      return false;
    } catch {
      return true;
    }
  });
  if (broken < 0) return pem;
  problems.push(
    `UPSTREAM_CA_FILE: certificate ${broken + 1} in ${JSON.stringify(path)} is not a valid X.509 certificate`,
  );
  return undefined;
}
