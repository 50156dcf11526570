// The results of one `bench/run.ts` run: the JSON document (machine, workload, levels, idle, targets, the
// capacity sweep, the cost per 1,000 users, scale-out, profile) and its markdown rendering, written to
// <out-dir>/<stamp>.{json,md}.

import { writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { buildCost, costSection, type CostSource } from './cost.js';
import { cpuRatioTable } from './cpu-ratio.js';
import { profileTable, type ProfileSummary } from './cpuprofile.js';
import { heapSampleLevels, heapSampleTable } from './heap-sample.js';
import { comparisonTable, type ProfileComparison } from './profile-compare.js';
import { PORTKEY_VERSION } from './portkey.js';
import { buildTargets, idleTable, levelTable, phasesTable, targetsTable } from './report.js';
import type { PathReport } from './phase.js';
import type { Measured } from './run-levels.js';
import type { BenchSettings } from './run-options.js';
import type { PeerInfo } from './run-servers.js';
import { pairedLevels, pairedSection } from './paired.js';
import { scaleOutSection, type ScaleOutReport } from './scale-out.js';
import { sweepTables } from './sweep-table.js';
import type { SweepReport, ThroughPath } from './sweep.js';

/** What --sweep and --redis measured (null when not asked for). */
export interface Capacity {
  sweep: SweepReport | null;
  scaleOut: ScaleOutReport | null;
}

export interface RunFacts {
  settings: BenchSettings;
  startedAt: Date;
  fdLimit: number;
  /** How the gateway ran: 'src (tsx)', 'dist' or the --gateway-entry file. */
  gatewayFrom: string;
  gatewayEnv: Record<string, string>;
  peerInfo: PeerInfo | null;
  profile: ProfileSummary | null;
  /** --cpu-prof --floor: the gateway's and the floor relay's profiles per delta, side by side. */
  profileComparison: ProfileComparison | null;
  notes: string[];
}

export function buildResults(facts: RunFacts, measured: Measured, capacity: Capacity) {
  const { settings, gatewayEnv, notes } = facts;
  const { sweep } = capacity;
  const gatewayKnee = sweep?.knees.find((k) => k.path === 'gateway')?.knee ?? null;
  const { mode, workload } = settings;
  const cpu = cpus();
  return {
    schema: 1,
    mode,
    command: `npm run ${mode === 'quick' ? 'bench:quick' : 'bench'}${
      process.argv.slice(2).filter((a) => a !== '--quick').length > 0
        ? ` -- ${process.argv
            .slice(2)
            .filter((a) => a !== '--quick')
            .join(' ')}`
        : ''
    }`,
    startedAt: facts.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    machine: {
      nproc: cpu.length,
      cpuModel: cpu[0]?.model ?? 'unknown',
      memoryMiB: Math.round(totalmem() / 2 ** 20),
      node: process.version,
      kernel: release(),
      fdLimit: facts.fdLimit,
    },
    workload,
    gateway: { from: facts.gatewayFrom, env: gatewayEnv },
    peer: facts.peerInfo,
    levels: measured.levelReports,
    /** With --floor: the gateway's CPU per delta over the floor relay's, per level (median of --rounds pairs). */
    cpuRatio: measured.cpuRatios,
    /**
     * With --pair-entry: the two builds each gateway phase ran side by side, each one's CPU per delta, and per level
     * the geometric mean of the rounds' ratios.
     */
    paired:
      settings.pairEntry === null
        ? null
        : {
            build: facts.gatewayFrom,
            other: settings.pairEntry,
            figures: measured.paired,
            levels: pairedLevels(measured.paired),
          },
    idle: measured.idleReport,
    /** Every measured phase in order, including those of a partial run (--paths) that has no level table. */
    phases: measured.phases,
    targets: buildTargets(measured.levelReports.at(-1), measured.idleReport),
    sweep,
    cost: buildCost(costSources(measured, sweep), measured.idleReport, settings.workload, gatewayKnee),
    scaleOut: capacity.scaleOut,
    profile: facts.profile,
    profileComparison: facts.profileComparison,
    notes,
  };
}

export type BenchResults = ReturnType<typeof buildResults>;

/** Where the cost per 1,000 users is read: each path at its sweep knee, else at the run's largest level. */
function costSources(measured: Measured, sweep: SweepReport | null): CostSource[] {
  if (sweep !== null) {
    return sweep.knees.flatMap(({ path, knee }) => {
      const cell = sweep.steps.find((s) => s.sessions === knee)?.cells.find((c) => c.path === path);
      return cell === undefined ? [] : [{ path, basis: 'its knee', report: cell.report }];
    });
  }
  const level = measured.levelReports.at(-1);
  if (level === undefined) return [];
  const through: [ThroughPath, PathReport | null][] = [
    ['gateway', level.gateway],
    ['floor', level.floor],
    ['peer', level.peer],
  ];
  return through.flatMap(([path, report]) => (report === null ? [] : [{ path, basis: 'largest level', report }]));
}

const pairsText = (pairs: number): string =>
  pairs === 1 ? 'one pair per level; --rounds N measures more' : `${pairs} pairs per level, alternated`;

/** The results as markdown; `levels` are the levels asked for (a partial run has fewer level tables). */
export function renderMarkdown(results: BenchResults, levels: number[]): string {
  const { workload, peer: peerInfo, levels: levelReports, phases, idle: idleReport, profile, notes } = results;
  const gatewayEnv = results.gateway.env;
  const parts = [
    `# Benchmark ${results.mode} run, ${results.startedAt}`,
    '',
    `Command: \`${results.command}\`. Machine: ${results.machine.nproc} × ${results.machine.cpuModel}, ${results.machine.memoryMiB} MiB, Node ${results.machine.node}, Linux ${results.machine.kernel}.`,
    `Workload: TTFT ${workload.ttftMs} ms, ${workload.itlMs} ms between tokens, ${workload.tokens} tokens, think ${workload.thinkMs} ms; one turn in ${workload.cancelEvery} (staggered across sessions) cancelled after ${workload.cancelAfterChunks} deltas.`,
    `Gateway from ${results.gateway.from}${Object.keys(gatewayEnv).length > 0 ? ` with ${JSON.stringify(gatewayEnv)}` : ''}.${peerInfo === null ? '' : peerInfo.error === undefined ? ` Peer: Portkey ${PORTKEY_VERSION}.` : ` Peer: Portkey could not run: ${peerInfo.error}`}`,
  ];
  for (const level of levelReports)
    parts.push(
      '',
      `## ${level.sessions} concurrent session${level.sessions === 1 ? '' : 's'} (window ${level.gateway.windowSeconds.toFixed(0)} s)`,
      '',
      levelTable(level),
    );
  if (results.cpuRatio.length > 0)
    parts.push(
      '',
      `## CPU per delta: gateway ÷ floor relay (${pairsText(results.cpuRatio[0]!.pairs.length)})`,
      '',
      cpuRatioTable(results.cpuRatio),
    );
  if (results.paired !== null) {
    const { build, other, figures } = results.paired;
    parts.push('', '## Paired A/B: two builds in the same window', '', pairedSection(figures, build, other));
  }
  for (const level of heapSampleLevels(phases)) {
    const mode = level.paths[0]?.figures.mode ?? 'allocated';
    parts.push(
      '',
      `## Heap sampled per delta (${mode}), ${level.sessions} sessions`,
      '',
      "Sampling slows the proxies: this run's latency and CPU figures do not count. Profiles: the JSON's `heapSample.file`.",
      '',
      heapSampleTable(level),
    );
  }
  const loadPhases = phases.filter((p) => !p.idle);
  if (levelReports.length < levels.length && loadPhases.length > 0)
    parts.push('', '## Phases', '', phasesTable(loadPhases));
  if (idleReport !== null) parts.push('', '## Idle sessions (gateway memory)', '', idleTable(idleReport));
  if (levelReports.length > 0 || idleReport !== null) parts.push('', '## Targets', '', targetsTable(results.targets));
  if (results.sweep !== null)
    parts.push(
      '',
      `## Capacity sweep (knee: the largest step whose added first-token p99 ≤ ${results.sweep.kneeMs} ms)`,
      '',
      sweepTables(results.sweep),
    );
  if (results.cost !== null)
    parts.push('', '## Cost per 1,000 concurrently talking users', '', costSection(results.cost, workload));
  if (results.scaleOut !== null) parts.push('', '## Scale-out with Redis', '', scaleOutSection(results.scaleOut));
  if (profile !== null)
    parts.push(
      '',
      `## Gateway CPU profile (the gateway process of the ${Math.max(...levels)}-session level)`,
      '',
      profileTable(profile, 20),
    );
  if (results.profileComparison !== null)
    parts.push('', '## Gateway and floor relay, per delta', '', comparisonTable(results.profileComparison));
  if (notes.length > 0) parts.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  return parts.join('\n');
}

/** Writes <stamp>.json and <stamp>.md into `outDir` and prints the markdown. */
export function writeResults(results: BenchResults, levels: number[], outDir: string, stamp: string): void {
  const markdown = renderMarkdown(results, levels);
  writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, `${stamp}.md`), `${markdown}\n`);
  process.stdout.write(`\n${markdown}\n\nwrote ${join(outDir, `${stamp}.json`)} and .md\n`);
}
