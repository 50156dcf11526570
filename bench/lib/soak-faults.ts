// The soak test's fault injection: random upstream faults (through the simulator), the client's planned
// barge-ins and dropped sockets per turn, and the Redis outage (--kill-redis-at).

import type { ServerEvent } from '../../src/protocol.js';
import type { SimScenario } from '../../src/simulator/scenario.js';
import type { RedisServer } from '../../test/redis-server.js';
import { sleep, type Connection, type SoakClient, type TurnPlan } from './soak-state.js';

/** A random upstream fault (with probability `faultRate`), or nothing: every way the simulator can fail. */
export function randomScenario(faultRate: number): Partial<SimScenario> | undefined {
  const r = Math.random();
  if (r >= faultRate) return undefined;
  const faults: Partial<SimScenario>[] = [
    { status: 500 },
    { status: 503, errorBody: 'html' },
    { status: 429, retryAfter: '0' },
    { status: 400 },
    { dropAfterChunks: 1 + Math.floor(Math.random() * 20) },
    { stallAfterChunks: Math.floor(Math.random() * 10) },
    { profile: 'gen1', reasoning: 'thinking hard' },
    { toolCalls: [{ name: 'calculate', arguments: '{"expression":"6*7"}' }] },
    { splitWrites: true, crlf: true, keepAliveComments: true },
  ];
  return faults[Math.floor((r / faultRate) * faults.length)];
}

/** The plan for a new turn: with `withFaults`, maybe a drop (at a random point) and maybe a barge-in. */
export function planTurn(
  turnId: string,
  withFaults: boolean,
  rates: { disconnectRate: number; bargeInRate: number },
): TurnPlan {
  const modes = ['after-send', 'after-created', 'mid-stream', 'after-done'] as const;
  const drop =
    withFaults && Math.random() < rates.disconnectRate
      ? (modes[Math.floor(Math.random() * modes.length)] ?? null)
      : null;
  return {
    turnId,
    responseId: null,
    deltas: 0,
    bargeAfter: withFaults && Math.random() < rates.bargeInRate ? 1 + Math.floor(Math.random() * 15) : -1,
    drop,
    dropAfterDeltas: 1 + Math.floor(Math.random() * 10),
  };
}

/** Barge-ins and drops planned for the current turn, triggered by its events. */
export function applyPlan(client: SoakClient, conn: Connection, event: ServerEvent): void {
  const totals = client.run.totals;
  if (client.relayBargeIn && event.type === 'response.delta' && client.open.has(event.responseId)) {
    client.relayBargeIn = false;
    totals.bargeInsDuringRelay += 1;
    conn.ws.send(
      JSON.stringify({
        type: 'response.cancel',
        responseId: event.responseId,
        heardChars: Math.floor(Math.random() * 40),
      }),
    );
  }
  const plan = client.plan;
  if (plan === null) return;
  if (event.type === 'response.created' && event.turnId === plan.turnId) {
    plan.responseId = event.responseId;
    if (plan.drop === 'after-created') return client.drop(conn, 'afterCreated');
    return;
  }
  if (plan.responseId === null || !('responseId' in event) || event.responseId !== plan.responseId) return;
  if (event.type === 'response.delta') {
    plan.deltas += 1;
    if (plan.deltas === plan.bargeAfter)
      conn.ws.send(JSON.stringify({ type: 'response.cancel', heardChars: Math.floor(Math.random() * 40) }));
    if (plan.drop === 'mid-stream' && plan.deltas === plan.dropAfterDeltas) return client.drop(conn, 'midStream');
  }
  if (event.type === 'response.done') {
    client.plan = null;
    if (plan.drop === 'after-done') client.drop(conn, 'afterDone');
  }
}

/** The Redis outage window: GW_RESUME_FAILED and close 4004 are expected from the kill until a while after the restart. */
export class RedisOutage {
  from = Infinity;
  until = -Infinity;
  readonly active = (): boolean => Date.now() >= this.from && Date.now() <= this.until;
}

/** SIGKILLs redis-server `atS` seconds in and restarts it 2 s later on the same port, marking the outage window. */
export async function killRedisLater(
  redis: RedisServer,
  atS: number,
  outage: RedisOutage,
  startedAt: number,
): Promise<void> {
  await sleep(atS * 1000);
  outage.from = Date.now();
  outage.until = Infinity;
  await redis.kill();
  console.error(`[soak] redis-server killed at ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  await sleep(2_000);
  await redis.restart();
  // The instances reconnect with a backoff and then rewrite their sessions: allow some seconds for that.
  outage.until = Date.now() + 10_000;
  console.error(`[soak] redis-server restarted at ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
}
