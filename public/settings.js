// Remembers the user's choices (voice, speed, hands-free, answer on pause, speak replies, gateway token) in
// localStorage. Owns storage only: never touches the DOM or the speech engines. Storage may be unavailable
// (private modes): then defaults apply.

const KEY = 'asi1-voice.settings.v1';

export const DEFAULT_SETTINGS = Object.freeze({
  /** SpeechSynthesisVoice name and lang; empty means "the best voice for the page language". */
  voiceName: '',
  voiceLang: '',
  /** Speech rate, 1 = normal. */
  rate: 1,
  /** Keep the microphone open while the assistant speaks, and let speech interrupt it. */
  handsFree: false,
  /** Let the server end the turn when the user pauses (protocol 1.2 serverCommit), before the recognizer's final. */
  answerOnPause: false,
  speakReplies: true,
  /** Gateway token, for servers started with GATEWAY_TOKENS; empty: none. */
  token: '',
});

export const RATE_MIN = 0.6;
export const RATE_MAX = 1.6;

function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** The saved settings merged over the defaults; anything malformed falls back to its default. */
export function loadSettings() {
  let saved = {};
  try {
    saved = JSON.parse(storage()?.getItem(KEY) ?? '{}') ?? {};
  } catch {
    saved = {};
  }
  const out = { ...DEFAULT_SETTINGS };
  if (typeof saved.voiceName === 'string') out.voiceName = saved.voiceName;
  if (typeof saved.voiceLang === 'string') out.voiceLang = saved.voiceLang;
  if (typeof saved.rate === 'number' && saved.rate >= RATE_MIN && saved.rate <= RATE_MAX) out.rate = saved.rate;
  if (typeof saved.handsFree === 'boolean') out.handsFree = saved.handsFree;
  if (typeof saved.answerOnPause === 'boolean') out.answerOnPause = saved.answerOnPause;
  if (typeof saved.speakReplies === 'boolean') out.speakReplies = saved.speakReplies;
  if (typeof saved.token === 'string') out.token = saved.token;
  return out;
}

/** Saves `settings`; silently does nothing when storage is unavailable or full. */
export function saveSettings(settings) {
  try {
    storage()?.setItem(KEY, JSON.stringify(settings));
  } catch {
    // Quota or privacy mode: the choice lasts for this page only.
  }
}
