// The soak test's invariant checks on every server event: the resume handshake, gap-free and never repeated
// seq numbers, and per response: one response.created, one response.done, nothing after it, deltas joining to its text.

import type { ServerEvent } from '../../src/protocol.js';
import { applyPlan } from './soak-faults.js';
import type { Connection, SoakClient, Track } from './soak-state.js';

type EventOf<T extends ServerEvent['type']> = Extract<ServerEvent, { type: T }>;

/** One event from `conn`: checked, counted, and applied to the client's plan (which may drop the socket). */
export function handleEvent(client: SoakClient, conn: Connection, event: ServerEvent): void {
  if (conn.phase === 'ready') return onFirstEvent(client, conn, event);
  const track = client.track as Track;
  if (conn.phase === 'resuming' && event.type === 'error' && event.code === 'GW_RESUME_FAILED')
    return onResumeFailed(client, conn, track, event);
  // Everything else is in the session's own numbering: exactly the next seq.
  if (event.seq !== track.lastSeq + 1) {
    client.violation(
      `connection ${conn.no} (instance ${conn.instance}, ${conn.phase}): ${event.type} has seq ${event.seq} after ${track.lastSeq} (${event.seq <= track.lastSeq ? 'duplicate' : 'gap'})`,
    );
  }
  track.lastSeq = Math.max(track.lastSeq, event.seq);
  // A session.resumed answering another resume (one that never reached its client) is a past event of the
  // session like any other; ours echoes our eventId.
  if (event.type === 'session.resumed' && event.eventId !== `resume-${conn.no}`) {
    client.run.totals.foreignResumedEvents += 1;
    if (conn.phase === 'resuming') conn.resumeEvents += 1;
    checkResponse(client, event);
    applyPlan(client, conn, event);
    return;
  }
  if (conn.phase === 'resuming') {
    conn.resumeEvents += 1;
    if (event.type === 'session.resumed') onResumed(client, conn, track, event);
    else if (conn.resumeEvents === conn.dropDuringResumeAfter) {
      checkResponse(client, event);
      applyPlan(client, conn, event);
      return client.drop(conn, 'duringResume');
    }
  } else if (event.type === 'session.resumed' || event.type === 'session.ready') {
    client.violation(`connection ${conn.no}: unexpected ${event.type} on a live connection`);
  }
  checkResponse(client, event);
  applyPlan(client, conn, event);
}

/** session.ready: the client's first session, or (on a reconnect) the start of the resume handshake. */
function onFirstEvent(client: SoakClient, conn: Connection, event: ServerEvent): void {
  if (event.type !== 'session.ready')
    return client.violation(`connection ${conn.no}: first event ${event.type}, not session.ready`);
  if (client.track === null) {
    client.track = { sessionId: event.sessionId, resumeToken: event.resumeToken ?? '', lastSeq: event.seq };
    client.accepted.set(event.sessionId, []);
    conn.phase = 'live';
    client.lastInstance = conn.instance;
    return;
  }
  conn.fresh = { sessionId: event.sessionId, resumeToken: event.resumeToken ?? '', seq: event.seq };
  conn.phase = 'resuming';
  const { sessionId, resumeToken, lastSeq } = client.track;
  conn.ws.send(
    JSON.stringify({ type: 'session.resume', sessionId, resumeToken, lastSeq, eventId: `resume-${conn.no}` }),
  );
  client.log({ c: conn.no, sent: 'session.resume', lastSeq });
  if (conn.dropDuringResumeAfter === 0) client.drop(conn, 'duringResume');
}

/** GW_RESUME_FAILED (expected only in a Redis outage): carry on in the fresh session the socket started with. */
function onResumeFailed(client: SoakClient, conn: Connection, track: Track, event: EventOf<'error'>): void {
  const totals = client.run.totals;
  const fresh = conn.fresh as NonNullable<Connection['fresh']>;
  totals.resumeFailed.total += 1;
  if (client.run.inOutage()) totals.resumeFailed.duringRedisOutage += 1;
  else
    client.violation(
      `connection ${conn.no} (instance ${conn.instance}): GW_RESUME_FAILED resuming ${track.sessionId} at ${track.lastSeq}: ${event.message}`,
    );
  if (event.seq !== fresh.seq + 1)
    client.violation(`GW_RESUME_FAILED has seq ${event.seq} in the fresh session, expected ${fresh.seq + 1}`);
  // Carry on in the fresh session: what was outstanding in the old one is abandoned.
  for (const [id, response] of client.open) {
    if (response.sessionId !== track.sessionId) continue;
    client.open.delete(id);
    totals.abandonedResponses += 1;
  }
  client.track = { sessionId: fresh.sessionId, resumeToken: fresh.resumeToken, lastSeq: event.seq };
  client.accepted.set(fresh.sessionId, []);
  client.pendingTurn = null;
  client.plan = null;
  conn.phase = 'live';
  client.lastInstance = conn.instance;
}

/** Our session.resumed: the connection is live; counts where it resumed, and maybe barges in on the relay. */
function onResumed(client: SoakClient, conn: Connection, track: Track, event: EventOf<'session.resumed'>): void {
  const totals = client.run.totals;
  conn.phase = 'live';
  if (event.sessionId !== track.sessionId)
    client.violation(`session.resumed for ${event.sessionId}, expected ${track.sessionId}`);
  if (event.missedEvents) {
    totals.missedEvents += 1;
    client.violation(`connection ${conn.no}: session.resumed with missedEvents`);
  }
  if (conn.instance === client.lastInstance) totals.resumes.sameInstance += 1;
  else totals.resumes.otherInstance += 1;
  client.lastInstance = conn.instance;
  // Sometimes barge in on a response that is still being relayed from the instance we left.
  client.relayBargeIn = client.open.size > 0 && Math.random() < client.run.bargeInRate;
}

/** The response invariants, whatever connection the event came on. */
function checkResponse(client: SoakClient, event: ServerEvent): void {
  const totals = client.run.totals;
  const track = client.track as Track;
  if (event.type === 'error') {
    totals.errors[event.code] = (totals.errors[event.code] ?? 0) + 1;
    if (client.pendingTurn !== null && event.eventId === client.pendingTurn.turnId) client.pendingTurn = null;
    return;
  }
  // turn.absorbed names a response without being one of its events.
  if (event.type === 'turn.absorbed' || !('responseId' in event) || event.responseId === undefined) return;
  const id = event.responseId;
  if (client.done.has(id)) client.violation(`${event.type} (seq ${event.seq}) after response.done of ${id}`);
  switch (event.type) {
    case 'response.created': {
      totals.created += 1;
      if (client.open.has(id)) client.violation(`second response.created for ${id}`);
      client.open.set(id, { text: '', sessionId: track.sessionId });
      const text = client.turnText.get(event.turnId);
      if (text === undefined) client.violation(`response.created ${id} for unknown turn ${event.turnId}`);
      else if (client.createdTurns.has(event.turnId))
        client.violation(`second response.created for turn ${event.turnId}`);
      else {
        client.createdTurns.add(event.turnId);
        totals.turnsAccepted += 1;
        client.accepted.get(track.sessionId)?.push(text);
      }
      if (client.pendingTurn?.turnId === event.turnId) client.pendingTurn = null;
      return;
    }
    case 'response.delta': {
      const response = client.open.get(id);
      if (response !== undefined) response.text += event.text;
      else if (!client.done.has(id)) client.violation(`response.delta for ${id} without response.created`);
      return;
    }
    case 'response.done': {
      totals.done += 1;
      const response = client.open.get(id);
      client.open.delete(id);
      if (client.done.has(id)) return;
      client.done.add(id);
      totals.status[event.status] = (totals.status[event.status] ?? 0) + 1;
      if (event.error) totals.errors[event.error.code] = (totals.errors[event.error.code] ?? 0) + 1;
      if (response === undefined) client.violation(`response.done for ${id} without response.created`);
      else if (response.text !== event.text)
        client.violation(
          `deltas of ${id} do not join to its text (${response.text.length} vs ${event.text.length} chars)`,
        );
      return;
    }
    default:
      return;
  }
}
