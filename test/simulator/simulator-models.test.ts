// Per-model profiles (asi1-mini fastest and shortest, asi1-ultra slowest and longest) and the escalation intent
// (asi1-mini hands a question that asks for depth to consult_deeper_model), over real sockets on port 0. Timing
// is asserted on what the simulator decided (the recorded scenario), never on measured durations.
import { afterEach, describe, expect, it } from 'vitest';
import { handOffMessages } from '../../src/session/escalation.js';
import { asksForDepth, ESCALATION_PREAMBLE } from '../../src/simulator/escalation-intent.js';
import { parseModelProfiles, resolveModelProfiles } from '../../src/simulator/model-profiles.js';
import { FAMILY_PROFILES, startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';

interface Message {
  role: string;
  content: string | null;
}
interface Completion {
  choices: {
    finish_reason: string;
    message: { content: string | null; tool_calls: { function: { name: string; arguments: string } }[] | null };
  }[];
}

const MODELS = ['asi1-mini', 'asi1', 'asi1-ultra'] as const;
const USER: Message[] = [{ role: 'user', content: 'Tell me about whales' }];
const TOOL_SPEC = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object' } } });
const ESCALATION_TOOLS = [TOOL_SPEC('consult_deeper_model'), TOOL_SPEC('get_current_time'), TOOL_SPEC('calculate')];

let sim: Simulator | undefined;

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function start(options: SimulatorOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ defaults: { ttftMs: 10, interTokenMs: 0 }, ...options });
  return sim;
}

/** One non-streaming request; returns its message and the scenario the simulator answered it with. */
async function ask(model: string, messages: Message[] = USER, extra: Record<string, unknown> = {}) {
  const response = await fetch(`${sim!.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages, ...extra }),
  });
  expect(response.status).toBe(200);
  const choice = ((await response.json()) as Completion).choices[0]!;
  return {
    content: choice.message.content ?? '',
    calls: (choice.message.tool_calls ?? []).map((c) => c.function),
    finish: choice.finish_reason,
    scenario: sim!.requests.at(-1)!.scenario!,
  };
}

const words = (text: string): number => text.split(/\s+/).filter((w) => w !== '').length;

describe('model profiles', () => {
  it('are off by default: every model gets the same text and the scenario’s timing', async () => {
    await start();
    const answers = [];
    for (const model of MODELS) answers.push(await ask(model));
    expect(new Set(answers.map((a) => a.content)).size).toBe(1);
    expect(answers[0]?.content).toContain('This is the offline simulator, not asi1-mini.');
    expect(answers.map((a) => [a.scenario.ttftMs, a.scenario.interTokenMs])).toEqual([
      [10, 0],
      [10, 0],
      [10, 0],
    ]);
  });

  it('family: asi1 answers later and longer than asi1-mini, asi1-ultra later and longer still', async () => {
    await start({ modelProfiles: 'family' });
    const [mini, full, ultra] = [await ask('asi1-mini'), await ask('asi1'), await ask('asi1-ultra')];
    expect([mini.scenario.ttftMs, full.scenario.ttftMs, ultra.scenario.ttftMs]).toEqual([10, 20, 40]);
    expect(words(mini.content)).toBeLessThan(words(full.content));
    expect(words(full.content)).toBeLessThan(words(ultra.content));
    // About lengthScale times the mini reply, by whole sentences of the same plain style.
    expect(words(full.content)).toBeGreaterThanOrEqual(2 * words(mini.content));
    expect(words(ultra.content)).toBeGreaterThanOrEqual(3 * words(mini.content));
    expect(words(ultra.content)).toBeLessThan(4 * words(mini.content));
    for (const answer of [full, ultra]) expect(answer.content).not.toMatch(/[*#`\n]/);
    expect(full.content).toContain('not asi1.');
    expect(full.content).toContain('Speaking as the simulated asi1,');
    expect(ultra.content).toContain('Speaking as the simulated asi1-ultra,');
    for (const answer of [mini, full, ultra]) expect(answer.content).toContain('You said: "Tell me about whales".');
    // asi1-mini is the profile baseline: the same text as with profiles off.
    expect(mini.content).toMatch(
      /^This is the offline simulator, not asi1-mini\. .* Try talking over me to test barge-in\.$/,
    );
    expect(words(mini.content)).toBe(56);
  });

  it('family: replies are deterministic, and the mini reply equals the one with profiles off', async () => {
    await start({ modelProfiles: 'family' });
    const first = [await ask('asi1-ultra'), await ask('asi1-mini')];
    const again = [await ask('asi1-ultra'), await ask('asi1-mini')];
    expect(again.map((a) => a.content)).toEqual(first.map((a) => a.content));
    await sim!.close();
    await start();
    expect((await ask('asi1-mini')).content).toBe(first[1]?.content);
  });

  it('scales the time between tokens too, and keeps a scripted reply’s exact text', async () => {
    await start({ modelProfiles: 'family', defaults: { ttftMs: 10, interTokenMs: 2 } });
    sim!.enqueue(...MODELS.map(() => ({ reply: 'Scripted words only.' })));
    const answers = [];
    for (const model of MODELS) answers.push(await ask(model));
    expect(answers.map((a) => a.content)).toEqual(MODELS.map(() => 'Scripted words only.'));
    expect(answers.map((a) => [a.scenario.ttftMs, a.scenario.interTokenMs])).toEqual([
      [10, 2],
      [20, 3],
      [40, 4],
    ]);
  });

  it('a map overrides the family profile per model, field by field', async () => {
    await start({ modelProfiles: { asi1: { ttftScale: 3 }, 'asi1-ultra': { lengthScale: 1 } } });
    const [mini, full, ultra] = [await ask('asi1-mini'), await ask('asi1'), await ask('asi1-ultra')];
    expect([mini.scenario.ttftMs, full.scenario.ttftMs, ultra.scenario.ttftMs]).toEqual([10, 30, 40]);
    expect(words(full.content)).toBeGreaterThanOrEqual(2 * words(mini.content)); // asi1 keeps lengthScale 2
    expect(words(ultra.content)).toBe(words(mini.content)); // same length, naming asi1-ultra
    expect(ultra.content).toContain('not asi1-ultra.');
  });

  it('a lengthScale below 1 keeps fewer whole sentences (at least one)', async () => {
    await start({ modelProfiles: { asi1: { lengthScale: 0.5 }, 'asi1-ultra': { lengthScale: 0 } } });
    const [mini, half, least] = [await ask('asi1-mini'), await ask('asi1'), await ask('asi1-ultra')];
    expect(words(half.content)).toBeLessThanOrEqual(words(mini.content) / 2);
    expect(half.content).toMatch(/^This is the offline simulator, not asi1\. .*\.$/);
    expect(least.content).toBe('This is the offline simulator, not asi1-ultra.');
  });

  it('leaves tool calls and read-backs alone; only their timing scales', async () => {
    await start({ modelProfiles: 'family' });
    const result = [
      { role: 'user', content: 'What time is it?' },
      { role: 'tool', content: '{"text":"It is 5:20 PM."}' },
    ] as Message[];
    const [mini, ultra] = [await ask('asi1-mini', result), await ask('asi1-ultra', result)];
    expect([mini.content, ultra.content]).toEqual(['It is 5:20 PM.', 'It is 5:20 PM.']);
    expect(ultra.scenario.ttftMs).toBe(40);
  });

  it('parses the CLI and environment spelling, and rejects invalid scales', () => {
    expect(parseModelProfiles('on')).toBe('family');
    expect(parseModelProfiles('family')).toBe('family');
    expect(parseModelProfiles(' off ')).toBe('off');
    expect(parseModelProfiles('asi1:3:1.5:2,asi1-ultra:6:2:4')).toEqual({
      asi1: { ttftScale: 3, interTokenScale: 1.5, lengthScale: 2 },
      'asi1-ultra': { ttftScale: 6, interTokenScale: 2, lengthScale: 4 },
    });
    for (const bad of ['', 'yes', 'asi1:2', 'gpt-4:1:1:1', 'asi1:1:x:1', 'asi1:-1:1:1', 'asi1:1::1']) {
      expect(() => parseModelProfiles(bad), bad).toThrow(RangeError);
    }
    expect(() => resolveModelProfiles({ asi1: { ttftScale: Number.NaN } })).toThrow(RangeError);
    expect(resolveModelProfiles(undefined)).toBeNull();
    expect(resolveModelProfiles('off')).toBeNull();
    expect(resolveModelProfiles('family')).toBe(FAMILY_PROFILES);
    expect(FAMILY_PROFILES['asi1-mini']).toEqual({ ttftScale: 1, interTokenScale: 1, lengthScale: 1 });
  });
});

describe('the escalation intent', () => {
  const QUESTION = 'Explain in detail how the tides work';

  it('asi1-mini offered consult_deeper_model hands a request for depth over, after a short lead-in', async () => {
    await start();
    const response = await fetch(`${sim!.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'asi1-mini',
        stream: true,
        messages: [{ role: 'user', content: `  ${QUESTION},\n please ` }],
        tools: ESCALATION_TOOLS,
      }),
    });
    const chunks = (await response.text())
      .split('\n\n')
      .map((event) => event.replace(/^data: /, ''))
      .filter((data) => data.startsWith('{'))
      .map((data) => JSON.parse(data) as { choices: { delta: Record<string, unknown>; finish_reason?: string }[] });
    const deltas = chunks.flatMap((c) => c.choices);
    const content = deltas.map((d) => (typeof d.delta.content === 'string' ? d.delta.content : '')).join('');
    const fragments = deltas.flatMap(
      (d) => (d.delta.tool_calls as { function: { name?: string; arguments?: string } }[] | undefined) ?? [],
    );
    expect(content).toBe(ESCALATION_PREAMBLE);
    expect(fragments[0]?.function.name).toBe('consult_deeper_model');
    expect(JSON.parse(fragments.map((f) => f.function.arguments ?? '').join(''))).toEqual({
      question: `${QUESTION}, please`,
    });
    expect(deltas.at(-1)?.finish_reason).toBe('tool_calls');
    // The lead-in streams before the call.
    const firstTool = deltas.findIndex((d) => d.delta.tool_calls !== undefined);
    const lastContent = deltas.findLastIndex((d) => typeof d.delta.content === 'string' && d.delta.content !== '');
    expect(lastContent).toBeLessThan(firstTool);
  });

  it('fires only for asi1-mini, with the tool offered and a depth phrase', async () => {
    await start();
    const user = [{ role: 'user', content: QUESTION }];
    const escalated = await ask('asi1-mini', user, { tools: ESCALATION_TOOLS });
    expect(escalated.calls.map((c) => c.name)).toEqual(['consult_deeper_model']);
    expect(escalated.finish).toBe('tool_calls');
    for (const [model, messages, tools] of [
      ['asi1', user, ESCALATION_TOOLS],
      ['asi1-ultra', user, ESCALATION_TOOLS],
      ['asi1-mini', user, [TOOL_SPEC('get_current_time')]],
      ['asi1-mini', user, undefined],
      ['asi1-mini', [{ role: 'user', content: 'Explain how the tides work' }], ESCALATION_TOOLS],
    ] as const) {
      const answer = await ask(model, [...messages], tools === undefined ? {} : { tools });
      expect(answer.calls, `${model} ${messages[0]?.content}`).toEqual([]);
      expect(answer.content).toContain('You said:');
      expect(answer.finish).toBe('stop');
    }
  });

  it('hands over alone, even when the words also ask for the time', async () => {
    await start();
    const user = [{ role: 'user', content: 'What time is it in Tokyo? Think carefully.' }];
    const answer = await ask('asi1-mini', user, { tools: ESCALATION_TOOLS });
    expect(answer.calls).toEqual([
      { name: 'consult_deeper_model', arguments: '{"question":"What time is it in Tokyo? Think carefully."}' },
    ]);
    expect(answer.content).toBe(ESCALATION_PREAMBLE);
  });

  it.each([
    'Can you go in depth on this?',
    'an in-depth answer please',
    'Explain in more detail',
    'Give me a detailed plan',
    'Think harder about it',
    'Please analyse my budget',
    'Analyze the options',
    'I need a thorough answer',
    'Walk me through it step by step',
    'Compare the two offers carefully',
    'Do a deep dive on solar power',
    'What are the pros and cons?',
    'Ask the bigger model',
  ])('counts "%s" as asking for depth', (text) => {
    expect(asksForDepth(text)).toBe(true);
  });

  it.each(['What time is it?', 'Tell me a joke', 'What is 12 times 7?', 'Explain how tides work', 'Details later'])(
    'does not count "%s" as asking for depth',
    (text) => {
      expect(asksForDepth(text)).toBe(false);
    },
  );

  it('the deeper model’s request after the hand-over note answers the user’s words, longer with profiles on', async () => {
    await start({ modelProfiles: 'family' });
    const user = { role: 'user', content: QUESTION };
    const fast = await ask('asi1-mini', [user], { tools: ESCALATION_TOOLS });
    const question = JSON.parse(fast.calls[0]!.arguments) as unknown;
    const handOff = [user, ...(handOffMessages(fast.content, question) as Message[])];
    expect(handOff.map((m) => m.role)).toEqual(['user', 'assistant', 'system']);
    expect(handOff.at(-1)?.content).toMatch(/^A faster assistant began this reply and handed the user’s last message/);
    // The gateway drops consult_deeper_model after the hand-over, but keeps the other tools.
    const deep = await ask('asi1', handOff, { tools: ESCALATION_TOOLS.slice(1) });
    expect(deep.calls).toEqual([]);
    expect(deep.content).toContain(`You said: "${QUESTION}".`);
    expect(deep.content).not.toContain('faster assistant');
    expect(deep.content).toContain('Speaking as the simulated asi1,');
    expect(deep.scenario.ttftMs).toBe(20);
    const mini = await ask('asi1-mini', [user]);
    expect(words(deep.content)).toBeGreaterThan(words(mini.content));
  });

  it('a scripted consult_deeper_model call is sent as given, whatever the model and words', async () => {
    await start();
    sim!.enqueue({
      reply: 'One moment.',
      toolCalls: [
        { name: 'consult_deeper_model', arguments: '{"question":"Why is the sky blue?","model":"asi1-ultra"}' },
      ],
    });
    const answer = await ask('asi1-mini', [{ role: 'user', content: 'Why?' }]);
    expect(answer).toMatchObject({
      content: 'One moment.',
      finish: 'tool_calls',
      calls: [{ name: 'consult_deeper_model', arguments: '{"question":"Why is the sky blue?","model":"asi1-ultra"}' }],
    });
  });
});
