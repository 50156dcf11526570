// The request body's bytes, built from each message's and tool's cached JSON, are exactly JSON.stringify's of the
// whole body: for any request, sent once or again with the same messages, alone or beside other requests.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildChatBody, CACHE_FROM_MESSAGES, cachedBytes, encodeChatBody } from '../../src/upstream/chat-body.js';
import type { ChatMessage, ChatRequest, UpstreamToolSpec } from '../../src/upstream/types.js';

const plain = (request: ChatRequest): Buffer => Buffer.from(JSON.stringify(buildChatBody(request)));

// Any text, lone surrogates and quotes included: JSON.stringify escapes them, and so must each cached piece.
const text = fc.string({ unit: 'binary', maxLength: 40 });
const toolCall = fc.record({
  id: text,
  type: fc.constant('function' as const),
  function: fc.record({ name: text, arguments: text }),
});
const message: fc.Arbitrary<ChatMessage> = fc.oneof(
  fc.record({ role: fc.constant('system' as const), content: text }),
  fc.record({ role: fc.constant('user' as const), content: text }),
  fc.record(
    {
      role: fc.constant('assistant' as const),
      content: fc.option(text),
      tool_calls: fc.array(toolCall, { maxLength: 3 }),
    },
    { requiredKeys: ['role', 'content'] },
  ),
  fc.record({ role: fc.constant('tool' as const), content: text, tool_call_id: text }),
);
const tool: fc.Arbitrary<UpstreamToolSpec> = fc.record({
  type: fc.constant('function' as const),
  function: fc.record(
    { name: text, description: text, parameters: fc.dictionary(text, fc.jsonValue(), { maxKeys: 3 }) },
    { requiredKeys: ['name'] },
  ),
});
const request: fc.Arbitrary<ChatRequest> = fc.record(
  {
    model: text,
    // Short histories are serialised whole; from CACHE_FROM_MESSAGES on, from each message's cached bytes.
    messages: fc.oneof(
      fc.array(message, { maxLength: 8 }),
      fc.array(message, { minLength: CACHE_FROM_MESSAGES, maxLength: CACHE_FROM_MESSAGES + 8 }),
    ),
    temperature: fc.oneof(fc.double(), fc.integer()),
    maxTokens: fc.integer(),
    tools: fc.array(tool, { maxLength: 3 }),
    toolChoice: fc.constantFrom('auto' as const, 'none' as const, 'required' as const),
    sessionId: fc.constant('sess'),
    signal: fc.constant(new AbortController().signal),
  },
  { requiredKeys: ['model', 'messages', 'sessionId', 'signal'] },
);

describe('encodeChatBody', () => {
  it("is byte for byte JSON.stringify's body, for any request", () => {
    fc.assert(
      fc.property(request, (r) => {
        expect(encodeChatBody(r).equals(plain(r))).toBe(true);
      }),
      { numRuns: 1_000 },
    );
  });

  it('stays exact when the same messages and tools are sent again, in a longer history or another order', () => {
    fc.assert(
      fc.property(request, message, (r, next) => {
        encodeChatBody(r);
        const messages = [...r.messages, ...r.messages, next].reverse(); // long enough to be cached
        const again: ChatRequest = { ...r, messages, tools: [...(r.tools ?? [])] };
        expect(encodeChatBody(again).equals(plain(again))).toBe(true);
        expect(encodeChatBody(r).equals(plain(r))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('omits tool_choice without tools, and undefined fields, as JSON.stringify does', () => {
    const bare: ChatRequest = {
      model: 'asi1-mini',
      messages: [{ role: 'user', content: 'Hi' }],
      toolChoice: 'auto',
      tools: [],
      sessionId: 's',
      signal: new AbortController().signal,
    };
    expect(encodeChatBody(bare).toString()).toBe(
      '{"model":"asi1-mini","messages":[{"role":"user","content":"Hi"}],"stream":true,"stream_options":{"include_usage":true}}',
    );
  });
});

describe('cachedBytes', () => {
  it("keeps each message's JSON in memory of its own, never a slice of the shared pool it would pin", () => {
    const small = { role: 'user', content: 'Hi' };
    const bytes = cachedBytes(small);
    expect(bytes.toString()).toBe(JSON.stringify(small));
    expect(bytes.buffer.byteLength).toBe(bytes.length);
    expect(cachedBytes(small)).toBe(bytes); // encoded once
  });
});
