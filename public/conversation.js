// The turn and response lifecycle of protocol v1: sends turns, follows the current reply only (events of
// older replies are dropped), feeds its speech segments to the speaker, barges in with response.cancel and
// heardChars, and measures each turn's time to first token and first speech from the moment it was sent.
// Protocol 1.2: sends interim transcripts, follows turns the server commits itself, marks early replies. 1.4: each
// utterance's frames carry its traceparent (trace-context.js), and each reply shows its trace id.
import { createEmitter } from './emitter.js';
import { createTraceBook } from './trace-context.js';
import { extendsUtterance, sameUtterance } from './utterance.js';

/** Races the server may legitimately answer with, and a rating it could not take (reply-feedback.js notes it). */
const QUIET_ERRORS = new Set(['GW_NO_ACTIVE_RESPONSE', 'GW_RESPONSE_MISMATCH', 'GW_UNKNOWN_RESPONSE']);

/**
 * Emits `change` whenever awaitingReply may have changed, and `notice` (text) for problems worth telling the
 * user outside the log.
 */
export function createConversation({ link, speaker, log }) {
  const emitter = createEmitter();
  const traces = createTraceBook();
  let turnCounter = 0;
  let pending = null; // { turnId, sentAt }: sent, response.created not seen yet
  let current = null; // the reply being shown and spoken
  let turnsThisSession = 0;
  let interims = false; // the server takes turn.interim (protocol 1.2)
  let committed = null; // { turnId, text, view }: a turn the server committed itself, until its final
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
        interims = event.minor >= 2;
        break;
      case 'turn.committed':
        onCommitted(event);
        break;
      case 'turn.absorbed': // our final only confirmed the server's commit: no reply of its own is coming
        if (pending?.turnId !== event.turnId) return;
        pending = null;
        changed();
        break;
      case 'response.created': {
        if (stoppedTurns.delete(event.turnId)) stoppedReplies.add(event.responseId);
        // The server answers an utterance again once the user went on after its commit: the newer reply wins.
        const again = !pending && current?.turnId === event.turnId && !stoppedReplies.has(event.responseId);
        if (!again && event.turnId !== pending?.turnId) return; // a reply to a turn we already replaced
        if (again) bargeIn();
        current = {
          responseId: event.responseId,
          turnId: event.turnId,
          sentAt: pending?.sentAt ?? performance.now(),
          view: log.startReply(event.responseId),
          firstTokenAt: null,
          firstSpeechAt: null,
          done: false,
          status: null,
          cancelled: false,
          speech: [],
        };
        current.view.setTrace(traces.traceId(event.turnId));
        pending = null;
        changed();
        break;
      }
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
        if (event.timings?.speculative && current?.responseId === event.responseId) current.view.markEarly();
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

  /**
   * The server ended the user's turn on a pause (serverCommit): as if the turn had been sent with its words. The
   * same turnId again means the user went on and the server committed the whole utterance: its bubble grows.
   */
  function onCommitted(event) {
    if (pending) {
      committed = null; // a turn of ours crossed it: the server answers ours and drops this one
      return;
    }
    bargeIn();
    const again = committed?.turnId === event.turnId ? committed : null;
    if (again) again.view.setText(event.text);
    else turnsThisSession += 1;
    committed = { turnId: event.turnId, text: event.text, view: again?.view ?? log.addUser(event.text, 'voice') };
    pending = { turnId: event.turnId, sentAt: performance.now() };
    changed();
  }

  /** The session is gone: a reply still streaming in it will never finish. */
  function abandon(reason) {
    committed = null;
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
    if (heard.reliable) reply.view.markHeard(reply.speech, heard.chars);
    changed();
    return true;
  }

  // A dropped socket is not the end: the server keeps the session and its reply for a resume. Only a new
  // session (session.ready after a failed or impossible resume) abandons what was in flight.
  link.on('event', onEvent);

  return {
    on: emitter.on,
    bargeIn,
    /** A new conversation: stops the reply and its speech, and forgets this session's turns (no "reconnected"). */
    startOver() {
      bargeIn();
      speaker.cancel();
      current = null;
      pending = null;
      turnsThisSession = 0;
      abandon('');
    },
    /** A new turn id: a spoken utterance has one from its first interim to its final. */
    newTurnId: () => `turn-${++turnCounter}`,
    /**
     * Sends a user turn (interrupting the current reply first); false when it could not be sent. The final of a
     * turn the server committed itself only confirms it when the words are the same: no second reply, no bubble.
     */
    sendTurn(text, via, turnId = `turn-${++turnCounter}`) {
      const clean = text.trim();
      if (!clean) return false;
      if (!link.isOpen) {
        emitter.emit('notice', 'Not connected to the server yet. Your message was not sent; try again in a moment.');
        return false;
      }
      const early = committed;
      committed = null;
      const traceparent = traces.for(turnId);
      if (early && sameUtterance(early.text, clean))
        return link.send({ type: 'turn', text: clean, turnId, traceparent });
      bargeIn();
      pending = { turnId, sentAt: performance.now() };
      turnsThisSession += 1;
      // The user went on after the server committed: it answers the whole utterance, in place of the first part.
      if (early && extendsUtterance(early.text, clean)) early.view.setText(clean);
      else log.addUser(clean, via);
      // eventId: an error about this turn (rate limit, too long) echoes it, so the page stops waiting.
      link.send({ type: 'turn', text: clean, turnId, eventId: turnId, traceparent });
      changed();
      return true;
    },
    /**
     * The words of utterance `turnId` so far, for a server that answers early (protocol 1.2); false when not
     * sent. After the server committed, only words that go on from it are news, and they stop its early reply.
     */
    sendInterim(text, turnId) {
      const clean = text.trim();
      if (!interims || !clean || (committed && !extendsUtterance(committed.text, clean))) return false;
      if (committed) bargeIn();
      return link.send({ type: 'turn.interim', text: clean, turnId, traceparent: traces.for(turnId) });
    },
    /** The recognizer lost utterance `turnId` without a final (the mic closed): confirm the server's commit of it. */
    dropUtterance(turnId) {
      if (committed?.turnId === turnId && link.isOpen) this.sendTurn(committed.text, 'voice', turnId);
    },
    /** Heard words the server already committed (all or the start of them): the user's own turn, not a barge-in. */
    isCommitted(text) {
      return committed !== null && (sameUtterance(committed.text, text) || extendsUtterance(text, committed.text));
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
