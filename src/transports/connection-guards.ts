// Per-connection guards shared by every WebSocket transport (/v1/voice, /v1/realtime): the idle timeout,
// ws-level heartbeats, a polite close that cannot hang, and frame data as one Buffer.
import type { RawData, WebSocket } from 'ws';

/** Fires after `timeoutMs` without client frames, unless a response is still running (then it waits again). */
export class IdleTimer {
  private readonly timer: NodeJS.Timeout;

  constructor(
    timeoutMs: number,
    private readonly busy: () => boolean,
    private readonly onIdle: () => void,
  ) {
    this.timer = setTimeout(() => this.fire(), timeoutMs);
    this.timer.unref();
  }

  touch(): void {
    this.timer.refresh();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private fire(): void {
    if (this.busy()) {
      this.timer.refresh();
      return;
    }
    this.onIdle();
  }
}

/** ws-level pings: a peer that has not answered the previous ping by the next one is dead. */
export function startHeartbeat(socket: WebSocket, intervalMs: number, onDead: () => void): NodeJS.Timeout {
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) {
      clearInterval(timer);
      onDead();
      return;
    }
    alive = false;
    socket.ping();
  }, intervalMs);
  timer.unref();
  return timer;
}

/** Closes politely, and cuts the socket if the peer does not finish the close handshake (it may not be reading). */
export function closeOrTerminate(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), 2_000).unref();
}

/** ws hands a message over as a Buffer, an ArrayBuffer or fragments; the parsers want one Buffer. */
export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Runs the handling of one client frame. A throw (a bug, or input nothing anticipated) ends that frame only:
 * `onThrow` logs it with its stack and tells the client (GW_INTERNAL). Nothing a frame does may reach ws's
 * 'message' emitter, where an exception would be uncaught and take every other session down with the process.
 */
export function guardFrame(handle: () => void, onThrow: (err: unknown) => void): void {
  try {
    handle();
  } catch (err) {
    try {
      onThrow(err);
    } catch {
      // Reporting failed as well (the same bug on the error path): the frame is dropped, the process lives on.
    }
  }
}
