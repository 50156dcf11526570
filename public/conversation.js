// The turn and response lifecycle of protocol v1: sends turns, follows the current reply only (events of
// older replies are dropped), feeds its speech segments to the speaker, barges in with response.cancel and
// heardChars, and measures each turn's time to first token and first speech from the moment it was sent.
import { createEmitter } from './emitter.js';

/** Races the server may legitimately answer with; nothing the user needs to see. */
const QUIET_ERRORS = new Set(['GW_NO_ACTIVE_RESPONSE', 'GW_RESPONSE_MISMATCH']);

/**
 * Where `heardChars` of speech text (the segments joined with no separator) falls in the display text,
 * assuming the segments follow the display text with one separator between them. An estimate for showing
 * the cut; the gateway does the exact mapping for the history.
 */
function displayPosition(segments, heardChars) {
  let left = heardChars;
  let pos = 0;
  for (const text of segments) {
    if (left < text.length) return pos + left;
    left -= text.length;
    pos += text.length + 1;
  }
  return pos;
}

/**
 * Emits `change` whenever awaitingReply may have changed, and `notice` (text) for problems worth telling the
 * user outside the log.
 */
export function createConversation({ link, speaker, log }) {
  const emitter = createEmitter();
  let turnCounter = 0;
  let pending = null; // { turnId, sentAt }: sent, response.created not seen yet
  let current = null; // the reply being shown and spoken
  let turnsThisSession = 0;
  // Turns stopped before their reply began, and then those replies: if one still completes (the server was
  // faster than the stop), it is truncated to nothing, since nobody saw or heard it.
  const stoppedTurns = new Set();
  const stoppedReplies = new Set();

  const changed = () => emitter.emit('change');

  function isCurrent(event) {
    return current !== null && !current.cancelled && event.responseId === current.responseId;
  }

  function showTimings(reply) {
    reply.view.setTimings({
      firstTokenMs: reply.firstTokenAt === null ? null : reply.firstTokenAt - reply.sentAt,
      firstSpeechMs: reply.firstSpeechAt === null ? null : reply.firstSpeechAt - reply.sentAt,
      speech: speaker.enabled,
    });
  }

  speaker.on('start', (item) => {
    if (!current || item.responseId !== current.responseId) return;
    current.view.setSpeaking(true);
    if (current.firstSpeechAt !== null) return;
    current.firstSpeechAt = performance.now();
    showTimings(current);
  });
  speaker.on('idle', () => {
    current?.view.setSpeaking(false);
    changed();
  });

  function onEvent(event) {
    switch (event.type) {
      case 'session.ready':
        // A new session (not a resumed one): whatever was in flight in the old one is gone.
        abandon('The connection was lost');
        if (turnsThisSession > 0) {
          log.addNotice(
            'Reconnected. This is a new session, so the assistant does not remember the earlier conversation.',
          );
        }
        turnsThisSession = 0;
        break;
      case 'response.created':
        if (stoppedTurns.delete(event.turnId)) stoppedReplies.add(event.responseId);
        if (!pending || event.turnId !== pending.turnId) return; // a reply to a turn we already replaced
        current = {
          responseId: event.responseId,
          sentAt: pending.sentAt,
          view: log.startReply(),
          firstTokenAt: null,
          firstSpeechAt: null,
          done: false,
          status: null,
          cancelled: false,
          speech: [],
        };
        pending = null;
        changed();
        break;
      case 'response.delta':
        if (!isCurrent(event)) return;
        if (current.firstTokenAt === null) {
          current.firstTokenAt = performance.now();
          showTimings(current);
        }
        current.view.appendText(event.text);
        break;
      case 'response.speech':
        if (!isCurrent(event)) return;
        current.speech.push(event.text);
        speaker.enqueue({ responseId: event.responseId, index: event.index, text: event.text });
        break;
      case 'response.tool_call':
        if (isCurrent(event)) current.view.addTool(event.name);
        break;
      case 'response.done':
        if (stoppedReplies.delete(event.responseId) && event.status === 'completed') {
          link.send({ type: 'response.cancel', responseId: event.responseId, heardChars: 0 });
        }
        if (!isCurrent(event)) return;
        current.done = true;
        current.status = event.status;
        current.view.setStatus(event.status, event.error?.message);
        showTimings(current);
        changed();
        break;
      case 'error':
        if (QUIET_ERRORS.has(event.code)) return;
        if (event.responseId && current?.responseId === event.responseId) return; // its response.done says it
        if (pending && event.eventId === pending.turnId) {
          // The turn was refused (rate limit, too long, shutting down): no reply will come for it.
          pending = null;
          changed();
        }
        log.addNotice(event.message);
        break;
      default:
        break;
    }
  }

  /** The session is gone: a reply still streaming in it will never finish. */
  function abandon(reason) {
    stoppedTurns.clear();
    stoppedReplies.clear();
    if (pending) {
      pending = null;
      log.addNotice(`${reason}: your last message was not answered.`);
    }
    if (current && !current.done && !current.cancelled) {
      current.cancelled = true;
      speaker.cancel();
      current.view.setStatus('failed', reason);
    }
    changed();
  }

  /**
   * Stops the current reply at once. While it streams, the server stops it; after response.done, while it is
   * still being spoken, the server truncates the stored reply. Either way it learns what was heard.
   * Returns true when there was something to stop.
   */
  function bargeIn() {
    if (pending) {
      // Stopped before its reply began. Its response is the server's active one (frames arrive in order),
      // so a cancel without an id reaches it; nothing was heard.
      stoppedTurns.add(pending.turnId);
      pending = null;
      speaker.cancel();
      link.send({ type: 'response.cancel', heardChars: 0 });
      changed();
      return true;
    }
    const reply = current;
    if (!reply || reply.cancelled) {
      if (!speaker.busy) return false;
      speaker.cancel();
      return true;
    }
    const speaking = speaker.isSpeaking(reply.responseId);
    if (reply.done && !speaking) return false;
    const heard = speaker.heard(reply.responseId);
    speaker.cancel();
    reply.cancelled = true;
    if (!reply.done) {
      link.send({
        type: 'response.cancel',
        responseId: reply.responseId,
        ...(heard.reliable ? { heardChars: heard.chars } : {}),
      });
    } else if (reply.status === 'completed' && heard.reliable) {
      link.send({ type: 'response.cancel', responseId: reply.responseId, heardChars: heard.chars });
    }
    reply.view.setStatus('interrupted');
    if (heard.reliable) reply.view.markHeard(displayPosition(reply.speech, heard.chars));
    changed();
    return true;
  }

  // A dropped socket is not the end: the server keeps the session and its reply for a resume. Only a new
  // session (session.ready after a failed or impossible resume) abandons what was in flight.
  link.on('event', onEvent);

  return {
    on: emitter.on,
    bargeIn,
    /** Sends a user turn (interrupting the current reply first); false when it could not be sent. */
    sendTurn(text, via) {
      const clean = text.trim();
      if (!clean) return false;
      if (!link.isOpen) {
        emitter.emit('notice', 'Not connected to the server yet. Your message was not sent; try again in a moment.');
        return false;
      }
      bargeIn();
      const turnId = `turn-${++turnCounter}`;
      pending = { turnId, sentAt: performance.now() };
      turnsThisSession += 1;
      log.addUser(clean, via);
      // eventId: an error about this turn (rate limit, too long) echoes it, so the page stops waiting.
      link.send({ type: 'turn', text: clean, turnId, eventId: turnId });
      changed();
      return true;
    },
    /** A turn is sent and its reply has not finished streaming. */
    get awaitingReply() {
      return pending !== null || (current !== null && !current.done && !current.cancelled);
    },
    /** The current reply has started speaking and is not over yet (streaming or still in the speaker). */
    get assistantHasFloor() {
      if (!current || current.cancelled) return speaker.busy;
      return speaker.busy || (!current.done && current.firstSpeechAt !== null);
    },
    /** Something can be stopped (Stop button, Esc, Space). */
    get canStop() {
      return speaker.busy || this.awaitingReply;
    },
  };
}
