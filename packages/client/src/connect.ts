// connect(): opens a session on the gateway's native protocol and resolves once it is ready (and, when the
// options carry settings or tools, once the gateway confirmed them), from a browser or from Node.
import { backoffFrom, type ReconnectOptions } from './backoff.js';
import { Link } from './link.js';
import { Session, type SessionEvents, type VoiceSession } from './session.js';
import { resolveWebSocket, type TokenTransport, type WebSocketConstructor } from './socket.js';
import type { ClientTools } from './tools.js';
import type { SettingsFields } from './wire.js';

export interface ConnectOptions {
  /** ws(s)://HOST:PORT/v1/voice */
  url: string;
  /** A gateway token, when the gateway requires one (GATEWAY_TOKENS). */
  token?: string;
  /** The WebSocket class; default globalThis.WebSocket (browsers, Node 22+). In Node 20 pass `ws`, or use the /node entry. */
  WebSocket?: WebSocketConstructor;
  /** 'subprotocol' (default; what browsers can do) or 'header' (Authorization: Bearer; the /node entry's default). */
  tokenVia?: TokenTransport;
  /** Settings applied right after session.ready (and again if a new session ever replaces this one). */
  settings?: SettingsFields;
  /** Client tools, declared right after session.ready and run when the model calls them. */
  tools?: ClientTools;
  /** Reconnect after a drop (default on: 250 ms doubling to 10 s, with jitter, unlimited attempts); false: never. */
  reconnect?: ReconnectOptions | false;
  /** Application ping interval, which also detects dead links (default 20 s; 0: off). */
  pingIntervalMs?: number;
  /** Listeners attached before the first socket opens, so no state change is missed. */
  on?: { [K in keyof SessionEvents]?: SessionEvents[K] };
}

export async function connect(options: ConnectOptions): Promise<VoiceSession> {
  const linkOptions = {
    url: options.url,
    token: options.token,
    WebSocket: resolveWebSocket(options.WebSocket),
    tokenVia: options.tokenVia ?? 'subprotocol',
    backoff: options.reconnect === false ? null : backoffFrom(options.reconnect),
    pingIntervalMs: options.pingIntervalMs ?? 20_000,
  };
  const session = new Session((owner) => new Link(linkOptions, owner));
  for (const [type, listener] of Object.entries(options.on ?? {}) as [
    keyof SessionEvents,
    SessionEvents[keyof SessionEvents],
  ][]) {
    session.on(type, listener);
  }
  await session.start();
  if (options.settings !== undefined || options.tools !== undefined) {
    try {
      await session.update({ ...options.settings, ...(options.tools === undefined ? {} : { tools: options.tools }) });
    } catch (err) {
      await session.close();
      throw err;
    }
  }
  return session;
}
