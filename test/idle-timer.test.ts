// The per-token idle timeout (src/idle-timer.ts): touched on every token without a timer call, yet it fires at
// the moment a refreshed Node timer would, stops when cleared, starts again after firing, and survives a clock
// set back without waiting hours.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleTimer } from '../src/idle-timer.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('IdleTimer', () => {
  it('fires once the quiet period has passed since the last touch, as refresh() would', () => {
    const fired: number[] = [];
    const idle = new IdleTimer(100, () => fired.push(Date.now()));
    const refreshed: number[] = [];
    const reference = setTimeout(() => refreshed.push(Date.now()), 100);
    idle.touch();
    for (const step of [30, 30, 30]) {
      vi.advanceTimersByTime(step);
      idle.touch();
      reference.refresh();
    }
    vi.advanceTimersByTime(99);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual([1_000_190]);
    expect(fired).toEqual(refreshed);
    expect(idle.running).toBe(false);
    vi.advanceTimersByTime(1_000);
    expect(fired).toHaveLength(1);
  });

  it('stops when cleared, and starts again at the next touch', () => {
    let fired = 0;
    const idle = new IdleTimer(50, () => (fired += 1));
    idle.touch();
    idle.clear();
    vi.advanceTimersByTime(500);
    expect(fired).toBe(0);
    idle.touch();
    vi.advanceTimersByTime(50);
    expect(fired).toBe(1);
    idle.touch(); // after firing, a touch starts it again
    vi.advanceTimersByTime(50);
    expect(fired).toBe(2);
  });

  it('treats a clock set back as activity: it fires at most the quiet period late', () => {
    let fired = 0;
    const idle = new IdleTimer(100, () => (fired += 1));
    idle.touch();
    vi.advanceTimersByTime(60);
    vi.setSystemTime(Date.now() - 3_600_000); // the wall clock goes back an hour
    vi.advanceTimersByTime(40); // the timer comes due and sees negative quiet time
    expect(fired).toBe(0);
    vi.advanceTimersByTime(100);
    expect(fired).toBe(1);
  });
});
