// Liveness for one socket: an application `ping` every interval (browsers cannot send WebSocket pings), and a
// dead-link verdict when nothing at all was heard for two and a half intervals, even if TCP has not noticed.
import { timers } from './socket.js';

export class Heartbeat {
  private handle: unknown = null;
  private lastHeard = 0;

  constructor(
    private readonly intervalMs: number,
    private readonly ping: () => void,
    private readonly dead: () => void,
  ) {}

  start(): void {
    this.stop();
    if (this.intervalMs <= 0) return;
    this.lastHeard = Date.now();
    this.handle = timers.setInterval(() => {
      if (Date.now() - this.lastHeard > this.intervalMs * 2.5) {
        this.stop();
        this.dead();
        return;
      }
      this.ping();
    }, this.intervalMs);
  }

  /** Anything arrived from the server. */
  heard(): void {
    this.lastHeard = Date.now();
  }

  stop(): void {
    if (this.handle !== null) timers.clearInterval(this.handle);
    this.handle = null;
  }
}
