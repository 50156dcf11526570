// An answer's stall timer (src/upstream/stall-watch.ts): silence ends it after the stall period, keep-alives alone
// after the pings-only period counted from its latest event. That period starts with the first event, is never
// shorter than the stall period, and the watch stops for good when cleared.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StallWatch, type StallKind } from '../../src/upstream/stall-watch.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A watch whose stalls are recorded with their quiet period and the time they fired, in ms since it started. */
function watch(stallMs: number, eventGapMs: number): { stall: StallWatch; fired: [StallKind, number, number][] } {
  const started = Date.now();
  const fired: [StallKind, number, number][] = [];
  const stall = new StallWatch(stallMs, eventGapMs, (kind, quietMs) =>
    fired.push([kind, quietMs, Date.now() - started]),
  );
  return { stall, fired };
}

/** `ms` of keep-alives, one every `every` ms. */
function pings(stall: StallWatch, ms: number, every = 30): void {
  for (let t = every; t <= ms; t += every) {
    vi.advanceTimersByTime(every);
    stall.byte();
  }
}

describe('StallWatch', () => {
  it('ends a silent answer once the stall period passed since its last byte', () => {
    const { stall, fired } = watch(100, 1_000);
    vi.advanceTimersByTime(60);
    stall.byte();
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([['silent', 100, 160]]);
    vi.advanceTimersByTime(5_000);
    expect(fired).toHaveLength(1);
  });

  it('ends an answer that only pings once the pings-only period passed since its last event', () => {
    const { stall, fired } = watch(100, 400);
    stall.event();
    pings(stall, 390);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual([['pings-only', 400, 400]]);
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
    expect(fired).toEqual([['silent', 100, 3_100]]);
  });

  it('does not count pings before the first event: the first-token timer bounds that wait', () => {
    const { stall, fired } = watch(100, 400);
    pings(stall, 3_000); // a role-only opening chunk, then a model that thinks and pings
    expect(fired).toEqual([]);
    stall.event();
    pings(stall, 390);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual([['pings-only', 400, 3_400]]);
  });

  it('never lets pings alone run out before silence would: the period is at least the stall period', () => {
    const { stall, fired } = watch(300, 100);
    stall.event();
    pings(stall, 270);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(30);
    expect(fired).toEqual([['pings-only', 300, 300]]);
    const quiet = watch(300, 100);
    quiet.stall.event();
    vi.advanceTimersByTime(300);
    expect(quiet.fired).toEqual([['silent', 300, 300]]);
  });

  it("dates an event by the bytes it came in, so the pings-only period counts from that chunk's arrival", () => {
    const { stall, fired } = watch(100, 400);
    pings(stall, 100, 10);
    vi.advanceTimersByTime(20);
    stall.event(); // delivered late, from the chunk stamped at 100 (as a decoder's flush at the body's end)
    pings(stall, 370, 10);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(10);
    expect(fired).toEqual([['pings-only', 400, 500]]);
  });

  it('fires nothing once cleared', () => {
    const { stall, fired } = watch(50, 80);
    stall.clear();
    vi.advanceTimersByTime(1_000);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
