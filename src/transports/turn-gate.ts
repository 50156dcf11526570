// Whether a turn (a native `turn`, a Realtime `response.create`) may start a response now: first the caps on
// responses in progress per client address and per gateway token, then the turn rates per session, address and
// token. Shared by both endpoints, so a client cannot double its allowance by using both. A refused turn uses
// up no allowance anywhere: a flood that one limit stops cannot lock out the other sessions of a token.
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import { SlidingWindowLimiter, waitForAll, windowOf, type RateWindow } from './rate-limiter.js';
import type { ConnectionLedger, LedgerEntry } from '../hosting/connection-ledger.js';

const MINUTE_MS = 60_000;

export type TurnAdmission = { ok: false; error: GatewayError } | { ok: true; undo: () => void };

export type TurnLimitsConfig = Pick<
  Config,
  'turnsPerMinute' | 'turnsPerMinutePerIp' | 'turnsPerMinutePerToken' | 'maxResponsesPerIp' | 'maxResponsesPerToken'
>;

/** A turn refused by a rate: when the client may try again. */
export function rateLimitedError(waitMs: number, what = 'turns'): GatewayError {
  return new GatewayError('GW_RATE_LIMITED', {
    message: `Too many ${what}; try again in ${Math.ceil(waitMs / 1000)} s.`,
    retryAfterMs: waitMs,
  });
}

export class TurnGate {
  private readonly perSession: SlidingWindowLimiter;
  private readonly perIp: SlidingWindowLimiter;
  private readonly perToken: SlidingWindowLimiter;

  constructor(
    private readonly config: Readonly<TurnLimitsConfig>,
    private readonly connections: ConnectionLedger,
  ) {
    this.perSession = new SlidingWindowLimiter(config.turnsPerMinute, MINUTE_MS);
    this.perIp = new SlidingWindowLimiter(config.turnsPerMinutePerIp, MINUTE_MS);
    this.perToken = new SlidingWindowLimiter(config.turnsPerMinutePerToken, MINUTE_MS);
  }

  /**
   * The cap on responses in progress that a new response of `entry` would exceed, as an error; null when it is
   * within them. A native turn interrupts its session's own running response, so that one does not count.
   */
  capError(entry: LedgerEntry): GatewayError | null {
    const { clients } = this.connections;
    const own = entry.session.hasActiveResponse ? 1 : 0;
    if (clients.responsesOfIp(entry.ip) - own >= this.config.maxResponsesPerIp) {
      return new GatewayError('GW_TOO_MANY_RESPONSES', {
        message: `Too many replies are in progress for this address (at most ${this.config.maxResponsesPerIp}); wait for one to finish.`,
      });
    }
    if (entry.tokenId !== null && clients.responsesOfToken(entry.tokenId) - own >= this.config.maxResponsesPerToken) {
      return new GatewayError('GW_TOO_MANY_RESPONSES', {
        message: `Too many replies are in progress for this gateway token (at most ${this.config.maxResponsesPerToken}); wait for one to finish.`,
      });
    }
    return null;
  }

  /** The local turn-rate windows a turn of `entry` counts in; `own` replaces the per-session one (Realtime's per-connection window). */
  windows(entry: LedgerEntry, own?: RateWindow): RateWindow[] {
    const windows = [own ?? windowOf(this.perSession, entry.session.id), windowOf(this.perIp, entry.ip)];
    if (entry.tokenId !== null) windows.push(windowOf(this.perToken, entry.tokenId));
    return windows;
  }

  /**
   * Decides locally and, when allowed, records the response in every window. A caller that still refuses it for
   * its own reasons (invalid tools, shutting down) calls `undo`, so the refusal costs no allowance.
   */
  admit(entry: LedgerEntry, own?: RateWindow): TurnAdmission {
    const cap = this.capError(entry);
    if (cap !== null) return { ok: false, error: cap };
    const windows = this.windows(entry, own);
    const wait = waitForAll(windows);
    if (wait > 0) return { ok: false, error: rateLimitedError(wait, 'responses') };
    const undos = windows.map((w) => w.record());
    return { ok: true, undo: () => undos.forEach((undo) => undo()) };
  }
}
