// Plain prose takes a short path through normaliseForSpeech: it must say exactly what the markup rules would,
// for any text, so the property compares the two on texts mixing prose with everything that makes it not plain.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normaliseForSpeech, normaliseMarkup } from '../../src/speech/normalise.js';

const PIECES = [
  ...['Sure', 'here', 'is', 'a', 'short', 'answer', 'It', 'costs', '3', '42', 'well-known', "it's", 'don’t'],
  ...[' ', '  ', ' ', ',', '.', '!', '?', ':', ';', '…', '"', "'", '“', '”', '‘', '-', '--', '---'],
  // Not plain: each one alone makes the general path run.
  ...['1.', '1)', '- ', 'www.', 'WWW.', 'é', '\t', '\n', '*', '__', '~~', '(', ')', '[x](y)', '`', '#', '>', '|'],
  ...['http://example.com/a', '<b>', '\\', '😀', '=', '+', '•'],
];

const text = fc.array(fc.constantFrom(...PIECES), { maxLength: 24 }).map((pieces) => pieces.join(''));

describe('normaliseForSpeech on plain prose', () => {
  it('says the same as the markup rules for any mix of prose and markup', () => {
    fc.assert(
      fc.property(text, (input) => {
        expect(normaliseForSpeech(input)).toBe(normaliseMarkup(input));
      }),
      { numRuns: 3_000 },
    );
  });

  it('still handles the starts of lines the short path leaves to the rules', () => {
    expect(normaliseForSpeech('- milk, eggs')).toBe('milk, eggs.');
    expect(normaliseForSpeech('2. Then stir')).toBe('Then stir.');
    expect(normaliseForSpeech('---')).toBe('');
    expect(normaliseForSpeech('Visit www.example.com today.')).toBe('Visit example.com today.');
    expect(normaliseForSpeech('  Well ,  that is   it !  ')).toBe('Well, that is it!');
  });
});
