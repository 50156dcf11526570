// The session's numbered event log, and continuing one that another instance wrote (scale-out): the replay
// buffer must stay a gap-free run ending at the last seq, whatever order or repeats the stored stream holds.
import { describe, expect, it } from 'vitest';
import { inSeqOrder } from '../../src/cluster/session-store.js';
import { EventLog, type LoggedEvent } from '../../src/hosting/event-log.js';

const ev = (seq: number): LoggedEvent => ({ seq, json: `{"type":"pong","seq":${seq}}` });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => ev(from + i));

describe('EventLog', () => {
  it('numbers events and appends seq to the serialised body', () => {
    const log = new EventLog(10, 1_000_000);
    const first = log.append({ type: 'pong', eventId: 'a' });
    expect(first).toMatchObject({ seq: 1, json: '{"type":"pong","eventId":"a","seq":1}' });
    // The replay buffer's own copy of it, written to the socket as is.
    expect(first.bytes?.toString()).toBe(first.json);
    expect(log.since(0)).toEqual([{ seq: 1, json: first.json }]);
    expect(log.since(1)).toEqual([]);
  });

  it("continues another instance's numbering with its recent events as the replay buffer", () => {
    const log = new EventLog(100, 1_000_000);
    log.continueFrom(5, range(1, 5));
    expect(log.since(3)?.map((e) => e.seq)).toEqual([4, 5]);
    expect(log.append({ type: 'pong' }).seq).toBe(6);
    expect(log.since(4)?.map((e) => e.seq)).toEqual([5, 6]);
  });

  it('skips repeated and out-of-order events, and restarts the run after a gap', () => {
    const log = new EventLog(100, 1_000_000);
    log.continueFrom(8, [ev(1), ev(2), ev(2), ev(1), ev(5), ev(6), ev(7), ev(8)]);
    expect(log.buffered().map((e) => e.seq)).toEqual([5, 6, 7, 8]);
    expect(log.since(2)).toBeNull();
    expect(log.since(6)?.map((e) => e.seq)).toEqual([7, 8]);
  });

  it('keeps no buffer that stops short of the last seq, so a resume reports missed events', () => {
    const log = new EventLog(100, 1_000_000);
    log.continueFrom(10, range(1, 7));
    expect(log.buffered()).toEqual([]);
    expect(log.since(5)).toBeNull();
    expect(log.since(10)).toEqual([]);
  });
});

describe('inSeqOrder', () => {
  it('orders stream events by seq and drops repeats', () => {
    expect(inSeqOrder([ev(6), ev(1), ev(2), ev(6), ev(3)]).map((e) => e.seq)).toEqual([1, 2, 3, 6]);
  });
});
