// One speculative reply: the run started on an interim, what it was asked, and the rule for keeping it when the
// turn commits. It is kept only when the committed words are the same (utterance.ts) and the prompt is exactly
// what the committed turn would send: same earlier messages, system prompt and settings (LiveKit's reuse rule).
import type { DiscardReason } from '../metrics.js';
import type { SessionSettings } from '../protocol.js';
import type { ChatMessage } from '../upstream/types.js';
import type { ResponseRun } from './response-run.js';
import { utteranceKey } from './utterance.js';

/** The settings a request is built from, compared by reference (an update replaces the tools array). */
type RequestSettings = Pick<SessionSettings, 'model' | 'temperature' | 'maxOutputTokens' | 'tools'>;

export class Speculation {
  private readonly settings: RequestSettings;

  constructor(
    readonly run: ResponseRun,
    /** The normalised words it answers. */
    readonly key: string,
    /** The prompt it sent: history with the interim as the user's message (last, or where a reopened turn's is). */
    private readonly messages: readonly ChatMessage[],
    settings: SessionSettings,
  ) {
    this.settings = pick(settings);
  }

  /** `adopt`, or why the committed turn cannot use it. */
  verdict(committedText: string, messages: readonly ChatMessage[], settings: SessionSettings): 'adopt' | DiscardReason {
    if (utteranceKey(committedText) !== this.key) return 'mismatch';
    if (this.run.state === 'failed') return 'failed';
    if (!this.samePrompt(messages) || !sameSettings(this.settings, pick(settings))) return 'stale';
    return 'adopt';
  }

  /**
   * History may have changed since it started (a late heard-commit, trimming): then it answered another prompt.
   * The user's message is the one place they may differ (interim and final words, already compared).
   */
  private samePrompt(messages: readonly ChatMessage[]): boolean {
    const mine = this.messages;
    const user = lastUserIndex(mine);
    if (mine.length !== messages.length || user < 1 || lastUserIndex(messages) !== user) return false;
    if (mine[0]?.content !== messages[0]?.content) return false;
    // History hands out the same message objects until it rewrites one, so identity is the cheap, exact test.
    for (let i = 1; i < mine.length; i += 1) if (i !== user && mine[i] !== messages[i]) return false;
    return true;
  }
}

/** Where the user's words are: the last user message (a reopened turn's is followed by what was heard of its reply). */
export function lastUserIndex(messages: readonly ChatMessage[]): number {
  return messages.findLastIndex((m) => m.role === 'user');
}

function pick(settings: SessionSettings): RequestSettings {
  const { model, temperature, maxOutputTokens, tools } = settings;
  return { model, temperature, maxOutputTokens, tools };
}

function sameSettings(a: RequestSettings, b: RequestSettings): boolean {
  return (
    a.model === b.model &&
    a.temperature === b.temperature &&
    a.maxOutputTokens === b.maxOutputTokens &&
    a.tools === b.tools
  );
}
