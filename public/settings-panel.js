// The settings panel: voice and speed pickers, speak-replies, hands-free and answer-on-pause switches, the
// gateway token. Shows the saved choices, applies changes to the speaker and remembers them. Owns those controls only.
import { saveSettings } from './settings.js';
import { chooseVoice, describeVoice, sortVoices } from './voices.js';

export function createSettingsPanel({ controls, settings, speaker, lang, onChange, onTokenChange }) {
  const { voice: voiceSelect, rate, rateValue, speakReplies, handsFree, answerOnPause, token } = controls;
  let voices = [];

  function save() {
    saveSettings(settings);
    onChange(settings);
  }

  function showRate() {
    rateValue.textContent = `${Number(settings.rate).toFixed(1)}×`;
  }

  rate.value = String(settings.rate);
  showRate();
  speaker.setRate(settings.rate);
  speakReplies.checked = settings.speakReplies;
  speaker.setEnabled(settings.speakReplies);
  handsFree.checked = settings.handsFree;
  answerOnPause.checked = settings.answerOnPause;
  token.value = settings.token;

  rate.addEventListener('input', () => {
    settings.rate = Number(rate.value);
    speaker.setRate(settings.rate);
    showRate();
    save();
  });
  speakReplies.addEventListener('change', () => {
    settings.speakReplies = speakReplies.checked;
    speaker.setEnabled(settings.speakReplies);
    save();
  });
  handsFree.addEventListener('change', () => {
    settings.handsFree = handsFree.checked;
    save();
  });
  answerOnPause.addEventListener('change', () => {
    settings.answerOnPause = answerOnPause.checked;
    save();
  });
  token.addEventListener('change', () => {
    settings.token = token.value.trim();
    save();
    onTokenChange();
  });
  voiceSelect.addEventListener('change', () => {
    const chosen = voices[Number(voiceSelect.value)] ?? null;
    settings.voiceName = chosen?.name ?? '';
    settings.voiceLang = chosen?.lang ?? '';
    speaker.setVoice(chosen);
    save();
  });

  return {
    /** Fills the voice picker (again, when the browser's list changes) and applies the chosen voice. */
    setVoices(list) {
      voices = sortVoices(list, lang);
      voiceSelect.replaceChildren();
      if (voices.length === 0) {
        voiceSelect.append(new window.Option('No voices available', ''));
        voiceSelect.disabled = true;
        speaker.setVoice(null);
        return;
      }
      const chosen = chooseVoice(voices, settings, lang);
      voices.forEach((v, i) => voiceSelect.append(new window.Option(describeVoice(v), String(i), false, v === chosen)));
      voiceSelect.disabled = false;
      speaker.setVoice(chosen);
    },
  };
}
