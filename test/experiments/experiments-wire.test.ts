// The asi1 family behind one voice, over real sockets and the simulator: the arm split over 1,000 sessions, a
// userKey keeping one arm, an escalation streaming both models into one response (and surviving barge-in), the
// Realtime endpoint escalating too, and feedback and re-asks landing in the right arm of GET /v1/experiments.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExperimentsReport } from '../../src/experiments/report.js';
import type { ServerEvent } from '../../src/protocol.js';
import { startStack, until, VoiceClient, type Stack } from '../helpers.js';
import { RealtimeTestClient, realtimeUrl } from '../realtime-client.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const EXPERIMENT = {
  name: 'mini-vs-asi1',
  arms: [
    { name: 'mini', weight: 1, model: 'asi1-mini' },
    { name: 'asi1', weight: 1, model: 'asi1' },
  ],
};

function experimentFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'exp-wire-')), 'experiment.json');
  writeFileSync(path, JSON.stringify(EXPERIMENT));
  return path;
}

type Ready = Extract<ServerEvent, { type: 'session.ready' }>;
type Done = Extract<ServerEvent, { type: 'response.done' }>;

async function report(s: Stack, token = 'metrics-secret'): Promise<{ status: number; body: ExperimentsReport }> {
  const response = await fetch(`${s.httpUrl}/v1/experiments`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as ExperimentsReport };
}

async function say(client: VoiceClient, text: string): Promise<Done> {
  const from = client.events.length;
  client.send({ type: 'turn', text });
  return (await client.waitFor((e) => e.type === 'response.done', from)) as Done;
}

describe('experiments over the wire', () => {
  it('splits 1,000 sessions within a few percent of the weights, and a userKey keeps one arm', async () => {
    stack = await startStack({
      env: { EXPERIMENTS_FILE: experimentFile(), RESUME_TTL_MS: '0', MAX_CONNECTIONS_PER_IP: '2000' },
    });
    const arms = { mini: 0, asi1: 0 };
    for (let i = 0; i < 1_000; i += 1) {
      const client = await VoiceClient.connect(stack.voiceUrl);
      const ready = client.events[0] as Ready;
      arms[ready.experiment?.arm as 'mini' | 'asi1'] += 1;
      expect(ready.model).toBe(ready.experiment?.arm === 'mini' ? 'asi1-mini' : 'asi1');
      await client.close();
    }
    expect(arms.mini).toBeGreaterThan(450);
    expect(arms.mini).toBeLessThan(550);
    const seen = new Set<string>();
    for (let i = 0; i < 5; i += 1) {
      const client = await VoiceClient.connect(stack.voiceUrl);
      client.send({ type: 'session.update', userKey: 'user-7' });
      const updated = await client.waitForType('session.updated');
      seen.add(`${updated.experiment?.arm}/${updated.model}`);
      await client.close();
    }
    expect(seen.size).toBe(1);
  }, 60_000);

  it('feedback and re-asks land in the right arm of GET /v1/experiments, behind the metrics token', async () => {
    stack = await startStack({ env: { EXPERIMENTS_FILE: experimentFile(), METRICS_TOKEN: 'metrics-secret' } });
    // Find a userKey for each arm.
    const clients: Record<string, VoiceClient> = {};
    for (let i = 0; Object.keys(clients).length < 2; i += 1) {
      const client = await VoiceClient.connect(stack.voiceUrl);
      client.send({ type: 'session.update', userKey: `user-${i}` });
      const arm = (await client.waitForType('session.updated')).experiment?.arm ?? '';
      if (clients[arm] === undefined) clients[arm] = client;
      else await client.close();
    }
    const mini = clients.mini as VoiceClient;
    const deep = clients.asi1 as VoiceClient;
    await say(mini, 'What is the capital of France?');
    await say(mini, 'what is the capital of France');
    const rated = await say(deep, 'Tell me a fact.');
    deep.send({ type: 'feedback', responseId: rated.responseId, rating: 'down' });
    await deep.waitForType('feedback.received');
    expect((await report(stack, 'wrong')).status).toBe(401);
    const { status, body } = await report(stack);
    expect(status).toBe(200);
    const [first, second] = body.arms;
    expect(first).toMatchObject({ name: 'mini', model: 'asi1-mini', responses: 2, reasks: 1, feedback: { down: 0 } });
    expect(second).toMatchObject({ name: 'asi1', model: 'asi1', responses: 1, reasks: 0, feedback: { down: 1 } });
    expect(second?.rates.thumbsDown.value).toBe(1);
    expect(second?.vsFirst?.reask).toMatchObject({ test: 'two-proportion z-test' });
    expect(first?.firstTokenMs.count).toBe(2);
    expect(first?.firstTokenMs.buckets.reduce((sum, b) => sum + b.count, 0)).toBe(2);
    await mini.close();
    await deep.close();
  });
});

describe('escalation over the wire', () => {
  it('streams both models into one response; the simulator saw both requests with the right models', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      {
        reply: 'Let me think.',
        toolCalls: [{ name: 'consult_deeper_model', arguments: '{"question":"why is the sky blue"}' }],
      },
      { reply: 'Because of Rayleigh scattering.' },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await say(client, 'Why is the sky blue? Explain in depth.');
    expect(done).toMatchObject({
      status: 'completed',
      text: 'Let me think. Because of Rayleigh scattering.',
      models: ['asi1-mini', 'asi1'],
    });
    expect(client.events.filter((e) => e.type === 'response.created')).toHaveLength(1);
    const models = stack.simulator.requests.map((r) => (r.body as { model: string }).model);
    expect(models).toEqual(['asi1-mini', 'asi1']);
    await client.close();
  });

  it('a barge-in during the deeper model’s part closes that request and ends the one response', async () => {
    stack = await startStack();
    const ends: { id: number; reason: string }[] = [];
    stack.simulator.events.on('stream-end', (end: { id: number; reason: string }) => ends.push(end));
    stack.simulator.enqueue(
      { reply: '', toolCalls: [{ name: 'consult_deeper_model', arguments: '{"question":"q"}' }] },
      { reply: 'Deep one. Deep two. Deep three.', gate: { name: 'deep', afterChunks: 2 } },
    );
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Go deep' });
    const created = await client.waitForType('response.created');
    await stack.simulator.gate('deep').reached;
    client.send({ type: 'response.cancel', responseId: created.responseId });
    const done = await client.waitForType('response.done');
    expect(done).toMatchObject({ status: 'interrupted', models: ['asi1-mini', 'asi1'] });
    const deepRequest = stack.simulator.requests[1]?.id;
    await until(() => ends.some((e) => e.id === deepRequest && e.reason === 'client-closed'));
    await client.close();
  });

  it('works on the Realtime endpoint too', async () => {
    stack = await startStack();
    stack.simulator.enqueue(
      { reply: '', toolCalls: [{ name: 'consult_deeper_model', arguments: '{"question":"q"}' }] },
      { reply: 'The deep answer.' },
    );
    const client = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl));
    await client.addUserText('Think hard about this.');
    await client.respond();
    const done = await client.waitFor((e) => e.type === 'response.done');
    expect(JSON.stringify(done.response.output)).toContain('The deep answer.');
    expect(stack.simulator.requests.map((r) => (r.body as { model: string }).model)).toEqual(['asi1-mini', 'asi1']);
    await client.close();
  });
});
