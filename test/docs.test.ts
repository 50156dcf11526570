// The README's configuration and error tables must match the code, as fastify checks its error docs.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EnvSchema } from '../src/config.js';
import { ERROR_CATALOGUE } from '../src/errors.js';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

function tableRow(name: string): string[] | undefined {
  const line = readme.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
  return line
    ?.split('|')
    .slice(1, -1)
    .map((cell) => cell.trim());
}

describe('README', () => {
  it.each(Object.entries(EnvSchema.properties))('documents %s with its default', (name, schema) => {
    const row = tableRow(name);
    expect(row, `${name} missing from the configuration table`).toBeDefined();
    const def = (schema as { default?: unknown }).default;
    if (def === undefined) expect(row?.[1]).toBe('unset');
    else if (name !== 'SYSTEM_PROMPT') expect(row?.[1]).toBe(`\`${String(def)}\``);
  });

  it.each(Object.entries(ERROR_CATALOGUE))('documents error %s with its retryable flag', (code, entry) => {
    const row = tableRow(code);
    expect(row, `${code} missing from the errors table`).toBeDefined();
    expect(row?.[1]).toBe(entry.retryable ? 'yes' : 'no');
  });

  it('gives the same test command that CI runs', () => {
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm ci && npm test');
    expect(ci).toMatch(/^npm ci\b/m);
    expect(ci).toMatch(/^npm test$/m);
  });
});
