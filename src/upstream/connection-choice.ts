// Which upstream connection takes the next request. undici's Pool gives it to the first connection in its list
// that is not busy, open or closed. Over HTTP/1.1 a barge-in can only end a response by closing its connection,
// and undici keeps that closed connection in its list: the next turn would often reopen it (TCP + TLS, on the
// turn's critical path) while warm ones wait further down. This choice takes an open free connection first, then a
// closed idle one (it reconnects), then a new one within the cap. A warm-up that is meant to open a connection
// asks for the opposite: a closed or new one, never an open one, so that it adds a connection instead of riding one.
// Like undici, it searches from the front of the list: the connections used most stay busy, and those at the back
// that a quieter load no longer needs sit idle until their keep-alive closes them. A warm-up that refreshes asks for
// the first free connection that took no request lately, so that it keeps alive one that would expire, not one the
// turns keep alive anyway. (undici's `clientTtl` option is not honoured: the gateway does not set it.)
import { isOpenAndFree, type Indexed, type PoolSymbols } from './pool-internals.js';

export type Choice =
  /** This connection (an index into the list). */
  | { kind: 'client'; index: number }
  /** Add a connection: none fits, and the list is below the cap. */
  | { kind: 'new' }
  /** Every connection is busy and the list is at the cap: the request waits in the pool's queue. */
  | { kind: 'none' };

export interface ChoiceRequest {
  /** A warm-up that must open a connection rather than use an open one. */
  opening: boolean;
  /** The most connections; 0 or less: no cap. */
  cap: number;
  /**
   * A warm-up that refreshes: it takes the first open free connection in the list that last took a request before
   * this time (`usedAt`), one whose keep-alive would otherwise run out; the usual choice when there is none.
   */
  staleBefore?: number | undefined;
  /** When a connection last took a request (undefined: never seen taking one). */
  usedAt?: (client: Indexed) => number | undefined;
}

const NONE: Choice = { kind: 'none' };
const NEW: Choice = { kind: 'new' };

/**
 * Open and free first (unless `opening`), then closed and idle, then new. At the cap, an opening warm-up takes an
 * open free connection after all (it refreshes that one), rather than wait in the queue.
 */
export function chooseConnection(clients: readonly Indexed[], symbols: PoolSymbols, request: ChoiceRequest): Choice {
  if (request.staleBefore !== undefined) {
    const stale = firstStale(clients, symbols, request.staleBefore, request.usedAt);
    if (stale >= 0) return { kind: 'client', index: stale };
  }
  const count = clients.length;
  let closed = -1;
  let open = -1;
  for (let at = 0; at < count; at += 1) {
    const client = clients[at] as Indexed;
    if (client[symbols.needDrain] === true) continue;
    if (client[symbols.connected] !== true) {
      if (closed < 0) closed = at;
      if (request.opening) break;
    } else if (open < 0) {
      open = at;
      if (!request.opening) break;
    }
  }
  if (!request.opening && open >= 0) return { kind: 'client', index: open };
  if (closed >= 0) return { kind: 'client', index: closed };
  if (request.cap <= 0 || count < request.cap) return NEW;
  return open >= 0 ? { kind: 'client', index: open } : NONE;
}

/** The first open free connection that last took a request before `before` (or was never seen taking one), or -1. */
function firstStale(
  clients: readonly Indexed[],
  symbols: PoolSymbols,
  before: number,
  usedAt: ChoiceRequest['usedAt'],
): number {
  for (let at = 0; at < clients.length; at += 1) {
    const client = clients[at] as Indexed;
    if (isOpenAndFree(client, symbols) && (usedAt?.(client) ?? -Infinity) < before) return at;
  }
  return -1;
}
