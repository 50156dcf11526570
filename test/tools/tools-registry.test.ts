// The registry and the streamed tool-call assembler on their own: validation, timeouts, aborts, fragments.
import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
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

  it('rejects arguments that are JSON but not an object', () => {
    const assembler = new ToolCallAssembler();
    assembler.add({ index: 0, name: 'x', argumentsDelta: '[1,2]' });
    expect(assembler.finish()[0]?.args).toEqual({ ok: false, error: 'The arguments must be a JSON object.' });
  });
});
