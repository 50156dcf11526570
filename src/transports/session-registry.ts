// Live sessions and their sockets, so the process can drain them on shutdown: refuse new work, let active
// responses finish up to a deadline, interrupt the rest (each still gets response.done), then close with 1001.
import type { WebSocket } from 'ws';
import type { Session } from '../session/session.js';
import { CLOSE_GOING_AWAY } from './close-codes.js';

export class SessionRegistry {
  private readonly sockets = new Map<Session, WebSocket>();
  private readonly addresses = new Map<Session, string>();
  private readonly perIp = new Map<string, number>();
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Open connections from one client address (for MAX_CONNECTIONS_PER_IP). */
  forIp(ip: string): number {
    return this.perIp.get(ip) ?? 0;
  }

  get total(): number {
    return this.sockets.size;
  }

  add(session: Session, socket: WebSocket, ip: string): void {
    this.sockets.set(session, socket);
    this.addresses.set(session, ip);
    this.perIp.set(ip, this.forIp(ip) + 1);
  }

  remove(session: Session): void {
    if (!this.sockets.delete(session)) return;
    const ip = this.addresses.get(session) ?? '';
    this.addresses.delete(session);
    const left = this.forIp(ip) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
  }

  /**
   * Graceful drain. Resolves once every socket is closed. Responses still active after `graceMs` are
   * interrupted; ws flushes queued frames before the close frame, so each response.done is delivered.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    const sessions = [...this.sockets.keys()];
    for (const session of sessions) session.startDraining();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(sessions.map((s) => s.whenIdle())), deadline]);
    clearTimeout(timer);
    const closed: Promise<void>[] = [];
    for (const [session, socket] of this.sockets) {
      session.interruptActive();
      closed.push(closeSocket(socket));
    }
    await Promise.all(closed);
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
