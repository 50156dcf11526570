// Secret random tokens (resume tokens) from the CSPRNG, drawn a page at a time. On this VM one randomBytes(32)
// call costs 5–7 µs back to back and 60–80 µs amid load (a getrandom syscall each: docs/benchmarks/analysis.md,
// the tenth pass), once per WebSocket session opened; a 4 KiB refill costs about 5 µs and serves 128 tokens. The
// same batching as Node's own randomUUID(). A slice is handed out once and zeroed as it is used.
import { randomFillSync } from 'node:crypto';

const PAGE_BYTES = 4096;
const page = Buffer.alloc(PAGE_BYTES);
let next = PAGE_BYTES; // nothing drawn yet: the first call fills the page

/** `bytes` (1 to 4,096) fresh random bytes as base64url. */
export function randomToken(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > PAGE_BYTES) throw new RangeError(`token of ${bytes} bytes`);
  if (next + bytes > PAGE_BYTES) {
    randomFillSync(page);
    next = 0;
  }
  const slice = page.subarray(next, next + bytes);
  next += bytes;
  const token = slice.toString('base64url');
  slice.fill(0);
  return token;
}
