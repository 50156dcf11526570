// The counts of an undici Pool that the connection warmer reads (connected, free, pending, queued) in one pass
// over its connections, whether one is free (stopping at the first), and how many are open (from its events).
// undici's own `pool.stats` builds six counts, each by walking every connection through getters: about 100 µs per
// read with a thousand connections, once per turn at 1,000 sessions. This reads the same per-connection state
// once. It relies on undici 7's internal symbols (pool-internals.ts); when one is missing (another undici), it
// falls back to `pool.stats`, so a change in undici costs speed, never correctness.
import type { Pool } from 'undici';
import type { PoolGauge } from './connection-warmer.js';
import { isOpenAndFree, poolSymbols, type Indexed } from './pool-internals.js';

export interface PoolCounts {
  connected: number;
  free: number;
  pending: number;
  queued: number;
}

/**
 * Whether `pool` has a connection open and free, as `pool.stats.free > 0` would say, stopping at the first. The
 * search starts where the last one found a free connection: undici hands requests to the first free ones, so
 * the front of the list is mostly busy. `needDrain` (a plain field) is read before `connected` (a getter).
 */
export function freeConnectionFinder(pool: Pool): () => boolean {
  const symbols = poolSymbols(pool);
  if (symbols === null) return () => pool.stats.free > 0;
  const state = pool as unknown as Indexed;
  let start = 0;
  return () => {
    const clients = state[symbols.clients] as Indexed[];
    const count = clients.length;
    // undici removes clients (a failed connect, clientTtl): the list may have shrunk below the last hit.
    for (let i = 0, at = start < count ? start : 0; i < count; i += 1, at = at + 1 === count ? 0 : at + 1) {
      const client = clients[at] as Indexed;
      if (isOpenAndFree(client, symbols)) {
        start = at;
        return true;
      }
    }
    return false;
  };
}

/** A reader of `pool`'s counts, exactly as `pool.stats` would give them. */
export function poolCountsReader(pool: Pool): () => PoolCounts {
  const symbols = poolSymbols(pool);
  if (symbols === null) {
    return () => {
      const { connected, free, pending, queued } = pool.stats;
      return { connected, free, pending, queued };
    };
  }
  const state = pool as unknown as Indexed;
  return () => {
    const queued = state[symbols.queued] as number;
    const counts = { connected: 0, free: 0, pending: queued, queued };
    for (const client of state[symbols.clients] as Indexed[]) {
      if (client[symbols.connected] === true) {
        counts.connected += 1;
        if (client[symbols.needDrain] !== true) counts.free += 1;
      }
      counts.pending += client[symbols.pending] as number;
    }
    return counts;
  };
}

/**
 * Connections open now, kept from the pool's public connect and disconnect events instead of read from each
 * connection (undefined when undici's internals are missing: the connections open before it cannot be listed). A
 * connection stops counting as connected in `stats` when its socket is destroyed, and here when the socket has
 * closed, a moment later. A set, not a count: HTTP/2 reports a connection that receives GOAWAY disconnected twice.
 */
export function openConnectionCounter(pool: Pool): (() => number) | undefined {
  const symbols = poolSymbols(pool);
  if (symbols === null) return undefined;
  const clients = (pool as unknown as Indexed)[symbols.clients] as Indexed[];
  const open = new Set<unknown>(clients.filter((client) => client[symbols.connected] === true));
  // Events carry the emitters, outermost first: the connection is the last.
  pool.on('connect', (_origin: unknown, targets: readonly unknown[]) => open.add(targets.at(-1)));
  pool.on('disconnect', (_origin: unknown, targets: readonly unknown[]) => open.delete(targets.at(-1)));
  return () => open.size;
}

/** What an UpstreamPool adds that the warmer reads (upstream-pool.ts); a plain Pool lacks it. */
interface Freshness {
  readonly protocol?: PoolGauge['protocol'];
  readonly knowsUse?: boolean;
  freshFree?(since: number): number;
}

/** The warmer's view of an undici Pool: its counts read in one pass, and its protocol where it knows one. */
export function fastGauge(pool: Pool & Freshness): PoolGauge {
  const read = poolCountsReader(pool);
  const hasFree = freeConnectionFinder(pool);
  const open = openConnectionCounter(pool);
  return {
    get stats() {
      return read();
    },
    hasFree,
    get openConnections() {
      return open?.();
    },
    ...(pool.knowsUse === true ? { freshFree: (since: number) => pool.freshFree?.(since) ?? 0 } : {}),
    get protocol() {
      return pool.protocol;
    },
  };
}
