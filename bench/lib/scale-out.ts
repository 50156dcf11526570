// `--redis`: what scale-out costs. At each --redis-sessions total: the direct path, then one gateway in memory,
// one gateway with REDIS_URL, and two gateways with REDIS_URL sharing the sessions evenly, all against one local
// redis-server (a fresh key prefix per phase). CPU per delta is summed over the instances, with and without
// redis-server's own CPU, so an operator sees what a replica behind Redis costs.

import { execFileSync } from 'node:child_process';
import { errorCount, runPhase, type PathReport } from './phase.js';
import { fmt, kib, row, signed } from './report-format.js';
import { addedFigures, type AddedFigures } from './report.js';
import { measureCleanest, measurePath, phaseLine, planFor, workersFor } from './run-levels.js';
import { log, type BenchSettings } from './run-options.js';
import type { BenchServers } from './run-servers.js';

export interface ScaleOutRow {
  label: string;
  instances: number;
  redis: boolean;
  sessions: number;
  report: PathReport;
  added: AddedFigures;
  /** Every instance's CPU over the window, % of one core. */
  instanceCpuPercent: number[];
  redisCpuPercent: number | null;
  /** CPU s per million deltas clients received: the gateways', and the gateways' plus redis-server's. */
  gatewayCpuSecondsPerMillion: number | null;
  totalCpuSecondsPerMillion: number | null;
  /** Gateways plus redis-server, CPU-seconds per second scaled to 1,000 sessions. */
  coresPer1000: number;
}

export interface ScaleOutReport {
  redisServer: string;
  levels: { sessions: number; direct: PathReport; rows: ScaleOutRow[] }[];
}

const CONFIGS = [
  { label: 'one gateway, in memory', instances: 1, redis: false },
  { label: 'one gateway, REDIS_URL', instances: 1, redis: true },
  { label: 'two gateways, REDIS_URL, half the sessions each', instances: 2, redis: true },
] as const;

export async function measureScaleOut(
  servers: BenchServers,
  settings: BenchSettings,
  workers: number,
): Promise<ScaleOutReport> {
  const redis = await servers.startRedis();
  const levels: ScaleOutReport['levels'] = [];
  let phase = 0;
  for (const sessions of settings.redisSessions ?? []) {
    log(`scale-out: ${sessions} sessions, direct then ${CONFIGS.length} gateway configurations`);
    const direct = await measurePath(servers, settings, workers, 'direct', sessions);
    log(phaseLine('direct', sessions, direct));
    const rows: ScaleOutRow[] = [];
    for (const config of CONFIGS) {
      const report = await measureCleanest(settings, `${config.label} @${sessions}`, async () => {
        phase += 1;
        const env: Record<string, string> = config.redis
          ? { REDIS_URL: redis.url, REDIS_KEY_PREFIX: `bench${process.pid}-${phase}:` }
          : {};
        await servers.freshReplicas(config.instances, env, `scale-out-${sessions}-${phase}`);
        const plan = planFor(settings, workers, 'gateway', sessions);
        plan.workers = workersFor(plan.workers, config.instances);
        return runPhase(servers.contextFor('gateway', settings.workload, settings.smoke), plan);
      });
      log(phaseLine(`${config.instances}×${config.redis ? 'redis' : 'mem'}`, sessions, report));
      rows.push(scaleOutRow(config, report, direct));
    }
    levels.push({ sessions, direct, rows });
  }
  return { redisServer: redisVersion(), levels };
}

function scaleOutRow(config: (typeof CONFIGS)[number], report: PathReport, direct: PathReport): ScaleOutRow {
  const window = Math.max(report.windowSeconds, 1e-9);
  const gatewaySeconds = report.server?.cpuSeconds ?? 0;
  const redisPercent = report.sidecars.find((s) => s.name === 'redis-server')?.cpuPercent ?? null;
  const totalSeconds = gatewaySeconds + ((redisPercent ?? 0) / 100) * window;
  const perMillion = (seconds: number): number | null => (report.chunks > 0 ? seconds / (report.chunks / 1e6) : null);
  return {
    label: config.label,
    instances: config.instances,
    redis: config.redis,
    sessions: report.sessions,
    report,
    added: addedFigures(report, direct),
    instanceCpuPercent: (report.server?.instanceCpuSeconds ?? []).map((s) => (100 * s) / window),
    redisCpuPercent: redisPercent,
    gatewayCpuSecondsPerMillion: perMillion(gatewaySeconds),
    totalCpuSecondsPerMillion: perMillion(totalSeconds),
    coresPer1000: ((totalSeconds / window) * 1000) / Math.max(1, report.sessions),
  };
}

function redisVersion(): string {
  try {
    return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'redis-server (version unknown)';
  }
}

/** One table per session count, and what the ratios say. */
export function scaleOutSection(report: ScaleOutReport): string {
  const parts = [`Local ${report.redisServer}, no persistence; a fresh key prefix per phase.`];
  for (const level of report.levels) {
    parts.push(
      '',
      `### ${level.sessions} concurrent sessions in total (direct first token p99 ${fmt(level.direct.ttftMs.p99)} ms)`,
      '',
      row([
        'configuration',
        'sessions per instance',
        'added first token p50 / p99 (ms)',
        'added per-token p99 (ms)',
        'gateway % of one core, each instance',
        'redis-server % of one core',
        'CPU s per million deltas: gateways / + redis-server',
        'cores per 1,000 sessions, gateways + redis-server',
        'RSS per session, all instances (KiB)',
        'failed turns / errors',
        'machine CPU % / not ours',
      ]),
      row(Array.from({ length: 11 }, () => '---')),
      ...level.rows.map((r) =>
        row([
          r.label,
          String(r.sessions / r.instances),
          `${signed(r.added.ttftP50)} / ${signed(r.added.ttftP99)}`,
          signed(r.added.perTokenP99, 3),
          r.instanceCpuPercent.map((p) => fmt(p, 1)).join(' + '),
          fmt(r.redisCpuPercent, 1),
          `${fmt(r.gatewayCpuSecondsPerMillion, 1)} / ${fmt(r.totalCpuSecondsPerMillion, 1)}`,
          fmt(r.coresPer1000, 3),
          kib(r.report.server?.rssPerSessionBytes),
          `${r.report.turns.failed} / ${errorCount(r.report)}`,
          `${fmt(r.report.machineCpuPercent, 0)} / ${fmt(r.report.otherCpuPercent, 0)}`,
        ]),
      ),
    );
    const [memory, oneRedis, twoRedis] = level.rows.map((r) => r.totalCpuSecondsPerMillion);
    const ratio = (a: number | null | undefined, b: number | null | undefined): string =>
      a == null || b == null || b === 0 ? '–' : fmt(a / b, 2);
    parts.push(
      '',
      `CPU per delta, gateways and redis-server together: REDIS_URL costs ${ratio(oneRedis, memory)}× the in-memory gateway's; ` +
        `two instances behind Redis cost ${ratio(twoRedis, oneRedis)}× one instance behind Redis for the same sessions ` +
        `(${ratio(twoRedis, memory)}× the in-memory gateway's).`,
    );
  }
  return parts.join('\n');
}
