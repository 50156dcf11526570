// The parts one Session is made of, put together: settings (from config, the experiment arm, or a snapshot),
// history, the tool runner with the escalation offer, the response slot, what history keeps of replies, the
// quality ledger and the native turn flow. Kept apart so session.ts holds the event flow only.
import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';
import type { ResponseStatus, ServerEventBody, SessionSettings } from '../protocol.js';
import { escalationOffer } from './escalation.js';
import { SessionArm } from './experiment-arm.js';
import { ConversationHistory } from './history.js';
import { ReplyLedger } from './reply-ledger.js';
import type { ResponseRun } from './response-run.js';
import { ResponseSlot } from './response-slot.js';
import { defaultSettings } from './session-settings.js';
import type { SessionOptions } from './session-options.js';
import { SessionToolRunner } from './tool-runner.js';
import { TurnReplies } from './turn-replies.js';
import { TurnTaking } from './turn-taking.js';

export interface SessionParts {
  settings: SessionSettings;
  history: ConversationHistory;
  arm: SessionArm | null;
  toolRunner: SessionToolRunner;
  slot: ResponseSlot;
  replies: TurnReplies;
  ledger: ReplyLedger;
  turns: TurnTaking;
}

/** What the parts call back into their session. */
export interface SessionHooks {
  emit: (body: ServerEventBody) => void;
  reportError: (error: GatewayError) => void;
  stateChanged: () => void;
}

export function assembleSession(id: string, options: SessionOptions, log: Logger, hooks: SessionHooks): SessionParts {
  const { config, restore } = options;
  const experiment = config.experiment;
  const arm = experiment === null ? null : new SessionArm(experiment, id, restore?.experiment);
  const settings = initialSettings(options, arm);
  const history = new ConversationHistory();
  if (restore !== undefined) history.importTurns(restore.turns);
  const escalation = { ...config, escalation: arm?.escalation ?? config.escalation };
  const toolRunner = new SessionToolRunner(
    options.tools,
    () => settings.tools,
    config.clientToolTimeoutMs,
    id,
    () => escalationOffer(settings.model, escalation),
  );
  const ledger = new ReplyLedger(options.quality, () => arm?.countedArm ?? null, config.prices, restore !== undefined);
  // The turn flow needs the slot and the slot's end reaches the turn flow: a holder breaks the cycle.
  const late: { turns?: TurnTaking } = {};
  const replies = new TurnReplies(
    history,
    (reply, heardLength) => {
      late.turns?.discard('stale'); // a speculation on the old history could not be adopted
      ledger.cutWhileSpoken(reply.responseId, heardLength);
      hooks.stateChanged();
    },
    log,
  );
  const settled = (run: ResponseRun, status: ResponseStatus, heardLength: number) => {
    ledger.settled(run, run.figures.requestModels[0] ?? settings.model, status, heardLength);
    hooks.stateChanged();
    late.turns?.replyEnded();
  };
  const slot = new ResponseSlot(
    {
      sessionId: id,
      chat: options.chat,
      config,
      ...(options.observer ? { observer: options.observer } : {}),
      tracing: options.tracing ?? null,
      experiment: () => arm?.wire,
      emit: hooks.emit,
      onSettled: settled,
      logger: log,
    },
    restore?.responseCounter ?? 0,
  );
  const turns = new TurnTaking({
    config,
    history,
    settings,
    slot,
    replies,
    tools: toolRunner,
    emit: hooks.emit,
    onStateChange: hooks.stateChanged,
    ...(options.speculationObserver ? { observer: options.speculationObserver } : {}),
    ...(options.admitServerCommit ? { admitServerCommit: options.admitServerCommit } : {}),
    reportError: hooks.reportError,
    onCommitted: (text) => ledger.turnCommitted(text),
    log,
  });
  late.turns = turns;
  return { settings, history, arm, toolRunner, slot, replies, ledger, turns };
}

/** The defaults, then the experiment arm's choices, or what a snapshot from another instance held. */
function initialSettings(options: SessionOptions, arm: SessionArm | null): SessionSettings {
  const { config, restore } = options;
  const settings = defaultSettings(config);
  if (restore === undefined) {
    arm?.applyTo(settings, config);
    return settings;
  }
  const { tools, turnDetection = settings.turnDetection } = restore.settings;
  return Object.assign(settings, restore.settings, {
    tools: [...tools],
    // This instance's SPECULATION=off wins over what the session had elsewhere.
    turnDetection: { ...turnDetection, speculate: turnDetection.speculate && config.speculation },
  });
}
