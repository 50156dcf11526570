// The per-connection inbox keeps client frames in arrival order even when handling one must wait.
import { describe, expect, it } from 'vitest';
import { FrameInbox } from '../src/transports/frame-inbox.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('FrameInbox', () => {
  it('runs synchronous steps at once and holds later steps behind a waiting one, in order', async () => {
    const inbox = new FrameInbox(() => {});
    const order: string[] = [];
    const gate = deferred();
    inbox.enqueue(() => void order.push('a'));
    inbox.enqueue(() => {
      order.push('b');
      return gate.promise.then(() => void order.push('b done'));
    });
    inbox.enqueue(() => void order.push('c'));
    inbox.enqueue(() => void order.push('d'));
    expect(order).toEqual(['a', 'b']);
    const idle = new Promise<void>((resolve) => inbox.whenIdle(resolve));
    gate.resolve();
    await idle;
    expect(order).toEqual(['a', 'b', 'b done', 'c', 'd']);
  });

  it('drops the waiting steps on request, and reports a failing step without stopping', async () => {
    const errors: unknown[] = [];
    const inbox = new FrameInbox((err) => errors.push(err));
    const order: string[] = [];
    inbox.enqueue(() => Promise.reject(new Error('boom')));
    inbox.enqueue(() => void order.push('dropped'));
    inbox.dropWaiting();
    await new Promise<void>((resolve) => inbox.whenIdle(resolve));
    inbox.enqueue(() => void order.push('after'));
    expect(order).toEqual(['after']);
    expect(errors).toHaveLength(1);
  });

  it('calls whenIdle at once when nothing waits', () => {
    const inbox = new FrameInbox(() => {});
    let called = false;
    inbox.whenIdle(() => (called = true));
    expect(called).toBe(true);
  });
});
