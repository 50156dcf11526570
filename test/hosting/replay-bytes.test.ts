// The replay buffer's byte storage gives back exactly the events it was given (any text, across chunk boundaries,
// after evictions, whether numbered by the caller or by pushNumbered), counts their UTF-8 bytes, and refuses a gap
// in the numbering. A model-based check drives it with random pushes, evictions and reads against a plain array.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ReplayBytes, type LoggedEvent } from '../../src/hosting/replay-bytes.js';

const event = (seq: number, text: string): LoggedEvent => ({ seq, json: JSON.stringify({ type: 'x', text, seq }) });

describe('ReplayBytes', () => {
  it('gives back every event exactly, non-ASCII text included, over many chunks', () => {
    const replay = new ReplayBytes();
    const texts = ['plain', 'é and ß', '🎉 emoji 🧪', '"quoted" \\ back', 'x'.repeat(5000), '中文字符'];
    const events = Array.from({ length: 300 }, (_, i) => event(i + 1, texts[i % texts.length]!));
    for (const e of events) replay.push(e.seq, e.json);
    expect(replay.from(0)).toEqual(events);
    expect(replay.from(250)).toEqual(events.slice(249));
    expect(replay.from(301)).toEqual([]);
    expect([replay.size, replay.firstSeq, replay.lastSeq]).toEqual([300, 1, 300]);
    expect(replay.bytes).toBe(events.reduce((sum, e) => sum + Buffer.byteLength(e.json), 0));
  });

  it('keeps an event larger than any chunk whole', () => {
    const replay = new ReplayBytes();
    const big = event(1, '€'.repeat(100_000)); // 300,000 UTF-8 bytes
    replay.push(big.seq, big.json);
    replay.push(2, event(2, 'after').json);
    expect(replay.from(0)).toEqual([big, event(2, 'after')]);
  });

  it('evicts from the front, across chunks, and keeps its counts', () => {
    const replay = new ReplayBytes();
    const events = Array.from({ length: 100 }, (_, i) => event(i + 1, 'word '.repeat(i)));
    for (const e of events) replay.push(e.seq, e.json);
    for (let i = 0; i < 60; i += 1) replay.shift();
    expect(replay.from(0)).toEqual(events.slice(60));
    expect(replay.firstSeq).toBe(61);
    expect(replay.bytes).toBe(events.slice(60).reduce((sum, e) => sum + Buffer.byteLength(e.json), 0));
    for (let i = 0; i < 40; i += 1) replay.shift();
    expect([replay.size, replay.bytes, replay.firstSeq, replay.lastSeq]).toEqual([0, 0, undefined, undefined]);
    replay.push(7, event(7, 'a new run').json); // empty again: any seq may start it
    expect(replay.from(0)).toEqual([event(7, 'a new run')]);
  });

  it('refuses a gap in the numbering', () => {
    const replay = new ReplayBytes();
    replay.push(1, '{}');
    expect(() => replay.push(3, '{}')).toThrow(RangeError);
    replay.clear();
    replay.push(3, '{}');
    expect(replay.lastSeq).toBe(3);
  });

  it('numbers only a JSON object, never writing over the event before', () => {
    const replay = new ReplayBytes();
    const first = replay.pushNumbered(1, '{"type":"a"}');
    expect(() => replay.pushNumbered(2, '')).toThrow(RangeError);
    expect(() => replay.pushNumbered(2, '"text"')).toThrow(RangeError);
    expect(first.toString()).toBe('{"type":"a","seq":1}');
    expect(replay.from(0)).toEqual([{ seq: 1, json: '{"type":"a","seq":1}' }]);
  });

  it('behaves as an array of events under any mix of pushes, evictions and reads', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('push' as const),
        text: fc.string({ unit: 'binary', maxLength: 3000 }),
        numbered: fc.boolean(),
      }),
      fc.record({ kind: fc.constant('shift' as const) }),
      fc.record({ kind: fc.constant('read' as const), from: fc.integer({ min: 0, max: 400 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const replay = new ReplayBytes();
        const model: LoggedEvent[] = [];
        // Every buffer push() returned, with its event: a socket write may still hold it after evictions.
        const written: { json: string; bytes: Buffer }[] = [];
        let next = 1;
        for (const o of ops) {
          if (o.kind === 'push') {
            const e = event(next++, o.text);
            // pushNumbered() is given the body without its seq, and must store the same event.
            const bytes = o.numbered
              ? replay.pushNumbered(e.seq, JSON.stringify({ type: 'x', text: o.text }))
              : replay.push(e.seq, e.json);
            written.push({ json: e.json, bytes });
            model.push(e);
          } else if (o.kind === 'shift') {
            replay.shift();
            model.shift();
          } else expect(replay.from(o.from)).toEqual(model.filter((e) => e.seq >= o.from));
        }
        expect(replay.from(0)).toEqual(model);
        expect(replay.size).toBe(model.length);
        expect(replay.bytes).toBe(model.reduce((sum, e) => sum + Buffer.byteLength(e.json), 0));
        for (const w of written) expect(w.bytes.toString()).toBe(w.json); // never written over
        replay.clear();
        for (const w of written) expect(w.bytes.toString()).toBe(w.json);
      }),
      { numRuns: 200 },
    );
  });
});
