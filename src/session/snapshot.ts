// What of a session survives a move to another instance: its settings, its history (whole turns), its
// response counter, and the trace of its newest response (which a resume elsewhere continues). Serialised to JSON for the shared store; read back through a schema, because whatever comes
// out of Redis is external input like any other.
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { ClientToolSchema, MODELS, SERVER_COMMIT_STABLE_MS } from '../protocol.js';

const ToolCall = Type.Object({
  id: Type.String(),
  type: Type.Literal('function'),
  function: Type.Object({ name: Type.String(), arguments: Type.String() }),
});

const Message = Type.Union([
  Type.Object({ role: Type.Literal('system'), content: Type.String() }),
  Type.Object({ role: Type.Literal('user'), content: Type.String() }),
  Type.Object({
    role: Type.Literal('assistant'),
    content: Type.Union([Type.String(), Type.Null()]),
    tool_calls: Type.Optional(Type.Array(ToolCall)),
  }),
  Type.Object({ role: Type.Literal('tool'), content: Type.String(), tool_call_id: Type.String() }),
]);

export const SessionSnapshotSchema = Type.Object({
  v: Type.Literal(1),
  settings: Type.Object({
    model: Type.Union(MODELS.map((m) => Type.Literal(m))),
    instructions: Type.String(),
    temperature: Type.Union([Type.Number(), Type.Null()]),
    maxOutputTokens: Type.Integer({ minimum: 1 }),
    tools: Type.Array(ClientToolSchema),
    /** Absent in snapshots written before protocol 1.2: the defaults apply. */
    turnDetection: Type.Optional(
      Type.Object({
        speculate: Type.Boolean(),
        serverCommit: Type.Union([
          Type.Null(),
          Type.Object(
            {
              stableMs: Type.Integer({ minimum: SERVER_COMMIT_STABLE_MS.min, maximum: SERVER_COMMIT_STABLE_MS.max }),
            },
            { additionalProperties: false },
          ),
        ]),
      }),
    ),
  }),
  /** Whole turns, oldest first: each starts with the user message and holds everything that answered it. */
  turns: Type.Array(Type.Array(Message)),
  responseCounter: Type.Integer({ minimum: 0 }),
  /** The experiment arm the session is in, so it stays there on any instance. */
  experiment: Type.Optional(Type.Object({ name: Type.String(), arm: Type.String(), counted: Type.Boolean() })),
  /**
   * Tracing on: the newest response's trace (its root span as a traceparent), and whether it was still running when
   * written. Loosely checked: whoever reads it parses the traceparent, and it must never make a session unresumable.
   */
  trace: Type.Optional(
    Type.Object({
      responseId: Type.String({ maxLength: 128 }),
      traceparent: Type.String({ maxLength: 128 }),
      active: Type.Boolean(),
    }),
  ),
});

export type SessionSnapshot = Static<typeof SessionSnapshotSchema>;

const checker = TypeCompiler.Compile(SessionSnapshotSchema);

/** Parses a stored snapshot; null when it is not valid JSON or not a snapshot of this version. */
export function parseSnapshot(json: string): SessionSnapshot | null {
  try {
    const value: unknown = JSON.parse(json);
    return checker.Check(value) ? value : null;
  } catch {
    return null;
  }
}
