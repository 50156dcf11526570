// The few undici 7 Pool internals the gateway reads (pool-counts.ts) or extends (connection-choice.ts): the list
// of connections (undici Clients), each one's busy flag and connection state, the Pool's connection choice and the
// dispatch that calls it.
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

const getDispatcher = poolBase.kGetDispatcher;

/** The key of Pool's "which connection takes the next request" method (a placeholder when undici lacks it). */
export const GET_DISPATCHER: symbol =
  typeof getDispatcher === 'symbol' ? getDispatcher : Symbol('missing undici kGetDispatcher');

const dispatch = coreSymbols.kDispatch;

/**
 * The key of a dispatcher's own dispatch method, which Pool's public dispatch() calls. When it is missing (a
 * placeholder), the pool still chooses connections but cannot tell which one took a request: refreshes then touch
 * every free connection wanted, as if none had been used lately.
 */
export const DISPATCH: symbol = typeof dispatch === 'symbol' ? dispatch : Symbol('missing undici kDispatch');

/** Whether DISPATCH is undici's own (the pool can then tell which connection took a request). */
export const DISPATCH_FOUND = typeof dispatch === 'symbol';

/** What the pool's counts read (pool-counts.ts). */
export interface PoolSymbols {
  clients: symbol;
  needDrain: symbol;
  queued: symbol;
  connected: symbol;
  pending: symbol;
}

/** What choosing connections also needs (connection-choice.ts): adding one as the Pool itself would. */
export interface ChoiceSymbols extends PoolSymbols {
  addClient: symbol;
  /** The options Pool hands its factory for every new connection. */
  options: symbol;
  url: symbol;
}

/** A connection's state as undici keeps it, read by symbol. */
export type Indexed = Record<symbol, unknown>;

/** Whether a connection is open and not busy. The plain field first: `connected` is a getter in undici. */
export const isOpenAndFree = (client: Indexed, symbols: PoolSymbols): boolean =>
  client[symbols.needDrain] !== true && client[symbols.connected] === true;

const isSymbol = (value: unknown): value is symbol => typeof value === 'symbol';

/** undici's symbols for the pool's connections and their state, or null when this undici lacks one. */
export function poolSymbols(pool: Pool): PoolSymbols | null {
  const own = Object.getOwnPropertySymbols(pool);
  const clients = own.find((s) => s.description === 'clients');
  const needDrain = own.find((s) => s.description === 'needDrain');
  const { kQueued: queued, kConnected: connected, kPending: pending } = coreSymbols;
  if (clients === undefined || needDrain === undefined) return null;
  if (!isSymbol(queued) || !isSymbol(connected) || !isSymbol(pending)) return null;
  if (!Array.isArray((pool as unknown as Indexed)[clients])) return null;
  return { clients, needDrain, queued, connected, pending };
}

/** The symbols to choose and add connections, or null when this undici lacks one (then undici chooses). */
export function choiceSymbols(pool: Pool): ChoiceSymbols | null {
  const counts = poolSymbols(pool);
  const options = Object.getOwnPropertySymbols(pool).find((s) => s.description === 'options');
  const { kUrl: url } = coreSymbols;
  const { kAddClient: addClient } = poolBase;
  if (counts === null || options === undefined || !isSymbol(url) || !isSymbol(addClient)) return null;
  if (!isSymbol(getDispatcher)) return null;
  return { ...counts, options, url, addClient };
}
