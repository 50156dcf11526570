// Where the first segment may break early: clause marks and dashes. With firstMinChars and firstMinWords at 1,
// the first clause boundary that is confirmed ends the first segment, so each decision is visible.
import { describe, it, expect, vi, beforeEach, afterEach } from 'vitest';
import { start } from './speech-segmenter-helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** What the first segment is after pushing `chunks` one by one (no timer runs). */
function firstAfter(...chunks: string[]): string[] {
  const { segmenter, spoken } = start({ firstMinChars: 1, firstMinWords: 1 });
  for (const chunk of chunks) segmenter.push(chunk);
  return spoken();
}

describe('SpeechSegmenter: clause boundaries for the first segment', () => {
  it('ends the first segment at a comma, semicolon or colon followed by a space', () => {
    expect(firstAfter('Well, then')).toEqual(['Well,']);
    expect(firstAfter('Well; then')).toEqual(['Well;']);
    expect(firstAfter('Well: then')).toEqual(['Well:']);
  });

  it('ends the first segment right after a full-width clause mark', () => {
    expect(firstAfter('你好，世界')).toEqual(['你好，']);
    expect(firstAfter('你好；世界')).toEqual(['你好；']);
    expect(firstAfter('你好：世界')).toEqual(['你好：']);
    expect(firstAfter('你好、世界')).toEqual(['你好、']);
    expect(firstAfter('谢谢，')).toEqual(['谢谢，']);
  });

  it('does not break inside "1,000", "10:30" or "a;b"', () => {
    expect(firstAfter('It costs 1,000 or 10:30 a;b and')).toEqual([]);
  });

  it('breaks after the closing quote that follows a comma', () => {
    expect(firstAfter('"Well," she said')).toEqual(['"Well,"']);
  });

  it('waits for the character after a comma at the end of the buffer', () => {
    expect(firstAfter('Well,')).toEqual([]);
    expect(firstAfter('Well,', '"', ' then')).toEqual(['Well,"']);
  });

  it('ends the first segment after an em dash, an en dash or a spaced hyphen', () => {
    expect(firstAfter('Wait — then')).toEqual(['Wait —']);
    expect(firstAfter('Wait – then')).toEqual(['Wait –']);
    expect(firstAfter('Wait - then')).toEqual(['Wait -']);
    expect(firstAfter('Wait\t- then')).toEqual(['Wait -']);
    expect(firstAfter('Wait -- then')).toEqual(['Wait --']);
  });

  it('does not break at a hyphen inside a word or one that is not followed by a space', () => {
    expect(firstAfter('A well-known fact and')).toEqual([]);
    expect(firstAfter('A value of -5 and')).toEqual([]);
  });

  it('does not break at a dash between digits, as in "1990–2000" or "5—6"', () => {
    expect(firstAfter('From 1990–2000 and pages 5—6 and')).toEqual([]);
    expect(firstAfter('5—6 pages are left')).toEqual([]);
  });

  it('breaks at a dash with a digit on one side only', () => {
    expect(firstAfter('It was 1990—then it changed')).toEqual(['It was 1990—']);
    expect(firstAfter('Section A—5 covers it')).toEqual(['Section A—']);
  });

  it('does not break at a hyphen that ends a word, as in "short- and long-term"', () => {
    expect(firstAfter('Both short- and long-term plans')).toEqual([]);
  });

  it('waits for the character after a dash at the end of the buffer', () => {
    expect(firstAfter('From 1990–')).toEqual([]);
    expect(firstAfter('From 1990–', '2000 on')).toEqual([]);
    expect(firstAfter('Wait —')).toEqual([]);
    expect(firstAfter('Wait —', ' then')).toEqual(['Wait —']);
    expect(firstAfter('Wait -')).toEqual([]);
    expect(firstAfter('Wait -', ' then')).toEqual(['Wait -']);
  });

  it('counts only words with a letter or digit toward firstMinWords', () => {
    const firstWith = (text: string) => {
      const { segmenter, spoken } = start({ firstMinChars: 1, firstMinWords: 3 });
      segmenter.push(text);
      return spoken();
    };
    expect(firstWith('Yes, and you, too')).toEqual(['Yes, and you,']);
    expect(firstWith('Oh — — well, then we go')).toEqual([]);
  });
});
