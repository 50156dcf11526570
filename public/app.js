// The thin demo page: sends typed turns over /v1/voice, shows the reply as it streams and speaks each
// response.speech segment in order. Barge-in (Stop / Esc) stops speech and tells the server what was heard.
const statusEl = document.getElementById('status');
const bannerEl = document.getElementById('banner');
const logEl = document.getElementById('log');
const form = document.getElementById('composer');
const input = document.getElementById('text');
const stopButton = document.getElementById('stop');

let socket = null;
let reconnectDelayMs = 500;
let current = null; // { responseId, el, textEl, spokenChars, speaking }

function setStatus(state, text) {
  statusEl.dataset.state = state;
  statusEl.textContent = text;
}

function addEntry(role, text) {
  const li = document.createElement('li');
  li.className = role;
  const textEl = document.createElement('span');
  textEl.textContent = text;
  li.append(textEl);
  logEl.append(li);
  li.scrollIntoView({ block: 'end' });
  return { el: li, textEl };
}

function connect() {
  const url = new URL('/v1/voice', location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  socket = new WebSocket(url);
  setStatus('connecting', 'Connecting…');
  socket.addEventListener('open', () => { reconnectDelayMs = 500; });
  socket.addEventListener('message', (message) => onEvent(JSON.parse(message.data)));
  socket.addEventListener('close', () => {
    setStatus('offline', `Disconnected; retrying in ${Math.round(reconnectDelayMs / 1000)} s`);
    setTimeout(connect, reconnectDelayMs);
    reconnectDelayMs = Math.min(reconnectDelayMs * 2, 10_000);
  });
}

function onEvent(event) {
  switch (event.type) {
    case 'session.ready':
      setStatus('connected', `Connected · ${event.model}`);
      bannerEl.hidden = event.upstream !== 'simulator';
      bannerEl.textContent = 'Offline simulator: the server has no ASI_ONE_API_KEY, so replies come from the built-in simulator, not asi1-mini.';
      break;
    case 'response.created':
      current = { responseId: event.responseId, ...addEntry('assistant', ''), spokenChars: 0, queue: 0 };
      stopButton.disabled = false;
      break;
    case 'response.delta':
      if (current?.responseId === event.responseId) current.textEl.textContent += event.text;
      break;
    case 'response.speech':
      if (current?.responseId === event.responseId) speak(current, event.text);
      break;
    case 'response.done':
      if (current?.responseId === event.responseId) {
        if (event.status !== 'completed') current.el.classList.add(event.status);
        const t = event.timings;
        const timings = document.createElement('span');
        timings.className = 'timings';
        timings.textContent = `first token ${t.firstTokenMs ?? '–'} ms · first speech ${t.firstSpeechMs ?? '–'} ms`;
        current.el.append(timings);
        if (current.queue === 0) stopButton.disabled = true;
      }
      break;
    case 'error':
      addEntry('error', `${event.code}: ${event.message}`);
      break;
  }
}

function speak(reply, text) {
  if (!('speechSynthesis' in window)) return;
  const utterance = new SpeechSynthesisUtterance(text);
  reply.queue += 1;
  utterance.addEventListener('end', () => {
    reply.spokenChars += text.length;
    reply.queue -= 1;
    if (reply === current && reply.queue === 0) stopButton.disabled = true;
  });
  speechSynthesis.speak(utterance);
}

function bargeIn() {
  if (!current) return;
  speechSynthesis?.cancel();
  socket?.send(JSON.stringify({ type: 'response.cancel', responseId: current.responseId, heardChars: current.spokenChars }));
  stopButton.disabled = true;
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || socket?.readyState !== WebSocket.OPEN) return;
  if (current && current.queue > 0) bargeIn();
  addEntry('user', text);
  socket.send(JSON.stringify({ type: 'turn', text }));
  input.value = '';
});
stopButton.addEventListener('click', bargeIn);
document.addEventListener('keydown', (e) => { if (e.key === 'Escape') bargeIn(); });

connect();
