// EXPERIMENTS_FILE and MODEL_PRICES are read at start-up like every setting: every problem listed, then exit 1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems } from '../helpers.js';
import { assignArm } from '../../src/experiments/assignment.js';

const dir = mkdtempSync(join(tmpdir(), 'exp-config-'));
function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

describe('EXPERIMENTS_FILE and MODEL_PRICES', () => {
  it('reads a valid experiment and price table', () => {
    const experiment = {
      name: 'mini-vs-asi1',
      arms: [
        { name: 'a', weight: 1, model: 'asi1-mini' },
        { name: 'b', weight: 2, model: 'asi1' },
      ],
    };
    const config = loadConfig({
      EXPERIMENTS_FILE: file('ok.json', JSON.stringify(experiment)),
      MODEL_PRICES: '{"asi1":{"input":1.5,"output":6}}',
    });
    expect(config.experiment).toEqual(experiment);
    expect(config.prices).toEqual({ asi1: { input: 1.5, output: 6 } });
  });

  it('lists every problem of a bad experiment file, and of a bad price table, at once', () => {
    const bad = {
      name: 'bad name!',
      arms: [
        { name: 'a', weight: 0, model: 'gpt-9' },
        { name: 'a', weight: 1, model: 'asi1', temperature: 2 },
      ],
    };
    const problems = configProblems({
      EXPERIMENTS_FILE: file('bad.json', JSON.stringify(bad)),
      MODEL_PRICES: '{"asi1":{}}',
    });
    const text = problems.join('\n');
    expect(text).toContain('EXPERIMENTS_FILE: /name');
    expect(text).toContain('EXPERIMENTS_FILE: /arms/0/weight');
    expect(text).toContain('EXPERIMENTS_FILE: /arms/0/model');
    expect(text).toContain('EXPERIMENTS_FILE: /arms/1');
    expect(text).toContain('MODEL_PRICES: /asi1');
  });

  it('says when the file is missing, not JSON, has one arm or repeats an arm name', () => {
    expect(configProblems({ EXPERIMENTS_FILE: join(dir, 'missing.json') })).toEqual([
      `EXPERIMENTS_FILE: ${JSON.stringify(join(dir, 'missing.json'))}: cannot read it (ENOENT)`,
    ]);
    expect(configProblems({ EXPERIMENTS_FILE: file('notjson.json', '{') })[0]).toContain('not valid JSON');
    const one = { name: 'x', arms: [{ name: 'a', weight: 1, model: 'asi1' }] };
    expect(configProblems({ EXPERIMENTS_FILE: file('one.json', JSON.stringify(one)) })[0]).toContain('/arms');
    const twice = {
      name: 'x',
      arms: [
        { name: 'a', weight: 1, model: 'asi1' },
        { name: 'a', weight: 1, model: 'asi1' },
      ],
    };
    expect(configProblems({ EXPERIMENTS_FILE: file('twice.json', JSON.stringify(twice)) })).toEqual([
      'EXPERIMENTS_FILE: arm names must differ (a twice)',
    ]);
    expect(configProblems({ MODEL_PRICES: 'cheap' })).toEqual(['MODEL_PRICES: not valid JSON']);
  });

  it('splits keys by weight, stably, and keeps a user in one arm', () => {
    const experiment = {
      name: 'split',
      arms: [
        { name: 'a', weight: 1, model: 'asi1-mini' as const },
        { name: 'b', weight: 3, model: 'asi1' as const },
      ],
    };
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 20_000; i += 1) counts[assignArm(experiment, `sess_${i}`).name as 'a' | 'b'] += 1;
    expect(counts.a / 20_000).toBeGreaterThan(0.23);
    expect(counts.a / 20_000).toBeLessThan(0.27);
    expect(assignArm(experiment, 'user:42')).toBe(assignArm(experiment, 'user:42'));
  });
});
