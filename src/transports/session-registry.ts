// Live sessions and their sockets, so the process can drain them on shutdown: refuse new work, let active
// responses finish up to a deadline, interrupt the rest (each still gets response.done), then close with 1001.
import type { WebSocket } from 'ws';
import type { Session } from '../session/session.js';
import { CLOSE_GOING_AWAY } from './close-codes.js';

export class SessionRegistry {
  private readonly sockets = new Map<Session, WebSocket>();
  private draining = false;

  get isDraining(): boolean {
    return this.draining;
  }

  get size(): number {
    return this.sockets.size;
  }

  add(session: Session, socket: WebSocket): void {
    this.sockets.set(session, socket);
  }

  remove(session: Session): void {
    this.sockets.delete(session);
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
