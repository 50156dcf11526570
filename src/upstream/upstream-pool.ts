// The undici Pool towards the upstream origin: keep-alive, pipelining, timeouts, an extra trusted CA, and HTTP/2
// where the upstream offers it. Over HTTP/2 one connection carries many streams; over HTTP/1.1 one request at a
// time. Which one a connection speaks is decided per connection (ALPN), so each undici Client learns it on connect.
import type { TLSSocket } from 'node:tls';
import { buildConnector, Client, Pool, type Dispatcher } from 'undici';
import { chooseConnection } from './connection-choice.js';
import {
  choiceSymbols,
  DISPATCH,
  DISPATCH_FOUND,
  GET_DISPATCHER,
  isOpenAndFree,
  type ChoiceSymbols,
  type Indexed,
} from './pool-internals.js';

/** UPSTREAM_HTTP: `h1` never offers HTTP/2; `h2` requires it (TLS + ALPN); `auto` lets ALPN decide (h1 over http://). */
export type UpstreamHttp = 'h1' | 'h2' | 'auto';

export interface UpstreamPoolOptions {
  /** Most connections (undici Clients) the pool opens. */
  connections: number;
  /** Idle keep-alive of a connection, default 30 s; the server's Keep-Alive hint can only shorten it. */
  keepAliveTimeoutMs?: number;
  /** Default `h1`. */
  http?: UpstreamHttp;
  /** Extra certificate authorities (PEM) trusted for the upstream, on top of Node's bundled ones. */
  ca?: string;
}

/** Streams one HTTP/2 connection carries before the pool opens another (undici's and Node's default). */
export const H2_STREAMS_PER_CONNECTION = 100;
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * One check-phase turn. undici 7.30's Pool marks a client "drained" (free for the next request) only after
 * the response's completion has been processed, a turn after the body's 'end': a request sent before that
 * opens a second connection (measured with sequential requests on a fresh Pool). Yielding once before
 * resolving lets an immediate follow-up (a tool-call round trip, the turn after warm()) reuse the socket.
 */
export const yieldToPool = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A connection refused because UPSTREAM_HTTP=h2 and the upstream did not negotiate HTTP/2. */
export class Http2RequiredError extends Error {
  readonly code = 'GW_ERR_H2_NOT_NEGOTIATED';
  constructor(alpn: string | false | null | undefined) {
    super(`UPSTREAM_HTTP=h2, but the upstream negotiated ${alpn === false || alpn == null ? 'no protocol' : alpn}`);
    this.name = 'Http2RequiredError';
  }
}

/** What undici takes off the server's Keep-Alive hint before trusting it (the warmer computes the same). */
export function keepAliveThresholdMs(keepAliveTimeoutMs: number): number {
  return Math.min(1000, Math.floor(keepAliveTimeoutMs / 2));
}

/**
 * An undici Pool for the upstream origin: keep-alive (default 30 s idle; the server's Keep-Alive hint can
 * only shorten it), pipelining 1 over HTTP/1.1 (an SSE stream must not block requests queued behind it), up to
 * H2_STREAMS_PER_CONNECTION streams per HTTP/2 connection, 10 s connect timeout, 60 s header/body backstops (the
 * client's own first-token/stall timers are stricter).
 * Nagle: undici 7 already calls `socket.setNoDelay(true)` on every TCP and TLS socket it opens
 * (lib/core/connect.js), so no custom connector is needed for it; test/upstream/client-pool.test.ts checks it.
 */
export class UpstreamPool extends Pool {
  readonly #protocols: Protocols;
  readonly #http: UpstreamHttp;
  readonly #factory: (url: URL, options: object) => Dispatcher;
  readonly #cap: number;
  /** undici's internals for choosing connections (connection-choice.ts); null: undici's own first-fit choice. */
  readonly #symbols: ChoiceSymbols | null;
  /** Set for the one dispatch of a warm-up that opens a connection (withNewConnection). */
  #opening = false;
  /** Set for the one dispatch of a warm-up that refreshes a connection no request used lately (withStaleConnection). */
  #staleBefore: number | undefined;
  /**
   * When each connection last took a request (Date.now()), so that refreshes skip the connections the turns keep
   * fresh. Set by the first connection choice of a dispatch only: undici asks again right after, to learn whether
   * another is free, and that one took nothing. A queued request that a connection takes as it drains is not seen:
   * that connection may be refreshed when it need not be, never the other way round.
   */
  readonly #usedAt = new WeakMap<object, number>();
  #dispatching = false;

  constructor(baseUrl: string, options: UpstreamPoolOptions) {
    const keepAliveTimeout = options.keepAliveTimeoutMs ?? 30_000;
    const http = options.http ?? 'h1';
    const ca = options.ca === undefined ? {} : { ca: options.ca };
    const protocols: Protocols = { h2: 0, last: null };
    const clients = http === 'h1' ? null : negotiatingClients(http, ca, protocols);
    const factory = clients?.factory ?? ((url: URL, clientOptions: object) => new Client(url, clientOptions));
    super(new URL(baseUrl).origin, {
      connections: options.connections,
      pipelining: 1, // per connection once it is open: H2_STREAMS_PER_CONNECTION over HTTP/2
      keepAliveTimeout,
      keepAliveMaxTimeout: keepAliveTimeout,
      keepAliveTimeoutThreshold: keepAliveThresholdMs(keepAliveTimeout),
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
      factory,
      ...(clients === null ? { connect: { ...ca, timeout: CONNECT_TIMEOUT_MS } } : { allowH2: true, ...clients }),
    });
    this.#protocols = protocols;
    this.#http = http;
    this.#factory = factory;
    this.#cap = options.connections;
    this.#symbols = choiceSymbols(this);
  }

  /**
   * Runs `send`, which must dispatch one request on this pool synchronously (as `request()` does): that request
   * opens a connection (reopens a closed idle one, or adds one within the cap) instead of using an open free one.
   * At the cap it refreshes an open free connection instead; it opens nothing when undici's internals were not
   * found (`choosesConnections` is false).
   */
  withNewConnection<T>(send: () => T): T {
    this.#opening = true;
    try {
      return send();
    } finally {
      this.#opening = false;
    }
  }

  /**
   * Runs `send` as withNewConnection does; its request refreshes the first open free connection in the list that
   * took no request since `before` (connection-choice.ts); with none, the usual choice.
   */
  withStaleConnection<T>(before: number, send: () => T): T {
    this.#staleBefore = before;
    try {
      return send();
    } finally {
      this.#staleBefore = undefined;
    }
  }

  /** Whether this pool knows when each connection last took a request (freshFree, withStaleConnection). */
  get knowsUse(): boolean {
    return this.#symbols !== null && DISPATCH_FOUND;
  }

  /** Open free connections that took a request at or after `since` (0 when this pool does not know: knowsUse). */
  freshFree(since: number): number {
    const symbols = this.#symbols;
    if (symbols === null) return 0;
    let fresh = 0;
    for (const client of (this as unknown as Indexed)[symbols.clients] as Indexed[]) {
      if (isOpenAndFree(client, symbols) && (this.#usedAt.get(client) ?? -Infinity) >= since) fresh += 1;
    }
    return fresh;
  }

  /** Whether this pool chooses its connections (connection-choice.ts), or undici does (its internals were not found). */
  get choosesConnections(): boolean {
    return this.#symbols !== null;
  }

  /** undici's Pool asks this which connection takes the next request (connection-choice.ts says why it differs). */
  [GET_DISPATCHER](): Dispatcher | undefined {
    const symbols = this.#symbols;
    if (symbols === null) return (super[GET_DISPATCHER as keyof Pool] as () => Dispatcher | undefined).call(this);
    const { opening, dispatching, staleBefore } = this.#takeRequestMarks();
    const self = this as unknown as Indexed;
    const clients = self[symbols.clients] as Indexed[];
    const choice = chooseConnection(clients, symbols, {
      opening,
      cap: this.#cap,
      staleBefore,
      usedAt: this.#usedAtOf,
    });
    if (choice.kind === 'none') return undefined;
    const client = choice.kind === 'client' ? (clients[choice.index] as Indexed) : this.#addClient(self, symbols);
    if (dispatching) this.#usedAt.set(client, Date.now());
    return client as unknown as Dispatcher;
  }

  /** undici's Pool dispatches each request here; its first connection choice is the one the request takes. */
  [DISPATCH](options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.#dispatching = true;
    try {
      return (super[DISPATCH as keyof Pool] as Dispatcher['dispatch']).call(this, options, handler);
    } finally {
      this.#dispatching = false;
    }
  }

  /** What the dispatch being chosen for asked (withNewConnection, withStaleConnection); undici's second ask: none. */
  #takeRequestMarks(): { opening: boolean; dispatching: boolean; staleBefore: number | undefined } {
    const marks = { opening: this.#opening, dispatching: this.#dispatching, staleBefore: this.#staleBefore };
    this.#opening = false;
    this.#dispatching = false;
    this.#staleBefore = undefined;
    return marks;
  }

  readonly #usedAtOf = (client: Indexed): number | undefined => this.#usedAt.get(client);

  #addClient(self: Indexed, symbols: ChoiceSymbols): Indexed {
    const client = this.#factory(self[symbols.url] as URL, self[symbols.options] as object);
    (self[symbols.addClient] as (client: Dispatcher) => void).call(this, client);
    return client as unknown as Indexed;
  }

  /** Connections open now that speak HTTP/2 (each carries many requests at once). */
  get h2Connections(): number {
    return this.#protocols.h2;
  }

  /**
   * What a new request's connection speaks: h1 or h2 as the pool's setting or its connections say, `pending`
   * while an `auto` pool has yet to negotiate one (then one connection is opened first, to learn).
   */
  get protocol(): 'h1' | 'h2' | 'pending' {
    if (this.#http !== 'auto') return this.#http;
    if (this.#protocols.h2 > 0) return 'h2';
    return this.#protocols.last ?? 'pending';
  }
}

export function createUpstreamPool(baseUrl: string, options: UpstreamPoolOptions): UpstreamPool {
  return new UpstreamPool(baseUrl, options);
}

interface Protocols {
  /** HTTP/2 connections open now. */
  h2: number;
  /** What the latest connection negotiated; null before the first. */
  last: 'h1' | 'h2' | null;
}

/**
 * A connector that offers h2 and h1 by ALPN, and a Client factory that sets each connection's pipelining to what
 * it negotiated. undici emits a Client's 'connect' synchronously inside the connector's callback, so the
 * protocol the connector just saw is the one of the Client that connects.
 */
function negotiatingClients(
  http: 'h2' | 'auto',
  ca: { ca?: string },
  protocols: Protocols,
): Pick<Pool.Options, 'connect' | 'factory'> {
  const connector = buildConnector({ ...ca, allowH2: true, timeout: CONNECT_TIMEOUT_MS });
  let negotiated: 'h1' | 'h2' | null = null;
  const connect: buildConnector.connector = (options, callback) =>
    connector(options, (err, socket) => {
      if (err !== null) return callback(err, null);
      const alpn = (socket as TLSSocket).alpnProtocol;
      if (http === 'h2' && alpn !== 'h2') {
        socket.destroy();
        return callback(new Http2RequiredError(alpn), null);
      }
      negotiated = alpn === 'h2' ? 'h2' : 'h1';
      try {
        callback(null, socket);
      } finally {
        negotiated = null;
      }
    });
  const factory = (url: URL, clientOptions: object): Client => {
    const client = new Client(url, clientOptions as Client.Options);
    let h2 = false;
    client.on('connect', () => {
      h2 = negotiated === 'h2';
      protocols.last = h2 ? 'h2' : 'h1';
      if (h2) protocols.h2 += 1;
      client.pipelining = h2 ? H2_STREAMS_PER_CONNECTION : 1;
    });
    client.on('disconnect', () => {
      if (h2) protocols.h2 -= 1;
      h2 = false;
    });
    return client;
  };
  return { connect, factory };
}
