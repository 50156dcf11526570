// Chunk shapes from the upstream, end to end: both ASI:One wire generations (gen-1 `thought` chunks, gen-2
// SGLang-style), odd but legal chunk shapes, and tool-call chunks. Reasoning never reaches the client.
import { describe, expect, it } from 'vitest';
import { GEN2_ID, gen1Capture, gen2Chunk, gen2Reply, plainStream, sequence } from '../awkward-upstream-server.js';
import { dataLines, rig, SECRET, streams, turn, useAwkwardRig } from './awkward-rig.js';

useAwkwardRig();

// ---- Wire generations and chunk shapes ----------------------------------------------------------------------

describe('ASI:One wire generations', () => {
  it('reads the exact gen-1 capture shape: init_thought, top-level thought never forwarded, two finish chunks, usage last', async () => {
    const thoughts = [`\n${SECRET} The user has asked`, ' about giraffes', `. ${SECRET} again`, '.\n'];
    const pieces = ['\n\nGiraffes ', 'are the tallest ', 'land animals. ', 'Their necks are long.'];
    const { client } = await rig(streams(plainStream(gen1Capture(thoughts, pieces))));
    const done = await turn(client, 'Tell me about giraffes');
    expect(done).toMatchObject({ status: 'completed', text: pieces.join('') });
    expect(done.usage).toEqual({ promptTokens: 435, completionTokens: 391, totalTokens: 826 });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
    expect(JSON.stringify(client.events)).not.toContain('The user has asked');
    // `init_thought: true` is a marker, not text (llama-index leaks it as "True").
    expect(done.text).not.toMatch(/true/i);
  });

  it('reads the gen-2 SGLang shape: reasoning_content fragments never forwarded, a `choices: []` usage chunk', async () => {
    const chunks = [
      gen2Chunk({ role: 'assistant', content: '', reasoning_content: null }),
      gen2Chunk({ content: null, reasoning_content: `${SECRET} thinking` }),
      gen2Chunk({ content: null, reasoning_content: ' about the answer.' }),
      gen2Chunk({ content: 'Hello ', reasoning_content: null }),
      gen2Chunk({ content: 'from gen two.', reasoning_content: null }),
      gen2Chunk({ content: '', reasoning_content: null }, 'stop'),
      {
        id: 'x',
        object: 'chat.completion.chunk',
        created: 1,
        model: 'asi1-mini',
        choices: [],
        usage: {
          prompt_tokens: 20,
          completion_tokens: 5,
          total_tokens: 25,
          reasoning_tokens: 3,
          prompt_tokens_details: null,
        },
      },
    ];
    const { client } = await rig(streams(plainStream(chunks)));
    const done = await turn(client);
    expect(done).toMatchObject({
      status: 'completed',
      text: 'Hello from gen two.',
      usage: { promptTokens: 20, completionTokens: 5, totalTokens: 25 },
    });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
    expect(JSON.stringify(client.events)).not.toContain('about the answer');
  });

  it('completes a reasoning-only reply with empty text and forwards none of the reasoning', async () => {
    const chunks = [
      gen2Chunk({ role: 'assistant', content: null, reasoning_content: `${SECRET} only thinking` }),
      gen2Chunk({ content: null, reasoning_content: null }, 'stop'),
    ];
    const { client } = await rig(streams(plainStream(chunks)));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: '' });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
  });
});

describe('odd but legal chunk shapes', () => {
  const cases: { name: string; chunks: unknown[]; text: string }[] = [
    {
      name: 'content arriving in the very first (role) chunk',
      chunks: [
        gen2Chunk({ role: 'assistant', content: 'First words, ' }),
        gen2Chunk({ content: 'then more.' }),
        gen2Chunk({}, 'stop'),
      ],
      text: 'First words, then more.',
    },
    {
      name: 'content and finish_reason in the same chunk',
      chunks: [
        gen2Chunk({ role: 'assistant', content: '' }),
        gen2Chunk({ content: 'All at ' }),
        gen2Chunk({ content: 'once.' }, 'stop'),
      ],
      text: 'All at once.',
    },
    {
      name: 'the whole reply in a single chunk with role, content and finish_reason',
      chunks: [gen2Chunk({ role: 'assistant', content: 'Just this.' }, 'stop')],
      text: 'Just this.',
    },
    {
      name: '`content: null` chunks among text chunks',
      chunks: [
        gen2Chunk({ role: 'assistant', content: null }),
        gen2Chunk({ content: 'Null ' }),
        gen2Chunk({ content: null }),
        gen2Chunk({ content: 'skipped.' }),
        gen2Chunk({ content: null }, 'stop'),
      ],
      text: 'Null skipped.',
    },
    {
      name: 'choices without an `index`',
      chunks: [
        { choices: [{ delta: { role: 'assistant', content: 'No ' } }] },
        { choices: [{ delta: { content: 'index.' } }] },
        { choices: [{ delta: {}, finish_reason: 'stop' }] },
      ],
      text: 'No index.',
    },
    {
      name: 'a chunk with no `delta` at all',
      chunks: [
        gen2Chunk({ role: 'assistant', content: 'Before ' }),
        { id: 'x', choices: [{ index: 0, finish_reason: null }] },
        gen2Chunk({ content: 'after.' }),
        { id: 'x', choices: [{ index: 0, finish_reason: 'stop' }] },
      ],
      text: 'Before after.',
    },
    {
      name: 'no `id`, `object`, `model` or `created` anywhere',
      chunks: [
        { choices: [{ index: 0, delta: { content: 'Bare ' } }] },
        { choices: [{ index: 0, delta: { content: 'chunks.' }, finish_reason: 'stop' }] },
      ],
      text: 'Bare chunks.',
    },
    {
      name: 'unknown extra fields at every level',
      chunks: [
        {
          ...gen2Chunk({ role: 'assistant', content: 'Extra ', x_delta: { a: 1 } }),
          x_top: [1, 2],
          metadata: { weight_version: 'default' },
        },
        {
          id: 'x',
          x_top: null,
          choices: [
            {
              index: 0,
              x_choice: 'y',
              delta: { content: 'fields.', x_delta: true, annotations: [] },
              logprobs: null,
              finish_reason: null,
            },
          ],
        },
        {
          id: 'x',
          choices: [{ index: 0, delta: { content: '' }, finish_reason: 'stop', stop_reason: 'stop', x_choice: {} }],
          usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3, x_usage: 9 },
        },
      ],
      text: 'Extra fields.',
    },
    {
      name: 'usage on a non-final chunk, and a finish_reason of "length"',
      chunks: [
        gen2Chunk({ role: 'assistant', content: 'Cut ' }, null, {
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        }),
        gen2Chunk({ content: 'short' }),
        gen2Chunk({ content: '' }, 'length'),
      ],
      text: 'Cut short',
    },
    {
      name: 'OpenAI content parts instead of a content string',
      chunks: [
        gen2Chunk({ role: 'assistant', content: [{ type: 'text', text: 'Parts ' }] }),
        gen2Chunk({ content: [{ type: 'text', text: 'work.' }] }, 'stop'),
      ],
      text: 'Parts work.',
    },
    {
      name: 'an empty `{}` data payload and a `choices: null` chunk',
      chunks: [
        {},
        gen2Chunk({ role: 'assistant', content: 'Empty ' }),
        { id: 'x', choices: null },
        gen2Chunk({ content: 'ignored.' }, 'stop'),
      ],
      text: 'Empty ignored.',
    },
    {
      name: 'a second choice (index 1) that must not be mixed into the reply',
      chunks: [
        {
          choices: [
            { index: 1, delta: { content: 'WRONG ' } },
            { index: 0, delta: { role: 'assistant', content: 'Only ' } },
          ],
        },
        {
          choices: [
            { index: 0, delta: { content: 'choice zero.' } },
            { index: 1, delta: { content: 'WRONG' } },
          ],
        },
        { choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      ],
      text: 'Only choice zero.',
    },
  ];

  it.each(cases)('accepts $name', async ({ chunks, text }) => {
    const { client } = await rig(streams(plainStream(chunks)));
    expect(await turn(client)).toMatchObject({ status: 'completed', text });
  });

  it('skips a `data:` line with malformed JSON in the middle of a good stream and completes with the rest', async () => {
    const [role, ...rest] = gen2Reply(['Good ', 'start, ', 'good end.']);
    const wire = dataLines([
      role,
      rest[0],
      '{"choices":[{"index":0,"delta":{"content":"BROKEN',
      rest[1],
      'not json at all',
      ...rest.slice(2),
    ]);
    const { client } = await rig(streams(wire));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: 'Good start, good end.' });
    expect(done.text).not.toContain('BROKEN');
  });
});

// ---- Tool-call chunks ----------------------------------------------------------------------------------------

describe('tool-call chunks', () => {
  /** OpenAI delta.tool_calls fragments keyed by index, sent call after call or with call 0's tail after call 1. */
  const toolCallStream = (order: 'sequential' | 'interleaved'): string => {
    const open0 = gen2Chunk({
      tool_calls: [{ index: 0, id: 'call_calc', type: 'function', function: { name: 'calculate', arguments: '' } }],
    });
    const head0 = gen2Chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expression":' } }] });
    const tail0 = gen2Chunk({ tool_calls: [{ index: 0, function: { arguments: ' "6 * 7"}' } }] });
    const call1 = gen2Chunk({
      tool_calls: [
        { index: 1, id: 'call_time', type: 'function', function: { name: 'get_current_time', arguments: '{}' } },
      ],
    });
    return plainStream([
      gen2Chunk({ role: 'assistant', content: '', reasoning_content: null }),
      gen2Chunk({ content: 'Let me work that out. ' }),
      ...(order === 'sequential' ? [open0, head0, tail0, call1] : [open0, head0, call1, tail0]),
      gen2Chunk({ content: null }, 'tool_calls'),
      {
        id: GEN2_ID,
        object: 'chat.completion.chunk',
        choices: [],
        usage: { prompt_tokens: 10, completion_tokens: 10, total_tokens: 20 },
      },
    ]);
  };
  const followUp = streams(plainStream(gen2Reply(['It is 42.'])));

  it.each(['sequential', 'interleaved'] as const)(
    'survives %s tool_calls fragments with finish_reason "tool_calls": one done, no crash, each call with its whole arguments',
    async (order) => {
      const { client, upstream } = await rig(sequence(streams(toolCallStream(order)), followUp));
      const done = await turn(client, 'What is six times seven?');
      expect(['completed', 'failed']).toContain(done.status);
      if (done.status === 'failed') expect(done.error?.code).toMatch(/^GW_/);
      expect(done.error?.code).not.toBe('GW_INTERNAL');
      expect(done.text.startsWith('Let me work that out. ')).toBe(true);
      // Whatever the gateway does with tool calls, a call it reports must carry the arguments assembled by index.
      const calc = client.events.flatMap((e) =>
        e.type === 'response.tool_call' && e.callId === 'call_calc' ? [e] : [],
      );
      for (const call of calc) expect(call.arguments.replace(/\s/g, '')).toBe('{"expression":"6*7"}');
      // And if it ran the tool, the follow-up request carries the result, not an argument error.
      const toolMessage = upstream.requests
        .flatMap((r) => (r.body?.messages ?? []) as { role: string; tool_call_id?: string; content: string }[])
        .find((m) => m.role === 'tool' && m.tool_call_id === 'call_calc');
      if (toolMessage) expect(toolMessage.content).toContain('42');
    },
  );

  it('survives ASI finish_reason "tool_calls" with no tool_calls array at all (a real ASI quirk)', async () => {
    const chunks = [
      gen2Chunk({ role: 'assistant', content: 'I would call a tool here.' }),
      gen2Chunk({ content: '' }, 'tool_calls'),
    ];
    const { client } = await rig(streams(plainStream(chunks)));
    const done = await turn(client);
    expect(['completed', 'failed']).toContain(done.status);
    expect(done.error?.code).not.toBe('GW_INTERNAL');
    expect(done.text).toBe('I would call a tool here.');
  });
});
