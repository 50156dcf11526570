// `npm run bench` (full, 4–5 min; 8–15 with --peer portkey --floor), `npm run bench:quick` (~85 s), `--smoke` (seconds, for the test):
// the simulator, the gateway and the load generator run as separate processes on loopback; each
// concurrency is measured direct-to-simulator (HTTP/SSE) and through the gateway (WebSocket) in the same run,
// optionally through a peer proxy (`--peer portkey`) and the floor relay (`--floor`). `--sweep` raises the
// sessions until each path's added first-token p99 passes 5 ms (its knee); `--redis` measures scale-out.
// Prints a table; writes bench/results/<ts>.{json,md}. Options: run-options.ts. Method: docs/benchmarks/method.md.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeProfile, type ProfileSummary } from './lib/cpuprofile.js';
import { compareWithFloor, type ProfileComparison } from './lib/profile-compare.js';
import { ROOT, startSimulatorProcess } from './lib/procs.js';
import { measureLevels, measureSweep, type Measured } from './lib/run-levels.js';
import { fitToFileLimit, gatewayEnvFor, peakSessions, raiseFileLimit } from './lib/run-environment.js';
import { benchSettings, log, parseBenchArgs } from './lib/run-options.js';
import { buildResults, writeResults, type Capacity } from './lib/run-results.js';
import { BenchServers } from './lib/run-servers.js';
import { measureScaleOut } from './lib/scale-out.js';

const values = parseBenchArgs();
const settings = benchSettings(values);
const { mode, levels, workload, fromSrc, heapSample, nodeFlags } = settings;
raiseFileLimit(settings.idleSessions + peakSessions(settings) + 2_000);
const notes: string[] = [];
const fdLimit = fitToFileLimit(settings, notes);
if (!fromSrc && !values['no-build'])
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: 'inherit' });
const gatewayEnv = gatewayEnvFor(values, settings);
if (nodeFlags.length > 0) notes.push(`every relay (gateway, floor relay, peer) ran with node ${nodeFlags.join(' ')}`);
if (settings.pairEntry !== null)
  notes.push('paired: the gateway figures of the level tables, targets and cost are the two gateways together');
// Every proxy (gateway, floor, peer) inherits it, so their upstream waits can be compared.
if (values['probe-upstream']) process.env.BENCH_PROBE_UPSTREAM = '1';
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = values['out-dir'] ?? join(ROOT, 'bench/results');
mkdirSync(outDir, { recursive: true });
const profDir = values['cpu-prof'] ? join(outDir, `prof-${stamp}`) : undefined;
// Every proxy (gateway, floor, peer) inherits it: each samples its own windows (bench/gateway-probe.mjs).
if (heapSample !== null) {
  process.env.BENCH_HEAP_SAMPLE = heapSample;
  process.env.BENCH_HEAP_SAMPLE_DIR = join(outDir, `heap-${stamp}`);
  mkdirSync(process.env.BENCH_HEAP_SAMPLE_DIR, { recursive: true });
}

const startedAt = new Date();
log(
  `${mode}: levels ${levels.join(', ') || 'none'}; idle ${settings.idleSessions}${settings.sweep === null ? '' : `; sweep ${settings.sweep.steps.join(', ')} (knee: added first-token p99 ≤ ${settings.sweep.kneeMs} ms)`}${settings.redisSessions === null ? '' : `; scale-out at ${settings.redisSessions.join(', ')}`}; workload TTFT ${workload.ttftMs} ms, ${workload.itlMs} ms/token, ${workload.tokens} tokens, think ${workload.thinkMs} ms`,
);
const sim = await startSimulatorProcess(workload);
log(`simulator ${sim.url} (pid ${sim.pid})`);
const gatewayEntry = values['gateway-entry'];
const servers = new BenchServers(
  sim,
  { fromSrc, entry: gatewayEntry, profDir, nodeFlags, env: gatewayEnv, verbose: values.verbose },
  log,
);
servers.stopOnSignals();
let measured: Measured;
const capacity: Capacity = { sweep: null, scaleOut: null };
try {
  await servers.startPeer(values.peer, values['peer-dir'], values.verbose);
  if (values.floor) await servers.startFloor(values.verbose);
  const workers = Number(values.workers);
  measured = await measureLevels(servers, settings, workers);
  if (settings.sweep !== null) capacity.sweep = await measureSweep(servers, settings, workers, settings.sweep);
  if (settings.redisSessions !== null) capacity.scaleOut = await measureScaleOut(servers, settings, workers);
} finally {
  await servers.stopAll();
}
let profile: ProfileSummary | null = null;
let profileComparison: ProfileComparison | null = null;
if (profDir !== undefined) {
  // The profile of the gateway that served the largest level.
  const file = readdirSync(profDir).find((f) => f === `gateway-${Math.max(...levels)}.cpuprofile`);
  if (file !== undefined) profile = summarizeProfile(join(profDir, file), 30);
  if (capacity.sweep === null) profileComparison = compareWithFloor(profile, profDir, measured, levels);
}

const gatewayFrom = fromSrc ? 'src (tsx)' : (gatewayEntry ?? 'dist');
const results = buildResults(
  {
    settings,
    startedAt,
    fdLimit,
    gatewayFrom,
    gatewayEnv,
    peerInfo: servers.peerInfo,
    profile,
    profileComparison,
    notes,
  },
  measured,
  capacity,
);
writeResults(results, levels, outDir, stamp);
