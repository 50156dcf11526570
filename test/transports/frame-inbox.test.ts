// The per-connection inbox keeps client frames in arrival order even when handling one must wait.
import { describe, expect, it } from 'vitest';
import { FrameInbox } from '../../src/transports/frame-inbox.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('FrameInbox', () => {
  it('runs synchronous steps at once and holds later steps behind a waiting one, in order', async () => {
    const inbox = new FrameInbox(16, () => {});
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
    const inbox = new FrameInbox(16, (err: unknown) => errors.push(err));
    const order: string[] = [];
    inbox.enqueue(() => Promise.reject(new Error('boom')));
    inbox.enqueue(() => void order.push('dropped'));
    inbox.dropWaiting();
    await new Promise<void>((resolve) => inbox.whenIdle(resolve));
    inbox.enqueue(() => void order.push('after'));
    expect(order).toEqual(['after']);
    expect(errors).toHaveLength(1);
  });

  it('refuses steps beyond its bound while one waits, and takes them again once there is room', async () => {
    const inbox = new FrameInbox(2, () => {});
    const order: string[] = [];
    const gate = deferred();
    expect(inbox.enqueue(() => gate.promise)).toBe(true);
    expect(inbox.enqueue(() => void order.push('1'))).toBe(true);
    expect(inbox.enqueue(() => void order.push('2'))).toBe(true);
    expect(inbox.enqueue(() => void order.push('3'))).toBe(false);
    gate.resolve();
    await new Promise<void>((resolve) => inbox.whenIdle(resolve));
    expect(inbox.enqueue(() => void order.push('4'))).toBe(true);
    expect(order).toEqual(['1', '2', '4']);
  });

  it('calls whenIdle at once when nothing waits', () => {
    const inbox = new FrameInbox(16, () => {});
    let called = false;
    inbox.whenIdle(() => (called = true));
    expect(called).toBe(true);
  });
});
