// What the voice says for emoji, invisible joiners and URLs (symbols.ts, through normaliseForSpeech).
import { describe, it, expect } from 'vitest';
import { normaliseForSpeech } from '../../src/speech/normalise.js';

describe('normaliseForSpeech: emoji and joiners', () => {
  it('keeps two words apart when an emoji sat between them', () => {
    expect(normaliseForSpeech('Thanks🙏see you')).toBe('Thanks see you');
  });

  it('drops a zero-width joiner that does not sit after a letter or mark', () => {
    expect(normaliseForSpeech('Hi \u200Dthere')).toBe('Hi there');
    expect(normaliseForSpeech('Room 5\u200DB')).toBe('Room 5B');
  });

  it('drops a zero-width joiner that is not followed by a letter', () => {
    expect(normaliseForSpeech('Hi\u200D there')).toBe('Hi there');
  });
});

describe('normaliseForSpeech: URLs', () => {
  it('reads a plain http URL as its domain', () => {
    expect(normaliseForSpeech('See http://example.org/x now.')).toBe('See example.org now.');
  });

  it('reads http and ftp autolinks as their domain', () => {
    expect(normaliseForSpeech('See <http://example.org/path> now.')).toBe('See example.org now.');
    expect(normaliseForSpeech('Get <ftp://files.example.net/a> now.')).toBe('Get files.example.net now.');
  });

  it('keeps one full stop after a bare domain that ends the sentence', () => {
    expect(normaliseForSpeech('Visit https://example.com.')).toBe('Visit example.com.');
    expect(normaliseForSpeech('Visit www.example.com! Now')).toBe('Visit example.com! Now');
  });

  it('keeps every punctuation mark glued to the end of a URL', () => {
    expect(normaliseForSpeech('Have you seen https://example.com/news?!')).toBe('Have you seen example.com?!');
  });

  it('drops only a leading "www." from the host', () => {
    expect(normaliseForSpeech('Go to https://go.www.example.com/x today')).toBe('Go to go.www.example.com today');
  });
});
