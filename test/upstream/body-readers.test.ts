// The upstream attempt's three body readers on small inputs: the SSE stream reader (with a recording host),
// the one-JSON-document reader and the error-page reader, each with its limit.
import { describe, expect, it } from 'vitest';
import { GatewayError, type ErrorCode } from '../../src/errors.js';
import { SecretRedactor } from '../../src/secrets.js';
import { createChunkReader } from '../../src/upstream/chunk-reader.js';
import { ErrorBodyReader, MAX_ERROR_BODY_BYTES } from '../../src/upstream/error-body-reader.js';
import { JsonBodyReader, MAX_JSON_BODY_BYTES } from '../../src/upstream/json-body-reader.js';
import { outputBudgetChars } from '../../src/upstream/output-budget.js';
import { SseStreamReader, type StreamHost } from '../../src/upstream/sse-stream-reader.js';
import type { ChatEvent } from '../../src/upstream/types.js';

const KEY = 'sk-test-0123456789abcdefghij';
const secrets = new SecretRedactor([KEY]);
const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

function streamReader(budgetChars = outputBudgetChars(undefined)) {
  const calls = {
    alive: 0,
    done: 0,
    cut: 0,
    warned: [] as object[],
    events: [] as ChatEvent[],
    failed: [] as (GatewayError | ErrorCode)[],
    debug: [] as object[],
  };
  const host: StreamHost = {
    alive: () => void (calls.alive += 1),
    deliver: (events) => void calls.events.push(...events),
    fail: (code) => void calls.failed.push(code),
    failWith: (error) => void calls.failed.push(error),
    streamDone: () => void (calls.done += 1),
    cutAtBudget: () => void (calls.cut += 1),
  };
  const logger = {
    debug: (obj: object) => void calls.debug.push(obj),
    warn: (obj: object) => void calls.warned.push(obj),
  };
  return { reader: new SseStreamReader(host, createChunkReader(), budgetChars, secrets, logger), calls };
}

describe('SseStreamReader', () => {
  it('turns split SSE bytes into events, counts malformed lines and sees [DONE] once', () => {
    const { reader, calls } = streamReader();
    const text =
      'data: {"choices":[{"index":0,"delta":{"content":"Hé"}}]}\n\ndata: not json\n\n: ping\n\n' +
      'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\ndata: [DONE]\n\n';
    const all = bytes(text);
    for (let i = 0; i < all.length; i += 7) reader.push(all.subarray(i, i + 7));
    reader.flush();
    expect(calls.events).toEqual([
      { type: 'text', text: 'Hé' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(calls.alive).toBe(3); // every data event, the malformed one included; not the comment
    expect(calls.done).toBe(1);
    expect(reader.sawDone).toBe(true);
    expect(calls.debug).toEqual([{ bytes: 8 }]); // the size only, never the payload
    expect(reader.verdict(false)).toBe('done');
  });

  it('judges a stream that ended without [DONE]', () => {
    const finished = streamReader();
    finished.reader.push(bytes('data: {"choices":[{"index":0,"delta":{"content":"a"}}]}')); // no blank line: flush() dispatches it
    finished.reader.flush();
    expect(finished.calls.events).toEqual([{ type: 'text', text: 'a' }]);
    expect(finished.reader.verdict(false)).toBe('dropped');
    expect(finished.reader.verdict(true)).toBe('done');

    const garbage = streamReader();
    garbage.reader.push(bytes('data: {oops\n\ndata: [DONE]\n\n'));
    expect(garbage.reader.verdict(true)).toBe('malformed');
  });

  it('hands in-stream errors, redacted, to the host', () => {
    const { reader, calls } = streamReader();
    reader.push(bytes(`data: {"error":{"message":"bad key ${KEY}","code":401}}\n\n`));
    reader.push(bytes('event: error\ndata: overloaded\n\n'));
    const [first, second] = calls.failed as GatewayError[];
    expect(first).toMatchObject({ code: 'GW_UPSTREAM_AUTH', status: 401 });
    expect(first!.message).not.toContain(KEY);
    expect(second).toMatchObject({ code: 'GW_UPSTREAM_UNAVAILABLE', status: 500 });
    expect(calls.events).toEqual([]);
  });

  it('reports an over-long line as a protocol failure', () => {
    const { reader, calls } = streamReader();
    reader.push(bytes(`data: ${'x'.repeat(1024 * 1024 + 16)}`));
    expect(calls.failed).toEqual(['GW_UPSTREAM_PROTOCOL']);
  });

  it('cuts an answer that streams past its output budget with a `length` finish, once, and reads nothing after', () => {
    const { reader, calls } = streamReader(14);
    const line = (delta: object) => `data: ${JSON.stringify({ choices: [{ index: 0, delta }] })}\n\n`;
    const call = { tool_calls: [{ index: 0, id: 'c', function: { name: 'f', arguments: '{}' } }] };
    reader.push(bytes(line({ reasoning_content: 'abc' }) + line({ content: 'def' }) + line(call)));
    expect(calls.cut).toBe(0); // 3 lines of 3 characters each, 1 + 3 each: 12 of 14
    reader.push(bytes(line({ content: 'gh' }) + line({ content: 'never' })));
    reader.push(bytes(line({ content: 'nor this' }) + 'data: [DONE]\n\n'));
    expect(calls.events.map((e) => e.type)).toEqual(['reasoning', 'text', 'tool_call', 'text', 'finish']);
    expect(calls.events.at(-1)).toEqual({ type: 'finish', reason: 'length' });
    expect(calls.cut).toBe(1);
    expect(calls.warned).toEqual([{ budgetChars: 14 }]);
  });

  it("keeps the upstream's own finish when a line after it runs the budget out, and drops nothing before it", () => {
    const { reader, calls } = streamReader(8);
    const line = (value: object) => `data: ${JSON.stringify(value)}\n\n`;
    // 1 + 5 for the text, 1 for the finish line: 7 of 8; the usage line's own character ends the budget.
    reader.push(bytes(line({ choices: [{ index: 0, delta: { content: 'Hello' } }] })));
    reader.push(bytes(line({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })));
    reader.push(bytes(line({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })));
    expect(calls.events).toEqual([
      { type: 'text', text: 'Hello' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(calls.cut).toBe(1); // the request still ends: nothing of the answer is missing
  });

  it('passes on text held back as a possible think tag only when nothing before it in its line was dropped', () => {
    const { reader, calls } = streamReader(8);
    const line = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
    // "Hello" exhausts the budget (1 + 5 + 5 > 8); the reasoning, " world " and the held "<thi" after it are dropped.
    reader.push(bytes(line('Hi') + line('Hello<think>x</think> world <thi')));
    expect(calls.events).toEqual([
      { type: 'text', text: 'Hi' },
      { type: 'text', text: 'Hello' },
      { type: 'finish', reason: 'length' },
    ]);
  });

  it('charges every data line, so lines that say nothing, or cannot be read, still end the answer', () => {
    const { reader, calls } = streamReader(5);
    const empty = `data: ${JSON.stringify({ choices: [{ index: 0, delta: {} }] })}\n\n`;
    reader.push(bytes(empty.repeat(2) + 'data: {oops\n\n'.repeat(2)));
    expect(calls.cut).toBe(0);
    reader.push(bytes(empty.repeat(3)));
    expect(calls.cut).toBe(1);
    expect(calls.events).toEqual([{ type: 'finish', reason: 'length' }]);
  });

  it('charges reasoning shown from think tags as sent, tags included, and ends with what the filter held back', () => {
    const { reader, calls } = streamReader(50);
    const line = (content: string) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content } }] })}\n\n`;
    // Each line is an empty think block: no reasoning text at all, 15 characters as sent (16 with the line's own).
    reader.push(bytes(line('<think></think>').repeat(2)));
    expect(calls.cut).toBe(0);
    reader.push(bytes(line('<think></think>') + line('Hi <thi')));
    expect(calls.cut).toBe(1);
    // The possible tag held back ("<thi") is passed on before the finish, as at a real one.
    expect(calls.events.slice(-2)).toEqual([
      { type: 'text', text: '<thi' },
      { type: 'finish', reason: 'length' },
    ]);
  });
});

describe('outputBudgetChars', () => {
  it('allows 32 characters per token asked for, and never fewer than 8,192 tokens', () => {
    expect(outputBudgetChars(20_000)).toBe(640_000);
    expect(outputBudgetChars(400)).toBe(8_192 * 32);
    expect(outputBudgetChars(undefined)).toBe(8_192 * 32);
  });
});

describe('JsonBodyReader', () => {
  it('reads a whole chat.completion split across chunks', () => {
    const json = new JsonBodyReader();
    json.push(bytes('\n  '));
    const body = bytes(
      '{"choices":[{"index":0,"message":{"content":"Hello"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":2}}',
    );
    expect(json.push(body.subarray(0, 10))).toBe(true);
    expect(json.push(body.subarray(10))).toBe(true);
    expect(json.held()).toHaveLength(3);
    expect(json.read(secrets, outputBudgetChars(undefined))).toEqual([
      { type: 'text', text: 'Hello' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 } },
    ]);
  });

  it('returns the failure for an empty body, a body that is not JSON, and an error document', () => {
    const codeOf = (text: string) => {
      const json = new JsonBodyReader();
      json.push(bytes(text));
      const read = json.read(secrets, outputBudgetChars(undefined));
      return read instanceof GatewayError ? read.code : read;
    };
    expect(codeOf(' \n')).toBe('GW_UPSTREAM_DROPPED');
    expect(codeOf('{"choices":')).toBe('GW_UPSTREAM_PROTOCOL');
    expect(codeOf('{"error":{"message":"busy","code":503}}')).toBe('GW_UPSTREAM_UNAVAILABLE');
  });

  it('refuses a body over MAX_JSON_BODY_BYTES, 1 MiB (JSON.parse of 8 MB of arrays held ~230 MB of heap)', () => {
    expect(MAX_JSON_BODY_BYTES).toBe(1024 * 1024);
    const json = new JsonBodyReader();
    expect(json.push(Buffer.alloc(MAX_JSON_BODY_BYTES, 0x20))).toBe(true);
    expect(json.push(bytes('{'))).toBe(false);
  });

  it('counts a blank prefix held while sniffing against the same cap', () => {
    const json = new JsonBodyReader();
    expect(json.push(Buffer.alloc(MAX_JSON_BODY_BYTES, 0x20))).toBe(true);
    expect(json.push(bytes('\n'))).toBe(false);
    const mixed = new JsonBodyReader();
    expect(mixed.push(Buffer.alloc(MAX_JSON_BODY_BYTES - 1, 0x20))).toBe(true);
    expect(mixed.push(bytes('{}'))).toBe(false);
  });

  it('cuts a whole answer longer than its output budget with a `length` finish, as a streamed one', () => {
    const json = new JsonBodyReader();
    json.push(bytes('{"choices":[{"index":0,"message":{"content":"0123456789abc"},"finish_reason":"stop"}]}'));
    expect(json.read(secrets, 10)).toEqual([
      { type: 'text', text: '0123456789abc' },
      { type: 'finish', reason: 'length' },
    ]);
  });
});

describe('ErrorBodyReader', () => {
  it('maps the status, the message and Retry-After, with the key redacted', () => {
    const reader = new ErrorBodyReader(429, { 'retry-after': '2' }, secrets);
    expect(reader.push(bytes('{"error":{"message":"slow down, '))).toBe(false);
    expect(reader.push(bytes(`${KEY}"}}`))).toBe(false);
    const error = reader.error();
    expect(error).toMatchObject({ code: 'GW_UPSTREAM_RATE_LIMITED', status: 429, retryAfterMs: 2000 });
    expect(error.message).toContain('slow down');
    expect(error.message).not.toContain(KEY);
    expect(JSON.stringify(error.cause)).not.toContain(KEY);
  });

  it('says stop once MAX_ERROR_BODY_BYTES are held, and reads only that much', () => {
    const reader = new ErrorBodyReader(502, {}, secrets);
    expect(reader.push(Buffer.alloc(MAX_ERROR_BODY_BYTES - 1, 0x61))).toBe(false);
    expect(reader.push(bytes('a<b>tail</b>'))).toBe(true);
    const error = reader.error();
    expect(error).toMatchObject({ code: 'GW_UPSTREAM_UNAVAILABLE', status: 502 });
    expect(error.message).not.toContain('tail');
  });
});
