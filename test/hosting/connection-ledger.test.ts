// The ledger's observer: each response a client starts counts against its address and token until it settles,
// even when the metrics beneath it throw.
import { describe, expect, it } from 'vitest';
import { ConnectionLedger, ledgerEntry } from '../../src/hosting/connection-ledger.js';
import type { GatewayObserver, ResponseSummary } from '../../src/metrics.js';
import type { Session } from '../../src/session/session.js';

const summary: ResponseSummary = {
  status: 'completed',
  timings: { firstTokenMs: 1, firstSpeechMs: 2, totalMs: 3, speculative: false },
};

describe('ConnectionLedger.observe', () => {
  it('counts a response against its address and token from its start to its settling', () => {
    const ledger = new ConnectionLedger();
    const entry = { ...ledgerEntry({} as Session), ip: '10.0.0.1', tokenId: 'tok_a' };
    const observer = ledger.observe(
      { responseStarted: () => undefined, responseSettled: () => undefined },
      () => entry,
    );
    observer.responseStarted();
    expect([ledger.clients.responsesOfIp('10.0.0.1'), ledger.clients.responsesOfToken('tok_a')]).toEqual([1, 1]);
    observer.responseSettled(summary);
    expect([ledger.clients.responsesOfIp('10.0.0.1'), ledger.clients.responsesOfToken('tok_a')]).toEqual([0, 0]);
  });

  it("frees the address's slot even when the metrics throw as the response settles", () => {
    const ledger = new ConnectionLedger();
    const entry = { ...ledgerEntry({} as Session), ip: '10.0.0.2', tokenId: null };
    const throwing: GatewayObserver = {
      responseStarted: () => undefined,
      responseSettled: () => {
        throw new Error('It is not possible to decrease a counter');
      },
    };
    const observer = ledger.observe(throwing, () => entry);
    observer.responseStarted();
    expect(() => observer.responseSettled(summary)).toThrow('decrease');
    expect(ledger.clients.responsesOfIp('10.0.0.2')).toBe(0);
  });
});
