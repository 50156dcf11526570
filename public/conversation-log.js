// The conversation as an accessible log (role=log): user turns, assistant replies streaming in with their
// tool calls (the text as markdown, markdown.js), interruptions (the unheard cut, heard-cut.js), per-turn timings
// and notices. Owns the log's DOM only: no socket, no speech.
import { markUnheard } from './heard-cut.js';
import { createMarkdownRun } from './markdown.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Small icons, built here (no inline markup; emoji fonts are not everywhere): tool calls, early replies, ratings. */
const ICONS = {
  wrench: 'M14.7 6.3a4 4 0 0 0-5.4 5.2L3.6 17.2a1.4 1.4 0 0 0 2 2l5.7-5.7a4 4 0 0 0 5.2-5.4l-2.4 2.4-2-.6-.6-2z',
  bolt: 'M13 2 4.5 13.5H11L10 22l8.5-11.5H12z',
  // Thumbs down is the same hand, flipped in CSS.
  thumb: 'M3 11h3v10H3zM6 11l4-8a2.5 2.5 0 0 1 2.5 2.5V9h5.3a2 2 0 0 1 2 2.4l-1.4 7.5a2.5 2.5 0 0 1-2.4 2.1H6',
};

export function icon(name) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}

/** 312 → "312 ms", 1240 → "1.24 s". */
export function formatMs(ms) {
  if (ms === null || ms === undefined) return '–';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export function createConversationLog({ list, scroller, empty }) {
  const replies = new Map(); // responseId → view, for the modules that add to a reply later (reply-feedback.js)
  // Follow the newest entry while the reader is at the bottom; leave them alone once they scroll up.
  let pinned = true;
  const atBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 96;
  scroller.addEventListener(
    'scroll',
    () => {
      pinned = atBottom();
    },
    { passive: true },
  );
  // A phone keyboard opening shrinks the log: stay at the bottom if that is where the reader was.
  if (window.ResizeObserver) {
    new window.ResizeObserver(() => {
      if (pinned) scroller.scrollTop = scroller.scrollHeight;
    }).observe(scroller);
  }

  /** Runs `change`, then keeps the newest entry in view if the reader was following along. */
  function keepPinned(change) {
    const follow = pinned || atBottom();
    change();
    if (empty) empty.hidden = true;
    if (follow) scroller.scrollTop = scroller.scrollHeight;
  }

  function entry(kind, who) {
    const item = el('li', `entry ${kind}`);
    if (who) item.append(el('span', 'visually-hidden', `${who}: `));
    return item;
  }

  return {
    /** A user turn; setText() replaces its words (the server answered a longer utterance than first shown). */
    addUser(text, via) {
      const item = entry('user', via === 'voice' ? 'You said' : 'You wrote');
      item.dataset.via = via;
      const bubble = el('p', 'bubble', text);
      item.append(bubble);
      keepPinned(() => list.append(item));
      return {
        setText(words) {
          keepPinned(() => {
            bubble.textContent = words;
          });
        },
      };
    },

    /** Empties the log (a new conversation): the empty state shows again. */
    clear() {
      list.replaceChildren();
      replies.clear();
      if (empty) empty.hidden = false;
      pinned = true;
    },

    addNotice(text) {
      const item = entry('notice');
      item.append(el('p', 'notice-text', text));
      keepPinned(() => list.append(item));
    },

    /** The view of reply `responseId`, if the log shows it. */
    reply(responseId) {
      return replies.get(responseId) ?? null;
    },

    /** A new assistant reply, streaming until setStatus() is called. */
    startReply(responseId) {
      const item = entry('assistant', 'Assistant');
      item.dataset.status = 'streaming';
      if (responseId) item.dataset.responseId = responseId;
      // Screen readers wait for the finished reply instead of every streamed word.
      item.setAttribute('aria-busy', 'true');
      const bubble = el('div', 'bubble waiting');
      const meta = el('p', 'meta');
      const badge = el('span', 'badge');
      const timings = el('span', 'timings');
      meta.append(badge, timings);
      item.append(bubble, meta);
      keepPinned(() => list.append(item));
      let run = null;

      const view = {
        responseId: responseId ?? null,
        appendText(text) {
          keepPinned(() => {
            bubble.classList.remove('waiting');
            if (!run) {
              const root = el('div', 'run md');
              bubble.append(root);
              run = createMarkdownRun(root, keepPinned);
            }
            run.append(text);
          });
        },
        addTool(name) {
          keepPinned(() => {
            run?.flush();
            bubble.classList.remove('waiting');
            const chip = el('span', 'tool');
            chip.title = `The assistant used the ${name} tool`;
            // Reads as "Tool: 🔧 calculate"; on screen the icon stands in for the emoji (not every system has one).
            chip.append(icon('wrench'), el('span', 'visually-hidden', 'Tool: 🔧 '), el('span', 'tool-name', name));
            bubble.append(chip);
            run = null; // text after the call continues after the chip
          });
        },
        setTimings({ firstTokenMs, firstSpeechMs, speech }) {
          const parts = [`first token ${formatMs(firstTokenMs)}`];
          if (speech) parts.push(`first speech ${formatMs(firstSpeechMs)}`);
          timings.textContent = parts.join(' · ');
        },
        /**
         * Fades what was not heard: the text after the words of the first `heardChars` characters of the reply's
         * speech `segments` (an estimate). The gateway cuts the reply in the history by its own estimate.
         */
        markHeard(segments, heardChars) {
          run?.flush();
          markUnheard(bubble, segments, heardChars);
        },
        /** The reply was started before the user had finished (a speculation the server kept). */
        markEarly() {
          if (item.dataset.early) return;
          item.dataset.early = 'true';
          const early = el('span', 'early');
          early.title = 'Answered before you finished (speculative)';
          early.append(
            icon('bolt'),
            el('span', null, 'early'),
            el('span', 'visually-hidden', ': answered before you finished (speculative)'),
          );
          meta.insertBefore(early, timings);
        },
        /** The trace id of the reply's turn (trace-context.js): a tooltip on its timings, for a trace UI. */
        setTrace(traceId) {
          if (!traceId) return;
          item.dataset.traceId = traceId;
          timings.title = `Trace ${traceId}`;
        },
        /** Marks the reply while it is being read aloud. */
        setSpeaking(on) {
          item.classList.toggle('speaking', on);
        },
        /** completed, interrupted (by the user) or failed (with a message). */
        setStatus(status, message) {
          item.dataset.status = status;
          item.removeAttribute('aria-busy');
          keepPinned(() => run?.flush());
          bubble.classList.remove('waiting');
          if (status === 'interrupted') {
            badge.textContent = 'Interrupted';
            badge.title = 'You cut in. The faded part was not heard, and the assistant will not remember it.';
          }
          if (status === 'failed') badge.textContent = message ? `Failed: ${message}` : 'Failed';
        },
        /** Adds `node` to the end of the reply's meta line (the model label, the rating buttons). */
        addMeta(node) {
          keepPinned(() => meta.append(node));
        },
        get status() {
          return item.dataset.status;
        },
      };
      if (responseId) replies.set(responseId, view);
      return view;
    },
  };
}
