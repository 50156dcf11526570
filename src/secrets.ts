// The configured secrets (the ASI:One key, the Redis password, gateway tokens, the metrics token) and a redactor
// that removes them from text in any letter case. The upstream error sanitiser and the logger both use it.
import type { Config } from './config.js';

export const REDACTED = '[redacted]';
/** Shorter values are not matched: redacting them would remove ordinary words (and they are not secrets). */
export const MIN_SECRET_CHARS = 4;

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A case-insensitive, whole-match pattern for any of `needles` (longest first, so a secret inside another goes too). */
const patternFor = (needles: readonly string[]): RegExp => new RegExp(needles.map(escapeRegExp).join('|'), 'giu');

/**
 * Finds and removes a fixed set of secrets, in any letter case. The check lower-cases the text once and searches
 * it with `includes`; the (case-insensitive) regular expression only runs when a secret is there.
 */
export class SecretRedactor {
  /** Lower-cased secrets, longest first, without duplicates. */
  readonly #needles: readonly string[];
  readonly #pattern: RegExp | null;
  /** Lower-cased fragments of the secrets, by fragment length. */
  readonly #fragments = new Map<number, readonly string[]>();

  constructor(secrets: Iterable<string | undefined>) {
    const needles = new Set<string>();
    for (const secret of secrets) {
      if (secret !== undefined && secret.length >= MIN_SECRET_CHARS) needles.add(secret.toLowerCase());
    }
    this.#needles = [...needles].sort((a, b) => b.length - a.length);
    this.#pattern = this.#needles.length === 0 ? null : patternFor(this.#needles);
  }

  /** Arrays (as older callers pass) become a redactor; a redactor is used as it is. */
  static from(secrets: Secrets): SecretRedactor {
    return secrets instanceof SecretRedactor ? secrets : new SecretRedactor(secrets);
  }

  /** False when no secret is configured: then nothing ever needs redacting. */
  get enabled(): boolean {
    return this.#pattern !== null;
  }

  /** Whether `text` holds a configured secret, in any case. */
  contains(text: string): boolean {
    if (this.#pattern === null) return false;
    const lower = text.toLowerCase();
    return this.#needles.some((needle) => lower.includes(needle));
  }

  /** `text` with every configured secret, in any case, replaced by `[redacted]`. */
  redact(text: string): string {
    if (this.#pattern === null || !this.contains(text)) return text;
    return text.replace(this.#pattern, REDACTED);
  }

  /**
   * Also removes every `windowChars`-character fragment of a secret (in any case), so that a key cut short (by a
   * truncation, or split across two messages) cannot be pieced together. For error paths: more work than `redact`.
   */
  redactWithFragments(text: string, windowChars: number): string {
    let out = this.redact(text);
    if (this.#pattern === null) return out;
    let lower = out.toLowerCase();
    for (const fragment of this.#fragmentsOf(windowChars)) {
      if (!lower.includes(fragment)) continue;
      out = out.replace(patternFor([fragment]), REDACTED);
      lower = out.toLowerCase();
    }
    return out;
  }

  #fragmentsOf(windowChars: number): readonly string[] {
    let fragments = this.#fragments.get(windowChars);
    if (fragments === undefined) {
      const unique = new Set<string>();
      for (const needle of this.#needles) {
        for (let i = 0; i + windowChars <= needle.length; i += 1) unique.add(needle.slice(i, i + windowChars));
      }
      fragments = [...unique];
      this.#fragments.set(windowChars, fragments);
    }
    return fragments;
  }
}

/** Secrets as the upstream error helpers accept them: plain values, or a redactor built once. */
export type Secrets = readonly string[] | SecretRedactor;

/** The password of a Redis URL (`redis://:pw@host`, `redis://user:pw@host`, `?password=pw`), as written and decoded. */
export function redisUrlSecrets(redisUrl: string): string[] {
  let url: URL;
  try {
    url = new URL(redisUrl);
  } catch {
    // Not a URL we can parse (ioredis would not connect either): treat whatever sits before an `@` as secret.
    const userinfo = /^[^:/]+:\/\/([^@/]*)@/.exec(redisUrl)?.[1];
    return userinfo === undefined ? [] : [userinfo, ...userinfo.split(':').slice(1)];
  }
  const values = [url.password, url.searchParams.get('password') ?? ''].filter((v) => v !== '');
  const out = new Set<string>();
  for (const value of values) {
    out.add(value);
    try {
      out.add(decodeURIComponent(value));
    } catch {
      // a malformed %-escape: the value as written is what could show up
    }
  }
  return [...out];
}

/** Every secret the configuration holds: what must never reach a log line or a client, in any case. */
export function configuredSecrets(
  config: Pick<Readonly<Config>, 'apiKey' | 'redisUrl' | 'gatewayTokens' | 'metricsToken'> & {
    tracing?: Pick<Config['tracing'], 'headerValues'>;
  },
): string[] {
  // The OTLP exporter's headers may hold a collector's API key.
  const secrets: string[] = [...config.gatewayTokens, ...(config.tracing?.headerValues ?? [])];
  if (config.apiKey !== undefined) secrets.push(config.apiKey);
  if (config.metricsToken !== undefined) secrets.push(config.metricsToken);
  if (config.redisUrl !== undefined) secrets.push(...redisUrlSecrets(config.redisUrl));
  return secrets;
}
