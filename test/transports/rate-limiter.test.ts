// Sliding-window limits on their own, with a clock the test moves: what is allowed, when the next event fits,
// taking a record back, several windows at once, and idle keys forgotten.
import { describe, expect, it } from 'vitest';
import { SlidingWindowLimiter, takeAll, waitForAll, windowOf } from '../../src/transports/rate-limiter.js';

function limiter(limit: number, windowMs = 1_000) {
  const clock = { now: 10_000 };
  return { clock, limiter: new SlidingWindowLimiter(limit, windowMs, () => clock.now) };
}

describe('SlidingWindowLimiter', () => {
  it('allows `limit` events a window, then says when the oldest leaves it, to the millisecond', () => {
    const { clock, limiter: l } = limiter(2);
    l.record('a');
    clock.now += 300;
    expect(l.waitMs('a')).toBe(0);
    l.record('a');
    expect(l.waitMs('a')).toBe(700);
    clock.now += 699;
    expect(l.waitMs('a')).toBe(1);
    clock.now += 1; // exactly a window after the first event: it has left
    expect(l.waitMs('a')).toBe(0);
    expect(l.waitMs('b')).toBe(0);
  });

  it('keeps only events inside the window, however many went before', () => {
    const { clock, limiter: l } = limiter(3);
    for (let i = 0; i < 3; i += 1) l.record('a');
    clock.now += 1_000;
    l.record('a');
    l.record('a');
    expect(l.waitMs('a')).toBe(0);
    l.record('a');
    expect(l.waitMs('a')).toBe(1_000);
  });

  it('takes back exactly the record an undo names', () => {
    const { clock, limiter: l } = limiter(2);
    const first = l.record('a');
    clock.now += 500;
    l.record('a');
    first();
    expect(l.waitMs('a')).toBe(0);
    l.record('a');
    // The oldest left is the one at +500: it leaves the window 1,000 ms after it was recorded.
    expect(l.waitMs('a')).toBe(1_000);
    first(); // a second undo of the same record finds nothing to take
    expect(l.waitMs('a')).toBe(1_000);
  });

  it('forgets keys that had no event for a window', () => {
    const { clock, limiter: l } = limiter(5);
    l.record('gone');
    l.record('kept');
    clock.now += 600;
    l.record('kept');
    expect(l.keyCount).toBe(2);
    clock.now += 400; // 'gone' is a window old; 'kept' had an event 400 ms ago
    l.waitMs('x');
    expect(l.keyCount).toBe(1);
    expect(l.waitMs('kept')).toBe(0);
    clock.now += 1_000;
    l.waitMs('x');
    expect(l.keyCount).toBe(0);
  });
});

describe('several windows at once', () => {
  it('records in all or none, and waits for the slowest', () => {
    const { clock, limiter: perSession } = limiter(1);
    const perToken = new SlidingWindowLimiter(10, 5_000, () => clock.now);
    const windows = [windowOf(perSession, 's'), windowOf(perToken, 't')];
    expect(takeAll(windows)).toBe(0);
    expect(waitForAll(windows)).toBe(1_000);
    expect(takeAll(windows)).toBe(1_000);
    // The refused event was recorded nowhere: the token window still has 9 left.
    for (let i = 0; i < 9; i += 1) expect(takeAll([windowOf(perToken, 't')])).toBe(0);
    expect(waitForAll([windowOf(perToken, 't')])).toBe(5_000);
    expect(waitForAll([])).toBe(0);
  });
});
