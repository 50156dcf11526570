// The simulator calls the demo tools as asi1-mini would (preamble, then streamed calls) and reads their results
// back as plain speech. Real sockets on port 0; the built-in tools run with a pinned clock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { cityTimeZone, toArithmeticExpression } from '../../src/simulator/tool-intents.js';
import { calculatorTool } from '../../src/tools/builtin/calculator.js';
import { createClockTool } from '../../src/tools/builtin/clock.js';
import type { ToolDefinition } from '../../src/tools/types.js';

interface ToolDelta {
  index: number;
  id?: string;
  function: { name?: string; arguments?: string };
}
interface Chunk {
  choices: { delta: { content?: string | null; tool_calls?: ToolDelta[] }; finish_reason?: string | null }[];
}
interface Call {
  id: string;
  name: string;
  arguments: string;
}
interface Message {
  role: string;
  content: string | null;
  tool_call_id?: string;
  tool_calls?: unknown[];
}

const clock = createClockTool(() => new Date('2026-11-25T17:20:00Z'));
const TOOLS: ToolDefinition[] = [clock, calculatorTool];
const SPECS = TOOLS.map((t) => ({
  type: 'function',
  function: { name: t.name, description: t.description, parameters: t.parameters },
}));
const context = { signal: new AbortController().signal, sessionId: 'test' };

let sim: Simulator;

beforeEach(async () => {
  sim = await startSimulator({ defaults: { ttftMs: 0, interTokenMs: 0 } });
});

afterEach(async () => {
  await sim.close();
});

/** Streams one request and assembles its content, tool calls (by index) and finish reason. */
async function chat(
  messages: Message[],
  extra: Record<string, unknown> = { tools: SPECS },
): Promise<{ content: string; calls: Call[]; finish: string | null | undefined; order: string[] }> {
  const response = await fetch(`${sim.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'asi1-mini', stream: true, messages, ...extra }),
  });
  const chunks = (await response.text())
    .split('\n\n')
    .map((event) => event.replace(/^data: /, ''))
    .filter((data) => data !== '' && data !== '[DONE]' && !data.startsWith(':'))
    .map((data) => JSON.parse(data) as Chunk);
  let content = '';
  const calls: Call[] = [];
  const order: string[] = [];
  let finish: string | null | undefined;
  for (const choice of chunks.flatMap((c) => c.choices)) {
    if (choice.delta.content) {
      content += choice.delta.content;
      order.push('content');
    }
    for (const fragment of choice.delta.tool_calls ?? []) {
      order.push('tool');
      const call = (calls[fragment.index] ??= { id: '', name: '', arguments: '' });
      call.id ||= fragment.id ?? '';
      call.name ||= fragment.function.name ?? '';
      call.arguments += fragment.function.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  return { content, calls, finish, order: order.filter((kind, i) => kind !== order[i - 1]) };
}

/** Runs the calls with the real built-in tools, as the gateway's registry would, into tool messages. */
async function runCalls(calls: Call[]): Promise<Message[]> {
  const assistant: Message = {
    role: 'assistant',
    content: 'Let me check.',
    tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
  };
  const results = await Promise.all(
    calls.map(async (call): Promise<Message> => {
      const tool = TOOLS.find((t) => t.name === call.name)!;
      let content: string;
      try {
        content = JSON.stringify(await tool.execute(JSON.parse(call.arguments) as Record<string, unknown>, context));
      } catch (err) {
        content = JSON.stringify({ error: (err as Error).message });
      }
      return { role: 'tool', tool_call_id: call.id, content };
    }),
  );
  return [assistant, ...results];
}

const user = (content: string): Message => ({ role: 'user', content });

describe('the simulator as a tool-using model', () => {
  it('answers "what time is it?" with a preamble, a get_current_time call, then the spoken time', async () => {
    const first = await chat([user('What time is it?')]);
    expect(first.content).toBe('Let me check.');
    expect(first.order).toEqual(['content', 'tool']);
    expect(first.calls).toEqual([{ id: expect.stringMatching(/^call_/), name: 'get_current_time', arguments: '{}' }]);
    expect(first.finish).toBe('tool_calls');
    const second = await chat([user('What time is it?'), ...(await runCalls(first.calls))]);
    expect(second.content).toBe('It is 17:20 on Wednesday, 25 November 2026 in UTC.');
    expect(second.calls).toEqual([]);
    expect(second.finish).toBe('stop');
  });

  it('answers "what is 12 times 7?" through the calculate tool', async () => {
    const first = await chat([user('What is 12 times 7?')]);
    expect(first.content).toBe('Let me check.');
    expect(first.calls.map((c) => [c.name, c.arguments])).toEqual([['calculate', '{"expression":"12 * 7"}']]);
    const second = await chat([user('What is 12 times 7?'), ...(await runCalls(first.calls))]);
    expect(second.content).toBe('12 times 7 is 84.');
  });

  it('makes parallel calls when asked for both, naming the zone of a known city', async () => {
    const question = user('What time is it in Tokyo, and what is the square root of 81?');
    const first = await chat([question]);
    expect(first.calls.map((c) => [c.name, c.arguments])).toEqual([
      ['get_current_time', '{"timeZone":"Asia/Tokyo"}'],
      ['calculate', '{"expression":"sqrt(81)"}'],
    ]);
    expect(new Set(first.calls.map((c) => c.id)).size).toBe(2);
    const second = await chat([question, ...(await runCalls(first.calls))]);
    expect(second.content).toBe('It is 02:20 on Thursday, 26 November 2026 in Asia/Tokyo. sqrt(81) is 9.');
  });

  it('apologises with the error when a tool fails', async () => {
    const first = await chat([user('what is 1 divided by 0')]);
    expect(first.calls[0]?.arguments).toBe('{"expression":"1 / 0"}');
    const second = await chat([user('what is 1 divided by 0'), ...(await runCalls(first.calls))]);
    expect(second.content).toBe('Sorry, that did not work: Division by zero at position 2.');
  });

  it('answers non-streaming requests with the preamble and the calls in one message', async () => {
    const response = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'asi1-mini', messages: [user('What day is it today?')], tools: SPECS }),
    });
    expect(await response.json()).toMatchObject({
      choices: [
        {
          finish_reason: 'tool_calls',
          message: {
            content: 'Let me check.',
            tool_calls: [{ type: 'function', function: { name: 'get_current_time', arguments: '{}' } }],
          },
        },
      ],
    });
  });
});

describe('when the simulator does not call tools', () => {
  it('gives the demo reply when the request offers no matching tool', async () => {
    const noTools = await chat([user('What time is it?')], {});
    expect(noTools.calls).toEqual([]);
    expect(noTools.content).toContain('offline simulator');
    const calculatorOnly = await chat([user('What time is it?')], {
      tools: SPECS.filter((s) => s.function.name === 'calculate'),
    });
    expect(calculatorOnly.calls).toEqual([]);
  });

  it('gives the demo reply when nothing asks for the time or arithmetic', async () => {
    const { calls, content } = await chat([user('Tell me a story about 3 cats.')]);
    expect(calls).toEqual([]);
    expect(content).toContain('offline simulator');
  });

  it('lets a scripted reply or scripted tool calls take precedence', async () => {
    sim.enqueue(
      { reply: 'Scripted.' },
      { toolCalls: [{ name: 'calculate', arguments: '{"expression":"1 + 1"}', id: 'call_s' }] },
    );
    const scripted = await chat([user('What time is it?')]);
    expect(scripted).toMatchObject({ content: 'Scripted.', calls: [], finish: 'stop' });
    const calls = await chat([user('What time is it?')]);
    expect(calls).toMatchObject({
      content: '',
      calls: [{ id: 'call_s', name: 'calculate', arguments: '{"expression":"1 + 1"}' }],
    });
  });

  it('only reacts to a user message last', async () => {
    const { calls } = await chat([user('What time is it?'), { role: 'assistant', content: 'It is noon.' }]);
    expect(calls).toEqual([]);
  });

  it('still quotes results without a text field, naming the tool', async () => {
    const messages: Message[] = [
      user('What time is it?'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_current_time', arguments: '{}' } },
          { id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"text":"It is noon"}' },
      { role: 'tool', tool_call_id: 'call_2', content: '42' },
    ];
    const { content } = await chat(messages);
    expect(content).toMatch(/^It is noon\. The lookup tool returned: 42\. This is the offline simulator/);
  });
});

describe('spoken arithmetic', () => {
  it.each([
    ['What is 12 times 7?', '12 * 7'],
    ['what is twelve times seven', '12 * 7'],
    ['twenty-one plus 4', '21 + 4'],
    ['What is the square root of 81?', 'sqrt(81)'],
    ["what's 15 percent of 80", '15% * 80'],
    ['15% of 80', '15% * 80'],
    ['2 to the power of 10', '2 ^ 10'],
    ['what is 5 squared', '5 ^ 2'],
    ['1,000 plus 250', '1000 + 250'],
    ['100 divided by 8', '100 / 8'],
    ['100 over 8', '100 / 8'],
    ['10 mod 3', '10 % 3'],
    ['5 minus -3', '5 - -3'],
    ['12 x 7', '12 * 7'],
    ['(2 + 3) * 4', '(2 + 3) * 4'],
    ['what is 50 percent minus 3', '50% - 3'],
  ])('turns %j into %j', (text, expression) => {
    expect(toArithmeticExpression(text)).toBe(expression);
  });

  it.each(['what is -5', 'how many times', 'what is 12 times', 'I have 3 cats and 2 dogs', 'What time is it?'])(
    'finds no arithmetic in %j',
    (text) => {
      expect(toArithmeticExpression(text)).toBeNull();
    },
  );

  it('maps a few well-known cities to IANA zones', () => {
    expect(cityTimeZone('time in New York please')).toBe('America/New_York');
    expect(cityTimeZone('and in los angeles?')).toBe('America/Los_Angeles');
    expect(cityTimeZone('what time is it')).toBeUndefined();
  });
});
