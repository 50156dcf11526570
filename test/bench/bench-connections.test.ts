// `npm run bench:connections` still works: a toy run (3 sessions, 3 turns of which the second is talked over, h1
// and h2, the warmer on and off, the passes side by side) answers every turn, attributes every upstream chat
// request to its turn, and counts connections the way the figure reads them: with the warmer on no turn waits for
// a new upstream connection, the turn after a barge-in included; with it off first turns do. Counts and shapes
// only, never a timing.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BARGE_IN_TURN, planRound, PLAN_SHAPE } from '../../bench/connections/round.js';
import type { ConnectionsResults } from '../../bench/connections/run.js';
import { runBenchScript } from './run-bench-script.js';

const outDir = mkdtempSync(join(tmpdir(), 'bench-connections-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));

function runToy(out: string): Promise<{ code: number | null; output: string }> {
  return runBenchScript('bench/connections.ts', [
    '--sessions',
    '3',
    '--turns',
    '3',
    '--first-turns',
    '3',
    '--parallel-passes',
    '--out',
    out,
  ]);
}

const within = (value: number, [min, max]: readonly [number, number]): boolean => value >= min && value <= max;

describe('bench:connections session plans', () => {
  it('are the same for a seed, level and round, and stay within the plan shape', () => {
    const plans = planRound(1, 100, 0, 4);
    expect(planRound(1, 100, 0, 4)).toEqual(plans);
    expect(planRound(1, 100, 1, 4)).not.toEqual(plans);
    expect(plans).toHaveLength(100);
    expect(planRound(1, 1, 0, 2)[0]?.bargeInTurn).toBeNull(); // no turn after it to measure
    for (const plan of plans) {
      expect(plan.bargeInTurn).toBe(BARGE_IN_TURN);
      expect(within(plan.speakAfterMs, PLAN_SHAPE.speakAfterMs)).toBe(true);
      expect(plan.thinkMs).toHaveLength(3);
      for (const think of plan.thinkMs) expect(within(think, PLAN_SHAPE.thinkMs)).toBe(true);
    }
  });
});

describe('bench:connections toy run', () => {
  it(
    'answers every turn, sees each on its upstream connection, and tells the warmer on from off',
    { timeout: 60_000 },
    async () => {
      const out = join(outDir, 'connections.json');
      const { code, output } = await runToy(out);
      expect(code, output).toBe(0);
      const results = JSON.parse(readFileSync(out, 'utf8')) as ConnectionsResults;
      expect(results.figures.map((f) => `${f.pass} @${f.level}`)).toEqual([
        'h1 warmer on @3',
        'h1 warmer off @3',
        'h2 warmer on @3',
        'h2 warmer off @3',
      ]);
      expect(results.untaggedRequests).toBe(0);
      expect(results.repeatedRequests).toBe(0);
      for (const f of results.figures) {
        expect(f.sessions, f.pass).toBe(3);
        expect([f.first.turns, f.later.turns, f.afterBargeIn.turns], f.pass).toEqual([3, 6, 3]);
        expect(f.first.failed + f.later.failed, f.pass).toBe(0); // the barge-in turns ended interrupted, as planned
        expect(f.first.unrecorded + f.later.unrecorded, f.pass).toBe(0);
        expect(f.errors, f.pass).toEqual({});
        expect([f.first.addedMs.n, f.later.addedMs.n], f.pass).toEqual([3, 6]);
        if (f.warm) {
          // The warmer's connections carry every turn, the one after a barge-in (its connection closed) included.
          expect(f.first.paidForConnection + f.later.paidForConnection, f.pass).toBe(0);
        } else expect(f.first.paidForConnection, f.pass).toBeGreaterThan(0);
        // Every turn that paid for a connection is one the simulator counted as opened.
        expect(f.connectionsOpened, f.pass).toBeGreaterThanOrEqual(
          f.first.paidForConnection + f.later.paidForConnection,
        );
        expect(f.first.paidForConnection, f.pass).toBeLessThanOrEqual(f.first.onNewConnection);
      }
      const [h1On, h1Off, h2On, h2Off] = results.figures;
      // Without the warmer the three sessions' first turns overlap over HTTP/1.1 (the plan has them speak at 269, 391
      // and 587 ms, replies of 400 ms): at least two of them open a connection and wait for it.
      expect(h1Off!.first.paidForConnection).toBeGreaterThanOrEqual(2);
      // The warmer opens them ahead instead: one per opening session at least.
      expect(h1On!.connectionsOpened).toBeGreaterThanOrEqual(3);
      // HTTP/2: one connection carries every turn (a barge-in resets its stream, not the connection). In the quiet gap
      // the upstream's idle timeout (the relay) closes the one left from the warm-up round. Without the warmer the
      // first turn opens the next; the warmer opens it itself, during the round or already in the gap when one of
      // its rounds falls there (a longer gap, or a loaded machine's late timers), and then the round opens none.
      for (const h2 of [h2On!, h2Off!]) expect(h2.idleCloses, h2.pass).toBe(1);
      expect(h2On!.connectionsOpened).toBeLessThanOrEqual(1);
      expect(h2Off!.connectionsOpened).toBe(1);
      expect(h2Off!.first.paidForConnection).toBe(1);
      expect(results.targets.map((t) => t.id)).toEqual([
        'first-turn-p50-h1-3',
        'new-connection-turns-h1-3',
        'first-turn-p50-h2-3',
        'new-connection-turns-h2-3',
        'baseline-pays-h1-3',
        'baseline-pays-h2-3',
      ]);
      for (const id of [
        'new-connection-turns-h1-3',
        'new-connection-turns-h2-3',
        'baseline-pays-h1-3',
        'baseline-pays-h2-3',
      ])
        expect(results.targets.find((t) => t.id === id)?.pass, id).toBe(true);
      for (const target of results.targets) expect(output).toContain(target.description);
    },
  );
});
