// Per-model behaviour of the simulated asi1 family: how much later the first token comes, how much slower the
// tokens follow and how much longer the unscripted demo reply runs, relative to the scenario. Off unless a
// simulator is started with `modelProfiles` (the gateway's no-key mode turns it on). Pure data and arithmetic.

import type { SimScenario } from './scenario.js';

export interface ModelProfile {
  /** Multiplies the scenario's ttftMs (≥ 0). */
  ttftScale: number;
  /** Multiplies the scenario's interTokenMs (≥ 0). */
  interTokenScale: number;
  /**
   * Multiplies the word count of the unscripted demo reply (≥ 0; whole sentences are added or dropped, at least
   * one is kept). Scripted replies keep their exact text.
   */
  lengthScale: number;
}

export type ModelProfiles = Readonly<Record<string, ModelProfile>>;

/**
 * `'off'` (the default): every model behaves alike. `'family'`: FAMILY_PROFILES. A map: each entry merged over
 * that model's FAMILY_PROFILES entry (so `{ asi1: { ttftScale: 3 } }` changes only asi1's first-token time).
 */
export type ModelProfilesOption = 'off' | 'family' | Readonly<Record<string, Partial<ModelProfile>>>;

export const IDENTITY_PROFILE: ModelProfile = Object.freeze({ ttftScale: 1, interTokenScale: 1, lengthScale: 1 });

/** asi1-mini fastest and shortest, asi1 slower and fuller, asi1-ultra slowest and longest. */
export const FAMILY_PROFILES: ModelProfiles = Object.freeze({
  'asi1-mini': IDENTITY_PROFILE,
  asi1: Object.freeze({ ttftScale: 2, interTokenScale: 1.5, lengthScale: 2 }),
  'asi1-ultra': Object.freeze({ ttftScale: 4, interTokenScale: 2, lengthScale: 3 }),
});

const KEYS = ['ttftScale', 'interTokenScale', 'lengthScale'] as const;

/** The profiles an option stands for, or null when they are off. Throws a RangeError on an invalid scale. */
export function resolveModelProfiles(option: ModelProfilesOption | undefined): ModelProfiles | null {
  if (option === undefined || option === 'off') return null;
  if (option === 'family') return FAMILY_PROFILES;
  const out: Record<string, ModelProfile> = { ...FAMILY_PROFILES };
  for (const [model, partial] of Object.entries(option)) {
    const merged = { ...(FAMILY_PROFILES[model] ?? IDENTITY_PROFILE) };
    for (const key of KEYS) {
      const value = partial[key];
      if (value === undefined) continue;
      if (!Number.isFinite(value) || value < 0)
        throw new RangeError(`model profile ${model}: ${key} must be a non-negative number, got ${value}`);
      merged[key] = value;
    }
    out[model] = Object.freeze(merged);
  }
  return Object.freeze(out);
}

/** `model`'s profile; the identity (scenario unchanged) when profiles are off or the model has none. */
export function profileFor(profiles: ModelProfiles | null, model: string): ModelProfile {
  return (Object.hasOwn(profiles ?? {}, model) ? profiles?.[model] : undefined) ?? IDENTITY_PROFILE;
}

/** The scenario with the profile's first-token and inter-token times (rounded to whole milliseconds). */
export function scaleTiming(scenario: SimScenario, profile: ModelProfile): SimScenario {
  if (profile.ttftScale === 1 && profile.interTokenScale === 1) return scenario;
  return {
    ...scenario,
    ttftMs: Math.round(scenario.ttftMs * profile.ttftScale),
    interTokenMs: Math.round(scenario.interTokenMs * profile.interTokenScale),
  };
}

/**
 * Reads the CLI's `--models` and the gateway's SIMULATOR_MODEL_PROFILES: `on` (or `family`), `off`, or
 * comma-separated `model:ttftScale:interTokenScale:lengthScale` entries over the family profiles, e.g.
 * `asi1:3:1.5:2,asi1-ultra:6:2:4`. Throws a RangeError on anything else.
 */
export function parseModelProfiles(spec: string): ModelProfilesOption {
  const text = spec.trim();
  if (text === 'on' || text === 'family') return 'family';
  if (text === 'off') return 'off';
  const map: Record<string, ModelProfile> = {};
  for (const entry of text.split(',')) {
    const [model = '', ...scales] = entry.trim().split(':');
    const numbers = scales.map((s) => (s.trim() === '' ? NaN : Number(s)));
    if (!Object.hasOwn(FAMILY_PROFILES, model) || numbers.length !== 3 || numbers.some((n) => !Number.isFinite(n)))
      throw new RangeError(
        `model profiles: expected on, off or model:ttftScale:interTokenScale:lengthScale,... with model one of ${Object.keys(FAMILY_PROFILES).join(', ')}; got "${entry.trim()}"`,
      );
    const [ttftScale = 1, interTokenScale = 1, lengthScale = 1] = numbers;
    map[model] = { ttftScale, interTokenScale, lengthScale };
  }
  resolveModelProfiles(map); // validates the ranges
  return map;
}
