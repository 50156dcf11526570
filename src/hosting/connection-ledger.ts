// Every connection to the gateway, whatever its endpoint: how many are open, what each client address and token
// holds (sessions and responses in progress, for the per-client limits), and the graceful drain on shutdown.
// Resumable hosting (session-registry.ts) is built on it; /v1/realtime, which offers no resume, uses it alone.
import type { WebSocket } from 'ws';
import type { GatewayObserver } from '../metrics.js';
import type { Session } from '../session/session.js';
import { ClientCounts, type ClientKeys } from './client-counts.js';
import { CLOSE_GOING_AWAY } from './close-codes.js';

/** One session as the ledger sees it: its socket (while connected) and whom it counts against. */
export interface LedgerEntry {
  readonly session: Session;
  socket: WebSocket | null;
  ip: string;
  /** The gateway token of the connection it was last attached to (its short id), or null. */
  tokenId: string | null;
  /** The address this session counts against while it is held here (connected or waiting), or null. */
  countedIp: string | null;
  /** Who each of its running responses was counted against when it started, oldest first. */
  readonly responseKeys: ClientKeys[];
}

/** A fresh, unconnected ledger entry for `session`. */
export function ledgerEntry(session: Session): LedgerEntry {
  return { session, socket: null, ip: '', tokenId: null, countedIp: null, responseKeys: [] };
}

export class ConnectionLedger {
  /** Sessions and running responses per address and per token. */
  readonly clients = new ClientCounts();
  private readonly connected = new Set<LedgerEntry>();
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  /** Open connections (what MAX_CONNECTIONS counts). */
  get total(): number {
    return this.connected.size;
  }

  /**
   * Sessions of one client address, for MAX_CONNECTIONS_PER_IP: connected ones and dropped ones waiting to be
   * resumed (their responses keep running, so dropping and reconnecting must not escape the limit).
   */
  forIp(ip: string): number {
    return this.clients.sessionsOf(ip);
  }

  /** `entry` is now spoken for by `socket`, on behalf of `client`. */
  connect(entry: LedgerEntry, socket: WebSocket, client: ClientKeys): void {
    entry.socket = socket;
    entry.ip = client.ip;
    entry.tokenId = client.tokenId;
    this.connected.add(entry);
    this.countAgainst(entry, client.ip);
  }

  /** The socket is gone; the session still counts against its address until `release`. */
  disconnect(entry: LedgerEntry): void {
    entry.socket = null;
    this.connected.delete(entry);
  }

  /** The session is gone from here: it no longer counts against anyone. */
  release(entry: LedgerEntry): void {
    this.disconnect(entry);
    this.countAgainst(entry, null);
  }

  /** `base` (the metrics), plus the per-address and per-token response counts of the session `entryOf` names. */
  observe(base: GatewayObserver, entryOf: () => LedgerEntry | undefined): GatewayObserver {
    return {
      responseStarted: () => {
        base.responseStarted();
        const entry = entryOf();
        if (entry === undefined) return;
        const keys = { ip: entry.ip, tokenId: entry.tokenId };
        entry.responseKeys.push(keys);
        this.clients.responseStarted(keys);
      },
      responseSettled: (summary) => {
        // The client's count first: a metric that throws must not hold a slot of the address's limit forever.
        const keys = entryOf()?.responseKeys.shift();
        if (keys !== undefined) this.clients.responseSettled(keys);
        base.responseSettled(summary);
      },
    };
  }

  /**
   * The first half of a graceful drain: no new work, then responses (of connected sessions and of `waiting`,
   * sessions held without a socket) get `graceMs` to finish, and the rest are interrupted (each still gets its
   * response.done, which ws flushes before the close frame). `closeAll` is the second half.
   */
  async quiesce(graceMs: number, waiting: readonly Session[] = []): Promise<void> {
    this.draining = true;
    const sessions = [...[...this.connected].map((entry) => entry.session), ...waiting];
    for (const session of sessions) session.startDraining();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(sessions.map((session) => session.whenIdle())), deadline]);
    clearTimeout(timer);
    for (const session of sessions) session.interruptActive('drain');
  }

  /** Closes every open socket with 1001; resolves once they are closed. */
  async closeAll(): Promise<void> {
    await Promise.all(
      [...this.connected].flatMap((entry) => (entry.socket === null ? [] : [closeSocket(entry.socket)])),
    );
  }

  /** Graceful drain of connections that hold nothing else (see quiesce and closeAll). */
  async drain(graceMs: number): Promise<void> {
    await this.quiesce(graceMs);
    await this.closeAll();
  }

  /** The session counts against `ip` (and no longer against the address it had, if it moved). */
  private countAgainst(entry: LedgerEntry, ip: string | null): void {
    if (entry.countedIp === ip) return;
    if (entry.countedIp !== null) this.clients.sessionRemoved(entry.countedIp);
    if (ip !== null) this.clients.sessionAdded(ip);
    entry.countedIp = ip;
  }
}

function closeSocket(socket: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState === socket.CLOSED) return resolve();
    socket.once('close', () => resolve());
    socket.close(CLOSE_GOING_AWAY, 'server is shutting down');
    // A peer that never answers the close handshake must not hold shutdown hostage.
    setTimeout(() => {
      socket.terminate();
      resolve();
    }, 2_000).unref();
  });
}
