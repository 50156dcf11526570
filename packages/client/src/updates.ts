// The session's settings: session.update frames waiting for their session.updated (answered in order; an error
// echoes the eventId), the client tools in force, and what to apply again when a new session replaces ours.
import { VoiceGatewayError } from './errors.js';
import { declareTools, type ClientTools } from './tools.js';
import type { ServerEvent, SessionSettings, SettingsFields, UpdateEventFrame } from './wire.js';

interface Pending {
  frame: UpdateEventFrame;
  /** The executors this update declares, in force once it is confirmed. */
  tools: ClientTools | undefined;
  fields: SettingsFields;
  order: number;
  lost: boolean;
  resolve(settings: SessionSettings): void;
  reject(error: VoiceGatewayError): void;
}

export class SettingsBook {
  /** The latest session.updated. */
  current: SessionSettings | null = null;
  private pending: Pending[] = [];
  private applied: SettingsFields = {};
  private tools: ClientTools | undefined;

  /** Tracks an update frame; resolves with its session.updated, rejects with its error. */
  add(
    frame: UpdateEventFrame,
    fields: SettingsFields,
    tools: ClientTools | undefined,
    order: number,
  ): Promise<SessionSettings> {
    return new Promise<SessionSettings>((resolve, reject) => {
      this.pending.push({ frame, fields, tools, order, lost: false, resolve, reject });
    });
  }

  /** The executors for a client call: the confirmed tools, else those of an update still on its way. */
  get toolSet(): ClientTools {
    const merged: ClientTools = {};
    for (const entry of this.pending) Object.assign(merged, entry.tools);
    return Object.assign(merged, this.tools);
  }

  /** Routes session.updated and errors about updates; true when it was one. */
  handle(event: ServerEvent): boolean {
    if (event.type === 'session.updated') {
      const { type: _type, seq: _seq, ...settings } = event;
      this.current = settings;
      const entry = this.pending.shift();
      if (entry === undefined) return true;
      this.applied = mergeFields(this.applied, entry.fields);
      if (entry.tools !== undefined) this.tools = entry.tools;
      entry.resolve(settings);
      return true;
    }
    if (event.type !== 'error' || event.eventId === undefined) return false;
    const index = this.pending.findIndex((entry) => entry.frame.eventId === event.eventId);
    if (index < 0) return false;
    const [entry] = this.pending.splice(index, 1);
    entry?.reject(VoiceGatewayError.fromServer(event));
    return true;
  }

  markLost(isQueued: (frame: UpdateEventFrame) => boolean): void {
    for (const entry of this.pending) entry.lost = !isQueued(entry.frame);
  }

  takeLost(): { frame: UpdateEventFrame; order: number }[] {
    const lost = this.pending.filter((entry) => entry.lost);
    for (const entry of lost) entry.lost = false;
    return lost;
  }

  /**
   * A new session replaced ours: the frame that applies every confirmed setting again (null when there is none),
   * answered before any other update. Its failure goes to `report`.
   */
  restoreFrame(eventId: string, report: (error: VoiceGatewayError) => void): UpdateEventFrame | null {
    this.current = null;
    const tools = this.tools === undefined ? {} : { tools: declareTools(this.tools) };
    if (Object.keys(this.applied).length === 0 && this.tools === undefined) return null;
    const frame: UpdateEventFrame = { type: 'session.update', eventId, ...this.applied, ...tools };
    this.pending.unshift({
      frame,
      fields: {},
      tools: undefined,
      order: 0,
      lost: false,
      resolve: () => undefined,
      reject: report,
    });
    return frame;
  }

  failAll(error: VoiceGatewayError): void {
    for (const entry of this.pending.splice(0)) entry.reject(error);
  }
}

/** Settings applied one update after another; `turnDetection` merges field by field, as the gateway applies it. */
function mergeFields(applied: SettingsFields, fields: SettingsFields): SettingsFields {
  const merged = { ...applied, ...fields };
  if (applied.turnDetection !== undefined && fields.turnDetection !== undefined)
    merged.turnDetection = { ...applied.turnDetection, ...fields.turnDetection };
  return merged;
}
