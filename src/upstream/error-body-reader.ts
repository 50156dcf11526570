// The body of a non-2xx (or 1xx) upstream answer: the first MAX_ERROR_BODY_BYTES of it, turned into a
// client-safe GatewayError by http-errors.ts (status → code, Retry-After, secrets redacted).
import type { GatewayError } from '../errors.js';
import type { SecretRedactor } from '../secrets.js';
import { createUpstreamHttpError, type ResponseHeaders } from './http-errors.js';

/** More of an error page than this tells a client nothing more; reading stops (and the socket goes). */
export const MAX_ERROR_BODY_BYTES = 64 * 1024;

export class ErrorBodyReader {
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly status: number,
    private readonly headers: ResponseHeaders,
    private readonly secrets: SecretRedactor,
  ) {}

  /** Holds a body chunk; true once MAX_ERROR_BODY_BYTES are held, when reading should stop. */
  push(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    return this.size >= MAX_ERROR_BODY_BYTES;
  }

  /** The error for the status, the headers and the body read so far (whole or not). */
  error(): GatewayError {
    const text = Buffer.concat(this.chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString('utf8');
    return createUpstreamHttpError(this.status, text, this.headers, this.secrets);
  }
}
