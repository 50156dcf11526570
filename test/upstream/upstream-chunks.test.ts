// The chunk reader: both ASI:One wire generations (gen-1 with a top-level `thought`, gen-2 SGLang-style)
// → ChatEvents.
import { describe, expect, it } from 'vitest';
import { createChunkReader, readCompletionBody, readUsage } from '../../src/upstream/chunk-reader.js';
import type { ChatEvent } from '../../src/upstream/types.js';

function readAll(lines: readonly string[]): ChatEvent[] {
  const reader = createChunkReader();
  return lines.flatMap((line) => reader.read(JSON.parse(line)));
}

const texts = (events: readonly ChatEvent[]): string[] => events.flatMap((e) => (e.type === 'text' ? [e.text] : []));
const reasoning = (events: readonly ChatEvent[]): string[] =>
  events.flatMap((e) => (e.type === 'reasoning' ? [e.text] : []));
const ofType = <T extends ChatEvent['type']>(events: readonly ChatEvent[], type: T) =>
  events.filter((e): e is Extract<ChatEvent, { type: T }> => e.type === type);

// The official gen-1 capture, the lines as printed (the elided middle chunks have the same shapes).
const GEN1_CAPTURE = [
  '{"id":"id_comqjiusZjAoyuXlh","object":"chat.completion.chunk","model":"asi1-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"stop_reason":null}],"executable_data":[],"usage":null}',
  '{"id":"id_comqjiusZjAoyuXlh","model":"asi1-mini","choices":[{"role":"assistant","delta":{"role":"assistant","content":""}}],"init_thought":true}',
  '{"id":"id_comqjiusZjAoyuXlh","model":"asi1-mini","choices":[{"role":"assistant","delta":{"role":"assistant","content":""}}],"thought":"\\nThe user has asked"}',
  '{"id":"id_comqjiusZjAoyuXlh","model":"asi1-mini","choices":[{"delta":{"role":"assistant","content":""}}],"thought":".\\n"}',
  '{"id":"id_comqjiusZjAoyuXlh","model":"asi1-mini","created":1740580071837,"conversation_id":null,"tool_thought":[],"choices":[{"index":0,"finish_reason":null,"delta":{"content":"\\n\\nGiraffes"},"stop_reason":null}]}',
  '{"id":"id_comqjiusZjAoyuXlh","model":"asi1-mini","created":1740580080150,"conversation_id":null,"tool_thought":[],"choices":[{"index":0,"finish_reason":"stop","delta":{"role":"assistant","content":""},"stop_reason":"stop"}]}',
  '{"id":"id_comqjiusZjAoyuXlh","model":"asi1-mini","created":1740580080150,"conversation_id":null,"tool_thought":[],"choices":[{"index":0,"finish_reason":"stop","delta":{"role":"assistant","content":""},"stop_reason":"stop"}],"usage":{"prompt_tokens":435,"completion_tokens":391,"total_tokens":826}}',
];

// An inferred SGLang-style gen-2 sample, with its placeholders (<32hex>, <sec>, …) filled in.
const ID = '083bd6ca857843c0911edf83799ca6c8';
const GEN2_SAMPLE = [
  `{"id":"${ID}","object":"chat.completion.chunk","created":1768409272,"model":"asi1-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"","reasoning_content":null},"logprobs":null,"finish_reason":null,"matched_stop":null}]}`,
  `{"id":"${ID}","object":"chat.completion.chunk","created":1768409272,"model":"asi1-mini","choices":[{"index":0,"delta":{"content":"Hello","reasoning_content":null},"logprobs":null,"finish_reason":null,"matched_stop":null}]}`,
  `{"id":"${ID}","object":"chat.completion.chunk","created":1768409272,"model":"asi1-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":""}}]},"logprobs":null,"finish_reason":null,"matched_stop":null}]}`,
  `{"id":"${ID}","object":"chat.completion.chunk","created":1768409272,"model":"asi1-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\\"location\\":"}}]},"logprobs":null,"finish_reason":null,"matched_stop":null}]}`,
  `{"id":"${ID}","object":"chat.completion.chunk","created":1768409272,"model":"asi1-mini","choices":[{"index":0,"delta":{"content":"","reasoning_content":null},"logprobs":null,"finish_reason":"stop","matched_stop":151336}]}`,
  `{"id":"${ID}","object":"chat.completion.chunk","created":1768409272,"model":"asi1-mini","choices":[],"usage":{"prompt_tokens":2105,"completion_tokens":149,"total_tokens":2254}}`,
];

describe('chunk reader: streamed chunks', () => {
  it('reads the gen-1 capture: thought as reasoning, init_thought as nothing, two finishes, usage last', () => {
    const events = readAll(GEN1_CAPTURE);
    expect(events).toEqual([
      { type: 'reasoning', text: '\nThe user has asked' },
      { type: 'reasoning', text: '.\n' },
      { type: 'text', text: '\n\nGiraffes' },
      { type: 'finish', reason: 'stop' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 435, completionTokens: 391, totalTokens: 826 } },
    ]);
  });

  it('reads the gen-2 sample: role-only chunk is silent, tool-call fragments keyed by index, usage on choices: []', () => {
    expect(readAll(GEN2_SAMPLE)).toEqual([
      { type: 'text', text: 'Hello' },
      { type: 'tool_call', index: 0, id: 'call_abc', name: 'get_weather' },
      { type: 'tool_call', index: 0, argumentsDelta: '{"location":' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 2105, completionTokens: 149, totalTokens: 2254 } },
    ]);
  });

  it('never turns reasoning into text, wherever it rides', () => {
    const events = readAll([
      '{"choices":[{"delta":{"reasoning_content":"think A"}}]}',
      '{"choices":[{"delta":{"reasoning":"think B","content":null}}]}',
      '{"choices":[{"delta":{"thought":"think C","content":""}}]}',
      '{"thought":"think D","choices":[{"delta":{"content":null}}]}',
      '{"init_thought":true,"choices":[{"delta":{}}]}',
      '{"thought":"same","choices":[{"delta":{"thought":"same"}}]}',
      '{"choices":[{"delta":{"content":"answer"}}]}',
    ]);
    expect(reasoning(events)).toEqual(['think A', 'think B', 'think C', 'think D', 'same']);
    expect(texts(events)).toEqual(['answer']);
  });

  it('yields nothing for null or empty content, choices: [], or a missing index and object', () => {
    const events = readAll([
      '{"choices":[{"delta":{"content":null}}]}',
      '{"choices":[{"delta":{"content":""}}]}',
      '{"choices":[]}',
      '{"choices":null}',
      '{"id":"x"}',
      '[]',
      'null',
      '"text"',
    ]);
    expect(events).toEqual([]);
    expect(readAll(['{"choices":[{"delta":{"content":"hi"}}]}'])).toEqual([{ type: 'text', text: 'hi' }]);
  });

  it('reads only the first choice (n = 1)', () => {
    const events = readAll([
      '{"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"ours"}}]}',
    ]);
    expect(texts(events)).toEqual(['ours']);
  });

  it('accepts usage on any chunk and tolerates partial usage', () => {
    const events = readAll([
      '{"choices":[{"delta":{"content":"a"}}],"usage":{"prompt_tokens":10,"completion_tokens":1,"total_tokens":11}}',
      '{"choices":[{"delta":{"content":"b"}}],"usage":{"completion_tokens":2}}',
      '{"choices":[{"delta":{"content":"c"}}],"usage":{}}',
    ]);
    expect(ofType(events, 'usage').map((e) => e.usage)).toEqual([
      { promptTokens: 10, completionTokens: 1, totalTokens: 11 },
      { promptTokens: 0, completionTokens: 2, totalTokens: 2 },
    ]);
    expect(readUsage(null)).toBeUndefined();
    expect(readUsage({ prompt_tokens: 5, completion_tokens: 'x' })).toEqual({
      promptTokens: 5,
      completionTokens: 0,
      totalTokens: 5,
    });
  });

  it('assembles-ready tool-call fragments: missing index → position, object arguments stringified, id/name late', () => {
    const events = readAll([
      '{"choices":[{"delta":{"tool_calls":[{"function":{"arguments":"{\\"a\\""}},{"function":{"name":"second"}}]}}]}',
      '{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}',
      '{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_late","function":{"name":"first"}}]}}]}',
      '{"choices":[{"delta":{"tool_calls":[{"index":2,"id":"call_obj","function":{"name":"obj","arguments":{"city":"Paris"}}}]}}]}',
      '{"choices":[{"delta":{"tool_calls":[{"index":3,"name":"flat","arguments":"{}"}]}}]}',
      '{"choices":[{"delta":{"tool_calls":[{"id":"toolcall-abc123","tool_name":"web_search","args":{},"result":{}}]}}]}',
      '{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":""}}]}}]}',
      '{"choices":[{"finish_reason":"tool_calls","delta":{}}]}',
    ]);
    expect(events).toEqual([
      { type: 'tool_call', index: 0, argumentsDelta: '{"a"' },
      { type: 'tool_call', index: 1, name: 'second' },
      { type: 'tool_call', index: 0, argumentsDelta: ':1}' },
      { type: 'tool_call', index: 0, id: 'call_late', name: 'first' },
      { type: 'tool_call', index: 2, id: 'call_obj', name: 'obj', argumentsDelta: '{"city":"Paris"}' },
      { type: 'tool_call', index: 3, name: 'flat', argumentsDelta: '{}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('falls back to delta.message.content', () => {
    expect(texts(readAll(['{"choices":[{"delta":{"message":{"content":"nested"}}}]}']))).toEqual(['nested']);
  });

  it('reads message.content on a finish chunk only when nothing was yielded yet (asi1-vs-code workaround)', () => {
    const finishWithMessage =
      '{"choices":[{"finish_reason":"stop","delta":{},"message":{"role":"assistant","content":"whole answer"}}]}';
    expect(readAll([finishWithMessage])).toEqual([
      { type: 'text', text: 'whole answer' },
      { type: 'finish', reason: 'stop' },
    ]);
    expect(texts(readAll(['{"choices":[{"delta":{"content":"streamed"}}]}', finishWithMessage]))).toEqual(['streamed']);
  });

  it('accepts OpenAI content parts', () => {
    expect(texts(readAll(['{"choices":[{"delta":{"content":[{"type":"text","text":"a"},"b"]}}]}']))).toEqual(['ab']);
  });
});

describe('chunk reader: non-stream bodies', () => {
  it('reads the gen-1 body: thought array as reasoning, content as one text, usage', () => {
    const body = JSON.parse(
      '{"model":"asi1-mini","id":"id_kKg27rnGyfH4NknTL","executable_data":[],"conversation_id":null,' +
        '"thought":["The user has initiated a simple greeting. ..."],"tool_thought":[],' +
        '"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"Hello! I\'m ASI1-Mini ..."}}],' +
        '"usage":{"prompt_tokens":39,"completion_tokens":100,"total_tokens":139}}',
    );
    expect(readCompletionBody(body)).toEqual([
      { type: 'reasoning', text: 'The user has initiated a simple greeting. ...' },
      { type: 'text', text: "Hello! I'm ASI1-Mini ..." },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 39, completionTokens: 100, totalTokens: 139 } },
    ]);
  });

  it('reads the gen-2 body and ignores null reasoning and thought: [null]', () => {
    const body = JSON.parse(
      '{"id":"ec3e76554baa4ebb838173e7f32fdb94",' +
        '"choices":[{"finish_reason":"stop","index":0,"logprobs":null,' +
        '"message":{"content":"Hey there! 👋 ...","refusal":null,"role":"assistant","annotations":null,' +
        '"audio":null,"function_call":null,"tool_calls":null,"reasoning_content":null},' +
        '"matched_stop":151336}],' +
        '"created":1768409272,"model":"asi1","object":"chat.completion",' +
        '"service_tier":null,"system_fingerprint":null,' +
        '"usage":{"completion_tokens":149,"prompt_tokens":2105,"total_tokens":2254,' +
        '"completion_tokens_details":null,"prompt_tokens_details":null,"reasoning_tokens":0},' +
        '"metadata":{"weight_version":"default"},"thought":[null]}',
    );
    expect(readCompletionBody(body)).toEqual([
      { type: 'text', text: 'Hey there! 👋 ...' },
      { type: 'finish', reason: 'stop' },
      { type: 'usage', usage: { promptTokens: 2105, completionTokens: 149, totalTokens: 2254 } },
    ]);
  });

  it('reads tool calls with full arguments next to text', () => {
    const body = {
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          message: {
            role: 'assistant',
            content: "I'll get the weather.",
            reasoning_content: 'needs a tool',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"location":"Paris"}' } },
              { id: 'call_2', type: 'function', function: { name: 'get_time', arguments: { tz: 'CET' } } },
              { id: 'toolcall-abc123', tool_name: 'web_search', args: {}, result: {} },
            ],
          },
        },
      ],
    };
    expect(readCompletionBody(body)).toEqual([
      { type: 'reasoning', text: 'needs a tool' },
      { type: 'text', text: "I'll get the weather." },
      { type: 'tool_call', index: 0, id: 'call_1', name: 'get_weather', argumentsDelta: '{"location":"Paris"}' },
      { type: 'tool_call', index: 1, id: 'call_2', name: 'get_time', argumentsDelta: '{"tz":"CET"}' },
      { type: 'finish', reason: 'tool_calls' },
    ]);
  });

  it('reads a body that is really one stream chunk', () => {
    expect(readCompletionBody(JSON.parse(GEN2_SAMPLE[1]!))).toEqual([{ type: 'text', text: 'Hello' }]);
  });

  it('yields nothing for bodies without choices', () => {
    expect(readCompletionBody({ error: { message: 'x' } })).toEqual([]);
    expect(readCompletionBody('nope')).toEqual([]);
  });
});
