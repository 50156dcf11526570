// The processes one `bench/run.ts` run measures through: the simulator, a fresh gateway per level, the
// optional Portkey peer and floor relay, and for --redis a redis-server and gateways sharing it; where each
// path's clients connect, and stopping everything.

import { DEFAULT_SYSTEM_PROMPT } from '../../src/config.js';
import { RedisServer } from '../../test/redis-server.js';
import type { PathName } from './messages.js';
import type { PhaseContext } from './phase.js';
import { installPortkey, portkeyHeaders, startPortkey, PORTKEY_VERSION } from './portkey.js';
import { startFloorRelay } from './floor-process.js';
import { startGatewayProcess, stopProcess, type ServerProcess, type SimulatorProcess } from './procs.js';
import type { BenchWorkload } from './run-options.js';

export interface PeerInfo {
  name: string;
  version?: string;
  error?: string;
  install?: string[];
}

/** How every gateway of the run is started. */
export interface GatewayLaunch {
  fromSrc: boolean;
  entry: string | undefined;
  profDir: string | undefined;
  /** --node-flag: given to every relay of the run (gateway, floor relay, peer), so they compare like for like. */
  nodeFlags: readonly string[];
  env: Record<string, string>;
  verbose: boolean;
}

export class BenchServers {
  gateway: ServerProcess | undefined;
  peer: ServerProcess | undefined;
  floor: ServerProcess | undefined;
  /** --redis: the gateways of a scale-out phase (instead of `gateway`), and the redis-server they share. */
  replicas: ServerProcess[] = [];
  redis: RedisServer | undefined;
  /** Whether the replicas were given REDIS_URL (then redis-server's CPU is part of their phases). */
  private replicasUseRedis = false;
  peerInfo: PeerInfo | null = null;

  constructor(
    readonly sim: SimulatorProcess,
    private readonly launch: GatewayLaunch,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Interrupted (Ctrl-C, timeout): stop what this run started; the children also stop themselves when our IPC
   * channel closes, so nothing outlives the run either way.
   */
  stopOnSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        this.log(`${signal}: stopping`);
        for (const child of [
          this.gateway?.child,
          ...this.replicas.map((r) => r.child),
          this.peer?.child,
          this.floor?.child,
          this.sim.child,
        ])
          child?.kill('SIGTERM');
        void this.redis?.kill();
        setTimeout(() => process.exit(130), 500);
      });
    }
  }

  /**
   * A fresh gateway per level (and for the idle phase): sessions that closed in an earlier phase may stay
   * resumable for RESUME_TTL_MS, and their memory must not leak into the next phase's figures.
   */
  async freshGateway(label: string): Promise<ServerProcess> {
    await this.stopGateways();
    this.gateway = await this.launchGateway(label, {});
    return this.gateway;
  }

  /** --redis: `count` fresh gateways with `env` on top of the run's (REDIS_URL, REDIS_KEY_PREFIX). */
  async freshReplicas(count: number, env: Record<string, string>, label: string): Promise<ServerProcess[]> {
    await this.stopGateways();
    this.replicasUseRedis = env.REDIS_URL !== undefined;
    this.replicas = await Promise.all(
      Array.from({ length: count }, (_, i) => this.launchGateway(`${label}-${i + 1}`, env)),
    );
    return this.replicas;
  }

  /**
   * --pair-entry: two fresh gateways for one phase, the run's build and `other`, sharing the load as replicas do
   * (without Redis: each keeps its own sessions); `other` first when `swapped`. paired.ts reads each one's figures.
   */
  async freshPair(label: string, other: string, swapped = false): Promise<ServerProcess[]> {
    await this.stopGateways();
    this.replicasUseRedis = false;
    const [a, b] = await Promise.all([
      this.launchGateway(`${label}-a`, {}),
      this.launchGateway(`${label}-b`, {}, other),
    ]);
    this.replicas = swapped ? [b, a] : [a, b];
    this.log(`pair for ${label}: the first gateway (even load workers) is ${this.replicas[0] === b ? 'b' : 'a'}`);
    return this.replicas;
  }

  /** The redis-server of the scale-out phases (no persistence, a free port), started once. */
  async startRedis(): Promise<RedisServer> {
    this.redis ??= await RedisServer.start();
    this.log(`redis-server ${this.redis.url} (pid ${this.redis.pid})`);
    return this.redis;
  }

  private async stopGateways(): Promise<void> {
    for (const gateway of [this.gateway, ...this.replicas]) if (gateway !== undefined) await stopProcess(gateway.child);
    this.gateway = undefined;
    this.replicas = [];
  }

  /** A gateway of the run's build, or of `otherEntry` (--pair-entry), which always runs as given. */
  private async launchGateway(label: string, env: Record<string, string>, otherEntry?: string): Promise<ServerProcess> {
    const { profDir, verbose } = this.launch;
    const fromSrc = otherEntry === undefined && this.launch.fromSrc;
    const entry = otherEntry ?? this.launch.entry;
    const started = await startGatewayProcess({
      simUrl: this.sim.url,
      fromSrc,
      ...(entry === undefined ? {} : { entry }),
      cpuProfDir: profDir,
      cpuProfName: `gateway-${label}`,
      nodeFlags: this.launch.nodeFlags,
      env: { ...this.launch.env, ...env },
      echo: verbose,
    });
    this.log(
      `gateway ws://127.0.0.1:${started.port}/v1/voice (pid ${started.pid}, ${fromSrc ? 'src via tsx' : (entry ?? 'dist')}) for ${label}`,
    );
    return started;
  }

  /** --peer portkey: installs and starts it; when that fails the run goes on without it (peerInfo.error says why). */
  async startPeer(name: string | undefined, dir: string, verbose: boolean): Promise<void> {
    if (name === undefined) return;
    if (name !== 'portkey') throw new Error(`--peer: only "portkey" is supported, got "${name}"`);
    const peerInfo: PeerInfo = { name: 'portkey', version: PORTKEY_VERSION };
    this.peerInfo = peerInfo;
    try {
      peerInfo.install = installPortkey(dir);
      this.peer = await startPortkey(dir, verbose, this.launch.nodeFlags);
      this.log(`peer Portkey http://127.0.0.1:${this.peer.port} (pid ${this.peer.pid})`);
    } catch (err) {
      peerInfo.error = err instanceof Error ? err.message : String(err);
      this.log(`peer Portkey unavailable: ${peerInfo.error}`);
    }
  }

  async startFloor(verbose: boolean): Promise<void> {
    this.floor = await startFloorRelay(this.sim.url, verbose, this.launch.nodeFlags, this.launch.profDir);
    this.log(`floor relay ws://127.0.0.1:${this.floor.port}/ (pid ${this.floor.pid})`);
  }

  /** The paths a level measures: direct and gateway, then the peer and the floor when they run. */
  paths(): PathName[] {
    const paths: PathName[] = ['direct', 'gateway'];
    if (this.peer !== undefined) paths.push('peer');
    if (this.floor !== undefined) paths.push('floor');
    return paths;
  }

  /** The clients' side of a path: its first server (or every replica after freshReplicas) and its URL. */
  contextFor(path: PathName, workload: BenchWorkload, smoke: boolean): PhaseContext {
    const gateway = this.replicas[0] ?? this.gateway;
    const server = { direct: undefined, gateway, peer: this.peer, floor: this.floor }[path];
    const replicas =
      path === 'gateway' && this.replicas.length > 0
        ? {
            replicas: this.replicas.map((r) => ({ server: r, url: `ws://127.0.0.1:${r.port}/v1/voice` })),
            sidecars:
              this.replicasUseRedis && this.redis?.pid !== undefined
                ? [{ name: 'redis-server', pid: this.redis.pid }]
                : [],
          }
        : {};
    return {
      ...replicas,
      sim: this.sim,
      server,
      url:
        path === 'gateway' || path === 'floor'
          ? `ws://127.0.0.1:${server!.port}/v1/voice`
          : path === 'peer'
            ? `http://127.0.0.1:${this.peer!.port}/v1/chat/completions`
            : `${this.sim.url}/chat/completions`,
      kind: path === 'gateway' || path === 'floor' ? 'ws' : 'sse',
      headers: path === 'peer' ? portkeyHeaders(this.sim.url) : {},
      workload,
      model: 'asi1-mini',
      systemPrompt: DEFAULT_SYSTEM_PROMPT,
      maxTokens: 400,
      log: this.log,
      waitForQuiet: !smoke,
    };
  }

  async stopAll(): Promise<void> {
    await this.stopGateways();
    await this.redis?.kill();
    if (this.peer !== undefined) await stopProcess(this.peer.child);
    if (this.floor !== undefined) await stopProcess(this.floor.child);
    await stopProcess(this.sim.child);
  }
}
