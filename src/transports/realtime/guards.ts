// The Realtime transport's per-connection response budget (responses per minute, reported to clients in
// rate_limits.updated). Idle timeout and heartbeats are shared with /v1/voice (../connection-guards.ts).

import type { RateWindow } from '../rate-limiter.js';

/** A sliding one-window budget (responses per minute for one connection) that can say what is left of it. */
export class RequestWindow implements RateWindow {
  private readonly times: number[] = [];

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** 0 when one more request fits now, otherwise the milliseconds until it does. Records nothing. */
  waitMs(): number {
    const now = this.prune();
    if (this.times.length >= this.limit) return Math.max(1, (this.times[0] ?? now) + this.windowMs - now);
    return 0;
  }

  record(): () => void {
    const at = this.now();
    this.times.push(at);
    return () => {
      const index = this.times.lastIndexOf(at);
      if (index >= 0) this.times.splice(index, 1);
    };
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
