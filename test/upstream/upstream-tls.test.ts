// A TLS upstream with a private CA: UPSTREAM_CA_FILE is read and checked at start-up (every problem listed with
// the others), trusted for the upstream's certificate, and without it the upstream is refused with the typed,
// non-retryable GW_UPSTREAM_CONNECT that says why.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { configProblems, VoiceClient } from '../helpers.js';
import { testCertificates } from '../tls-certificates.js';
import { startTlsStack, type TlsStack } from './tls-rig.js';

let stack: TlsStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});
afterAll(() => testCertificates().remove());

describe('UPSTREAM_CA_FILE at start-up', () => {
  it('reads the PEM file into the configuration', () => {
    const { caFile, ca } = testCertificates();
    expect(loadConfig({ UPSTREAM_CA_FILE: caFile }).upstreamCa).toBe(ca);
    expect(loadConfig({}).upstreamCa).toBeUndefined();
  });

  it('lists a missing file, a file without certificates and a broken certificate with the other problems', () => {
    const { caFile, notPemFile } = testCertificates();
    const missing = join(caFile, '..', 'no-such-ca.pem');
    expect(configProblems({ UPSTREAM_CA_FILE: missing, PORT: 'eighty' })).toEqual([
      expect.stringContaining('PORT'),
      // Settings are checked first: a file is read only once the environment itself is valid.
    ]);
    expect(configProblems({ UPSTREAM_CA_FILE: missing })).toEqual([
      `UPSTREAM_CA_FILE: cannot read ${JSON.stringify(missing)} (ENOENT)`,
    ]);
    expect(configProblems({ UPSTREAM_CA_FILE: notPemFile })).toEqual([
      `UPSTREAM_CA_FILE: no PEM certificate (-----BEGIN CERTIFICATE-----) in ${JSON.stringify(notPemFile)}`,
    ]);
    const broken = join(caFile, '..', 'broken.pem');
    const { ca } = testCertificates();
    writeFileSync(broken, `${ca}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n`);
    expect(configProblems({ UPSTREAM_CA_FILE: broken, MODEL_PRICES: 'not json' })).toEqual([
      expect.stringContaining('MODEL_PRICES'),
      `UPSTREAM_CA_FILE: certificate 2 in ${JSON.stringify(broken)} is not a valid X.509 certificate`,
    ]);
  });

  it('refuses UPSTREAM_HTTP=h2 towards a plain http:// upstream', () => {
    expect(
      configProblems({ UPSTREAM_HTTP: 'h2', ASI_ONE_API_KEY: 'sk_test', ASI_BASE_URL: 'http://127.0.0.1:9000/v1' }),
    ).toEqual(['UPSTREAM_HTTP: h2 needs an https:// ASI_BASE_URL (HTTP/2 is negotiated over TLS)']);
    expect(configProblems({ UPSTREAM_HTTP: 'h3' })).toEqual(['UPSTREAM_HTTP: must be one of auto, h1, h2 (got "h3")']);
  });
});

describe('a TLS upstream', () => {
  it('is trusted through UPSTREAM_CA_FILE', async () => {
    stack = await startTlsStack();
    const client = await VoiceClient.connect(stack.voiceUrl);
    expect((await client.turn('Hello over TLS')).status).toBe('completed');
    await client.close();
    expect(stack.chatRequests()).toHaveLength(1);
  });

  it('without the CA is refused with GW_UPSTREAM_CONNECT, not retried, and the warm-up says so', async () => {
    stack = await startTlsStack({ env: { UPSTREAM_CA_FILE: '', UPSTREAM_WARM: 'off' } });
    const warmed = await stack.chat.warm();
    expect(warmed.ok).toBe(false);
    if (!warmed.ok) expect(warmed.error).toMatchObject({ code: 'GW_UPSTREAM_CONNECT', retryable: false });
    const client = await VoiceClient.connect(stack.voiceUrl);
    const done = await client.turn('Hello');
    await client.close();
    expect(done).toMatchObject({ status: 'failed', error: { code: 'GW_UPSTREAM_CONNECT', retryable: false } });
    expect(done.error?.message).toBe(
      'Could not connect to the model service. (TLS certificate not trusted: UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    );
    // No HTTP request ever reached the simulator: every TLS handshake failed.
    expect(stack.chatRequests()).toHaveLength(0);
    expect(stack.simulator.connectionStats()).toMatchObject({ opened: 0, requests: 0 });
  });
});
