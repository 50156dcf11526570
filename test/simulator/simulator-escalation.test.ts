// Escalation offline, end to end: the real gateway in front of the simulator with model profiles on. asi1-mini
// hands a question that asks for depth to consult_deeper_model; the simulated asi1 answers the user's words in
// the same reply, longer. Real sockets on port 0; waits on events, never on sleeps.
import { afterEach, describe, expect, it } from 'vitest';
import { ESCALATION_PREAMBLE } from '../../src/simulator/escalation-intent.js';
import { startStack, VoiceClient, type Stack } from '../helpers.js';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

interface Body {
  model: string;
  messages: { role: string; content: string | null }[];
  tools?: { function: { name: string } }[];
}

describe('escalation through the gateway on the simulator', () => {
  it('asi1-mini hands over, and the simulated asi1 answers the user in the same reply', async () => {
    stack = await startStack({ simulator: { modelProfiles: 'family' } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Explain in detail how the tides work' });
    const done = await client.waitForType('response.done');
    const [fast, deep] = stack.simulator.requests.map((r) => r.body as Body);
    expect(fast?.model).toBe('asi1-mini');
    expect(fast?.tools?.map((t) => t.function.name)).toContain('consult_deeper_model');
    expect(deep?.model).toBe('asi1');
    expect(deep?.messages.at(-1)).toMatchObject({ role: 'system' });
    expect(done).toMatchObject({ status: 'completed', models: ['asi1-mini', 'asi1'] });
    expect(done.text.startsWith(ESCALATION_PREAMBLE)).toBe(true);
    expect(done.text).toContain('You said: "Explain in detail how the tides work".');
    expect(done.text).toContain('Speaking as the simulated asi1,');
    expect(done.text).not.toContain('faster assistant');
    await client.close();
  });

  it('a turn that does not ask for depth is answered by asi1-mini alone', async () => {
    stack = await startStack({ simulator: { modelProfiles: 'family' } });
    const client = await VoiceClient.connect(stack.voiceUrl);
    client.send({ type: 'turn', text: 'Explain how the tides work' });
    const done = await client.waitForType('response.done');
    expect(stack.simulator.requests).toHaveLength(1);
    expect(done).toMatchObject({ status: 'completed', models: ['asi1-mini'] });
    expect(done.text).toContain('offline simulator, not asi1-mini.');
    expect(done.text).not.toContain('Speaking as the simulated');
    await client.close();
  });
});
