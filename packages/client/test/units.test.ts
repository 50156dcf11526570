// The client's pure parts: heardChars counting, the reconnect backoff, the buffered async sequences replies are
// read through, and the settings applied again in a new session.
import { describe, expect, it } from 'vitest';
import { backoffFrom, delayFor } from '../src/backoff.js';
import { Channel } from '../src/channel.js';
import { countHeardChars, HeardTracker, type ServerEvent, type SessionSettings } from '../src/index.js';
import { SettingsBook } from '../src/updates.js';

describe('heardChars', () => {
  it('sums the fully spoken segments and the spoken part of the current one', () => {
    expect(countHeardChars(['Hello there.', 'This is'])).toBe(19);
    expect(countHeardChars([{ index: 0, text: 'Hello there.' }], { text: 'This is great.', spokenChars: 4 })).toBe(16);
    expect(countHeardChars([], { text: 'Short.', spokenChars: 99 })).toBe(6);
    expect(countHeardChars([], { text: 'Short.', spokenChars: -3 })).toBe(0);
  });

  it('tracks a speaker: each segment counted once, progress clamped, a finished segment replacing its progress', () => {
    const heard = new HeardTracker();
    expect(heard.used).toBe(false);
    const first = { index: 0, text: 'Hello there.' };
    const second = { index: 1, text: 'This is great.' };
    heard.speaking(first, 5);
    expect(heard.chars).toBe(5);
    heard.spoken(first);
    heard.spoken(first);
    expect(heard.chars).toBe(12);
    heard.speaking(second, 100);
    expect(heard.chars).toBe(12 + second.text.length);
    heard.speaking(second, 4.7);
    expect(heard.chars).toBe(16);
    heard.speaking(first, 1); // already spoken in full: ignored
    expect(heard.chars).toBe(16);
    expect(heard.used).toBe(true);
  });
});

describe('reconnect backoff', () => {
  it('doubles from the minimum up to the cap, with 50–100 % jitter', () => {
    const backoff = backoffFrom({ minDelayMs: 100, maxDelayMs: 1_000 });
    expect([0, 1, 2, 3, 4, 10].map((attempt) => delayFor(backoff, attempt, () => 1))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(delayFor(backoff, 2, () => 0)).toBe(200);
    expect(backoffFrom().maxAttempts).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('Channel', () => {
  it('lets each iteration start from the first item, and ends every reader', async () => {
    const channel = new Channel<number>();
    channel.push(1);
    const reader = (async () => {
      const seen: number[] = [];
      for await (const n of channel) seen.push(n);
      return seen;
    })();
    channel.push(2);
    channel.end();
    channel.push(3); // after the end: dropped
    expect(await reader).toEqual([1, 2]);
    const again: number[] = [];
    for await (const n of channel) again.push(n);
    expect(again).toEqual([1, 2]);
  });

  it('yields what it has, then throws the failure', async () => {
    const channel = new Channel<string>();
    channel.push('a');
    channel.fail(new Error('lost'));
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const s of channel) seen.push(s);
      })(),
    ).rejects.toThrow('lost');
    expect(seen).toEqual(['a']);
  });
});

describe('SettingsBook', () => {
  it('applies turnDetection again as the gateway merged it, field by field', async () => {
    const book = new SettingsBook();
    const settings = { turnDetection: { speculate: false, serverCommit: { stableMs: 600 } } } as SessionSettings;
    const updated = { type: 'session.updated', seq: 2, ...settings } as ServerEvent;
    const first = book.add(
      { type: 'session.update', eventId: 'u1', turnDetection: { speculate: false } },
      {
        turnDetection: { speculate: false },
      },
      undefined,
      1,
    );
    const second = book.add(
      { type: 'session.update', eventId: 'u2', turnDetection: { serverCommit: { stableMs: 600 } } },
      { turnDetection: { serverCommit: { stableMs: 600 } }, temperature: 0.2 },
      undefined,
      2,
    );
    expect(book.handle(updated) && book.handle(updated)).toBe(true);
    await Promise.all([first, second]);
    expect(book.restoreFrame('restore-1', () => undefined)).toEqual({
      type: 'session.update',
      eventId: 'restore-1',
      turnDetection: { speculate: false, serverCommit: { stableMs: 600 } },
      temperature: 0.2,
    });
  });
});
