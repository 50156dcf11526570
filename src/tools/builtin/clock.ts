// The `get_current_time` tool: the current date and time in an IANA time zone, formatted for speech with
// Intl.DateTimeFormat (24-hour clock, British day-month order). No network; the clock is injectable for tests.
import { Type } from '@sinclair/typebox';
import { defineTool, type ToolDefinition } from '../types.js';

export interface ClockResult {
  /** The zone as asked, with Intl's canonical capitalisation ("europe/paris" → "Europe/Paris"). */
  timeZone: string;
  /** The instant in UTC, ISO 8601. */
  iso: string;
  /** e.g. "Wednesday, 25 November 2026". */
  date: string;
  /** 24-hour "HH:MM", e.g. "17:20". */
  time: string;
  /** The zone's offset from UTC at that instant, e.g. "+01:00" (DST-aware). */
  utcOffset: string;
  /** e.g. "It is 17:20 on Wednesday, 25 November 2026 in Europe/Paris." */
  text: string;
}

const DEFAULT_TIME_ZONE = 'UTC';

/**
 * Formats `instant` in `timeZone`. Parts are assembled by hand because ICU versions disagree on the
 * literals between them (a comma after the weekday or not, " at " before the time).
 */
export function describeTime(instant: Date, timeZone = DEFAULT_TIME_ZONE): ClockResult {
  const zone = timeZone.trim() === '' ? DEFAULT_TIME_ZONE : timeZone.trim();
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
  } catch (err) {
    // Intl throws RangeError("Invalid time zone specified: X"); say which value and what is expected.
    throw new Error(`Unknown time zone "${zone}". Use an IANA name such as Europe/Paris or America/New_York.`, {
      cause: err,
    });
  }
  const parts = new Map(format.formatToParts(instant).map((part) => [part.type, part.value]));
  const part = (type: Intl.DateTimeFormatPartTypes): string => parts.get(type) ?? '';
  // ICU canonicalises case ("europe/paris") but also swaps in legacy names (Asia/Kolkata → Asia/Calcutta):
  // keep its spelling only for the former, so the user hears the zone they asked for.
  const canonical = format.resolvedOptions().timeZone;
  const resolved = canonical.toLowerCase() === zone.toLowerCase() ? canonical : zone;
  const date = `${part('weekday')}, ${part('day')} ${part('month')} ${part('year')}`;
  const time = `${part('hour')}:${part('minute')}`;
  // longOffset is "GMT+01:00", or plain "GMT" at a zero offset.
  const utcOffset = part('timeZoneName').replace(/^GMT/, '') || '+00:00';
  return {
    timeZone: resolved,
    iso: instant.toISOString(),
    date,
    time,
    utcOffset,
    text: `It is ${time} on ${date} in ${resolved}.`,
  };
}

/** Builds the tool around a clock, so tests can pin the instant. */
export function createClockTool(now: () => Date = () => new Date()): ToolDefinition {
  return defineTool({
    name: 'get_current_time',
    description:
      'Gets the current date and time. Use it whenever the user asks what time, day or date it is, here or in a ' +
      'city or time zone; never guess the time. Returns the date, a 24-hour time and a short text to read out.',
    parameters: Type.Object({
      timeZone: Type.Optional(
        Type.String({
          maxLength: 64,
          description: 'IANA time zone, e.g. Europe/Paris; default UTC',
        }),
      ),
    }),
    execute: ({ timeZone }) => describeTime(now(), timeZone),
  });
}

export const clockTool = createClockTool();
