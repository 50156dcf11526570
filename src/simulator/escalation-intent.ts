// The simulator's stand-in for asi1-mini handing a question to a deeper model: when a request to asi1-mini offers
// the gateway's consult_deeper_model tool and the user's last words ask for depth, it says a short lead-in and
// calls the tool with those words. The deeper model's request (ending in the gateway's hand-over note) is then
// answered like any other, from the last user message (replies.ts). tool-intents.ts asks this first.

import type { SimToolCall } from './scenario.js';

export const ESCALATION_TOOL = 'consult_deeper_model';

/** Spoken before the call, as asi1-mini says a few words before handing over. */
export const ESCALATION_PREAMBLE = 'Let me think about that more carefully.';

/** Only the fast model hands over; asi1 and asi1-ultra answer themselves. */
const ESCALATING_MODEL = 'asi1-mini';

/**
 * What counts as asking for depth (case-insensitive): "in depth", "in (more/full/great) detail", "detailed",
 * "think harder/hard/carefully/deeply/it through", "analyse"/"analyze"/"analysis", "thorough(ly)",
 * "step by step", "carefully" (as in "compare them carefully"), "deep dive", "pros and cons", and asking for a
 * "bigger/deeper/smarter/larger/stronger model".
 */
export const DEPTH_PHRASES: readonly RegExp[] = [
  /\bin[\s-]depth\b/i,
  /\bin\s+(?:more\s+|full\s+|great(?:er)?\s+)?detail\b/i,
  /\bdetailed\b/i,
  /\bthink\s+(?:harder|hard|carefully|deeply|it\s+through)\b/i,
  /\banaly[sz](?:e|es|ed|ing|is)\b/i,
  /\bthorough(?:ly)?\b/i,
  /\bstep[\s-]by[\s-]step\b/i,
  /\bcarefully\b/i,
  /\bdeep[\s-]dive\b/i,
  /\bpros\s+and\s+cons\b/i,
  /\b(?:bigger|deeper|smarter|larger|stronger)\s+model\b/i,
];

/** Whether `text` asks for depth (one of DEPTH_PHRASES). */
export function asksForDepth(text: string): boolean {
  return DEPTH_PHRASES.some((pattern) => pattern.test(text));
}

/**
 * The lead-in and the consult_deeper_model call for a request to asi1-mini that offers the tool (`tools`) and
 * whose last user words (`text`) ask for depth; null otherwise. The question is the user's words as said.
 */
export function detectEscalation(
  model: unknown,
  tools: ReadonlySet<string>,
  text: string,
): { preamble: string; toolCalls: SimToolCall[] } | null {
  if (model !== ESCALATING_MODEL || !tools.has(ESCALATION_TOOL) || !asksForDepth(text)) return null;
  const question = text.replace(/\s+/g, ' ').trim();
  return {
    preamble: ESCALATION_PREAMBLE,
    toolCalls: [{ name: ESCALATION_TOOL, arguments: JSON.stringify({ question }) }],
  };
}
