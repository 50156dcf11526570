// /metrics tells an operator what the upstream pool holds and how many warm-up requests the gateway sends on their
// key: a session that opens gets a connection opened for its first turn (purpose="open"), and with
// UPSTREAM_WARM=off none is sent beyond the start-up probe (which is not a warm-up of the warmer).
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startGateway } from '../../src/gateway.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { VoiceClient } from '../helpers.js';

let simulator: Simulator | undefined;
afterEach(async () => {
  await simulator?.close();
  simulator = undefined;
});

/** The value of one series in a Prometheus text exposition, or undefined when it is absent. */
function series(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

async function scrapeAfterOneTurn(env: Record<string, string>): Promise<string> {
  simulator = await startSimulator({ defaults: { ttftMs: 0, interTokenMs: 0 } });
  const config = loadConfig({
    HOST: '127.0.0.1',
    PORT: '0',
    ASI_ONE_API_KEY: 'sk-test',
    ASI_BASE_URL: simulator.url,
    LOG_LEVEL: 'silent',
    ...env,
  });
  const gateway = await startGateway(config, pino({ level: 'silent' }));
  try {
    const address = gateway.app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const client = await VoiceClient.connect(`ws://127.0.0.1:${port}/v1/voice`);
    await client.turn('Hello there.');
    await client.close();
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    return await response.text();
  } finally {
    await gateway.stop();
  }
}

describe('upstream metrics', () => {
  it('count the open connections and the warm-ups that opened one', async () => {
    const text = await scrapeAfterOneTurn({});
    const open = series(text, 'asi1_gateway_upstream_connections{state="open"}');
    expect(open).toBeGreaterThanOrEqual(1);
    expect(series(text, 'asi1_gateway_upstream_connections{state="free"}')).toBeLessThanOrEqual(open!);
    // The session's open asked for a connection for its first turn.
    expect(series(text, 'asi1_gateway_upstream_warmups_total{purpose="open"}')).toBeGreaterThanOrEqual(1);
    // Refreshes depend on timing (an idle connection is touched when a session opens): only the series is certain.
    expect(series(text, 'asi1_gateway_upstream_warmups_total{purpose="refresh"}')).toBeDefined();
  });

  it('count no warm-up with UPSTREAM_WARM=off', async () => {
    const text = await scrapeAfterOneTurn({ UPSTREAM_WARM: 'off' });
    expect(series(text, 'asi1_gateway_upstream_connections{state="open"}')).toBeGreaterThanOrEqual(1);
    expect(series(text, 'asi1_gateway_upstream_warmups_total{purpose="open"}')).toBe(0);
    expect(series(text, 'asi1_gateway_upstream_warmups_total{purpose="refresh"}')).toBe(0);
  });
});
