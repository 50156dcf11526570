// No client can starve the others (issue #14): sessions dropped mid-reply keep counting against their address,
// responses in progress are capped per address and per token, turn rates hold per address, a refused turn uses
// up no allowance anywhere, and the browser-origin check compares against PUBLIC_ORIGIN when one is set.
// TRUST_PROXY lets one test play several client addresses through X-Forwarded-For (a header, no other traffic).
import { afterEach, describe, expect, it } from 'vitest';
import type { SimScenario } from '../../src/simulator/scenario.js';
import { startStack, until, VoiceClient, type Stack } from '../helpers.js';
import { RealtimeTestClient, realtimeUrl, refusedStatus } from '../realtime-client.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const ATTACKER = '203.0.113.5';
const USER = '198.51.100.7';
const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

/** Turns whose text says "stall" get a reply that stops after its first chunk and never ends. */
function stallingSimulator() {
  return {
    scenarioFor: (body: unknown): Partial<SimScenario> | undefined => {
      const last = (body as { messages?: { content?: unknown }[] }).messages?.at(-1)?.content;
      return typeof last === 'string' && last.includes('stall') ? { stallAfterChunks: 1 } : undefined;
    },
  };
}

/** Connects from `ip`, starts a reply that stalls, and drops the socket without a close handshake. */
async function dropMidReply(voiceUrl: string, ip: string): Promise<'dropped' | number> {
  const status = await new Promise<number | null>((resolve) => {
    void VoiceClient.connect(voiceUrl, from(ip)).then(
      async (client) => {
        client.send({ type: 'turn', text: 'Please stall' });
        await client.waitForType('response.delta');
        client.socket.terminate();
        resolve(null);
      },
      () => resolve(-1),
    );
  });
  return status === null ? 'dropped' : status;
}

describe('sessions dropped mid-reply', () => {
  it('keep counting against their address, so connect-and-drop cannot fill the upstream; another user is served', async () => {
    stack = await startStack({
      env: {
        TRUST_PROXY: 'on',
        MAX_CONNECTIONS_PER_IP: '5',
        MAX_RESPONSES_PER_IP: '3',
        UPSTREAM_MAX_CONCURRENCY: '6',
        UPSTREAM_QUEUE_SIZE: '0',
        UPSTREAM_STALL_TIMEOUT_MS: '60000',
      },
      simulator: stallingSimulator(),
    });
    const outcomes: ('dropped' | number)[] = [];
    for (let i = 0; i < 3; i += 1) outcomes.push(await dropMidReply(stack.voiceUrl, ATTACKER));
    expect(outcomes).toEqual(['dropped', 'dropped', 'dropped']);
    await until(() => stack?.gateway.sessions.size === 0);
    expect(stack.gateway.sessions.forIp(ATTACKER)).toBe(3);
    expect(stack.gateway.sessions.ledger.clients.responsesOfIp(ATTACKER)).toBe(3);
    // A fourth reply from that address is refused at the cap on replies in progress, before any upstream request.
    const fourth = await VoiceClient.connect(stack.voiceUrl, from(ATTACKER));
    fourth.send({ type: 'turn', text: 'Please stall', eventId: 't4' });
    expect(await fourth.waitForType('error')).toMatchObject({
      code: 'GW_TOO_MANY_RESPONSES',
      eventId: 't4',
      retryable: true,
    });
    // The dropped sessions fill 3 of the address's 5 connections: two more connect, a third is refused.
    const more = [fourth, await VoiceClient.connect(stack.voiceUrl, from(ATTACKER))];
    expect(await refusedStatus(stack.voiceUrl, undefined, { 'x-forwarded-for': ATTACKER })).toBe(429);
    for (const client of more) await client.close();
    expect(stack.simulator.activeStreams()).toBe(3);
    // Someone else is served at once.
    const user = await VoiceClient.connect(stack.voiceUrl, from(USER));
    expect((await user.turn('Hello there')).status).toBe('completed');
  });

  it('refuse the upgrade once an address holds MAX_CONNECTIONS_PER_IP sessions; a resumed one counts once', async () => {
    stack = await startStack({
      env: { TRUST_PROXY: 'on', MAX_CONNECTIONS_PER_IP: '2', UPSTREAM_STALL_TIMEOUT_MS: '60000' },
      simulator: stallingSimulator(),
    });
    const { sessions } = stack.gateway;
    const first = await VoiceClient.connect(stack.voiceUrl, from(ATTACKER));
    const { sessionId, resumeToken } = first.events[0] as { sessionId: string; resumeToken: string };
    first.send({ type: 'turn', text: 'Please stall' });
    await first.waitForType('response.delta');
    first.socket.terminate();
    await until(() => sessions.size === 0);
    expect(sessions.forIp(ATTACKER)).toBe(1);
    const back = await VoiceClient.connect(stack.voiceUrl, from(ATTACKER));
    expect(sessions.forIp(ATTACKER)).toBe(2);
    back.send({ type: 'session.resume', sessionId, resumeToken, lastSeq: 0 });
    await back.waitForType('session.resumed');
    expect(sessions.forIp(ATTACKER)).toBe(1);
    expect(await dropMidReply(stack.voiceUrl, ATTACKER)).toBe('dropped');
    expect(await refusedStatus(stack.voiceUrl, undefined, { 'x-forwarded-for': ATTACKER })).toBe(429);
    await (await VoiceClient.connect(stack.voiceUrl, from(USER))).close();
  });
});

describe('turn rates', () => {
  it('hold per address over all its sessions', async () => {
    stack = await startStack({ env: { TRUST_PROXY: 'on', TURNS_PER_MINUTE_PER_IP: '3' } });
    const a = await VoiceClient.connect(stack.voiceUrl, from(ATTACKER));
    const b = await VoiceClient.connect(stack.voiceUrl, from(ATTACKER));
    expect((await a.turn('One')).status).toBe('completed');
    expect((await a.turn('Two')).status).toBe('completed');
    expect((await b.turn('Three')).status).toBe('completed');
    b.send({ type: 'turn', text: 'Four', eventId: 'four' });
    const refused = await b.waitForType('error');
    expect(refused).toMatchObject({ code: 'GW_RATE_LIMITED', eventId: 'four', retryable: true });
    // The wait is a field a client can act on, not only words in the message.
    expect(refused.retryAfterMs).toBeGreaterThan(55_000);
    expect(refused.retryAfterMs).toBeLessThanOrEqual(60_000);
    const other = await VoiceClient.connect(stack.voiceUrl, from(USER));
    expect((await other.turn('Hello')).status).toBe('completed');
  });

  it("spend nothing on a refused turn: one session's flood leaves its token's and address's other sessions served", async () => {
    stack = await startStack({
      env: {
        GATEWAY_TOKENS: 'tok',
        TURNS_PER_MINUTE: '3',
        TURNS_PER_MINUTE_PER_TOKEN: '5',
        TURNS_PER_MINUTE_PER_IP: '5',
      },
    });
    const auth = { headers: { authorization: 'Bearer tok' } };
    const flooder = await VoiceClient.connect(stack.voiceUrl, auth);
    for (let i = 0; i < 30; i += 1) flooder.send({ type: 'turn', text: `Flood ${i}`, eventId: `f${i}` });
    flooder.send({ type: 'turn', text: '', eventId: 'empty' });
    await flooder.waitFor((e) => e.type === 'error' && e.eventId === 'empty');
    const refused = flooder.events.filter((e) => e.type === 'error' && e.code === 'GW_RATE_LIMITED');
    expect(refused).toHaveLength(27);
    const other = await VoiceClient.connect(stack.voiceUrl, auth);
    // The flood's 3 accepted turns and these 2 fill the token's (and the address's) 5 a minute; nothing else did.
    for (let i = 0; i < 2; i += 1) expect((await other.turn(`Turn ${i}`)).status).toBe('completed');
    other.send({ type: 'turn', text: 'One too many', eventId: 'over' });
    expect(await other.waitForType('error')).toMatchObject({ code: 'GW_RATE_LIMITED', eventId: 'over' });
  });

  it('spend nothing on a refused response.create on /v1/realtime either', async () => {
    stack = await startStack({
      env: { GATEWAY_TOKENS: 'tok', TURNS_PER_MINUTE: '1', TURNS_PER_MINUTE_PER_TOKEN: '3' },
    });
    const headers = { authorization: 'Bearer tok' };
    const flooder = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), { headers });
    await flooder.addUserText('Hello');
    expect((await flooder.respond()).response.status).toBe('completed');
    for (let i = 0; i < 20; i += 1) flooder.send({ type: 'response.create', event_id: `r${i}` });
    await flooder.waitFor((e) => e.type === 'error' && e.error.event_id === 'r19');
    expect(flooder.events.filter((e) => e.type === 'error' && e.error.code === 'GW_RATE_LIMITED')).toHaveLength(20);
    // A response.create refused for another reason (a tool_choice naming no tool) costs nothing either.
    const other = await RealtimeTestClient.connect(realtimeUrl(stack.voiceUrl), { headers });
    await other.addUserText('Hi');
    other.send({
      type: 'response.create',
      event_id: 'bad',
      response: { tool_choice: { type: 'function', name: 'missing' } },
    });
    await other.waitFor((e) => e.type === 'error' && e.error.event_id === 'bad');
    expect((await other.respond()).response.status).toBe('completed');
  });
});

describe('the same-origin check', () => {
  const page = (origin: string, host: string) => ({ origin, host });

  it('compares scheme, host and port against PUBLIC_ORIGIN, not the Host header (DNS rebinding)', async () => {
    stack = await startStack({ env: { PUBLIC_ORIGIN: 'https://voice.example' } });
    const { voiceUrl } = stack;
    expect(await refusedStatus(voiceUrl, undefined, page('http://evil.example', 'evil.example'))).toBe(403);
    expect(await refusedStatus(voiceUrl, undefined, page('http://voice.example', 'voice.example'))).toBe(403);
    expect(await refusedStatus(voiceUrl, undefined, page('https://voice.example:8443', 'voice.example:8443'))).toBe(
      403,
    );
    expect(await refusedStatus(realtimeUrl(voiceUrl), ['realtime'], page('http://evil.example', 'evil.example'))).toBe(
      403,
    );
    await (await VoiceClient.connect(voiceUrl, { headers: page('https://voice.example', 'evil.example') })).close();
    await (
      await VoiceClient.connect(voiceUrl, { headers: page('https://VOICE.example:443', 'voice.example') })
    ).close();
  });

  it('without PUBLIC_ORIGIN still trusts the Host header (and the start-up banner says so)', async () => {
    stack = await startStack();
    await (
      await VoiceClient.connect(stack.voiceUrl, { headers: page('http://rebound.example', 'rebound.example') })
    ).close();
  });
});
