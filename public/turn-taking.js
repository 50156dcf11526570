// Who has the floor. Half-duplex (default): the mic closes while the assistant speaks, so it never
// transcribes itself, and reopens shortly after. Hands-free (opt-in): the mic stays open, and gated interim
// speech that is not an echo of the assistant's own words interrupts it. Final transcripts become turns.
// Each utterance keeps one turnId from its first interim to its final; while the user has the floor its interim
// words go to the server too (protocol 1.2), so it can start answering before the recognizer's final.
import { isBargeIn, looksLikeEcho } from './echo-gate.js';

/** Echo tail: the speaker's sound lingers and recognition lags it by up to ~2 s (Chrome keeps recognising the tail of our own speech for a moment after it stops). */
const REOPEN_DELAY_MS = 300;

export function createTurnTaking({ recognizer, speaker, conversation, showInterim, isHandsFree }) {
  let lastSpeechEndedAt = -Infinity;
  let utterance = null; // { turnId, sent }: the utterance being heard, and the interim text last sent for it

  /** The assistant is talking, or was a moment ago: what the mic hears may be the assistant itself. */
  function assistantAudible() {
    return conversation.assistantHasFloor || performance.now() - lastSpeechEndedAt < 2_500;
  }

  /** Hands-free, with the assistant audible: heard words that are mostly its own are its echo. */
  function isEcho(text) {
    return isHandsFree() && assistantAudible() && looksLikeEcho(text, speaker.recentText());
  }

  function update() {
    if (!isHandsFree() && conversation.assistantHasFloor) recognizer.suspend();
    else recognizer.resume(REOPEN_DELAY_MS);
  }

  recognizer.on('interim', ({ text, confidence }) => {
    // Words the server already committed (and shows as the user's turn) are the recognizer catching up.
    const committed = text !== '' && conversation.isCommitted(text);
    showInterim(committed ? '' : text);
    if (!text || committed) return;
    if (conversation.assistantHasFloor) {
      // Speech over the assistant is a barge-in (or its echo), never an early turn.
      if (isHandsFree() && isBargeIn(text, confidence, speaker.recentText())) conversation.bargeIn();
      return;
    }
    if (isEcho(text)) return;
    utterance ??= { turnId: conversation.newTurnId(), sent: '' };
    if (text === utterance.sent) return;
    if (conversation.sendInterim(text, utterance.turnId)) utterance.sent = text;
  });

  recognizer.on('final', ({ text }) => {
    showInterim('');
    const turnId = utterance?.turnId;
    utterance = null;
    // The final of a turn the server committed confirms it, even when it sounds like the reply to it.
    if (!conversation.isCommitted(text) && isEcho(text)) return;
    conversation.sendTurn(text, 'voice', turnId);
  });

  recognizer.on('listening', (on) => {
    if (on) return;
    showInterim('');
    // The session ended without a final (the mic closed for the assistant's reply, or the user stopped).
    if (utterance) conversation.dropUtterance(utterance.turnId);
    utterance = null;
  });

  speaker.on('start', update);
  speaker.on('end', () => {
    lastSpeechEndedAt = performance.now();
  });
  conversation.on('change', update);

  return { update };
}
