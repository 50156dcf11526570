// How many client frames one connection may send per second (FRAMES_PER_SECOND), checked before a frame is
// parsed. A flood of cheap frames (pings, malformed JSON) would otherwise cost CPU every other session needs
// and make this connection's replies pile up; past the budget frames are dropped, and the client is told so
// at most once a second, so a flood never turns into a flood of replies.
import { GatewayError } from '../errors.js';

export type FrameVerdict = 'handle' | 'drop' | 'drop_and_notify';

/** A token bucket: bursts of up to `perSecond` frames, refilled at `perSecond` frames a second. */
export class FrameBudget {
  private tokens: number;
  private refilledAt: number;
  private lastNoticeAt = Number.NEGATIVE_INFINITY;
  /** Frames dropped since the client was last told. */
  private droppedSinceNotice = 0;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond;
    this.refilledAt = now();
  }

  take(): FrameVerdict {
    const now = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.refilledAt) * this.perSecond) / 1000);
    this.refilledAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'handle';
    }
    this.droppedSinceNotice += 1;
    if (now - this.lastNoticeAt < 1000) return 'drop';
    this.lastNoticeAt = now;
    return 'drop_and_notify';
  }

  /** The frames dropped since the last notice, counting the one being reported; resets the count. */
  takeDroppedCount(): number {
    const count = this.droppedSinceNotice;
    this.droppedSinceNotice = 0;
    return count;
  }

  /** Milliseconds until one more frame fits: a Retry-After for the client. */
  get retryAfterMs(): number {
    return Math.ceil(Math.max(0, 1 - this.tokens) * (1000 / this.perSecond));
  }

  /** The client-facing message of a drop notice. */
  describeDrop(): string {
    return `Too many frames: at most ${this.perSecond} a second; ${this.takeDroppedCount()} frame(s) were dropped unhandled.`;
  }

  /** The typed notice of a 'drop_and_notify' verdict, the same on every endpoint. */
  dropNotice(): GatewayError {
    return new GatewayError('GW_RATE_LIMITED', { message: this.describeDrop(), retryAfterMs: this.retryAfterMs });
  }
}
