// src/hosting/random-tokens.ts: tokens drawn from a page of CSPRNG bytes stay what randomBytes gave: the right
// length, never repeated (across many refills of the page), and with no byte position stuck.
import { describe, expect, it } from 'vitest';
import { createResumeToken } from '../../src/hosting/session-registry.js';
import { randomToken } from '../../src/hosting/random-tokens.js';

describe('random tokens', () => {
  it('gives 32-byte base64url resume tokens, all different across many pages of random bytes', () => {
    const tokens = Array.from({ length: 20_000 }, () => createResumeToken()); // 156 pages of 128 tokens
    for (const token of tokens.slice(0, 500)) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
  });

  it('leaves no byte position constant: every token is fresh random bytes, not a reused or zeroed slice', () => {
    const decoded = Array.from({ length: 512 }, () => Buffer.from(randomToken(32), 'base64url'));
    for (let at = 0; at < 32; at += 1) {
      const values = new Set(decoded.map((bytes) => bytes[at]));
      // 512 draws of a uniform byte take well over 100 distinct values (expected about 225).
      expect(values.size).toBeGreaterThan(100);
    }
  });

  it('serves sizes that straddle a page, and refuses ones it cannot', () => {
    const sizes = [1, 33, 4000, 4096, 7];
    for (const size of sizes) expect(Buffer.from(randomToken(size), 'base64url')).toHaveLength(size);
    for (const size of [0, 4097, 1.5, Number.NaN]) expect(() => randomToken(size)).toThrow(RangeError);
  });
});
