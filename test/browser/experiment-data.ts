// A gateway running an A/B experiment (EXPERIMENTS_FILE in a temp dir, METRICS_TOKEN) in front of the simulator,
// and conversations through real WebSocket clients that land in a chosen arm, with ratings, re-asks and
// interruptions: the figures the experiments dashboard shows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulatorOptions } from '../../src/simulator/server.js';
import { startStack, VoiceClient, type Stack } from '../helpers.js';

export const METRICS_TOKEN = 'dashboard-test-token';

export const EXPERIMENT = {
  name: 'mini-vs-asi1',
  arms: [
    { name: 'mini', weight: 1, model: 'asi1-mini' },
    { name: 'asi1', weight: 1, model: 'asi1' },
  ],
};

/** The simulator and a gateway running EXPERIMENT behind METRICS_TOKEN; close() also removes the temp file. */
export async function startExperimentStack(
  options: { env?: Record<string, string>; simulator?: SimulatorOptions } = {},
): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'experiment-'));
  const file = join(dir, 'experiment.json');
  writeFileSync(file, JSON.stringify(EXPERIMENT));
  const stack = await startStack({
    env: { EXPERIMENTS_FILE: file, METRICS_TOKEN, ...options.env },
    ...(options.simulator ? { simulator: options.simulator } : {}),
  });
  return {
    ...stack,
    async close() {
      await stack.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ScriptedTurn {
  text: string;
  rating?: 'up' | 'down';
  /** Stop the reply as soon as its first words arrive, or once it is done, halfway through speaking it. */
  cancel?: 'streaming' | 'spoken';
}

/** A client whose session is in `arm`: connects until the gateway assigns one there (the others never reply, so never count). */
export async function clientInArm(voiceUrl: string, arm: string, attempts = 64): Promise<VoiceClient> {
  for (let i = 0; i < attempts; i += 1) {
    const client = await VoiceClient.connect(voiceUrl);
    const ready = await client.waitForType('session.ready');
    if (ready.experiment?.arm === arm) return client;
    await client.close();
  }
  throw new Error(`no session landed in arm ${arm} in ${attempts} tries`);
}

/** One conversation in `arm`: each turn answered (or stopped), then rated if the script says so. */
export async function converse(voiceUrl: string, arm: string, turns: ScriptedTurn[]): Promise<void> {
  const client = await clientInArm(voiceUrl, arm);
  for (const turn of turns) {
    const from = client.events.length;
    client.send({ type: 'turn', text: turn.text });
    const created = await client.waitForType('response.created', from);
    if (turn.cancel === 'streaming') {
      await client.waitForType('response.delta', from);
      client.send({ type: 'response.cancel', responseId: created.responseId, heardChars: 0 });
    }
    const done = await client.waitFor((e) => e.type === 'response.done' && e.responseId === created.responseId, from);
    if (turn.cancel === 'spoken' && done.type === 'response.done' && done.status === 'completed') {
      const heardChars = Math.floor(done.text.length / 2);
      client.send({ type: 'response.cancel', responseId: created.responseId, heardChars });
    }
    if (turn.rating) {
      const eventId = `rate-${created.responseId}`;
      client.send({ type: 'feedback', responseId: created.responseId, rating: turn.rating, eventId });
      await client.waitFor((e) => e.type === 'feedback.received' && e.eventId === eventId, from);
    }
  }
  await client.close();
}
