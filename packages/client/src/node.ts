// @asi1-voice/client/node: the same API for Node, on the `ws` package, sending the gateway token as an
// Authorization header (servers can; browsers cannot, so the main entry offers it as a subprotocol).
import WebSocket from 'ws';
import { connect as connectWith, type ConnectOptions } from './connect.js';
import type { VoiceSession } from './session.js';
import type { WebSocketConstructor } from './socket.js';

export * from './index.js';

/** connect() with `ws` and `tokenVia: 'header'` as defaults. */
export function connect(options: ConnectOptions): Promise<VoiceSession> {
  return connectWith({
    tokenVia: 'header',
    ...options,
    WebSocket: options.WebSocket ?? (WebSocket as unknown as WebSocketConstructor),
  });
}
