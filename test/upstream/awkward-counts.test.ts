// Counts the upstream gets wrong, end to end: more tool calls in one step than anyone should run, and token
// counts no counter can take. Neither may cost another client its slot or the reply its place in history.
import { describe, expect, it } from 'vitest';
import {
  dataEvent,
  gen2Chunk,
  gen2Reply,
  plainStream,
  sequence,
  startStream,
  writePiece,
} from '../awkward-upstream-server.js';
import { VoiceClient } from '../helpers.js';
import { outputBudgetChars } from '../../src/upstream/output-budget.js';
import { clients, rig, streams, turn, useAwkwardRig } from './awkward-rig.js';

useAwkwardRig();

describe('tool calls in one step', () => {
  it('runs the first MAX_TOOL_CALLS_PER_STEP of 9,000 calls in one chunk (a line under the 1 MiB cap), and the reply goes on', async () => {
    const calls = Array.from({ length: 9_000 }, (_, index) => ({
      index,
      id: `call_${index}`,
      type: 'function',
      function: { name: 'get_current_time', arguments: '{}' },
    }));
    const flood = plainStream([gen2Chunk({ role: 'assistant', tool_calls: calls }), gen2Chunk({}, 'tool_calls')]);
    const { client, upstream } = await rig(sequence(streams(flood), streams(plainStream(gen2Reply(['Noon.'])))), {
      MAX_TOOL_CALLS_PER_STEP: '3',
    });
    expect(await turn(client, 'What time is it?')).toMatchObject({ status: 'completed', text: 'Noon.' });
    const announced = client.events.flatMap((e) => (e.type === 'response.tool_call' ? [e.callId] : []));
    expect(announced).toEqual(['call_0', 'call_1', 'call_2']);
    const results = (upstream.requests[1]?.body?.messages as { role: string }[]).filter((m) => m.role === 'tool');
    expect(results).toHaveLength(3);
  });
});

describe('token counts', () => {
  it('drops counts below zero; the reply stays in history and frees its slot of the address', async () => {
    const chunks = gen2Reply(['Hi there.'], { prompt_tokens: -5, completion_tokens: -7, total_tokens: -12 });
    const { client, upstream, gateway } = await rig(
      sequence(streams(plainStream(chunks)), streams(plainStream(gen2Reply(['Again.'])))),
      { MAX_RESPONSES_PER_IP: '1' },
    );
    const done = await turn(client, 'Hello');
    expect(done).toMatchObject({ status: 'completed', text: 'Hi there.' });
    expect(done.usage).toBeUndefined();
    // Another session of the same address may start a reply: the first one's slot was freed.
    const other = await VoiceClient.connect(gateway.voiceUrl);
    clients.push(other);
    expect(await other.turn('Me too')).toMatchObject({ status: 'completed', text: 'Again.' });
    expect(await turn(client, 'And?')).toMatchObject({ status: 'completed' });
    expect(upstream.requests[2]?.body?.messages).toContainEqual({ role: 'assistant', content: 'Hi there.' });
  });
});

describe('an answer that ignores max_tokens', () => {
  // 16: the budget's floor (8,192 tokens' worth); 10,000: a budget set by max_tokens itself.
  it.each([16, 10_000])(
    'is cut at its output budget (max_tokens %i) as if the upstream had said `length`, and its request ends',
    async (maxTokens) => {
      const piece = 'word '.repeat(800); // 4,000 characters a chunk
      let closed = false;
      const endless = sequence(
        async (_req, res) => {
          res.on('close', () => (closed = true));
          startStream(res);
          // Streams until the gateway goes away; a turn that waits for the body's end never ends.
          while (!closed) await writePiece(res, dataEvent(gen2Chunk({ content: piece })));
        },
        streams(plainStream(gen2Reply(['Short.']))),
      );
      const { client, upstream } = await rig(endless, { MAX_OUTPUT_TOKENS: String(maxTokens) });
      const done = await turn(client, 'Talk for ever');
      expect(done.status).toBe('completed');
      const budget = outputBudgetChars(maxTokens);
      expect(done.text.length).toBeGreaterThanOrEqual(budget);
      expect(done.text.length).toBeLessThan(budget + piece.length);
      expect(await turn(client, 'Stop')).toMatchObject({ status: 'completed', text: 'Short.' });
      expect(closed).toBe(true);
      expect(upstream.requests).toHaveLength(2);
    },
  );
});
