// Creating the sessions a voice connection speaks for: a fresh one (with its resume token), or one taken over
// from another instance (scale-out). Each gets its event log, its registry entry and, with Redis, its mirror.
import { EventLog } from './event-log.js';
import { markReply } from '../session/history.js';
import { Session, type SessionOptions } from '../session/session.js';
import { stripThinkTags } from '../upstream/think-filter.js';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayError } from '../errors.js';
import type { GatewayObserver, QualityObserver, SpeculationObserver } from '../metrics.js';
import type { LedgerEntry } from './connection-ledger.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Tracing } from '../tracing/tracing.js';
import type { ChatStreamer } from '../upstream/types.js';
import { createResumeToken, digestToken, type HostedSession, type SessionRegistry } from './session-registry.js';
import type { RestoredSession, SessionScaleOut } from './scale-out-port.js';

/** Upper bound of one session's replay buffer, whatever REPLAY_BUFFER_EVENTS says. */
const REPLAY_BUFFER_MAX_BYTES = 1024 * 1024;

/** What hosting a session takes: its collaborators, the registry, and scale-out (null: memory only). */
export interface HostingOptions {
  config: Readonly<Config>;
  chat: ChatStreamer;
  tools: ToolRegistry;
  sessions: SessionRegistry;
  metrics: GatewayObserver & SpeculationObserver;
  quality?: QualityObserver;
  /** Tracing, or null (off): each response of the session gets a trace when it is on. */
  tracing?: Tracing | null;
  logger: Logger;
  scaleOut: SessionScaleOut | null;
  /** The turn limits a turn the server commits itself must pass (the transports' TurnGate); absent: none. */
  turns?: { admit(entry: LedgerEntry): { ok: true } | { ok: false; error: GatewayError } };
}

/** A new session with its event log and resume token, registered but not yet attached to a socket. */
export function hostSession(options: HostingOptions): HostedSession {
  const resumeToken = createResumeToken();
  return hostWith(
    options,
    digestToken(resumeToken),
    (sessionOptions) =>
      new Session({
        ...sessionOptions,
        ...(options.config.resumeTtlMs > 0
          ? { resume: { token: resumeToken, ttlMs: options.config.resumeTtlMs } }
          : {}),
      }),
  );
}

/** A session taken over from another instance: its state restored, its numbering continued. */
export function hostRestored(options: HostingOptions, restored: RestoredSession): HostedSession {
  const snapshot = structuredClone(restored.snapshot);
  // What a dead owner's reply had said stays in history, marked as cut off, like any failed reply.
  // It is rebuilt from the deltas, which carry think blocks with THINK_TAGS=display: history never does.
  const unfinished = stripThinkTags(restored.unfinished?.text ?? '');
  if (unfinished.trim() !== '')
    snapshot.turns.at(-1)?.push({ role: 'assistant', content: markReply(unfinished, 'failed') });
  const entry = hostWith(
    options,
    restored.digest,
    (sessionOptions) => new Session({ ...sessionOptions, sessionId: restored.sessionId, restore: snapshot }),
  );
  entry.log.continueFrom(restored.lastSeq, restored.recent);
  entry.attachEpoch = restored.epoch;
  return entry;
}

type BaseSessionOptions = Pick<
  SessionOptions,
  | 'config'
  | 'chat'
  | 'tools'
  | 'observer'
  | 'speculationObserver'
  | 'quality'
  | 'tracing'
  | 'admitServerCommit'
  | 'logger'
  | 'send'
  | 'onStateChange'
>;

function hostWith(
  options: HostingOptions,
  resumeDigest: Buffer,
  create: (base: BaseSessionOptions) => Session,
): HostedSession {
  const { config, scaleOut, turns } = options;
  const log = new EventLog(config.resumeTtlMs > 0 ? config.replayBufferEvents : 0, REPLAY_BUFFER_MAX_BYTES);
  // The session's sink needs its registry entry, which needs the session: a holder breaks the cycle.
  const holder: { entry?: HostedSession } = {};
  const session = create({
    config,
    chat: options.chat,
    tools: options.tools,
    observer: options.sessions.ledger.observe(options.metrics, () => holder.entry),
    speculationObserver: options.metrics,
    ...(options.quality ? { quality: options.quality } : {}),
    tracing: options.tracing ?? null,
    ...(turns === undefined
      ? {}
      : {
          admitServerCommit: () => {
            const admission = holder.entry === undefined ? null : turns.admit(holder.entry);
            return admission === null || admission.ok ? null : admission.error;
          },
        }),
    logger: options.logger,
    // Attached: through the socket's outbox. Detached: into the log only, for the resume replay.
    send: (body) => (holder.entry?.outbox ? holder.entry.outbox.send(body) : log.append(body)),
    ...(scaleOut !== null && config.resumeTtlMs > 0
      ? { onStateChange: () => holder.entry && scaleOut.stateChanged(holder.entry) }
      : {}),
  });
  holder.entry = options.sessions.host(session, log, resumeDigest);
  // Its first turn is coming: the upstream gets a connection ready for it now, off that turn's critical path.
  options.chat.prepare?.();
  if (scaleOut !== null && config.resumeTtlMs > 0) scaleOut.track(holder.entry);
  return holder.entry;
}
