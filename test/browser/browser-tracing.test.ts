// Issue #19 in the browser page: each utterance gets a W3C traceparent, sent on its interims and its final (the
// same one), and each reply shows its trace id (data-trace-id, and a tooltip on its timings) — the trace the gateway
// recorded and passed upstream, checked against the gateway's spans and the simulator's request.
import { describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers.js';
import { SpanRecorder } from '../tracing/span-rig.js';
import { LAST_REPLY_DONE, useBrowserRig, VoicePage } from './fixture.js';

const rig = useBrowserRig();

async function open(): Promise<{ s: Stack; p: VoicePage; spans: SpanRecorder }> {
  const spans = new SpanRecorder();
  const s = await startStack({ tracing: spans.tracing, env: { SPECULATION_STABLE_MS: '0' } });
  rig.cleanups.push(
    () => spans.close(),
    () => s.close(),
  );
  const p = rig.track(await VoicePage.open(rig.browser, s.httpUrl, { speech: { autoFinishMsPerChar: 1 } }));
  await p.connected();
  return { s, p, spans };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-[0-9a-f]{16}-01$/;

describe('trace context in the page', () => {
  it('sends one traceparent per utterance and shows the trace id the gateway recorded for its reply', async () => {
    const { s, p, spans } = await open();
    await p.startTalking();
    await p.interim('what is the capital of France');
    const interim = await p.waitForSent((f) => f.type === 'turn.interim', 'an interim');
    await p.final('what is the capital of France');
    const turn = await p.waitForSent((f) => f.type === 'turn', 'the final turn');
    await p.until(LAST_REPLY_DONE);
    expect(turn.traceparent).toMatch(TRACEPARENT);
    expect(interim.traceparent).toBe(turn.traceparent);
    const traceId = String(turn.traceparent).slice(3, 35);

    const shown = await p.eval<{ id: string | undefined; title: string }>(`(() => {
      const reply = [...document.querySelectorAll('#log .assistant')].at(-1);
      return { id: reply.dataset.traceId, title: reply.querySelector('.meta .timings').title };
    })()`);
    expect(shown).toEqual({ id: traceId, title: `Trace ${traceId}` });
    // The same trace at the gateway (its turn's root) and upstream (the request's traceparent).
    const [root] = await spans.ended('turn');
    expect(root!.spanContext().traceId).toBe(traceId);
    expect(s.simulator.requests.at(-1)?.headers.traceparent).toMatch(new RegExp(`^00-${traceId}-`));

    // A typed turn is another utterance: a trace of its own.
    await p.page.fill('#text', 'And of Spain?');
    await p.page.press('#text', 'Enter');
    await p.until(`document.querySelectorAll('#log .assistant').length === 2 && ${LAST_REPLY_DONE}`);
    const typed = p.sentOfType('turn').at(-1);
    expect(typed?.traceparent).toMatch(TRACEPARENT);
    expect(typed?.traceparent).not.toBe(turn.traceparent);
    const ids = await p.eval<string[]>(
      `[...document.querySelectorAll('#log .assistant')].map((r) => r.dataset.traceId)`,
    );
    expect(ids).toEqual([traceId, String(typed?.traceparent).slice(3, 35)]);
  });
});
