// `bench:hot-path --evict-kb N`: between two upstream chunks the in-process bench writes over N KiB of its own,
// one word per 64-byte cache line, so that each chunk finds the relays' objects as far from the CPU as a real
// relay does. There, a socket read, the kernel's TCP work and a thousand other sessions run between two deltas of
// one session and push its objects out of the core's caches. With every cache warm, the bench prices the instructions
// and the garbage, and misses what the cold caches add (docs/benchmarks/analysis.md, the eighth pass).
// Written by hand: it is a dozen lines, and no library does this.

const LINE_WORDS = 16; // 64 bytes of Int32

export class CacheEvictor {
  private readonly words: Int32Array;
  /** A running sum of what is read: each line is read and then written, as a relay's objects are. */
  private sum = 0;

  constructor(readonly kib: number) {
    this.words = new Int32Array((kib * 1024) / 4);
  }

  /** Touches every cache line of the buffer once (a write, so each line is owned again). */
  evict(): void {
    const words = this.words;
    let sum = this.sum;
    for (let i = 0; i < words.length; i += LINE_WORDS) sum += words[i]! += 1;
    this.sum = sum;
  }

  /** CPU microseconds one evict() takes on its own, the fastest of a few batches: what each figure is net of. */
  costAlone(): number {
    const batch = Math.max(20, Math.ceil(20_000 / Math.max(1, this.kib)));
    let best = Infinity;
    for (let round = 0; round < 5; round += 1) {
      const before = process.cpuUsage();
      for (let i = 0; i < batch; i += 1) this.evict();
      const used = process.cpuUsage(before);
      best = Math.min(best, (used.user + used.system) / batch);
    }
    return best;
  }
}
