// Speaking: the page's own queue of speech segments, handed to speechSynthesis one utterance at a time,
// each guarded by a watchdog, and the record of how much of each reply was actually spoken (heardChars).
// Voice choice lives in voices.js; what to speak and when to stop is conversation.js's call.
import { createEmitter } from './emitter.js';
import { listen } from './engine-events.js';

/** Typical speaking speed at rate 1, for the heard estimate when a voice gives no boundary events (§2.5). */
const CHARS_PER_SECOND = 14;
/** Slow voices manage ~10 chars/s; the watchdog must never cut real speech, only a stuck synthesiser. */
const WATCHDOG_CHARS_PER_SECOND = 10;
const WATCHDOG_SLACK_MS = 3_000;
/** Chrome can drop a speak() issued right after cancel() (easy-speech waits 10 ms; we wait a little more). */
const AFTER_CANCEL_MS = 50;
const RECENT_MS = 3_000;
/**
 * WebKit (Safari, every iOS browser) ignores speak() outside a user gesture unless one utterance was spoken
 * inside one; Chromium only needs the page to have had a gesture at all (§2.6, §2.4).
 */
const NEEDS_GESTURE_UTTERANCE =
  /AppleWebKit/.test(navigator.userAgent) && !/Chrome|Chromium|CriOS|Edg|OPR|Android/.test(navigator.userAgent);

/**
 * Emits `start` and `end` (the segment { responseId, index, text }), `idle` (nothing left to speak),
 * `blocked` (the browser wants a user gesture before it plays audio) and `failure` ({ code, inRow }).
 */
export function createSpeaker({ synth, Utterance, voicesReady, lang }) {
  const emitter = createEmitter();
  const available = Boolean(Utterance && typeof synth?.speak === 'function' && typeof synth.cancel === 'function');
  const queue = [];
  const replies = new Map(); // responseId → { chars: fully spoken, unreliable: something was not spoken }
  const recent = []; // { text, endedAt } of the last few utterances, for the echo gate
  const live = new Set(); // keeps utterances referenced until they settle (Chrome loses callbacks to GC, §2.4)
  let current = null; // { item, utterance, startedAt, boundaryChars, watchdog }
  let ready = false;
  let enabled = true;
  let voice = null;
  let rate = 1;
  let blocked = false;
  let unlocked = false;
  let lastCancelAt = -Infinity;
  let failuresInRow = 0;
  let pumpTimer = 0;

  void voicesReady.then(() => {
    ready = true;
    pump();
  });

  function reply(responseId) {
    if (!replies.has(responseId)) replies.set(responseId, { chars: 0, unreliable: false });
    if (replies.size > 50) replies.delete(replies.keys().next().value);
    return replies.get(responseId);
  }

  function pump() {
    if (current || blocked || !ready || queue.length === 0) return;
    const wait = lastCancelAt + AFTER_CANCEL_MS - performance.now();
    if (wait > 0) {
      clearTimeout(pumpTimer);
      pumpTimer = setTimeout(pump, wait);
      return;
    }
    speak(queue.shift());
  }

  function speak(item) {
    const utterance = new Utterance(item.text);
    utterance.lang = voice?.lang ?? lang;
    try {
      if (voice) utterance.voice = voice;
    } catch {
      // Not a SpeechSynthesisVoice this engine accepts: speak with its default voice for the language.
    }
    utterance.rate = rate;
    const entry = { item, utterance, startedAt: 0, boundaryChars: null, watchdog: 0 };
    current = entry;
    live.add(utterance);
    const settle = () => live.delete(utterance);
    const watchdogMs = (item.text.length / (WATCHDOG_CHARS_PER_SECOND * rate)) * 1000 + WATCHDOG_SLACK_MS;
    entry.watchdog = setTimeout(() => onWatchdog(entry), watchdogMs);
    listen(utterance, 'start', () => {
      if (current !== entry) return;
      entry.startedAt = performance.now();
      failuresInRow = 0;
      emitter.emit('start', item);
    });
    listen(utterance, 'boundary', (event) => {
      if (current !== entry || (event.name && event.name !== 'word') || typeof event.charIndex !== 'number') return;
      // All text before charIndex has been spoken; the word at charIndex is being spoken now (spec §charIndex).
      entry.boundaryChars = Math.min(item.text.length, event.charIndex + (event.charLength || 0));
    });
    listen(utterance, 'end', () => {
      settle();
      if (current === entry) finish(entry, true);
    });
    listen(utterance, 'error', (event) => {
      settle();
      if (current === entry) onError(entry, event.error);
    });
    try {
      if (synth.paused) synth.resume(); // a paused synthesiser would hold every later utterance (§2.4)
      synth.speak(utterance);
    } catch {
      settle();
      if (current === entry) onError(entry, 'synthesis-failed');
    }
  }

  /** Characters of the current utterance spoken so far: word boundaries when the voice sends them, else time. */
  function spokenPart(entry) {
    if (!entry.startedAt) return 0;
    if (entry.boundaryChars !== null) return entry.boundaryChars;
    const seconds = (performance.now() - entry.startedAt) / 1000;
    return Math.min(entry.item.text.length, Math.floor(seconds * CHARS_PER_SECOND * rate));
  }

  function finish(entry, spoken) {
    clearTimeout(entry.watchdog);
    current = null;
    const { item } = entry;
    if (spoken) reply(item.responseId).chars += item.text.length;
    recent.push({ text: item.text, endedAt: performance.now() });
    if (recent.length > 8) recent.shift();
    emitter.emit('end', item);
    pump();
    if (!current && queue.length === 0) emitter.emit('idle');
  }

  function onError(entry, code) {
    clearTimeout(entry.watchdog);
    if (code === 'not-allowed') {
      // Autoplay policy: no user gesture yet. Keep the segment and play it after the next gesture (unlock()).
      current = null;
      queue.unshift(entry.item);
      blocked = true;
      emitter.emit('blocked');
      emitter.emit('idle'); // nothing is audible until then
      return;
    }
    if (code === 'interrupted' || code === 'canceled') {
      // Someone else cancelled the synthesiser (another tab, the OS): what was said so far was heard.
      reply(entry.item.responseId).chars += spokenPart(entry);
      reply(entry.item.responseId).unreliable = true;
      return finish(entry, false);
    }
    failuresInRow += 1;
    reply(entry.item.responseId).unreliable = true;
    emitter.emit('failure', { code, inRow: failuresInRow });
    finish(entry, false);
  }

  function onWatchdog(entry) {
    if (current !== entry) return;
    // No `end` long after it was due: Chrome sometimes never fires it (remote voices stop after ~15 s, §2.3).
    lastCancelAt = performance.now();
    synth.cancel(); // its late `error: interrupted` finds another current utterance and is ignored
    finish(entry, true);
  }

  return {
    on: emitter.on,
    available,
    /** Queues a segment; false when it will not be spoken (speech off or unavailable). */
    enqueue(item) {
      if (!available || !enabled) {
        reply(item.responseId).unreliable = true;
        return false;
      }
      queue.push(item);
      pump();
      return true;
    },
    /**
     * Stops at once and forgets the queue. speechSynthesis.cancel() fires `error: interrupted` for the
     * current utterance and nothing at all for queued ones (§2.4); our queue is authoritative, so neither matters.
     */
    cancel() {
      clearTimeout(pumpTimer);
      const wasBusy = Boolean(current) || queue.length > 0;
      if (current) clearTimeout(current.watchdog);
      current = null;
      queue.length = 0;
      blocked = false;
      if (available) {
        lastCancelAt = performance.now();
        if (synth.paused) synth.resume();
        synth.cancel();
      }
      if (wasBusy) emitter.emit('idle');
    },
    /**
     * How much of a reply's speech text was spoken: every fully spoken segment plus the spoken part of the
     * current one. `reliable` is false when some of it could not be spoken (speech off, failed, cut by others).
     */
    heard(responseId) {
      const record = replies.get(responseId) ?? { chars: 0, unreliable: false };
      const partial = current?.item.responseId === responseId ? spokenPart(current) : 0;
      return { chars: record.chars + partial, reliable: available && !record.unreliable };
    },
    isSpeaking(responseId) {
      return current?.item.responseId === responseId || queue.some((item) => item.responseId === responseId);
    },
    /** Text being spoken now plus what ended in the last few seconds (recognition lags the audio). */
    recentText() {
      const since = performance.now() - RECENT_MS;
      const parts = recent.filter((r) => r.endedAt >= since).map((r) => r.text);
      if (current) parts.push(current.item.text);
      return parts.join(' ');
    },
    /**
     * Call on every user gesture. Plays a reply the browser held back for want of one, and on WebKit speaks
     * one silent utterance inside the first gesture, which unlocks speech for the page (§2.6).
     */
    unlock() {
      if (!available) return;
      if (blocked) {
        blocked = false;
        pump();
        return;
      }
      if (unlocked || !NEEDS_GESTURE_UTTERANCE) return;
      unlocked = true;
      if (current) return;
      const silent = new Utterance(' ');
      silent.volume = 0;
      live.add(silent);
      listen(silent, 'end', () => live.delete(silent));
      listen(silent, 'error', () => live.delete(silent));
      try {
        synth.speak(silent);
      } catch {
        live.delete(silent);
      }
    },
    setEnabled(value) {
      enabled = value;
      if (!value) this.cancel();
    },
    setVoice(value) {
      voice = value;
    },
    setRate(value) {
      rate = value;
    },
    /** Speaking, or about to: false while the browser holds speech back for want of a user gesture. */
    get busy() {
      return Boolean(current) || (queue.length > 0 && !blocked);
    },
    get enabled() {
      return enabled && available;
    },
  };
}
