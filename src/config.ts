// Configuration: read from the environment once, validated as a whole against one schema (every problem
// reported together), then frozen. Nothing else in the gateway reads process.env.
import { readFileSync } from 'node:fs';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { ConfigError } from './errors.js';
import { MODELS, type ModelName, type UpstreamKind } from './protocol.js';

export const DEFAULT_BASE_URL = 'https://api.asi1.ai/v1';

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful voice assistant. Your words are spoken aloud, so answer in short, plain, ' +
  'natural sentences. Never use markdown, lists, tables, code blocks, emoji or URLs. Keep most answers ' +
  'to two or three sentences unless the user asks for more. If a reply was cut off because the user ' +
  'interrupted, do not repeat it; respond to what they said next.';

const Int = (min: number, max: number, def: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

/** The environment schema. Its descriptions and defaults are the README configuration table. */
export const EnvSchema = Type.Object({
  PORT: Int(0, 65_535, 8080, 'TCP port to listen on'),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address to listen on' }),
  ASI_ONE_API_KEY: Type.Optional(
    Type.String({ minLength: 1, description: 'ASI:One API key. Unset: the built-in offline simulator is the upstream' }),
  ),
  ASI_BASE_URL: Type.String({
    default: DEFAULT_BASE_URL,
    pattern: '^https?://',
    description: 'OpenAI-compatible base URL (ASI:One, a local llama.cpp/vLLM/Ollama server, or a simulator)',
  }),
  ASI_MODEL: Type.Union(
    MODELS.map((m) => Type.Literal(m)),
    { default: 'asi1-mini', description: 'Default model: asi1-mini, asi1 or asi1-ultra' },
  ),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'pino log level' },
  ),
  SYSTEM_PROMPT: Type.String({ minLength: 1, maxLength: 32_768, default: DEFAULT_SYSTEM_PROMPT, description: 'Default system prompt (voice-friendly by default)' }),
  MAX_OUTPUT_TOKENS: Int(1, 32_768, 400, 'Default max_tokens per reply (voice-sized)'),
  HISTORY_TOKEN_BUDGET: Int(1_000, 200_000, 160_000, 'Estimated prompt tokens kept in history; older whole turns are dropped'),
  MAX_FRAME_BYTES: Int(1_024, 16 * 1024 * 1024, 128 * 1024, 'Largest accepted WebSocket frame, in bytes'),
  MAX_TURN_CHARS: Int(1, 1_000_000, 8_000, 'Longest accepted turn text, in characters'),
  UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: Int(100, 600_000, 20_000, 'Abort when the upstream sends nothing for this long after the request'),
  UPSTREAM_STALL_TIMEOUT_MS: Int(100, 600_000, 15_000, 'Abort when the upstream goes silent mid-stream for this long'),
  UPSTREAM_MAX_RETRIES: Int(0, 5, 2, 'Retries before the first forwarded delta (connect errors, 429, 5xx)'),
  UPSTREAM_CONNECTIONS: Int(1, 10_000, 256, 'Keep-alive connection pool size towards the upstream'),
  THINK_TAGS: Type.Union([Type.Literal('drop'), Type.Literal('display')], {
    default: 'drop',
    description: 'Reasoning a server sends in the reply between think tags: drop (removed) or display (kept in the shown text); never spoken nor kept in history',
  }),
  TOOLS_MODULE: Type.Optional(
    Type.String({ minLength: 1, description: 'Path of an ES module exporting extra server tools (see examples/tools/)' }),
  ),
  BUILTIN_TOOLS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'Offer the built-in tools (current time, calculator): on or off' }),
  TOOL_TIMEOUT_MS: Int(10, 600_000, 10_000, 'Default timeout of one server tool call'),
  CLIENT_TOOL_TIMEOUT_MS: Int(10, 600_000, 15_000, 'How long a client tool call may wait for its tool.result'),
  MAX_TOOL_STEPS: Int(0, 20, 3, 'Tool rounds per response; then the model is asked to answer without tools'),
  GATEWAY_TOKENS: Type.Optional(Type.String({ description: 'Comma-separated tokens clients must present; unset: no token needed' })),
  GATEWAY_TOKENS_FILE: Type.Optional(Type.String({ minLength: 1, description: 'File with one gateway token per line (# comments), added to GATEWAY_TOKENS' })),
  ALLOWED_ORIGINS: Type.Optional(Type.String({ description: 'Comma-separated browser origins allowed to connect, or *; unset: same origin only' })),
  PUBLIC_ORIGIN: Type.Optional(
    Type.String({ pattern: '^https?://', description: 'The origin browsers reach this gateway at (scheme://host[:port]); the same-origin check compares against it instead of the Host header' }),
  ),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 1, description: 'Bearer token required for GET /metrics; unset: open' })),
  TRUST_PROXY: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'off', description: 'Take client addresses from X-Forwarded-For (behind a load balancer): on or off' }),
  MAX_CONNECTIONS: Int(1, 1_000_000, 10_000, 'Most open WebSocket connections in total'),
  MAX_CONNECTIONS_PER_IP: Int(1, 1_000_000, 100, 'Most sessions per client address: open connections plus dropped ones waiting to be resumed'),
  TURNS_PER_MINUTE: Int(1, 100_000, 30, 'Most turns per minute per session'),
  TURNS_PER_MINUTE_PER_TOKEN: Int(1, 1_000_000, 300, 'Most turns per minute per gateway token, over all its sessions'),
  TURNS_PER_MINUTE_PER_IP: Int(1, 1_000_000, 120, 'Most turns per minute per client address, over all its sessions'),
  MAX_RESPONSES_PER_IP: Int(1, 100_000, 16, 'Most responses in progress at once per client address (sessions waiting to be resumed included)'),
  MAX_RESPONSES_PER_TOKEN: Int(1, 100_000, 256, 'Most responses in progress at once per gateway token (sessions waiting to be resumed included)'),
  FRAMES_PER_SECOND: Int(1, 1_000_000, 100, 'Most client frames per second per connection (as a burst too); more are dropped with one GW_RATE_LIMITED a second'),
  IDLE_TIMEOUT_MS: Int(1_000, 86_400_000, 300_000, 'Close a connection with no client frames and no active response for this long'),
  HEARTBEAT_INTERVAL_MS: Int(100, 600_000, 30_000, 'WebSocket ping interval; a peer that misses a pong is dropped'),
  SEND_BUFFER_SOFT_BYTES: Int(1_024, 1_073_741_824, 64 * 1024, 'Above this much unsent data, deltas to a slow reader are coalesced'),
  SEND_BUFFER_HARD_BYTES: Int(4_096, 1_073_741_824, 1024 * 1024, 'Above this much unsent data, a slow reader is interrupted and disconnected'),
  UPSTREAM_MAX_CONCURRENCY: Int(1, 100_000, 512, 'Most concurrent requests to the upstream'),
  UPSTREAM_QUEUE_SIZE: Int(0, 100_000, 128, 'Requests that may wait for an upstream slot; beyond it: GW_UPSTREAM_BUSY'),
  UPSTREAM_QUEUE_TIMEOUT_MS: Int(1, 600_000, 3_000, 'Longest wait for an upstream slot'),
  BREAKER_FAILURE_THRESHOLD: Int(1, 10_000, 5, 'Consecutive upstream failures that open the circuit breaker'),
  BREAKER_COOLDOWN_MS: Int(100, 3_600_000, 10_000, 'How long the open breaker fails fast before a probe request'),
  RESUME_TTL_MS: Int(0, 86_400_000, 120_000, 'How long a dropped connection\'s session (and its running response) waits to be resumed; 0 disables resume'),
  REPLAY_BUFFER_EVENTS: Int(0, 1_000_000, 2_000, 'Recent server events kept per session for replay on resume'),
  REDIS_URL: Type.Optional(
    Type.String({ pattern: '^rediss?://', description: 'Redis for scale-out (redis:// or rediss://): shared sessions, cross-instance resume and limits; unset: everything in memory' }),
  ),
  REDIS_KEY_PREFIX: Type.String({ minLength: 1, maxLength: 64, default: 'asi1gw:', description: 'Prefix of every Redis key and channel the gateway uses' }),
  SHUTDOWN_GRACE_MS: Int(0, 600_000, 10_000, 'On SIGTERM, how long active responses may finish before they are interrupted'),
  SIMULATOR_TTFT_MS: Int(0, 60_000, 250, 'Built-in simulator: time to first token (no-key mode only)'),
  SIMULATOR_TOKEN_INTERVAL_MS: Int(0, 10_000, 25, 'Built-in simulator: time between tokens (no-key mode only)'),
});

type Env = Static<typeof EnvSchema>;

export interface Config {
  port: number;
  host: string;
  /** Absent in simulator mode. Never log it: the logger redacts it by path. */
  apiKey: string | undefined;
  /** Without a trailing slash. In simulator mode this is replaced at start-up by the simulator's own URL. */
  baseUrl: string;
  model: ModelName;
  logLevel: string;
  upstream: UpstreamKind;
  systemPrompt: string;
  maxOutputTokens: number;
  historyTokenBudget: number;
  maxFrameBytes: number;
  maxTurnChars: number;
  upstreamFirstTokenTimeoutMs: number;
  upstreamStallTimeoutMs: number;
  upstreamMaxRetries: number;
  upstreamConnections: number;
  /** `<think>` blocks inside `content`: `drop` removes them; `display` keeps them in the shown text only. */
  thinkTags: 'drop' | 'display';
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
  simulatorTtftMs: number;
  simulatorTokenIntervalMs: number;
}

/** Reads and validates the environment. Throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(EnvSchema.properties)) {
    const value = env[key];
    // An empty variable means "unset", as in most twelve-factor tooling (e.g. `ASI_ONE_API_KEY=` in a .env).
    if (value !== undefined && value.trim() !== '') raw[key] = value.trim();
  }
  const withDefaults = Value.Default(EnvSchema, Value.Convert(EnvSchema, raw));
  const problems = [...Value.Errors(EnvSchema, withDefaults)].map(
    (e) => `${e.path.slice(1) || 'environment'}: ${describeExpectation(e.schema as { anyOf?: { const?: unknown }[] }, e.message)}${describeValue(e.path, raw)}`,
  );
  if (problems.length === 0 && typeof raw.ASI_BASE_URL === 'string' && !isValidUrl(raw.ASI_BASE_URL)) {
    problems.push(`ASI_BASE_URL: not a valid URL (got ${JSON.stringify(raw.ASI_BASE_URL)})`);
  }
  const e = withDefaults as Env;
  const gatewayTokens = problems.length > 0 ? [] : readTokens(e, problems);
  if (problems.length === 0 && e.SEND_BUFFER_HARD_BYTES <= e.SEND_BUFFER_SOFT_BYTES) {
    problems.push('SEND_BUFFER_HARD_BYTES: must be larger than SEND_BUFFER_SOFT_BYTES');
  }
  const publicOrigin = problems.length > 0 ? undefined : readPublicOrigin(e.PUBLIC_ORIGIN, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const baseUrl = e.ASI_BASE_URL.replace(/\/+$/, '');
  const upstream: UpstreamKind = e.ASI_ONE_API_KEY === undefined ? 'simulator' : baseUrl === DEFAULT_BASE_URL ? 'asi1' : 'custom';
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    apiKey: e.ASI_ONE_API_KEY,
    baseUrl,
    model: e.ASI_MODEL,
    logLevel: e.LOG_LEVEL,
    upstream,
    systemPrompt: e.SYSTEM_PROMPT,
    maxOutputTokens: e.MAX_OUTPUT_TOKENS,
    historyTokenBudget: e.HISTORY_TOKEN_BUDGET,
    maxFrameBytes: e.MAX_FRAME_BYTES,
    maxTurnChars: e.MAX_TURN_CHARS,
    upstreamFirstTokenTimeoutMs: e.UPSTREAM_FIRST_TOKEN_TIMEOUT_MS,
    upstreamStallTimeoutMs: e.UPSTREAM_STALL_TIMEOUT_MS,
    upstreamMaxRetries: e.UPSTREAM_MAX_RETRIES,
    upstreamConnections: e.UPSTREAM_CONNECTIONS,
    thinkTags: e.THINK_TAGS,
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
    toolsModule: e.TOOLS_MODULE,
    builtinTools: e.BUILTIN_TOOLS === 'on',
    toolTimeoutMs: e.TOOL_TIMEOUT_MS,
    clientToolTimeoutMs: e.CLIENT_TOOL_TIMEOUT_MS,
    maxToolSteps: e.MAX_TOOL_STEPS,
    simulatorTtftMs: e.SIMULATOR_TTFT_MS,
    simulatorTokenIntervalMs: e.SIMULATOR_TOKEN_INTERVAL_MS,
  });
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((v) => v.trim()).filter((v) => v !== '');
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
      problems.push(`GATEWAY_TOKENS_FILE: cannot read ${JSON.stringify(e.GATEWAY_TOKENS_FILE)} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  // A token travels as a Sec-WebSocket-Protocol entry for browsers, so it must be an HTTP token (RFC 9110 §5.6.2).
  if (tokens.some((t) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(t))) {
    problems.push('GATEWAY_TOKENS: tokens may contain only letters, digits and !#$%&\'*+.^_`|~-');
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
  if (key === 'ASI_ONE_API_KEY' || key === 'GATEWAY_TOKENS' || key === 'METRICS_TOKEN' || key === 'REDIS_URL' || !(key in raw)) return '';
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
