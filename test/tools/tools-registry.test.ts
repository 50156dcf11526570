// The registry and the streamed tool-call assembler on their own: validation, timeouts, aborts, fragments.
import { Type } from '@sinclair/typebox';
import { describe, expect, it, vi } from 'vitest';
import { ToolCallAssembler } from '../../src/tools/call-assembler.js';
import { ToolRegistry } from '../../src/tools/registry.js';
import { defineTool } from '../../src/tools/types.js';

const never = defineTool({
  name: 'never',
  description: 'Never settles and ignores its signal.',
  parameters: Type.Object({}),
  execute: () => new Promise(() => {}),
});
const echo = defineTool({
  name: 'echo',
  description: 'Echoes.',
  parameters: Type.Object({ say: Type.String() }, { additionalProperties: false }),
  execute: ({ say }) => ({ said: say }),
});

describe('ToolRegistry', () => {
  const context = () => ({ signal: new AbortController().signal, sessionId: 's' });

  it('exports plain JSON Schema declarations for the upstream', () => {
    const registry = new ToolRegistry([echo], { defaultTimeoutMs: 1000 });
    expect(registry.specs()).toEqual([
      {
        type: 'function',
        function: {
          name: 'echo',
          description: 'Echoes.',
          parameters: {
            type: 'object',
            properties: { say: { type: 'string' } },
            required: ['say'],
            additionalProperties: false,
          },
        },
      },
    ]);
  });

  it('validates arguments before running', async () => {
    const registry = new ToolRegistry([echo], { defaultTimeoutMs: 1000 });
    expect(await registry.run('echo', { say: 'hi' }, context())).toEqual({ ok: true, output: '{"said":"hi"}' });
    expect(await registry.run('echo', { say: 1 }, context())).toMatchObject({
      ok: false,
      error: expect.stringContaining('/say must be string'),
    });
    expect(await registry.run('echo', { say: 'x', extra: 1 }, context())).toMatchObject({ ok: false });
  });

  it('abandons a tool that outlives its timeout, and one whose response was interrupted', async () => {
    const registry = new ToolRegistry([{ ...never, timeoutMs: 20 }], { defaultTimeoutMs: 1000 });
    expect(await registry.run('never', {}, context())).toEqual({ ok: false, error: 'never timed out after 20 ms.' });
    const controller = new AbortController();
    const running = registry.run('never', {}, { signal: controller.signal, sessionId: 's' });
    controller.abort();
    expect(await running).toEqual({ ok: false, error: 'never was cancelled.' });
  });

  it('refuses malformed definitions at start-up', () => {
    expect(() => new ToolRegistry([echo, echo], { defaultTimeoutMs: 1 })).toThrow(/defined twice/);
    expect(() => new ToolRegistry([{ ...echo, name: 'bad name' }], { defaultTimeoutMs: 1 })).toThrow(/must match/);
    expect(() => new ToolRegistry([{ ...echo, parameters: { type: 'string' } }], { defaultTimeoutMs: 1 })).toThrow(
      /"type": "object"/,
    );
  });
});

describe('ToolCallAssembler', () => {
  it('completes a call as soon as its fragmented arguments form a JSON object', () => {
    const assembler = new ToolCallAssembler();
    expect(assembler.add({ index: 0, id: 'call_1', name: 'calculate', argumentsDelta: '' })).toEqual([]);
    expect(assembler.add({ index: 0, argumentsDelta: '{"expression":' })).toEqual([]);
    const [call] = assembler.add({ index: 0, argumentsDelta: ' "1+1"}' });
    expect(call).toMatchObject({ id: 'call_1', name: 'calculate', args: { ok: true, value: { expression: '1+1' } } });
    expect(assembler.finish()).toEqual([]);
  });

  it('keeps interleaved fragments of parallel calls apart by index', () => {
    const assembler = new ToolCallAssembler();
    assembler.add({ index: 0, id: 'a', name: 'calculate', argumentsDelta: '{"expression":' });
    const second = assembler.add({ index: 1, id: 'b', name: 'get_current_time', argumentsDelta: '{}' });
    expect(second.map((c) => c.id)).toEqual(['b']);
    const first = assembler.add({ index: 0, argumentsDelta: '"6*7"}' });
    expect(first[0]).toMatchObject({ id: 'a', args: { ok: true, value: { expression: '6*7' } } });
  });

  it('holds at most maxCalls calls: fragments of later calls are counted, not kept, however many arrive', () => {
    const assembler = new ToolCallAssembler(2);
    assembler.add({ index: 0, id: 'a', name: 'calculate', argumentsDelta: '{"expression":' });
    for (let index = 1; index <= 10_000; index += 1) {
      assembler.add({ index, id: `c${index}`, name: 'get_current_time', argumentsDelta: '{}' });
    }
    expect(assembler.size).toBe(2);
    expect(assembler.ignoredFragments).toBe(9_999);
    // The calls it holds still assemble, whatever came in between.
    expect(assembler.add({ index: 0, argumentsDelta: '"1"}' }).map((c) => c.id)).toEqual(['a']);
    expect(assembler.finish()).toEqual([]);
  });

  it('completes argument-less and broken calls when the stream ends, with generated ids', () => {
    const assembler = new ToolCallAssembler();
    assembler.add({ index: 0, name: 'get_current_time' });
    assembler.add({ index: 1, name: 'calculate', argumentsDelta: '{"expression": "1 +' });
    assembler.add({ index: 2, argumentsDelta: '{}' }); // never named: cannot be run
    const calls = assembler.finish();
    expect(calls.map((c) => c.name)).toEqual(['get_current_time', 'calculate']);
    expect(calls[0]).toMatchObject({ args: { ok: true, value: {} } });
    expect(calls[0]?.id).toMatch(/^call_[0-9a-f]{24}$/);
    expect(calls[1]?.args).toMatchObject({ ok: false, error: expect.stringContaining('not valid JSON') });
  });

  it('completes a call whose closing brace comes with whitespace after it, in a fragment of its own', () => {
    const assembler = new ToolCallAssembler();
    expect(assembler.add({ index: 0, id: 'f', name: 'calculate', argumentsDelta: '{"expression": "2*3"' })).toEqual([]);
    expect(assembler.add({ index: 0, argumentsDelta: ' ' })).toEqual([]);
    expect(assembler.add({ index: 0, argumentsDelta: '}\n' })).toHaveLength(1);
  });

  it('parses a long argument text again only once it has doubled: fragments ending in `}` inside a string', () => {
    // {"a":"}}}}…: every fragment ends in `}`, none completes the object. Parsing the whole text each time would
    // read about n² / 2 characters; the characters JSON.parse is given are counted.
    const parse = JSON.parse;
    let parsed = 0;
    const spy = vi.spyOn(JSON, 'parse').mockImplementation((text: string, reviver?: Parameters<typeof parse>[1]) => {
      parsed += text.length;
      return parse(text, reviver);
    });
    const assembler = new ToolCallAssembler();
    const n = 20_000;
    try {
      assembler.add({ index: 0, id: 'g', name: 'calculate', argumentsDelta: '{"a":"' });
      for (let i = 0; i < n; i += 1) expect(assembler.add({ index: 0, argumentsDelta: '}' })).toEqual([]);
      expect(assembler.add({ index: 0, argumentsDelta: '"}' })).toEqual([]); // complete now, but not parsed yet
    } finally {
      spy.mockRestore();
    }
    // Below 4 KB each fragment is parsed (about 8 MB of text in all); past it, parses at 4 KB, 8 KB, 16 KB.
    expect(parsed).toBeLessThan(12_000_000);
    const [call] = assembler.finish();
    expect(call).toMatchObject({ id: 'g', args: { ok: true } });
  });

  it('rejects arguments that are JSON but not an object', () => {
    const assembler = new ToolCallAssembler();
    assembler.add({ index: 0, name: 'x', argumentsDelta: '[1,2]' });
    expect(assembler.finish()[0]?.args).toEqual({ ok: false, error: 'The arguments must be a JSON object.' });
  });
});
