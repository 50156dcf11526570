// Bounded soak test (`npm run soak`, never part of `npm test`): N sessions × M turns through separate gateway
// processes, with random barge-ins, disconnects and injected upstream faults. After every disconnect (before
// the first delta, mid-stream or after done) the client reconnects and resumes (protocol 1.1) from the last seq
// it saw. Checks, per session and across all its connections: seq numbers gap-free and never repeated; every
// response.created gets exactly one response.done and nothing of a response follows it; the deltas join to the
// done text; and (after one final turn per session) the last upstream request of the session holds every user
// turn the gateway accepted, in order. Reports lost responses, error counts and gateway memory over time.
// Exits non-zero when an invariant breaks.
//
// With --instances N > 1 (or --redis), a real redis-server is started and N gateways share it (REDIS_URL): each
// connection (first one and every reconnect) goes to a random instance, so resumes cross instances, including
// mid-response. --kill-redis-at S SIGKILLs redis-server S seconds in and restarts it 2 s later on the same port;
// GW_RESUME_FAILED (and close 4004) are then expected for a while and counted separately.
//
// Usage: npm run soak -- [--sessions 50] [--turns 20] [--instances 1] [--redis] [--kill-redis-at S]
//          [--fault-rate 0.25] [--barge-in-rate 0.3] [--disconnect-rate 0.05|0.15] [--out file.json] [--trace-dir dir]
import { parseArgs } from 'node:util';
import { startSimulator, type RecordedRequest } from '../src/simulator/server.js';
import { RedisServer } from '../test/redis-server.js';
import { SoakSession } from './lib/soak-client.js';
import { killRedisLater, randomScenario, RedisOutage } from './lib/soak-faults.js';
import { sampleMemory, serverAccounting, startGateways, stopGateways, type MemorySample } from './lib/soak-gateways.js';
import { buildReport, checkServerAccounting, writeReport } from './lib/soak-report.js';
import { newTotals, type SoakRun } from './lib/soak-state.js';

const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '50' },
    turns: { type: 'string', default: '20' },
    instances: { type: 'string', default: '1' },
    redis: { type: 'boolean' },
    'no-redis': { type: 'boolean' },
    'kill-redis-at': { type: 'string' },
    'fault-rate': { type: 'string', default: '0.25' },
    'barge-in-rate': { type: 'string', default: '0.3' },
    'disconnect-rate': { type: 'string' },
    out: { type: 'string' },
    'trace-dir': { type: 'string' },
  },
});
const sessions = Number(args.sessions);
const turns = Number(args.turns);
const instances = Math.max(1, Number(args.instances));
const useRedis = args['no-redis'] === true ? false : (args.redis ?? instances > 1);
if (instances > 1 && !useRedis) throw new Error('--instances > 1 needs Redis (resumes must work on any instance)');
const killRedisAtS = args['kill-redis-at'] === undefined ? null : Number(args['kill-redis-at']);
if (killRedisAtS !== null && !useRedis) throw new Error('--kill-redis-at needs --redis');
const faultRate = Number(args['fault-rate']);
const bargeInRate = Number(args['barge-in-rate']);
// Several instances: disconnect more often, so that many resumes cross instances.
const disconnectRate = Number(args['disconnect-rate'] ?? (instances > 1 ? '0.15' : '0.05'));

const simulator = await startSimulator({
  port: 0,
  host: '127.0.0.1',
  defaults: { ttftMs: 40, interTokenMs: 8 },
  scenarioFor: () => randomScenario(faultRate),
});
/** The most recent upstream request of each gateway session (by x-session-id), whatever simulator.requests keeps. */
const lastRequestOf = new Map<string, RecordedRequest>();
simulator.events.on('request', (request: RecordedRequest) => {
  const header = request.headers['x-session-id'];
  if (typeof header === 'string') lastRequestOf.set(header, request);
});
const redis = useRedis ? await RedisServer.start() : null;
const gateways = await startGateways(instances, simulator.url, redis);

const totals = newTotals();
const memory: MemorySample[] = [];
const startedAt = Date.now();
const sampler = setInterval(() => void sampleMemory(gateways, startedAt).then((sample) => memory.push(sample)), 1_000);
const outage = new RedisOutage();
const redisKiller =
  redis !== null && killRedisAtS !== null ? killRedisLater(redis, killRedisAtS, outage, startedAt) : Promise.resolve();
const run: SoakRun = {
  turns,
  bargeInRate,
  disconnectRate,
  urls: gateways.map((g) => `ws://127.0.0.1:${g.port}/v1/voice`),
  totals,
  lastRequestOf,
  inOutage: outage.active,
  startedAt,
};

const clients = Array.from({ length: sessions }, (_, i) => new SoakSession(i, run));
await Promise.all(clients.map((c) => c.drive()));
await redisKiller;
clearInterval(sampler);
memory.push(await sampleMemory(gateways, startedAt));

const accounting = await serverAccounting(gateways);
checkServerAccounting(totals, accounting);
await stopGateways(gateways);
await redis?.kill();
await simulator.close();

const settings = {
  sessions,
  turns,
  instances,
  redis: redis !== null,
  killRedisAtS,
  faultRate,
  bargeInRate,
  disconnectRate,
};
const report = buildReport(
  settings,
  { startedAt, upstreamRequests: simulator.requests.length, gatewayCount: gateways.length, totals, memory },
  accounting,
);
writeReport(report, memory, clients, args.out, args['trace-dir']);
process.exit(totals.lost === 0 && totals.violations.length === 0 ? 0 : 1);
