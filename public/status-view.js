// Says what is going on right now: the assistant's state, the words being heard (interim, deliberately not a
// live region), the connection, the simulator banner and notices. Owns those elements only.
import { STATES } from './state.js';

export function createStatusView({
  body,
  state,
  stateLabel,
  stateHint,
  interim,
  connection,
  connectionText,
  retry,
  banner,
  bannerClose,
  notice,
}) {
  let countdown = 0;
  let bannerDismissed = false;
  const notices = new Map(); // source → text, shown in insertion order
  bannerClose.addEventListener('click', () => {
    bannerDismissed = true;
    banner.hidden = true;
  });

  function setConnectionText(text) {
    connectionText.textContent = text;
  }

  return {
    setState(name) {
      const info = STATES[name];
      body.dataset.state = name;
      state.dataset.state = name;
      if (stateLabel.textContent !== info.label) stateLabel.textContent = info.label;
      stateHint.textContent = info.hint;
    },

    showInterim(text) {
      interim.textContent = text;
      interim.hidden = !text;
    },

    /** { state: connecting | connected | waiting | needs-token, model?, retryInMs? } */
    setConnection({ state: connState, model, retryInMs }) {
      clearInterval(countdown);
      connection.dataset.connection = connState;
      retry.hidden = connState !== 'waiting';
      if (connState === 'connected') {
        connectionText.replaceChildren('Connected');
        if (model) {
          const detail = document.createElement('span');
          detail.className = 'connection-model';
          detail.textContent = ` · ${model}`;
          connectionText.append(detail);
        }
      } else if (connState === 'connecting') setConnectionText('Connecting…');
      else if (connState === 'needs-token') setConnectionText('Access token needed');
      else {
        const until = performance.now() + retryInMs;
        const tick = () => {
          const seconds = Math.max(1, Math.ceil((until - performance.now()) / 1000));
          setConnectionText(`Connection lost · reconnecting in ${seconds} s`);
        };
        tick();
        countdown = setInterval(tick, 1000);
      }
    },

    showBanner(show) {
      banner.hidden = !show || bannerDismissed;
    },

    /** Standing notices above the controls, one per source (e.g. the text fallback); empty text removes it. */
    setNotice(source, text) {
      if (text) notices.set(source, text);
      else notices.delete(source);
      notice.replaceChildren(
        ...[...notices.values()].map((t) => {
          const line = document.createElement('p');
          line.textContent = t;
          return line;
        }),
      );
      notice.hidden = notices.size === 0;
    },
  };
}
