// The per-token idle timeout (src/idle-timer.ts): touched on every token without a timer call, yet it fires at
// the moment a refreshed Node timer would, starts again at a touch after firing, stops for good when cleared,
// and keeps to the monotonic clock when the wall clock is stepped.
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
    vi.advanceTimersByTime(1_000);
    expect(fired).toHaveLength(1);
  });

  it('starts again at a touch after it fired', () => {
    let fired = 0;
    const idle = new IdleTimer(50, () => (fired += 1));
    idle.touch();
    vi.advanceTimersByTime(50);
    expect(fired).toBe(1);
    idle.touch();
    vi.advanceTimersByTime(49);
    expect(fired).toBe(1);
    vi.advanceTimersByTime(1);
    expect(fired).toBe(2);
  });

  it('stops for good when cleared: a later touch arms nothing that could fire or hold the process', () => {
    let fired = 0;
    const idle = new IdleTimer(50, () => (fired += 1));
    idle.touch();
    vi.advanceTimersByTime(20);
    idle.clear();
    idle.touch();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(500);
    expect(fired).toBe(0);
  });

  it('ignores the wall clock: a step forward does not fire it early, a step back does not delay it', () => {
    let fired = 0;
    const idle = new IdleTimer(100, () => (fired += 1));
    idle.touch();
    vi.advanceTimersByTime(60);
    idle.touch(); // due at 160 now
    vi.advanceTimersByTime(10);
    vi.setSystemTime(Date.now() + 3_600_000); // NTP or a VM resume steps the wall clock an hour ahead
    vi.advanceTimersByTime(89); // 159: past the first arming (100), which must re-arm rather than fire
    expect(fired).toBe(0);
    vi.setSystemTime(Date.now() - 7_200_000); // and two hours back
    vi.advanceTimersByTime(1);
    expect(fired).toBe(1);
  });
});
