// The small pieces behind issue #14's fixes, on their own: the frame budget, the frame guard, all-or-nothing rate
// windows, the JSON depth scan, gap-free numbering when an event cannot be serialised, and origin checks.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import type { ServerEventBody } from '../../src/protocol.js';
import { EventLog } from '../../src/hosting/event-log.js';
import { originAllowed } from '../../src/transports/admission.js';
import { guardFrame } from '../../src/transports/connection-guards.js';
import { FrameBudget } from '../../src/transports/frame-budget.js';
import { exceedsJsonDepth } from '../../src/hosting/json-depth.js';
import { SlidingWindowLimiter, takeAll, windowOf } from '../../src/transports/rate-limiter.js';

describe('FrameBudget', () => {
  it('allows a burst of its size, then drops with one notice a second, and refills at its rate', () => {
    let now = 0;
    const budget = new FrameBudget(10, () => now);
    const verdicts = Array.from({ length: 15 }, () => budget.take());
    expect(verdicts.filter((v) => v === 'handle')).toHaveLength(10);
    expect(verdicts.slice(10)).toEqual(['drop_and_notify', 'drop', 'drop', 'drop', 'drop']);
    expect(budget.describeDrop()).toContain('5 frame(s) were dropped');
    expect(budget.retryAfterMs).toBe(100);
    now = 100; // one frame's worth refilled
    expect([budget.take(), budget.take()]).toEqual(['handle', 'drop']);
    now = 1_000; // a second after the last notice: the next drop is told again, with the one dropped silently
    let verdict = budget.take();
    while (verdict === 'handle') verdict = budget.take();
    expect(verdict).toBe('drop_and_notify');
    expect(budget.describeDrop()).toContain('2 frame(s)');
  });
});

describe('guardFrame', () => {
  it('hands a throw to onThrow and survives a throw from onThrow too', () => {
    const seen: unknown[] = [];
    guardFrame(
      () => {
        throw new Error('bug');
      },
      (err) => seen.push(err),
    );
    expect(seen).toHaveLength(1);
    expect(() =>
      guardFrame(
        () => {
          throw new Error('bug');
        },
        () => {
          throw new Error('bug on the error path');
        },
      ),
    ).not.toThrow();
  });
});

describe('takeAll', () => {
  it('records in every window or in none, and an undo takes a record back', () => {
    const perSession = new SlidingWindowLimiter(2, 60_000);
    const perToken = new SlidingWindowLimiter(3, 60_000);
    const windows = (session: string) => [windowOf(perSession, session), windowOf(perToken, 'tok')];
    expect(takeAll(windows('a'))).toBe(0);
    expect(takeAll(windows('a'))).toBe(0);
    for (let i = 0; i < 10; i += 1) expect(takeAll(windows('a'))).toBeGreaterThan(0);
    expect(takeAll(windows('b'))).toBe(0); // the token still had one turn left
    expect(takeAll(windows('c'))).toBeGreaterThan(0);
    const undo = windowOf(perSession, 'd').record();
    expect(perSession.waitMs('d')).toBe(0);
    windowOf(perSession, 'd').record();
    expect(perSession.waitMs('d')).toBeGreaterThan(0);
    undo();
    expect(perSession.waitMs('d')).toBe(0);
  });
});

describe('exceedsJsonDepth', () => {
  const deep = (n: number) => Buffer.from(`${'['.repeat(n)}${']'.repeat(n)}`);
  it('counts objects and arrays, not brackets inside strings or escaped quotes', () => {
    expect(exceedsJsonDepth(deep(64), 64)).toBe(false);
    expect(exceedsJsonDepth(deep(65), 64)).toBe(true);
    expect(exceedsJsonDepth(Buffer.from(JSON.stringify({ text: '[[[[[[{{{{{{ "\\" [[[[[' })), 2)).toBe(false);
    expect(exceedsJsonDepth(Buffer.from(JSON.stringify({ a: 'é🎉"[', b: [[['x']]] })), 3)).toBe(true);
  });
});

describe('EventLog', () => {
  it('numbers only events it could serialise, so a failure leaves no gap', () => {
    const log = new EventLog(10, 1 << 20);
    log.append({ type: 'pong' });
    const circular: Record<string, unknown> = { type: 'pong' };
    circular.self = circular;
    expect(() => log.append(circular as unknown as ServerEventBody)).toThrow(TypeError);
    expect(log.append({ type: 'pong' }).seq).toBe(2);
    expect(log.since(0)?.map((e) => e.seq)).toEqual([1, 2]);
  });
});

describe('originAllowed', () => {
  it('with PUBLIC_ORIGIN compares scheme, host and port; without it, the Host header', () => {
    const pub = 'https://voice.example';
    expect(originAllowed('https://voice.example', 'evil.example', [], pub)).toBe(true);
    expect(originAllowed('https://voice.example:443', 'x', [], pub)).toBe(true);
    expect(originAllowed('http://voice.example', 'voice.example', [], pub)).toBe(false);
    expect(originAllowed('https://voice.example:8443', 'voice.example:8443', [], pub)).toBe(false);
    expect(originAllowed('http://evil.example', 'evil.example', [], pub)).toBe(false);
    expect(originAllowed('http://evil.example', 'evil.example', [])).toBe(true);
    expect(originAllowed('https://app.example:443', 'x', ['https://APP.example'], pub)).toBe(true);
    expect(originAllowed('null', 'x', [], pub)).toBe(false);
    expect(originAllowed(undefined, 'x', [], pub)).toBe(true);
  });

  it('PUBLIC_ORIGIN must be an origin and is kept normalised', () => {
    expect(loadConfig({ PUBLIC_ORIGIN: 'https://Voice.Example:443' }).publicOrigin).toBe('https://voice.example');
    expect(() => loadConfig({ PUBLIC_ORIGIN: 'https://voice.example/app' })).toThrow(ConfigError);
    expect(() => loadConfig({ PUBLIC_ORIGIN: 'voice.example' })).toThrow(ConfigError);
  });
});
