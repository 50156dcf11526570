// What fastify logs about requests: URLs with every query value replaced (a client may put a token in the URL;
// it is refused, but the access log would still keep it), and no access lines for the probes (/healthz, /readyz,
// /metrics), whatever query string they carry.
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { REDACTED } from './secrets.js';

/** Hit every few seconds by probes and scrapers: logging each would drown the lifecycle logs. */
const QUIET_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/** A query parameter name that is a name (not a value sent without `=`), so it may be logged. */
const PARAM_NAME = /^[A-Za-z0-9_.[\]-]{1,40}$/;

/** The path of a request URL, without its query string. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** `/v1/voice?token=abc&x` → `/v1/voice?token=[redacted]&[redacted]`: the path and parameter names, no values. */
export function redactQuery(url: string): string {
  const query = url.indexOf('?');
  if (query === -1) return url;
  const params = url
    .slice(query + 1)
    .split('&')
    .map((param) => {
      const eq = param.indexOf('=');
      if (eq === -1) return param === '' ? '' : REDACTED;
      const name = param.slice(0, eq);
      return `${PARAM_NAME.test(name) ? name : REDACTED}=${REDACTED}`;
    });
  return `${url.slice(0, query)}?${params.join('&')}`;
}

interface LoggedRequest {
  method?: string;
  url?: string;
  headers?: Record<string, unknown>;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number } | null;
}

/** fastify's own `req` serializer (lib/logger-pino.js), with the query values redacted. */
export function serializeRequest(req: LoggedRequest) {
  return {
    method: req.method,
    url: typeof req.url === 'string' ? redactQuery(req.url) : req.url,
    version: req.headers?.['accept-version'],
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket ? req.socket.remotePort : undefined,
  };
}

/**
 * The logger to give fastify: `logger` with the `req` serializer above (it takes precedence over fastify's), and
 * `path` redacted the same way (@fastify/websocket logs `{ path: url }` for an upgrade to a plain route).
 * Only fastify and its plugins log through it; sessions keep `logger`.
 */
export function accessLogger(logger: Logger): FastifyBaseLogger {
  return logger.child(
    {},
    {
      serializers: {
        req: serializeRequest,
        path: (path: unknown) => (typeof path === 'string' ? redactQuery(path) : path),
      },
    },
  );
}

/** No access lines for the probes, matched on the path alone; "route not found" lines without query values. */
export class AccessLogController extends LogController {
  constructor() {
    super({ disableRequestLogging: (request) => QUIET_PATHS.has(pathOf(request.url)) });
  }

  override routeNotFound(request: FastifyRequest, _reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    request.log.info(`Route ${request.raw.method ?? ''}:${redactQuery(request.raw.url ?? '')} not found`);
  }
}
