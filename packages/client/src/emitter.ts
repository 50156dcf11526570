// A tiny typed event emitter for session events. A listener that throws is reported on the console and does not
// stop the others, nor the client's own handling of the event that triggered it.
type Listener = (...args: never[]) => void;

export class Emitter<Events extends { [K in keyof Events]: Listener }> {
  private readonly listeners = new Map<keyof Events, Set<Listener>>();

  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof Events>(type: K, listener: Events[K]): () => void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener);
    return () => void set.delete(listener);
  }

  emit<K extends keyof Events>(type: K, ...args: Parameters<Events[K]>): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) {
      try {
        (listener as (...values: Parameters<Events[K]>) => void)(...args);
      } catch (err) {
        (globalThis as { console?: { error(...data: unknown[]): void } }).console?.error(err);
      }
    }
  }
}
