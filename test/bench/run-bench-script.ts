// Runs a bench entry (bench/<script>.ts) the way `npm run` does, from the repository root: its exit code and
// everything it printed, stdout and stderr in the order they came. `env` is laid over this process's environment.
// runBenchRun also reads what a `bench/run.ts` run wrote.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

export function runBenchScript(
  script: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (code) => resolve({ code, output }));
  });
}

/**
 * `bench/run.ts` with `args`, writing into `outDir` (empty before): asserts it exits 0, and returns what it printed,
 * its JSON results (parsed, as `T`) and its markdown.
 */
export async function runBenchRun<T>(
  args: readonly string[],
  outDir: string,
): Promise<{ output: string; results: T; markdown: string }> {
  const { code, output } = await runBenchScript('bench/run.ts', [...args, '--out-dir', outDir]);
  expect(code, output).toBe(0);
  const json = readdirSync(outDir).find((f) => f.endsWith('.json'));
  expect(json, output).toBeDefined();
  const results = JSON.parse(readFileSync(join(outDir, json!), 'utf8')) as T;
  return { output, results, markdown: readFileSync(join(outDir, json!.replace(/\.json$/, '.md')), 'utf8') };
}
