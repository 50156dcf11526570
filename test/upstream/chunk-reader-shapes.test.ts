// The chunk reader (src/upstream/chunk-reader.ts) on the less common shapes of both ASI:One wire generations (gen-1:
// reasoning in a top-level `thought`; gen-2: SGLang-style `delta.reasoning_content`): content parts that are not text,
// thought arrays with nulls, partial or odd usage, tool-call fragments in every shape, a finish_reason whose reply
// comes as `message` instead of deltas (and gen-1's second finish chunk), and whole non-stream bodies.
import { describe, expect, it } from 'vitest';
import { createChunkReader, readCompletionBody, readUsage } from '../../src/upstream/chunk-reader.js';
import type { ChatEvent } from '../../src/upstream/types.js';

/** Events for a whole stream of parsed chunks, end() included. */
function readStream(chunks: readonly unknown[]): ChatEvent[] {
  const reader = createChunkReader();
  return [...chunks.flatMap((chunk) => reader.read(chunk)), ...reader.end()];
}

const delta = (value: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  choices: [{ index: 0, delta: value, finish_reason: null, ...extra }],
});
const finish = (reason: string, message?: Record<string, unknown>) => ({
  choices: [
    { index: 0, delta: { role: 'assistant', content: '' }, finish_reason: reason, ...(message && { message }) },
  ],
});

describe('content and reasoning', () => {
  it('reads only the text of OpenAI content parts, skipping images, nulls and numbers', () => {
    const parts = [{ type: 'text', text: 'Look: ' }, { type: 'image_url', image_url: { url: 'x' } }, null, 7, 'done'];
    expect(readStream([delta({ content: parts })])).toEqual([{ type: 'text', text: 'Look: done' }]);
  });

  it('joins a gen-1 thought array, skipping nulls and anything else that is not a string', () => {
    const body = {
      thought: ['The user ', null, 'asked ', 3, { t: 1 }, 'for a fact.'],
      choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'Giraffes are tall.' } }],
    };
    expect(readCompletionBody(body)).toEqual([
      { type: 'reasoning', text: 'The user asked for a fact.' },
      { type: 'text', text: 'Giraffes are tall.' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(readStream([{ thought: ['a', null, 'b'], choices: [{ delta: { content: '' } }] }])).toEqual([
      { type: 'reasoning', text: 'ab' },
    ]);
  });

  it('reports reasoning that rides both in thought and in the message of a body once', () => {
    const body = {
      thought: ['plan'],
      choices: [{ index: 0, finish_reason: 'stop', message: { content: 'Hi', reasoning_content: 'plan' } }],
    };
    expect(readCompletionBody(body)).toEqual([
      { type: 'reasoning', text: 'plan' },
      { type: 'text', text: 'Hi' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('yields nothing, and never throws, for choices that are not objects', () => {
    expect(
      readStream([{ choices: [null] }, { choices: ['x', 3] }, { choices: [[{ delta: { content: 'no' } }]] }]),
    ).toEqual([]);
  });
});

describe('usage', () => {
  it('accepts the other spellings of the counts', () => {
    expect(readUsage({ input_tokens: 5, output_tokens: 2 })).toEqual({
      promptTokens: 5,
      completionTokens: 2,
      totalTokens: 7,
    });
    expect(readUsage({ promptTokens: 1, completionTokens: 2, totalTokens: 4 })).toEqual({
      promptTokens: 1,
      completionTokens: 2,
      totalTokens: 4,
    });
  });

  it('keeps a usage that has only a total', () => {
    expect(readUsage({ total_tokens: 7 })).toEqual({ promptTokens: 0, completionTokens: 0, totalTokens: 7 });
  });

  it('treats a count that is not a finite number (1e999 parses as Infinity) as missing', () => {
    expect(readUsage(JSON.parse('{"prompt_tokens":1e999,"completion_tokens":3}'))).toEqual({
      promptTokens: 0,
      completionTokens: 3,
      totalTokens: 3,
    });
    expect(readUsage({ prompt_tokens: '5', completion_tokens: null })).toBeUndefined();
  });

  it('treats a negative, fractional or unsafely large count as missing: token counters only go up', () => {
    expect(readUsage({ prompt_tokens: -5, completion_tokens: 3, total_tokens: -2 })).toEqual({
      promptTokens: 0,
      completionTokens: 3,
      totalTokens: 3,
    });
    expect(readUsage({ prompt_tokens: 2.5, completion_tokens: 2 ** 53, total_tokens: 7 })).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      totalTokens: 7,
    });
    expect(readUsage({ prompt_tokens: -1, completion_tokens: -1, total_tokens: -1 })).toBeUndefined();
    // The first spelling that is a count wins, as for missing ones.
    expect(readUsage({ prompt_tokens: -1, input_tokens: 4 })).toMatchObject({ promptTokens: 4 });
  });
});

describe('tool-call fragments', () => {
  it('carries only the fields a fragment has: no id, name or argumentsDelta keys when absent', () => {
    const events = readStream([
      delta({ tool_calls: [{ index: 0, id: 'call_9', type: 'function' }] }),
      delta({ tool_calls: [{ index: 0, function: { name: 'get_weather' } }] }),
      delta({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
      delta({ tool_calls: [{ index: 0, function: { name: 'get_weather', arguments: null } }] }),
    ]);
    expect(events).toStrictEqual([
      { type: 'tool_call', index: 0, id: 'call_9' },
      { type: 'tool_call', index: 0, name: 'get_weather' },
      { type: 'tool_call', index: 0, argumentsDelta: '{"city":' },
      { type: 'tool_call', index: 0, name: 'get_weather' },
    ]);
  });

  it('drops a call id longer than the 128 characters a client could send back (a generated one replaces it)', () => {
    const events = readStream([
      delta({ tool_calls: [{ index: 0, id: 'c'.repeat(128), function: { name: 'a' } }] }),
      delta({ tool_calls: [{ index: 1, id: 'c'.repeat(129), function: { name: 'b' } }] }),
      delta({ tool_calls: [{ index: 2, id: 'c'.repeat(900_000) }] }),
    ]);
    expect(events).toStrictEqual([
      { type: 'tool_call', index: 0, id: 'c'.repeat(128), name: 'a' },
      { type: 'tool_call', index: 1, name: 'b' },
    ]);
  });

  it('reads flat-shape fragments, an argument fragment without a name included', () => {
    const events = readStream([
      delta({ tool_calls: [{ index: 0, id: 'call_1', name: 'lookup' }] }),
      delta({ tool_calls: [{ index: 0, arguments: '{"q":' }] }),
      delta({ tool_calls: [{ index: 0, arguments: '"x"}' }] }),
      // A call that also carries a trace-style tool_name is still a call: it has a name.
      delta({ tool_calls: [{ index: 1, name: 'search', tool_name: 'search', arguments: {} }] }),
    ]);
    expect(events).toStrictEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'lookup' },
      { type: 'tool_call', index: 0, argumentsDelta: '{"q":' },
      { type: 'tool_call', index: 0, argumentsDelta: '"x"}' },
      { type: 'tool_call', index: 1, name: 'search', argumentsDelta: '{}' },
    ]);
  });

  it('keys a fragment whose index is negative or past 2^53 by its position, as a missing one', () => {
    const events = readStream([
      delta({
        tool_calls: [
          { index: -1, function: { arguments: 'a' } },
          { index: 2 ** 60, function: { arguments: 'b' } },
        ],
      }),
    ]);
    expect(events).toStrictEqual([
      { type: 'tool_call', index: 0, argumentsDelta: 'a' },
      { type: 'tool_call', index: 1, argumentsDelta: 'b' },
    ]);
  });

  it('skips entries that are not objects, and keys a fragment with a non-integer index by its position', () => {
    const events = readStream([
      delta({ tool_calls: [null, 'x', { index: 2, id: 'call_2', function: { name: 'f' } }] }),
      delta({
        tool_calls: [
          { index: 0.5, function: { arguments: 'a' } },
          { index: '1', function: { arguments: 'b' } },
        ],
      }),
    ]);
    expect(events).toStrictEqual([
      { type: 'tool_call', index: 2, id: 'call_2', name: 'f' },
      { type: 'tool_call', index: 0, argumentsDelta: 'a' },
      { type: 'tool_call', index: 1, argumentsDelta: 'b' },
    ]);
  });
});

describe('tool-call arguments nested past what can be serialised', () => {
  it('gives the call empty arguments instead of throwing, streamed or whole', () => {
    // About 10 KB on the wire: 5,000 nested arrays. JSON.stringify of it overflows the stack.
    let deep: unknown = [];
    for (let i = 0; i < 5000; i += 1) deep = [deep];
    const call = { index: 0, id: 'call_1', function: { name: 'lookup', arguments: deep } };
    const chunk = { choices: [{ index: 0, delta: { tool_calls: [call] } }] };
    const expected = { type: 'tool_call', index: 0, id: 'call_1', name: 'lookup', argumentsDelta: '{}' };
    expect(() => createChunkReader().read(chunk)).not.toThrow();
    expect(createChunkReader().read(chunk)).toEqual([expected]);
    const body = { choices: [{ index: 0, message: { tool_calls: [call] }, finish_reason: 'tool_calls' }] };
    expect(readCompletionBody(body)).toEqual([expected, { type: 'finish', reason: 'tool_calls' }]);
  });
});

describe('a finish_reason with the reply in message (asi1-vs-code workaround)', () => {
  const call = { id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"CET"}' } };

  it('reads message.content and message.tool_calls of a streamed finish chunk that has no delta', () => {
    const chunk = {
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: { role: 'assistant', content: 'Checking.', tool_calls: [call] },
        },
      ],
    };
    expect(readStream([chunk])).toEqual([
      { type: 'text', text: 'Checking.' },
      { type: 'tool_call', index: 0, id: 'call_1', name: 'get_time', argumentsDelta: '{"tz":"CET"}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it("reads the reply once when gen-1's two finish chunks both carry it", () => {
    const message = { role: 'assistant', content: 'Whole answer.' };
    expect(readStream([finish('stop', message), { ...finish('stop', message), usage: { total_tokens: 9 } }])).toEqual([
      { type: 'text', text: 'Whole answer.' },
      { type: 'finish', reason: 'stop' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 0, completionTokens: 0, totalTokens: 9 } },
    ]);
  });

  it('reads the tool calls once when both finish chunks carry them', () => {
    const message = { role: 'assistant', content: null, tool_calls: [call] };
    expect(readStream([finish('tool_calls', message), finish('tool_calls', message)])).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'get_time', argumentsDelta: '{"tz":"CET"}' },
      { type: 'finish', reason: 'tool_calls' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('still reads the second finish chunk when the first one had an empty message', () => {
    const events = readStream([
      finish('stop', { role: 'assistant', content: '' }),
      finish('stop', { content: 'Late answer.' }),
    ]);
    expect(events).toEqual([
      { type: 'finish', reason: 'stop' },
      { type: 'text', text: 'Late answer.' },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('ignores the finish message once tool calls came as deltas', () => {
    const events = readStream([
      delta({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'get_time', arguments: '{"tz":"CET"}' } }] }),
      finish('tool_calls', { role: 'assistant', content: 'Checking.', tool_calls: [call] }),
    ]);
    expect(events).toEqual([
      { type: 'tool_call', index: 0, id: 'call_1', name: 'get_time', argumentsDelta: '{"tz":"CET"}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });
});

describe('whole non-stream bodies', () => {
  it('yields nothing for a null body', () => {
    expect(readCompletionBody(null)).toEqual([]);
  });

  it('reads a choice that has only a finish_reason', () => {
    expect(readCompletionBody({ choices: [{ index: 0, finish_reason: 'length' }] })).toEqual([
      { type: 'finish', reason: 'length' },
    ]);
  });

  it('yields no finish event for a body without a finish_reason', () => {
    const body = {
      choices: [{ index: 0, message: { content: 'partial' }, finish_reason: null }],
      usage: { prompt_tokens: 2 },
    };
    expect(readCompletionBody(body)).toEqual([
      { type: 'text', text: 'partial' },
      { type: 'usage', usage: { promptTokens: 2, completionTokens: 0, totalTokens: 2 } },
    ]);
  });
});
