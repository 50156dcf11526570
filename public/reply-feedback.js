// Under each reply in the log (protocol 1.3): which model answered it (response.done.models: two after a hand-off
// to a deeper model) and thumbs up / down. A rating goes out as `feedback` and shows as pressed once the server
// confirms it with feedback.received; a reply the server no longer keeps (GW_UNKNOWN_RESPONSE) gets a quiet
// note. Adds to the log's replies (conversation-log.js); the turns themselves are conversation.js's.
import { icon } from './conversation-log.js';

/** Replies the user can rate: heard, whole or in part. */
const RATABLE = new Set(['completed', 'interrupted']);
const RATINGS = [
  { rating: 'up', label: 'Good answer' },
  { rating: 'down', label: 'Bad answer' },
];
const NOTES = {
  GW_UNKNOWN_RESPONSE: 'The server no longer has this reply, so it cannot be rated.',
  offline: 'Not connected: your rating was not sent. Try again in a moment.',
  refused: 'Your rating was not saved.',
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "asi1-mini", or "asi1-mini → asi1" when the reply was handed to a deeper model. */
export function modelLabel(models) {
  const label = el('span', 'model');
  const deeper = models.at(-1);
  const handedOff = models.length > 1;
  label.classList.toggle('handed-off', handedOff);
  label.title = handedOff ? `Handed to ${deeper} for a deeper answer` : `Answered by ${deeper}`;
  const shown = el('span', 'model-name', models.join(' → '));
  shown.setAttribute('aria-hidden', 'true');
  const spoken = handedOff
    ? `: answered by ${models.slice(0, -1).join(', ')}, handed to ${deeper} for a deeper answer`
    : `: answered by ${deeper}`;
  label.append(shown, el('span', 'visually-hidden', spoken));
  return label;
}

/** Thumbs up and down for one reply; `rate(rating)` sends. The pressed state follows confirm(). */
function ratingControls(rate) {
  const root = el('span', 'feedback');
  const group = el('span', 'rating');
  group.setAttribute('role', 'group');
  group.setAttribute('aria-label', 'Rate this reply');
  const note = el('span', 'rating-note');
  note.setAttribute('role', 'status');
  const buttons = RATINGS.map(({ rating, label }) => {
    const button = el('button', `thumb ${rating}`);
    button.type = 'button';
    button.dataset.rating = rating;
    button.title = label;
    button.setAttribute('aria-label', label);
    button.setAttribute('aria-pressed', 'false');
    button.append(icon('thumb'));
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') !== 'true') rate(rating);
    });
    return button;
  });
  group.append(...buttons);
  root.append(group, note);

  let confirmed = null;
  let pending = null;
  const render = () => {
    for (const button of buttons) {
      button.setAttribute('aria-pressed', String(button.dataset.rating === confirmed));
      button.classList.toggle('pending', button.dataset.rating === pending && pending !== confirmed);
    }
  };
  return {
    root,
    get confirmed() {
      return confirmed;
    },
    get pending() {
      return pending;
    },
    sending(rating) {
      pending = rating;
      note.textContent = '';
      render();
    },
    confirm(rating) {
      confirmed = rating;
      if (pending === rating) pending = null;
      render();
    },
    /** The rating did not go through: says why, quietly; `gone`: the server cannot take one for this reply. */
    fail(text, gone = false) {
      pending = null;
      note.textContent = text;
      if (gone) for (const button of buttons) button.setAttribute('aria-disabled', 'true');
      render();
    },
  };
}

export function createReplyFeedback({ link, log }) {
  let minor = 0;
  let counter = 0;
  const decorated = new Set(); // responseIds whose label and buttons are in place (replays come again)
  const sent = new Map(); // eventId → { controls, rating }, until the server answers

  function rate(responseId, controls, rating) {
    if (controls.pending === rating || (controls.pending === null && controls.confirmed === rating)) return;
    const eventId = `feedback-${++counter}`;
    if (!link.send({ type: 'feedback', responseId, rating, eventId })) {
      controls.fail(NOTES.offline);
      return;
    }
    sent.set(eventId, { controls, rating });
    controls.sending(rating);
  }

  function decorate(event) {
    const view = log.reply(event.responseId);
    if (!view || minor < 3 || decorated.has(event.responseId)) return;
    decorated.add(event.responseId);
    // One unit, so on a narrow screen the label and the thumbs wrap together under the timings.
    const extras = el('span', 'reply-extras');
    if (Array.isArray(event.models) && event.models.length > 0) extras.append(modelLabel(event.models));
    if (RATABLE.has(view.status)) {
      const controls = ratingControls((rating) => rate(event.responseId, controls, rating));
      extras.append(controls.root);
    }
    if (extras.childElementCount > 0) view.addMeta(extras);
  }

  link.on('event', (event) => {
    switch (event.type) {
      case 'session.ready':
        minor = typeof event.minor === 'number' ? event.minor : 0;
        for (const { controls } of sent.values()) controls.fail(NOTES.refused); // a new session: never answered
        sent.clear();
        break;
      case 'response.done':
        decorate(event);
        break;
      case 'feedback.received': {
        const mine = sent.get(event.eventId);
        if (!mine) return;
        sent.delete(event.eventId);
        mine.controls.confirm(mine.rating);
        break;
      }
      case 'error': {
        const mine = sent.get(event.eventId);
        if (!mine) return;
        sent.delete(event.eventId);
        const gone = event.code === 'GW_UNKNOWN_RESPONSE';
        mine.controls.fail(gone ? NOTES.GW_UNKNOWN_RESPONSE : NOTES.refused, gone);
        break;
      }
      default:
        break;
    }
  });
}
