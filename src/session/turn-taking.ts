// The native turn flow (protocol 1.2): interim transcripts, the speculative reply started on a stable one, the
// commit of a turn (the client's final, or the server's own after a stable, finished-sounding interim), and a
// paused user going on after the server committed. A new turn interrupts and commits the reply before it.
// Not here: what a reply does (response-run.ts), the rule for keeping a speculation (speculation.ts).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { GatewayError } from '../errors.js';
import type { DiscardReason, SpeculationObserver } from '../metrics.js';
import type { ServerEventBody, SessionSettings, TurnEvent, TurnInterimEvent } from '../protocol.js';
import type { ChatMessage } from '../upstream/types.js';
import type { ConversationHistory } from './history.js';
import type { ResponseRun } from './response-run.js';
import type { LaunchSpec, ResponseSlot } from './response-slot.js';
import { checkTurnText } from './session-settings.js';
import { lastUserIndex, Speculation } from './speculation.js';
import type { SessionToolRunner } from './tool-runner.js';
import type { TurnReplies } from './turn-replies.js';
import { endsLikeSentence, extendsUtterance, revisesUtterance, soundsComplete, utteranceKey } from './utterance.js';

export interface TurnTakingDeps {
  config: Readonly<Pick<Config, 'maxTurnChars' | 'historyTokenBudget' | 'speculationStableMs' | 'speculationsPerTurn'>>;
  history: ConversationHistory;
  /** The session's live settings. */
  settings: SessionSettings;
  slot: ResponseSlot;
  replies: TurnReplies;
  tools: SessionToolRunner;
  emit: (body: ServerEventBody) => void;
  onStateChange: () => void;
  observer?: SpeculationObserver;
  /** The transport's turn limits, asked before the server commits a turn itself; null admits it. */
  admitServerCommit?: () => GatewayError | null;
  reportError: (error: GatewayError) => void;
  /** A user turn committed with these words (for re-ask detection). */
  onCommitted?: (text: string) => void;
  log: Logger;
}

interface Interim {
  text: string;
  key: string;
  turnId: string | undefined;
  /** The client's trace context for the utterance (protocol 1.4): a speculation or a server commit continues it. */
  traceparent: string | undefined;
}

/** A turn the server committed, until its final arrives: the final is absorbed, or extends it. */
interface OpenCommit {
  text: string;
  /** utteranceKey(text), compared with every interim and final that follows. */
  key: string;
  turnId: string;
  /** The reply it started, by id: holding the run would keep its working set alive after it settled. */
  responseId: string;
}

export class TurnTaking {
  private current: Interim | null = null;
  private speculation: Speculation | null = null;
  /** Speculations started for the turn in progress (capped by SPECULATIONS_PER_TURN). */
  private speculationsThisTurn = 0;
  private speculateTimer: NodeJS.Timeout | undefined;
  private commitTimer: NodeJS.Timeout | undefined;
  private open: OpenCommit | null = null;
  /** The server's commit the user went on from: the next commit rewrites its words instead of adding a turn. */
  private reopened: OpenCommit | null = null;
  /** The words of the last committed turn: a late interim repeating them is not a new utterance. */
  private lastCommittedKey: string | null = null;
  private stopped = false;

  constructor(private readonly deps: TurnTakingDeps) {}

  /** An interim transcript: the whole utterance so far. Throws GatewayError for text over the limit. */
  interim(event: TurnInterimEvent): void {
    if (this.stopped) return;
    const text = event.text.trim();
    if (text === '') return;
    checkTurnText(text, this.deps.config.maxTurnChars);
    const key = utteranceKey(text);
    if (this.open !== null) {
      // After a server commit: the same words are the recognizer catching up; more words mean the user went on;
      // other words are the next utterance (a client that sends no final never leaves the commit open).
      if (this.open.key === key) return;
      if (extendsUtterance(this.open.text, text)) this.reopen(this.open);
      else this.open = null;
    }
    // A late interim repeating the words just committed is not a new utterance (until other words come).
    if (key === this.lastCommittedKey) return;
    this.lastCommittedKey = null;
    if (this.current?.key === key) {
      // The same words (punctuation or case changed): still stable, so the timers keep running. A full stop
      // that appears now is as good as the wait.
      this.current.text = text;
      this.current.turnId = event.turnId ?? this.current.turnId;
      this.current.traceparent = event.traceparent ?? this.current.traceparent;
      if (endsLikeSentence(text) && this.deps.settings.turnDetection.speculate) this.speculate(this.current);
      return;
    }
    this.current = { text, key, turnId: event.turnId, traceparent: event.traceparent };
    if (this.speculation !== null && this.speculation.key !== key) this.discard('revised');
    this.schedule(this.current);
  }

  /**
   * The client's final transcript commits the turn, unless it only confirms what the server committed. One that
   * extends or corrects the commit replaces it (reopen); other words are a new turn.
   */
  final(event: TurnEvent): void {
    const text = checkTurnText(event.text, this.deps.config.maxTurnChars);
    const open = this.open;
    this.open = null;
    if (open !== null && open.key === utteranceKey(text)) {
      this.clearInterim();
      this.deps.emit({
        type: 'turn.absorbed',
        ...(event.turnId === undefined ? {} : { turnId: event.turnId }),
        committedTurnId: open.turnId,
        responseId: open.responseId,
      });
      return;
    }
    // The user went on after a pause, or the recognizer corrected the words the server answered: one utterance.
    if (open !== null && (extendsUtterance(open.text, text) || revisesUtterance(open.text, text))) this.reopen(open);
    this.clearInterim();
    this.commit(text, event.turnId, 'client', event.traceparent);
  }

  /** True when a final with this text would only confirm the server's commit (absorbed: it starts nothing). */
  absorbs(text: string): boolean {
    return this.open !== null && this.open.key === utteranceKey(text);
  }

  /** Drops the running speculation, if any (a response started another way, or the session is ending). */
  discard(reason: DiscardReason): void {
    const speculation = this.speculation;
    if (speculation === null) return;
    this.speculation = null;
    speculation.run.discard(reason);
    this.deps.observer?.speculationDiscarded(reason, speculation.run.tokensSpent);
    const { responseId, trace } = speculation.run;
    this.deps.log.debug({ reason, responseId, ...trace?.logFields }, 'speculation discarded');
  }

  /**
   * The session's settings changed: a speculation built on the old prompt is dropped at once (it could not be
   * adopted), and the waits start again under the new turnDetection.
   */
  settingsChanged(promptChanged: boolean): void {
    if (promptChanged || !this.deps.settings.turnDetection.speculate) this.discard('stale');
    if (this.current !== null) this.schedule(this.current);
  }

  /** A reply ended: an interim that arrived while it played may now be speculated on or committed. */
  replyEnded(): void {
    if (this.current !== null && !this.stopped && this.deps.slot.active === null) this.schedule(this.current);
  }

  /** The session moves to another instance: nothing of the turn in progress stays running here. */
  reset(): void {
    this.clearInterim();
    this.discard('closed');
    this.open = null;
    this.reopened = null;
  }

  /** No more speculation or server commits (drain, close). */
  stop(): void {
    this.stopped = true;
    this.reset();
  }

  private schedule(interim: Interim): void {
    this.clearTimers();
    if (this.deps.slot.active !== null) return; // a reply is playing: an interim now is the client's barge-in to make
    if (!soundsComplete(interim.text)) return;
    const { speculate, serverCommit } = this.deps.settings.turnDetection;
    if (speculate && this.speculation === null) {
      const waitMs = endsLikeSentence(interim.text) ? 0 : this.deps.config.speculationStableMs;
      if (waitMs === 0) this.speculate(interim);
      else this.speculateTimer = setTimeout(() => this.speculate(interim), waitMs);
    }
    if (serverCommit !== null) {
      this.commitTimer = setTimeout(() => this.serverCommit(interim), serverCommit.stableMs);
    }
  }

  private speculate(interim: Interim): void {
    const { deps } = this;
    if (this.current !== interim || this.speculation !== null || deps.slot.active !== null) return;
    if (!deps.settings.turnDetection.speculate) return;
    if (this.stopped || !soundsComplete(interim.text)) return;
    if (this.speculationsThisTurn >= deps.config.speculationsPerTurn) return;
    const messages = this.speculativePrompt(interim.text);
    const run = deps.slot.speculate(this.spec(messages, interim.turnId, interim.traceparent));
    this.speculation = new Speculation(run, interim.key, messages, deps.settings);
    this.speculationsThisTurn += 1;
    deps.observer?.speculationStarted();
  }

  private serverCommit(interim: Interim): void {
    if (this.current !== interim || this.deps.slot.active !== null || this.stopped) return;
    if (this.deps.settings.turnDetection.serverCommit === null) return;
    const refused = this.deps.admitServerCommit?.() ?? null;
    // Refused by a limit: the client's own final still comes, and the transport answers that one.
    if (refused !== null) return this.deps.reportError(refused);
    const turnId = interim.turnId ?? `turn_${randomUUID().slice(0, 8)}`;
    this.clearInterim();
    this.deps.emit({ type: 'turn.committed', turnId, text: interim.text, by: 'server' });
    // The run, not the slot: an adopted speculation that had already finished has freed the slot again.
    const run = this.commit(interim.text, turnId, 'server', interim.traceparent);
    this.open = { text: interim.text, key: interim.key, turnId, responseId: run.responseId };
  }

  /** The user went on after the server committed: stop that reply now; the next commit holds the whole utterance. */
  private reopen(open: OpenCommit): void {
    this.open = null;
    const active = this.deps.slot.active;
    if (active !== null && active.responseId === open.responseId) active.interrupt(undefined, 'user_continued');
    this.reopened = open;
  }

  /** Ends the user's turn: interrupts and commits the reply before it, then adopts the speculation or starts a reply. */
  private commit(text: string, turnId: string | undefined, by: 'client' | 'server', traceparent?: string): ResponseRun {
    const { deps } = this;
    // Cancel-and-commit: the old reply is interrupted and committed before the new user words are appended,
    // so the model never continues the interrupted turn (pipecat's _handle_send_text ordering).
    deps.slot.active?.interrupt(undefined, 'new_turn');
    const rewritten = this.reopened !== null && deps.history.replaceLastUserText(text);
    this.reopened = null;
    if (!rewritten) deps.history.addUser(text);
    deps.onStateChange();
    const messages = this.historyMessages();
    const speculation = this.speculation;
    const verdict = speculation?.verdict(text, messages, deps.settings) ?? null;
    const requests = this.speculationsThisTurn + (verdict === 'adopt' ? 0 : 1);
    this.speculationsThisTurn = 0;
    deps.replies.forget();
    this.lastCommittedKey = utteranceKey(text);
    deps.onCommitted?.(text);
    let run: ResponseRun;
    if (speculation !== null && verdict === 'adopt') {
      this.speculation = null;
      run = speculation.run;
      deps.slot.adopt(run, turnId, traceparent);
      deps.observer?.speculationAdopted();
    } else {
      if (verdict !== null && verdict !== 'adopt') this.discard(verdict);
      run = deps.slot.launch(this.spec(messages, turnId, traceparent));
    }
    deps.observer?.turnCommitted(requests, verdict === 'adopt');
    const traced = run.trace?.logFields;
    deps.log.debug(
      { by, speculative: verdict === 'adopt', verdict, responseId: run.responseId, ...traced },
      'turn committed',
    );
    return run;
  }

  private spec(messages: ChatMessage[], turnId: string | undefined, traceparent: string | undefined): LaunchSpec {
    const { settings, replies } = this.deps;
    return {
      ...(turnId === undefined ? {} : { turnId }),
      traceparent,
      model: settings.model,
      messages,
      maxTokens: settings.maxOutputTokens,
      temperature: settings.temperature,
      tools: this.deps.tools,
      commit: (run, status, heardLength) => replies.commit(run, status, heardLength),
    };
  }

  /** What the turn would send if it committed with these words: a reopened turn's user message is rewritten in place. */
  private speculativePrompt(text: string): ChatMessage[] {
    const messages = this.historyMessages();
    const user: ChatMessage = { role: 'user', content: text };
    const index = this.reopened === null ? -1 : lastUserIndex(messages);
    if (index < 0) messages.push(user);
    else messages[index] = user;
    return messages;
  }

  private historyMessages(): ChatMessage[] {
    const { history, settings, config } = this.deps;
    return history.toMessages(settings.instructions, config.historyTokenBudget);
  }

  private clearInterim(): void {
    this.current = null;
    this.clearTimers();
  }

  private clearTimers(): void {
    clearTimeout(this.speculateTimer);
    clearTimeout(this.commitTimer);
  }
}
