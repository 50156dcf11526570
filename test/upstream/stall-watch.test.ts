// An answer's stall timer (src/upstream/stall-watch.ts): silence ends it after the stall period, comments alone
// after the pings-only period. Events keep both away, bytes only the first. It stops for good when cleared.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StallWatch, type StallKind } from '../../src/upstream/stall-watch.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A watch whose stalls are recorded with the time they fired, in ms since it started. */
function watch(stallMs: number, eventGapMs: number): { stall: StallWatch; fired: [StallKind, number][] } {
  const started = Date.now();
  const fired: [StallKind, number][] = [];
  const stall = new StallWatch(stallMs, eventGapMs, (kind) => fired.push([kind, Date.now() - started]));
  return { stall, fired };
}

describe('StallWatch', () => {
  it('ends a silent answer once the stall period passed since its last byte', () => {
    const { stall, fired } = watch(100, 1_000);
    vi.advanceTimersByTime(60);
    stall.byte();
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([['silent', 160]]);
    vi.advanceTimersByTime(5_000);
    expect(fired).toHaveLength(1);
  });

  it('ends an answer that only pings once the pings-only period passed since its last event', () => {
    const { stall, fired } = watch(100, 400);
    for (let t = 0; t < 390; t += 30) {
      vi.advanceTimersByTime(30);
      stall.byte(); // a `: ping`
    }
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual([['pings-only', 400]]);
    vi.advanceTimersByTime(5_000);
    expect(fired).toHaveLength(1);
  });

  it('keeps an answer whose events keep coming between the pings', () => {
    const { stall, fired } = watch(100, 400);
    for (let t = 1; t <= 100; t += 1) {
      vi.advanceTimersByTime(30);
      stall.byte();
      if (t % 10 === 0) stall.event(); // an event every 300 ms, pings in between
    }
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([['silent', 3_100]]);
  });

  it("dates an event by the bytes it came in, so the pings-only period counts from that chunk's arrival", () => {
    const { stall, fired } = watch(1_000, 400);
    vi.advanceTimersByTime(100);
    stall.byte();
    vi.advanceTimersByTime(50);
    stall.event(); // delivered late, from the chunk stamped at 100 (as a decoder's flush at the body's end)
    vi.advanceTimersByTime(349);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([['pings-only', 500]]);
  });

  it('fires nothing once cleared', () => {
    const { stall, fired } = watch(50, 80);
    stall.clear();
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
