// The upstream's idle timeout, for HTTP/2 too: a TCP relay in front of the simulator that closes a connection
// after `idleMs` without a byte either way, as a real API's load balancer does. The simulator closes idle
// HTTP/1.1 connections itself (Keep-Alive: timeout=5) but keeps an idle HTTP/2 connection open for ever, and so
// does undici, so without this an HTTP/2 gateway's start-up connection would carry every later turn. TLS stays
// end to end (the relay only copies bytes): the simulator still sees, counts and charges each connection.
import { connect, createServer, type Socket } from 'node:net';

export interface IdleProxy {
  readonly port: number;
  /** Connections relayed since the start. */
  readonly relayed: number;
  /** Connections this relay closed for idleness. */
  readonly closedIdle: number;
  close(): Promise<void>;
}

export async function startIdleProxy(target: { host: string; port: number }, idleMs: number): Promise<IdleProxy> {
  const sockets = new Set<Socket>();
  const counts = { relayed: 0, closedIdle: 0 };
  const server = createServer({ noDelay: true }, (client) => {
    counts.relayed += 1;
    const upstream = connect({ host: target.host, port: target.port, noDelay: true });
    const pair = [client, upstream];
    const end = (): void => pair.forEach((socket) => socket.destroy());
    for (const socket of pair) {
      sockets.add(socket);
      socket.on('error', end);
      socket.once('close', () => {
        sockets.delete(socket);
        end();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
    // Reads and writes on the client side both count as activity: any byte either way restarts the clock.
    client.setTimeout(idleMs, () => {
      counts.closedIdle += 1;
      end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    port,
    get relayed() {
      return counts.relayed;
    },
    get closedIdle() {
      return counts.closedIdle;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
