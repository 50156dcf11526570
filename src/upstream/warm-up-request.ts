// One warm-up request: GET {baseUrl}/models with the client's headers, drained so that its connection stays in the
// pool. The connection warmer sends these to open a connection or to keep an idle one from expiring; the gateway
// sends one at start. Any HTTP answer counts as warmed (an upstream may have no /models).
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.js';
import { classifyTransportError } from './http-errors.js';
import { UpstreamPool, yieldToPool } from './upstream-pool.js';

/** A warm-up's result: any HTTP answer (even 404) means a connection is open. */
export type WarmResult = { ok: true; status: number } | { ok: false; error: GatewayError };

const WARM_TIMEOUT_MS = 10_000;

/** Where a warm-up goes: the client's dispatcher, origin, `/models` path and headers (authorization included). */
export interface WarmUpTarget {
  dispatcher: Dispatcher;
  origin: string;
  path: string;
  headers: Record<string, string>;
}

/** Which connection a warm-up takes on an UpstreamPool (on another dispatcher, whichever it chooses). */
export interface WarmUpPurpose {
  /** A connection of its own: the pool gains one rather than refreshing one. */
  opens: boolean;
  /** Refresh an open free connection that took no request since this time (Date.now()), where the pool knows. */
  staleBefore?: number | undefined;
}

/** Sends one warm-up. Never throws. */
export async function sendWarmUp(
  target: WarmUpTarget,
  purpose: WarmUpPurpose,
): Promise<{ result: WarmResult; keepAlive?: string | undefined }> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), WARM_TIMEOUT_MS);
  const { dispatcher } = target;
  const send = (): Promise<Dispatcher.ResponseData> =>
    dispatcher.request({
      origin: target.origin,
      path: target.path,
      method: 'GET',
      headers: { ...target.headers, accept: 'application/json' },
      signal: controller.signal,
    });
  try {
    const response = await sendOn(dispatcher, purpose, send);
    // Drain (bounded) so the socket goes back to the pool instead of being destroyed.
    await response.body.dump({ limit: 1024 * 1024 }).catch(() => undefined);
    await yieldToPool();
    const keepAlive = response.headers['keep-alive'];
    return {
      result: { ok: true, status: response.statusCode },
      keepAlive: Array.isArray(keepAlive) ? keepAlive[0] : keepAlive,
    };
  } catch (err) {
    const error = controller.signal.aborted
      ? new GatewayError('GW_UPSTREAM_TIMEOUT', { cause: err })
      : classifyTransportError(err);
    return { result: { ok: false, error } };
  } finally {
    clearTimeout(timer);
  }
}

function sendOn<T>(dispatcher: Dispatcher, purpose: WarmUpPurpose, send: () => T): T {
  if (!(dispatcher instanceof UpstreamPool)) return send();
  if (purpose.opens) return dispatcher.withNewConnection(send);
  if (purpose.staleBefore !== undefined) return dispatcher.withStaleConnection(purpose.staleBefore, send);
  return send();
}
