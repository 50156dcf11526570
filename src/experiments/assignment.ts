// Which arm of the experiment a session is in: by weight, and stably, from a hash of the experiment's name and a
// key (the session id, or the client's userKey so one user stays in one arm). Every instance computes the same
// arm for the same key, so scale-out needs no shared state for it.
import { createHash } from 'node:crypto';
import type { Experiment, ExperimentArmConfig } from '../experiment-config.js';

/** A number in [0, 1) spread evenly over keys: the first 48 bits of SHA-256(experiment name, key). */
export function bucketOf(experimentName: string, key: string): number {
  const digest = createHash('sha256').update(experimentName).update('\0').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export function assignArm(experiment: Experiment, key: string): ExperimentArmConfig {
  const total = experiment.arms.reduce((sum, arm) => sum + arm.weight, 0);
  let point = bucketOf(experiment.name, key) * total;
  for (const arm of experiment.arms) {
    if (point < arm.weight) return arm;
    point -= arm.weight;
  }
  // Rounding can leave the point a hair past the last weight.
  return experiment.arms[experiment.arms.length - 1] as ExperimentArmConfig;
}
