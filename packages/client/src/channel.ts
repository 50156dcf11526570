// A buffered async sequence: items pushed as events arrive, read with `for await`. It keeps every item, so each
// iteration starts from the first one (a reply is small); it ends when the reply ends, or throws its failure.
export class Channel<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private state: 'open' | 'ended' | 'failed' = 'open';
  private failure: unknown = null;
  private waiters: (() => void)[] = [];

  /** Everything pushed so far. */
  get values(): readonly T[] {
    return this.items;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  push(item: T): void {
    if (this.state !== 'open') return;
    this.items.push(item);
    this.wake();
  }

  end(): void {
    if (this.state !== 'open') return;
    this.state = 'ended';
    this.wake();
  }

  /** Ends the sequence with an error: iterators yield what was pushed, then throw it. */
  fail(error: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'failed';
    this.failure = error;
    this.wake();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    let index = 0;
    let stopped = false;
    return {
      next: async (): Promise<IteratorResult<T>> => {
        for (;;) {
          if (stopped) return { done: true, value: undefined };
          if (index < this.items.length) return { done: false, value: this.items[index++] as T };
          if (this.state === 'failed') throw this.failure;
          if (this.state === 'ended') return { done: true, value: undefined };
          await new Promise<void>((resolve) => this.waiters.push(resolve));
        }
      },
      return: (): Promise<IteratorResult<T>> => {
        stopped = true;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
