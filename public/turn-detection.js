// How the server ends the user's turns (protocol 1.2 turnDetection): it may always speculate on interim words,
// and with "Answer as soon as I pause" it commits a turn itself once the words were stable for a moment, before
// the recognizer's own endpointing. Sends session.update on each (re)connect and when the choice changes.

/** How long the words must stay unchanged (and sound finished) before the server answers; 200..5000 ms. */
export const SERVER_COMMIT_STABLE_MS = 600;

export function createTurnDetection({ link, settings }) {
  let minor = 0;
  let sent = null; // the serverCommit choice the server last got, as JSON

  /** Tells the server the current choice, if it speaks 1.2 and has not got it yet. */
  function sync() {
    if (minor < 2) return;
    const serverCommit = settings.answerOnPause ? { stableMs: SERVER_COMMIT_STABLE_MS } : null;
    const wanted = JSON.stringify(serverCommit);
    if (wanted === sent) return;
    if (link.send({ type: 'session.update', turnDetection: { speculate: true, serverCommit } })) sent = wanted;
  }

  link.on('session', ({ ready }) => {
    minor = ready.minor ?? 0;
    sent = null; // a new session has defaults; a resumed one may have missed a change
    sync();
  });

  return { sync };
}
