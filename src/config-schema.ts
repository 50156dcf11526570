// The environment schema: every setting, its type, bounds, default and description (the README's configuration
// table is checked against it). Loading and validating it is config.ts's job.
import { Type, type Static } from '@sinclair/typebox';
import { MODELS } from './protocol.js';

export const DEFAULT_BASE_URL = 'https://api.asi1.ai/v1';

export const DEFAULT_SYSTEM_PROMPT =
  'You are a helpful voice assistant. Your words are spoken aloud, so answer in short, plain, ' +
  'natural sentences. Never use markdown, lists, tables, code blocks, emoji or URLs. Keep most answers ' +
  'to two or three sentences unless the user asks for more. If a reply was cut off because the user ' +
  'interrupted, do not repeat it; respond to what they said next.';

/** SIMULATOR_MODEL_PROFILES: on, off, or comma-separated model:ttftScale:interTokenScale:lengthScale entries. */
const SIMULATOR_PROFILE_ENTRY = `asi1(?:-mini|-ultra)?(?::\\d+(?:\\.\\d+)?){3}`;
const SIMULATOR_PROFILES_PATTERN = `^(?:on|off|${SIMULATOR_PROFILE_ENTRY}(?:,${SIMULATOR_PROFILE_ENTRY})*)$`;

const Int = (min: number, max: number, def: number, description: string) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description });

/** The environment schema. Its descriptions and defaults are the README configuration table. */
export const EnvSchema = Type.Object({
  PORT: Int(0, 65_535, 8080, 'TCP port to listen on'),
  HOST: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address to listen on' }),
  ASI_ONE_API_KEY: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'ASI:One API key. Unset: the built-in offline simulator is the upstream',
    }),
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
  TRACE_USER_TEXT: Type.Union([Type.Literal('off'), Type.Literal('on')], {
    default: 'off',
    description:
      "Traces (exported when OTEL_EXPORTER_OTLP_ENDPOINT is set, docs/tracing.md): also record what the user said (turn text, tool arguments) and the upstream's error words: off or on; never reasoning or keys",
  }),
  SYSTEM_PROMPT: Type.String({
    minLength: 1,
    maxLength: 32_768,
    default: DEFAULT_SYSTEM_PROMPT,
    description: 'Default system prompt (voice-friendly by default)',
  }),
  MAX_OUTPUT_TOKENS: Int(1, 32_768, 400, 'Default max_tokens per reply (voice-sized)'),
  HISTORY_TOKEN_BUDGET: Int(
    1_000,
    200_000,
    160_000,
    'Estimated prompt tokens kept in history; older whole turns are dropped',
  ),
  MAX_FRAME_BYTES: Int(1_024, 16 * 1024 * 1024, 128 * 1024, 'Largest accepted WebSocket frame, in bytes'),
  MAX_TURN_CHARS: Int(1, 1_000_000, 8_000, 'Longest accepted turn text, in characters'),
  UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: Int(
    100,
    600_000,
    20_000,
    'Abort when the upstream sends nothing for this long after the request',
  ),
  UPSTREAM_STALL_TIMEOUT_MS: Int(100, 600_000, 15_000, 'Abort when the upstream goes silent mid-stream for this long'),
  UPSTREAM_PINGS_ONLY_TIMEOUT_MS: Int(
    100,
    600_000,
    60_000,
    'Abort when an answer, once started, gets only keep-alives (comments, empty data lines) and no event for this long; at least UPSTREAM_STALL_TIMEOUT_MS',
  ),
  UPSTREAM_MAX_RETRIES: Int(0, 5, 2, 'Retries before the first forwarded delta (connect errors, 429, 5xx)'),
  UPSTREAM_CONNECTIONS: Int(1, 10_000, 256, 'Keep-alive connection pool size towards the upstream'),
  UPSTREAM_WARM: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Keep upstream connections open ahead of demand: one ready for each session that opens and a spare for the recent peak of concurrent requests, refreshed before their keep-alive runs out, never more than UPSTREAM_CONNECTIONS: on or off',
  }),
  UPSTREAM_KEEPALIVE_MS: Int(
    1_000,
    600_000,
    30_000,
    "How long an idle upstream connection is kept open (the upstream's Keep-Alive hint can shorten it); warm connections are touched again before they have been idle 60% of it",
  ),
  UPSTREAM_HTTP: Type.Union([Type.Literal('auto'), Type.Literal('h1'), Type.Literal('h2')], {
    default: 'auto',
    description:
      'HTTP version towards the upstream: auto (HTTP/2 when the upstream offers it over TLS, else HTTP/1.1), h1, or h2 (required: an https:// upstream that negotiates it)',
  }),
  UPSTREAM_CA_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        "PEM file of extra certificate authorities trusted for the upstream's TLS certificate (a private CA or a TLS proxy), read at start-up",
    }),
  ),
  THINK_TAGS: Type.Union([Type.Literal('drop'), Type.Literal('display')], {
    default: 'drop',
    description:
      'Reasoning a server sends in the reply between think tags: drop (removed) or display (kept in the shown text); never spoken nor kept in history',
  }),
  SPECULATION: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Start a reply on a stable interim transcript before the turn commits, held until it does (protocol 1.2): on or off for the whole gateway',
  }),
  SPECULATION_STABLE_MS: Int(0, 5_000, 250, 'How long an interim must stay unchanged before a reply is speculated'),
  SPECULATIONS_PER_TURN: Int(1, 10, 3, 'Most speculative upstream requests one user turn may start'),
  ESCALATION: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description:
      'Offer the consult_deeper_model tool: the fast model hands a question that needs depth to a deeper model, which answers in the same reply',
  }),
  ESCALATION_MODEL: Type.Union([Type.Literal('asi1'), Type.Literal('asi1-ultra')], {
    default: 'asi1',
    description: 'The model consult_deeper_model asks unless the fast model names another: asi1 or asi1-ultra',
  }),
  EXPERIMENTS_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description:
        'A JSON file describing an A/B experiment: arms with weights, each a model and optionally instructions, maxOutputTokens, escalation (docs/experiments.md)',
    }),
  ),
  MODEL_PRICES: Type.Optional(
    Type.String({
      minLength: 2,
      description:
        'JSON price table for cost estimates, USD per million tokens: {"asi1-mini":{"input":0.1,"output":0.4}}; unset: no cost figures',
    }),
  ),
  TOOLS_MODULE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Path of an ES module exporting extra server tools (see examples/tools/)',
    }),
  ),
  BUILTIN_TOOLS: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'on',
    description: 'Offer the built-in tools (current time, calculator): on or off',
  }),
  TOOL_TIMEOUT_MS: Int(10, 600_000, 10_000, 'Default timeout of one server tool call'),
  CLIENT_TOOL_TIMEOUT_MS: Int(10, 600_000, 15_000, 'How long a client tool call may wait for its tool.result'),
  MAX_TOOL_STEPS: Int(0, 20, 3, 'Tool rounds per response; then the model is asked to answer without tools'),
  MAX_TOOL_CALLS_PER_STEP: Int(1, 128, 16, 'Tool calls run per round; further calls of the round are ignored'),
  GATEWAY_TOKENS: Type.Optional(
    Type.String({ description: 'Comma-separated tokens clients must present; unset: no token needed' }),
  ),
  GATEWAY_TOKENS_FILE: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'File with one gateway token per line (# comments), added to GATEWAY_TOKENS',
    }),
  ),
  ALLOWED_ORIGINS: Type.Optional(
    Type.String({ description: 'Comma-separated browser origins allowed to connect, or *; unset: same origin only' }),
  ),
  PUBLIC_ORIGIN: Type.Optional(
    Type.String({
      pattern: '^https?://',
      description:
        'The origin browsers reach this gateway at (scheme://host[:port]); the same-origin check compares against it instead of the Host header',
    }),
  ),
  METRICS_TOKEN: Type.Optional(
    Type.String({ minLength: 1, description: 'Bearer token required for GET /metrics; unset: open' }),
  ),
  TRUST_PROXY: Type.Union([Type.Literal('on'), Type.Literal('off')], {
    default: 'off',
    description: 'Take client addresses from X-Forwarded-For (behind a load balancer): on or off',
  }),
  MAX_CONNECTIONS: Int(1, 1_000_000, 10_000, 'Most open WebSocket connections in total'),
  MAX_CONNECTIONS_PER_IP: Int(
    1,
    1_000_000,
    100,
    'Most sessions per client address: open connections plus dropped ones waiting to be resumed',
  ),
  TURNS_PER_MINUTE: Int(1, 100_000, 30, 'Most turns per minute per session'),
  TURNS_PER_MINUTE_PER_TOKEN: Int(1, 1_000_000, 300, 'Most turns per minute per gateway token, over all its sessions'),
  TURNS_PER_MINUTE_PER_IP: Int(1, 1_000_000, 120, 'Most turns per minute per client address, over all its sessions'),
  MAX_RESPONSES_PER_IP: Int(
    1,
    100_000,
    16,
    'Most responses in progress at once per client address (sessions waiting to be resumed included)',
  ),
  MAX_RESPONSES_PER_TOKEN: Int(
    1,
    100_000,
    256,
    'Most responses in progress at once per gateway token (sessions waiting to be resumed included)',
  ),
  FRAMES_PER_SECOND: Int(
    1,
    1_000_000,
    100,
    'Most client frames per second per connection (as a burst too); more are dropped with one GW_RATE_LIMITED a second',
  ),
  IDLE_TIMEOUT_MS: Int(
    1_000,
    86_400_000,
    300_000,
    'Close a connection with no client frames and no active response for this long',
  ),
  HEARTBEAT_INTERVAL_MS: Int(100, 600_000, 30_000, 'WebSocket ping interval; a peer that misses a pong is dropped'),
  SEND_BUFFER_SOFT_BYTES: Int(
    1_024,
    1_073_741_824,
    64 * 1024,
    'Above this much unsent data, deltas to a slow reader are coalesced',
  ),
  SEND_BUFFER_HARD_BYTES: Int(
    4_096,
    1_073_741_824,
    1024 * 1024,
    'Above this much unsent data, a slow reader is interrupted and disconnected',
  ),
  UPSTREAM_MAX_CONCURRENCY: Int(1, 100_000, 512, 'Most concurrent requests to the upstream'),
  UPSTREAM_QUEUE_SIZE: Int(0, 100_000, 128, 'Requests that may wait for an upstream slot; beyond it: GW_UPSTREAM_BUSY'),
  UPSTREAM_QUEUE_TIMEOUT_MS: Int(1, 600_000, 3_000, 'Longest wait for an upstream slot'),
  BREAKER_FAILURE_THRESHOLD: Int(1, 10_000, 5, 'Consecutive upstream failures that open the circuit breaker'),
  BREAKER_COOLDOWN_MS: Int(100, 3_600_000, 10_000, 'How long the open breaker fails fast before a probe request'),
  RESUME_TTL_MS: Int(
    0,
    86_400_000,
    120_000,
    "How long a dropped connection's session (and its running response) waits to be resumed; 0 disables resume",
  ),
  REPLAY_BUFFER_EVENTS: Int(0, 1_000_000, 2_000, 'Recent server events kept per session for replay on resume'),
  REDIS_URL: Type.Optional(
    Type.String({
      pattern: '^rediss?://',
      description:
        'Redis for scale-out (redis:// or rediss://): shared sessions, cross-instance resume and limits; unset: everything in memory',
    }),
  ),
  REDIS_KEY_PREFIX: Type.String({
    minLength: 1,
    maxLength: 64,
    default: 'asi1gw:',
    description: 'Prefix of every Redis key and channel the gateway uses',
  }),
  SHUTDOWN_GRACE_MS: Int(
    0,
    600_000,
    10_000,
    'On SIGTERM, how long active responses may finish before they are interrupted',
  ),
  SIMULATOR_TTFT_MS: Int(0, 60_000, 250, 'Built-in simulator: time to first token (no-key mode only)'),
  SIMULATOR_TOKEN_INTERVAL_MS: Int(0, 10_000, 25, 'Built-in simulator: time between tokens (no-key mode only)'),
  SIMULATOR_MODEL_PROFILES: Type.String({
    default: 'on',
    pattern: SIMULATOR_PROFILES_PATTERN,
    description:
      'Built-in simulator: per-model pace and reply length (asi1 ×2 first-token time, ×1.5 between tokens, ×2 words; asi1-ultra ×4, ×2, ×3): on, off, or model:ttftScale:interTokenScale:lengthScale,... over the on values (no-key mode only)',
  }),
});

export type Env = Static<typeof EnvSchema>;
