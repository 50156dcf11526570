// An experiment behind two instances sharing Redis: the same key gets the same arm on either, and the figures of
// GET /v1/experiments are the sums over both instances, whichever one is asked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentsReport } from '../../src/experiments/report.js';
import type { ServerEvent } from '../../src/protocol.js';
import { a, b, connect, ready, resumeOn, startPair, useScaleOutRig } from './scale-out-rig.js';

useScaleOutRig();

const EXPERIMENT = {
  name: 'shared',
  arms: [
    { name: 'mini', weight: 1, model: 'asi1-mini' },
    { name: 'asi1', weight: 1, model: 'asi1' },
  ],
};

async function figures(httpUrl: string): Promise<ExperimentsReport> {
  return (await (await fetch(`${httpUrl}/v1/experiments`)).json()) as ExperimentsReport;
}

describe('experiments with scale-out', () => {
  it('assigns a userKey the same arm on both instances and sums the figures over them', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'exp-cluster-')), 'experiment.json');
    writeFileSync(path, JSON.stringify(EXPERIMENT));
    await startPair({ EXPERIMENTS_FILE: path });
    const arms: string[] = [];
    for (const gateway of [a, b, a]) {
      const client = await connect(gateway);
      client.send({ type: 'session.update', userKey: 'same-user' });
      arms.push((await client.waitForType('session.updated')).experiment?.arm ?? '');
      client.send({ type: 'turn', text: 'Hello there' });
      const done = (await client.waitFor((e) => e.type === 'response.done')) as Extract<
        ServerEvent,
        { type: 'response.done' }
      >;
      client.send({ type: 'feedback', responseId: done.responseId, rating: 'up' });
      await client.waitForType('feedback.received');
    }
    expect(new Set(arms).size).toBe(1);
    const arm = arms[0];
    // Increments are pipelined without waiting: read until both instances' writes are in.
    let fromB: ExperimentsReport | undefined;
    for (let i = 0; i < 100; i += 1) {
      fromB = await figures(b.httpUrl);
      if (fromB.arms.find((x) => x.name === arm)?.feedback.up === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const fromA = await figures(a.httpUrl);
    for (const report of [fromA, fromB]) {
      expect(report?.arms.find((x) => x.name === arm)).toMatchObject({
        sessions: 3,
        responses: 3,
        feedback: { up: 3 },
      });
    }
  });

  it('a session resumed on the other instance keeps its arm, and its figures go to that arm', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'exp-cluster-')), 'experiment.json');
    writeFileSync(path, JSON.stringify(EXPERIMENT));
    await startPair({ EXPERIMENTS_FILE: path });
    const first = await connect(a);
    const arm = ready(first).experiment?.arm;
    await first.turn('Hello there');
    await first.close();
    const second = await resumeOn(b, first);
    second.send({ type: 'session.update', eventId: 'u' });
    const updated = await second.waitForType('session.updated');
    expect(updated.experiment).toEqual({ name: 'shared', arm, counted: true });
    await second.turn('And again');
    let report: ExperimentsReport | undefined;
    for (let i = 0; i < 100; i += 1) {
      report = await figures(a.httpUrl);
      if (report.arms.find((x) => x.name === arm)?.responses === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(report?.arms.find((x) => x.name === arm)).toMatchObject({ sessions: 1, responses: 2 });
  });
});
