// Escalation: the fast model (asi1-mini) may hand a question that needs depth to a deeper member of the family
// (asi1, asi1-ultra) through the built-in consult_deeper_model tool. The deeper model then answers the same
// conversation in the same reply. Here: the tool's declaration, which model a call asks, and the hand-off note.
import type { Config } from '../config.js';
import { MODELS, type ModelName } from '../protocol.js';
import type { ChatMessage, UpstreamToolSpec } from '../upstream/types.js';

export const ESCALATION_TOOL = 'consult_deeper_model';

/** What a session's model may escalate to: the models deeper than it, and the one asked by default. */
export interface EscalationOffer {
  targets: ModelName[];
  defaultTarget: ModelName;
}

/** The family from fastest to deepest (MODELS is in that order); a model may escalate only to one after it. */
const DEPTH: readonly ModelName[] = MODELS;

/** The offer for a session on `model`, or null when escalation is off or nothing is deeper. */
export function escalationOffer(
  model: ModelName,
  config: Readonly<Pick<Config, 'escalation' | 'escalationModel'>>,
): EscalationOffer | null {
  if (!config.escalation) return null;
  const targets = DEPTH.slice(DEPTH.indexOf(model) + 1);
  const first = targets[0];
  if (first === undefined) return null;
  return { targets, defaultTarget: targets.includes(config.escalationModel) ? config.escalationModel : first };
}

/** The tool as the fast model sees it. */
export function escalationSpec(offer: EscalationOffer): UpstreamToolSpec {
  return {
    type: 'function',
    function: {
      name: ESCALATION_TOOL,
      description:
        'Hand the question to a deeper, slower model that then answers the user directly in this same reply. ' +
        'Use it when the user asks for depth, analysis, a thorough or long answer, careful reasoning or ' +
        'planning, or when you are unsure of the answer. Say at most a few words before calling it; do not ' +
        'answer the question yourself.',
      parameters: {
        type: 'object',
        properties: {
          question: { type: 'string', description: 'What the deeper model should answer, in one sentence.' },
          model: { type: 'string', enum: offer.targets, description: `Default: ${offer.defaultTarget}.` },
        },
        required: ['question'],
      },
    },
  };
}

/** The model a call asks: the one it names when the offer allows it, else the default. */
export function escalationTarget(args: unknown, offer: EscalationOffer): ModelName {
  const named = typeof args === 'object' && args !== null ? (args as { model?: unknown }).model : undefined;
  return offer.targets.find((m) => m === named) ?? offer.defaultTarget;
}

/** The deeper model that answers the rest of a reply, and the messages that tell it so. */
export interface HandOff {
  model: ModelName;
  messages: ChatMessage[];
}

/**
 * The hand-off a finished step's consult_deeper_model call asks for; null without one (or when not offered).
 * `stepText` is what the step said: passed on unless a kept tool step of the same step already carries it.
 */
export function handOffFor(
  running: readonly { call: { name: string; args: { ok: true; value: unknown } | { ok: false } } }[],
  offer: EscalationOffer | null,
  stepText: string,
): HandOff | null {
  const call = running.find((r) => r.call.name === ESCALATION_TOOL)?.call;
  if (offer === null || call === undefined) return null;
  const args = call.args.ok ? call.args.value : undefined;
  const others = running.some((r) => r.call.name !== ESCALATION_TOOL);
  return { model: escalationTarget(args, offer), messages: handOffMessages(others ? '' : stepText, args) };
}

/**
 * The tools a step offers, without consult_deeper_model where it cannot be called (tool_choice `none`, past the
 * tool-step cap) or after the hand-off (the deeper model answers). History never refers to it, so it can go.
 */
export function withoutEscalation<Offer extends { tools: UpstreamToolSpec[]; toolChoice: string }>(
  offer: Offer,
  handedOff: boolean,
): Offer {
  if (!handedOff && offer.toolChoice !== 'none') return offer;
  return { ...offer, tools: offer.tools.filter((t) => t.function.name !== ESCALATION_TOOL) };
}

/** A step's calls and outcomes as history keeps them: without the escalation call once it was taken. */
export function keptCalls<Call extends { name: string }, Outcome>(
  running: readonly { call: Call }[],
  outcomes: readonly Outcome[],
  escalated: boolean,
): { calls: Call[]; outcomes: Outcome[] } {
  const kept = running.flatMap((r, i) => (escalated && r.call.name === ESCALATION_TOOL ? [] : [i]));
  return { calls: kept.map((i) => running[i]!.call), outcomes: kept.map((i) => outcomes[i]!) };
}

/**
 * What the deeper model is told after the conversation: what the fast model already said (so it is not
 * repeated) and the question it handed over, as a hint. It answers the user, not the fast model.
 */
export function handOffMessages(saidSoFar: string, args: unknown): ChatMessage[] {
  const question = typeof args === 'object' && args !== null ? (args as { question?: unknown }).question : undefined;
  const hint =
    typeof question === 'string' && question.trim() !== '' ? ` The question, as handed over: ${question.trim()}` : '';
  const messages: ChatMessage[] = [];
  if (saidSoFar.trim() !== '') messages.push({ role: 'assistant', content: saidSoFar });
  messages.push({
    role: 'system',
    content:
      'A faster assistant began this reply and handed the user’s last message to you because it needs more depth.' +
      `${hint} Answer the user directly now, continuing the reply in the same voice; do not repeat what was ` +
      'already said, and do not mention the hand-over.',
  });
  return messages;
}
