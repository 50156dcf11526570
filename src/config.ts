// Configuration: read from the environment once, validated as a whole against one schema (every problem
// reported together), then frozen. Nothing else in the gateway reads process.env.
import { readFileSync } from 'node:fs';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';
import { DEFAULT_BASE_URL, EnvSchema, type Env } from './config-schema.js';
import { readTracing, type TracingConfig } from './config-tracing.js';
import { readUpstreamConnections, type UpstreamConnections } from './config-upstream.js';
import { readExperiment, readPrices, type Experiment, type ModelPrices } from './experiment-config.js';
import type { ModelName, UpstreamKind } from './protocol.js';

export { DEFAULT_BASE_URL, DEFAULT_SYSTEM_PROMPT, EnvSchema } from './config-schema.js';

export interface Config extends UpstreamConnections {
  port: number;
  host: string;
  /** Absent in simulator mode. Never log it: the logger redacts it by path. */
  apiKey: string | undefined;
  /** Without a trailing slash. In simulator mode this is replaced at start-up by the simulator's own URL. */
  baseUrl: string;
  model: ModelName;
  logLevel: string;
  /** Traces over OTLP/HTTP (the standard OTEL_* variables) and TRACE_USER_TEXT. */
  tracing: TracingConfig;
  upstream: UpstreamKind;
  systemPrompt: string;
  maxOutputTokens: number;
  historyTokenBudget: number;
  maxFrameBytes: number;
  maxTurnChars: number;
  upstreamFirstTokenTimeoutMs: number;
  upstreamStallTimeoutMs: number;
  upstreamPingsOnlyTimeoutMs: number;
  upstreamMaxRetries: number;
  upstreamConnections: number;
  /** `<think>` blocks inside `content`: `drop` removes them; `display` keeps them in the shown text only. */
  thinkTags: 'drop' | 'display';
  /** Speculative replies on interim transcripts (protocol 1.2); off disables them for every session. */
  speculation: boolean;
  speculationStableMs: number;
  speculationsPerTurn: number;
  /** consult_deeper_model is offered (to sessions whose model has a deeper one), asking `escalationModel` by default. */
  escalation: boolean;
  escalationModel: 'asi1' | 'asi1-ultra';
  /** The A/B experiment of EXPERIMENTS_FILE, or null. */
  experiment: Experiment | null;
  /** USD per million tokens by model (MODEL_PRICES); empty: no cost figures. */
  prices: ModelPrices;
  shutdownGraceMs: number;
  resumeTtlMs: number;
  replayBufferEvents: number;
  /** Unset: single instance, all state in memory. May hold a password: never log it. */
  redisUrl: string | undefined;
  redisKeyPrefix: string;
  gatewayTokens: readonly string[];
  allowedOrigins: readonly string[];
  metricsToken: string | undefined;
  trustProxy: boolean;
  maxConnections: number;
  maxConnectionsPerIp: number;
  turnsPerMinute: number;
  turnsPerMinutePerToken: number;
  turnsPerMinutePerIp: number;
  maxResponsesPerIp: number;
  maxResponsesPerToken: number;
  framesPerSecond: number;
  /** Normalised `scheme://host[:port]` (lower case, default port dropped), or undefined. */
  publicOrigin: string | undefined;
  idleTimeoutMs: number;
  heartbeatIntervalMs: number;
  sendBufferSoftBytes: number;
  sendBufferHardBytes: number;
  upstreamMaxConcurrency: number;
  upstreamQueueSize: number;
  upstreamQueueTimeoutMs: number;
  breakerFailureThreshold: number;
  breakerCooldownMs: number;
  toolsModule: string | undefined;
  builtinTools: boolean;
  toolTimeoutMs: number;
  clientToolTimeoutMs: number;
  maxToolSteps: number;
  maxToolCallsPerStep: number;
  simulatorTtftMs: number;
  simulatorTokenIntervalMs: number;
  /** SIMULATOR_MODEL_PROFILES as given: on, off, or model:ttftScale:interTokenScale:lengthScale entries. */
  simulatorModelProfiles: string;
}

/** Reads and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const { e, problems } = validateEnv(env);
  const gatewayTokens = problems.length > 0 ? [] : readTokens(e, problems);
  if (problems.length === 0 && e.SEND_BUFFER_HARD_BYTES <= e.SEND_BUFFER_SOFT_BYTES) {
    problems.push('SEND_BUFFER_HARD_BYTES: must be larger than SEND_BUFFER_SOFT_BYTES');
  }
  const publicOrigin = problems.length > 0 ? undefined : readPublicOrigin(e.PUBLIC_ORIGIN, problems);
  const envValid = problems.length === 0;
  const experiment = envValid ? readExperiment(e.EXPERIMENTS_FILE, problems) : null;
  const prices = envValid ? readPrices(e.MODEL_PRICES, problems) : {};
  const connections = readUpstreamConnections(e, envValid, problems);
  const tracing = readTracing(env, e, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const baseUrl = e.ASI_BASE_URL.replace(/\/+$/, '');
  const upstream: UpstreamKind =
    e.ASI_ONE_API_KEY === undefined ? 'simulator' : baseUrl === DEFAULT_BASE_URL ? 'asi1' : 'custom';
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    apiKey: e.ASI_ONE_API_KEY,
    baseUrl,
    model: e.ASI_MODEL,
    logLevel: e.LOG_LEVEL,
    tracing: Object.freeze(tracing),
    upstream,
    systemPrompt: e.SYSTEM_PROMPT,
    maxOutputTokens: e.MAX_OUTPUT_TOKENS,
    historyTokenBudget: e.HISTORY_TOKEN_BUDGET,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    maxTurnChars: e.MAX_TURN_CHARS,
    upstreamFirstTokenTimeoutMs: e.UPSTREAM_FIRST_TOKEN_TIMEOUT_MS,
    upstreamStallTimeoutMs: e.UPSTREAM_STALL_TIMEOUT_MS,
    upstreamPingsOnlyTimeoutMs: e.UPSTREAM_PINGS_ONLY_TIMEOUT_MS,
    upstreamMaxRetries: e.UPSTREAM_MAX_RETRIES,
    upstreamConnections: e.UPSTREAM_CONNECTIONS,
    ...connections,
    thinkTags: e.THINK_TAGS,
    speculation: e.SPECULATION === 'on',
    speculationStableMs: e.SPECULATION_STABLE_MS,
    speculationsPerTurn: e.SPECULATIONS_PER_TURN,
    escalation: e.ESCALATION === 'on',
    escalationModel: e.ESCALATION_MODEL,
    experiment,
    prices,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    resumeTtlMs: e.RESUME_TTL_MS,
    replayBufferEvents: e.REPLAY_BUFFER_EVENTS,
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    gatewayTokens: Object.freeze(gatewayTokens),
    allowedOrigins: Object.freeze(splitList(e.ALLOWED_ORIGINS)),
    metricsToken: e.METRICS_TOKEN,
    trustProxy: e.TRUST_PROXY === 'on',
    maxConnections: e.MAX_CONNECTIONS,
    maxConnectionsPerIp: e.MAX_CONNECTIONS_PER_IP,
    turnsPerMinute: e.TURNS_PER_MINUTE,
    turnsPerMinutePerToken: e.TURNS_PER_MINUTE_PER_TOKEN,
    turnsPerMinutePerIp: e.TURNS_PER_MINUTE_PER_IP,
    maxResponsesPerIp: e.MAX_RESPONSES_PER_IP,
    maxResponsesPerToken: e.MAX_RESPONSES_PER_TOKEN,
    framesPerSecond: e.FRAMES_PER_SECOND,
    publicOrigin,
    idleTimeoutMs: e.IDLE_TIMEOUT_MS,
    heartbeatIntervalMs: e.HEARTBEAT_INTERVAL_MS,
    sendBufferSoftBytes: e.SEND_BUFFER_SOFT_BYTES,
    sendBufferHardBytes: e.SEND_BUFFER_HARD_BYTES,
    upstreamMaxConcurrency: e.UPSTREAM_MAX_CONCURRENCY,
    upstreamQueueSize: e.UPSTREAM_QUEUE_SIZE,
    upstreamQueueTimeoutMs: e.UPSTREAM_QUEUE_TIMEOUT_MS,
    breakerFailureThreshold: e.BREAKER_FAILURE_THRESHOLD,
    breakerCooldownMs: e.BREAKER_COOLDOWN_MS,
    ...toolSettings(e),
    simulatorTtftMs: e.SIMULATOR_TTFT_MS,
    simulatorTokenIntervalMs: e.SIMULATOR_TOKEN_INTERVAL_MS,
    simulatorModelProfiles: e.SIMULATOR_MODEL_PROFILES,
  });
}

type ToolSettings = Pick<
  Config,
  'toolsModule' | 'builtinTools' | 'toolTimeoutMs' | 'clientToolTimeoutMs' | 'maxToolSteps' | 'maxToolCallsPerStep'
>;

function toolSettings(e: Env): ToolSettings {
  return {
    toolsModule: e.TOOLS_MODULE,
    builtinTools: e.BUILTIN_TOOLS === 'on',
    toolTimeoutMs: e.TOOL_TIMEOUT_MS,
    clientToolTimeoutMs: e.CLIENT_TOOL_TIMEOUT_MS,
    maxToolSteps: e.MAX_TOOL_STEPS,
    maxToolCallsPerStep: e.MAX_TOOL_CALLS_PER_STEP,
  };
}

/** The environment with defaults, and every problem the schema (and the base URL check) found in it. */
function validateEnv(env: NodeJS.ProcessEnv): { e: Env; problems: string[] } {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key];
    // An empty variable means "unset", as in most twelve-factor tooling (e.g. `ASI_ONE_API_KEY=` in a .env).
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw));
  const problems = [...Value.Errors(EnvSchema, withDefaults)].map(
    (e) =>
      `${e.path.slice(1) || 'environment'}: ${describeExpectation(e.schema as { anyOf?: { const?: unknown }[] }, e.message)}${describeValue(e.path, raw)}`,
  );
  if (problems.length === 0 && typeof raw.ASI_BASE_URL === 'string' && !isValidUrl(raw.ASI_BASE_URL)) {
    problems.push(`ASI_BASE_URL: not a valid URL (got ${JSON.stringify(raw.ASI_BASE_URL)})`);
  }
  return { e: withDefaults as Env, problems };
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** GATEWAY_TOKENS plus the lines of GATEWAY_TOKENS_FILE. Token values are never echoed in problems. */
function readTokens(e: Env, problems: string[]): string[] {
  const tokens = splitList(e.GATEWAY_TOKENS);
  if (e.GATEWAY_TOKENS_FILE !== undefined) {
    try {
      for (const line of readFileSync(e.GATEWAY_TOKENS_FILE, 'utf8').split(/\r?\n/)) {
        const token = line.trim();
        if (token !== '' && !token.startsWith('#')) tokens.push(token);
      }
    } catch (err) {
      problems.push(
        `GATEWAY_TOKENS_FILE: cannot read ${JSON.stringify(e.GATEWAY_TOKENS_FILE)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  // A token travels as a Sec-WebSocket-Protocol entry for browsers, so it must be an HTTP token (RFC 9110 §5.6.2).
  if (tokens.some((t) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(t))) {
    problems.push("GATEWAY_TOKENS: tokens may contain only letters, digits and !#$%&'*+.^_`|~-");
  }
  return tokens;
}

/** TypeBox says "Expected union value" for enums; name the allowed values instead. */
function describeExpectation(schema: { anyOf?: { const?: unknown }[] }, message: string): string {
  const allowed = schema.anyOf?.map((s) => s.const).filter((c) => c !== undefined);
  return allowed && allowed.length > 0 ? `must be one of ${allowed.join(', ')}` : message;
}

function describeValue(path: string, raw: Record<string, unknown>): string {
  const key = path.slice(1);
  // Never echo the key back, even in a config error.
  if (
    key === 'ASI_ONE_API_KEY' ||
    key === 'GATEWAY_TOKENS' ||
    key === 'METRICS_TOKEN' ||
    key === 'REDIS_URL' ||
    !(key in raw)
  )
    return '';
  return ` (got ${JSON.stringify(raw[key])})`;
}

/** PUBLIC_ORIGIN as the browser's `Origin` header spells it: scheme, host and non-default port, nothing else. */
function readPublicOrigin(value: string | undefined, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      problems.push(`PUBLIC_ORIGIN: must be an origin only, scheme://host[:port] (got ${JSON.stringify(value)})`);
      return undefined;
    }
    return url.origin;
  } catch {
    problems.push(`PUBLIC_ORIGIN: not a valid URL (got ${JSON.stringify(value)})`);
    return undefined;
  }
}

function isValidUrl(value: string): boolean {
  try {
    new URL(value);
    return true;
  } catch {
    return false;
  }
}
