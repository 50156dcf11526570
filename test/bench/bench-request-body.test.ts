// `npm run bench:request-body` works at toy scale: it plays a conversation, checks at every turn that the cached
// encoding gives the same bytes as JSON.stringify, and prints a row per sampled history length. Shapes only.
import { describe, expect, it } from 'vitest';
import { runBenchScript } from './run-bench-script.js';

describe('bench:request-body', () => {
  it('prints both ways and their ratio at each sampled history length', async () => {
    const { code, output } = await runBenchScript('bench/request-body.ts', ['--rounds', '2', '--turns', '40']);
    expect(code, output).toBe(0);
    const rows = [...output.matchAll(/^\| (\d+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \|$/gm)];
    expect(rows.map((row) => Number(row[1]))).toEqual([1, 10, 30, 40]); // from turn 32 the history has 64 messages: cached
    for (const row of rows) for (const figure of row.slice(2)) expect(Number(figure)).toBeGreaterThan(0);
  });
});
