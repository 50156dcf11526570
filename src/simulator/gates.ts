// Test gates: named points where a simulated stream holds until the test releases it, so barge-in and
// cancellation tests wait on events instead of sleeping. Owns gate state only; streams call arrive().

/** A named hold point. `reached` resolves when the first stream arrives; `release()` lets all held (and later) streams pass. */
export interface Gate {
  readonly name: string;
  readonly reached: Promise<void>;
  release(): void;
}

interface GateState extends Gate {
  released: boolean;
  waiters: (() => void)[];
  markReached(): void;
}

export class GateRegistry {
  readonly #gates = new Map<string, GateState>();

  /** Creates the gate, or returns the existing one; works before or after a stream reaches it. */
  get(name: string): Gate {
    return this.#state(name);
  }

  /** A stream reached `name`: resolves `reached`, and runs `resume` now if released, else on release. */
  arrive(name: string, resume: () => void): void {
    const gate = this.#state(name);
    gate.markReached();
    if (gate.released) resume();
    else gate.waiters.push(resume);
  }

  #state(name: string): GateState {
    const existing = this.#gates.get(name);
    if (existing !== undefined) return existing;
    let markReached = (): void => {};
    const reached = new Promise<void>((resolve) => {
      markReached = resolve;
    });
    const gate: GateState = {
      name,
      reached,
      released: false,
      waiters: [],
      markReached,
      release() {
        if (gate.released) return;
        gate.released = true;
        const waiters = gate.waiters;
        gate.waiters = [];
        for (const resume of waiters) resume();
      },
    };
    this.#gates.set(name, gate);
    return gate;
  }
}
