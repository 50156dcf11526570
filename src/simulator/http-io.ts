// The simulator's HTTP plumbing: reading a request body with a size cap, and writing JSON and error bodies in
// the shapes the real ASI:One API (or a proxy in front of it) sends.

import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { SimScenario } from './scenario.js';

const MAX_BODY_BYTES = 8 * 1024 * 1024;
const ERROR_KINDS: Record<number, [type: string, code: string]> = {
  400: ['invalid_request_error', 'bad_request'],
  401: ['authentication_error', 'invalid_api_key'],
  403: ['permission_error', 'forbidden'],
  404: ['invalid_request_error', 'model_not_found'],
  413: ['invalid_request_error', 'request_too_large'],
  422: ['invalid_request_error', 'unprocessable_entity'],
  429: ['rate_limit_error', 'rate_limit_exceeded'],
};

/** Reads the whole body as UTF-8; null when it exceeds MAX_BODY_BYTES. */
export function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(null));
  });
}

export function sendJson(res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}): true {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
  return true;
}

/** Error bodies in the shapes ASI clients must parse: an error object, a bare message, or a proxy's HTML page. */
export function sendError(
  res: ServerResponse,
  status: number,
  shape: NonNullable<SimScenario['errorBody']>,
  message: string,
  retryAfter?: string,
): void {
  const extra: Record<string, string> = retryAfter === undefined ? {} : { 'retry-after': retryAfter };
  if (shape === 'html') {
    const title = `${status} ${STATUS_CODES[status] ?? 'Error'}`;
    const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
    res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
    return;
  }
  if (shape === 'message') {
    sendJson(res, status, JSON.stringify({ message }), extra);
    return;
  }
  const [type, code] =
    ERROR_KINDS[status] ??
    (status >= 500 ? ['server_error', `http_${status}`] : ['invalid_request_error', `http_${status}`]);
  sendJson(res, status, JSON.stringify({ error: { message, type, code } }), extra);
}
