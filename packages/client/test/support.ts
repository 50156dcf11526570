// Test support for the client: the gateway stack from test/helpers.ts, and small waits on the client's own events
// (never on sleeps).
import type { CommittedTurn, ConnectionState, Reply, StateDetail, VoiceSession } from '../src/index.js';

export { startStack, type Stack } from '../../../test/helpers.js';

/** Reads an async sequence in the background; `items` fills as it yields, `finished` settles when it ends. */
export function collect<T>(iterable: AsyncIterable<T>): { items: T[]; finished: Promise<void> } {
  const items: T[] = [];
  const finished = (async () => {
    for await (const item of iterable) items.push(item);
  })();
  finished.catch(() => undefined);
  return { items, finished };
}

/** Resolves at the session's next change to `state`. */
export function nextState(session: VoiceSession, state: ConnectionState): Promise<StateDetail> {
  return new Promise((resolve) => {
    const off = session.on('state', (current, detail) => {
      if (current !== state) return;
      off();
      resolve(detail);
    });
  });
}

/** Resolves with the session's next server-committed turn (the `committed` event) and its Reply. */
export function nextCommitted(session: VoiceSession): Promise<{ reply: Reply; turn: CommittedTurn }> {
  return new Promise((resolve) => {
    const off = session.on('committed', (reply, turn) => {
      off();
      resolve({ reply, turn });
    });
  });
}
