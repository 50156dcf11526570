import { describe, it, expect } from 'vitest';
import { CODE_BLOCK_NOTE, normaliseForSpeech } from '../../src/speech/normalise.js';

describe('normaliseForSpeech', () => {
  it('strips bold, italic, underscore and strikethrough markers but keeps their words', () => {
    expect(normaliseForSpeech('**Bold**, *italic*, __strong__, _em_ and ~~gone~~.')).toBe(
      'Bold, italic, strong, em and gone.',
    );
  });

  it('keeps snake_case identifiers and underscores inside words', () => {
    expect(normaliseForSpeech('Set max_tokens and snake_case_name, not _this_.')).toBe(
      'Set max_tokens and snake_case_name, not this.',
    );
  });

  it('keeps inline code text, without backticks, and leaves markers inside it alone', () => {
    expect(normaliseForSpeech('Run `npm test` then `a*b*c` and `__init__`.')).toBe(
      'Run npm test then a*b*c and __init__.',
    );
  });

  it('removes headings, list markers and blockquotes, adding a pause after each item', () => {
    expect(normaliseForSpeech('# Shopping\n- apples\n* pears\n+ figs\n1. milk\n2) bread\n> A quote.')).toBe(
      'Shopping. apples. pears. figs. milk. bread. A quote.',
    );
  });

  it('does not add a pause after a list item that already ends with punctuation', () => {
    expect(normaliseForSpeech('- Is it ready?\n- Yes, it is!')).toBe('Is it ready? Yes, it is!');
  });

  it('turns links into their text and images into their alt text', () => {
    expect(normaliseForSpeech('Read [the guide](https://x.io/a_b) or see ![a cat](cat.png).')).toBe(
      'Read the guide or see a cat.',
    );
  });

  it('replaces a fenced code block with a short spoken note', () => {
    const text = 'Like this:\n```ts\nconst a = 1.5; // *not* prose\n```\nDone.';
    expect(normaliseForSpeech(text)).toBe(`Like this: ${CODE_BLOCK_NOTE} Done.`);
  });

  it('treats an unclosed fence as code to the end', () => {
    expect(normaliseForSpeech('Here:\n~~~\nprint(1)\nprint(2)')).toBe(`Here: ${CODE_BLOCK_NOTE}`);
  });

  it('replaces bare URLs by their domain and keeps the sentence punctuation', () => {
    expect(normaliseForSpeech('See https://www.Example.com/a.b?c=1#d. Or www.foo.org/x, ok')).toBe(
      'See example.com. Or foo.org, ok',
    );
    expect(normaliseForSpeech('Docs at <https://user:pw@docs.io:8080/v1>.')).toBe('Docs at docs.io.');
  });

  it('keeps e-mail addresses', () => {
    expect(normaliseForSpeech('Mail a.b@c.com today.')).toBe('Mail a.b@c.com today.');
  });

  it('removes emoji with skin tones, ZWJ families, flags, keycaps and variation selectors', () => {
    expect(normaliseForSpeech('Great 🎉👍🏽 job 👨‍👩‍👧 🇬🇧 ❤️ 🏴󠁧󠁢󠁳󠁣󠁴󠁿 done 1️⃣!')).toBe('Great job done 1!');
    expect(normaliseForSpeech('Great 🎉 job')).not.toMatch(/\u200D|\uFE0F/);
  });

  it('keeps ©, ® and ™, which voices read aloud', () => {
    expect(normaliseForSpeech('Acme™ ©2024')).toBe('Acme™ ©2024');
  });

  it('keeps a zero-width joiner that a script needs', () => {
    expect(normaliseForSpeech('क्‍ष')).toBe('क्‍ष');
  });

  it('returns an empty string for pure emoji or markdown', () => {
    expect(normaliseForSpeech('🎉🎉!')).toBe('');
    expect(normaliseForSpeech('---')).toBe('');
    expect(normaliseForSpeech('**  **\n> ')).toBe('');
    expect(normaliseForSpeech('')).toBe('');
  });

  it('reads table rows as comma-separated cells and drops the separator row', () => {
    expect(normaliseForSpeech('| Name | Age |\n|:---|---:|\n| Bob | 42 |')).toBe('Name, Age. Bob, 42.');
  });

  it('never removes ordinary punctuation, numbers or apostrophes', () => {
    const text = 'It\'s 3.14, isn\'t it? Yes: 10:30 - 1,000 (approx.) "quoted"; done... right!';
    expect(normaliseForSpeech(text)).toBe(text);
  });

  it('does not treat a spaced asterisk as emphasis', () => {
    expect(normaliseForSpeech('2 * 3 = 6 and 2*3*4')).toBe('2 * 3 = 6 and 2*3*4');
  });

  it('removes markers left unpaired when a segment cut splits a span', () => {
    expect(normaliseForSpeech('**This is bold. And')).toBe('This is bold. And');
    expect(normaliseForSpeech('so is this** too.')).toBe('so is this too.');
    expect(normaliseForSpeech('Open [link text](https://x')).toBe('Open link text');
  });

  it('collapses whitespace and drops spaces left before punctuation', () => {
    expect(normaliseForSpeech('  Hello \n\n  world 🎉 !  ')).toBe('Hello world!');
  });

  it('removes simple HTML tags', () => {
    expect(normaliseForSpeech('One<br>two <b>three</b>')).toBe('One two three');
  });

  it('stays fast on pathological runs of unmatched markers', () => {
    const text = '*a '.repeat(20_000) + '_b '.repeat(20_000) + '[c'.repeat(20_000) + '`'.repeat(10_000);
    expect(normaliseForSpeech(text).length).toBeGreaterThan(0);
  });
});
