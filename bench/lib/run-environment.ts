// Where `bench/run.ts` runs: the open-file limit its sessions need (raised by re-executing itself, or the idle
// phase made to fit), and the environment every gateway of the run gets.

import { execFileSync, spawnSync } from 'node:child_process';
import type { BenchArgs, BenchSettings } from './run-options.js';

/** The most sessions any phase of the run holds open at once (levels, sweep steps, scale-out, idle). */
export function peakSessions(settings: BenchSettings): number {
  const { idleSessions, levels, sweep, redisSessions } = settings;
  return Math.max(idleSessions, ...levels, ...(sweep?.steps ?? []), ...(redisSessions ?? []), 0);
}

/** The open-file limit; lowers settings.idleSessions (with a note) when the idle phase would not fit under it. */
export function fitToFileLimit(settings: BenchSettings, notes: string[]): number {
  const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
  if (settings.idleSessions + 1_000 > fdLimit) {
    notes.push(
      `idle sessions reduced from ${settings.idleSessions} to ${fdLimit - 1_000}: the open-file limit is ${fdLimit}`,
    );
    settings.idleSessions = Math.max(0, fdLimit - 1_000);
  }
  return fdLimit;
}

/**
 * Every bench client connects from 127.0.0.1, so the per-address caps (connections, replies in progress, turns)
 * and the total connection cap must be above the load's; everything else runs on the gateway's defaults unless
 * --gateway-env says otherwise.
 */
export function gatewayEnvFor(values: BenchArgs, settings: BenchSettings): Record<string, string> {
  const peak = peakSessions(settings);
  return {
    MAX_CONNECTIONS_PER_IP: String(peak + 1_000),
    MAX_RESPONSES_PER_IP: '100000',
    TURNS_PER_MINUTE_PER_IP: '1000000',
    MAX_CONNECTIONS: String(peak + 1_000),
    ...(values['probe-writes'] ? { BENCH_PROBE_WRITES: '1' } : {}),
    ...Object.fromEntries(
      values['gateway-env'].map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw new Error(`--gateway-env expects K=V, got "${kv}"`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      }),
    ),
  };
}

/** Re-executes this process once with a raised open-file limit when 10,000 idle sockets would not fit. */
export function raiseFileLimit(needed: number): void {
  const soft = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (!(soft < needed) || process.env.BENCH_ULIMIT_RAISED === '1') return;
  const script = `ulimit -n ${Math.max(needed, 65_535)} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const child = spawnSync(
    'bash',
    ['-c', script, 'bash', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, BENCH_ULIMIT_RAISED: '1' },
    },
  );
  process.exit(child.status ?? 1);
}
