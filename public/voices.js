// Voices: waits for speechSynthesis voices to load (getVoices, voiceschanged, polling, a timeout), orders them
// for the picker and chooses the remembered or the best default voice. Owns voice choice, not speaking.
// Voices load asynchronously; Safari < 16 has no voiceschanged and some Linux builds have none at all (§2.2).

/** Resolves with the voice list once it is non-empty, or with whatever there is after `timeoutMs`. */
export function loadVoices(synth, { timeoutMs = 1_500, pollMs = 100 } = {}) {
  if (typeof synth?.getVoices !== 'function') return Promise.resolve([]);
  return new Promise((resolve) => {
    let poll = 0;
    let timeout = 0;
    const check = () => {
      const voices = synth.getVoices();
      if (voices.length === 0) return false;
      done(voices);
      return true;
    };
    const done = (voices) => {
      clearInterval(poll);
      clearTimeout(timeout);
      synth.removeEventListener?.('voiceschanged', check);
      resolve(voices);
    };
    if (check()) return;
    synth.addEventListener?.('voiceschanged', check);
    poll = setInterval(check, pollMs);
    timeout = setTimeout(() => done(synth.getVoices()), timeoutMs);
  });
}

/** Calls `fn(voices)` whenever the browser's voice list changes later (voices installed, language packs). */
export function watchVoices(synth, fn) {
  if (typeof synth?.getVoices === 'function') synth.addEventListener?.('voiceschanged', () => fn(synth.getVoices()));
}

/** `en_US`, `EN-us` → `en-us` (Android uses underscores; casing varies). */
export function normaliseLang(lang) {
  return String(lang ?? '')
    .replace(/_/g, '-')
    .toLowerCase();
}

function langScore(voice, preferred) {
  const lang = normaliseLang(voice.lang);
  const want = normaliseLang(preferred);
  if (lang === want) return 2;
  if (lang.split('-')[0] === want.split('-')[0]) return 1;
  return 0;
}

/** Voices for the picker: the user's language first, local (offline) voices before online ones, then by name. */
export function sortVoices(voices, preferredLang) {
  return [...voices].sort(
    (a, b) =>
      langScore(b, preferredLang) - langScore(a, preferredLang) ||
      Number(b.localService) - Number(a.localService) ||
      a.name.localeCompare(b.name),
  );
}

/**
 * The saved voice if it still exists, else the best voice for `preferredLang`: local voices first, since
 * they work offline, report word boundaries more often and avoid Chrome's ~15 s cut-off of online voices.
 */
export function chooseVoice(voices, { voiceName, voiceLang }, preferredLang) {
  if (voices.length === 0) return null;
  if (voiceName) {
    const saved =
      voices.find((v) => v.name === voiceName && (!voiceLang || v.lang === voiceLang)) ??
      voices.find((v) => v.name === voiceName);
    if (saved) return saved;
  }
  const sorted = sortVoices(voices, preferredLang);
  const first = sorted[0];
  if (langScore(first, preferredLang) === 0) return voices.find((v) => v.default) ?? first;
  return (
    sorted.find(
      (v) => v.default && langScore(v, preferredLang) === langScore(first, preferredLang) && v.localService,
    ) ?? first
  );
}

/** The picker label: name, language and whether it needs the network. */
export function describeVoice(voice) {
  return `${voice.name} (${voice.lang})${voice.localService ? '' : ' · online'}`;
}
