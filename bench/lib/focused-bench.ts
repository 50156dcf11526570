// What the focused benches (bench:turns, bench:connections, bench:live, bench:tracing) share around their run:
// their common options and progress log, reading an integer option, the fields their results start with, and the
// end of a run: the report on stdout, the results JSON under bench/results/ (or --out), and with --strict a
// failing exit code when a target failed.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './procs.js';

/** The options every focused bench takes (for parseArgs): where the results go, --strict, and the gateways' output. */
export const FINISH_OPTIONS = {
  out: { type: 'string' },
  strict: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
} as const;

/** A bench's progress line on stderr, tagged with its name (`[bench:turns] …`). */
export function benchLog(name: string): (line: string) => void {
  return (line) => void process.stderr.write(`[bench:${name}] ${line}\n`);
}

/** An integer option, or `fallback` when absent; throws with the option's name when it is not one ≥ `min`. */
export function intOption(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} expects an integer ≥ ${min}, got "${value}"`);
  return n;
}

export interface MachineFacts {
  nproc: number;
  cpuModel: string;
  node: string;
}

/** The fields a focused bench's results start with: which bench, when it started (`began`: performance.now()), how long. */
export function resultsHead<Kind extends string>(
  kind: Kind,
  startedAt: Date,
  began: number,
): { schema: 1; kind: Kind; startedAt: string; durationMs: number; machine: MachineFacts } {
  return {
    schema: 1,
    kind,
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - began),
    machine: { nproc: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version },
  };
}

export interface FinishedBench {
  startedAt: string;
  durationMs: number;
  targets: readonly { id: string; pass: boolean }[];
}

/** Prints `report`, writes the results (`<bench>-<timestamp>.json`, or `out`), and fails the exit code under --strict. */
export function finishBench(
  bench: string,
  results: FinishedBench,
  report: string,
  options: { out: string | undefined; strict: boolean; log: (line: string) => void },
): void {
  process.stdout.write(`${report}\n`);
  const stamp = results.startedAt.replace(/[:.]/g, '-');
  const out = options.out ?? join(ROOT, 'bench/results', `${bench}-${stamp}.json`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  options.log(`results: ${out} (${(results.durationMs / 1000).toFixed(0)} s)`);
  const failed = results.targets.filter((t) => !t.pass);
  if (options.strict && failed.length > 0) {
    options.log(`--strict: ${failed.length} target(s) failed: ${failed.map((t) => t.id).join(', ')}`);
    process.exitCode = 1;
  }
}
