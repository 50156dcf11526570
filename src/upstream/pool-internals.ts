// The few undici 7 Pool internals the gateway reads (pool-counts.ts) or extends (connection-choice.ts): the list
// of connections (undici Clients), each one's busy flag and connection state, and the Pool's connection choice.
// undici exports none of them publicly; every lookup can fail on another undici, and then the caller falls back to
// undici's own behaviour, so a change in undici costs speed (or warmth), never correctness.
import { createRequire } from 'node:module';
import type { Pool } from 'undici';

const requireUndici = (path: string): Record<string, unknown> => {
  try {
    return createRequire(import.meta.url)(path) as Record<string, unknown>;
  } catch {
    return {};
  }
};

const coreSymbols = requireUndici('undici/lib/core/symbols');
const poolBase = requireUndici('undici/lib/dispatcher/pool-base');

const symbolOr = (value: unknown, name: string): symbol =>
  typeof value === 'symbol' ? value : Symbol(`missing undici ${name}`);

/** The key of Pool's "which connection takes the next request" method (a placeholder when undici lacks it). */
export const GET_DISPATCHER: symbol = symbolOr(poolBase.kGetDispatcher, 'kGetDispatcher');

export interface PoolSymbols {
  clients: symbol;
  needDrain: symbol;
  queued: symbol;
  connected: symbol;
  pending: symbol;
  addClient: symbol;
  /** The options Pool hands its factory for every new connection. */
  options: symbol;
  url: symbol;
}

/** A connection's state as undici keeps it, read by symbol. */
export type Indexed = Record<symbol, unknown>;

/** undici's symbols for the pool's connections and their state, or null when this undici lacks one. */
export function poolSymbols(pool: Pool): PoolSymbols | null {
  const own = Object.getOwnPropertySymbols(pool);
  const clients = own.find((s) => s.description === 'clients');
  const needDrain = own.find((s) => s.description === 'needDrain');
  const options = own.find((s) => s.description === 'options');
  const { kQueued: queued, kConnected: connected, kPending: pending, kUrl: url } = coreSymbols;
  const { kAddClient: addClient } = poolBase;
  if (clients === undefined || needDrain === undefined || options === undefined) return null;
  const shared = [queued, connected, pending, url, addClient];
  if (!shared.every((s) => typeof s === 'symbol')) return null;
  if (!Array.isArray((pool as unknown as Indexed)[clients])) return null;
  return {
    clients,
    needDrain,
    options,
    queued: queued as symbol,
    connected: connected as symbol,
    pending: pending as symbol,
    url: url as symbol,
    addClient: addClient as symbol,
  };
}
