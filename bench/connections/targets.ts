// What `npm run bench:connections` checks. Targets (issue #18 §1, "no turn pays for a connection"), with the
// warmer on: a session's first turn within 2 ms (p50) of its later turns, and no turn that waited for a new
// upstream connection's set-up (its request first on a connection asked for after the turn was sent). Baseline
// checks, with the warmer off: first turns did wait for one, i.e. the bench does charge for connections and would
// see a warmer that failed to hide them.

import type { LevelFigures } from './analysis.js';

export interface Target {
  id: string;
  kind: 'target' | 'baseline';
  description: string;
  value: number | null;
  limit: string;
  pass: boolean;
}

export const TARGETS = { firstMinusLaterP50Ms: 2 } as const;

const sessions = (level: number): string => `${level} session${level === 1 ? '' : 's'}`;

export function checkTargets(figures: readonly LevelFigures[]): Target[] {
  const targets: Target[] = [];
  for (const f of figures.filter((figure) => figure.warm)) {
    const where = `${f.pass}, ${sessions(f.level)}`;
    const p50 = f.firstMinusLater.p50;
    targets.push({
      id: `first-turn-p50-${f.http}-${f.level}`,
      kind: 'target',
      description: `${where}: first-turn p50 − later-turn p50`,
      value: p50 === null ? null : Math.round(p50 * 100) / 100,
      limit: `≤ ${TARGETS.firstMinusLaterP50Ms} ms`,
      pass: p50 !== null && p50 <= TARGETS.firstMinusLaterP50Ms && f.first.failed === 0,
    });
    const paid = f.first.paidForConnection + f.later.paidForConnection;
    targets.push({
      id: `new-connection-turns-${f.http}-${f.level}`,
      kind: 'target',
      description: `${where}: turns that waited for a new upstream connection`,
      value: paid,
      limit: '0',
      pass: paid === 0 && f.first.unrecorded + f.later.unrecorded === 0,
    });
  }
  for (const f of figures.filter((figure) => !figure.warm)) {
    targets.push({
      id: `baseline-pays-${f.http}-${f.level}`,
      kind: 'baseline',
      description: `${f.pass}, ${sessions(f.level)}: first turns that waited for a new upstream connection`,
      value: f.first.paidForConnection,
      limit: '> 0',
      pass: f.first.paidForConnection > 0,
    });
  }
  return targets;
}
