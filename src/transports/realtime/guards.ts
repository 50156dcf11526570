// Per-connection limits of the Realtime transport, the same ones /v1/voice applies: idle timeout, ws-level
// heartbeats, and responses per minute (reported to clients in rate_limits.updated).
import type { WebSocket } from 'ws';

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

/** A sliding one-window budget (responses per minute for one connection) that can say what is left of it. */
export class RequestWindow {
  private readonly times: number[] = [];

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Records a request if within the limit: 0, or the milliseconds until one is allowed. */
  take(): number {
    const now = this.prune();
    if (this.times.length >= this.limit) return Math.max(1, (this.times[0] ?? now) + this.windowMs - now);
    this.times.push(now);
    return 0;
  }

  get remaining(): number {
    this.prune();
    return Math.max(0, this.limit - this.times.length);
  }

  /** Seconds until the oldest request leaves the window (0 when none is in it). */
  get resetSeconds(): number {
    const now = this.prune();
    const oldest = this.times[0];
    return oldest === undefined ? 0 : Math.max(0, (oldest + this.windowMs - now) / 1000);
  }

  private prune(): number {
    const now = this.now();
    while (this.times.length > 0 && (this.times[0] ?? 0) <= now - this.windowMs) this.times.shift();
    return now;
  }
}
