// Segmenter options: their meaning, defaults (a fast first segment, whole sentences after it; docs/architecture.md) and validation.
// How they are applied lives in segmenter.ts.

export interface SegmenterOptions {
  /** First segment: a clause boundary qualifies once the speech text has this many characters (20). */
  firstMinChars?: number;
  /** …and this many words (3). */
  firstMinWords?: number;
  /** First segment: after this long with a word buffered, speak the complete words so far (250). */
  firstMaxWaitMs?: number;
  /** Later segments: a sentence whose speech text is shorter is merged with the next one (20). */
  mergeUnderChars?: number;
  /** No segment's speech text is longer (200): Chrome cuts long utterances off. */
  splitOverChars?: number;
  /** Complete sentences still buffered after this long without a push are sent (300). */
  idleFlushMs?: number;
}

export type ResolvedSegmenterOptions = Readonly<Required<SegmenterOptions>>;

const DEFAULTS: ResolvedSegmenterOptions = {
  firstMinChars: 20,
  firstMinWords: 3,
  firstMaxWaitMs: 250,
  mergeUnderChars: 20,
  splitOverChars: 200,
  idleFlushMs: 300,
};

/** Fills in defaults after validating every option, reporting all problems in one RangeError. */
export function resolveSegmenterOptions(options: SegmenterOptions): ResolvedSegmenterOptions {
  const resolved: Required<SegmenterOptions> = { ...DEFAULTS };
  const problems: string[] = [];
  for (const key of Object.keys(DEFAULTS) as (keyof SegmenterOptions)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (!Number.isFinite(value) || value < 0) problems.push(`${key} must be a finite number >= 0`);
    else resolved[key] = value;
  }
  if (resolved.splitOverChars < 1) problems.push('splitOverChars must be at least 1');
  if (problems.length > 0) throw new RangeError(`Invalid segmenter options: ${problems.join('; ')}`);
  return Object.freeze(resolved);
}
