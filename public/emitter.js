// A tiny event emitter shared by the page's modules (no DOM, no dependencies). Listeners run in order;
// one that throws is reported and does not stop the others.

/** Creates an emitter: `on(type, fn)` returns an unsubscribe function; `emit(type, detail)` calls listeners. */
export function createEmitter() {
  const listeners = new Map();
  return {
    on(type, fn) {
      if (!listeners.has(type)) listeners.set(type, new Set());
      listeners.get(type).add(fn);
      return () => listeners.get(type)?.delete(fn);
    },
    emit(type, detail) {
      for (const fn of [...(listeners.get(type) ?? [])]) {
        try {
          fn(detail);
        } catch (error) {
          // A broken listener must not break the speech or socket callback that emitted.
          setTimeout(() => {
            throw error;
          }, 0);
        }
      }
    },
  };
}
