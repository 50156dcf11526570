// Who has the floor. Half-duplex (default): the mic closes while the assistant speaks, so it never
// transcribes itself, and reopens shortly after. Hands-free (opt-in): the mic stays open, and gated interim
// speech that is not an echo of the assistant's own words interrupts it. Final transcripts become turns.
import { isBargeIn, looksLikeEcho } from './echo-gate.js';

/** Echo tail: the speaker's sound lingers and recognition lags it by up to ~2 s (Chrome keeps recognising the tail of our own speech for a moment after it stops). */
const REOPEN_DELAY_MS = 300;

export function createTurnTaking({ recognizer, speaker, conversation, showInterim, isHandsFree }) {
  let lastSpeechEndedAt = -Infinity;

  /** The assistant is talking, or was a moment ago: what the mic hears may be the assistant itself. */
  function assistantAudible() {
    return conversation.assistantHasFloor || performance.now() - lastSpeechEndedAt < 2_500;
  }

  function update() {
    if (!isHandsFree() && conversation.assistantHasFloor) recognizer.suspend();
    else recognizer.resume(REOPEN_DELAY_MS);
  }

  recognizer.on('interim', ({ text, confidence }) => {
    showInterim(text);
    if (!isHandsFree() || !conversation.assistantHasFloor) return;
    if (isBargeIn(text, confidence, speaker.recentText())) conversation.bargeIn();
  });

  recognizer.on('final', ({ text }) => {
    showInterim('');
    if (isHandsFree() && assistantAudible() && looksLikeEcho(text, speaker.recentText())) return;
    conversation.sendTurn(text, 'voice');
  });

  recognizer.on('listening', (on) => {
    if (!on) showInterim('');
  });

  speaker.on('start', update);
  speaker.on('end', () => {
    lastSpeechEndedAt = performance.now();
  });
  conversation.on('change', update);

  return { update };
}
