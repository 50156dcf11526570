// The stall timer of one answer, from its first data line. It ends the answer after one of two quiet periods:
// - 'silent': no byte at all for `stallMs`. The connection or the server has hung.
// - 'pings-only': bytes, but no event for `eventGapMs`, counted from the answer's latest event (text, reasoning,
//   a tool call or a finish). Servers send SSE comments (`: ping`) while a model thinks, so a comment counts as
//   life for the first period; so do data lines that say nothing (`data: {}`, an unreadable line, a ping event of
//   another API's shape). Without the second period, an answer that only pinged once it had started would hold
//   its turn and an upstream slot until the user spoke again. Before the first event the first-token timer
//   bounds the wait, so this period starts with the first event.
// As in idle-timer.ts, a touch only stamps a time and one Node timer is armed at a time: both touches run once
// per token per session.

export type StallKind = 'silent' | 'pings-only';

export class StallWatch {
  private readonly eventGapMs: number;
  private lastByte: number;
  private lastEvent = 0;
  private sawEvent = false;
  private timer: NodeJS.Timeout | undefined;

  /** `eventGapMs` is never shorter than `stallMs`: a comment is life, so pings alone may last at least as long. */
  constructor(
    private readonly stallMs: number,
    eventGapMs: number,
    private readonly onStall: (kind: StallKind, quietMs: number) => void,
  ) {
    this.eventGapMs = Math.max(eventGapMs, stallMs);
    this.lastByte = performance.now();
    this.arm(stallMs);
  }

  /** Body bytes arrived: comments, partial lines and data lines alike. */
  byte(): void {
    this.lastByte = performance.now();
  }

  /** An event arrived. It came in the bytes `byte()` stamped last, so it needs no clock read of its own. */
  event(): void {
    this.lastEvent = this.lastByte;
    this.sawEvent = true;
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
    if (silentLeft <= 0) return this.onStall('silent', this.stallMs);
    if (!this.sawEvent) return this.arm(silentLeft);
    const pingsLeft = this.eventGapMs - (now - this.lastEvent);
    if (pingsLeft <= 0) return this.onStall('pings-only', this.eventGapMs);
    this.arm(Math.min(silentLeft, pingsLeft));
  };
}
