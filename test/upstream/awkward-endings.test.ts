// How an upstream stream ends, end to end ([DONE], finish_reason, dropped or stalled connections), and plain JSON
// replies to a stream request.
import { describe, expect, it } from 'vitest';
import {
  Gate,
  gen1Capture,
  gen2Reply,
  plainStream,
  sequence,
  startStream,
  writePiece,
} from '../awkward-upstream-server.js';
import {
  answers,
  dataLines,
  expectInvariants,
  good,
  GOOD_REPLY,
  json,
  REPLY,
  REPLY_TEXT,
  replyChunks,
  rig,
  SECRET,
  streams,
  turn,
  useAwkwardRig,
  type Done,
} from './awkward-rig.js';

useAwkwardRig();

// ---- How a stream ends ---------------------------------------------------------------------------------------

describe('how the stream ends', () => {
  it('completes when a finish_reason arrives, there is no [DONE] and the connection ends cleanly', async () => {
    const { client, upstream } = await rig(streams(plainStream(replyChunks(), false)));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: REPLY_TEXT });
    expect(upstream.requests).toHaveLength(1);
  });

  it('completes at [DONE] even though the upstream then keeps the response open, and the next turn works', async () => {
    const script = sequence(async (_req, res) => {
      startStream(res);
      await writePiece(res, plainStream(replyChunks()));
      // Never res.end(): the socket stays open (keep-alive) until afterEach destroys it.
    }, good);
    // A long stall timeout, so only completing at [DONE] (not a stall timer) can finish the turn in time.
    const { client, upstream } = await rig(script, {
      UPSTREAM_STALL_TIMEOUT_MS: '60000',
      UPSTREAM_FIRST_TOKEN_TIMEOUT_MS: '60000',
    });
    client.send({ type: 'turn', text: 'Hello' });
    // Every delta arrives first; the test then hangs (times out) only if the gateway waits past [DONE].
    await client.waitFor((e) => e.type === 'response.delta' && e.text === REPLY.at(-1));
    const done = (await client.waitForType('response.done')) as Done;
    await expectInvariants(client);
    expect(done).toMatchObject({ status: 'completed', text: REPLY_TEXT });
    expect(await turn(client, 'Again')).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails with GW_UPSTREAM_DROPPED, keeping the text, when the stream ends cleanly with neither [DONE] nor a finish_reason', async () => {
    const chunks = gen2Reply(['Half ', 'a reply']).slice(0, 3);
    const { client, upstream } = await rig(streams(plainStream(chunks, false)));
    const done = await turn(client);
    expect(done).toMatchObject({
      status: 'failed',
      text: 'Half a reply',
      error: { code: 'GW_UPSTREAM_DROPPED', retryable: true },
    });
    expect(upstream.requests).toHaveLength(1);
  });

  it.each(['reset', 'destroy'] as const)(
    'fails with GW_UPSTREAM_DROPPED after a mid-stream connection %s, keeps what was sent, and does not retry',
    async (how) => {
      const gate = new Gate();
      const script = sequence(async (_req, res) => {
        startStream(res);
        await writePiece(res, plainStream(gen2Reply(['Sent ', 'so far.']).slice(0, 3), false));
        await gate.opened;
        if (how === 'reset') res.socket?.resetAndDestroy();
        else res.socket?.destroy();
      }, good);
      const { client, upstream } = await rig(script);
      client.send({ type: 'turn', text: 'Count' });
      await client.waitFor((e) => e.type === 'response.delta' && e.text === 'so far.');
      gate.open();
      const done = (await client.waitForType('response.done')) as Done;
      await expectInvariants(client);
      expect(done).toMatchObject({
        status: 'failed',
        text: 'Sent so far.',
        error: { code: 'GW_UPSTREAM_DROPPED', retryable: true },
      });
      expect(upstream.requests).toHaveLength(1);
      // The session stays usable.
      expect(await turn(client, 'Go on')).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    },
  );

  it('retries transparently when the connection resets after only reasoning was received (nothing forwarded)', async () => {
    const script = sequence(async (_req, res) => {
      startStream(res);
      await writePiece(res, plainStream(gen1Capture([`${SECRET} hmm`], []).slice(0, 3), false));
      res.socket?.resetAndDestroy();
    }, good);
    const { client, upstream } = await rig(script);
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
  });

  it('retries transparently when the upstream drops the connection before sending headers', async () => {
    const script = sequence((_req, res) => {
      res.socket?.destroy();
    }, good);
    const { client, upstream } = await rig(script);
    expect(await turn(client)).toMatchObject({ status: 'completed', text: GOOD_REPLY });
    expect(upstream.requests).toHaveLength(2);
  });

  it('fails with the mapped code, keeping the text, when an error object arrives inside a 200 stream after content', async () => {
    const [role, first] = gen2Reply(['Partial answer.']);
    const wire = dataLines([role, first, { error: { message: 'overloaded', code: 503 } }]);
    const { client, upstream } = await rig(streams(wire));
    const done = await turn(client);
    expect(done).toMatchObject({
      status: 'failed',
      text: 'Partial answer.',
      error: { code: 'GW_UPSTREAM_UNAVAILABLE', retryable: true },
    });
    expect(upstream.requests).toHaveLength(1);
  });
});

// ---- Plain JSON replies to a stream request ------------------------------------------------------------------

describe('a plain JSON reply to a stream request', () => {
  const GEN2_BODY = {
    id: 'ec3e76554baa4ebb838173e7f32fdb94',
    choices: [
      {
        finish_reason: 'stop',
        index: 0,
        logprobs: null,
        message: {
          content: 'Hey there! 👋 A whole answer at once.',
          refusal: null,
          role: 'assistant',
          annotations: null,
          audio: null,
          function_call: null,
          tool_calls: null,
          reasoning_content: null,
        },
        matched_stop: 151336,
      },
    ],
    created: 1768409272,
    model: 'asi1',
    object: 'chat.completion',
    service_tier: null,
    system_fingerprint: null,
    usage: {
      completion_tokens: 149,
      prompt_tokens: 2105,
      total_tokens: 2254,
      completion_tokens_details: null,
      prompt_tokens_details: null,
      reasoning_tokens: 0,
    },
    metadata: { weight_version: 'default' },
  };

  it.each<{ label: string; headers: Record<string, string> }>([
    { label: 'application/json', headers: { 'content-type': 'application/json' } },
    { label: 'application/json; charset=utf-8', headers: { 'content-type': 'application/json; charset=utf-8' } },
    { label: 'no content-type at all', headers: {} },
  ])('completes with the full text when the content-type is $label', async ({ headers }) => {
    const { client } = await rig(answers(200, json(GEN2_BODY), headers));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: 'Hey there! 👋 A whole answer at once.' });
    expect(done.usage).toEqual({ promptTokens: 2105, completionTokens: 149, totalTokens: 2254 });
  });

  it('completes with a pretty-printed body that starts with whitespace and has no content-type', async () => {
    const { client } = await rig(answers(200, `\n\n  ${JSON.stringify(GEN2_BODY, null, 2)}\n`, {}));
    expect(await turn(client)).toMatchObject({ status: 'completed', text: 'Hey there! 👋 A whole answer at once.' });
  });

  it('never forwards the thought array of a gen-1 completion body', async () => {
    const body = {
      model: 'asi1-mini',
      id: 'id_kKg27rnGyfH4NknTL',
      executable_data: [],
      conversation_id: null,
      thought: [`${SECRET} The user has initiated a simple greeting.`],
      tool_thought: [],
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          message: { role: 'assistant', content: "Hello! I'm ASI1-Mini.", reasoning: null },
        },
      ],
      usage: { prompt_tokens: 39, completion_tokens: 100, total_tokens: 139 },
    };
    const { client } = await rig(answers(200, json(body)));
    const done = await turn(client);
    expect(done).toMatchObject({ status: 'completed', text: "Hello! I'm ASI1-Mini." });
    expect(JSON.stringify(client.events)).not.toContain(SECRET);
  });
});
