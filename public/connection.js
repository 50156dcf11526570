// The WebSocket link to /v1/voice: connects, reconnects with exponential backoff and jitter after the
// server goes away, and sends an application ping for liveness. Owns the socket only: no turns, no speech.
import { createEmitter } from './emitter.js';

/** Our close code for a link that stopped answering (distinct from the server's own 4000-range codes). */
const CLIENT_DEAD_LINK = 4100;
/** The protocol name the gateway selects; a browser offers it next to `bearer.<token>` (docs/operations.md, access control). */
const SUBPROTOCOL = 'asi1-voice.v1';

/**
 * Emits `status` ({ state: 'connecting' | 'open' | 'waiting', attempt, retryInMs }), `open` (a socket is up),
 * `event` (each parsed server event), `lost` (the socket went away), `refused` (it never opened, twice) and
 * `bad-token` (the token cannot be offered at all).
 * `send` returns false when the socket is not open, so callers can tell the user. `token()` gives the gateway
 * token to offer, if any.
 */
export function createConnection({
  url,
  token = () => '',
  pingIntervalMs = 20_000,
  minDelayMs = 500,
  maxDelayMs = 8_000,
}) {
  const emitter = createEmitter();
  let socket = null;
  let opened = false;
  let failedOpens = 0;
  let attempt = 0;
  let retryTimer = 0;
  let pingTimer = 0;
  let lastHeardAt = 0;

  function status(state, extra = {}) {
    emitter.emit('status', { state, attempt, ...extra });
  }

  function connect() {
    clearTimeout(retryTimer);
    if (socket) return;
    status('connecting');
    const secret = token();
    let ws;
    try {
      // Browsers cannot send headers on a WebSocket: a gateway token travels as a subprotocol entry, never in the URL.
      ws = secret ? new WebSocket(url, [SUBPROTOCOL, `bearer.${secret}`]) : new WebSocket(url);
    } catch {
      // Only a token with characters a subprotocol cannot carry (spaces, commas, quotes) gets here.
      emitter.emit('bad-token');
      return;
    }
    socket = ws;
    opened = false;
    ws.addEventListener('open', () => {
      if (socket !== ws) return;
      opened = true;
      failedOpens = 0;
      lastHeardAt = performance.now();
      startPing();
      emitter.emit('open');
      status('open');
    });
    ws.addEventListener('message', (message) => {
      if (socket !== ws) return;
      lastHeardAt = performance.now();
      // A session is up: the next outage starts its backoff from the beginning again.
      attempt = 0;
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      emitter.emit('event', event);
    });
    ws.addEventListener('close', () => {
      if (socket === ws) lost();
    });
  }

  /** The socket is gone (closed by either side, or declared dead): schedule the next attempt. */
  function lost() {
    stopPing();
    const ws = socket;
    socket = null;
    if (ws && ws.readyState < WebSocket.CLOSING) ws.close(CLIENT_DEAD_LINK);
    if (!opened && ++failedOpens === 2) emitter.emit('refused');
    const base = Math.min(maxDelayMs, minDelayMs * 2 ** attempt);
    const retryInMs = Math.round(base * (0.8 + Math.random() * 0.4));
    attempt += 1;
    emitter.emit('lost');
    status('waiting', { retryInMs });
    retryTimer = setTimeout(connect, retryInMs);
  }

  function startPing() {
    stopPing();
    pingTimer = setInterval(() => {
      // Nothing heard for two ping rounds (not even a pong): the link is dead even if TCP has not noticed.
      if (performance.now() - lastHeardAt > pingIntervalMs * 2.5) {
        lost();
        return;
      }
      send({ type: 'ping' });
    }, pingIntervalMs);
  }

  function stopPing() {
    clearInterval(pingTimer);
  }

  function send(event) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(event));
    return true;
  }

  return {
    on: emitter.on,
    connect,
    send,
    /** Skips the backoff wait (the "Reconnect now" button, or the browser coming back online). */
    reconnectNow() {
      if (socket) return;
      attempt = 0;
      connect();
    },
    /** Drops the current socket and connects again at once (e.g. with a new token). */
    restart() {
      const ws = socket;
      socket = null;
      stopPing();
      if (ws?.readyState === WebSocket.CONNECTING) ws.addEventListener('open', () => ws.close(1000));
      else ws?.close(1000);
      if (ws) emitter.emit('lost');
      attempt = 0;
      failedOpens = 0;
      connect();
    },
    get isOpen() {
      return socket?.readyState === WebSocket.OPEN;
    },
  };
}
