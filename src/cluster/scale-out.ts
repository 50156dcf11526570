// Assembles scale-out when REDIS_URL is set: the Redis link, this instance's presence, the shared session store
// and cluster, and the shared limits. Redis being down at start-up is not fatal: the gateway starts degraded,
// serving from memory, and catches up when Redis appears.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayMetrics } from '../metrics.js';
import type { SessionRegistry } from '../hosting/session-registry.js';
import type { FiguresStore } from '../experiments/figures.js';
import type { Tracing } from '../tracing/tracing.js';
import { RedisFiguresStore } from './figures-store.js';
import { InstancePresence } from './instance-presence.js';
import { describeRedisUrl, RedisLink } from './redis-link.js';
import { SessionCluster } from './session-cluster.js';
import { SessionStore } from './session-store.js';
import { SharedLimits } from './shared-limits.js';

/** How long start-up waits for Redis before starting degraded. */
const STARTUP_WAIT_MS = 3_000;
/** Slack on top of the longest silence for a session's Redis TTL while a socket is attached. */
const ATTACHED_TTL_SLACK_MS = 60_000;
/** How long a relay waits for the owner's answer to its hand-off request (re-sent every second meanwhile). */
const HANDOFF_ANSWER_MS = 10_000;
/** Slack on top of the longest silence before a relay whose owner sends nothing gives up. */
const RELAY_STALL_SLACK_MS = 5_000;

/**
 * The longest a running response may write nothing: waiting on the upstream queue and first token, a stalled
 * stream, an upstream that only pings, or a tool (a client tool can take minutes).
 */
export function longestResponseSilenceMs(config: Readonly<Config>): number {
  return Math.max(
    config.upstreamQueueTimeoutMs + config.upstreamFirstTokenTimeoutMs,
    config.upstreamStallTimeoutMs,
    config.upstreamPingsOnlyTimeoutMs,
    config.toolTimeoutMs,
    config.clientToolTimeoutMs,
  );
}

export interface ScaleOut {
  readonly instanceId: string;
  readonly link: RedisLink;
  /** This instance's heartbeat (other instances take its sessions over once it stops). */
  readonly presence: InstancePresence;
  readonly cluster: SessionCluster | null;
  readonly limits: SharedLimits;
  /** The experiment's totals, shared by every instance; null without an experiment. */
  readonly figures: FiguresStore | null;
  /** 'up' or 'down' (degraded: new conversations in memory only). */
  status(): 'up' | 'down';
  close(): Promise<void>;
}

export interface ScaleOutOptions {
  config: Readonly<Config>;
  redisUrl: string;
  registry: SessionRegistry;
  metrics: GatewayMetrics;
  logger: Logger;
  /** Tracing, or null: resumes from other instances continue the trace of the response in flight. */
  tracing?: Tracing | null;
}

export async function startScaleOut({
  config,
  redisUrl,
  registry,
  metrics,
  logger,
  tracing = null,
}: ScaleOutOptions): Promise<ScaleOut> {
  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = logger.child({ component: 'scale-out', instanceId });
  const link = new RedisLink(redisUrl, config.redisKeyPrefix, log);
  metrics.redisUp.set(0);
  link.on('up', () => metrics.redisUp.set(1));
  link.on('down', () => metrics.redisUp.set(0));
  const onStoreError = (operation: string) => metrics.redisErrors.inc({ operation });

  const presence = new InstancePresence(link, instanceId);
  const limits = new SharedLimits(link, {
    instanceId,
    turnsPerMinute: config.turnsPerMinute,
    turnsPerMinutePerToken: config.turnsPerMinutePerToken,
    turnsPerMinutePerIp: config.turnsPerMinutePerIp,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
  });
  // Redis may have lost this instance's connection counts (a restart): the connections it holds rewrite them.
  link.on('up', () => void limits.resyncConnections());
  const cluster =
    config.resumeTtlMs > 0
      ? new SessionCluster({
          link,
          store: new SessionStore(link, { maxEvents: Math.max(config.replayBufferEvents, 1) }),
          presence,
          registry,
          instanceId,
          detachedTtlMs: config.resumeTtlMs,
          // An attached session may also be silent for as long as its connection may idle.
          attachedTtlMs:
            config.resumeTtlMs +
            Math.max(config.idleTimeoutMs, longestResponseSilenceMs(config)) +
            ATTACHED_TTL_SLACK_MS,
          // A session being handed off has no connection: only its running response can keep it silent.
          relayTimeouts: {
            answerMs: HANDOFF_ANSWER_MS,
            stallMs: longestResponseSilenceMs(config) + RELAY_STALL_SLACK_MS,
          },
          maxFrameBytes: config.maxFrameBytes,
          logger: log,
          onStoreError,
          tracing,
        })
      : null;

  try {
    await link.ready(STARTUP_WAIT_MS);
  } catch (err) {
    log.warn(
      { redis: describeRedisUrl(redisUrl), err: String(err) },
      'redis not reachable at start-up: starting degraded (sessions in memory only)',
    );
  }
  presence.start();
  cluster?.start();
  log.info({ redis: describeRedisUrl(redisUrl), up: link.isUp }, 'scale-out enabled');

  return {
    instanceId,
    link,
    presence,
    cluster,
    limits,
    figures: config.experiment === null ? null : new RedisFiguresStore(link, config.experiment.name, onStoreError),
    status: () => (link.isUp ? 'up' : 'down'),
    async close() {
      await cluster?.settle();
      await presence.stop();
      await link.close();
    },
  };
}
