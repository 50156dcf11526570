// The demo reply text for the no-key mode: says plainly it is the offline simulator and runs several
// plain, speakable sentences (no markdown). Deterministic for a given conversation; no timing or wire here.

import { fitReplyLength } from './reply-length.js';

interface LooseMessage {
  role?: unknown;
  content?: unknown;
  tool_call_id?: unknown;
  tool_calls?: unknown;
}

/** With model profiles on: the model the reply speaks as, and its profile's lengthScale (see reply-length.ts). */
export interface DemoVoice {
  model: string;
  lengthScale: number;
}

const MAX_QUOTE_CHARS = 160;

/**
 * Builds the reply for `messages` (the request body's raw value; anything malformed is tolerated): a read-back
 * of trailing tool results, else an answer to the last `user` message. Messages after it (the gateway's
 * hand-over `system` note to a deeper model, what the fast model already said) are not answered. Without a
 * `voice` the text is the same for every model; with one it names that model and is resized to its lengthScale.
 */
export function buildDemoReply(messages: unknown, voice?: DemoVoice): string {
  const list = Array.isArray(messages) ? (messages as LooseMessage[]) : [];
  const last = list.at(-1);
  if (last?.role === 'tool') return toolReply(list);
  let said = '';
  for (let i = list.length - 1; i >= 0; i--) {
    const message = list[i];
    if (message?.role === 'user') {
      said = quote(textOf(message.content));
      break;
    }
  }
  const heard = said === '' ? "I didn't receive any words from you." : `You said: "${said}".`;
  const model = voice?.model ?? 'asi1-mini';
  const variants = [
    `This is the offline simulator, not ${model}. ${heard} Set ASI_ONE_API_KEY to talk to the real model. ` +
      'Until then I answer every turn with a few sentences like these, so you can hear how a reply streams ' +
      'and starts playing while it is still arriving. Try talking over me to test barge-in.',
    `Hello from the offline simulator. I am not the real ${model} model, so I can't really answer. ${heard} ` +
      'To get real answers, set ASI_ONE_API_KEY and restart the gateway. Meanwhile this reply is long enough ' +
      'to exercise the voice path: it arrives word by word, and each sentence should be spoken as soon as it is complete.',
    `You are talking to the offline simulator, not ${model}. ${heard} Once ASI_ONE_API_KEY is set, the gateway ` +
      'sends your words to the real model instead. For now, listen to how quickly this first sentence started, ' +
      'and feel free to interrupt me at any point.',
  ];
  const seed = hash(said);
  const reply = variants[seed % variants.length] ?? variants[0]!;
  return voice === undefined ? reply : fitReplyLength(reply, model, voice.lengthScale, seed);
}

/**
 * Reads back the trailing tool results. A JSON result with a `text` field is said as it is (the built-in
 * tools return one), a JSON `error` as an apology; anything else is quoted with the tool's name, plus a
 * reminder that this is the simulator.
 */
function toolReply(list: LooseMessage[]): string {
  const results: LooseMessage[] = [];
  let i = list.length - 1;
  for (; i >= 0 && list[i]?.role === 'tool'; i--) results.unshift(list[i]!);
  const names = new Map<string, string>();
  const calls = list[i]?.tool_calls;
  if (Array.isArray(calls)) {
    for (const call of calls as { id?: unknown; function?: { name?: unknown } }[]) {
      if (typeof call?.id === 'string' && typeof call.function?.name === 'string')
        names.set(call.id, call.function.name);
    }
  }
  let quoted = false;
  const parts = results.map((result) => {
    const spoken = spokenResult(result.content);
    if (spoken !== null) return spoken;
    quoted = true;
    const name = typeof result.tool_call_id === 'string' ? names.get(result.tool_call_id) : undefined;
    const value = quote(textOf(result.content)) || 'nothing';
    return `The ${name === undefined ? 'tool' : `${name} tool`} returned: ${value}.`;
  });
  if (!quoted) return parts.join(' ');
  return (
    `${parts.join(' ')} This is the offline simulator, so I can only read tool results back to you. ` +
    'Set ASI_ONE_API_KEY to let the real model use them.'
  );
}

/** The sentence for a JSON object result with a `text` or an `error` (a string or `{ message }`); else null. */
function spokenResult(content: unknown): string | null {
  let value: unknown = content;
  if (typeof content === 'string') {
    try {
      value = JSON.parse(content);
    } catch {
      return null;
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const { text, error } = value as { text?: unknown; error?: unknown };
  if (typeof text === 'string' && text.trim() !== '') return sentence(quote(text));
  const message = typeof error === 'string' ? error : (error as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message.trim() !== '') {
    return `Sorry, that did not work: ${quote(message).replace(/[.!?]+$/, '')}.`;
  }
  return null;
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`;
}

/** Text of an OpenAI message content: a string, or an array of parts whose text parts are joined. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        typeof (part as { text?: unknown })?.text === 'string' ? (part as { text: string }).text : '',
      )
      .join(' ');
  }
  return content === null || content === undefined ? '' : JSON.stringify(content);
}

/** Collapses whitespace, drops double quotes and cuts long text at a word boundary. */
function quote(text: string): string {
  const flat = text
    .replace(/["\u201c\u201d]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (flat.length <= MAX_QUOTE_CHARS) return flat;
  const cut = flat.slice(0, MAX_QUOTE_CHARS);
  const space = cut.lastIndexOf(' ');
  return `${space > 40 ? cut.slice(0, space) : cut}...`;
}

function hash(text: string): number {
  let h = 0;
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0;
  return h;
}
