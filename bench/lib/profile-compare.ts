// `--cpu-prof --floor`: the gateway's profile (of its largest level) and the floor relay's (of the whole run)
// side by side, per delta each relayed, split into the socket write syscalls, garbage collection and the rest
// (JavaScript, HTTP parsing, stream machinery). The write syscalls are the part no relay can avoid, so "the
// rest" is where a gateway's features show.

import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { GC_PART, SOCKET_WRITES_PART, summarizeProfile, type ProfileSummary } from './cpuprofile.js';
import { TURN_ORIGINS } from './profile-origins.js';
import type { PathReport } from './phase.js';
import { FLOOR_PROFILE_DIR } from './floor-process.js';
import type { Measured } from './run-levels.js';

export interface PerDelta {
  /** Content chunks relayed over the profiled process's life (estimated: see lifetimeDeltas). */
  deltas: number;
  busyUs: number;
  socketWritesUs: number;
  gcUs: number;
  /** Busy time less the write syscalls (GC included). */
  restUs: number;
  /** Busy time by what started it (profile-origins.ts), in ORIGINS' order. */
  origins: { name: string; us: number }[];
}

export interface ProfileComparison {
  gateway: PerDelta;
  floor: PerDelta;
  floorProfile: string;
}

/**
 * Content chunks a phase relayed over its whole life, warm-up included: the window's count scaled by turns
 * started ÷ turns in the window. A profile covers the process's life, not the window.
 */
export function lifetimeDeltas(report: PathReport): number {
  const { started, inWindow } = report.turns;
  return inWindow > 0 ? (report.deltaEvents * started) / inWindow : report.deltaEvents;
}

/** The floor relay's profile: the largest file in <profDir>/floor (tsx's loader thread writes a small one too). */
export function floorProfileFile(profDir: string): string | undefined {
  const dir = join(profDir, FLOOR_PROFILE_DIR);
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return undefined;
  }
  const sized = files.map((f) => ({ path: join(dir, f), size: statSync(join(dir, f)).size }));
  return sized.sort((a, b) => b.size - a.size)[0]?.path;
}

function perDelta(summary: ProfileSummary, deltas: number): PerDelta {
  const partUs = (name: string): number => 1000 * (summary.parts.find((p) => p.name === name)?.selfMs ?? 0);
  const per = (us: number): number => (deltas > 0 ? us / deltas : 0);
  const busyUs = 1000 * summary.busyMs;
  const socketWritesUs = partUs(SOCKET_WRITES_PART);
  return {
    deltas: Math.round(deltas),
    busyUs: per(busyUs),
    socketWritesUs: per(socketWritesUs),
    gcUs: per(partUs(GC_PART)),
    restUs: per(busyUs - socketWritesUs),
    origins: summary.origins.map((o) => ({ name: o.name, us: per(1000 * o.selfMs) })),
  };
}

export function compareProfiles(
  gateway: { summary: ProfileSummary; deltas: number },
  floor: { summary: ProfileSummary; deltas: number },
): ProfileComparison {
  return {
    gateway: perDelta(gateway.summary, gateway.deltas),
    floor: perDelta(floor.summary, floor.deltas),
    floorProfile: floor.summary.file,
  };
}

/**
 * The comparison for a run of levels (not a sweep, whose phases the floor's profile would also cover): the
 * gateway of the largest level against the floor relay over all its levels. Null without both profiles.
 */
export function compareWithFloor(
  gateway: ProfileSummary | null,
  profDir: string,
  measured: Measured,
  levels: readonly number[],
): ProfileComparison | null {
  const largest = measured.levelReports.find((l) => l.sessions === Math.max(...levels));
  const file = floorProfileFile(profDir);
  if (gateway === null || largest === undefined || file === undefined) return null;
  const floorDeltas = measured.phases.filter((p) => p.path === 'floor').reduce((n, p) => n + lifetimeDeltas(p), 0);
  return compareProfiles(
    { summary: gateway, deltas: lifetimeDeltas(largest.gateway) },
    { summary: summarizeProfile(file, 30), deltas: floorDeltas },
  );
}

export function comparisonTable(comparison: ProfileComparison): string {
  const { gateway, floor } = comparison;
  const row = (label: string, pick: (p: PerDelta) => number): string => {
    const ratio = pick(floor) > 0 ? `${(pick(gateway) / pick(floor)).toFixed(2)}×` : '–';
    return `| ${label} | ${pick(gateway).toFixed(1)} | ${pick(floor).toFixed(1)} | ${ratio} |`;
  };
  return [
    `Per delta relayed, both under the profiler (gateway ${gateway.deltas} deltas, floor relay ${floor.deltas}; floor profile ${comparison.floorProfile}). A phase measured again (the log says so) makes these approximate.`,
    '',
    '| µs per delta | gateway | floor relay | gateway ÷ floor |',
    '| --- | --- | --- | --- |',
    row('busy CPU', (p) => p.busyUs),
    row('socket write syscalls', (p) => p.socketWritesUs),
    row('everything else (JavaScript, HTTP parsing, streams, GC)', (p) => p.restUs),
    row('of which garbage collection', (p) => p.gcUs),
    '',
    ...originsTable(comparison),
  ].join('\n');
}

/** The same busy time by what started it: a delta, a turn (spread over its deltas), or the rest. */
function originsTable({ gateway, floor }: ProfileComparison): string[] {
  const usOf = (p: PerDelta, name: string): number => p.origins.find((o) => o.name === name)?.us ?? 0;
  const turnUs = (p: PerDelta): number => TURN_ORIGINS.reduce((sum, name) => sum + usOf(p, name), 0);
  const row = (label: string, g: number, f: number): string =>
    `| ${label} | ${g.toFixed(1)} | ${f.toFixed(1)} | ${(g - f >= 0 ? '+' : '') + (g - f).toFixed(1)} |`;
  return [
    "By what started the work (a turn's work is divided by all the deltas, so longer replies would spread it thinner):",
    '',
    '| µs per delta | gateway | floor relay | gateway − floor |',
    '| --- | --- | --- | --- |',
    ...gateway.origins.map((o) => row(o.name, o.us, usOf(floor, o.name))),
    row(
      "**a turn's work together** (its frame, its upstream call, connections, the reply's end)",
      turnUs(gateway),
      turnUs(floor),
    ),
  ];
}
