// Browser-side fakes of SpeechRecognition and speechSynthesis for the browser tests, installed with
// page.addInitScript before the page's own scripts, plus the test driver `window.__speechTest`. Behaves like
// Chromium where it matters: start() twice throws, abort() gives error "aborted" then end, cancel() interrupts
// the head utterance and drops queued ones without any event. Configure with window.__speechTestConfig.
/* global window, performance, setTimeout, clearTimeout, EventTarget, Event, DOMException */
(() => {
  const config = {
    recognition: true,
    synthesis: true,
    voicesDelayMs: 20,
    voices: [
      { name: 'Test Voice (local)', lang: 'en-US', voiceURI: 'test-local-en', localService: true, default: true },
      { name: 'Test Voice UK', lang: 'en-GB', voiceURI: 'test-uk', localService: true, default: false },
      { name: 'Test Voice Online', lang: 'en-US', voiceURI: 'test-online', localService: false, default: false },
    ],
    /** 0: utterances wait for finishCurrentUtterance(); n > 0: each ends after n ms per character. */
    autoFinishMsPerChar: 0,
    /** In auto mode, fire a word boundary at each word start. */
    autoBoundaries: false,
    ...(window.__speechTestConfig ?? {}),
  };

  const log = [];
  const driver = { config, log };
  window.__speechTest = driver;

  const emit = (target, type, props = {}) => {
    const event = Object.assign(new Event(type), props);
    target.dispatchEvent(event);
    const handler = target[`on${type}`];
    if (typeof handler === 'function') handler.call(target, event);
  };
  const later = (fn, ms = 0) => setTimeout(fn, ms);
  /** Like Object.assign, but keeps getters as getters. */
  const extend = (target, source) => Object.defineProperties(target, Object.getOwnPropertyDescriptors(source));

  // ---------------------------------------------------------------- recognition

  if (config.recognition) {
    const instances = [];
    let startCalls = 0;
    let doubleStarts = 0;

    class FakeSpeechRecognition extends EventTarget {
      constructor() {
        super();
        this.lang = '';
        this.continuous = false;
        this.interimResults = false;
        this.maxAlternatives = 1;
        this._state = 'idle'; // idle → starting → listening → ending → idle
        this._results = [];
        instances.push(this);
      }

      start() {
        if (this._state !== 'idle') {
          doubleStarts += 1;
          log.push(['sr.start-while-started']);
          throw new DOMException('recognition has already started', 'InvalidStateError');
        }
        startCalls += 1;
        this._state = 'starting';
        this._results = [];
        log.push(['sr.start', this.lang, this.continuous, this.interimResults]);
        later(() => {
          if (this._state !== 'starting') return;
          this._state = 'listening';
          emit(this, 'start');
          emit(this, 'audiostart');
        });
      }

      stop() {
        log.push(['sr.stop']);
        if (this._state === 'idle' || this._state === 'ending') return;
        const last = this._results.at(-1);
        if (last && !last.isFinal) this._hear(last[0].transcript, true, 0.9);
        this._end();
      }

      abort() {
        log.push(['sr.abort']);
        if (this._state === 'idle' || this._state === 'ending') return;
        this._state = 'ending';
        later(() => {
          emit(this, 'error', { error: 'aborted', message: '' });
          this._finish();
        });
      }

      _end() {
        this._state = 'ending';
        later(() => this._finish());
      }

      _finish() {
        this._state = 'idle';
        emit(this, 'audioend');
        emit(this, 'end');
      }

      _fail(code) {
        if (this._state === 'idle' || this._state === 'ending') return;
        this._state = 'ending';
        emit(this, 'error', { error: code, message: '' });
        later(() => this._finish());
      }

      _hear(transcript, isFinal, confidence) {
        if (this._state !== 'listening') throw new Error(`the fake recogniser is not listening (${this._state})`);
        const last = this._results.at(-1);
        if (last && !last.isFinal) this._results.pop(); // a new hypothesis replaces the interim one
        if (!isFinal && !this.interimResults) return;
        const result = Object.assign([{ transcript, confidence }], {
          isFinal,
          item(i) {
            return this[i] ?? null;
          },
        });
        this._results.push(result);
        const results = Object.assign([...this._results], {
          item(i) {
            return this[i] ?? null;
          },
        });
        emit(this, 'result', { resultIndex: this._results.length - 1, results });
        if (isFinal && !this.continuous) this._end();
      }
    }

    const active = () => instances.find((r) => r._state === 'listening') ?? null;
    const need = () => {
      const rec = active();
      if (!rec) throw new Error('no fake recogniser is listening');
      return rec;
    };

    window.SpeechRecognition = FakeSpeechRecognition;
    window.webkitSpeechRecognition = FakeSpeechRecognition;

    extend(driver, {
      get listening() {
        return active() !== null;
      },
      get startCalls() {
        return startCalls;
      },
      get doubleStarts() {
        return doubleStarts;
      },
      /** Says `text`: interim hypotheses word by word (unless interim is false), then the final result. */
      say(text, { interim = true, confidence = 0.92 } = {}) {
        const rec = need();
        if (interim) {
          const words = text.split(/\s+/);
          for (let i = 1; i < words.length; i++) rec._hear(words.slice(0, i).join(' '), false, 0);
        }
        rec._hear(text, true, confidence);
      },
      interim(text, confidence = 0) {
        need()._hear(text, false, confidence);
      },
      final(text, confidence = 0.92) {
        need()._hear(text, true, confidence);
      },
      /** The engine reports an error (no-speech, network, not-allowed, …), then ends. */
      recognitionError(code) {
        need()._fail(code);
      },
      /** The engine ends on its own (silence, or its ~60 s limit). */
      endRecognition() {
        need()._end();
      },
    });
  } else {
    delete window.SpeechRecognition;
    delete window.webkitSpeechRecognition;
  }

  // ---------------------------------------------------------------- synthesis

  if (!config.synthesis) {
    Object.defineProperty(window, 'speechSynthesis', { configurable: true, value: undefined });
    delete window.SpeechSynthesisUtterance;
    return;
  }

  class FakeUtterance extends EventTarget {
    constructor(text = '') {
      super();
      this.text = String(text);
      this.lang = '';
      this.voice = null;
      this.volume = 1;
      this.rate = 1;
      this.pitch = 1;
    }
  }

  const synth = new EventTarget();
  const queue = [];
  const spoken = [];
  let voicesLoaded = false;
  let paused = false;
  let cancels = 0;
  let maxQueued = 0;
  let autoTimers = [];

  const isBlank = (u) => u.text.trim() === '';
  const clearAuto = () => {
    autoTimers.forEach(clearTimeout);
    autoTimers = [];
  };

  function settle(u, type, props, result) {
    if (u.__record) {
      u.__record.result = result;
      u.__record.endedAt = performance.now();
    }
    emit(u, type, { utterance: u, charIndex: 0, elapsedTime: 0, name: '', ...props });
  }

  function startNext() {
    const u = queue[0];
    if (!u || u.__started || paused) return;
    u.__started = true;
    later(() => {
      if (queue[0] !== u) return;
      if (isBlank(u)) {
        // The page's audio-unlock utterance: over at once, and not part of `spoken`.
        log.push(['tts.blank']);
        emit(u, 'start', { utterance: u, charIndex: 0 });
        queue.shift();
        settle(u, 'end', { charIndex: u.text.length }, 'ended');
        startNext();
        return;
      }
      u.__record = {
        text: u.text,
        lang: u.lang,
        voice: u.voice?.name ?? null,
        rate: u.rate,
        volume: u.volume,
        startedAt: performance.now(),
        endedAt: null,
        result: 'speaking',
        boundaries: [],
      };
      spoken.push(u.__record);
      log.push(['tts.start', u.text]);
      emit(u, 'start', { utterance: u, charIndex: 0 });
      if (config.autoFinishMsPerChar > 0) scheduleAuto(u);
    });
  }

  function scheduleAuto(u) {
    const perChar = config.autoFinishMsPerChar;
    if (config.autoBoundaries) {
      const re = /\S+/g;
      let m;
      while ((m = re.exec(u.text)) !== null) {
        const { index } = m;
        const length = m[0].length;
        autoTimers.push(later(() => queue[0] === u && driver.boundary(index, length), index * perChar));
      }
    }
    autoTimers.push(later(() => queue[0] === u && driver.finishCurrentUtterance(), u.text.length * perChar));
  }

  Object.defineProperties(synth, {
    speaking: { get: () => Boolean(queue[0]?.__started) },
    pending: { get: () => queue.length > (queue[0]?.__started ? 1 : 0) },
    paused: { get: () => paused },
  });
  synth.onvoiceschanged = null;
  synth.getVoices = () => (voicesLoaded ? config.voices.map((v) => ({ ...v })) : []);
  synth.speak = (u) => {
    if (!(u instanceof FakeUtterance)) throw new TypeError('speak() needs a SpeechSynthesisUtterance');
    log.push(['tts.speak', u.text]);
    queue.push(u);
    maxQueued = Math.max(maxQueued, queue.filter((q) => !isBlank(q)).length);
    startNext();
  };
  synth.cancel = () => {
    // Like Chromium: the queue is cleared first; the speaking head gets error "interrupted", the rest nothing.
    cancels += 1;
    log.push(['tts.cancel']);
    clearAuto();
    const head = queue[0];
    for (const u of queue.slice(1)) if (u.__record) u.__record.result = 'dropped';
    queue.length = 0;
    if (head?.__started) {
      if (head.__record) {
        head.__record.result = 'interrupted';
        head.__record.endedAt = performance.now();
      }
      later(() => emit(head, 'error', { utterance: head, error: 'interrupted', charIndex: 0 }));
    }
  };
  synth.pause = () => {
    paused = true;
  };
  synth.resume = () => {
    paused = false;
    startNext();
  };

  later(() => {
    voicesLoaded = true;
    emit(synth, 'voiceschanged');
  }, config.voicesDelayMs);

  Object.defineProperty(window, 'speechSynthesis', { configurable: true, get: () => synth });
  window.SpeechSynthesisUtterance = FakeUtterance;

  const head = () => (queue[0]?.__started && queue[0].__record ? queue[0] : null);

  extend(driver, {
    /** Every non-blank utterance that started: { text, rate, voice, startedAt, endedAt, result, boundaries }. */
    spoken,
    get current() {
      return head()?.text ?? null;
    },
    get queued() {
      return queue.map((u) => u.text);
    },
    /** The most non-blank utterances ever waiting in the synthesiser at once (the page should hand over one). */
    get maxQueued() {
      return maxQueued;
    },
    get cancels() {
      return cancels;
    },
    /** Switches auto-finishing on (ms per char > 0) or off (0); applies to the current utterance too. */
    setAutoFinish(msPerChar, boundaries = config.autoBoundaries) {
      config.autoFinishMsPerChar = msPerChar;
      config.autoBoundaries = boundaries;
      clearAuto();
      const u = head();
      if (u && msPerChar > 0) scheduleAuto(u);
    },
    /** Fires a word boundary on the current utterance; false if nothing is speaking. */
    boundary(charIndex, charLength = 0) {
      const u = head();
      if (!u) return false;
      u.__record.boundaries.push(charIndex);
      emit(u, 'boundary', { utterance: u, charIndex, charLength, name: 'word', elapsedTime: 0 });
      return true;
    },
    /** Ends the current utterance normally; the next queued one starts. False if nothing is speaking. */
    finishCurrentUtterance() {
      const u = head();
      if (!u) return false;
      queue.shift();
      settle(u, 'end', { charIndex: u.text.length }, 'ended');
      startNext();
      return true;
    },
    /** Fails the current utterance with `error` (synthesis-failed, not-allowed, …). */
    failCurrentUtterance(error = 'synthesis-failed') {
      const u = head();
      if (!u) return false;
      queue.shift();
      settle(u, 'error', { error }, error);
      startNext();
      return true;
    },
  });
})();
