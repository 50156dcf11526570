// The simulator's benchmark knob `stampEmitTimeInText`: the first word of every streamed content chunk is
// replaced by a word-sized stamp of its emit time, so a client behind a text-only proxy (the gateway) can
// still measure per-token delay. Real sockets on port 0; asserts content and order, never durations.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  decodeEmitStamp,
  EMIT_STAMP_PATTERN,
  encodeEmitStamp,
  stampChunkText,
} from '../../src/simulator/emit-stamp.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';

interface Chunk {
  choices: { delta: { content?: string | null } }[];
  x_emit_ts?: number;
}

let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator({ defaults: { ttftMs: 0, interTokenMs: 0 } });
});

afterEach(async () => {
  await sim.close();
});

async function contentChunks(body: Record<string, unknown>): Promise<Chunk[]> {
  const response = await fetch(`${sim.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'asi1-mini', messages: [{ role: 'user', content: 'hi' }], ...body }),
  });
  const text = await response.text();
  return text
    .split('\n\n')
    .filter((event) => event.startsWith('data: {'))
    .map((event) => JSON.parse(event.slice(6)) as Chunk)
    .filter((chunk) => (chunk.choices[0]?.delta.content ?? '') !== '');
}

const contentOf = (chunk: Chunk): string => chunk.choices[0]?.delta.content ?? '';

describe('emit stamps', () => {
  it('replace the first word and keep punctuation and whitespace', () => {
    expect(stampChunkText('hello ', 1_764_000_000_000.25)).toMatch(/^t[0-9a-z]{6} $/);
    expect(stampChunkText('Hello ', 1_764_000_000_000.25)).toMatch(/^T[0-9a-z]{6} $/);
    expect(stampChunkText('end. ', 1)).toBe(`${encodeEmitStamp(1)}. `);
    expect(stampChunkText('“quoted,” ', 2)).toBe(`“${encodeEmitStamp(2)},” `);
    expect(stampChunkText('… ', 3)).toBe(`${encodeEmitStamp(3)}… `);
  });

  it('decode to the emit time to the microsecond, from a later or a slightly earlier receive time', () => {
    expect(encodeEmitStamp(5, true).slice(1)).toBe(encodeEmitStamp(5).slice(1));
    const emitted = 1_764_000_123_456.789;
    const digits = encodeEmitStamp(emitted).slice(1);
    expect(decodeEmitStamp(digits, emitted + 3.5)).toBeCloseTo(emitted, 3);
    expect(decodeEmitStamp(digits, emitted + 60_000)).toBeCloseTo(emitted, 3);
    expect(decodeEmitStamp(digits, emitted - 0.004)).toBeCloseTo(emitted, 3);
  });
});

describe('stampEmitTimeInText', () => {
  it('stamps every streamed content chunk in emit order, keeping the reply’s punctuation', async () => {
    sim.enqueue({ reply: 'One two. Three four!', stampEmitTimeInText: true });
    const received = Date.now();
    const texts = (await contentChunks({ stream: true })).map(contentOf);
    expect(texts.map((t) => t.replace(EMIT_STAMP_PATTERN, 'W'))).toEqual(['W ', 'W. ', 'W ', 'W!']);
    const times = texts.map((t) =>
      decodeEmitStamp([...t.matchAll(EMIT_STAMP_PATTERN)][0]![1]!, performance.timeOrigin + performance.now()),
    );
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(Math.abs(times[0]! - received)).toBeLessThan(60_000);
  });

  it('works for gen1 too and combines with x_emit_ts', async () => {
    sim.enqueue({ profile: 'gen1', reply: 'a b', stampEmitTimeInText: true, stampEmitTime: true });
    const chunks = await contentChunks({ stream: true });
    expect(chunks.map((c) => contentOf(c).replace(EMIT_STAMP_PATTERN, 'W'))).toEqual(['W ', 'W']);
    expect(chunks.every((c) => typeof c.x_emit_ts === 'number')).toBe(true);
  });

  it('leaves replies unstamped by default and in non-streaming answers', async () => {
    sim.enqueue({ reply: 'plain words' });
    expect((await contentChunks({ stream: true })).map(contentOf)).toEqual(['plain ', 'words']);
    sim.enqueue({ reply: 'plain words', stampEmitTimeInText: true });
    const response = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'asi1-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    const body = (await response.json()) as { choices: { message: { content: string } }[] };
    expect(body.choices[0]?.message.content).toBe('plain words');
  });
});
