// Keeps one conversation across reconnects (protocol 1.1 resume): remembers the session id, resume token and
// last seq; on a new socket asks to resume, hides that socket's fresh session.ready meanwhile, and says whether
// the conversation carries on or starts over. Sits between connection.js (the socket) and the rest of the page.
import { createEmitter } from './emitter.js';

/**
 * Emits `event` (server events of the conversation, replayed ones included, each once) and `session`
 * ({ resumed, ready, missedEvents }) when a conversation is (re)established.
 */
export function createSessionLink(connection) {
  const emitter = createEmitter();
  let session = null; // { id, resumeToken, ready } of the conversation this page speaks for
  let lastSeq = 0;
  let resuming = null; // { eventId, fresh } while a session.resume is unanswered
  let attempts = 0;
  const held = []; // cancels made while the socket was down, sent once the session is back

  function track(event) {
    if (typeof event.seq === 'number' && event.seq > lastSeq) lastSeq = event.seq;
  }

  function adopt(ready) {
    session = { id: ready.sessionId, resumeToken: ready.resumeToken ?? null, ready };
    lastSeq = ready.seq ?? 0;
    held.length = 0;
    emitter.emit('event', ready);
    emitter.emit('session', { resumed: false, ready, missedEvents: false });
  }

  connection.on('open', () => {
    if (!session?.resumeToken) return;
    // The first thing on the new socket: everything after lastSeq is replayed, then session.resumed.
    resuming = { eventId: `resume-${++attempts}`, fresh: null };
    connection.send({
      type: 'session.resume',
      sessionId: session.id,
      resumeToken: session.resumeToken,
      lastSeq,
      eventId: resuming.eventId,
    });
  });

  connection.on('lost', () => {
    resuming = null;
  });

  connection.on('event', (event) => {
    if (!resuming) {
      if (event.type === 'session.ready') adopt(event);
      else {
        track(event);
        emitter.emit('event', event);
      }
      return;
    }
    if (event.type === 'session.ready') {
      resuming.fresh = event; // this socket's own new session: used only if the resume fails
      return;
    }
    if (event.type === 'error' && event.eventId === resuming.eventId) {
      // Expired, unknown (the server restarted) or refused: carry on as the fresh session.
      const { fresh } = resuming;
      resuming = null;
      if (fresh) adopt(fresh);
      return;
    }
    if (typeof event.seq === 'number' && event.seq <= lastSeq) return; // already seen
    track(event);
    // Ours echoes our eventId; a replay may hold older ones (resumes that never reached this page).
    if (event.type !== 'session.resumed' || (event.eventId !== undefined && event.eventId !== resuming.eventId)) {
      emitter.emit('event', event); // a replayed (or new) event of our session
      return;
    }
    resuming = null;
    for (const cancel of held.splice(0)) connection.send(cancel);
    emitter.emit('session', { resumed: true, ready: session.ready, missedEvents: event.missedEvents === true });
  });

  return {
    on: emitter.on,
    /**
     * Sends a client event. A barge-in made while the socket is down is kept and sent after a resume, so the
     * server still learns what was heard; anything else returns false when it cannot be sent now.
     */
    send(event) {
      if (connection.send(event)) return true;
      if (event.type === 'response.cancel' && session?.resumeToken) {
        held.push(event);
        return true;
      }
      return false;
    },
    /** Lets the conversation go (a new one starts): the next socket starts a fresh session, never a resume. */
    forget() {
      session = null;
      lastSeq = 0;
      resuming = null;
      held.length = 0;
    },
    get isOpen() {
      return connection.isOpen;
    },
  };
}
