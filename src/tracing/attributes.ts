// The names on the gateway's spans. The model and tool calls follow the OpenTelemetry GenAI conventions (copied
// here, as the semantic-conventions package advises for names still in development); the gateway's own live
// under `asi1_gateway.`. docs/tracing.md says what each span and attribute means.

/** Span names. A model call is `chat <model>` and a tool call `execute_tool <name>`, as GenAI names them. */
export const SPAN = {
  turn: 'turn',
  /** A reply started on an interim transcript; renamed `turn` when its turn commits with the same words. */
  speculation: 'speculation',
  firstSpeech: 'speech.first_segment',
  interrupt: 'response.interrupt',
  heardCommit: 'response.heard_commit',
  resume: 'session.resume',
} as const;

export const GEN_AI = {
  operation: 'gen_ai.operation.name',
  provider: 'gen_ai.provider.name',
  conversationId: 'gen_ai.conversation.id',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  responseModel: 'gen_ai.response.model',
  responseId: 'gen_ai.response.id',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  toolArguments: 'gen_ai.tool.call.arguments',
} as const;

/**
 * `gen_ai.provider.name`. The conventions list no value for ASI:One; `asi_one` follows their spelling of others
 * (`x_ai`, `mistral_ai`), and the built-in simulator stands in for it. A custom ASI_BASE_URL can be any
 * OpenAI-compatible server (llama.cpp, vLLM, Ollama): the gateway cannot tell which.
 */
export function providerName(upstream: 'asi1' | 'simulator' | 'custom'): string {
  return upstream === 'custom' ? 'openai_compatible' : 'asi_one';
}

/** The gateway's own attributes. */
export const GW = {
  sessionId: 'asi1_gateway.session.id',
  responseId: 'asi1_gateway.response.id',
  turnId: 'asi1_gateway.turn.id',
  endpoint: 'asi1_gateway.endpoint',
  upstreamKind: 'asi1_gateway.upstream.kind',
  model: 'asi1_gateway.model',
  models: 'asi1_gateway.models',
  status: 'asi1_gateway.response.status',
  speculative: 'asi1_gateway.speculative',
  speculationOutcome: 'asi1_gateway.speculation.outcome',
  discardReason: 'asi1_gateway.speculation.discard_reason',
  experimentName: 'asi1_gateway.experiment.name',
  experimentArm: 'asi1_gateway.experiment.arm',
  experimentCounted: 'asi1_gateway.experiment.counted',
  userText: 'asi1_gateway.turn.text',
  firstTokenMs: 'asi1_gateway.first_token_ms',
  firstSpeechMs: 'asi1_gateway.first_speech_ms',
  totalMs: 'asi1_gateway.total_ms',
  inputTokens: 'asi1_gateway.usage.input_tokens',
  outputTokens: 'asi1_gateway.usage.output_tokens',
  toolSteps: 'asi1_gateway.tool_steps',
  chars: 'asi1_gateway.reply.chars',
  step: 'asi1_gateway.step',
  attempts: 'asi1_gateway.upstream.attempts',
  retryReasons: 'asi1_gateway.upstream.retry_reasons',
  attempt: 'asi1_gateway.upstream.attempt',
  retryDelayMs: 'asi1_gateway.upstream.retry_delay_ms',
  waitMs: 'asi1_gateway.upstream.wait_ms',
  timeToHeadersMs: 'asi1_gateway.upstream.time_to_headers_ms',
  timeToFirstTokenMs: 'asi1_gateway.upstream.time_to_first_token_ms',
  aborted: 'asi1_gateway.upstream.aborted',
  runsOn: 'asi1_gateway.tool.runs_on',
  toolDeferred: 'asi1_gateway.tool.deferred',
  speechChars: 'asi1_gateway.speech.chars',
  speechFiller: 'asi1_gateway.speech.filler',
  interruptCause: 'asi1_gateway.interrupt.cause',
  heardChars: 'asi1_gateway.heard.chars',
  heardLength: 'asi1_gateway.heard.display_chars',
  sentChars: 'asi1_gateway.sent.chars',
  resumePath: 'asi1_gateway.resume.path',
  resumeOwner: 'asi1_gateway.resume.owner',
  resumeOutcome: 'asi1_gateway.resume.outcome',
  resumeRelayed: 'asi1_gateway.resume.relayed',
  resumeReplayed: 'asi1_gateway.resume.replayed',
  missedEvents: 'asi1_gateway.resume.missed_events',
  lostResponseId: 'asi1_gateway.resume.lost_response_id',
} as const;
