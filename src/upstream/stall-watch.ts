// The stall timer of one answer, once it started. It ends the answer after one of two quiet periods:
// - 'silent': no byte at all for `stallMs`. The connection or the server has hung.
// - 'pings-only': bytes, but no data event, for `eventGapMs`. Servers send SSE comments (`: ping`) while a
//   model thinks, so a comment counts as life for the first period. An answer that only pings once it has
//   started would otherwise hold its turn and an upstream slot until the user speaks again.
// As in idle-timer.ts, a touch only stamps a time and one Node timer is armed at a time: both touches run once
// per token per session.

export type StallKind = 'silent' | 'pings-only';

export class StallWatch {
  private lastByte: number;
  private lastEvent: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stallMs: number,
    private readonly eventGapMs: number,
    private readonly onStall: (kind: StallKind) => void,
  ) {
    this.lastByte = this.lastEvent = performance.now();
    this.arm(Math.min(stallMs, eventGapMs));
  }

  /** Body bytes arrived: comments, partial lines and events alike. */
  byte(): void {
    this.lastByte = performance.now();
  }

  /** A data event arrived. It came in the bytes `byte()` stamped last, so it needs no clock read of its own. */
  event(): void {
    this.lastEvent = this.lastByte;
  }

  /** Stops it for good. */
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
  }

  private readonly check = (): void => {
    this.timer = undefined;
    const now = performance.now();
    const silentLeft = this.stallMs - (now - this.lastByte);
    if (silentLeft <= 0) return this.onStall('silent');
    const pingsLeft = this.eventGapMs - (now - this.lastEvent);
    if (pingsLeft <= 0) return this.onStall('pings-only');
    this.arm(Math.min(silentLeft, pingsLeft));
  };
}
