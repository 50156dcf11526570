// `npm run bench` (full, 4–5 min; 8–15 with --peer portkey --floor), `npm run bench:quick` (~85 s), `--smoke` (seconds, for the test):
// the simulator, the gateway and the load generator run as separate processes on loopback; each
// concurrency is measured direct-to-simulator (HTTP/SSE) and through the gateway (WebSocket) in the same run,
// optionally through a peer proxy (`--peer portkey`). Prints a table; writes bench/results/<ts>.{json,md}.
// Options: see USAGE below. Method and caveats: BENCHMARKS.md.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SYSTEM_PROMPT } from '../src/config.js';
import { profileTable, summarizeProfile, type ProfileSummary } from './lib/cpuprofile.js';
import type { PathName } from './lib/messages.js';
import { runPhase, type PathReport, type PhaseContext, type PhasePlan } from './lib/phase.js';
import { installPortkey, portkeyHeaders, startPortkey, PORTKEY_VERSION } from './lib/portkey.js';
import { ROOT, startFloorRelay, startGatewayProcess, startSimulatorProcess, stopProcess, type ServerProcess } from './lib/procs.js';
import { buildLevel, buildTargets, idleTable, levelTable, phasesTable, targetsTable, waitText, type LevelReport } from './lib/report.js';
import { WORKLOAD } from './lib/workload.js';

/** "Not ours" machine CPU (all cores = 100) above which a phase counts as disturbed by other work. */
const OTHER_CPU_LIMIT = 10;
const USAGE = `usage: tsx bench/run.ts [--quick | --smoke] [options]
  --levels 1,100,1000     concurrent sessions per level (default 1,100,1000; smoke: 2)
  --idle 10000            idle sessions for the memory phase (0 skips it; smoke: 10)
  --measure-s N           measurement window per phase, seconds (default 40/20/30 full, 4/5/6 quick)
  --workers N             load-generator processes at >= 500 sessions (default 3)
  --peer portkey          also run every level through Portkey ${PORTKEY_VERSION} (installed into --peer-dir)
  --peer-dir DIR          default /tmp/portkey-bench
  --floor                 also run every level through bench/floor-relay.ts (the least a WS → SSE relay does)
  --cpu-prof              run each gateway with --cpu-prof (one profile per gateway process; the largest level's
                          is summarised in the results)
  --gateway-env K=V       extra gateway environment (repeatable), e.g. UPSTREAM_CONNECTIONS=2048
  --paths direct,gateway  run only these paths (debugging; the differences need both)
  --probe-writes          count the gateway's socket writes and the wall time inside them (diagnosis)
  --probe-upstream        count the proxy's upstream connects and time each request from dispatch to its headers
                          being written, on fresh and on reused sockets (diagnosis; undici proxies only)
  --from-src              run the gateway from src/ through tsx instead of dist/ (smoke default)
  --no-build              do not rebuild dist/ when it is older than src/
  --gateway-entry FILE    run this server.js instead of dist/src/server.js (A/B against another build)
  --attempts N            re-run a phase while other work on the host took > ${OTHER_CPU_LIMIT} % CPU during it,
                          keeping the cleanest attempt (default 2; smoke: 1)
  --out-dir DIR           where to write results (default bench/results)
  --verbose               echo the gateway's and the peer's output`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    levels: { type: 'string' },
    idle: { type: 'string' },
    'measure-s': { type: 'string' },
    workers: { type: 'string', default: '3' },
    peer: { type: 'string' },
    'peer-dir': { type: 'string', default: '/tmp/portkey-bench' },
    'cpu-prof': { type: 'boolean', default: false },
    'gateway-env': { type: 'string', multiple: true, default: [] },
    paths: { type: 'string' },
    'probe-writes': { type: 'boolean', default: false },
    'probe-upstream': { type: 'boolean', default: false },
    floor: { type: 'boolean', default: false },
    attempts: { type: 'string' },
    'from-src': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'gateway-entry': { type: 'string' },
    'out-dir': { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const mode = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
const smoke = mode === 'smoke';
const levels = (values.levels ?? (smoke ? '2' : '1,100,1000')).split(',').map(Number).filter((n) => n > 0);
let idleSessions = Number(values.idle ?? (smoke ? 10 : 10_000));
const workload = smoke
  ? { ttftMs: 20, itlMs: 5, tokens: 10, thinkMs: 50, cancelEvery: 2, cancelAfterChunks: 3 }
  : { ...WORKLOAD };
const cycleMs = workload.ttftMs + workload.itlMs * (workload.tokens - 1) + workload.thinkMs;
const measureMsFor = (sessions: number): number => {
  if (values['measure-s'] !== undefined) return Number(values['measure-s']) * 1000;
  if (mode === 'quick') return sessions >= 1000 ? 6_000 : sessions >= 100 ? 5_000 : 4_000;
  return sessions === 1 ? 40_000 : sessions >= 1000 ? 30_000 : 20_000;
};
const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);

raiseFileLimit(idleSessions + Math.max(...levels, 0) + 2_000);
const notes: string[] = [];
const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
if (idleSessions + 1_000 > fdLimit) {
  notes.push(`idle sessions reduced from ${idleSessions} to ${fdLimit - 1_000}: the open-file limit is ${fdLimit}`);
  idleSessions = Math.max(0, fdLimit - 1_000);
}

const fromSrc = values['from-src'] || smoke;
const onlyPaths = values.paths?.split(',');
const attempts = Math.max(1, Number(values.attempts ?? (smoke ? 1 : 2)));
if (!fromSrc && !values['no-build']) execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: 'inherit' });
// Every bench client connects from 127.0.0.1, so the per-address caps (connections, replies in progress, turns)
// and the total connection cap must be above the load's; everything else runs on the gateway's defaults unless
// --gateway-env says otherwise.
const gatewayEnv: Record<string, string> = {
  MAX_CONNECTIONS_PER_IP: String(Math.max(idleSessions, ...levels) + 1_000),
  MAX_RESPONSES_PER_IP: '100000',
  TURNS_PER_MINUTE_PER_IP: '1000000',
  MAX_CONNECTIONS: String(Math.max(idleSessions, ...levels) + 1_000),
  ...(values['probe-writes'] ? { BENCH_PROBE_WRITES: '1' } : {}),
  ...Object.fromEntries(
    values['gateway-env'].map((kv) => {
      const i = kv.indexOf('=');
      if (i <= 0) throw new Error(`--gateway-env expects K=V, got "${kv}"`);
      return [kv.slice(0, i), kv.slice(i + 1)];
    }),
  ),
};
// Every proxy (gateway, floor, peer) inherits it, so their upstream waits can be compared.
if (values['probe-upstream']) process.env.BENCH_PROBE_UPSTREAM = '1';
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const outDir = values['out-dir'] ?? join(ROOT, 'bench/results');
mkdirSync(outDir, { recursive: true });
const profDir = values['cpu-prof'] ? join(outDir, `prof-${stamp}`) : undefined;

const startedAt = new Date();
log(`${mode}: levels ${levels.join(', ')}; idle ${idleSessions}; workload TTFT ${workload.ttftMs} ms, ${workload.itlMs} ms/token, ${workload.tokens} tokens, think ${workload.thinkMs} ms`);
const sim = await startSimulatorProcess(workload);
log(`simulator ${sim.url} (pid ${sim.pid})`);
let gateway: ServerProcess | undefined;
let peer: ServerProcess | undefined;
let floor: ServerProcess | undefined;
let peerInfo: { name: string; version?: string; error?: string; install?: string[] } | null = null;
// Interrupted (Ctrl-C, timeout): stop what this run started; the children also stop themselves when our IPC
// channel closes, so nothing outlives the run either way.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    for (const child of [gateway?.child, peer?.child, floor?.child, sim.child]) child?.kill('SIGTERM');
    setTimeout(() => process.exit(130), 500);
  });
}
const levelReports: LevelReport[] = [];
const phases: PathReport[] = [];
let idleReport: PathReport | null = null;
let profile: ProfileSummary | null = null;
try {
  // A fresh gateway per level (and for the idle phase): sessions that closed in an earlier phase may stay
  // resumable for RESUME_TTL_MS, and their memory must not leak into the next phase's figures.
  const freshGateway = async (label: string): Promise<ServerProcess> => {
    if (gateway !== undefined) await stopProcess(gateway.child);
    gateway = undefined;
    const started = await startGatewayProcess({ simUrl: sim.url, fromSrc, ...(values['gateway-entry'] === undefined ? {} : { entry: values['gateway-entry'] }), cpuProfDir: profDir, cpuProfName: `gateway-${label}`, env: gatewayEnv, echo: values.verbose });
    log(`gateway ws://127.0.0.1:${started.port}/v1/voice (pid ${started.pid}, ${fromSrc ? 'src via tsx' : (values['gateway-entry'] ?? 'dist')}) for ${label}`);
    gateway = started;
    return started;
  };
  if (values.peer !== undefined) {
    if (values.peer !== 'portkey') throw new Error(`--peer: only "portkey" is supported, got "${values.peer}"`);
    peerInfo = { name: 'portkey', version: PORTKEY_VERSION };
    try {
      peerInfo.install = installPortkey(values['peer-dir']);
      peer = await startPortkey(values['peer-dir'], values.verbose);
      log(`peer Portkey http://127.0.0.1:${peer.port} (pid ${peer.pid})`);
    } catch (err) {
      peerInfo.error = err instanceof Error ? err.message : String(err);
      log(`peer Portkey unavailable: ${peerInfo.error}`);
    }
  }

  if (values.floor) {
    floor = await startFloorRelay(sim.url, values.verbose);
    log(`floor relay ws://127.0.0.1:${floor.port}/ (pid ${floor.pid})`);
  }

  const serverFor = (path: PathName): ServerProcess | undefined => ({ direct: undefined, gateway, peer, floor })[path];
  const contextFor = (path: PathName): PhaseContext => ({
    sim,
    server: serverFor(path),
    url:
      path === 'gateway' || path === 'floor'
        ? `ws://127.0.0.1:${serverFor(path)!.port}/v1/voice`
        : path === 'peer'
          ? `http://127.0.0.1:${peer!.port}/v1/chat/completions`
          : `${sim.url}/chat/completions`,
    kind: path === 'gateway' || path === 'floor' ? 'ws' : 'sse',
    headers: path === 'peer' ? portkeyHeaders(sim.url) : {},
    workload,
    model: 'asi1-mini',
    systemPrompt: DEFAULT_SYSTEM_PROMPT,
    maxTokens: 400,
    log,
    waitForQuiet: !smoke,
  });
  const planFor = (path: PathName, sessions: number, idle = false): PhasePlan => ({
    path,
    sessions,
    workers: sessions >= 500 ? Number(values.workers) : 1,
    idle,
    rampMs: smoke ? 0 : cycleMs,
    warmMs: smoke ? 0 : mode === 'quick' ? 500 : 1_000,
    measureMs: idle ? 2_000 : measureMsFor(sessions),
    maxTurns: smoke ? 2 : 0,
  });

  if (idleSessions > 0 && (onlyPaths === undefined || onlyPaths.includes('gateway'))) {
    await freshGateway(`idle-${idleSessions}`);
    idleReport = await runPhase(contextFor('gateway'), planFor('gateway', idleSessions, true));
    log(`  idle @${idleSessions}: RSS per session ${((idleReport.server?.rssPerSessionBytes ?? 0) / 1024).toFixed(1)} KiB`);
  }
  for (const sessions of levels) {
    const reports: Partial<Record<PathName, PathReport>> = {};
    const paths: PathName[] = ['direct', 'gateway'];
    if (peer !== undefined) paths.push('peer');
    if (floor !== undefined) paths.push('floor');
    for (const path of paths.filter((p) => onlyPaths === undefined || onlyPaths.includes(p))) {
      let report: PathReport | undefined;
      for (let attempt = 1; attempt <= attempts; attempt++) {
        if (path === 'gateway') await freshGateway(`${sessions}`);
        const tried = await runPhase(contextFor(path), planFor(path, sessions));
        if (report === undefined || tried.otherCpuPercent < report.otherCpuPercent) report = tried;
        if (tried.otherCpuPercent <= OTHER_CPU_LIMIT) break;
        log(`  ${path} @${sessions}: other work took ${tried.otherCpuPercent.toFixed(0)} % of the machine during attempt ${attempt}${attempt < attempts ? '; measuring again' : ''}`);
      }
      if (report === undefined) continue;
      reports[path] = report;
      log(
        `  ${path.padEnd(7)} @${sessions}: first token p50 ${report.ttftMs.p50?.toFixed(2)} p99 ${report.ttftMs.p99?.toFixed(2)} ms; ` +
          `per-token p50 ${report.perTokenMs.p50?.toFixed(3)} p99 ${report.perTokenMs.p99?.toFixed(3)} ms; cancel p99 ${report.cancelMs.p99?.toFixed(3)} ms; ` +
          `${report.turns.inWindow} turns; sim ${report.simulator.cpuPercent.toFixed(0)}% loop p99 ${report.simulator.loop.p99Ms.toFixed(1)} ms; ` +
          `loadgen ${report.loadgen.map((l) => `${l.cpuPercent.toFixed(0)}%/${l.loopP99Ms.toFixed(1)} ms`).join(' ')}; ` +
          `${report.server === null ? '' : `proxy ${((100 * report.server.cpuSeconds) / report.windowSeconds).toFixed(0)}% (sys ${((100 * report.server.cpuSystemSeconds) / report.windowSeconds).toFixed(0)}%) ${report.server.cpuSecondsPerMillionChunks?.toFixed(1)} s/M loop p99 ${report.server.loop.p99Ms.toFixed(1)} ms; `}${report.server?.writes?.count ? `writes ${report.server.writes.count} avg ${((1000 * report.server.writes.wallMs) / Math.max(1, report.server.writes.count)).toFixed(1)} µs; ` : ''}${report.server?.upstream ? `upstream: ${report.server.upstream.connects} connects, request → headers p50 / p90 ms (n) first on a socket ${waitText(report.server.upstream.fresh)}, reused ${waitText(report.server.upstream.reused)}; ` : ''}machine ${report.machineCpuPercent.toFixed(0)}% (not ours ${report.otherCpuPercent.toFixed(0)}%)`,
      );
      phases.push(report);
    }
    if (reports.direct !== undefined && reports.gateway !== undefined) levelReports.push(buildLevel(reports.direct, reports.gateway, reports.peer ?? null, reports.floor ?? null));
  }
} finally {
  if (gateway !== undefined) await stopProcess(gateway.child);
  if (peer !== undefined) await stopProcess(peer.child);
  if (floor !== undefined) await stopProcess(floor.child);
  await stopProcess(sim.child);
}
if (profDir !== undefined) {
  // The profile of the gateway that served the largest level.
  const file = readdirSync(profDir).find((f) => f === `gateway-${Math.max(...levels)}.cpuprofile`);
  if (file !== undefined) profile = summarizeProfile(join(profDir, file), 30);
}

const largest = levelReports.at(-1);
const targets = buildTargets(largest, idleReport);
const cpu = cpus();
const results = {
  schema: 1,
  mode,
  command: `npm run ${mode === 'quick' ? 'bench:quick' : 'bench'}${process.argv.slice(2).filter((a) => a !== '--quick').length > 0 ? ` -- ${process.argv.slice(2).filter((a) => a !== '--quick').join(' ')}` : ''}`,
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  machine: { nproc: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryMiB: Math.round(totalmem() / 2 ** 20), node: process.version, kernel: release(), fdLimit },
  workload,
  gateway: { from: fromSrc ? 'src (tsx)' : (values['gateway-entry'] ?? 'dist'), env: gatewayEnv },
  peer: peerInfo,
  levels: levelReports,
  idle: idleReport,
  /** Every measured phase in order, including those of a partial run (--paths) that has no level table. */
  phases,
  targets,
  profile,
  notes,
};
const markdown = renderMarkdown();
writeFileSync(join(outDir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(outDir, `${stamp}.md`), `${markdown}\n`);
process.stdout.write(`\n${markdown}\n\nwrote ${join(outDir, `${stamp}.json`)} and .md\n`);

function renderMarkdown(): string {
  const parts = [
    `# Benchmark ${mode} run, ${startedAt.toISOString()}`,
    '',
    `Command: \`${results.command}\`. Machine: ${results.machine.nproc} × ${results.machine.cpuModel}, ${results.machine.memoryMiB} MiB, Node ${results.machine.node}, Linux ${results.machine.kernel}.`,
    `Workload: TTFT ${workload.ttftMs} ms, ${workload.itlMs} ms between tokens, ${workload.tokens} tokens, think ${workload.thinkMs} ms; one turn in ${workload.cancelEvery} (staggered across sessions) cancelled after ${workload.cancelAfterChunks} deltas.`,
    `Gateway from ${results.gateway.from}${Object.keys(gatewayEnv).length > 0 ? ` with ${JSON.stringify(gatewayEnv)}` : ''}.${peerInfo === null ? '' : peerInfo.error === undefined ? ` Peer: Portkey ${PORTKEY_VERSION}.` : ` Peer: Portkey could not run: ${peerInfo.error}`}`,
  ];
  for (const level of levelReports) parts.push('', `## ${level.sessions} concurrent session${level.sessions === 1 ? '' : 's'} (window ${level.gateway.windowSeconds.toFixed(0)} s)`, '', levelTable(level));
  const loadPhases = phases.filter((p) => !p.idle);
  if (levelReports.length < levels.length && loadPhases.length > 0) parts.push('', '## Phases', '', phasesTable(loadPhases));
  if (idleReport !== null) parts.push('', '## Idle sessions (gateway memory)', '', idleTable(idleReport));
  parts.push('', '## Targets', '', targetsTable(targets));
  if (profile !== null) parts.push('', `## Gateway CPU profile (the gateway process of the ${Math.max(...levels)}-session level)`, '', profileTable(profile, 20));
  if (notes.length > 0) parts.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  return parts.join('\n');
}

/** Re-executes this process once with a raised open-file limit when 10,000 idle sockets would not fit. */
function raiseFileLimit(needed: number): void {
  const soft = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
  if (!(soft < needed) || process.env.BENCH_ULIMIT_RAISED === '1') return;
  const script = `ulimit -n ${Math.max(needed, 65_535)} 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@"`;
  const child = spawnSync('bash', ['-c', script, 'bash', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, BENCH_ULIMIT_RAISED: '1' },
  });
  process.exit(child.status ?? 1);
}
