// Runs the tool calls of one session: server tools through the registry, client tools by waiting for the
// front-end's tool.result (with a timeout). Every call resolves to a ToolOutcome for the model; none throws.
import type { ClientTool } from '../protocol.js';
import { stringifyOutput, type ToolOutcome, type ToolRegistry } from '../tools/registry.js';
import type { UpstreamToolSpec } from '../upstream/types.js';
import { ESCALATION_TOOL, escalationSpec, type EscalationOffer } from './escalation.js';

interface PendingClientCall {
  resolve: (outcome: ToolOutcome) => void;
}

export class SessionToolRunner {
  private readonly pending = new Map<string, PendingClientCall>();

  constructor(
    private readonly registry: ToolRegistry,
    private readonly clientTools: () => readonly ClientTool[],
    private readonly clientTimeoutMs: number,
    private readonly sessionId: string,
    /** What the session's model may escalate to now (its model may change); null: not offered. */
    readonly escalation: () => EscalationOffer | null = () => null,
  ) {}

  /** Where a tool runs; `unknown` for a name the model made up. Client declarations never shadow server tools. */
  runsOn(name: string): 'server' | 'client' | 'unknown' {
    if (this.registry.has(name) || (name === ESCALATION_TOOL && this.escalation() !== null)) return 'server';
    return this.clientTools().some((t) => t.name === name) ? 'client' : 'unknown';
  }

  /** Declarations for the upstream: server tools, then the client's. */
  specs(): UpstreamToolSpec[] {
    const client = this.clientTools().map((t): UpstreamToolSpec => ({
      type: 'function',
      function: {
        name: t.name,
        ...(t.description === undefined ? {} : { description: t.description }),
        parameters: t.parameters ?? { type: 'object', properties: {} },
      },
    }));
    const offer = this.escalation();
    return [...this.registry.specs(), ...(offer === null ? [] : [escalationSpec(offer)]), ...client];
  }

  run(callId: string, name: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome> {
    switch (this.runsOn(name)) {
      case 'server':
        // An escalation runs nothing here: the response's next step asks the deeper model (response-run.ts).
        if (name === ESCALATION_TOOL) return Promise.resolve({ ok: true, output: '' });
        return this.registry.run(name, args, { signal, sessionId: this.sessionId });
      case 'client':
        return this.waitForClient(callId, name, signal);
      case 'unknown':
        return Promise.resolve({ ok: false, error: `Unknown tool "${name}".` });
    }
  }

  /** Delivers a tool.result; false when no client call with that id is pending. */
  resolveClientCall(callId: string, output: unknown): boolean {
    const pending = this.pending.get(callId);
    if (pending === undefined) return false;
    pending.resolve({ ok: true, output: stringifyOutput(output) });
    return true;
  }

  private waitForClient(callId: string, name: string, signal: AbortSignal): Promise<ToolOutcome> {
    return new Promise((resolve) => {
      const finish = (outcome: ToolOutcome) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.pending.delete(callId);
        resolve(outcome);
      };
      const onAbort = () => finish({ ok: false, error: `${name} was cancelled.` });
      const timer = setTimeout(
        () =>
          finish({
            ok: false,
            error: `The client did not return a result for ${name} within ${this.clientTimeoutMs} ms.`,
          }),
        this.clientTimeoutMs,
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.pending.set(callId, { resolve: finish });
    });
  }
}
