// The simulator's connections: an id for each, whether a request is the first one on its connection, how many
// are open (and were at most), and the connection cost: each accepted connection is held for `costMs` before the
// server starts its TLS handshake (or reads it), as a real API's handshake round trips come before a client can
// use the connection, so warm-up is measured, not assumed. A client sees the connection open only once it paid.
import type { Server, Socket } from 'node:net';

const CONNECTION = Symbol('simulator connection');

interface ConnectionRecord {
  readonly id: number;
  /** When the client asked for it (the TCP accept), ms since the epoch with fractions (comparable across processes). */
  readonly requestedAt: number;
  requests: number;
}

export interface ConnectionStats {
  /** Connections accepted since the start (TLS: handshakes completed). */
  opened: number;
  /** Open now. */
  open: number;
  /** The most open at once. */
  peak: number;
  /** Requests of any kind (chat, models, health) over all connections. */
  requests: number;
}

/**
 * Where a request arrived: its connection's id (1, 2…; 0 if unknown), whether it is the first there, and when the
 * client asked for that connection (epoch ms; null if unknown).
 */
export interface RequestConnection {
  id: number;
  newConnection: boolean;
  requestedAt: number | null;
}

const epochNow = (): number => performance.timeOrigin + performance.now();

type Tagged = Record<typeof CONNECTION, ConnectionRecord | undefined>;

export class ConnectionTracker {
  private nextId = 1;
  private readonly counts: ConnectionStats = { opened: 0, open: 0, peak: 0, requests: 0 };

  constructor(private readonly costMs: number) {}

  /**
   * Counts the server's connections (TLS ones once their handshake completed, plain ones when accepted) and, with a
   * cost, holds each accepted connection for it before the server's own handling starts (the server must have been
   * created with `pauseOnConnect`, so nothing is read meanwhile).
   */
  watch(server: Server, tls: boolean): void {
    if (this.costMs > 0) holdNewConnections(server, this.costMs);
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      // A held connection was asked for `costMs` before its handshake could end.
      const requestedAt = epochNow() - (tls ? this.costMs : 0);
      const record: ConnectionRecord = { id: this.nextId++, requestedAt, requests: 0 };
      (socket as unknown as Tagged)[CONNECTION] = record;
      this.counts.opened += 1;
      this.counts.open += 1;
      this.counts.peak = Math.max(this.counts.peak, this.counts.open);
      socket.once('close', () => (this.counts.open -= 1));
    });
  }

  /**
   * A request arrived on `req.socket` (over HTTP/2 a proxy whose properties are its session's socket's): one
   * more request on that connection.
   */
  arrive(req: { readonly socket: unknown }): RequestConnection {
    let record: ConnectionRecord | undefined;
    try {
      record = (req.socket as Tagged | null)?.[CONNECTION];
    } catch {
      record = undefined; // an HTTP/2 stream already gone has no socket
    }
    this.counts.requests += 1;
    if (record === undefined) return { id: 0, newConnection: true, requestedAt: null };
    record.requests += 1;
    return { id: record.id, newConnection: record.requests === 1, requestedAt: record.requestedAt };
  }

  stats(): ConnectionStats {
    return { ...this.counts };
  }
}

/**
 * Runs the server's own connection handling (the TLS handshake, the HTTP parser) `costMs` after each accept, on a
 * socket that has read nothing yet (pauseOnConnect): the client's handshake waits, as it would for round trips.
 */
function holdNewConnections(server: Server, costMs: number): void {
  const own = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const timer = setTimeout(() => {
      if (socket.destroyed) return;
      for (const listener of own) listener.call(server, socket);
    }, costMs);
    socket.once('close', () => clearTimeout(timer));
  });
}
