// The WebSocket seam: the few members the client uses, met by the browser's WebSocket and by `ws` alike, how a
// socket is opened with a gateway token, how frames are read, and which close codes end the session for good.
import { VoiceGatewayError } from './errors.js';
import { CLOSE_IDLE_TIMEOUT, CLOSE_RESUMED_ELSEWHERE, NATIVE_SUBPROTOCOL, type ServerEvent } from './wire.js';

/** What the client reads from open, message, close and error events. */
export interface SocketEvent {
  readonly type: string;
  readonly data?: unknown;
  readonly code?: number;
  readonly reason?: string;
}

export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: SocketEvent) => void): void;
}

/** A WebSocket class: the browser's, or `ws` (whose third argument carries headers). */
export interface WebSocketConstructor {
  new (url: string, protocols?: string | string[], options?: { headers?: Record<string, string> }): WebSocketLike;
}

/** How the gateway token travels: a `bearer.<token>` subprotocol (browsers) or an Authorization header (Node). */
export type TokenTransport = 'subprotocol' | 'header';

export const OPEN = 1;
/** Our close code for a link that stopped answering pings (the gateway's own codes are 4000–4004). */
export const CLOSE_DEAD_LINK = 4100;

/** Close codes after which reconnecting cannot help: protocol violations, idle, or the session moved on. */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([
  1002,
  1003,
  1007,
  1008,
  1009,
  1010,
  CLOSE_IDLE_TIMEOUT,
  CLOSE_RESUMED_ELSEWHERE,
]);

export function isFinalClose(code: number): boolean {
  return FINAL_CLOSE_CODES.has(code);
}

export function resolveWebSocket(given: WebSocketConstructor | undefined): WebSocketConstructor {
  const found = given ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (found !== undefined) return found;
  throw new VoiceGatewayError(
    'CLIENT_NO_WEBSOCKET',
    "No WebSocket implementation: pass { WebSocket } (in Node: import WebSocket from 'ws'), or import connect from '@asi1-voice/client/node'.",
  );
}

/** Opens a socket to the gateway, presenting `token` the way `via` says. Throws what the constructor throws. */
export function openSocket(
  WebSocketClass: WebSocketConstructor,
  url: string,
  token: string | undefined,
  via: TokenTransport,
): WebSocketLike {
  if (token === undefined || token === '') return new WebSocketClass(url, [NATIVE_SUBPROTOCOL]);
  if (via === 'header')
    return new WebSocketClass(url, [NATIVE_SUBPROTOCOL], { headers: { Authorization: `Bearer ${token}` } });
  return new WebSocketClass(url, [NATIVE_SUBPROTOCOL, `bearer.${token}`]);
}

/** A server frame as an event, or null when it is not a JSON object with a string `type` (ignored). */
export function parseFrame(data: unknown): ServerEvent | null {
  const text = typeof data === 'string' ? data : String(data);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string')
    return null;
  return value as ServerEvent;
}

/** setTimeout and friends, typed without DOM or Node typings (both environments have them). */
export const timers = globalThis as unknown as {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(callback: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
};
