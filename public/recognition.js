// Listening: wraps SpeechRecognition / webkitSpeechRecognition for a voice chat. Keeps the user's intent
// (wanted) apart from the engine's state (running), restarts only from `end`, with backoff, acts on each error
// code and never starts twice. Emits transcripts; deciding what they mean is turn-taking.js's job.
import { createEmitter } from './emitter.js';
import { listen, unlisten } from './engine-events.js';

/** Engine errors after which restarting cannot help ('not-allowed', 'service-not-allowed', 'audio-capture', 'language-not-supported': the Web Speech API's fatal errors). */
const FATAL = new Set(['not-allowed', 'service-not-allowed', 'audio-capture', 'language-not-supported']);
/** `network` means the cloud recogniser is unreachable (or absent, as in Chromium builds): retry, then give up. */
const MAX_NETWORK_FAILURES = 3;
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 5_000;
/** A session shorter than this without any result counts as a failed start for the backoff. */
const SHORT_SESSION_MS = 1_000;
/** After abort(), `end` should follow promptly; an engine that never sends it is replaced after this. */
const END_GRACE_MS = 1_000;

export function findRecognition(win = window) {
  return win.SpeechRecognition ?? win.webkitSpeechRecognition ?? null;
}

/**
 * Emits `listening` (boolean: the engine is capturing), `interim` ({ text, confidence }), `final`
 * ({ text, confidence }) and `failure` ({ code, fatal }). `start()` is the user's wish to listen; `suspend()`
 * and `resume()` close and reopen the mic around the assistant's speech without changing that wish.
 */
export function createRecognizer({ lang, Recognition = findRecognition() }) {
  const emitter = createEmitter();
  let wanted = false;
  let suspended = false;
  let running = false; // start() succeeded and `end` has not fired yet
  let capturing = false; // between `start` and `end`
  let fatal = null;
  let engine = null;
  let timer = 0;
  let backoffMs = FIRST_BACKOFF_MS;
  let networkFailures = 0;
  let sessionStartedAt = 0;
  let sessionHadResult = false;
  let sessionHadError = false;
  let finalTexts = [];
  let abortedAt = 0;

  function setCapturing(value) {
    if (capturing === value) return;
    capturing = value;
    emitter.emit('listening', value);
  }

  function schedule(delayMs) {
    clearTimeout(timer);
    timer = setTimeout(startNow, delayMs);
  }

  function startNow() {
    if (!wanted || suspended || fatal || document.hidden) return;
    if (running) {
      // A live session, or an aborted one whose `end` is still to come (only `end` may restart it).
      if (!abortedAt) return;
      if (performance.now() - abortedAt < END_GRACE_MS) {
        schedule(END_GRACE_MS);
        return;
      }
      dropEngine();
    }
    engine ??= createEngine();
    abortedAt = 0;
    // Set before start(): an engine may fire start, or even end, synchronously inside it.
    running = true;
    sessionStartedAt = performance.now();
    sessionHadResult = false;
    sessionHadError = false;
    finalTexts = [];
    try {
      engine.start();
    } catch (error) {
      running = false;
      if (error?.name === 'InvalidStateError') {
        // The engine believes it is still started (a known mobile quirk): drop the instance, use a new one.
        dropEngine();
        backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
        schedule(backoffMs);
        return;
      }
      fail('start-failed', true);
    }
  }

  function createEngine() {
    const rec = new Recognition();
    rec.lang = lang;
    rec.continuous = true;
    rec.interimResults = true;
    rec.maxAlternatives = 1;
    const mine = (fn) => (event) => {
      if (rec === engine) fn(event);
    };
    listen(
      rec,
      'start',
      mine(() => setCapturing(true)),
    );
    listen(
      rec,
      'audiostart',
      mine(() => setCapturing(true)),
    );
    listen(rec, 'result', mine(onResult));
    listen(
      rec,
      'error',
      mine((event) => onError(event.error)),
    );
    listen(rec, 'end', mine(onEnd));
    return rec;
  }

  function onEnd() {
    running = false;
    abortedAt = 0;
    setCapturing(false);
    if (!wanted || suspended || fatal) return;
    // A session that ended at once, with no result and no error, is failing quietly: back off as for an error.
    const short = performance.now() - sessionStartedAt < SHORT_SESSION_MS && !sessionHadResult && !sessionHadError;
    if (short) backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
    // Sessions end on their own after silence or about a minute: restart, only from here.
    schedule(backoffMs);
  }

  function dropEngine() {
    const rec = engine;
    engine = null;
    running = false;
    setCapturing(false);
    if (!rec) return;
    unlisten(rec, ['start', 'audiostart', 'result', 'error', 'end']);
    try {
      rec.abort();
    } catch {
      // Already stopped.
    }
  }

  function onResult(event) {
    sessionHadResult = true;
    setCapturing(true);
    backoffMs = FIRST_BACKOFF_MS;
    networkFailures = 0;
    const results = event.results ?? [];
    // Finals from resultIndex on are new. An engine that reports a final again (Chrome Android) repeats its
    // index and text, so each (index, text) pair is sent once.
    for (let i = Math.max(0, event.resultIndex ?? 0); i < results.length; i++) {
      const result = results[i];
      const text = result?.[0]?.transcript?.trim() ?? '';
      if (!result?.isFinal || !text || finalTexts[i] === text) continue;
      finalTexts[i] = text;
      emitter.emit('final', { text, confidence: result[0].confidence });
    }
    let interim = '';
    let interimConfidence = 0;
    for (let i = 0; i < results.length; i++) {
      const result = results[i];
      if (result?.isFinal || !result?.[0]) continue;
      interim += result[0].transcript;
      interimConfidence = result[0].confidence;
    }
    emitter.emit('interim', { text: interim.trim(), confidence: interimConfidence });
  }

  function onError(code) {
    sessionHadError = true;
    if (FATAL.has(code)) return fail(code, true);
    if (code === 'network') {
      networkFailures += 1;
      if (networkFailures >= MAX_NETWORK_FAILURES) return fail(code, true);
      backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
      return fail(code, false);
    }
    // no-speech and aborted are routine; anything else may be transient. `end` follows and restarts.
    if (code !== 'no-speech' && code !== 'aborted') backoffMs = Math.min(backoffMs * 2, MAX_BACKOFF_MS);
  }

  function fail(code, isFatal) {
    if (isFatal) {
      fatal = code;
      wanted = false;
      clearTimeout(timer);
    }
    emitter.emit('failure', { code, fatal: isFatal });
  }

  function abortEngine() {
    clearTimeout(timer);
    if (!engine || !running) return;
    abortedAt ||= performance.now();
    try {
      engine.abort();
    } catch {
      // Not started after all.
    }
  }

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) abortEngine();
    else if (wanted && !suspended) schedule(0);
  });

  return {
    on: emitter.on,
    supported: Recognition !== null,
    /** The user wants to talk: listen now (and keep listening), unless the mic is suspended. */
    start() {
      if (!Recognition) return;
      wanted = true;
      fatal = null;
      networkFailures = 0;
      backoffMs = FIRST_BACKOFF_MS;
      // Synchronously, inside the click: Safari only starts recognition from a user gesture.
      clearTimeout(timer);
      startNow();
    },
    /** The user stopped listening. */
    stop() {
      wanted = false;
      abortEngine();
    },
    /** Closes the mic for a while (half-duplex: the assistant is speaking) without forgetting the wish. */
    suspend() {
      if (suspended) return;
      suspended = true;
      abortEngine();
    },
    /** Reopens the mic after `delayMs` if the user still wants to listen. */
    resume(delayMs = 0) {
      if (!suspended) return;
      suspended = false;
      if (wanted) schedule(delayMs);
    },
    get wanted() {
      return wanted;
    },
    get listening() {
      return capturing;
    },
    get fatal() {
      return fatal;
    },
  };
}
