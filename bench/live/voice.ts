// The gateway path of the live bench: one turn in a fresh session on /v1/voice, through the project's own
// client library (@asi1-voice/client, Node entry), as a voice front-end would speak it. Times from the client's
// side, off the raw event stream: `turn` sent → first non-empty response.delta, → first response.speech.

import { connect, type VoiceSession } from '../../packages/client/src/node.js';
import type { ServerEvent } from '../../src/protocol.js';
import { emptyRecord, shortMessage, sleep, type TurnRecord } from './turn.js';

export interface VoiceTurnOptions {
  /** ws://HOST:PORT/v1/voice */
  url: string;
  timeoutMs: number;
  /** Quiet time between session.ready (the gateway warms a connection for it) and the turn. */
  settleMs: number;
}

interface Marks {
  sentAt: number | null;
  firstDeltaAt: number | null;
  firstSpeechAt: number | null;
}

function mark(marks: Marks, event: ServerEvent): void {
  if (marks.sentAt === null) return;
  const at = performance.now();
  if (event.type === 'response.delta' && event.text !== '') marks.firstDeltaAt ??= at;
  else if (event.type === 'response.speech') marks.firstSpeechAt ??= at;
}

const since = (at: number | null, from: number): number | null => (at === null ? null : at - from);

/** connect(); rejects when no session.ready came within the turn's timeout (a late session is closed). */
async function openSession(options: VoiceTurnOptions, marks: Marks): Promise<VoiceSession> {
  const opening = connect({
    url: options.url,
    reconnect: false,
    pingIntervalMs: 0,
    on: { event: (event) => mark(marks, event as ServerEvent) },
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no session.ready within ${options.timeoutMs} ms`)), options.timeoutMs);
  });
  try {
    return await Promise.race([opening, late]);
  } catch (err) {
    opening.then((session) => session.close()).catch(() => undefined);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** One turn in a new session: open, wait `settleMs`, send, read to response.done, close. Never throws. */
export async function gatewayTurn(options: VoiceTurnOptions, prompt: string, pair: number): Promise<TurnRecord> {
  const record = emptyRecord('gateway', prompt, pair);
  const marks: Marks = { sentAt: null, firstDeltaAt: null, firstSpeechAt: null };
  let timer: NodeJS.Timeout | undefined;
  try {
    const session = await openSession(options, marks);
    try {
      await sleep(options.settleMs);
      const sentAt = performance.now();
      marks.sentAt = sentAt;
      const reply = session.turn(prompt);
      reply.done.catch(() => undefined); // closing after a timeout rejects it
      const timeout = new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)),
      );
      const done = await Promise.race([reply.done, timeout]);
      record.firstTokenMs = since(marks.firstDeltaAt, sentAt);
      record.firstSpeechMs = since(marks.firstSpeechAt, sentAt);
      if (done === 'timeout') {
        record.status = 'timeout';
        return record;
      }
      record.totalMs = performance.now() - sentAt;
      record.status = done.status;
      if (done.error !== undefined) record.error = `${done.error.code}: ${done.error.message}`;
      record.usage = done.usage ?? null;
      record.gatewayFirstTokenMs = done.timings.firstTokenMs;
      record.replyChars = done.text.length;
      if (done.models.length > 1) record.note = `answered by ${done.models.join(' then ')}`;
    } finally {
      await session.close();
    }
  } catch (err) {
    record.status = 'error';
    record.error = shortMessage(err);
  } finally {
    clearTimeout(timer);
  }
  return record;
}
