// A session's place in the operator's A/B experiment (EXPERIMENTS_FILE): its arm, picked stably from the session
// id or the client's userKey (before the first turn), the settings the arm sets, and whether the session still
// counts in the experiment's figures (not once the client chose its own model).
import type { Config } from '../config.js';
import { GatewayError } from '../errors.js';
import type { Experiment, ExperimentArmConfig } from '../experiment-config.js';
import { assignArm } from '../experiments/assignment.js';
import type { ExperimentArm, SessionSettings } from '../protocol.js';

export class SessionArm {
  private arm: ExperimentArmConfig;
  private counted: boolean;

  /** `restored`: the arm the session had on another instance (kept, so a resumed session stays in it). */
  constructor(
    private readonly experiment: Experiment,
    sessionId: string,
    restored?: ExperimentArm,
  ) {
    const kept = restored?.name === experiment.name ? experiment.arms.find((a) => a.name === restored.arm) : undefined;
    this.arm = kept ?? assignArm(experiment, sessionId);
    this.counted = kept === undefined ? true : (restored?.counted ?? true);
  }

  /** The arm as the wire and the snapshot name it. */
  get wire(): ExperimentArm {
    return { name: this.experiment.name, arm: this.arm.name, counted: this.counted };
  }

  /** The arm's name while the session counts in the figures; null once it does not. */
  get countedArm(): string | null {
    return this.counted ? this.arm.name : null;
  }

  /** The arm's own escalation setting, if it has one. */
  get escalation(): boolean | undefined {
    return this.arm.escalation;
  }

  /** Sets what the arm decides: the model, and the instructions and output tokens when it names them. */
  applyTo(settings: SessionSettings, config: Readonly<Pick<Config, 'systemPrompt' | 'maxOutputTokens'>>): void {
    settings.model = this.arm.model;
    settings.instructions = this.arm.instructions ?? config.systemPrompt;
    settings.maxOutputTokens = this.arm.maxOutputTokens ?? config.maxOutputTokens;
  }

  /** userKey: the arm of that user (the same across sessions). Throws GW_USER_KEY_LOCKED after the first turn. */
  assignUser(userKey: string, pristine: boolean): void {
    if (!pristine) throw new GatewayError('GW_USER_KEY_LOCKED');
    this.arm = assignArm(this.experiment, `user:${userKey}`);
  }

  /** The client chose its own model: the session keeps its arm's label but leaves the figures. */
  optOut(): void {
    this.counted = false;
  }
}
