// The get_current_time tool read from the system clock (pinned with vitest's fake Date), how it takes the zone
// the model sends (blank, padded), and the description and schema the model reads.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { clockTool, createClockTool } from '../../src/tools/builtin/clock.js';
import { BUILTIN_TOOLS } from '../../src/tools/builtin/index.js';
import type { ToolContext } from '../../src/tools/types.js';

const context: ToolContext = { signal: new AbortController().signal, sessionId: 'test' };

describe('get_current_time on the system clock', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-29T00:59:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says the system time when built without a clock', () => {
    expect(createClockTool().execute({ timeZone: 'Europe/Paris' }, context)).toMatchObject({
      iso: '2026-03-29T00:59:00.000Z',
      text: 'It is 01:59 on Sunday, 29 March 2026 in Europe/Paris.',
      utcOffset: '+01:00',
    });
  });

  it('follows the system clock across a DST change', () => {
    vi.setSystemTime(new Date('2026-03-29T01:00:00Z'));
    expect(clockTool.execute({ timeZone: 'Europe/Paris' }, context)).toMatchObject({
      time: '03:00',
      utcOffset: '+02:00',
    });
  });

  it('is the clock the gateway offers by default', () => {
    const tool = BUILTIN_TOOLS.find((candidate) => candidate.name === 'get_current_time')!;
    expect(tool.execute({}, context)).toMatchObject({ text: 'It is 00:59 on Sunday, 29 March 2026 in UTC.' });
  });

  it.each(['', '   ', '\t'])('takes a blank zone (%j) for UTC', (timeZone) => {
    expect(clockTool.execute({ timeZone }, context)).toMatchObject({
      timeZone: 'UTC',
      time: '00:59',
      utcOffset: '+00:00',
    });
  });

  it('ignores spaces around the zone name', () => {
    expect(clockTool.execute({ timeZone: '  Asia/Tokyo ' }, context)).toMatchObject({
      timeZone: 'Asia/Tokyo',
      text: 'It is 09:59 on Sunday, 29 March 2026 in Asia/Tokyo.',
    });
  });

  it('names the trimmed zone in the error for an unknown one', () => {
    expect(() => clockTool.execute({ timeZone: ' Atlantis ' }, context)).toThrow(
      'Unknown time zone "Atlantis". Use an IANA name such as Europe/Paris or America/New_York.',
    );
  });
});

describe('get_current_time: what the model reads', () => {
  it('tells the model when to call it and never to guess the time', () => {
    expect(clockTool.name).toBe('get_current_time');
    expect(clockTool.description).toMatch(/what time, day or date it is/);
    expect(clockTool.description).toMatch(/never guess the time/);
  });

  it('takes an optional IANA zone of at most 64 characters, UTC by default', () => {
    expect(clockTool.parameters).toMatchObject({
      type: 'object',
      properties: {
        timeZone: { type: 'string', maxLength: 64, description: expect.stringMatching(/IANA.*default UTC/) },
      },
    });
    expect(clockTool.parameters).not.toHaveProperty('required');
  });
});
