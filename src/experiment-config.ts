// The A/B experiment an operator runs (EXPERIMENTS_FILE) and the price table for cost estimates (MODEL_PRICES):
// their schemas, and reading them at start-up with every problem listed, like every other setting.
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MODELS } from './protocol.js';

const Model = Type.Union(MODELS.map((m) => Type.Literal(m)));
const Name = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });

const ArmSchema = Type.Object(
  {
    name: Name,
    weight: Type.Number({ exclusiveMinimum: 0, maximum: 1_000_000 }),
    model: Model,
    instructions: Type.Optional(Type.String({ minLength: 1, maxLength: 32_768 })),
    maxOutputTokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 32_768 })),
    escalation: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const ExperimentSchema = Type.Object(
  { name: Name, arms: Type.Array(ArmSchema, { minItems: 2, maxItems: 16 }) },
  { additionalProperties: false },
);

export type Experiment = Static<typeof ExperimentSchema>;
export type ExperimentArmConfig = Static<typeof ArmSchema>;

const Price = Type.Object(
  { input: Type.Number({ minimum: 0 }), output: Type.Number({ minimum: 0 }) },
  { additionalProperties: false },
);
const PriceSchema = Type.Object(Object.fromEntries(MODELS.map((m) => [m, Type.Optional(Price)])), {
  additionalProperties: false,
});

/** USD per million tokens, by model; a model without a price has no cost figure. */
export type ModelPrices = Partial<Record<(typeof MODELS)[number], { input: number; output: number }>>;

/** Reads and checks EXPERIMENTS_FILE; pushes every problem (prefixed with the variable) and returns null on any. */
export function readExperiment(path: string | undefined, problems: string[]): Experiment | null {
  if (path === undefined) return null;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const why =
      err instanceof SyntaxError
        ? 'not valid JSON'
        : `cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
    problems.push(`EXPERIMENTS_FILE: ${JSON.stringify(path)}: ${why}`);
    return null;
  }
  const found = [...Value.Errors(ExperimentSchema, value)].map(
    (e) => `EXPERIMENTS_FILE: ${e.path || '/'} ${e.message}`,
  );
  if (found.length === 0) {
    const names = (value as Experiment).arms.map((a) => a.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0)
      found.push(`EXPERIMENTS_FILE: arm names must differ (${[...new Set(twice)].join(', ')} twice)`);
  }
  problems.push(...found);
  return found.length === 0 ? (value as Experiment) : null;
}

/** Reads and checks MODEL_PRICES (JSON); pushes every problem and returns {} on any. */
export function readPrices(json: string | undefined, problems: string[]): ModelPrices {
  if (json === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    problems.push('MODEL_PRICES: not valid JSON');
    return {};
  }
  const found = [...Value.Errors(PriceSchema, value)].map((e) => `MODEL_PRICES: ${e.path || '/'} ${e.message}`);
  problems.push(...found);
  return found.length === 0 ? (value as ModelPrices) : {};
}
