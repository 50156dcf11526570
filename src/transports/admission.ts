// Who may open a WebSocket, decided before the upgrade: browser origin allow-list, gateway tokens (bearer header
// for servers, a Sec-WebSocket-Protocol entry for browsers, never a URL), and connection limits. A rejection is a
// real HTTP 401/403/429/503 response, never a half-open socket.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { ErrorCode } from '../errors.js';

/** Browsers cannot set headers on a WebSocket, so they offer the token as a subprotocol `bearer.<token>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'bearer.';
/** The protocol name the native transport selects; a browser must offer it next to its token entry. */
export const NATIVE_SUBPROTOCOL = 'asi1-voice.v1';
/** OpenAI Realtime browser clients offer their key as `openai-insecure-api-key.<key>` (openai-node src/realtime/websocket.ts). */
export const REALTIME_TOKEN_SUBPROTOCOL_PREFIX = 'openai-insecure-api-key.';
/** The protocol name OpenAI Realtime clients offer and expect selected; a WHATWG WebSocket fails without it. */
export const REALTIME_SUBPROTOCOL = 'realtime';

/** Subprotocol entries that carry a credential: never selected, so never echoed back. */
export function isCredentialSubprotocol(protocol: string): boolean {
  return protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX) || protocol.startsWith(REALTIME_TOKEN_SUBPROTOCOL_PREFIX);
}

/** The subprotocol to select: ours, else `realtime`, else the first offered one that carries no credential. */
export function selectSubprotocol(offered: ReadonlySet<string>): string | false {
  if (offered.has(NATIVE_SUBPROTOCOL)) return NATIVE_SUBPROTOCOL;
  if (offered.has(REALTIME_SUBPROTOCOL)) return REALTIME_SUBPROTOCOL;
  return [...offered].find((p) => !isCredentialSubprotocol(p)) ?? false;
}

export interface AdmissionConfig {
  gatewayTokens: readonly string[];
  /** `['*']` allows any origin; empty allows only same-origin browsers (and clients that send no Origin). */
  allowedOrigins: readonly string[];
  /** The origin browsers reach the gateway at (normalised, as URL.origin spells it); unset: the Host header decides. */
  publicOrigin: string | undefined;
  maxConnections: number;
  maxConnectionsPerIp: number;
}

export type Admission =
  { ok: true; tokenId: string | null } | { ok: false; status: number; code: ErrorCode; reason: string };

/** Hashes tokens once, so comparison is constant-time over equal-length digests and tokens are never kept. */
export class TokenSet {
  private readonly digests: Buffer[];

  constructor(tokens: readonly string[]) {
    this.digests = tokens.map(digest);
  }

  get enabled(): boolean {
    return this.digests.length > 0;
  }

  /** The matching token's short id (for logs and per-token limits), or null. Compares against every token. */
  match(candidate: string): string | null {
    const probe = digest(candidate);
    let found: Buffer | null = null;
    for (const d of this.digests) if (timingSafeEqual(d, probe)) found = d;
    return found === null ? null : found.subarray(0, 6).toString('hex');
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/**
 * The token a client presented: `Authorization: Bearer …`, a `bearer.…` or `openai-insecure-api-key.…`
 * subprotocol entry, or an `api-key` header (Azure-style Realtime clients send it).
 */
export function presentedToken(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (typeof auth === 'string' && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, '').trim();
  for (const protocol of offeredSubprotocols(headers)) {
    if (protocol.startsWith(TOKEN_SUBPROTOCOL_PREFIX)) return protocol.slice(TOKEN_SUBPROTOCOL_PREFIX.length);
    if (protocol.startsWith(REALTIME_TOKEN_SUBPROTOCOL_PREFIX))
      return protocol.slice(REALTIME_TOKEN_SUBPROTOCOL_PREFIX.length);
  }
  const apiKey = headers['api-key'];
  return typeof apiKey === 'string' && apiKey.trim() !== '' ? apiKey.trim() : null;
}

export function offeredSubprotocols(headers: IncomingHttpHeaders): string[] {
  const raw = headers['sec-websocket-protocol'];
  if (typeof raw !== 'string') return [];
  return raw
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
}

/**
 * Whether a browser page at `origin` may connect. Same-origin means the page's scheme, host and port equal
 * PUBLIC_ORIGIN; without it, the Origin's host must equal the Host header, which a DNS-rebinding page controls
 * (its own name, resolved to this gateway), so the gateway warns at start-up when that is the only check.
 */
export function originAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
  publicOrigin?: string,
): boolean {
  if (origin === undefined) return true; // not a browser: tokens, not origins, protect it
  if (allowed.includes('*')) return true;
  const normalised = normaliseOrigin(origin);
  if (normalised === null) return false;
  if (allowed.some((a) => normaliseOrigin(a) === normalised)) return true;
  if (publicOrigin !== undefined) return normalised === publicOrigin;
  return host !== undefined && new URL(normalised).host === host.toLowerCase();
}

/** `scheme://host[:port]` as URL.origin spells it (lower case, default port dropped), or null when not an origin. */
function normaliseOrigin(value: string): string | null {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

export interface ConnectionCounts {
  total: number;
  forIp(ip: string): number;
}

export function admit(
  request: { headers: IncomingHttpHeaders; ip: string },
  config: AdmissionConfig,
  tokens: TokenSet,
  counts: ConnectionCounts,
): Admission {
  const { headers } = request;
  if (!originAllowed(headers.origin, headers.host, config.allowedOrigins, config.publicOrigin)) {
    return { ok: false, status: 403, code: 'GW_ORIGIN_FORBIDDEN', reason: 'origin' };
  }
  let tokenId: string | null = null;
  if (tokens.enabled) {
    const token = presentedToken(headers);
    tokenId = token === null ? null : tokens.match(token);
    if (tokenId === null)
      return {
        ok: false,
        status: 401,
        code: 'GW_UNAUTHORIZED',
        reason: token === null ? 'missing_token' : 'bad_token',
      };
  }
  if (counts.total >= config.maxConnections)
    return { ok: false, status: 503, code: 'GW_TOO_MANY_CONNECTIONS', reason: 'max_connections' };
  if (counts.forIp(request.ip) >= config.maxConnectionsPerIp) {
    return { ok: false, status: 429, code: 'GW_TOO_MANY_CONNECTIONS', reason: 'max_connections_per_ip' };
  }
  return { ok: true, tokenId };
}
