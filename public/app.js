// Wires the page together: finds the elements, creates the modules and connects their events, plus the
// Talk, Stop and Send controls. Behaviour lives in the modules; each one's header says what it owns.
import { createConnection } from './connection.js';
import { createConversationLog } from './conversation-log.js';
import { createConversation } from './conversation.js';
import { bindNewConversation } from './new-conversation.js';
import { createRecognizer } from './recognition.js';
import { createReplyFeedback } from './reply-feedback.js';
import { createSessionLink } from './session-link.js';
import { createSettingsPanel } from './settings-panel.js';
import { loadSettings } from './settings.js';
import { bindShortcuts } from './shortcuts.js';
import { createSpeaker } from './speaker.js';
import { deriveState } from './state.js';
import { createStatusView } from './status-view.js';
import { createTurnDetection } from './turn-detection.js';
import { createTurnTaking } from './turn-taking.js';
import { loadVoices, watchVoices } from './voices.js';

const $ = (id) => document.getElementById(id);
const lang = navigator.language || 'en-US';
const settings = loadSettings();
const talk = $('talk');
const settingsPanel = document.querySelector('.settings');
const stop = $('stop');
const input = $('text');

const view = createStatusView({
  body: document.body,
  state: $('state'),
  stateLabel: $('state-label'),
  stateHint: $('state-hint'),
  interim: $('interim'),
  connection: $('connection'),
  connectionText: $('connection-text'),
  retry: $('reconnect'),
  banner: $('banner'),
  bannerClose: $('banner-close'),
  notice: $('notice'),
});
const log = createConversationLog({ list: $('log'), scroller: $('conversation'), empty: $('empty') });

const synth = window.speechSynthesis ?? null;
const voicesReady = loadVoices(synth);
const speaker = createSpeaker({ synth, Utterance: window.SpeechSynthesisUtterance ?? null, voicesReady, lang });

// Relative, so the page also works behind a reverse proxy that serves the gateway under a path prefix.
const socketUrl = new URL('v1/voice', window.location.href);
socketUrl.protocol = socketUrl.protocol === 'https:' ? 'wss:' : 'ws:';
const connection = createConnection({ url: socketUrl.href, token: () => settings.token });
const link = createSessionLink(connection);
const conversation = createConversation({ link, speaker, log });
createReplyFeedback({ link, log }); // after the conversation: it decorates the replies the conversation shows
const recognizer = createRecognizer({ lang });
const turnDetection = createTurnDetection({ link, settings });

const turnTaking = createTurnTaking({
  recognizer,
  speaker,
  conversation,
  showInterim: (text) => view.showInterim(text),
  isHandsFree: () => settings.handsFree,
});
const panel = createSettingsPanel({
  controls: {
    voice: $('voice'),
    rate: $('rate'),
    rateValue: $('rate-value'),
    speakReplies: $('speak-replies'),
    handsFree: $('hands-free'),
    answerOnPause: $('answer-on-pause'),
    token: $('token'),
  },
  settings,
  speaker,
  lang,
  onChange: () => {
    turnTaking.update();
    turnDetection.sync();
    refresh();
  },
  onTokenChange: () => {
    clearNotice('refused');
    connection.restart();
  },
});

let connected = false;

const notify = (source, text) => view.setNotice(source, text);
const clearNotice = (source) => view.setNotice(source, '');

function refresh() {
  view.setState(
    deriveState({
      connected,
      listening: recognizer.listening,
      awaitingReply: conversation.awaitingReply,
      speaking: speaker.busy,
    }),
  );
  stop.setAttribute('aria-disabled', String(!conversation.canStop));
  talk.setAttribute('aria-pressed', String(recognizer.wanted));
}

// Voices

let voiceCount = 0;
void voicesReady.then((voices) => {
  voiceCount = voices.length;
  panel.setVoices(voices);
});
watchVoices(synth, (voices) => {
  if (voices.length === 0) return;
  voiceCount = voices.length;
  panel.setVoices(voices);
});
if (!speaker.available) notify('speech', 'This browser cannot speak, so replies are shown as text only.');

// Connection

connection.on('status', ({ state, retryInMs }) => {
  if (state === 'waiting') {
    connected = false;
    view.setConnection({ state: 'waiting', retryInMs });
  } else if (state === 'connecting' && !connected) {
    view.setConnection({ state: 'connecting' });
  }
  refresh();
});
link.on('session', ({ ready }) => {
  connected = true;
  clearNotice('refused');
  view.setConnection({ state: 'connected', model: ready.model });
  view.showBanner(ready.upstream === 'simulator');
  if (ready.limits?.maxTurnChars) input.maxLength = ready.limits.maxTurnChars;
  refresh();
});
/** GET /v1/info: protocol version and whether a gateway token is needed; null when unavailable. */
async function fetchInfo() {
  try {
    const response = await window.fetch('v1/info', { cache: 'no-store' });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function askForToken(text) {
  notify('refused', text);
  settingsPanel.open = true;
  $('token').focus();
}

connection.on('bad-token', () => {
  view.setConnection({ state: 'needs-token' });
  askForToken(
    'That access token has characters a browser cannot send (spaces, commas or quotes). Check it under “Voice and listening”.',
  );
});
// The socket never opened, twice. Browsers cannot see why; /v1/info tells whether a token is the reason.
connection.on('refused', async () => {
  const info = await fetchInfo();
  if (!info || connected) return; // down, or back already: the connection status says so
  if (info.tokenRequired)
    askForToken('The server did not accept the access token. Check it under “Voice and listening”.');
  else
    notify(
      'refused',
      'The server is up but refused the voice connection: this page’s address may not be allowed, or it is busy.',
    );
});
$('reconnect').addEventListener('click', () => connection.reconnectNow());
window.addEventListener('online', () => connection.reconnectNow());

// Listening

const RECOGNITION_PROBLEMS = {
  'not-allowed':
    'Microphone access is blocked. Allow it in the browser’s site settings and press Talk again, or type below.',
  'service-not-allowed': 'Speech recognition is turned off in this browser. Type your message below instead.',
  'audio-capture': 'No microphone was found. Connect one and press Talk again, or type below.',
  'language-not-supported': `Speech recognition does not support your language (${lang}). Type your message below instead.`,
  network: 'Speech recognition cannot reach its online service in this browser. Type your message below instead.',
  'start-failed': 'Speech recognition could not start. Type your message below instead.',
};

if (!recognizer.supported) {
  talk.disabled = true;
  notify(
    'recognition',
    'Speech recognition is not available in this browser (it works in Chrome, Edge and Safari). Type your message below; replies are still read aloud.',
  );
}
recognizer.on('listening', (on) => {
  if (on) clearNotice('recognition');
  refresh();
});
recognizer.on('failure', ({ code, fatal }) => {
  if (!fatal) return;
  notify('recognition', RECOGNITION_PROBLEMS[code] ?? RECOGNITION_PROBLEMS['start-failed']);
  if (document.activeElement === talk || document.activeElement === document.body) input.focus();
  refresh();
});

talk.addEventListener('click', () => {
  if (conversation.assistantHasFloor) {
    // Talk while the assistant speaks means "let me talk": a barge-in that leaves the mic on.
    conversation.bargeIn();
    if (!recognizer.wanted) recognizer.start();
  } else if (recognizer.wanted) {
    recognizer.stop();
  } else {
    recognizer.start();
  }
  turnTaking.update();
  refresh();
});

// Speaking

speaker.on('start', refresh);
speaker.on('idle', refresh);
speaker.on('blocked', () =>
  notify(
    'audio',
    'The browser is holding the reply’s audio until you interact with the page. Click anywhere or press a key to hear it.',
  ),
);
speaker.on('failure', ({ inRow }) => {
  if (voiceCount === 0) notify('speech', 'This browser has no speech voices, so replies are shown as text only.');
  else if (inRow >= 3) notify('speech', 'Speech output is not working in this browser, so replies are shown as text.');
});
// Browsers only play audio after a user gesture; iOS needs a speak() inside one (autoplay policy; iOS Safari ignores speechSynthesis.speak() outside a gesture).
const unlock = () => {
  speaker.unlock();
  clearNotice('audio');
};
document.addEventListener('pointerdown', unlock, true);
document.addEventListener('keydown', unlock, true);

// Turns and interruptions

conversation.on('change', refresh);
conversation.on('notice', (text) => notify('send', text));

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  if (conversation.sendTurn(input.value, 'text')) {
    input.value = '';
    clearNotice('send');
  }
});
stop.addEventListener('click', () => {
  conversation.bargeIn();
  refresh();
});
bindShortcuts({ canStop: () => conversation.canStop, stop: () => conversation.bargeIn() });
bindNewConversation({
  button: $('new-conversation'),
  conversation,
  link,
  connection,
  log,
  onStart: () => {
    clearNotice('send');
    refresh();
  },
});

refresh();
// Connect, unless the server needs a token we do not have yet (then entering it connects).
void fetchInfo().then((info) => {
  if (info?.tokenRequired && !settings.token) {
    view.setConnection({ state: 'needs-token' });
    askForToken('This server requires an access token. Enter it under “Voice and listening” to connect.');
    return;
  }
  connection.connect();
});
