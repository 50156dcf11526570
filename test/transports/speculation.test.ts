// Protocol 1.2 over real sockets and the simulator: a reply speculated on turn.interim is adopted on a matching
// final (the simulator saw one request, and the held deltas follow response.created at once) or discarded on a
// mismatch (the simulator saw the speculative stream closed early; the client saw nothing of it). A speculative
// tool call runs only once adopted. Server commit answers a stable interim itself and handles an extending final.
import { Type } from '@sinclair/typebox';
import { afterEach, describe, expect, it } from 'vitest';
import type { ServerEvent } from '../../src/protocol.js';
import { defineTool } from '../../src/tools/types.js';
import type { ChatMessage } from '../../src/upstream/types.js';
import { startStack, until, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** A gateway whose speculation starts as an interim arrives (no stability wait). */
async function speculatingStack(env: Record<string, string> = {}, tools = [countingTool]): Promise<Stack> {
  stack = await startStack({ env: { SPECULATION_STABLE_MS: '0', ...env }, tools });
  return stack;
}

const toolRuns: string[] = [];
const countingTool = defineTool({
  name: 'look_up',
  description: 'Looks something up.',
  parameters: Type.Object({ q: Type.String() }),
  execute: ({ q }) => {
    toolRuns.push(q);
    return { found: q };
  },
});

function streamEnds(s: Stack): { id: number; reason: string }[] {
  const ends: { id: number; reason: string }[] = [];
  s.simulator.events.on('stream-end', (end: { id: number; reason: string }) => ends.push(end));
  return ends;
}

function lastUserMessage(s: Stack, index: number): ChatMessage | undefined {
  return (s.simulator.requests[index]?.body as { messages: ChatMessage[] }).messages.at(-1);
}

function typesOf(events: ServerEvent[]): string[] {
  return events.map((e) => e.type);
}

describe('speculation over the wire', () => {
  it('adopts on a matching final: one upstream request, held deltas right after response.created', async () => {
    const s = await speculatingStack();
    s.simulator.enqueue({ reply: 'It is noon. Anything else?', gate: { name: 'held', afterChunks: 3 } });
    const client = await VoiceClient.connect(s.voiceUrl);
    const from = client.events.length;
    client.send({ type: 'turn.interim', text: 'what time is it', turnId: 'u1' });
    await s.simulator.gate('held').reached;
    expect(lastUserMessage(s, 0)).toEqual({ role: 'user', content: 'what time is it' });
    client.send({ type: 'ping', eventId: 'p1' });
    await client.waitFor((e) => e.type === 'pong');
    expect(typesOf(client.events.slice(from))).toEqual(['pong']); // nothing of the speculation yet
    client.send({ type: 'turn', text: 'What time is it?', turnId: 'u1' });
    const created = await client.waitForType('response.created', from);
    expect(created.turnId).toBe('u1');
    await client.waitFor((e) => e.type === 'response.delta', from);
    const at = client.events.indexOf(created);
    expect(typesOf(client.events.slice(at, at + 4))).toEqual([
      'response.created',
      'response.delta',
      'response.delta',
      'response.delta',
    ]);
    s.simulator.gate('held').release();
    const done = await client.waitForType('response.done', from);
    expect(done).toMatchObject({ status: 'completed', text: 'It is noon. Anything else?' });
    expect(done.timings.speculative).toBe(true);
    expect(s.simulator.requests).toHaveLength(1);
    // seq has no gap: the held events were numbered as they went out.
    const seqs = client.events.slice(from).map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => (seqs[0] ?? 0) + i));
    await client.close();
  });

  it('discards on a mismatch: the speculative stream is closed early and the client sees no trace of it', async () => {
    const s = await speculatingStack();
    const ends = streamEnds(s);
    s.simulator.enqueue({ reply: 'It is noon.', gate: { name: 'spec', afterChunks: 1 } }, { reply: 'Sunny all day.' });
    const client = await VoiceClient.connect(s.voiceUrl);
    const from = client.events.length;
    client.send({ type: 'turn.interim', text: 'what time is it' });
    await s.simulator.gate('spec').reached;
    client.send({ type: 'turn', text: 'what is the weather' });
    const done = await client.waitForType('response.done', from);
    expect(done).toMatchObject({ status: 'completed', text: 'Sunny all day.', timings: { speculative: false } });
    await until(() => ends.some((e) => e.id === s.simulator.requests[0]?.id && e.reason === 'client-closed'));
    expect(s.simulator.requests).toHaveLength(2);
    const seen = client.events.slice(from);
    expect(seen.filter((e) => e.type === 'response.created')).toHaveLength(1);
    expect(JSON.stringify(seen)).not.toContain('noon');
    await client.close();
  });

  it('never runs a discarded speculation’s tool, and runs an adopted one’s exactly once', async () => {
    const s = await speculatingStack();
    toolRuns.length = 0;
    const asksTool = { reply: '', toolCalls: [{ name: 'look_up', arguments: '{"q":"spec"}' }] };
    s.simulator.enqueue(asksTool, { reply: 'Something else.' });
    const client = await VoiceClient.connect(s.voiceUrl);
    client.send({ type: 'turn.interim', text: 'look it up' });
    await until(() => s.simulator.requests.length === 1);
    client.send({ type: 'turn', text: 'never mind' });
    await client.waitForType('response.done');
    expect(toolRuns).toEqual([]);
    expect(client.events.some((e) => e.type === 'response.tool_call')).toBe(false);

    s.simulator.enqueue(asksTool, { reply: 'Found it.' });
    const from = client.events.length;
    client.send({ type: 'turn.interim', text: 'look it up please' });
    await until(() => s.simulator.requests.length === 3);
    client.send({ type: 'turn', text: 'Look it up, please.' });
    const done = await client.waitFor((e) => e.type === 'response.done' && e.status === 'completed', from);
    expect(done).toMatchObject({ text: 'Found it.', timings: { speculative: true } });
    expect(toolRuns).toEqual(['spec']);
    const created = client.events.findIndex((e, i) => i >= from && e.type === 'response.created');
    expect(client.events[created + 1]?.type).toBe('response.tool_call');
    await client.close();
  });

  it('keeps barge-in’s guarantees on an adopted reply: one done, nothing after it, upstream closed at once', async () => {
    const s = await speculatingStack();
    const ends = streamEnds(s);
    s.simulator.enqueue({ reply: 'One two three four five.', gate: { name: 'g', afterChunks: 2 } });
    const client = await VoiceClient.connect(s.voiceUrl);
    client.send({ type: 'turn.interim', text: 'count for me' });
    await s.simulator.gate('g').reached;
    client.send({ type: 'turn', text: 'Count for me.' });
    const created = await client.waitForType('response.created');
    client.send({ type: 'response.cancel', responseId: created.responseId, heardChars: 0 });
    const done = await client.waitForType('response.done');
    expect(done).toMatchObject({ status: 'interrupted', timings: { speculative: true } });
    await until(() => ends.some((e) => e.reason === 'client-closed'));
    client.send({ type: 'ping' });
    await client.waitFor((e) => e.type === 'pong');
    const after = client.events.slice(client.events.indexOf(done) + 1);
    expect(after.every((e) => !('responseId' in e) || e.responseId !== created.responseId)).toBe(true);
    await client.close();
  });

  it('server commit: answers a stable interim itself; a final that extends it interrupts and answers the whole', async () => {
    const s = await speculatingStack({ SPECULATION_STABLE_MS: '50' });
    s.simulator.enqueue(
      { reply: 'The weather is fine.', gate: { name: 'first', afterChunks: 1 } },
      { reply: 'Paris: sunny.' },
    );
    const client = await VoiceClient.connect(s.voiceUrl);
    client.send({ type: 'session.update', turnDetection: { serverCommit: { stableMs: 200 } } });
    const updated = await client.waitForType('session.updated');
    expect(updated.turnDetection).toEqual({ speculate: true, serverCommit: { stableMs: 200 } });
    client.send({ type: 'turn.interim', text: 'what is the weather', turnId: 'u9' });
    const committed = await client.waitForType('turn.committed');
    expect(committed).toMatchObject({ turnId: 'u9', text: 'what is the weather', by: 'server' });
    const first = await client.waitForType('response.created');
    expect(first.turnId).toBe('u9');
    await s.simulator.gate('first').reached;
    client.send({ type: 'turn', text: 'what is the weather in Paris', turnId: 'u9' });
    await client.waitFor((e) => e.type === 'response.done' && e.responseId === first.responseId);
    const second = await client.waitFor((e) => e.type === 'response.done' && e.responseId !== first.responseId);
    expect(second).toMatchObject({ status: 'completed', text: 'Paris: sunny.' });
    const prompt = (s.simulator.requests.at(-1)?.body as { messages: ChatMessage[] }).messages;
    expect(prompt.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['what is the weather in Paris']);
    await client.close();
  });

  it('a final the server commit already answered costs no turn allowance: absorbed, not rate limited', async () => {
    const s = await speculatingStack({ TURNS_PER_MINUTE: '1' });
    s.simulator.enqueue({ reply: 'Noon.' });
    const client = await VoiceClient.connect(s.voiceUrl);
    client.send({ type: 'session.update', turnDetection: { serverCommit: { stableMs: 200 } } });
    await client.waitForType('session.updated');
    client.send({ type: 'turn.interim', text: 'what time is it', turnId: 'u1' });
    await client.waitForType('turn.committed');
    await client.waitForType('response.done');
    client.send({ type: 'turn', text: 'What time is it?', turnId: 'f1' });
    const absorbed = await client.waitFor((e) => e.type === 'turn.absorbed' || e.type === 'error');
    expect(absorbed).toMatchObject({ type: 'turn.absorbed', turnId: 'f1', committedTurnId: 'u1' });
    // The one turn of the minute was the server's commit: another turn is refused.
    client.send({ type: 'turn', text: 'Something else', eventId: 'e9' });
    expect(await client.waitForType('error')).toMatchObject({ code: 'GW_RATE_LIMITED', eventId: 'e9' });
    await client.close();
  });

  it('validates turnDetection and turn.interim at the edge with typed errors', async () => {
    const s = await speculatingStack();
    const client = await VoiceClient.connect(s.voiceUrl);
    client.send({ type: 'session.update', eventId: 'e1', turnDetection: { serverCommit: { stableMs: 5 } } });
    client.send({ type: 'turn.interim', eventId: 'e2', text: 42 });
    client.send({ type: 'turn.interim', eventId: 'e3', text: 'x'.repeat(9_000) });
    await until(() => client.events.filter((e) => e.type === 'error').length === 3);
    expect(client.events.filter((e) => e.type === 'error')).toMatchObject([
      { code: 'GW_INVALID_EVENT', eventId: 'e1' },
      { code: 'GW_INVALID_EVENT', eventId: 'e2' },
      { code: 'GW_TEXT_TOO_LONG', eventId: 'e3' },
    ]);
    expect(s.simulator.requests).toHaveLength(0);
    await client.close();
  });
});
