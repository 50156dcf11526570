// What a Session is given, and the two server events it builds from its own state alone: session.ready and a
// typed error. Kept apart so session.ts holds the event flow only.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayError } from '../errors.js';
import type { GatewayObserver, QualityObserver, SpeculationObserver } from '../metrics.js';
import {
  PROTOCOL_MINOR,
  PROTOCOL_VERSION,
  type ExperimentArm,
  type ServerEventBody,
  type SessionSettings,
} from '../protocol.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Tracing } from '../tracing/tracing.js';
import type { ChatStreamer } from '../upstream/types.js';
import type { SessionSnapshot } from './snapshot.js';

export interface SessionOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  /** Server tools, shared by every session. */
  tools: ToolRegistry;
  observer?: GatewayObserver;
  /** Quality signals per model and experiment arm (replies, feedback, re-asks). */
  quality?: QualityObserver;
  /** Speculation's cost and savings (started, adopted, discarded, upstream requests per committed turn). */
  speculationObserver?: SpeculationObserver;
  /** Tracing (an OTLP endpoint is configured): each response gets a trace. Null or absent: none, at no cost. */
  tracing?: Tracing | null;
  /** The transport's turn limits, asked before the server commits a turn itself (serverCommit); null admits it. */
  admitServerCommit?: () => GatewayError | null;
  /** Receives every server event in order; the transport stamps `seq` as it writes them. Must not throw. */
  send: (event: ServerEventBody) => void;
  logger: Logger;
  sessionId?: string;
  /** When resume is on: the token announced in session.ready, and how long a dropped session waits. */
  resume?: { token: string; ttlMs: number };
  /** State that moved here from another instance: settings, history and response counter. */
  restore?: SessionSnapshot;
  /**
   * Called after anything a snapshot holds changed (a turn accepted, a reply committed, settings updated), so a
   * shared store can persist it: what a user said must survive this instance. Must not throw.
   */
  onStateChange?: () => void;
}

/** session.ready: who this session is, what it speaks, and the limits a client should respect. */
export function readyEvent(
  sessionId: string,
  settings: SessionSettings,
  options: SessionOptions,
  experiment: ExperimentArm | undefined,
): ServerEventBody {
  const { config, resume } = options;
  return {
    type: 'session.ready',
    sessionId,
    protocol: PROTOCOL_VERSION,
    minor: PROTOCOL_MINOR,
    ...(resume ? { resumeToken: resume.token } : {}),
    model: settings.model,
    upstream: config.upstream,
    limits: { maxFrameBytes: config.maxFrameBytes, maxTurnChars: config.maxTurnChars, resumeTtlMs: resume?.ttlMs ?? 0 },
    ...(experiment ? { experiment } : {}),
  };
}

/** The `error` event for a typed error; `retryAfterMs` when a limit said how long to wait. */
export function errorEvent(error: GatewayError, eventId?: string, responseId?: string): ServerEventBody {
  return {
    type: 'error',
    code: error.code,
    message: error.message,
    retryable: error.retryable,
    ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    ...(eventId === undefined ? {} : { eventId }),
    ...(responseId === undefined ? {} : { responseId }),
  };
}
