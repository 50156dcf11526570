// The span of a session resumed on this instance from another one (scale-out). It joins the trace of the response
// that was in flight when the client came back (its root's traceparent travels in the session's stored snapshot),
// so the reply's trace shows both instances; with nothing in flight it starts its own trace, linked to the last one.
import {
  defaultTextMapGetter,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
} from '@opentelemetry/api';
import { ATTR_ERROR_TYPE } from '@opentelemetry/semantic-conventions';
import { GW, SPAN } from './attributes.js';
import type { Tracing } from './tracing.js';

export interface ResumeRecord {
  sessionId: string;
  /** performance.now() when the client's session.resume arrived. */
  startedAt: number;
  /** The session's newest response as the store had it when the resume began. */
  latest: { responseId: string; traceparent: string; active: boolean } | undefined;
  /** How the session came: relayed from its live owner, or taken over (a dead owner, or none). */
  path: 'relay' | 'take_over' | undefined;
  /** The instance that held it ('' for none). */
  owner: string | undefined;
  /** `resumed`, or why not (not_found, bad_token, moved, unavailable, timeout, aborted). */
  outcome: string;
  relayed: boolean;
  announce: { replayed: number; missedEvents: boolean } | null;
  /** A response its dead owner never finished (it ends failed, GW_INSTANCE_LOST). */
  lostResponseId: string | undefined;
}

export function recordResume(tracing: Tracing, record: ResumeRecord): void {
  const { latest } = record;
  const inFlight = latest !== undefined && (latest.active || latest.responseId === record.lostResponseId);
  const context =
    latest === undefined
      ? ROOT_CONTEXT
      : tracing.propagator.extract(ROOT_CONTEXT, { traceparent: latest.traceparent }, defaultTextMapGetter);
  const last = trace.getSpanContext(context);
  const links: Link[] = !inFlight && last !== undefined ? [{ context: last }] : [];
  const attributes: Attributes = {
    [GW.sessionId]: record.sessionId,
    [GW.resumeOutcome]: record.outcome,
    [GW.resumeRelayed]: record.relayed,
  };
  if (record.path !== undefined) attributes[GW.resumePath] = record.path;
  if (record.owner !== undefined && record.owner !== '') attributes[GW.resumeOwner] = record.owner;
  if (latest !== undefined) attributes[GW.responseId] = latest.responseId;
  if (record.announce !== null) {
    attributes[GW.resumeReplayed] = record.announce.replayed;
    attributes[GW.missedEvents] = record.announce.missedEvents;
  }
  const span = tracing.tracer.startSpan(
    SPAN.resume,
    { kind: SpanKind.SERVER, startTime: record.startedAt, attributes, links },
    inFlight ? context : ROOT_CONTEXT,
  );
  if (record.lostResponseId !== undefined)
    span.addEvent('response.lost', { [GW.responseId]: record.lostResponseId, [ATTR_ERROR_TYPE]: 'GW_INSTANCE_LOST' });
  // The client gave up (it went away): not a failure of the gateway's.
  if (record.outcome !== 'resumed' && record.outcome !== 'aborted') {
    span.setAttribute(ATTR_ERROR_TYPE, record.outcome);
    span.setStatus({ code: SpanStatusCode.ERROR, message: `resume failed: ${record.outcome}` });
  }
  span.end(performance.now());
}
