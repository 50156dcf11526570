// The simulator's connections: an id for each, whether a request is the first one on its connection, how many
// are open (and were at most), and the connection cost: a new connection's responses wait until `costMs` after
// it opened, as the handshake round trips of a real API make them wait, so warm-up is measured, not assumed.
import type { Server, Socket } from 'node:net';

const CONNECTION = Symbol('simulator connection');

interface ConnectionRecord {
  readonly id: number;
  /** performance.now() from which the connection answers without delay. */
  readonly readyAt: number;
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

/** Where a request arrived: its connection's id (1, 2…; 0 if unknown), whether it is the first there, the wait owed. */
export interface RequestConnection {
  id: number;
  newConnection: boolean;
  delayMs: number;
}

type Tagged = Record<typeof CONNECTION, ConnectionRecord | undefined>;

export class ConnectionTracker {
  private nextId = 1;
  private readonly counts: ConnectionStats = { opened: 0, open: 0, peak: 0, requests: 0 };

  constructor(private readonly costMs: number) {}

  /** Counts the server's connections: TLS ones once their handshake completed, plain ones when accepted. */
  watch(server: Server, tls: boolean): void {
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      const record: ConnectionRecord = { id: this.nextId++, readyAt: performance.now() + this.costMs, requests: 0 };
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
    if (record === undefined) return { id: 0, newConnection: true, delayMs: 0 };
    record.requests += 1;
    return {
      id: record.id,
      newConnection: record.requests === 1,
      delayMs: Math.max(0, Math.ceil(record.readyAt - performance.now())),
    };
  }

  stats(): ConnectionStats {
    return { ...this.counts };
  }
}
