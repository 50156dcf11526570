// The assistant's visible state, derived from facts other modules own: offline, idle, listening, thinking or
// speaking. Pure: the same facts always give the same state, so the indicator can never disagree with them.

export const STATES = Object.freeze({
  offline: { label: 'Offline', hint: 'Waiting for the server…' },
  idle: { label: 'Idle', hint: 'Press Talk, or type a message.' },
  listening: { label: 'Listening', hint: 'Go ahead, I am listening.' },
  thinking: { label: 'Thinking', hint: 'Esc stops the reply.' },
  speaking: { label: 'Speaking', hint: 'Esc, Space or Stop interrupts.' },
});

/**
 * @param {{ connected: boolean, listening: boolean, awaitingReply: boolean, speaking: boolean }} facts
 * Speaking wins (what arrived keeps playing while the socket is down), then the connection, then a reply in
 * flight, then the microphone.
 */
export function deriveState({ connected, listening, awaitingReply, speaking }) {
  if (speaking) return 'speaking';
  if (!connected) return 'offline';
  if (awaitingReply) return 'thinking';
  if (listening) return 'listening';
  return 'idle';
}
