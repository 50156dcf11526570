// The session store operations in flight on this instance: a release waits for them (a relay may be reading the
// stream, and the marker must come after every write before it), and shutdown waits for them before closing Redis.
export class StoreWrites {
  private readonly inFlight = new Set<Promise<boolean>>();

  /** Counts store operations that failed (Redis down or erroring). */
  constructor(private readonly onStoreError: (operation: string) => void) {}

  /** Runs a store operation, counting its failure; returns whether it succeeded. */
  persist(operation: string, work: Promise<unknown>): Promise<boolean> {
    const tracked = work.then(
      () => true,
      () => {
        this.onStoreError(operation);
        return false;
      },
    );
    this.inFlight.add(tracked);
    void tracked.finally(() => this.inFlight.delete(tracked));
    return tracked;
  }

  /** Resolves once every operation issued so far has finished. */
  async settle(): Promise<void> {
    const pending = [...this.inFlight];
    if (pending.length > 0) await Promise.allSettled(pending);
  }
}
