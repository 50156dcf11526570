// The recent peak of a count (concurrent upstream requests), for the connection warmer's spare connections.

/** The highest value noted in the current and the previous window: a peak that decays within two windows. */
export class DecayingPeak {
  private current = 0;
  private previous = 0;
  private since = Date.now();

  constructor(private readonly windowMs: number) {}

  note(value: number): void {
    this.rotate();
    this.current = Math.max(this.current, value);
  }

  value(): number {
    this.rotate();
    return Math.max(this.current, this.previous);
  }

  private rotate(): void {
    const elapsed = Date.now() - this.since;
    if (elapsed < this.windowMs) return;
    this.previous = elapsed < 2 * this.windowMs ? this.current : 0;
    this.current = 0;
    this.since = Date.now();
  }
}
